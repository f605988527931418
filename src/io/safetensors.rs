//! The safetensors format: an 8-byte little-endian header length `N`, a JSON
//! header of `N` bytes mapping each tensor name to its `dtype`, `shape` and
//! `data_offsets` (into the data that follows), an optional `__metadata__`
//! map of strings, then the raw little-endian data.
//!
//! Parsing, validation and the header JSON are Hugging Face's reference
//! implementation, the [`safetensors`] crate (`no_std` +
//! `alloc`): it checks offsets contiguous and in bounds, sizes matching dtype
//! and shape, the data fully covered. This module adds what a model needs:
//! PyTorch `state_dict` names, strict all-or-nothing loading with errors
//! that name the tensor, dtype conversion on request, atomic saves and (with
//! `std`) memory-mapped loading.
//!
//! **Loading is all or nothing**: every parameter's tensor is found and its
//! dtype and shape checked against the model before any parameter changes;
//! then each one is decoded straight from the file's bytes (the mapped file,
//! with [`load`]) into a fresh parameter buffer. Nothing fails after the
//! checks, so on error the model is exactly as it was.
//!
//! **Dtypes.** A model of `f32` loads `F32` tensors and a model of `f64`
//! loads `F64`, bit for bit. `F16` and `BF16` tensors load into either when
//! [`LoadOptions::convert_half`] is set (the conversion is exact); every
//! other dtype the format defines (integers, `BOOL`, the 8-, 6- and 4-bit
//! floats, `C64`), and `F32`/`F64` into the other width, is a
//! [`SafetensorsError::DtypeMismatch`] naming the tensor and its dtype.
//!
//! ```
//! use typegrad::prelude::*;
//! use typegrad::io::safetensors::{self, LoadOptions};
//! let dev = Cpu::default();
//! // A file holding one BF16 tensor, as a PyTorch model in bfloat16 saves it.
//! let json = br#"{"w":{"dtype":"BF16","shape":[2],"data_offsets":[0,4]}}"#;
//! let mut file = (json.len() as u64).to_le_bytes().to_vec();
//! file.extend_from_slice(json);
//! file.extend_from_slice(&[0x80, 0x3f, 0x40, 0xc0]); // 1.0, -3.0 as bf16
//!
//! struct M { w: Tensor<(u!(2),), f32> }
//! # impl Params<f32, Cpu> for M {
//! #     fn visit_params(&self, p: &mut typegrad::nn::ParamPath, f: &mut dyn FnMut(&typegrad::nn::ParamPath, typegrad::nn::ParamRef<'_, f32, Cpu>)) { p.push("w"); self.w.visit_params(p, f); p.pop(); }
//! #     fn visit_params_mut(&mut self, p: &mut typegrad::nn::ParamPath, f: &mut dyn FnMut(&typegrad::nn::ParamPath, typegrad::nn::ParamMut<'_, f32, Cpu>)) { p.push("w"); self.w.visit_params_mut(p, f); p.pop(); }
//! # }
//! let mut m = M { w: Tensor::zeros(Default::default(), &dev) };
//! let err = safetensors::load_from_bytes(&mut m, &file).unwrap_err();
//! assert!(err.to_string().starts_with("safetensors: tensor `w` has dtype BF16 in the file, the model needs F32"));
//! safetensors::load_from_bytes_with(&mut m, &file, LoadOptions::default().convert_half(true)).unwrap();
//! assert_eq!(m.w.to_vec(), vec![1.0, -3.0]);
//! ```

use crate::backend::Backend;
use crate::dtype::Dtype;
use crate::nn::{ParamKind, ParamPath, Params};
use alloc::collections::btree_map::Entry;
use alloc::collections::{BTreeMap, BTreeSet};
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::any::TypeId;
use core::fmt;

mod borrow;

pub use borrow::{load_static, load_static_with, StaticLoad};

/// A safetensors element type: the reference crate's
/// [`Dtype`](::safetensors::Dtype), re-exported. Its `Display` is the
/// header's tag (`"BF16"`).
///
/// ```
/// use typegrad::io::safetensors::{dtype_of, SafeDtype};
/// assert_eq!(SafeDtype::BF16.to_string(), "BF16");
/// assert_eq!(SafeDtype::F8_E4M3.bitsize(), 8);
/// assert_eq!(dtype_of::<f64>(), Some(SafeDtype::F64));
/// ```
pub use ::safetensors::Dtype as SafeDtype;

/// The file's dtype for the element type `E`: `F32` for `f32`, `F64` for
/// `f64`, `None` for anything else.
///
/// ```
/// use typegrad::io::safetensors::{dtype_of, SafeDtype};
/// assert_eq!(dtype_of::<f32>(), Some(SafeDtype::F32));
/// ```
pub fn dtype_of<E: Dtype>() -> Option<SafeDtype> {
    if TypeId::of::<E>() == TypeId::of::<f32>() {
        Some(SafeDtype::F32)
    } else if TypeId::of::<E>() == TypeId::of::<f64>() {
        Some(SafeDtype::F64)
    } else {
        None
    }
}

