//! The safetensors format: an 8-byte little-endian header length `N`, a JSON
//! header of `N` bytes mapping each tensor name to its `dtype`, `shape` and
//! `data_offsets` (into the data that follows), an optional `__metadata__`
//! map of strings, then the raw little-endian data.
//!
//! Written by hand (no serde in the library, and it works without std); the
//! reader checks everything the reference implementation checks (offsets
//! contiguous and in bounds, sizes matching dtype and shape, the data fully
//! covered) and `tests/io.rs` cross-checks both directions against it and
//! against a file written by PyTorch.
//!
//! Loading is all or nothing: every tensor the model needs is found, checked
//! (dtype, shape) and decoded before any parameter is replaced.

use crate::backend::Backend;
use crate::dtype::Dtype;
use crate::nn::{ParamPath, Params};
use alloc::collections::btree_map::Entry;
use alloc::collections::{BTreeMap, BTreeSet};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::any::TypeId;
use core::fmt;

/// Deepest JSON nesting the reader follows (in values it skips).
const MAX_DEPTH: usize = 64;

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
    /// A tensor's dtype differs from the model's element type.
    DtypeMismatch {
        /// The tensor.
        name: String,
        /// The model's dtype tag (`F32`).
        expected: &'static str,
        /// The file's dtype tag.
        found: &'static str,
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
            DtypeMismatch { name, expected, found } => write!(
                f,
                "safetensors: tensor `{name}` has dtype {found} in the file, the model needs {expected}"
            ),
            Unexpected { names } => write!(
                f,
                "safetensors: the file has tensors the model does not: {}",
                names_list(names)
            ),
            DuplicateParam { name } => {
                write!(f, "safetensors: the model has two parameters named `{name}`")
            }
            UnsupportedDtype { elem } => write!(
                f,
                "safetensors: element type {elem} cannot be saved (f32 and f64 can)"
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

/// A safetensors element type.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum SafeDtype {
    Bool,
    U8,
    I8,
    F8E5M2,
    F8E4M3,
    I16,
    U16,
    F16,
    BF16,
    I32,
    U32,
    F32,
    I64,
    U64,
    F64,
}

impl SafeDtype {
    const ALL: [SafeDtype; 15] = [
        SafeDtype::Bool,
        SafeDtype::U8,
        SafeDtype::I8,
        SafeDtype::F8E5M2,
        SafeDtype::F8E4M3,
        SafeDtype::I16,
        SafeDtype::U16,
        SafeDtype::F16,
        SafeDtype::BF16,
        SafeDtype::I32,
        SafeDtype::U32,
        SafeDtype::F32,
        SafeDtype::I64,
        SafeDtype::U64,
        SafeDtype::F64,
    ];

    /// The header's tag (`"F32"`).
    ///
    /// ```
    /// use typegrad::io::safetensors::SafeDtype;
    /// assert_eq!(SafeDtype::from_tag("BF16").map(|d| (d.tag(), d.size())), Some(("BF16", 2)));
    /// assert_eq!(SafeDtype::of::<f64>(), Some(SafeDtype::F64));
    /// ```
    pub fn tag(self) -> &'static str {
        use SafeDtype::*;
        match self {
            Bool => "BOOL",
            U8 => "U8",
            I8 => "I8",
            F8E5M2 => "F8_E5M2",
            F8E4M3 => "F8_E4M3",
            I16 => "I16",
            U16 => "U16",
            F16 => "F16",
            BF16 => "BF16",
            I32 => "I32",
            U32 => "U32",
            F32 => "F32",
            I64 => "I64",
            U64 => "U64",
            F64 => "F64",
        }
    }

    /// Bytes per element.
    pub fn size(self) -> usize {
        use SafeDtype::*;
        match self {
            Bool | U8 | I8 | F8E5M2 | F8E4M3 => 1,
            I16 | U16 | F16 | BF16 => 2,
            I32 | U32 | F32 => 4,
            I64 | U64 | F64 => 8,
        }
    }

    /// The dtype of a tag.
    pub fn from_tag(tag: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|d| d.tag() == tag)
    }

    /// The dtype that stores `E` (F32 for `f32`, F64 for `f64`).
    pub fn of<E: Dtype>() -> Option<Self> {
        if TypeId::of::<E>() == TypeId::of::<f32>() {
            Some(SafeDtype::F32)
        } else if TypeId::of::<E>() == TypeId::of::<f64>() {
            Some(SafeDtype::F64)
        } else {
            None
        }
    }
}

