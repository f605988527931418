//! Save/load as safetensors: round trips (values, names, special floats),
//! cross-checks with the reference implementation and a file written by
//! PyTorch, every error naming its tensor, all-or-nothing loading, atomic
//! writes, and malformed input never panicking.

#![allow(clippy::type_complexity)]

use proptest::prelude::*;
use std::path::Path;
use typegrad::io::safetensors::{self, SafeDtype, SafeTensors, SafetensorsError};
use typegrad::io::write_atomic;
use typegrad::nn::{ParamMut, ParamPath, ParamRef, Params};
use typegrad::prelude::*;

/// A PyTorch `nn.Linear` stand-in with its `state_dict` names.
struct Lin<I: Dim, O: Dim, E: Dtype> {
    weight: Tensor<(O, I), E>,
    bias: Tensor<(O,), E>,
}

impl<I: Dim, O: Dim, E: Dtype> Params<E, Cpu> for Lin<I, O, E> {
    fn visit_params(
        &self,
        path: &mut ParamPath,
        f: &mut dyn FnMut(&ParamPath, ParamRef<'_, E, Cpu>),
    ) {
        path.push("weight");
        self.weight.visit_params(path, f);
        path.pop();
        path.push("bias");
        self.bias.visit_params(path, f);
        path.pop();
    }
    fn visit_params_mut(
        &mut self,
        path: &mut ParamPath,
        f: &mut dyn FnMut(&ParamPath, ParamMut<'_, E, Cpu>),
    ) {
        path.push("weight");
        self.weight.visit_params_mut(path, f);
        path.pop();
        path.push("bias");
        self.bias.visit_params_mut(path, f);
        path.pop();
    }
}

/// `nn.Sequential(Linear(3, 2), Tanh(), Linear(2, 1))`: layers 0 and 2.
struct Mlp<E: Dtype> {
    l0: Lin<u!(3), u!(2), E>,
    l2: Lin<u!(2), u!(1), E>,
}

impl<E: Dtype> Params<E, Cpu> for Mlp<E> {
    fn visit_params(
        &self,
        path: &mut ParamPath,
        f: &mut dyn FnMut(&ParamPath, ParamRef<'_, E, Cpu>),
    ) {
        path.push("0");
        self.l0.visit_params(path, f);
        path.pop();
        path.push("2");
        self.l2.visit_params(path, f);
        path.pop();
    }
    fn visit_params_mut(
        &mut self,
        path: &mut ParamPath,
        f: &mut dyn FnMut(&ParamPath, ParamMut<'_, E, Cpu>),
    ) {
        path.push("0");
        self.l0.visit_params_mut(path, f);
        path.pop();
        path.push("2");
        self.l2.visit_params_mut(path, f);
        path.pop();
    }
}

fn zeros<S: Shape + Default, E: Dtype>() -> Tensor<S, E> {
    Tensor::zeros(S::default(), &Cpu::default())
}

fn mlp<E: Dtype>() -> Mlp<E> {
    Mlp {
        l0: Lin {
            weight: zeros(),
            bias: zeros(),
        },
        l2: Lin {
            weight: zeros(),
            bias: zeros(),
        },
    }
}

type Model = (
    Tensor<(u!(2), u!(3)), f32>,
    Tensor<(u!(3),), f32>,
    Vec<Tensor<(u!(2),), f32>>,
);

fn model(seed: u64) -> Model {
    let dev = Cpu::seeded(seed);
    (
        Tensor::randn(Default::default(), 0.0, 1.0, &dev),
        Tensor::randn(Default::default(), 0.0, 1.0, &dev),
        vec![
            Tensor::randn(Default::default(), 0.0, 1.0, &dev),
            Tensor::randn(Default::default(), 0.0, 1.0, &dev),
        ],
    )
}

fn values<E: Dtype, M: Params<E, Cpu>>(m: &M) -> Vec<(String, Vec<E>)> {
    let mut out = Vec::new();
    m.visit_params(&mut ParamPath::default(), &mut |p, r| {
        out.push((p.name(), r.device.download(r.data)))
    });
    out
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(name),
    )
    .unwrap()
}

/// Replace the header of a valid file with `header` (re-padded), keeping the data.
fn with_header(bytes: &[u8], header: &str) -> Vec<u8> {
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let mut out = (header.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(&bytes[8 + n..]);
    out
}

fn header(bytes: &[u8]) -> String {
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    String::from_utf8(bytes[8..8 + n].to_vec()).unwrap()
}

// ---------------------------------------------------------------- round trips

#[test]
fn round_trip_keeps_names_values_and_ids() {
    let saved = model(1);
    let bytes = safetensors::to_bytes(&saved).unwrap();
    let file = SafeTensors::parse(&bytes).unwrap();
    let names: Vec<(&str, &[usize])> = file
        .tensors()
        .iter()
        .map(|t| (t.name(), t.shape()))
        .collect();
    assert_eq!(
        names,
        [
            ("0", &[2, 3][..]),
            ("1", &[3][..]),
            ("2.0", &[2][..]),
            ("2.1", &[2][..])
        ]
    );
    assert_eq!(
        (bytes.len() - file.tensors().iter().map(|t| t.data().len()).sum::<usize>()) % 8,
        0,
        "data 8-aligned"
    );

    let mut loaded = model(2);
    let ids: Vec<_> = [
        loaded.0.id(),
        loaded.1.id(),
        loaded.2[0].id(),
        loaded.2[1].id(),
    ]
    .into();
    assert_ne!(values(&loaded), values(&saved));
    safetensors::load_from_bytes(&mut loaded, &bytes).unwrap();
    assert_eq!(values(&loaded), values(&saved));
    assert_eq!(
        ids,
        [
            loaded.0.id(),
            loaded.1.id(),
            loaded.2[0].id(),
            loaded.2[1].id()
        ]
    );
}

#[test]
fn round_trip_is_bit_exact_for_special_values_f32_and_f64() {
    let dev = Cpu::default();
    let v32 = vec![
        0.0,
        -0.0,
        1.0,
        -1.5,
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::NAN,
        f32::MIN_POSITIVE / 8.0,
        f32::MAX,
        f32::EPSILON,
    ];
    let m = (Tensor::<(Dyn,), f32>::from_vec(
        (Dyn(v32.len()),),
        v32.clone(),
        &dev,
    ),);
    let mut back = (Tensor::<(Dyn,), f32>::zeros((Dyn(v32.len()),), &dev),);
    safetensors::load_from_bytes(&mut back, &safetensors::to_bytes(&m).unwrap()).unwrap();
    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&back.0.to_vec()), bits(&v32));

    let v64 = vec![
        0.0,
        -0.0,
        0.1,
        f64::INFINITY,
        f64::NAN,
        f64::MIN_POSITIVE / 3.0,
        f64::MAX,
        1.0 + f64::EPSILON,
    ];
    let m = (Tensor::<(Dyn,), f64>::from_vec(
        (Dyn(v64.len()),),
        v64.clone(),
        &dev,
    ),);
    let bytes = safetensors::to_bytes(&m).unwrap();
    assert!(header(&bytes).contains(r#""dtype":"F64""#));
    let mut back = (Tensor::<(Dyn,), f64>::zeros((Dyn(v64.len()),), &dev),);
    safetensors::load_from_bytes(&mut back, &bytes).unwrap();
    let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&back.0.to_vec()), bits(&v64));
}

#[test]
fn bytes_are_the_documented_layout() {
    // Hand-computed: header JSON padded with spaces to a multiple of 8,
    // then the f32 values little-endian.
    let t = Tensor::<(u!(2),), f32>::from_vec_static(vec![1.0, -2.0], &Cpu::default());
    let bytes = safetensors::to_bytes(&(t,)).unwrap();
    let json = r#"{"0":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#; // 54 bytes
    let padded = format!("{json}  "); // 56
    let mut expected = 56u64.to_le_bytes().to_vec();
    expected.extend_from_slice(padded.as_bytes());
    expected.extend_from_slice(&1.0f32.to_le_bytes());
    expected.extend_from_slice(&(-2.0f32).to_le_bytes());
    assert_eq!(bytes, expected);
}

#[test]
fn names_needing_json_escapes_round_trip() {
    struct Odd(Tensor<(u!(1),), f32>, Tensor<(u!(1),), f32>);
    impl Params<f32, Cpu> for Odd {
        fn visit_params(
            &self,
            path: &mut ParamPath,
            f: &mut dyn FnMut(&ParamPath, ParamRef<'_, f32, Cpu>),
        ) {
            path.push("quote\"back\\slash\ttab");
            self.0.visit_params(path, f);
            path.pop();
            path.push("ünï😀");
            self.1.visit_params(path, f);
            path.pop();
        }
        fn visit_params_mut(
            &mut self,
            path: &mut ParamPath,
            f: &mut dyn FnMut(&ParamPath, ParamMut<'_, f32, Cpu>),
        ) {
            path.push("quote\"back\\slash\ttab");
            self.0.visit_params_mut(path, f);
            path.pop();
            path.push("ünï😀");
            self.1.visit_params_mut(path, f);
            path.pop();
        }
    }
    let dev = Cpu::default();
    let m = Odd(
        Tensor::full(Default::default(), 1.0, &dev),
        Tensor::full(Default::default(), 2.0, &dev),
    );
    let bytes = safetensors::to_bytes(&m).unwrap();
    let reference = ::safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let mut names = reference.names();
    names.sort();
    assert_eq!(names, ["quote\"back\\slash\ttab", "ünï😀"]);
    let mut back = Odd(
        Tensor::zeros(Default::default(), &dev),
        Tensor::zeros(Default::default(), &dev),
    );
    safetensors::load_from_bytes(&mut back, &bytes).unwrap();
    assert_eq!((back.0.to_vec(), back.1.to_vec()), (vec![1.0], vec![2.0]));
    // \u escapes (with a surrogate pair) in a header written by someone else.
    let h = r#"{"\u00fcn\u00efA\ud83d\ude00":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#;
    let one = (Tensor::<(u!(1),), f32>::zeros(Default::default(), &dev),);
    let file_bytes = with_header(&safetensors::to_bytes(&one).unwrap(), h);
    assert_eq!(
        SafeTensors::parse(&file_bytes).unwrap().tensors()[0].name(),
        "ünïA😀"
    );
}

// ------------------------------------------------- against other implementations

#[test]
fn the_reference_implementation_reads_our_files() {
    let saved = model(3);
    let bytes = safetensors::to_bytes(&saved).unwrap();
    let reference = ::safetensors::SafeTensors::deserialize(&bytes).unwrap();
    for (name, vals) in values(&saved) {
        let t = reference.tensor(&name).unwrap();
        assert_eq!(t.dtype(), ::safetensors::Dtype::F32);
        let got: Vec<f32> = t
            .data()
            .chunks(4)
            .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
            .collect();
        assert_eq!(got, vals, "{name}");
    }
    assert_eq!(reference.len(), 4);
}

#[test]
fn we_read_the_reference_implementations_files() {
    use ::safetensors::tensor::TensorView as RefView;
    let w: Vec<f64> = (0..6).map(|i| i as f64 * 0.25 - 1.0).collect();
    let b: Vec<f64> = vec![7.0, -8.0, 9.5];
    let wb: Vec<u8> = w.iter().flat_map(|x| x.to_le_bytes()).collect();
    let bb: Vec<u8> = b.iter().flat_map(|x| x.to_le_bytes()).collect();
    let views = vec![
        (
            "layer.weight",
            RefView::new(::safetensors::Dtype::F64, vec![3, 2], &wb).unwrap(),
        ),
        (
            "layer.bias",
            RefView::new(::safetensors::Dtype::F64, vec![3], &bb).unwrap(),
        ),
    ];
    let meta = Some(
        [("epoch".to_string(), "3".to_string())]
            .into_iter()
            .collect(),
    );
    let bytes = ::safetensors::serialize(views, meta).unwrap();

    struct Layer(Lin<u!(2), u!(3), f64>);
    impl Params<f64, Cpu> for Layer {
        fn visit_params(
            &self,
            path: &mut ParamPath,
            f: &mut dyn FnMut(&ParamPath, ParamRef<'_, f64, Cpu>),
        ) {
            path.push("layer");
            self.0.visit_params(path, f);
            path.pop();
        }
        fn visit_params_mut(
            &mut self,
            path: &mut ParamPath,
            f: &mut dyn FnMut(&ParamPath, ParamMut<'_, f64, Cpu>),
        ) {
            path.push("layer");
            self.0.visit_params_mut(path, f);
            path.pop();
        }
    }
    let mut m = Layer(Lin {
        weight: zeros(),
        bias: zeros(),
    });
    safetensors::load_from_bytes(&mut m, &bytes).unwrap();
    assert_eq!((m.0.weight.to_vec(), m.0.bias.to_vec()), (w, b));
    assert_eq!(
        SafeTensors::parse(&bytes).unwrap().metadata(),
        [("epoch".to_string(), "3".to_string())]
    );
}

#[test]
fn loads_a_file_written_by_pytorch() {
    // tests/fixtures/safetensors_torch.py: torch.manual_seed(0),
    // nn.Sequential(Linear(3, 2), Tanh(), Linear(2, 1)), save_file(state_dict).
    let expected: Vec<(String, Vec<f64>)> = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/torch_mlp.txt"),
    )
    .unwrap()
    .lines()
    .map(|l| {
        let (name, rest) = l.split_once(' ').unwrap();
        let vals = rest.split_once("] ").unwrap().1;
        (
            name.to_string(),
            vals.split(' ').map(|v| v.parse().unwrap()).collect(),
        )
    })
    .collect();
    let check = |got: Vec<(String, Vec<f64>)>| {
        for (name, vals) in &expected {
            let g = &got.iter().find(|(n, _)| n == name).unwrap().1;
            assert_eq!(g, vals, "{name}");
        }
    };

    let bytes = fixture("torch_mlp.safetensors");
    assert_eq!(
        SafeTensors::parse(&bytes).unwrap().metadata(),
        [("format".to_string(), "pt".to_string())]
    );
    let mut m32 = mlp::<f32>();
    safetensors::load_from_bytes(&mut m32, &bytes).unwrap();
    check(
        values(&m32)
            .into_iter()
            .map(|(n, v)| (n, v.into_iter().map(f64::from).collect()))
            .collect(),
    );

    let mut m64 = mlp::<f64>();
    safetensors::load_from_bytes(&mut m64, &fixture("torch_mlp_f64.safetensors")).unwrap();
    check(values(&m64));

    // And PyTorch's dtype tag is checked: the f32 file does not load as f64.
    let err = safetensors::load_from_bytes(&mut mlp::<f64>(), &bytes).unwrap_err();
    assert!(
        matches!(err, SafetensorsError::DtypeMismatch { ref name, expected: SafeDtype::F64, found: SafeDtype::F32 } if name == "0.weight"),
        "{err}"
    );
}

#[test]
fn pytorch_reads_our_files_when_available() {
    // Optional: only where a Python with torch and safetensors is installed
    // (the peers venv); the format itself is covered by the reference crate.
    let python = Path::new("/tmp/peers-venv/bin/python");
    if !python.exists() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ours.safetensors");
    let m = model(5);
    safetensors::save(&m, &path).unwrap();
    let out = std::process::Command::new(python)
        .arg("-c")
        .arg(
            "import sys\ntry:\n from safetensors.torch import load_file\nexcept ImportError:\n print('skip'); sys.exit(0)\n\
             d = load_file(sys.argv[1])\nfor k in sorted(d): print(k, list(d[k].shape), d[k].dtype, repr(float(d[k].flatten()[0])))",
        )
        .arg(&path)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    if text.trim() == "skip" || !out.status.success() {
        return;
    }
    eprintln!("PyTorch read:\n{text}");
    let vals = values(&m);
    let first = |n: &str| vals.iter().find(|(k, _)| k == n).unwrap().1[0] as f64;
    let expected = format!(
        "0 [2, 3] torch.float32 {:?}\n1 [3] torch.float32 {:?}\n2.0 [2] torch.float32 {:?}\n2.1 [2] torch.float32 {:?}\n",
        first("0"),
        first("1"),
        first("2.0"),
        first("2.1")
    );
    assert_eq!(text, expected);
}

// ------------------------------------------------------------ errors name the tensor

#[test]
fn missing_tensor_is_named() {
    let bytes = safetensors::to_bytes(&(zeros::<(u!(2),), f32>(),)).unwrap();
    let mut m = (zeros::<(u!(2),), f32>(), zeros::<(u!(4), u!(1)), f32>());
    let err = safetensors::load_from_bytes(&mut m, &bytes).unwrap_err();
    assert_eq!(
        err.to_string(),
        "safetensors: tensor `1` (shape [4, 1]) is missing from the file"
    );
}

#[test]
fn wrong_shape_is_named() {
    let bytes = safetensors::to_bytes(&model(1)).unwrap();
    let mut m = (
        zeros::<(u!(2), u!(3)), f32>(),
        zeros::<(u!(3),), f32>(),
        vec![zeros::<(u!(2),), f32>(), zeros::<(u!(2),), f32>()],
    );
    safetensors::load_from_bytes(&mut m, &bytes).unwrap();
    let mut transposed = (
        zeros::<(u!(3), u!(2)), f32>(),
        zeros::<(u!(3),), f32>(),
        m.2.clone(),
    );
    let err = safetensors::load_from_bytes(&mut transposed, &bytes).unwrap_err();
    assert_eq!(
        err.to_string(),
        "safetensors: tensor `0` has shape [2, 3] in the file, the model needs [3, 2]"
    );
}

#[test]
fn wrong_dtype_is_named() {
    let bytes = safetensors::to_bytes(&(zeros::<(u!(2),), f64>(),)).unwrap();
    let err = safetensors::load_from_bytes(&mut (zeros::<(u!(2),), f32>(),), &bytes).unwrap_err();
    assert_eq!(
        err.to_string(),
        "safetensors: tensor `0` has dtype F64 in the file, the model needs F32"
    );
    // An integer tensor of the right shape: also a dtype error, not garbage.
    let h = r#"{"0":{"dtype":"I32","shape":[2],"data_offsets":[0,8]}}"#;
    let ints = with_header(
        &safetensors::to_bytes(&(zeros::<(u!(2),), f32>(),)).unwrap(),
        h,
    );
    let err = safetensors::load_from_bytes(&mut (zeros::<(u!(2),), f32>(),), &ints).unwrap_err();
    assert_eq!(
        err.to_string(),
        "safetensors: tensor `0` has dtype I32 in the file, the model needs F32"
    );
}

#[test]
fn unexpected_tensors_are_named() {
    let bytes = safetensors::to_bytes(&model(1)).unwrap();
    let mut m = (zeros::<(u!(2), u!(3)), f32>(), zeros::<(u!(3),), f32>());
    let err = safetensors::load_from_bytes(&mut m, &bytes).unwrap_err();
    assert_eq!(
        err.to_string(),
        "safetensors: the file has tensors the model does not: `2.0`, `2.1`"
    );
    assert_eq!(m.0.to_vec(), vec![0.0; 6], "nothing loaded");
}

#[test]
fn corrupt_entries_are_named() {
    let ok = safetensors::to_bytes(&(zeros::<(u!(2),), f32>(), zeros::<(u!(1),), f32>())).unwrap();
    let h = header(&ok);
    let cases: &[(&str, &str)] = &[
        (
            r#"{"0":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"1":{"dtype":"F32","shape":[1],"data_offsets":[8,16]}}"#,
            "safetensors: tensor `1`: data_offsets [8, 16] run past the end of the data (12 bytes)",
        ),
        (
            r#"{"0":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"1":{"dtype":"F32","shape":[2],"data_offsets":[8,12]}}"#,
            "safetensors: tensor `1`: data_offsets [8, 12] hold 4 bytes, but dtype F32 and shape [2] need 8",
        ),
        (
            r#"{"0":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"1":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#,
            "safetensors: tensor `1`: data_offsets [4, 8] overlaps the previous tensor (which ends at 8)",
        ),
        (
            r#"{"0":{"dtype":"F32","shape":[2],"data_offsets":[4,12]},"1":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}}"#,
            "safetensors: tensor `0`: data_offsets [4, 12] leaves a gap after the previous tensor (which ends at 0)",
        ),
        (
            r#"{"0":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"1":{"dtype":"F32","shape":[1],"data_offsets":[12,8]}}"#,
            "safetensors: tensor `1`: data_offsets [12, 8] end before they begin",
        ),
        (
            r#"{"0":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"1":{"dtype":"Q4","shape":[1],"data_offsets":[8,12]}}"#,
            "safetensors: tensor `1`: unknown dtype `Q4`",
        ),
        (
            r#"{"0":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"1":{"dtype":"F32","data_offsets":[8,12]}}"#,
            "safetensors: tensor `1`: missing field `shape`",
        ),
        (
            r#"{"0":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"1":{"dtype":"F32","shape":[1],"data_offsets":[8]}}"#,
            "safetensors: tensor `1`: invalid length 1, expected a tuple of size 2",
        ),
        (
            r#"{"0":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"1":{"dtype":"F32","shape":[-1],"data_offsets":[8,12]}}"#,
            "safetensors: tensor `1`: invalid value: integer `-1`, expected usize",
        ),
        (
            r#"{"0":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"1":{"dtype":"F32","shape":[1.0],"data_offsets":[8,12]}}"#,
            "safetensors: tensor `1`: invalid type: floating point `1.0`, expected usize",
        ),
        (
            r#"{"0":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"1":{"dtype":"F32","shape":[99999999999999999999],"data_offsets":[8,12]}}"#,
            "safetensors: tensor `1`: invalid type: floating point `1e+20`, expected usize",
        ),
        (
            r#"{"0":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"1":{"dtype":"F32","shape":[4294967296,4294967296,4294967296],"data_offsets":[8,12]}}"#,
            "safetensors: tensor `1`: shape [4294967296, 4294967296, 4294967296] overflows",
        ),
        (
            // A repeated name: JSON keeps the last entry, which leaves a gap.
            r#"{"0":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"0":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}"#,
            "safetensors: tensor `0`: data_offsets [8, 12] leaves a gap after the previous tensor (which ends at 0)",
        ),
        (
            r#"{"0":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"1":{"dtype":"F4","shape":[3],"data_offsets":[8,12]}}"#,
            "safetensors: tensor `1`: dtype F4 and shape [3] do not fill whole bytes",
        ),
    ];
    for (hdr, msg) in cases {
        let bytes = with_header(&ok, hdr);
        let mut m = (zeros::<(u!(2),), f32>(), zeros::<(u!(1),), f32>());
        let err = safetensors::load_from_bytes(&mut m, &bytes).unwrap_err();
        assert_eq!(&err.to_string(), msg, "header {hdr}");
        assert!(matches!(err, SafetensorsError::BadTensor { .. }));
    }
    // The valid header still loads (the cases differ from it only as shown).
    assert!(h.starts_with(r#"{"0":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"1""#));
}

#[test]
fn corrupt_files_are_reported() {
    let ok = safetensors::to_bytes(&(zeros::<(u!(2),), f32>(),)).unwrap();
    let err = |b: &[u8]| SafeTensors::parse(b).unwrap_err().to_string();
    assert_eq!(
        err(&ok[..5]),
        "safetensors: corrupt file: 5 bytes: too short for the 8-byte header length"
    );
    let mut big = ok.clone();
    big[..8].copy_from_slice(&u64::MAX.to_le_bytes());
    assert_eq!(
        err(&big),
        format!(
            "safetensors: corrupt file: header length {} exceeds the {} bytes after it",
            u64::MAX,
            ok.len() - 8
        )
    );
    assert_eq!(
        err(&ok[..ok.len() - 1]),
        "safetensors: tensor `0`: data_offsets [0, 8] run past the end of the data (7 bytes)"
    );
    let mut extra = ok.clone();
    extra.push(0);
    assert_eq!(err(&extra), "safetensors: corrupt file: the tensors cover 8 bytes of data, the file has 9 (trailing bytes)");
    for (hdr, msg) in [
        ("[1,2]", "header JSON: invalid type: sequence, expected a map at line 1 column 0"),
        ("{} x", "header JSON: trailing characters at line 1 column 4"),
        (
            r#"{"__metadata__":{"epoch":3}}"#,
            "`__metadata__`: invalid type: integer `3`, expected a string",
        ),
        (
            // Reported by the reference parser (our JSON re-read keeps one field).
            r#"{"0":{"dtype":"F32","dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#,
            "invalid JSON in header: duplicate field `dtype` at line 1 column 68",
        ),
    ] {
        assert_eq!(
            err(&with_header(&ok, hdr)),
            format!("safetensors: corrupt file: {msg}"),
            "{hdr}"
        );
    }
    let mut bad_utf8 = ok.clone();
    bad_utf8[9] = 0xff;
    assert_eq!(err(&bad_utf8), "safetensors: corrupt file: the header is not UTF-8 (invalid utf-8 sequence of 1 bytes from index 1)");
    // Deep nesting in an unknown field is refused, not a stack overflow.
    let deep = format!(
        r#"{{"0":{{"x":{}{},"dtype":"F32","shape":[2],"data_offsets":[0,8]}}}}"#,
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    assert!(err(&with_header(&ok, &deep)).contains("recursion limit exceeded"));
    // The reference implementation's header limit (100 MB).
    let mut huge = ok.clone();
    huge[..8].copy_from_slice(&100_000_001u64.to_le_bytes());
    huge.resize(100_000_020, b' ');
    assert_eq!(
        err(&huge),
        "safetensors: corrupt file: header length 100000001 exceeds the limit of 100000000 bytes"
    );
    // Unknown fields and whitespace are fine.
    let spaced = r#" { "0" : { "extra" : {"a": [1, -2.5e3, true, null, "s"]}, "dtype" : "F32" , "shape" : [ 2 ] , "data_offsets" : [ 0 , 8 ] } , "__metadata__" : null }   "#;
    assert!(SafeTensors::parse(&with_header(&ok, spaced)).is_ok());
}

#[test]
fn saving_refuses_duplicate_names() {
    struct Twice(Tensor<(u!(1),), f32>);
    impl Params<f32, Cpu> for Twice {
        fn visit_params(
            &self,
            path: &mut ParamPath,
            f: &mut dyn FnMut(&ParamPath, ParamRef<'_, f32, Cpu>),
        ) {
            self.0.visit_params(path, f);
            self.0.visit_params(path, f);
        }
        fn visit_params_mut(
            &mut self,
            path: &mut ParamPath,
            f: &mut dyn FnMut(&ParamPath, ParamMut<'_, f32, Cpu>),
        ) {
            self.0.visit_params_mut(path, f);
        }
    }
    let err = safetensors::to_bytes(&Twice(zeros())).unwrap_err();
    assert_eq!(
        err.to_string(),
        "safetensors: the model has two parameters named ``"
    );
}

// ------------------------------------------------------------ all or nothing

#[test]
fn a_bad_tensor_leaves_every_parameter_unchanged() {
    // The file's last tensor has the wrong shape: the first three match and
    // would load, but nothing may change.
    let source = (
        zeros::<(u!(2), u!(3)), f32>(),
        zeros::<(u!(3),), f32>(),
        (zeros::<(u!(2),), f32>(), zeros::<(u!(5),), f32>()), // names 2.0, 2.1
    );
    let bytes = safetensors::to_bytes(&source).unwrap();
    let mut m = model(9);
    let before = values(&m);
    let err = safetensors::load_from_bytes(&mut m, &bytes).unwrap_err();
    assert_eq!(
        err.to_string(),
        "safetensors: tensor `2.1` has shape [5] in the file, the model needs [2]"
    );
    assert_eq!(values(&m), before);

    // The same for a corrupt entry behind valid ones, and for a missing tensor.
    let good = safetensors::to_bytes(&model(4)).unwrap();
    assert!(header(&good).contains(r#""2.1":{"dtype":"F32","shape":[2],"data_offsets":[44,52]}"#));
    let broken = with_header(
        &good,
        &header(&good).replace(r#""data_offsets":[44,52]"#, r#""data_offsets":[44,51]"#),
    );
    assert!(safetensors::load_from_bytes(&mut m, &broken)
        .unwrap_err()
        .to_string()
        .contains("tensor `2.1`"));
    assert_eq!(values(&m), before);
    let three = safetensors::to_bytes(&(
        zeros::<(u!(2), u!(3)), f32>(),
        zeros::<(u!(3),), f32>(),
        vec![zeros::<(u!(2),), f32>()],
    ))
    .unwrap();
    assert!(safetensors::load_from_bytes(&mut m, &three)
        .unwrap_err()
        .to_string()
        .contains("tensor `2.1`"));
    assert_eq!(values(&m), before);
}

// ------------------------------------------------------------ atomic writes

fn leftovers(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn save_replaces_the_file_and_leaves_no_temporary() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ckpt.safetensors");
    safetensors::save(&model(1), &path).unwrap();
    safetensors::save(&model(2), &path).unwrap();
    let mut m = model(3);
    safetensors::load(&mut m, &path).unwrap();
    assert_eq!(values(&m), values(&model(2)));
    assert_eq!(leftovers(dir.path()), ["ckpt.safetensors"]);
}

#[test]
fn a_failing_write_keeps_the_previous_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ckpt.safetensors");
    safetensors::save(&model(1), &path).unwrap();
    let before = std::fs::read(&path).unwrap();
    // A writer that dies half-way (a full disk, a crash mid-save).
    let new = safetensors::to_bytes(&model(2)).unwrap();
    let err = write_atomic(&path, |w| {
        w.write_all(&new[..new.len() / 2])?;
        Err(std::io::Error::other("simulated crash"))
    })
    .unwrap_err();
    assert_eq!(err.to_string(), "simulated crash");
    assert_eq!(std::fs::read(&path).unwrap(), before);
    assert_eq!(leftovers(dir.path()), ["ckpt.safetensors"]);
    // A save that cannot even encode (duplicate names) writes nothing either.
    struct Twice(Tensor<(u!(1),), f32>);
    impl Params<f32, Cpu> for Twice {
        fn visit_params(
            &self,
            path: &mut ParamPath,
            f: &mut dyn FnMut(&ParamPath, ParamRef<'_, f32, Cpu>),
        ) {
            self.0.visit_params(path, f);
            self.0.visit_params(path, f);
        }
        fn visit_params_mut(
            &mut self,
            path: &mut ParamPath,
            f: &mut dyn FnMut(&ParamPath, ParamMut<'_, f32, Cpu>),
        ) {
            self.0.visit_params_mut(path, f);
        }
    }
    assert!(safetensors::save(&Twice(zeros()), &path).is_err());
    assert_eq!(std::fs::read(&path).unwrap(), before);
}

#[test]
fn a_failing_rename_keeps_the_target_and_cleans_up() {
    let dir = tempfile::tempdir().unwrap();
    // The target is a non-empty directory: the rename fails after the data
    // was written and synced.
    let target = dir.path().join("ckpt.safetensors");
    std::fs::create_dir(&target).unwrap();
    std::fs::write(target.join("keep"), b"x").unwrap();
    let err = safetensors::save(&model(1), &target).unwrap_err();
    assert!(matches!(err, SafetensorsError::Io { .. }), "{err}");
    assert!(
        err.to_string().starts_with(&target.display().to_string()),
        "{err}"
    );
    assert_eq!(std::fs::read(target.join("keep")).unwrap(), b"x");
    assert_eq!(leftovers(dir.path()), ["ckpt.safetensors"]);
    // A missing folder: an error naming the path, nothing created.
    let nowhere = dir.path().join("no/such/dir/ckpt.safetensors");
    let err = safetensors::save(&model(1), &nowhere).unwrap_err();
    assert!(err.to_string().contains("no/such/dir"), "{err}");
    let err = safetensors::load(&mut model(1), &nowhere).unwrap_err();
    assert!(err.to_string().contains("no/such/dir"), "{err}");
}

// ------------------------------------------------------------ never panics

fn any_load(bytes: &[u8]) {
    let _ = SafeTensors::parse(bytes);
    let mut m = (zeros::<(u!(2),), f32>(), zeros::<(u!(1),), f32>());
    let before = values(&m);
    if safetensors::load_from_bytes(&mut m, bytes).is_err() {
        assert_eq!(values(&m), before);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        any_load(&bytes);
    }

    #[test]
    fn random_headers_never_panic(json in "[{}\\[\\]\":,0-9a-zA-Z_ .\\\\-]{0,120}", data in proptest::collection::vec(any::<u8>(), 0..16)) {
        let mut b = (json.len() as u64).to_le_bytes().to_vec();
        b.extend_from_slice(json.as_bytes());
        b.extend_from_slice(&data);
        any_load(&b);
    }

    #[test]
    fn mutated_files_never_panic_and_truncations_fail(
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
        cut in any::<prop::sample::Index>(),
    ) {
        let good = safetensors::to_bytes(&(Tensor::<(u!(2),), f32>::ones(Default::default(), &Cpu::default()), zeros::<(u!(1),), f32>())).unwrap();
        let mut b = good.clone();
        for (i, v) in &flips {
            let i = i.index(b.len());
            b[i] = *v;
        }
        any_load(&b);
        let n = cut.index(good.len());
        prop_assert!(SafeTensors::parse(&good[..n]).is_err());
    }

    #[test]
    fn any_model_values_round_trip(v in proptest::collection::vec(any::<f32>(), 1..64)) {
        let dev = Cpu::default();
        let m = (Tensor::<(Dyn,), f32>::from_vec((Dyn(v.len()),), v.clone(), &dev),);
        let mut back = (Tensor::<(Dyn,), f32>::zeros((Dyn(v.len()),), &dev),);
        safetensors::load_from_bytes(&mut back, &safetensors::to_bytes(&m).unwrap()).unwrap();
        prop_assert_eq!(back.0.to_vec().iter().map(|x| x.to_bits()).collect::<Vec<_>>(), v.iter().map(|x| x.to_bits()).collect::<Vec<_>>());
    }
}

#[test]
fn safe_dtype_tags() {
    for (d, tag, bits) in [
        (SafeDtype::BOOL, "BOOL", 8),
        (SafeDtype::U8, "U8", 8),
        (SafeDtype::F16, "F16", 16),
        (SafeDtype::BF16, "BF16", 16),
        (SafeDtype::F32, "F32", 32),
        (SafeDtype::I64, "I64", 64),
        (SafeDtype::F64, "F64", 64),
        (SafeDtype::F8_E4M3, "F8_E4M3", 8),
        (SafeDtype::F4, "F4", 4),
    ] {
        assert_eq!((d.to_string(), d.bitsize()), (tag.to_string(), bits));
    }
    assert_eq!(safetensors::dtype_of::<f32>(), Some(SafeDtype::F32));
    assert_eq!(safetensors::dtype_of::<f64>(), Some(SafeDtype::F64));
}