/// What went wrong saving or loading. Every error about one tensor names it.
///
/// ```
/// use typegrad::prelude::*;
/// use typegrad::io::safetensors;
/// let dev = Cpu::default();
/// let bytes = safetensors::to_bytes(&(Tensor::<(u!(2),), f32>::zeros(Default::default(), &dev),)).unwrap();
/// let mut wrong = (Tensor::<(u!(3),), f32>::zeros(Default::default(), &dev),);
/// let err = safetensors::load_from_bytes(&mut wrong, &bytes).unwrap_err();
/// assert_eq!(err.to_string(), "safetensors: tensor `0` has shape [2] in the file, the model needs [3]");
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum SafetensorsError {
    /// The file is not valid safetensors (header length, JSON, coverage).
    Corrupt(String),
    /// One tensor's header entry is invalid (offsets, dtype, size).
    BadTensor {
        /// The tensor.
        name: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The model has a parameter the file lacks.
    Missing {
        /// The parameter's path.
        name: String,
        /// Its shape in the model.
        shape: Vec<usize>,
    },
    /// A tensor's shape differs from the parameter's.
    ShapeMismatch {
        /// The tensor.
        name: String,
        /// The parameter's shape.
        expected: Vec<usize>,
        /// The file's shape.
        found: Vec<usize>,
    },
    /// A tensor's dtype cannot be loaded into the model's element type
    /// (see [`LoadOptions`] for the conversions offered).
    DtypeMismatch {
        /// The tensor.
        name: String,
        /// The model's dtype (`F32`).
        expected: SafeDtype,
        /// The file's dtype.
        found: SafeDtype,
    },
    /// The file has tensors the model does not (a strict load, as PyTorch's
    /// `load_state_dict` default).
    Unexpected {
        /// Their names.
        names: Vec<String>,
    },
    /// Two parameters of the model share a path name.
    DuplicateParam {
        /// The name.
        name: String,
    },
    /// A tensor cannot be read in place, and the load asked that every one
    /// be ([`LoadOptions::require_borrow`]): its data is misaligned for
    /// its type, converted, on a big-endian target or a device that copies,
    /// or the bytes are not `'static`.
    NotBorrowable {
        /// The tensor.
        name: String,
        /// Why.
        reason: String,
    },
    /// The model's element type has no safetensors dtype here (f32 and f64
    /// do).
    UnsupportedDtype {
        /// The element type's name.
        elem: &'static str,
    },
    /// Reading or writing the file failed.
    #[cfg(feature = "std")]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// The error.
        error: std::io::Error,
    },
}

fn names_list(names: &[String]) -> String {
    let mut s = String::new();
    for (i, n) in names.iter().enumerate() {
        if i > 0 {
            s.push_str(", ");
        }
        s.push('`');
        s.push_str(n);
        s.push('`');
    }
    s
}

fn is_half(d: SafeDtype) -> bool {
    matches!(d, SafeDtype::F16 | SafeDtype::BF16)
}

impl fmt::Display for SafetensorsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use SafetensorsError::*;
        match self {
            Corrupt(reason) => write!(f, "safetensors: corrupt file: {reason}"),
            BadTensor { name, reason } => write!(f, "safetensors: tensor `{name}`: {reason}"),
            Missing { name, shape } => write!(
                f,
                "safetensors: tensor `{name}` (shape {shape:?}) is missing from the file"
            ),
            ShapeMismatch { name, expected, found } => write!(
                f,
                "safetensors: tensor `{name}` has shape {found:?} in the file, the model needs {expected:?}"
            ),
            DtypeMismatch { name, expected, found } => {
                write!(
                    f,
                    "safetensors: tensor `{name}` has dtype {found} in the file, the model needs {expected}"
                )?;
                if is_half(*found) {
                    write!(
                        f,
                        " ({found} converts exactly with LoadOptions::convert_half)"
                    )?;
                }
                Ok(())
            }
            Unexpected { names } => write!(
                f,
                "safetensors: the file has tensors the model does not: {}",
                names_list(names)
            ),
            DuplicateParam { name } => {
                write!(f, "safetensors: the model has two parameters named `{name}`")
            }
            NotBorrowable { name, reason } => write!(
                f,
                "safetensors: tensor `{name}` cannot be read in place: {reason}"
            ),
            UnsupportedDtype { elem } => write!(
                f,
                "safetensors: element type {elem} cannot be saved or loaded (f32 and f64 can)"
            ),
            #[cfg(feature = "std")]
            Io { path, error } => write!(f, "{}: {error}", path.display()),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for SafetensorsError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SafetensorsError::Io { error, .. } => Some(error),
            _ => None,
        }
    }
}

fn corrupt(msg: impl Into<String>) -> SafetensorsError {
    SafetensorsError::Corrupt(msg.into())
}

fn bad(name: &str, reason: impl Into<String>) -> SafetensorsError {
    SafetensorsError::BadTensor {
        name: String::from(name),
        reason: reason.into(),
    }
}

// ------------------------------------------------------------------ options

