//! Save/load as safetensors: round trips (values, names, special floats),
//! cross-checks with the reference implementation and a file written by
//! PyTorch, every error naming its tensor, all-or-nothing loading, atomic
//! writes, and malformed input never panicking.

#![allow(clippy::type_complexity)]

use proptest::prelude::*;
use std::path::Path;
use typegrad::io::safetensors::{self, LoadOptions, SafeDtype, SafeTensors, SafetensorsError};
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
    // The venv of ../shared/peers/setup.sh ($PEERS_VENV, default
    // ~/.cache/peers-venv).
    let venv = std::env::var_os("PEERS_VENV")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache/peers-venv")));
    let Some(python) = venv.map(|v| v.join("bin/python")).filter(|p| p.exists()) else {
        eprintln!("skipped: no PyTorch venv");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ours.safetensors");
    let m = model(5);
    safetensors::save(&m, &path).unwrap();
    let out = std::process::Command::new(&python)
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
        eprintln!("skipped: {}", String::from_utf8_lossy(&out.stderr));
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
        (
            "[1,2]",
            "header JSON: invalid type: sequence, expected a map at line 1 column 0",
        ),
        (
            "{} x",
            "header JSON: trailing characters at line 1 column 4",
        ),
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

// ------------------------------------------------------------ the reference writer

/// Tensors visited out of name order, two of them empty.
struct Unsorted {
    b: Tensor<(u!(2), u!(2)), f32>,
    a: Tensor<(u!(3),), f32>,
    empty: Tensor<(Dyn, u!(4)), f32>,
    a_x: Tensor<(u!(1),), f32>,
}

impl Params<f32, Cpu> for Unsorted {
    fn visit_params(
        &self,
        path: &mut ParamPath,
        f: &mut dyn FnMut(&ParamPath, ParamRef<'_, f32, Cpu>),
    ) {
        for (name, t) in [
            ("b", &self.b as &dyn Params<f32, Cpu>),
            ("a", &self.a),
            ("empty", &self.empty),
            ("a.x", &self.a_x),
        ] {
            path.push(name);
            t.visit_params(path, f);
            path.pop();
        }
    }
    fn visit_params_mut(
        &mut self,
        path: &mut ParamPath,
        f: &mut dyn FnMut(&ParamPath, ParamMut<'_, f32, Cpu>),
    ) {
        path.push("b");
        self.b.visit_params_mut(path, f);
        path.pop();
        path.push("a");
        self.a.visit_params_mut(path, f);
        path.pop();
        path.push("empty");
        self.empty.visit_params_mut(path, f);
        path.pop();
        path.push("a.x");
        self.a_x.visit_params_mut(path, f);
        path.pop();
    }
}

fn unsorted(fill: f32) -> Unsorted {
    let dev = Cpu::default();
    Unsorted {
        b: Tensor::from_vec_static(vec![fill, 1.0, 2.0, 3.0], &dev),
        a: Tensor::from_vec_static(vec![-fill, 0.5, 0.25], &dev),
        empty: Tensor::zeros((Dyn(0), Default::default()), &dev),
        a_x: Tensor::from_vec_static(vec![fill * 2.0], &dev),
    }
}

#[test]
fn to_bytes_and_save_write_what_the_reference_writer_writes() {
    use ::safetensors::tensor::TensorView as RefView;
    let m = unsorted(7.0);
    let vals = values(&m);
    let bytes: Vec<(String, Vec<usize>, Vec<u8>)> = vals
        .iter()
        .map(|(n, v)| {
            let shape = match n.as_str() {
                "b" => vec![2, 2],
                "empty" => vec![0, 4],
                _ => vec![v.len()],
            };
            (
                n.clone(),
                shape,
                v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            )
        })
        .collect();
    let views: Vec<(&str, RefView<'_>)> = bytes
        .iter()
        .map(|(n, s, b)| {
            (
                n.as_str(),
                RefView::new(::safetensors::Dtype::F32, s.clone(), b).unwrap(),
            )
        })
        .collect();
    let reference = ::safetensors::serialize(views, None).unwrap();
    let ours = safetensors::to_bytes(&m).unwrap();
    assert_eq!(
        ours, reference,
        "to_bytes differs from safetensors::serialize"
    );
    // Sorted by name, as the reference writer sorts them.
    let names: Vec<String> = SafeTensors::parse(&ours)
        .unwrap()
        .tensors()
        .iter()
        .map(|t| t.name().to_string())
        .collect();
    assert_eq!(names, ["a", "a.x", "b", "empty"]);
    // save streams the same bytes to disk.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.safetensors");
    safetensors::save(&m, &path).unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), reference);
    // And they load back, empty tensor included.
    let mut back = unsorted(0.0);
    safetensors::load(&mut back, &path).unwrap();
    assert_eq!(values(&back), vals);
}

// ------------------------------------------------------------ dtypes

/// Every dtype the format defines (the crate's enum is non-exhaustive).
const ALL_DTYPES: [SafeDtype; 22] = [
    SafeDtype::BOOL,
    SafeDtype::F4,
    SafeDtype::F6_E2M3,
    SafeDtype::F6_E3M2,
    SafeDtype::U8,
    SafeDtype::I8,
    SafeDtype::F8_E5M2,
    SafeDtype::F8_E4M3,
    SafeDtype::F8_E8M0,
    SafeDtype::F8_E4M3FNUZ,
    SafeDtype::F8_E5M2FNUZ,
    SafeDtype::I16,
    SafeDtype::U16,
    SafeDtype::F16,
    SafeDtype::BF16,
    SafeDtype::I32,
    SafeDtype::U32,
    SafeDtype::F32,
    SafeDtype::C64,
    SafeDtype::F64,
    SafeDtype::I64,
    SafeDtype::U64,
];

/// A file holding one tensor `name` of `dtype`, shape `[4]`, bytes `data`
/// (zeros when `None`), written by the reference implementation.
fn one_tensor_file(name: &str, dtype: SafeDtype, data: Option<Vec<u8>>) -> Vec<u8> {
    let data = data.unwrap_or_else(|| vec![0u8; 4 * dtype.bitsize() / 8]);
    let view = ::safetensors::tensor::TensorView::new(
        dtype,
        vec![data.len() * 8 / dtype.bitsize()],
        &data,
    )
    .unwrap();
    ::safetensors::serialize([(name, view)], None).unwrap()
}

struct Named<E: Dtype>(&'static str, Tensor<(Dyn,), E>);

impl<E: Dtype> Params<E, Cpu> for Named<E> {
    fn visit_params(
        &self,
        path: &mut ParamPath,
        f: &mut dyn FnMut(&ParamPath, ParamRef<'_, E, Cpu>),
    ) {
        path.push(self.0);
        self.1.visit_params(path, f);
        path.pop();
    }
    fn visit_params_mut(
        &mut self,
        path: &mut ParamPath,
        f: &mut dyn FnMut(&ParamPath, ParamMut<'_, E, Cpu>),
    ) {
        path.push(self.0);
        self.1.visit_params_mut(path, f);
        path.pop();
    }
}

fn named<E: Dtype>(name: &'static str, n: usize) -> Named<E> {
    Named(
        name,
        Tensor::full((Dyn(n),), E::from_f64(9.0), &Cpu::default()),
    )
}

#[test]
fn every_dtype_of_the_format_loads_or_is_refused_by_name() {
    let convert = LoadOptions::default().convert_half(true);
    for d in ALL_DTYPES {
        let file = one_tensor_file("layer.w", d, None);
        for opts in [LoadOptions::default(), convert] {
            let mut m32 = named::<f32>("layer.w", 4);
            let mut m64 = named::<f64>("layer.w", 4);
            let r32 = safetensors::load_from_bytes_with(&mut m32, &file, opts);
            let r64 = safetensors::load_from_bytes_with(&mut m64, &file, opts);
            let half = matches!(d, SafeDtype::F16 | SafeDtype::BF16);
            let ok32 = d == SafeDtype::F32 || (half && opts.convert_half);
            let ok64 = d == SafeDtype::F64 || (half && opts.convert_half);
            for (ok, r, want, loaded) in [
                (ok32, r32, SafeDtype::F32, m32.1.to_vec() == vec![0.0; 4]),
                (ok64, r64, SafeDtype::F64, m64.1.to_vec() == vec![0.0; 4]),
            ] {
                if ok {
                    r.unwrap_or_else(|e| panic!("{d} into {want}: {e}"));
                    assert!(loaded, "{d} into {want}");
                    continue;
                }
                let err = r.unwrap_err();
                assert!(!loaded, "{d} into {want}: a refused load changed the model");
                assert!(
                    matches!(err, SafetensorsError::DtypeMismatch { ref name, expected, found } if name == "layer.w" && expected == want && found == d),
                    "{d} into {want}: {err:?}"
                );
                let msg = err.to_string();
                assert!(
                    msg.starts_with(&format!("safetensors: tensor `layer.w` has dtype {d} in the file, the model needs {want}")),
                    "{msg}"
                );
                assert_eq!(msg.contains("LoadOptions::convert_half"), half, "{msg}");
            }
        }
    }
}

/// An f16 bit pattern's value by the IEEE 754 formula (independent of the
/// `half` crate): 1 sign, 5 exponent (bias 15), 10 fraction bits.
fn f16_value(bits: u16) -> f64 {
    let sign = if bits & 0x8000 != 0 { -1.0 } else { 1.0 };
    let e = ((bits >> 10) & 0x1f) as i32;
    let m = (bits & 0x3ff) as f64;
    sign * match e {
        0 => m / 1024.0 * 2f64.powi(-14),
        31 if m == 0.0 => f64::INFINITY,
        31 => f64::NAN,
        _ => (1.0 + m / 1024.0) * 2f64.powi(e - 15),
    }
}

/// A bf16 bit pattern's value by formula: 1 sign, 8 exponent (bias 127),
/// 7 fraction bits.
fn bf16_value(bits: u16) -> f64 {
    let sign = if bits & 0x8000 != 0 { -1.0 } else { 1.0 };
    let e = ((bits >> 7) & 0xff) as i32;
    let m = (bits & 0x7f) as f64;
    sign * match e {
        0 => m / 128.0 * 2f64.powi(-126),
        255 if m == 0.0 => f64::INFINITY,
        255 => f64::NAN,
        _ => (1.0 + m / 128.0) * 2f64.powi(e - 127),
    }
}

#[test]
fn half_conversion_is_exact_for_every_bit_pattern() {
    // Hand-checked points of the formulas first.
    assert_eq!(f16_value(0x3c00), 1.0);
    assert_eq!(f16_value(0xc000), -2.0);
    assert_eq!(f16_value(0x7bff), 65504.0);
    assert_eq!(f16_value(0x0001), 5.960464477539063e-8); // 2^-24
    assert_eq!(f16_value(0x3555), 0.333251953125);
    assert_eq!(bf16_value(0x3f80), 1.0);
    assert_eq!(bf16_value(0xc040), -3.0);
    assert_eq!(bf16_value(0x3eab), 0.333984375);
    assert_eq!(bf16_value(0x0001), 2f64.powi(-133));
    assert_eq!(bf16_value(0x7f7f), 3.3895313892515355e38);

    let all: Vec<u16> = (0..=u16::MAX).collect();
    let bytes: Vec<u8> = all.iter().flat_map(|b| b.to_le_bytes()).collect();
    let convert = LoadOptions::default().convert_half(true);
    for (d, value) in [
        (SafeDtype::F16, f16_value as fn(u16) -> f64),
        (SafeDtype::BF16, bf16_value),
    ] {
        let file = one_tensor_file("h", d, Some(bytes.clone()));
        let mut m32 = named::<f32>("h", all.len());
        let mut m64 = named::<f64>("h", all.len());
        safetensors::load_from_bytes_with(&mut m32, &file, convert).unwrap();
        safetensors::load_from_bytes_with(&mut m64, &file, convert).unwrap();
        let (v32, v64) = (m32.1.to_vec(), m64.1.to_vec());
        for (i, &bits) in all.iter().enumerate() {
            let want = value(bits);
            let same =
                |got: f64| (got.is_nan() && want.is_nan()) || got.to_bits() == want.to_bits();
            assert!(same(v64[i]), "{d} {bits:#06x}: {} != {want}", v64[i]);
            assert!(
                same(v32[i] as f64),
                "{d} {bits:#06x}: {} != {want} (f32)",
                v32[i]
            );
        }
    }
}

#[test]
fn loads_half_precision_files_written_by_pytorch() {
    // tests/fixtures/safetensors_torch.py: the torch_mlp state_dict saved as
    // float16 and bfloat16, with PyTorch's own widening to float64.
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/torch_mlp_half.txt"),
    )
    .unwrap();
    let convert = LoadOptions::default().convert_half(true);
    for tag in ["f16", "bf16"] {
        let bytes = fixture(&format!("torch_mlp_{tag}.safetensors"));
        let expected: Vec<(String, Vec<f64>)> = text
            .lines()
            .filter_map(|l| l.strip_prefix(tag).and_then(|l| l.strip_prefix(' ')))
            .map(|l| {
                let (name, rest) = l.split_once(' ').unwrap();
                let vals = rest.split_once("] ").unwrap().1;
                (
                    name.to_string(),
                    vals.split(' ').map(|v| v.parse().unwrap()).collect(),
                )
            })
            .collect();
        assert_eq!(expected.len(), 4);
        // Refused without the option, naming the first tensor visited.
        let err = safetensors::load_from_bytes(&mut mlp::<f32>(), &bytes).unwrap_err();
        let found = if tag == "f16" {
            SafeDtype::F16
        } else {
            SafeDtype::BF16
        };
        assert!(
            matches!(err, SafetensorsError::DtypeMismatch { ref name, found: f, .. } if name == "0.weight" && f == found),
            "{err}"
        );
        let mut m32 = mlp::<f32>();
        safetensors::load_from_bytes_with(&mut m32, &bytes, convert).unwrap();
        let mut m64 = mlp::<f64>();
        safetensors::load_from_bytes_with(&mut m64, &bytes, convert).unwrap();
        let got32 = values(&m32);
        let got64 = values(&m64);
        for (name, vals) in &expected {
            let g64 = &got64.iter().find(|(n, _)| n == name).unwrap().1;
            assert_eq!(g64, vals, "{tag} {name}");
            let g32 = &got32.iter().find(|(n, _)| n == name).unwrap().1;
            assert_eq!(
                &g32.iter().map(|&x| x as f64).collect::<Vec<_>>(),
                vals,
                "{tag} {name} f32"
            );
        }
    }
}

#[test]
fn rejects_every_other_dtype_pytorch_writes() {
    // One zero tensor of each non-float dtype (and fp8, complex64) PyTorch saves.
    let bytes = fixture("torch_dtypes.safetensors");
    let file = SafeTensors::parse(&bytes).unwrap();
    assert!(file.tensors().len() >= 9);
    let convert = LoadOptions::default().convert_half(true);
    for t in file.tensors() {
        let err = t.to_vec_with::<f32>(convert).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "safetensors: tensor `{}` has dtype {} in the file, the model needs F32",
                t.name(),
                t.dtype()
            )
        );
        let name: &'static str = Box::leak(t.name().to_string().into_boxed_str());
        let one = one_tensor_file(name, t.dtype(), Some(t.data().to_vec()));
        let mut m = named::<f64>(name, t.shape()[0]);
        let err = safetensors::load_from_bytes_with(&mut m, &one, convert).unwrap_err();
        assert!(
            err.to_string()
                .contains(&format!("tensor `{name}` has dtype {}", t.dtype())),
            "{err}"
        );
        assert_eq!(m.1.to_vec(), vec![9.0; 2]);
    }
}

// ------------------------------------------------------------ loading from files

#[test]
fn load_reads_files_that_cannot_be_mapped() {
    // A FIFO has no pages to map: `load` falls back to reading it.
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("pipe.safetensors");
    let status = std::process::Command::new("mkfifo").arg(&fifo).status();
    if !matches!(status, Ok(s) if s.success()) {
        eprintln!("skipped: no mkfifo");
        return;
    }
    let bytes = safetensors::to_bytes(&model(6)).unwrap();
    let writer = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::write(fifo, bytes).unwrap())
    };
    let mut m = model(7);
    safetensors::load(&mut m, &fifo).unwrap();
    writer.join().unwrap();
    assert_eq!(values(&m), values(&model(6)));
}

