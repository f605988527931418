//! The IDX format (MNIST): a 4-byte magic `00 00 TT RR` (element type `TT`,
//! rank `RR`), `RR` big-endian `u32` sizes, then the elements row-major.
//! Only `u8` elements (`TT = 0x08`) and ranks 1 to 4 are read.

use super::DataError;
use alloc::vec::Vec;

/// The largest rank read.
const MAX_RANK: usize = 4;
/// Type code of `u8` elements.
const TYPE_U8: u8 = 0x08;
/// gzip's magic bytes.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// A `u8` array read from an IDX file: its sizes and its bytes, row-major.
///
/// ```
/// use typegrad::data::IdxArray;
/// // A 2 x 3 array: magic 00 00 08 02, sizes 2 and 3 (big-endian u32), data.
/// let bytes = [0, 0, 8, 2, 0, 0, 0, 2, 0, 0, 0, 3, 1, 2, 3, 4, 5, 6];
/// let a = IdxArray::parse(&bytes).unwrap();
/// assert_eq!(a.dims(), &[2, 3]);
/// assert_eq!(a.data(), &[1, 2, 3, 4, 5, 6]);
/// assert_eq!(a.to_bytes(), bytes);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdxArray {
    dims: Vec<usize>,
    data: Vec<u8>,
}

/// The parsed header: sizes, header length, data length.
struct Header {
    dims: Vec<usize>,
    len: usize,
    numel: usize,
}

/// Check the magic and return the rank.
fn check_magic(m: [u8; 4]) -> Result<usize, DataError> {
    if m[0] != 0 || m[1] != 0 {
        return Err(DataError::BadMagic { found: m });
    }
    if m[2] != TYPE_U8 {
        return Err(DataError::UnsupportedType { code: m[2] });
    }
    if m[3] == 0 || m[3] as usize > MAX_RANK {
        return Err(DataError::BadRank { rank: m[3] });
    }
    Ok(m[3] as usize)
}

/// Parse the header at the start of `bytes` (which may hold only the header).
fn parse_header(bytes: &[u8]) -> Result<Header, DataError> {
    if bytes.len() < 4 {
        return Err(DataError::TooShort {
            what: "IDX magic",
            needed: 4,
            got: bytes.len(),
        });
    }
    let rank = check_magic([bytes[0], bytes[1], bytes[2], bytes[3]])?;
    let len = 4 + 4 * rank;
    if bytes.len() < len {
        return Err(DataError::TooShort {
            what: "IDX sizes",
            needed: len,
            got: bytes.len(),
        });
    }
    let dims: Vec<usize> = bytes[4..len]
        .chunks_exact(4)
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]) as usize)
        .collect();
    let numel = dims
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| DataError::SizeOverflow { dims: dims.clone() })?;
    Ok(Header { dims, len, numel })
}

impl IdxArray {
    /// An array from sizes and data (checked: rank 1 to 4, each size fits
    /// in `u32`, and the data length is the product of the sizes).
    ///
    /// ```
    /// use typegrad::data::IdxArray;
    /// assert!(IdxArray::new(vec![2, 2], vec![0; 4]).is_ok());
    /// assert!(IdxArray::new(vec![2, 2], vec![0; 3]).is_err());
    /// ```
    pub fn new(dims: Vec<usize>, data: Vec<u8>) -> Result<Self, DataError> {
        if dims.is_empty() || dims.len() > MAX_RANK {
            return Err(DataError::BadRank {
                rank: u8::try_from(dims.len()).unwrap_or(u8::MAX),
            });
        }
        if dims.iter().any(|&d| u32::try_from(d).is_err()) {
            return Err(DataError::SizeOverflow { dims });
        }
        let expected = dims
            .iter()
            .try_fold(1usize, |acc, &d| acc.checked_mul(d))
            .ok_or_else(|| DataError::SizeOverflow { dims: dims.clone() })?;
        let header = 4 + 4 * dims.len();
        match data.len() {
            n if n < expected => Err(DataError::Truncated {
                dims,
                expected,
                got: n,
                header,
            }),
            n if n > expected => Err(DataError::TrailingBytes {
                dims,
                expected,
                got: Some(n),
            }),
            _ => Ok(IdxArray { dims, data }),
        }
    }

    /// Parse an uncompressed IDX file held in memory. Any malformed input
    /// gives a [`DataError`]; nothing is allocated for sizes the input does
    /// not hold.
    ///
    /// ```
    /// use typegrad::data::IdxArray;
    /// let err = IdxArray::parse(&[0, 0, 8, 1, 0, 0, 0, 5, 1, 2]).unwrap_err();
    /// assert_eq!(err.to_string(), "IDX: header says 5 = 5 bytes of data, the file has 2 after its 8-byte header");
    /// ```
    pub fn parse(bytes: &[u8]) -> Result<Self, DataError> {
        let h = parse_header(bytes)?;
        let body = &bytes[h.len..];
        if body.len() < h.numel {
            return Err(DataError::Truncated {
                dims: h.dims,
                expected: h.numel,
                got: body.len(),
                header: h.len,
            });
        }
        if body.len() > h.numel {
            return Err(DataError::TrailingBytes {
                dims: h.dims,
                expected: h.numel,
                got: Some(body.len()),
            });
        }
        Ok(IdxArray {
            dims: h.dims,
            data: body.to_vec(),
        })
    }