/// One tensor of a parsed file: its name, dtype, shape and raw bytes.
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
        let want =
            SafeDtype::of::<E>().ok_or(SafetensorsError::UnsupportedDtype { elem: E::NAME })?;
        if want != self.dtype {
            return Err(SafetensorsError::DtypeMismatch {
                name: self.name.clone(),
                expected: want.tag(),
                found: self.dtype.tag(),
            });
        }
        Ok(decode(self.dtype, self.data))
    }
}

/// Decode little-endian f32/f64 bytes (the length is a multiple of the size,
/// checked by the parser) to `E`. f32 -> f64 -> f32 is exact.
fn decode<E: Dtype>(dtype: SafeDtype, bytes: &[u8]) -> Vec<E> {
    match dtype {
        SafeDtype::F32 => bytes
            .chunks_exact(4)
            .map(|c| E::from_f64(f32::from_le_bytes([c[0], c[1], c[2], c[3]]) as f64))
            .collect(),
        _ => bytes
            .chunks_exact(8)
            .map(|c| {
                E::from_f64(f64::from_le_bytes([
                    c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7],
                ]))
            })
            .collect(),
    }
}

/// Append `values` little-endian as `dtype` (F32 or F64).
fn encode<E: Dtype>(dtype: SafeDtype, values: &[E], out: &mut Vec<u8>) {
    out.reserve(values.len() * dtype.size());
    match dtype {
        SafeDtype::F32 => values
            .iter()
            .for_each(|v| out.extend_from_slice(&(Dtype::to_f64(*v) as f32).to_le_bytes())),
        _ => values
            .iter()
            .for_each(|v| out.extend_from_slice(&Dtype::to_f64(*v).to_le_bytes())),
    }
}

/// A parsed and validated safetensors file (borrowing its bytes).
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
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SafeTensors<'a> {
    tensors: Vec<TensorView<'a>>,
    metadata: Vec<(String, String)>,
}

impl<'a> SafeTensors<'a> {
    /// Parse and validate a file held in memory. Malformed input of any kind
    /// gives an error (naming the tensor where one is at fault), never a
    /// panic, and allocates nothing beyond what the input's size bounds.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, SafetensorsError> {
        if bytes.len() < 8 {
            return Err(corrupt(format!(
                "{} bytes: too short for the 8-byte header length",
                bytes.len()
            )));
        }
        let n = u64::from_le_bytes([
            bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
        ]);
        let avail = bytes.len() - 8;
        let n = match usize::try_from(n) {
            Ok(n) if n <= avail => n,
            _ => {
                return Err(corrupt(format!(
                    "header length {n} exceeds the {avail} bytes after it"
                )))
            }
        };
        let header = core::str::from_utf8(&bytes[8..8 + n])
            .map_err(|e| corrupt(format!("the header is not UTF-8 ({e})")))?;
        let data = &bytes[8 + n..];
        let (entries, metadata) = Json::new(header).header()?;
        let tensors = validate(entries, data)?;
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

    /// The `__metadata__` entries, in file order.
    pub fn metadata(&self) -> &[(String, String)] {
        &self.metadata
    }
}

/// A header entry before validation.
struct HeaderEntry {
    name: String,
    dtype: SafeDtype,
    shape: Vec<usize>,
    begin: usize,
    end: usize,
}