#[test]
fn load_refuses_empty_and_truncated_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("empty.safetensors");
    std::fs::write(&path, b"").unwrap();
    let mut m = model(1);
    let before = values(&m);
    let err = safetensors::load(&mut m, &path).unwrap_err();
    assert_eq!(
        err.to_string(),
        "safetensors: corrupt file: 0 bytes: too short for the 8-byte header length"
    );
    let good = safetensors::to_bytes(&model(2)).unwrap();
    std::fs::write(&path, &good[..good.len() - 3]).unwrap();
    let err = safetensors::load(&mut m, &path).unwrap_err();
    assert!(err.to_string().contains("tensor `2.1`"), "{err}");
    assert_eq!(values(&m), before);
}

#[test]
fn a_model_naming_two_parameters_alike_cannot_load() {
    struct Twice(Tensor<(u!(1),), f32>);
    impl Params<f32, Cpu> for Twice {
        fn visit_params(
            &self,
            path: &mut ParamPath,
            f: &mut dyn FnMut(&ParamPath, ParamRef<'_, f32, Cpu>),
        ) {
            path.push("w");
            self.0.visit_params(path, f);
            self.0.visit_params(path, f);
            path.pop();
        }
        fn visit_params_mut(
            &mut self,
            path: &mut ParamPath,
            f: &mut dyn FnMut(&ParamPath, ParamMut<'_, f32, Cpu>),
        ) {
            path.push("w");
            self.0.visit_params_mut(path, f);
            path.pop();
        }
    }
    let file = safetensors::to_bytes(&Named(
        "w",
        Tensor::<(Dyn,), f32>::ones((Dyn(1),), &Cpu::default()),
    ))
    .unwrap();
    let mut m = Twice(zeros());
    let err = safetensors::load_from_bytes(&mut m, &file).unwrap_err();
    assert_eq!(
        err.to_string(),
        "safetensors: the model has two parameters named `w`"
    );
    assert_eq!(m.0.to_vec(), vec![0.0]);
}

// ------------------------------------------------------------ fuzz seeds

/// The seed corpus of `fuzz/fuzz_targets/safetensors.rs`: small valid files
/// of several dtypes, shapes (scalars, empty tensors), names and metadata,
/// most of them loadable into the fuzz target's model (`0`: [2, 3], `1`:
/// [3], `2`: [0, 2]) so that fuzzing starts deep inside the loader.
fn fuzz_seeds() -> Vec<(String, Vec<u8>)> {
    use ::safetensors::tensor::TensorView as RefView;
    use std::collections::HashMap;
    let mut out: Vec<(String, Vec<u8>)> = Vec::new();
    let dev = Cpu::default();
    let vals: Vec<f64> = vec![0.5, -1.25, 3.0, 0.0, -0.0, 1e-3, 7.0, 8.0, -9.5];
    // The fuzz model's three tensors in a dtype, written by the reference.
    let encode = |d: SafeDtype, v: &[f64]| -> Vec<u8> {
        v.iter()
            .flat_map(|&x| match d {
                SafeDtype::F32 => (x as f32).to_le_bytes().to_vec(),
                SafeDtype::F64 => x.to_le_bytes().to_vec(),
                SafeDtype::F16 => half_bits(x, 10, 5).to_le_bytes().to_vec(),
                SafeDtype::BF16 => ((x as f32).to_bits() >> 16).to_le_bytes()[..2].to_vec(),
                _ => unreachable!(),
            })
            .collect()
    };
    let model_file = |d: SafeDtype, meta: Option<HashMap<String, String>>| {
        let (a, b) = (encode(d, &vals[..6]), encode(d, &vals[6..]));
        let views = vec![
            ("0", RefView::new(d, vec![2, 3], &a).unwrap()),
            ("1", RefView::new(d, vec![3], &b).unwrap()),
            ("2", RefView::new(d, vec![0, 2], &[]).unwrap()),
        ];
        ::safetensors::serialize(views, meta).unwrap()
    };
    for (d, tag) in [
        (SafeDtype::F32, "f32"),
        (SafeDtype::F64, "f64"),
        (SafeDtype::F16, "f16"),
        (SafeDtype::BF16, "bf16"),
    ] {
        out.push((format!("model_{tag}.safetensors"), model_file(d, None)));
    }
    // One entry: a HashMap's order (the reference writes it as iterated)
    // would change from run to run; spaced_header has two.
    let meta: HashMap<String, String> = [("format".to_string(), "pt".to_string())].into();
    out.push((
        "model_f32_metadata.safetensors".into(),
        model_file(SafeDtype::F32, Some(meta)),
    ));
    // Our own writer, f32 and f64.
    let ours = (
        Tensor::<(u!(2), u!(3)), f32>::from_vec_static(
            vals[..6].iter().map(|&x| x as f32).collect(),
            &dev,
        ),
        Tensor::<(u!(3),), f32>::from_vec_static(
            vals[6..].iter().map(|&x| x as f32).collect(),
            &dev,
        ),
        Tensor::<(Dyn, u!(2)), f32>::zeros((Dyn(0), Default::default()), &dev),
    );
    out.push((
        "typegrad_f32.safetensors".into(),
        safetensors::to_bytes(&ours).unwrap(),
    ));
    // One tensor of each other dtype, shape [4] (F4 packs two per byte).
    for d in ALL_DTYPES {
        if ![
            SafeDtype::F32,
            SafeDtype::F64,
            SafeDtype::F16,
            SafeDtype::BF16,
        ]
        .contains(&d)
        {
            let n = 4 * d.bitsize() / 8;
            let data: Vec<u8> = (0..n as u8).map(|i| i.wrapping_mul(37)).collect();
            out.push((
                format!("dtype_{}.safetensors", d.to_string().to_lowercase()),
                one_tensor_file("0", d, Some(data)),
            ));
        }
    }
    // No tensors; a scalar; an odd name; hand-written headers with
    // whitespace, unknown fields, metadata, a 4-aligned data start.
    out.push((
        "empty.safetensors".into(),
        ::safetensors::serialize(Vec::<(&str, RefView<'_>)>::new(), None).unwrap(),
    ));
    let one = 2.5f32.to_le_bytes();
    out.push((
        "scalar_f32.safetensors".into(),
        ::safetensors::serialize(
            [("0", RefView::new(SafeDtype::F32, vec![], &one).unwrap())],
            None,
        )
        .unwrap(),
    ));
    out.push((
        "odd_name.safetensors".into(),
        ::safetensors::serialize(
            [(
                "blocks.0.ü \"q\"\\n",
                RefView::new(SafeDtype::F32, vec![1], &one).unwrap(),
            )],
            None,
        )
        .unwrap(),
    ));
    let raw = |header: &str, data: &[u8]| {
        let mut b = (header.len() as u64).to_le_bytes().to_vec();
        b.extend_from_slice(header.as_bytes());
        b.extend_from_slice(data);
        b
    };
    out.push((
        "spaced_header.safetensors".into(),
        raw(
            r#" { "1" : { "extra" : {"a": [1, -2.5e3, true, null, "s"]}, "dtype" : "F32" , "shape" : [ 1 ] , "data_offsets" : [ 0 , 4 ] } , "__metadata__" : { "format" : "pt", "step" : "10" } }  "#,
            &one,
        ),
    ));
    out.push((
        "unaligned.safetensors".into(),
        raw(
            r#"{"1":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#,
            &one,
        ),
    ));
    // Files PyTorch wrote.
    for f in [
        "torch_mlp.safetensors",
        "torch_mlp_f16.safetensors",
        "torch_dtypes.safetensors",
    ] {
        out.push((format!("pytorch_{f}"), fixture(f)));
    }
    out
}

/// Round `x` to an IEEE half-like format with `m` fraction and `e` exponent
/// bits (normal numbers only: the seeds' values are).
fn half_bits(x: f64, m: u32, e: u32) -> u16 {
    if x == 0.0 {
        return if x.is_sign_negative() { 0x8000 } else { 0 };
    }
    let bias = (1i32 << (e - 1)) - 1;
    let exp = x.abs().log2().floor() as i32;
    let frac = ((x.abs() / 2f64.powi(exp) - 1.0) * f64::from(1u32 << m)).round() as u16;
    let sign = if x < 0.0 { 0x8000 } else { 0 };
    sign | (((exp + bias) as u16) << m) | frac
}

#[test]
fn fuzz_seed_corpus_is_current() {
    // TYPEGRAD_BLESS=1 cargo test --test io fuzz_seed rewrites the folder.
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/safetensors");
    let seeds = fuzz_seeds();
    if std::env::var_os("TYPEGRAD_BLESS").is_some() {
        std::fs::create_dir_all(&dir).unwrap();
        for (name, bytes) in &seeds {
            std::fs::write(dir.join(name), bytes).unwrap();
        }
    }
    let mut on_disk = leftovers(&dir);
    on_disk.retain(|n| n.ends_with(".safetensors"));
    let mut names: Vec<String> = seeds.iter().map(|(n, _)| n.clone()).collect();
    names.sort();
    assert_eq!(
        on_disk, names,
        "run with TYPEGRAD_BLESS=1 to rewrite fuzz/corpus/safetensors"
    );
    let convert = LoadOptions::default().convert_half(true);
    let mut loadable = 0;
    for (name, bytes) in &seeds {
        assert_eq!(
            &std::fs::read(dir.join(name)).unwrap(),
            bytes,
            "{name} is stale: run with TYPEGRAD_BLESS=1"
        );
        // Every seed is valid safetensors, for us and for the reference.
        assert!(
            ::safetensors::SafeTensors::deserialize(bytes).is_ok(),
            "{name}"
        );
        let file = SafeTensors::parse(bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        // The fuzz target's model.
        let mut m = (
            zeros::<(u!(2), u!(3)), f32>(),
            zeros::<(u!(3),), f32>(),
            Tensor::<(Dyn, u!(2)), f32>::zeros((Dyn(0), Default::default()), &Cpu::default()),
        );
        if safetensors::load_from_bytes_with(&mut m, bytes, convert).is_ok() {
            loadable += 1;
            let want: Vec<f32> = vals_f32(&file);
            assert_eq!([m.0.to_vec(), m.1.to_vec()].concat(), want, "{name}");
        }
    }
    assert_eq!(
        loadable, 5,
        "model_f32, model_f16, model_bf16, model_f32_metadata and typegrad_f32 load into the fuzz model"
    );
}

/// Tensors `0` and `1` of a seed, widened exactly.
fn vals_f32(file: &SafeTensors<'_>) -> Vec<f32> {
    let convert = LoadOptions::default().convert_half(true);
    ["0", "1"]
        .iter()
        .flat_map(|n| file.get(n).unwrap().to_vec_with::<f32>(convert).unwrap())
        .collect()
}
