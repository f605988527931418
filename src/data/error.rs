//! The error of data loading.

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

/// What is wrong with a data file. Parsers return it for any malformed input
/// (they never panic); the message says what was found and what was expected.
///
/// ```
/// use typegrad::data::IdxArray;
/// let err = IdxArray::parse(&[0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 2, 1, 2]).unwrap_err();
/// assert_eq!(
///     err.to_string(),
///     "IDX: header says 2 x 2 x 2 = 8 bytes of data, the file has 2 after its 16-byte header"
/// );
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DataError {
    /// The input ends inside the header.
    TooShort {
        /// Which part is cut (`"IDX magic"`, `"IDX dims"`).
        what: &'static str,
        /// Bytes that part needs (counted from the start of the file).
        needed: usize,
        /// Bytes present.
        got: usize,
    },
    /// The first bytes are not an IDX magic number `00 00 TT RR`.
    BadMagic {
        /// The four bytes found.
        found: [u8; 4],
    },
    /// An IDX element type other than `u8` (`0x08`).
    UnsupportedType {
        /// The type code (third magic byte).
        code: u8,
    },
    /// An IDX rank outside `1..=4`.
    BadRank {
        /// The rank byte (fourth magic byte).
        rank: u8,
    },
    /// The product of the header's sizes does not fit in `usize`.
    SizeOverflow {
        /// The sizes.
        dims: Vec<usize>,
    },
    /// Fewer data bytes than the header's sizes need.
    Truncated {
        /// The sizes.
        dims: Vec<usize>,
        /// Their product: the bytes needed.
        expected: usize,
        /// The bytes present after the header.
        got: usize,
        /// Header length in bytes.
        header: usize,
    },
    /// More data bytes than the header's sizes account for.
    TrailingBytes {
        /// The sizes.
        dims: Vec<usize>,
        /// Their product.
        expected: usize,
        /// The bytes present after the header, when known (a stream is read
        /// only one byte past the expected length).
        got: Option<usize>,
    },
    /// A decompression error (corrupt or truncated gzip stream).
    Gzip(String),
    /// Gzip input without the `std` feature (decompression needs it).
    GzipNeedsStd,
    /// An array has another rank than its role needs (images are
    /// `(N, rows, cols)`, labels `(N,)`).
    WrongRank {
        /// The role (`"images"`, `"labels"`).
        what: &'static str,
        /// The rank required.
        expected: usize,
        /// The array's sizes.
        dims: Vec<usize>,
    },
    /// Image and label files disagree on the number of examples.
    CountMismatch {
        /// Number of images.
        images: usize,
        /// Number of labels.
        labels: usize,
    },
    /// A label is not below the number of classes.
    LabelOutOfRange {
        /// The example.
        index: usize,
        /// Its label.
        label: u8,
        /// The number of classes.
        classes: usize,
    },
    /// An example index past the end of the data set.
    IndexOutOfRange {
        /// The index.
        index: usize,
        /// The data set's length.
        len: usize,
    },
    /// The tensor type's feature width differs from the image size.
    WidthMismatch {
        /// `rows * cols` of the data set.
        image_len: usize,
        /// The width the requested tensor type fixes.
        width: usize,
    },
    /// None of the file names a loader looks for exists.
    NotFound {
        /// The paths tried.
        tried: Vec<String>,
    },
    /// An I/O error (opening or reading a file).
    Io {
        /// The file.
        path: String,
        /// The operating system's message.
        message: String,
    },
    /// An error inside a named file.
    File {
        /// The file.
        path: String,
        /// What is wrong with it.
        source: Box<DataError>,
    },
}

impl DataError {
    /// The innermost error (skipping the [`DataError::File`] context).
    ///
    /// ```
    /// use typegrad::data::DataError;
    /// let e = DataError::File { path: "x".into(), source: Box::new(DataError::GzipNeedsStd) };
    /// assert_eq!(e.root(), &DataError::GzipNeedsStd);
    /// ```
    pub fn root(&self) -> &DataError {
        match self {
            DataError::File { source, .. } => source.root(),
            e => e,
        }
    }
}

struct Product<'a>(&'a [usize]);

impl fmt::Display for Product<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(" x ")?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

impl fmt::Display for DataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DataError::TooShort { what, needed, got } => write!(
                f,
                "IDX: the file ends inside the header ({what}): needs {needed} bytes, has {got}"
            ),
            DataError::BadMagic { found } => write!(
                f,
                "IDX: bad magic number {:02x} {:02x} {:02x} {:02x}: expected 00 00 <type> <rank> \
                 (MNIST images 00 00 08 03, labels 00 00 08 01); is this an IDX file?",
                found[0], found[1], found[2], found[3]
            ),
            DataError::UnsupportedType { code } => {
                let name = match code {
                    0x09 => "i8",
                    0x0B => "i16",
                    0x0C => "i32",
                    0x0D => "f32",
                    0x0E => "f64",
                    _ => "unknown",
                };
                write!(
                    f,
                    "IDX: element type 0x{code:02x} ({name}) is not supported; only u8 (0x08) is"
                )
            }
            DataError::BadRank { rank } => {
                write!(f, "IDX: rank {rank} is not supported; ranks 1 to 4 are")
            }
            DataError::SizeOverflow { dims } => write!(
                f,
                "IDX: header sizes {} overflow the address space",
                Product(dims)
            ),
            DataError::Truncated { dims, expected, got, header } => write!(
                f,
                "IDX: header says {} = {expected} bytes of data, the file has {got} after its {header}-byte header",
                Product(dims)
            ),
            DataError::TrailingBytes { dims, expected, got: Some(got) } => write!(
                f,
                "IDX: header says {} = {expected} bytes of data, the file has {got} (trailing bytes)",
                Product(dims)
            ),
            DataError::TrailingBytes { dims, expected, got: None } => write!(
                f,
                "IDX: header says {} = {expected} bytes of data, the file has more (trailing bytes)",
                Product(dims)
            ),
            DataError::Gzip(msg) => write!(f, "gzip: {msg}"),
            DataError::GzipNeedsStd => {
                f.write_str("gzip input needs typegrad's `std` feature (decompress it first)")
            }
            DataError::WrongRank { what, expected, dims } => write!(
                f,
                "{what}: expected an array of rank {expected}, got sizes {dims:?}"
            ),
            DataError::CountMismatch { images, labels } => write!(
                f,
                "the image file has {images} examples but the label file has {labels}"
            ),
            DataError::LabelOutOfRange { index, label, classes } => write!(
                f,
                "label {label} of example {index} is out of range for {classes} classes"
            ),
            DataError::IndexOutOfRange { index, len } => {
                write!(f, "example index {index} out of range for a data set of {len}")
            }
            DataError::WidthMismatch { image_len, width } => write!(
                f,
                "images have {image_len} pixels but the batch tensor's feature width is {width}"
            ),
            DataError::NotFound { tried } => write!(f, "data file not found; tried {tried:?}"),
            DataError::Io { path, message } => write!(f, "{path}: {message}"),
            DataError::File { path, source } => write!(f, "{path}: {source}"),
        }
    }
}

// `source()` stays `None`: the Display of `File` already includes the inner
// message, and a chain printer would repeat it.
#[cfg(feature = "std")]
impl std::error::Error for DataError {}