/// Check sizes and offsets: the tensors' byte ranges, sorted, must tile the
/// data exactly, each as long as its dtype and shape need.
fn validate(
    mut entries: Vec<HeaderEntry>,
    data: &[u8],
) -> Result<Vec<TensorView<'_>>, SafetensorsError> {
    entries.sort_by_key(|e| (e.begin, e.end));
    let mut pos = 0usize;
    let mut out = Vec::with_capacity(entries.len());
    for e in entries {
        let (b, end) = (e.begin, e.end);
        if end < b {
            return Err(bad(
                &e.name,
                format!("data_offsets [{b}, {end}] end before they begin"),
            ));
        }
        if end > data.len() {
            return Err(bad(
                &e.name,
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
            return Err(bad(
                &e.name,
                format!("data_offsets [{b}, {end}] {what} (which ends at {pos})"),
            ));
        }
        let need = e
            .shape
            .iter()
            .try_fold(e.dtype.size(), |acc, &d| acc.checked_mul(d))
            .ok_or_else(|| bad(&e.name, format!("shape {:?} overflows", e.shape)))?;
        if end - b != need {
            return Err(bad(
                &e.name,
                format!(
                    "data_offsets [{b}, {end}] hold {} bytes, but dtype {} and shape {:?} need {need}",
                    end - b,
                    e.dtype.tag(),
                    e.shape
                ),
            ));
        }
        pos = end;
        out.push(TensorView {
            name: e.name,
            dtype: e.dtype,
            shape: e.shape,
            data: &data[b..end],
        });
    }
    if pos != data.len() {
        return Err(corrupt(format!(
            "the tensors cover {pos} bytes of data, the file has {} (trailing bytes)",
            data.len()
        )));
    }
    Ok(out)
}

/// A minimal JSON reader for the header: objects, strings, non-negative
/// integers; other values are skipped (to a bounded depth).
struct Json<'a> {
    s: &'a [u8],
    pos: usize,
}

type JResult<T> = Result<T, String>;

