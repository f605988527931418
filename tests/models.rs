//! The book's architectures as typed structs: LeNet, LeNet-5, the residual
//! blocks and ResNet-18/50 (shapes, parameter counts, PyTorch's logits).

use typegrad::io::safetensors::{self, LoadOptions};
use typegrad::models::{
    BasicBlock, BasicBlockDown, Bottleneck, BottleneckDown, LeNet, LeNet5, ResNet18, ResNet50,
};
use typegrad::nn::{Module, Params};
use typegrad::prelude::*;

fn fixture(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

typegrad::per_device! {
    #[test]
    fn lenets_have_the_expected_sizes() {
        let dev = seeded(0);
        let book: LeNet<u!(1), f32, Dev> = LeNet::new(&dev);
        // conv 1->32 (5x5), conv 32->64 (5x5), fc 256->200, fc 200->10.
        assert_eq!(
            book.num_params(),
            (32 * 25 + 32) + (64 * 32 * 25 + 64) + (256 * 200 + 200) + (200 * 10 + 10)
        );
        let x: Tensor<(Dyn, u!(1), u!(28), u!(28)), f32, Dev> = Tensor::randn(
            (
                Dyn(3),
                Default::default(),
                Default::default(),
                Default::default(),
            ),
            0.0,
            1.0,
            &dev,
        );
        assert_eq!(&*book.forward(x.clone()).dims(), &[3, 10]);
        let classic: LeNet5<f32, Dev> = LeNet5::new(&dev);
        assert_eq!(classic.num_params(), 44_426); // torch_bench.py's count
        assert_eq!(&*classic.forward(x).dims(), &[3, 10]);
    }

    #[test]
    fn lenet_trains_on_a_tiny_problem() {
        // Two classes of images (bright top half vs bright bottom half): a few
        // Adam steps must bring the loss down, through every layer.
        use typegrad::loss::cross_entropy;
        use typegrad::optim::{Adam, AdamConfig, Optimizer};
        let dev = seeded(1);
        let mut net: LeNet5<f32, Dev> = LeNet5::new(&dev);
        let n = 8;
        let mut pixels = vec![0.0f32; n * 784];
        let labels: Vec<usize> = (0..n).map(|i| i % 2).collect();
        for (i, img) in pixels.chunks_mut(784).enumerate() {
            for (p, v) in img.iter_mut().enumerate() {
                let top = p / 28 < 14;
                *v = if top == (labels[i] == 0) { 1.0 } else { -1.0 };
            }
        }
        let x: Tensor<(Dyn, u!(1), u!(28), u!(28)), f32, Dev> = Tensor::from_vec(
            (
                Dyn(n),
                Default::default(),
                Default::default(),
                Default::default(),
            ),
            pixels,
            &dev,
        );
        let y: Tensor<(Dyn,), usize, Dev> = Tensor::from_vec((Dyn(n),), labels, &dev);
        let mut opt = Adam::new(AdamConfig {
            lr: 1e-2,
            ..Default::default()
        })
        .unwrap();
        let first = cross_entropy(net.forward(x.clone()), &y).item();
        for _ in 0..20 {
            let grads = cross_entropy(net.forward(x.clone().trace_no_grad()), &y).backward();
            assert!(grads.params_without_grad(&net).is_empty());
            opt.step(&mut net, &grads).unwrap();
        }
        let last = cross_entropy(net.forward(x), &y).item();
        assert!(last < 0.1 * first, "loss {first} -> {last}");
    }

    #[test]
    fn residual_blocks_keep_or_change_the_shape_as_typed() {
        let dev = seeded(2);
        let x: Tensor<(u!(2), u!(8), u!(6), u!(6)), f32, Dev> =
            Tensor::randn(Default::default(), 0.0, 1.0, &dev);
        let basic: BasicBlock<u!(8), f32, Dev> = BasicBlock::new(&dev);
        let y: Tensor<(u!(2), u!(8), u!(6), u!(6)), f32, Dev> = basic.forward(x.clone());
        assert!(y.to_vec().iter().all(|v| *v >= 0.0)); // ends with ReLU
        let down: BasicBlockDown<u!(8), u!(16), u!(2), f32, Dev> = BasicBlockDown::new(&dev);
        let _: Tensor<(u!(2), u!(16), u!(3), u!(3)), f32, Dev> = down.forward(x.clone());
        let bottleneck: Bottleneck<u!(8), u!(2), f32, Dev> = Bottleneck::new(&dev);
        let _: Tensor<(u!(2), u!(8), u!(6), u!(6)), f32, Dev> = bottleneck.forward(x.clone());
        let bdown: BottleneckDown<u!(8), u!(4), u!(16), u!(2), f32, Dev> = BottleneckDown::new(&dev);
        let _: Tensor<(u!(2), u!(16), u!(3), u!(3)), f32, Dev> = bdown.forward(x);
        assert_eq!(
            bdown
                .param_names()
                .iter()
                .map(|(n, _)| n.as_str())
                .filter(|n| n.starts_with("downsample"))
                .collect::<Vec<_>>(),
            [
                "downsample.0.weight",
                "downsample.1.weight",
                "downsample.1.bias"
            ]
        );
    }

    #[test]
    fn a_basic_block_computes_the_residual_formula() {
        // relu(bn2(conv2(relu(bn1(conv1 x)))) + x) with every piece run by hand
        // through the layers' own forwards (evaluation mode, fresh statistics).
        use typegrad::nn::ReLU;
        let dev = seeded(3);
        let block: BasicBlock<u!(4), f64, Dev> = BasicBlock::new(&dev);
        let x: Tensor<(u!(1), u!(4), u!(5), u!(5)), f64, Dev> =
            Tensor::randn(Default::default(), 0.0, 1.0, &dev);
        let h = ReLU.forward(block.bn1.forward(block.conv1.forward(x.clone())));
        let h = block.bn2.forward(block.conv2.forward(h));
        let want = ReLU.forward(h + x.clone()).to_vec();
        let got = block.forward(x).to_vec();
        for (g, w) in got.iter().zip(&want) {
            assert!((g - w).abs() < 1e-12);
        }
    }

    #[test]
    fn resnet50_runs_one_224_image_with_pytorchs_parameter_count() {
        let dev = seeded(4);
        let net: ResNet50<f32, Dev> = ResNet50::new(&dev);
        assert_eq!(net.num_params(), 25_557_032);
        let names = net.param_names();
        assert_eq!(names.first().unwrap().0, "conv1.weight");
        assert!(names.iter().any(|(n, _)| n == "layer3.5.conv3.weight"));
        assert!(names
            .iter()
            .any(|(n, _)| n == "layer4.0.downsample.0.weight"));
        assert_eq!(names.last().unwrap().0, "fc.bias");
        let x: Tensor<(u!(1), u!(3), u!(224), u!(224)), f32, Dev> =
            Tensor::randn(Default::default(), 0.0, 1.0, &dev);
        let logits: Tensor<(u!(1), u!(1000)), f32, Dev> = net.forward(x);
        assert!(logits.to_vec().iter().all(|v| v.is_finite()));
    }

    /// The fixture's input image and PyTorch's logits for it.
    #[derive(Module)]
    struct Io {
        input: Tensor<(u!(1), u!(3), u!(224), u!(224)), f32, Dev>,
        logits: Tensor<(u!(1), u!(1000)), f32, Dev>,
    }

    #[test]
    fn resnet18_from_a_pytorch_checkpoint_gives_pytorchs_logits() {
        // tests/fixtures/resnet18_torch.py: torchvision's resnet18 with random
        // batch-norm statistics, stored as float16; the logits of exactly those
        // weights on a random 224x224 image, in evaluation mode.
        let dev = seeded(5);
        let mut net: ResNet18<f32, Dev> = ResNet18::new(&dev);
        assert_eq!(net.num_params(), 11_689_512);
        let opts = LoadOptions::default().convert_half(true);
        safetensors::load_with(&mut net, fixture("resnet18_torch.safetensors"), opts).unwrap();
        let mut io = Io {
            input: Tensor::zeros(Default::default(), &dev),
            logits: Tensor::zeros(Default::default(), &dev),
        };
        safetensors::load(&mut io, fixture("resnet18_torch_io.safetensors")).unwrap();
        let (x, want) = (io.input, io.logits);
        let got = net.forward(x).to_vec();
        let want = want.to_vec();
        let max_err = got
            .iter()
            .zip(&want)
            .map(|(g, w)| (g - w).abs())
            .fold(0.0f32, f32::max);
        let scale = want.iter().map(|w| w.abs()).fold(0.0f32, f32::max);
        eprintln!("ResNet-18 vs PyTorch: max abs logit difference {max_err:e}, largest logit {scale}");
        assert!(
            max_err <= 1e-5 * scale.max(1.0),
            "max abs logit difference {max_err} (logits up to {scale})"
        );
        assert_eq!(
            got.iter()
                .enumerate()
                .max_by(|a, b| a.1.total_cmp(b.1))
                .unwrap()
                .0,
            want.iter()
                .enumerate()
                .max_by(|a, b| a.1.total_cmp(b.1))
                .unwrap()
                .0
        );
    }
}