/// How [`load_from_bytes_with`] and [`load_with`] treat the file's dtypes.
///
/// The default is strict: the file's dtype must be the model's (`F32` for
/// `f32`, `F64` for `f64`).
///
/// ```
/// use typegrad::io::safetensors::LoadOptions;
/// let opts = LoadOptions::default().convert_half(true);
/// assert!(opts.convert_half && !LoadOptions::default().convert_half);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct LoadOptions {
    /// Load `F16` and `BF16` tensors into an `f32` or `f64` model,
    /// converting each value exactly (every half value is an f32). Off by
    /// default, so that a half-precision checkpoint is never taken for a
    /// full-precision one silently.
    pub convert_half: bool,
    /// Fail ([`SafetensorsError::NotBorrowable`], before any parameter
    /// changes) unless every parameter and buffer is read in place from
    /// the file's bytes, with no copy: for [`load_static_with`] on a
    /// device with little RAM, where a silent copy would not fit. Off by
    /// default: [`load_static`] copies what it cannot borrow. Counters
    /// (`num_batches_tracked`, stored as `I64`) are always decoded (one
    /// number each). With [`load_from_bytes_with`] and [`load_with`],
    /// whose bytes do not outlive the call, any model with a parameter
    /// fails.
    pub require_borrow: bool,
}

impl LoadOptions {
    /// Set [`convert_half`](LoadOptions::convert_half).
    ///
    /// ```
    /// use typegrad::io::safetensors::LoadOptions;
    /// assert!(LoadOptions::default().convert_half(true).convert_half);
    /// ```
    #[must_use]
    pub fn convert_half(mut self, on: bool) -> Self {
        self.convert_half = on;
        self
    }

    /// Set [`require_borrow`](LoadOptions::require_borrow).
    ///
    /// ```
    /// use typegrad::io::safetensors::LoadOptions;
    /// assert!(LoadOptions::default().require_borrow(true).require_borrow);
    /// ```
    #[must_use]
    pub fn require_borrow(mut self, on: bool) -> Self {
        self.require_borrow = on;
        self
    }
}

// ------------------------------------------------------------ decoding

/// How one tensor's bytes become values of the model's element type.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Codec {
    F32,
    F64,
    /// A counter ([`ParamKind::Counter`]) stored as PyTorch stores it.
    I64,
    F16,
    BF16,
}

impl Codec {
    /// The decoder for a file's `found` dtype into a model storing `want`,
    /// or `None` when that is not loadable with `opts`.
    fn new(found: SafeDtype, want: SafeDtype, opts: LoadOptions) -> Option<Codec> {
        match (found, want) {
            (SafeDtype::F32, SafeDtype::F32) => Some(Codec::F32),
            (SafeDtype::F64, SafeDtype::F64) => Some(Codec::F64),
            (SafeDtype::I64, SafeDtype::I64) => Some(Codec::I64),
            (SafeDtype::F16, SafeDtype::F32 | SafeDtype::F64) if opts.convert_half => {
                Some(Codec::F16)
            }
            (SafeDtype::BF16, SafeDtype::F32 | SafeDtype::F64) if opts.convert_half => {
                Some(Codec::BF16)
            }
            _ => None,
        }
    }

    /// Decode little-endian bytes (their length a multiple of the size:
    /// the reference parser checked it against dtype and shape) into one
    /// exactly sized buffer. Every conversion is exact (f32 -> f64 -> f32,
    /// f16/bf16 -> f64 -> f32).
    fn decode<E: Dtype>(self, bytes: &[u8]) -> Vec<E> {
        match self {
            Codec::F32 => bytes
                .chunks_exact(4)
                .map(|c| E::from_f64(f32::from_le_bytes([c[0], c[1], c[2], c[3]]) as f64))
                .collect(),
            Codec::F64 => bytes
                .chunks_exact(8)
                .map(|c| {
                    E::from_f64(f64::from_le_bytes([
                        c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7],
                    ]))
                })
                .collect(),
            Codec::I64 => bytes
                .chunks_exact(8)
                .map(|c| {
                    E::from_f64(
                        i64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]) as f64,
                    )
                })
                .collect(),
            Codec::F16 => bytes
                .chunks_exact(2)
                .map(|c| E::from_f64(half::f16::from_le_bytes([c[0], c[1]]).to_f64()))
                .collect(),
            Codec::BF16 => bytes
                .chunks_exact(2)
                .map(|c| E::from_f64(half::bf16::from_le_bytes([c[0], c[1]]).to_f64()))
                .collect(),
        }
    }
}

/// The dtype a tensor of kind `kind` has in a file written by a model of
/// dtype `model`: the model's own, except for counters, which PyTorch
/// stores as `I64` (`num_batches_tracked`).
fn file_dtype(kind: ParamKind, model: SafeDtype) -> SafeDtype {
    match kind {
        ParamKind::Counter => SafeDtype::I64,
        ParamKind::Param | ParamKind::Buffer => model,
    }
}

// ------------------------------------------------------------ reading

/// One tensor of a parsed file: its name, dtype, shape and raw bytes
/// (borrowed from the file, no copy).
///
/// ```
/// use typegrad::prelude::*;
/// use typegrad::io::safetensors::{self, SafeDtype, SafeTensors};
/// let t = Tensor::<(u!(1), u!(2)), f32>::from_vec_static(vec![1.0, 2.0], &Cpu::default());
/// let bytes = safetensors::to_bytes(&(t,)).unwrap();
/// let file = SafeTensors::parse(&bytes).unwrap();
/// let view = &file.tensors()[0];
/// assert_eq!((view.name(), view.dtype(), view.shape()), ("0", SafeDtype::F32, &[1, 2][..]));
/// assert_eq!(view.data(), &bytes[bytes.len() - 8..]);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TensorView<'a> {
    name: String,
    dtype: SafeDtype,
    shape: Vec<usize>,
    data: &'a [u8],
}