impl<'a> Json<'a> {
    fn new(s: &'a str) -> Self {
        Json {
            s: s.as_bytes(),
            pos: 0,
        }
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    fn err<T>(&self, what: &str) -> JResult<T> {
        match self.peek() {
            Some(c) => Err(format!(
                "header JSON: expected {what} at byte {}, found `{}`",
                self.pos,
                c.escape_ascii()
            )),
            None => Err(format!(
                "header JSON: expected {what} at byte {}, found the end",
                self.pos
            )),
        }
    }

    fn eat(&mut self, c: u8) -> bool {
        self.ws();
        if self.peek() == Some(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, c: u8, what: &str) -> JResult<()> {
        if self.eat(c) {
            Ok(())
        } else {
            self.err(what)
        }
    }

    /// `{ "k": v, ... }`, calling `f` after each key with the reader before
    /// the value.
    fn object(
        &mut self,
        mut f: impl FnMut(&mut Self, String) -> Result<(), SafetensorsError>,
    ) -> Result<(), SafetensorsError> {
        self.expect(b'{', "`{`").map_err(corrupt)?;
        if self.eat(b'}') {
            return Ok(());
        }
        loop {
            self.ws();
            let key = self.string().map_err(corrupt)?;
            self.expect(b':', "`:`").map_err(corrupt)?;
            f(self, key)?;
            if self.eat(b',') {
                continue;
            }
            return self.expect(b'}', "`,` or `}`").map_err(corrupt);
        }
    }

    fn hex4(&mut self) -> JResult<u32> {
        let mut v = 0u32;
        for _ in 0..4 {
            let d = match self.peek() {
                Some(c @ b'0'..=b'9') => c - b'0',
                Some(c @ b'a'..=b'f') => c - b'a' + 10,
                Some(c @ b'A'..=b'F') => c - b'A' + 10,
                _ => return self.err("a hex digit"),
            };
            v = v * 16 + d as u32;
            self.pos += 1;
        }
        Ok(v)
    }

    fn string(&mut self) -> JResult<String> {
        self.ws();
        if self.peek() != Some(b'"') {
            return self.err("a string");
        }
        self.pos += 1;
        let mut out: Vec<u8> = Vec::new();
        loop {
            let Some(c) = self.peek() else {
                return self.err("the end of a string");
            };
            self.pos += 1;
            match c {
                b'"' => break,
                b'\\' => {
                    let Some(e) = self.peek() else {
                        return self.err("an escape");
                    };
                    self.pos += 1;
                    let ch = match e {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => {
                            let hi = self.hex4()?;
                            let code = if (0xD800..0xDC00).contains(&hi) {
                                if !(self.peek() == Some(b'\\')
                                    && self.s.get(self.pos + 1) == Some(&b'u'))
                                {
                                    return self.err("a low surrogate escape");
                                }
                                self.pos += 2;
                                let lo = self.hex4()?;
                                if !(0xDC00..0xE000).contains(&lo) {
                                    return Err(format!(
                                        "header JSON: invalid low surrogate before byte {}",
                                        self.pos
                                    ));
                                }
                                0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                            } else {
                                hi
                            };
                            match char::from_u32(code) {
                                Some(ch) => ch,
                                None => {
                                    return Err(format!(
                                        "header JSON: lone surrogate before byte {}",
                                        self.pos
                                    ))
                                }
                            }
                        }
                        _ => {
                            self.pos -= 1;
                            return self.err("a valid escape");
                        }
                    };
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                }
                0..=0x1f => {
                    self.pos -= 1;
                    return self.err("no control character inside a string");
                }
                _ => out.push(c),
            }
        }
        // The input is a `str` and escapes add whole chars: always UTF-8.
        String::from_utf8(out).map_err(|_| String::from("header JSON: invalid UTF-8 in a string"))
    }

    /// A non-negative integer that fits `usize`.
    fn uint(&mut self) -> JResult<usize> {
        self.ws();
        let start = self.pos;
        let mut v: usize = 0;
        while let Some(c @ b'0'..=b'9') = self.peek() {
            v = v
                .checked_mul(10)
                .and_then(|v| v.checked_add((c - b'0') as usize))
                .ok_or_else(|| format!("header JSON: integer at byte {start} is too large"))?;
            self.pos += 1;
        }
        if self.pos == start {
            return self.err("a non-negative integer");
        }
        if self.pos - start > 1 && self.s[start] == b'0' {
            return Err(format!(
                "header JSON: integer at byte {start} has a leading zero"
            ));
        }
        if let Some(b'.' | b'e' | b'E') = self.peek() {
            return self.err("an integer (no fraction or exponent)");
        }
        Ok(v)
    }

    /// `[uint, ...]`.
    fn uints(&mut self) -> JResult<Vec<usize>> {
        self.expect(b'[', "`[`")?;
        let mut out = Vec::new();
        if self.eat(b']') {
            return Ok(out);
        }
        loop {
            out.push(self.uint()?);
            if self.eat(b',') {
                continue;
            }
            self.expect(b']', "`,` or `]`")?;
            return Ok(out);
        }
    }

    /// Skip any JSON value.
    fn skip(&mut self, depth: usize) -> JResult<()> {
        if depth > MAX_DEPTH {
            return Err(format!(
                "header JSON: nested deeper than {MAX_DEPTH} at byte {}",
                self.pos
            ));
        }
        self.ws();
        match self.peek() {
            Some(b'"') => self.string().map(drop),
            Some(open @ (b'{' | b'[')) => {
                let close = if open == b'{' { b'}' } else { b']' };
                self.pos += 1;
                if self.eat(close) {
                    return Ok(());
                }
                loop {
                    if open == b'{' {
                        self.string()?;
                        self.expect(b':', "`:`")?;
                    }
                    self.skip(depth + 1)?;
                    if self.eat(b',') {
                        continue;
                    }
                    return self.expect(close, "`,` or a closing bracket");
                }
            }
            Some(b't') => self.literal("true"),
            Some(b'f') => self.literal("false"),
            Some(b'n') => self.literal("null"),
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => self.err("a value"),
        }
    }

    fn literal(&mut self, word: &str) -> JResult<()> {
        if self.s[self.pos..].starts_with(word.as_bytes()) {
            self.pos += word.len();
            Ok(())
        } else {
            self.err(word)
        }
    }

    /// Skip a JSON number.
    fn number(&mut self) -> JResult<()> {
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        let digits = |p: &mut Self| {
            let s = p.pos;
            while let Some(b'0'..=b'9') = p.peek() {
                p.pos += 1;
            }
            p.pos > s
        };
        if !digits(self) {
            return self.err("digits");
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            if !digits(self) {
                return self.err("digits after `.`");
            }
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            if !digits(self) {
                return self.err("exponent digits");
            }
        }
        Ok(())
    }

    /// One tensor entry `{"dtype": .., "shape": [..], "data_offsets": [b, e]}`.
    fn entry(&mut self, name: String) -> Result<HeaderEntry, SafetensorsError> {
        let mut dtype = None;
        let mut shape = None;
        let mut offsets = None;
        self.object(|p, key| {
            let fail = |reason: String| bad(&name, reason);
            let dup = |key: &str| bad(&name, format!("field `{key}` appears twice"));
            match key.as_str() {
                "dtype" => {
                    let tag = p.string().map_err(fail)?;
                    let d = SafeDtype::from_tag(&tag)
                        .ok_or_else(|| bad(&name, format!("unknown dtype `{tag}`")))?;
                    if dtype.replace(d).is_some() {
                        return Err(dup("dtype"));
                    }
                }
                "shape" => {
                    if shape.replace(p.uints().map_err(fail)?).is_some() {
                        return Err(dup("shape"));
                    }
                }
                "data_offsets" => {
                    let o = p.uints().map_err(fail)?;
                    let [b, e] = o[..] else {
                        return Err(bad(
                            &name,
                            format!("data_offsets has {} numbers, not 2", o.len()),
                        ));
                    };
                    if offsets.replace((b, e)).is_some() {
                        return Err(dup("data_offsets"));
                    }
                }
                _ => p.skip(0).map_err(fail)?,
            }
            Ok(())
        })?;
        let missing = |f: &str| bad(&name, format!("the header entry lacks `{f}`"));
        let dtype = dtype.ok_or_else(|| missing("dtype"))?;
        let shape = shape.ok_or_else(|| missing("shape"))?;
        let (begin, end) = offsets.ok_or_else(|| missing("data_offsets"))?;
        Ok(HeaderEntry {
            name,
            dtype,
            shape,
            begin,
            end,
        })
    }

    /// The whole header: tensor entries and metadata.
    #[allow(clippy::type_complexity)]
    fn header(mut self) -> Result<(Vec<HeaderEntry>, Vec<(String, String)>), SafetensorsError> {
        let mut entries = Vec::new();
        let mut names = BTreeSet::new();
        let mut metadata = None;
        self.object(|p, key| {
            if key == "__metadata__" {
                if metadata.is_some() {
                    return Err(corrupt("`__metadata__` appears twice"));
                }
                let mut m = Vec::new();
                p.ws();
                if p.peek() == Some(b'n') {
                    p.literal("null").map_err(corrupt)?;
                } else {
                    p.object(|p, k| {
                        let v = p
                            .string()
                            .map_err(|e| corrupt(format!("__metadata__ `{k}`: {e}")))?;
                        m.push((k, v));
                        Ok(())
                    })?;
                }
                metadata = Some(m);
                return Ok(());
            }
            if names.contains(&key) {
                return Err(bad(&key, "appears twice in the header"));
            }
            let e = p.entry(key.clone())?;
            names.insert(key);
            entries.push(e);
            Ok(())
        })?;
        self.ws();
        if self.pos != self.s.len() {
            return Err(corrupt(format!(
                "unexpected characters after the header object at byte {}",
                self.pos
            )));
        }
        Ok((entries, metadata.unwrap_or_default()))
    }
}

/// Append `s` as a JSON string.
fn push_json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Encode named tensors of one dtype as a safetensors file (header padded
/// with spaces so the data starts 8-byte aligned).
fn encode_file<E: Dtype>(dtype: SafeDtype, tensors: &[(String, Vec<usize>, Vec<E>)]) -> Vec<u8> {
    let mut header = String::from("{");
    let mut offset = 0usize;
    for (i, (name, shape, values)) in tensors.iter().enumerate() {
        if i > 0 {
            header.push(',');
        }
        push_json_string(&mut header, name);
        let len = values.len() * dtype.size();
        header.push_str(&format!(
            ":{{\"dtype\":\"{}\",\"shape\":{shape:?},\"data_offsets\":[{offset},{}]}}",
            dtype.tag(),
            offset + len
        ));
        offset += len;
    }
    header.push('}');
    while header.len() % 8 != 0 {
        header.push(' ');
    }
    let mut out = Vec::with_capacity(8 + header.len() + offset);
    out.extend_from_slice(&(header.len() as u64).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    for (_, _, values) in tensors {
        encode(dtype, values, &mut out);
    }
    out
}

/// Encode every parameter of `model` as a safetensors file, named by path
/// (`0.weight`, `blocks.1.fc.bias`), dtype F32 or F64.
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
    let dtype = SafeDtype::of::<E>().ok_or(SafetensorsError::UnsupportedDtype { elem: E::NAME })?;
    let mut tensors: Vec<(String, Vec<usize>, Vec<E>)> = Vec::new();
    let mut names = BTreeSet::new();
    let mut dup = None;
    model.visit_params(&mut ParamPath::default(), &mut |path, p| {
        let name = path.name();
        if !names.insert(name.clone()) {
            dup.get_or_insert(name);
            return;
        }
        tensors.push((name, p.dims.to_vec(), p.device.download(p.data)));
    });
    if let Some(name) = dup {
        return Err(SafetensorsError::DuplicateParam { name });
    }
    Ok(encode_file(dtype, &tensors))
}

/// Load every parameter of `model` from a safetensors file held in memory.
///
/// Strict, as PyTorch's `load_state_dict`: each parameter must be in the
/// file with the model's shape and dtype, and the file may hold nothing
/// else. All of it is checked and decoded before any parameter changes, so
/// on error the model is exactly as it was. Parameters keep their ids.
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
    let want = SafeDtype::of::<E>().ok_or(SafetensorsError::UnsupportedDtype { elem: E::NAME })?;
    let file = SafeTensors::parse(bytes)?;
    let by_name: BTreeMap<&str, &TensorView<'_>> =
        file.tensors.iter().map(|t| (t.name.as_str(), t)).collect();
    let mut values: BTreeMap<String, Vec<E>> = BTreeMap::new();
    let mut err = None;
    model.visit_params(&mut ParamPath::default(), &mut |path, p| {
        if err.is_some() {
            return;
        }
        let name = path.name();
        let Some(t) = by_name.get(name.as_str()) else {
            err = Some(SafetensorsError::Missing {
                name,
                shape: p.dims.to_vec(),
            });
            return;
        };
        if t.dtype != want {
            err = Some(SafetensorsError::DtypeMismatch {
                name,
                expected: want.tag(),
                found: t.dtype.tag(),
            });
        } else if t.shape[..] != p.dims[..] {
            err = Some(SafetensorsError::ShapeMismatch {
                name,
                expected: p.dims.to_vec(),
                found: t.shape.clone(),
            });
        } else {
            match values.entry(name) {
                Entry::Occupied(o) => {
                    err = Some(SafetensorsError::DuplicateParam {
                        name: o.key().clone(),
                    })
                }
                Entry::Vacant(v) => {
                    v.insert(decode(t.dtype, t.data));
                }
            }
        }
    });
    if let Some(e) = err {
        return Err(e);
    }
    let extra: Vec<String> = file
        .tensors
        .iter()
        .filter(|t| !values.contains_key(&t.name))
        .map(|t| t.name.clone())
        .collect();
    if !extra.is_empty() {
        return Err(SafetensorsError::Unexpected { names: extra });
    }
    // Everything is checked: assign.
    model.visit_params_mut(&mut ParamPath::default(), &mut |path, p| {
        if let Some(v) = values.remove(&path.name()) {
            *p.data = p.device.upload(v);
        }
    });
    Ok(())
}

/// Save every parameter of `model` to `path` as safetensors, atomically
/// (a temporary file in the same folder, fsynced, then renamed over
/// `path`): an interrupted or failed save leaves any previous file intact.
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
    let bytes = to_bytes(model)?;
    super::write_atomic(path, |w| w.write_all(&bytes)).map_err(|error| SafetensorsError::Io {
        path: path.to_path_buf(),
        error,
    })
}

/// Load every parameter of `model` from the safetensors file at `path`
/// (see [`load_from_bytes`]: strict, all or nothing).
#[cfg(feature = "std")]
pub fn load<E: Dtype, D: Backend, M: Params<E, D> + ?Sized>(
    model: &mut M,
    path: impl AsRef<std::path::Path>,
) -> Result<(), SafetensorsError> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|error| SafetensorsError::Io {
        path: path.to_path_buf(),
        error,
    })?;
    load_from_bytes(model, &bytes)
}