    /// Parse an IDX file held in memory, gzip-compressed (detected by its
    /// magic `1f 8b`; needs the `std` feature) or not.
    ///
    /// ```
    /// use typegrad::data::IdxArray;
    /// let a = IdxArray::decode(&[0, 0, 8, 1, 0, 0, 0, 1, 9]).unwrap();
    /// assert_eq!(a.data(), &[9]);
    /// assert!(IdxArray::decode(&[0x1f, 0x8b, 0]).unwrap_err().to_string().starts_with("gzip"));
    /// ```
    pub fn decode(bytes: &[u8]) -> Result<Self, DataError> {
        if bytes.starts_with(&GZIP_MAGIC) {
            #[cfg(feature = "std")]
            {
                Self::read_with(flate2::read::MultiGzDecoder::new(bytes), &gzip_err)
            }
            #[cfg(not(feature = "std"))]
            {
                Err(DataError::GzipNeedsStd)
            }
        } else {
            Self::parse(bytes)
        }
    }

    /// Read an uncompressed IDX stream (std only). Memory grows only with
    /// the bytes actually read, so a header claiming huge sizes costs
    /// nothing; reading stops one byte past the expected length.
    ///
    /// ```
    /// use typegrad::data::IdxArray;
    /// let bytes: &[u8] = &[0, 0, 8, 1, 0, 0, 0, 2, 4, 5];
    /// assert_eq!(IdxArray::read(bytes).unwrap().data(), &[4, 5]);
    /// ```
    #[cfg(feature = "std")]
    pub fn read<R: std::io::Read>(reader: R) -> Result<Self, DataError> {
        Self::read_with(reader, &|e| DataError::Io {
            path: "<reader>".into(),
            message: e.to_string(),
        })
    }

    /// [`IdxArray::read`], with a conversion for I/O errors (a gzip
    /// decoder's are decompression errors).
    #[cfg(feature = "std")]
    fn read_with<R: std::io::Read>(
        mut reader: R,
        io_err: &dyn Fn(std::io::Error) -> DataError,
    ) -> Result<Self, DataError> {
        use std::io::Read;
        let mut head = [0u8; 4 + 4 * MAX_RANK];
        let got = read_full(&mut reader, &mut head[..4]).map_err(io_err)?;
        if got < 4 {
            return Err(DataError::TooShort {
                what: "IDX magic",
                needed: 4,
                got,
            });
        }
        let rank = check_magic([head[0], head[1], head[2], head[3]])?;
        let len = 4 + 4 * rank;
        let got = 4 + read_full(&mut reader, &mut head[4..len]).map_err(io_err)?;
        let h = parse_header(&head[..got])?;
        let mut data = Vec::with_capacity(h.numel.min(1 << 20));
        reader
            .by_ref()
            .take(h.numel as u64 + 1)
            .read_to_end(&mut data)
            .map_err(io_err)?;
        if data.len() < h.numel {
            return Err(DataError::Truncated {
                dims: h.dims,
                expected: h.numel,
                got: data.len(),
                header: h.len,
            });
        }
        if data.len() > h.numel {
            return Err(DataError::TrailingBytes {
                dims: h.dims,
                expected: h.numel,
                got: None,
            });
        }
        Ok(IdxArray { dims: h.dims, data })
    }

    /// Read an IDX file, gzip-compressed (`.gz`, detected by content) or
    /// not (std only). Errors name the file.
    ///
    /// ```
    /// use typegrad::data::IdxArray;
    /// let labels = IdxArray::open("data/mnist/mnist-t10k-labels-idx1-ubyte.gz").unwrap();
    /// assert_eq!(labels.dims(), &[10000]);
    /// assert_eq!(&labels.data()[..5], &[7, 2, 1, 0, 4]);
    /// ```
    #[cfg(feature = "std")]
    pub fn open(path: impl AsRef<std::path::Path>) -> Result<Self, DataError> {
        use std::io::BufRead;
        let path = path.as_ref();
        let name = || path.display().to_string();
        let file = std::fs::File::open(path).map_err(|e| DataError::Io {
            path: name(),
            message: e.to_string(),
        })?;
        let mut reader = std::io::BufReader::with_capacity(1 << 16, file);
        let head = reader.fill_buf().map_err(|e| DataError::Io {
            path: name(),
            message: e.to_string(),
        })?;
        let result = if head.starts_with(&GZIP_MAGIC) {
            Self::read_with(flate2::bufread::MultiGzDecoder::new(reader), &gzip_err)
        } else {
            Self::read_with(reader, &|e| DataError::Io {
                path: name(),
                message: e.to_string(),
            })
        };
        result.map_err(|e| DataError::File {
            path: name(),
            source: alloc::boxed::Box::new(e),
        })
    }

    /// The sizes.
    pub fn dims(&self) -> &[usize] {
        &self.dims
    }

    /// The elements, row-major.
    pub fn data(&self) -> &[u8] {
        &self.data
    }

    /// The sizes and the elements.
    pub fn into_parts(self) -> (Vec<usize>, Vec<u8>) {
        (self.dims, self.data)
    }

    /// Encode as an uncompressed IDX file.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(4 + 4 * self.dims.len() + self.data.len());
        out.extend_from_slice(&[0, 0, TYPE_U8, self.dims.len() as u8]);
        for &d in &self.dims {
            out.extend_from_slice(&(d as u32).to_be_bytes());
        }
        out.extend_from_slice(&self.data);
        out
    }
}

/// A gzip decoder's I/O error: the stream is corrupt or truncated.
#[cfg(feature = "std")]
fn gzip_err(e: std::io::Error) -> DataError {
    DataError::Gzip(alloc::string::ToString::to_string(&e))
}

/// Read until `buf` is full or the stream ends; the number of bytes read.
#[cfg(feature = "std")]
fn read_full<R: std::io::Read>(r: &mut R, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}