impl<'a> TensorView<'a> {
    /// The name.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// The dtype.
    pub fn dtype(&self) -> SafeDtype {
        self.dtype
    }
    /// The shape.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }
    /// The raw little-endian bytes.
    pub fn data(&self) -> &'a [u8] {
        self.data
    }
    /// The values as `E` (f32 or f64; the dtype must match exactly).
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// use typegrad::io::safetensors::{self, SafeTensors};
    /// let t = Tensor::<(u!(2),), f64>::from_vec_static(vec![0.5, -1.0], &Cpu::default());
    /// let bytes = safetensors::to_bytes(&(t,)).unwrap();
    /// let file = SafeTensors::parse(&bytes).unwrap();
    /// assert_eq!(file.get("0").unwrap().to_vec::<f64>().unwrap(), vec![0.5, -1.0]);
    /// assert!(file.get("0").unwrap().to_vec::<f32>().is_err());
    /// ```
    pub fn to_vec<E: Dtype>(&self) -> Result<Vec<E>, SafetensorsError> {
        self.to_vec_with(LoadOptions::default())
    }

    /// The values as `E`, converting as `opts` allows (F16/BF16 with
    /// [`LoadOptions::convert_half`]).
    ///
    /// ```
    /// use typegrad::io::safetensors::{LoadOptions, SafeTensors};
    /// let json = br#"{"h":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}}"#;
    /// let mut file = (json.len() as u64).to_le_bytes().to_vec();
    /// file.extend_from_slice(json);
    /// file.extend_from_slice(&[0x00, 0x3c, 0x00, 0xb8]); // f16 1.0, -0.5
    /// let t = SafeTensors::parse(&file).unwrap().tensors()[0].clone();
    /// assert!(t.to_vec::<f32>().is_err());
    /// let opts = LoadOptions::default().convert_half(true);
    /// assert_eq!(t.to_vec_with::<f64>(opts).unwrap(), vec![1.0, -0.5]);
    /// ```
    pub fn to_vec_with<E: Dtype>(&self, opts: LoadOptions) -> Result<Vec<E>, SafetensorsError> {
        let want = dtype_of::<E>().ok_or(SafetensorsError::UnsupportedDtype { elem: E::NAME })?;
        let codec =
            Codec::new(self.dtype, want, opts).ok_or_else(|| SafetensorsError::DtypeMismatch {
                name: self.name.clone(),
                expected: want,
                found: self.dtype,
            })?;
        Ok(codec.decode(self.data))
    }
}

/// A parsed and validated safetensors file, borrowing its bytes (a mapped
/// file, or a buffer): the tensors are views, nothing is copied.
///
/// ```
/// use typegrad::prelude::*;
/// use typegrad::io::safetensors::{self, SafeDtype, SafeTensors};
/// let dev = Cpu::default();
/// let model = (Tensor::<(u!(2), u!(3)), f32>::ones(Default::default(), &dev), Tensor::<(u!(3),), f32>::zeros(Default::default(), &dev));
/// let bytes = safetensors::to_bytes(&model).unwrap();
/// let file = SafeTensors::parse(&bytes).unwrap();
/// let names: Vec<&str> = file.tensors().iter().map(|t| t.name()).collect();
/// assert_eq!(names, ["0", "1"]);
/// assert_eq!(file.get("0").unwrap().shape(), &[2, 3]);
/// assert_eq!(file.get("1").unwrap().dtype(), SafeDtype::F32);
/// assert!(SafeTensors::parse(&bytes[..bytes.len() - 1]).is_err());
/// assert!(file.metadata().is_empty()); // PyTorch's files say [("format", "pt")]
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SafeTensors<'a> {
    tensors: Vec<TensorView<'a>>,
    metadata: Vec<(String, String)>,
}

impl<'a> SafeTensors<'a> {
    /// Parse and validate a file held in memory with the reference
    /// implementation. Malformed input of any kind gives an error (naming
    /// the tensor where one is at fault), never a panic.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, SafetensorsError> {
        let (n, meta) =
            ::safetensors::SafeTensors::read_metadata(bytes).map_err(|e| explain(bytes, e))?;
        // `read_metadata` checked 8 + n + (the tensors' extent) == len.
        let data = &bytes[8 + n..];
        let tensors = meta
            .offset_keys()
            .into_iter()
            .filter_map(|name| {
                let info = meta.info(&name)?;
                let (b, e) = info.data_offsets;
                Some(TensorView {
                    dtype: info.dtype,
                    shape: info.shape.clone(),
                    data: data.get(b..e)?,
                    name,
                })
            })
            .collect();
        let mut metadata: Vec<(String, String)> = meta
            .metadata()
            .iter()
            .flatten()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        metadata.sort();
        Ok(SafeTensors { tensors, metadata })
    }

    /// The tensors, in the order of their data.
    pub fn tensors(&self) -> &[TensorView<'a>] {
        &self.tensors
    }

    /// The tensor named `name`.
    pub fn get(&self, name: &str) -> Option<&TensorView<'a>> {
        self.tensors.iter().find(|t| t.name == name)
    }

    /// The `__metadata__` entries, sorted by key.
    pub fn metadata(&self) -> &[(String, String)] {
        &self.metadata
    }
}

/// Largest header the reference implementation reads.
const MAX_HEADER: u64 = 100_000_000;

/// Turn the reference parser's error into one naming the tensor at fault.
///
/// The reference crate decides what is valid; its errors do not always say
/// which tensor is wrong, so a rejected header is read again (as plain JSON)
/// to find and describe the first entry at fault. If that finds nothing,
/// the crate's own message is kept.
fn explain(bytes: &[u8], err: ::safetensors::SafeTensorError) -> SafetensorsError {
    use ::safetensors::SafeTensorError as E;
    let Some(len8) = bytes.first_chunk::<8>() else {
        return corrupt(format!(
            "{} bytes: too short for the 8-byte header length",
            bytes.len()
        ));
    };
    let n = u64::from_le_bytes(*len8);
    let avail = bytes.len() - 8;
    match err {
        E::HeaderTooSmall => corrupt(format!(
            "{} bytes: too short for the 8-byte header length",
            bytes.len()
        )),
        E::HeaderTooLarge | E::InvalidHeaderLength if n > avail as u64 => corrupt(format!(
            "header length {n} exceeds the {avail} bytes after it"
        )),
        E::HeaderTooLarge => corrupt(format!(
            "header length {n} exceeds the limit of {MAX_HEADER} bytes"
        )),
        E::InvalidHeader(e) => corrupt(format!("the header is not UTF-8 ({e})")),
        other => {
            // Every other error comes after the header was read, so `n` is
            // in bounds; checked anyway (a wrong guess must not panic).
            let split = usize::try_from(n)
                .ok()
                .filter(|&n| n <= avail)
                .map(|n| bytes[8..].split_at(n));
            split
                .and_then(|(header, data)| diagnose(header, data))
                .unwrap_or_else(|| corrupt(other.to_string()))
        }
    }
}

/// Re-read a header the reference parser rejected and describe its first
/// problem, if this finds one.
fn diagnose(header: &[u8], data: &[u8]) -> Option<SafetensorsError> {
    use ::safetensors::tensor::TensorInfo;
    use serde_json::{Map, Value};
    let map: Map<String, Value> = match serde_json::from_slice(header) {
        Ok(m) => m,
        Err(e) => return Some(corrupt(format!("header JSON: {e}"))),
    };
    let mut entries: Vec<(String, TensorInfo)> = Vec::new();
    for (name, value) in map {
        if name == "__metadata__" {
            if let Err(e) = serde_json::from_value::<Option<BTreeMap<String, String>>>(value) {
                return Some(corrupt(format!("`__metadata__`: {e}")));
            }
            continue;
        }
        if let Some(Value::String(tag)) = value.get("dtype") {
            if serde_json::from_value::<SafeDtype>(Value::String(tag.clone())).is_err() {
                return Some(bad(&name, format!("unknown dtype `{tag}`")));
            }
        }
        match serde_json::from_value::<TensorInfo>(value) {
            Ok(info) => entries.push((name, info)),
            Err(e) => return Some(bad(&name, e.to_string())),
        }
    }
    entries.sort_by_key(|(_, i)| i.data_offsets);
    let mut pos = 0usize;
    for (name, info) in &entries {
        let (b, end) = info.data_offsets;
        if end < b {
            return Some(bad(
                name,
                format!("data_offsets [{b}, {end}] end before they begin"),
            ));
        }
        if end > data.len() {
            return Some(bad(
                name,
                format!(
                    "data_offsets [{b}, {end}] run past the end of the data ({} bytes)",
                    data.len()
                ),
            ));
        }
        if b != pos {
            let what = if b < pos {
                "overlaps the previous tensor"
            } else {
                "leaves a gap after the previous tensor"
            };
            return Some(bad(
                name,
                format!("data_offsets [{b}, {end}] {what} (which ends at {pos})"),
            ));
        }
        let Some(bits) = info
            .shape
            .iter()
            .try_fold(info.dtype.bitsize(), |acc, &d| acc.checked_mul(d))
        else {
            return Some(bad(name, format!("shape {:?} overflows", info.shape)));
        };
        if bits % 8 != 0 {
            return Some(bad(
                name,
                format!(
                    "dtype {} and shape {:?} do not fill whole bytes",
                    info.dtype, info.shape
                ),
            ));
        }
        if end - b != bits / 8 {
            return Some(bad(
                name,
                format!(
                    "data_offsets [{b}, {end}] hold {} bytes, but dtype {} and shape {:?} need {}",
                    end - b,
                    info.dtype,
                    info.shape,
                    bits / 8
                ),
            ));
        }
        pos = end;
    }
    if pos != data.len() {
        return Some(corrupt(format!(
            "the tensors cover {pos} bytes of data, the file has {} (trailing bytes)",
            data.len()
        )));
    }
    None
}

// ------------------------------------------------------------ writing

/// One parameter to write: its name, shape and a handle to its buffer.
struct Saved<E: Dtype, D: Backend> {
    name: String,
    /// The file's dtype: the model's, or `I64` for a counter.
    dtype: SafeDtype,
    dims: Vec<usize>,
    data: D::Storage<E>,
    device: D,
}

/// The parameters of `model` in the reference writer's order (by dtype,
/// larger alignment first, then by name), with the safetensors header that describes them,
/// padded with spaces to a multiple of 8 as the reference writer pads it.
#[allow(clippy::type_complexity)]
fn plan_save<E: Dtype, D: Backend, M: Params<E, D> + ?Sized>(
    model: &M,
) -> Result<(Vec<Saved<E, D>>, Vec<u8>, usize), SafetensorsError> {
    use ::safetensors::tensor::{Metadata, TensorInfo};
    let dtype = dtype_of::<E>().ok_or(SafetensorsError::UnsupportedDtype { elem: E::NAME })?;
    let mut params: Vec<Saved<E, D>> = Vec::new();
    let mut names = BTreeSet::new();
    let mut dup = None;
    model.visit_params(&mut ParamPath::default(), &mut |path, p| {
        let name = path.name();
        if !names.insert(name.clone()) {
            dup.get_or_insert(name);
            return;
        }
        params.push(Saved {
            name,
            dtype: file_dtype(p.kind, dtype),
            dims: p.dims.to_vec(),
            data: p.data.clone(),
            device: p.device.clone(),
        });
    });
    if let Some(name) = dup {
        return Err(SafetensorsError::DuplicateParam { name });
    }
    params.sort_by(|a, b| b.dtype.cmp(&a.dtype).then_with(|| a.name.cmp(&b.name)));
    let mut offset = 0usize;
    let mut infos = Vec::with_capacity(params.len());
    for p in &params {
        let len = p.dims.iter().product::<usize>() * (p.dtype.bitsize() / 8);
        infos.push((
            p.name.clone(),
            TensorInfo {
                dtype: p.dtype,
                shape: p.dims.clone(),
                data_offsets: (offset, offset + len),
            },
        ));
        offset += len;
    }
    let meta = Metadata::new(None, infos).map_err(|e| corrupt(e.to_string()))?;
    let mut header = serde_json::to_vec(&meta).map_err(|e| corrupt(e.to_string()))?;
    header.resize(header.len().next_multiple_of(8), b' ');
    Ok((params, header, offset))
}

/// Write the file: header length, header, then each tensor's little-endian
/// bytes, one tensor in memory at a time, through `sink` in pieces of at
/// most 64 KiB.
fn write_file<E: Dtype, D: Backend, W>(
    params: &[Saved<E, D>],
    header: &[u8],
    mut sink: impl FnMut(&[u8]) -> Result<(), W>,
) -> Result<(), W> {
    sink(&(header.len() as u64).to_le_bytes())?;
    sink(header)?;
    let f32s = TypeId::of::<E>() == TypeId::of::<f32>();
    let mut buf: Vec<u8> = Vec::with_capacity(1 << 16);
    for p in params {
        let values = p.device.download(&p.data);
        for chunk in values.chunks(1 << 13) {
            buf.clear();
            if p.dtype == SafeDtype::I64 {
                // A counter: a whole number kept as a float in memory.
                for v in chunk {
                    buf.extend_from_slice(&(libm::round(Dtype::to_f64(*v)) as i64).to_le_bytes());
                }
            } else if f32s {
                for v in chunk {
                    buf.extend_from_slice(&(Dtype::to_f64(*v) as f32).to_le_bytes());
                }
            } else {
                for v in chunk {
                    buf.extend_from_slice(&Dtype::to_f64(*v).to_le_bytes());
                }
            }
            sink(&buf)?;
        }
    }
    Ok(())
}

/// Encode every parameter of `model` as a safetensors file, named by path
/// (`0.weight`, `blocks.1.fc.bias`), dtype F32 or F64, laid out as the
/// reference writer (`safetensors::serialize`) lays it out: tensors sorted
/// by name, the header padded with spaces so the data starts 8-aligned.
///
/// ```
/// use typegrad::prelude::*;
/// use typegrad::io::safetensors;
/// let t = Tensor::<(u!(1),), f32>::from_vec_static(vec![1.5], &Cpu::default());
/// let bytes = safetensors::to_bytes(&(t,)).unwrap();
/// let header = r#"{"0":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#;
/// assert_eq!(&bytes[8..8 + header.len()], header.as_bytes());
/// assert_eq!(&bytes[bytes.len() - 4..], &1.5f32.to_le_bytes());
/// ```
pub fn to_bytes<E: Dtype, D: Backend, M: Params<E, D> + ?Sized>(
    model: &M,
) -> Result<Vec<u8>, SafetensorsError> {
    let (params, header, data_len) = plan_save(model)?;
    let mut out = Vec::with_capacity(8 + header.len() + data_len);
    write_file(&params, &header, |b| {
        out.extend_from_slice(b);
        Ok::<(), core::convert::Infallible>(())
    })
    .unwrap_or_else(|never| match never {});
    Ok(out)
}

// ------------------------------------------------------------ loading

/// Load every parameter of `model` from a safetensors file held in memory,
/// with the default (strict) [`LoadOptions`].
///
/// Strict, as PyTorch's `load_state_dict`: each parameter must be in the
/// file with the model's shape and dtype, and the file may hold nothing
/// else. All of it is checked before any parameter changes, so on error
/// the model is exactly as it was. Parameters keep their ids.
///
/// ```
/// use typegrad::prelude::*;
/// use typegrad::io::safetensors;
/// let dev = Cpu::default();
/// let saved = (Tensor::<(u!(2),), f32>::ones(Default::default(), &dev),);
/// let bytes = safetensors::to_bytes(&saved).unwrap();
/// let mut model = (Tensor::<(u!(2),), f32>::zeros(Default::default(), &dev),);
/// safetensors::load_from_bytes(&mut model, &bytes).unwrap();
/// assert_eq!(model.0.to_vec(), vec![1.0, 1.0]);
/// // A missing tensor is an error naming it, and nothing is loaded:
/// let mut bigger = (Tensor::<(u!(2),), f32>::zeros(Default::default(), &dev), Tensor::<(u!(1),), f32>::zeros(Default::default(), &dev));
/// let err = safetensors::load_from_bytes(&mut bigger, &bytes).unwrap_err();
/// assert_eq!(err.to_string(), "safetensors: tensor `1` (shape [1]) is missing from the file");
/// assert_eq!(bigger.0.to_vec(), vec![0.0, 0.0]);
/// ```
pub fn load_from_bytes<E: Dtype, D: Backend, M: Params<E, D> + ?Sized>(
    model: &mut M,
    bytes: &[u8],
) -> Result<(), SafetensorsError> {
    load_from_bytes_with(model, bytes, LoadOptions::default())
}

/// [`load_from_bytes`] with [`LoadOptions`] (e.g. converting F16/BF16).
///
/// The bytes are parsed in place (nothing is copied); each tensor is
/// decoded straight into a new buffer for its parameter, after every
/// tensor has been checked, and the parameter's old buffer is released
/// before its new one is made, so the memory used while loading stays
/// near the model's size.
///
/// ```
/// use typegrad::prelude::*;
/// use typegrad::io::safetensors::{self, LoadOptions};
/// let dev = Cpu::default();
/// let bytes = safetensors::to_bytes(&(Tensor::<(u!(2),), f32>::ones(Default::default(), &dev),)).unwrap();
/// let mut model = (Tensor::<(u!(2),), f32>::zeros(Default::default(), &dev),);
/// safetensors::load_from_bytes_with(&mut model, &bytes, LoadOptions::default().convert_half(true)).unwrap();
/// assert_eq!(model.0.to_vec(), vec![1.0, 1.0]);
/// ```
pub fn load_from_bytes_with<E: Dtype, D: Backend, M: Params<E, D> + ?Sized>(
    model: &mut M,
    bytes: &[u8],
    opts: LoadOptions,
) -> Result<(), SafetensorsError> {
    let file = SafeTensors::parse(bytes)?;
    let mut plan = plan_load(model, &file, opts)?;
    if opts.require_borrow {
        if let Some((name, _)) = plan.iter().find(|(_, p)| p.kind != ParamKind::Counter) {
            return Err(SafetensorsError::NotBorrowable {
                name: name.clone(),
                reason: String::from(
                    "the bytes do not outlive this call (load a `&'static [u8]` with `load_static`)",
                ),
            });
        }
    }
    // Everything is checked and nothing below can fail: decode each tensor
    // straight from the file's bytes into its parameter. The old buffer
    // goes first, so a model whose buffers are not shared never holds two
    // copies of one parameter.
    model.visit_params_mut(&mut ParamPath::default(), &mut |path, p| {
        if let Some(t) = plan.remove(&path.name()) {
            *p.data = p.device.upload(Vec::new());
            *p.data = p.device.upload(t.codec.decode(t.view.data));
        }
    });
    Ok(())
}

/// One parameter's tensor in the file, checked, and how it loads.
struct Planned<'v, 'a> {
    view: &'v TensorView<'a>,
    codec: Codec,
    kind: ParamKind,
    /// Whether the parameter's device reads `'static` host data in place.
    borrows: bool,
    /// The device's name, for messages.
    device: &'static str,
}

/// Check every parameter of `model` against `file` (present, dtype, shape,
/// no duplicate names) and the file for tensors the model lacks, before
/// anything changes: each parameter's path with its tensor.
fn plan_load<'v, 'a, E: Dtype, D: Backend, M: Params<E, D> + ?Sized>(
    model: &M,
    file: &'v SafeTensors<'a>,
    opts: LoadOptions,
) -> Result<BTreeMap<String, Planned<'v, 'a>>, SafetensorsError> {
    let want = dtype_of::<E>().ok_or(SafetensorsError::UnsupportedDtype { elem: E::NAME })?;
    let by_name: BTreeMap<&str, &TensorView<'a>> =
        file.tensors.iter().map(|t| (t.name.as_str(), t)).collect();
    let mut plan: BTreeMap<String, Planned<'v, 'a>> = BTreeMap::new();
    let mut err = None;
    model.visit_params(&mut ParamPath::default(), &mut |path, p| {
        if err.is_some() {
            return;
        }
        let name = path.name();
        let Some(&t) = by_name.get(name.as_str()) else {
            err = Some(SafetensorsError::Missing {
                name,
                shape: p.dims.to_vec(),
            });
            return;
        };
        let expected = file_dtype(p.kind, want);
        let Some(codec) = Codec::new(t.dtype, expected, opts) else {
            err = Some(SafetensorsError::DtypeMismatch {
                name,
                expected,
                found: t.dtype,
            });
            return;
        };
        if t.shape[..] != p.dims[..] {
            err = Some(SafetensorsError::ShapeMismatch {
                name,
                expected: p.dims.to_vec(),
                found: t.shape.clone(),
            });
            return;
        }
        match plan.entry(name) {
            Entry::Occupied(o) => {
                err = Some(SafetensorsError::DuplicateParam {
                    name: o.key().clone(),
                })
            }
            Entry::Vacant(v) => {
                v.insert(Planned {
                    view: t,
                    codec,
                    kind: p.kind,
                    borrows: p.device.borrows_static(),
                    device: p.device.name(),
                });
            }
        }
    });
    if let Some(e) = err {
        return Err(e);
    }
    let extra: Vec<String> = file
        .tensors
        .iter()
        .filter(|t| !plan.contains_key(&t.name))
        .map(|t| t.name.clone())
        .collect();
    if !extra.is_empty() {
        return Err(SafetensorsError::Unexpected { names: extra });
    }
    Ok(plan)
}

/// Save every parameter of `model` to `path` as safetensors, atomically
/// (a temporary file in the same folder, fsynced, then renamed over
/// `path`): an interrupted or failed save leaves any previous file intact.
/// The file is the same as [`to_bytes`] gives, written one tensor at a time
/// (never the whole file in memory).
///
/// ```
/// use typegrad::prelude::*;
/// use typegrad::io::safetensors;
/// let dev = Cpu::default();
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("model.safetensors");
/// let model = (Tensor::<(u!(2),), f32>::from_vec_static(vec![3.0, 4.0], &dev),);
/// safetensors::save(&model, &path).unwrap();
/// let mut back = (Tensor::<(u!(2),), f32>::zeros(Default::default(), &dev),);
/// safetensors::load(&mut back, &path).unwrap();
/// assert_eq!(back.0.to_vec(), vec![3.0, 4.0]);
/// ```
#[cfg(feature = "std")]
pub fn save<E: Dtype, D: Backend, M: Params<E, D> + ?Sized>(
    model: &M,
    path: impl AsRef<std::path::Path>,
) -> Result<(), SafetensorsError> {
    let path = path.as_ref();
    let (params, header, _) = plan_save(model)?;
    super::write_atomic(path, |w| write_file(&params, &header, |b| w.write_all(b))).map_err(
        |error| SafetensorsError::Io {
            path: path.to_path_buf(),
            error,
        },
    )
}

/// Load every parameter of `model` from the safetensors file at `path`
/// (strict, all or nothing: see [`load_from_bytes`]), memory-mapped.
///
/// ```
/// use typegrad::prelude::*;
/// use typegrad::io::safetensors;
/// let dev = Cpu::default();
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("model.safetensors");
/// safetensors::save(&(Tensor::<(u!(2),), f64>::ones(Default::default(), &dev),), &path).unwrap();
/// let mut wrong = (Tensor::<(u!(2),), f32>::zeros(Default::default(), &dev),);
/// let err = safetensors::load(&mut wrong, &path).unwrap_err();
/// assert_eq!(err.to_string(), "safetensors: tensor `0` has dtype F64 in the file, the model needs F32");
/// ```
#[cfg(feature = "std")]
pub fn load<E: Dtype, D: Backend, M: Params<E, D> + ?Sized>(
    model: &mut M,
    path: impl AsRef<std::path::Path>,
) -> Result<(), SafetensorsError> {
    load_with(model, path, LoadOptions::default())
}

/// [`load`] with [`LoadOptions`].
///
/// The file is memory-mapped, parsed in place, and each tensor decoded
/// from the mapping straight into its parameter: the file is never copied
/// into a buffer of its own, so loading a 100 MB checkpoint allocates about
/// 100 MB (the parameters), not 200. Where a file cannot be mapped (a pipe,
/// a platform without `mmap`), it is read into memory instead.
///
/// The mapping is only read during this call. As with any memory-mapped
/// file (and PyTorch's `safetensors` loader), another process *truncating*
/// the file during the load can stop this one with `SIGBUS`; files written
/// by [`save`] are replaced by a rename, never changed in place, so saving
/// over a checkpoint while it loads is safe.
///
/// ```
/// use typegrad::prelude::*;
/// use typegrad::io::safetensors::{self, LoadOptions};
/// let dev = Cpu::default();
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("model.safetensors");
/// safetensors::save(&(Tensor::<(u!(3),), f32>::full(Default::default(), 0.25, &dev),), &path).unwrap();
/// let mut model = (Tensor::<(u!(3),), f32>::zeros(Default::default(), &dev),);
/// safetensors::load_with(&mut model, &path, LoadOptions::default()).unwrap();
/// assert_eq!(model.0.to_vec(), vec![0.25; 3]);
/// ```
#[cfg(feature = "std")]
pub fn load_with<E: Dtype, D: Backend, M: Params<E, D> + ?Sized>(
    model: &mut M,
    path: impl AsRef<std::path::Path>,
    opts: LoadOptions,
) -> Result<(), SafetensorsError> {
    use std::io::Read;
    let path = path.as_ref();
    let io = |error| SafetensorsError::Io {
        path: path.to_path_buf(),
        error,
    };
    let mut file = std::fs::File::open(path).map_err(io)?;
    let regular = file.metadata().map_err(io)?.is_file();
    // SAFETY: the mapping is read-only and lives only for this call. The
    // one hazard is another process changing or truncating the file while
    // it is mapped (documented above); our own saves replace files by
    // renaming, never in place.
    let map = regular.then(|| unsafe { memmap2::Mmap::map(&file) });
    match map {
        Some(Ok(map)) => load_from_bytes_with(model, &map, opts),
        _ => {
            let mut bytes = Vec::new();
            file.read_to_end(&mut bytes).map_err(io)?;
            load_from_bytes_with(model, &bytes, opts)
        }
    }
}
