//! Labelled image sets (MNIST) and batch gathering into tensors.

use super::{DataError, IdxArray};
use crate::backend::Backend;
use crate::dtype::Dtype;
use crate::shape::{Dim, Dyn};
use crate::tensor::Tensor;
use alloc::vec::Vec;

/// How pixel bytes become floats: first `x / 255`, then optionally
/// `(x - mean) / std`.
///
/// ```
/// use typegrad::data::Normalize;
/// assert_eq!(Normalize::Unit.apply(255), 1.0);
/// let n = Normalize::MeanStd { mean: 0.5, std: 0.25 };
/// assert_eq!(n.apply(0), -2.0);
/// ```
#[derive(Copy, Clone, Debug, PartialEq)]
pub enum Normalize {
    /// `x / 255`, in `[0, 1]`.
    Unit,
    /// `(x / 255 - mean) / std`.
    MeanStd {
        /// Mean of the `[0, 1]` pixel values.
        mean: f64,
        /// Their standard deviation.
        std: f64,
    },
}

impl Normalize {
    /// MNIST's training-set pixel mean and standard deviation (as in
    /// torchvision's examples): 0.1307 and 0.3081.
    pub const MNIST: Normalize = Normalize::MeanStd {
        mean: 0.1307,
        std: 0.3081,
    };

    /// The float for one pixel byte.
    pub fn apply(self, x: u8) -> f64 {
        let u = x as f64 / 255.0;
        match self {
            Normalize::Unit => u,
            Normalize::MeanStd { mean, std } => (u - mean) / std,
        }
    }
}

/// Which MNIST file pair to load.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Split {
    /// The 60,000 training images (`train-*`).
    Train,
    /// The 10,000 test images (`t10k-*`).
    Test,
}

/// Labelled images: `N` images of `rows x cols` `u8` pixels and `N` labels.
///
/// ```
/// use typegrad::prelude::*;
/// use typegrad::data::{IdxArray, ImageDataset, Normalize};
/// let images = IdxArray::new(vec![2, 1, 2], vec![0, 255, 51, 102]).unwrap();
/// let labels = IdxArray::new(vec![2], vec![1, 0]).unwrap();
/// let set = ImageDataset::from_idx(images, labels).unwrap();
/// let (x, y): (Tensor<(Dyn, u!(2)), f32>, _) = set.batch(&[1, 0], Normalize::Unit, &Cpu::default()).unwrap();
/// assert_eq!(x.to_vec(), vec![0.2, 0.4, 0.0, 1.0]);
/// assert_eq!(y.to_vec(), vec![0, 1]);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageDataset {
    pixels: Vec<u8>,
    labels: Vec<u8>,
    rows: usize,
    cols: usize,
    classes: usize,
}

impl ImageDataset {
    /// Pair an image array `(N, rows, cols)` with a label array `(N,)`.
    /// The number of classes is the largest label plus one.
    pub fn from_idx(images: IdxArray, labels: IdxArray) -> Result<Self, DataError> {
        if images.dims().len() != 3 {
            return Err(DataError::WrongRank {
                what: "images",
                expected: 3,
                dims: images.dims().to_vec(),
            });
        }
        if labels.dims().len() != 1 {
            return Err(DataError::WrongRank {
                what: "labels",
                expected: 1,
                dims: labels.dims().to_vec(),
            });
        }
        let (idims, pixels) = images.into_parts();
        let (_, labels) = labels.into_parts();
        if idims[0] != labels.len() {
            return Err(DataError::CountMismatch {
                images: idims[0],
                labels: labels.len(),
            });
        }
        let classes = labels.iter().map(|&l| l as usize + 1).max().unwrap_or(0);
        Ok(ImageDataset {
            pixels,
            labels,
            rows: idims[1],
            cols: idims[2],
            classes,
        })
    }

    /// Load an image file and a label file (IDX, gzip or not).
    #[cfg(feature = "std")]
    pub fn open(
        images: impl AsRef<std::path::Path>,
        labels: impl AsRef<std::path::Path>,
    ) -> Result<Self, DataError> {
        Self::from_idx(IdxArray::open(images)?, IdxArray::open(labels)?)
    }

    /// Load MNIST from a folder holding the IDX files under their usual names
    /// (`train-images-idx3-ubyte`, `t10k-labels-idx1-ubyte`, ..., each
    /// optionally with a `mnist-` prefix and a `.gz` suffix). Checks the
    /// images are 28x28 and the labels below 10.
    ///
    /// ```
    /// use typegrad::data::{ImageDataset, Split};
    /// let test = ImageDataset::mnist("data/mnist", Split::Test).unwrap();
    /// assert_eq!((test.len(), test.rows(), test.cols(), test.classes()), (10000, 28, 28, 10));
    /// ```
    #[cfg(feature = "std")]
    pub fn mnist(dir: impl AsRef<std::path::Path>, split: Split) -> Result<Self, DataError> {
        let dir = dir.as_ref();
        let prefix = match split {
            Split::Train => "train",
            Split::Test => "t10k",
        };
        let find = |kind: &str| -> Result<std::path::PathBuf, DataError> {
            let mut tried = Vec::new();
            for pre in ["mnist-", ""] {
                for suf in [".gz", ""] {
                    let p = dir.join(format!("{pre}{prefix}-{kind}-ubyte{suf}"));
                    if p.is_file() {
                        return Ok(p);
                    }
                    tried.push(p.display().to_string());
                }
            }
            Err(DataError::NotFound { tried })
        };
        let set = Self::open(find("images-idx3")?, find("labels-idx1")?)?;
        if (set.rows, set.cols) != (28, 28) {
            return Err(DataError::WidthMismatch {
                image_len: set.image_len(),
                width: 784,
            });
        }
        if let Some(index) = set.labels.iter().position(|&l| l >= 10) {
            return Err(DataError::LabelOutOfRange {
                index,
                label: set.labels[index],
                classes: 10,
            });
        }
        Ok(ImageDataset { classes: 10, ..set })
    }

    /// Number of examples.
    pub fn len(&self) -> usize {
        self.labels.len()
    }
    /// Whether there are no examples.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
    /// Image height.
    pub fn rows(&self) -> usize {
        self.rows
    }
    /// Image width.
    pub fn cols(&self) -> usize {
        self.cols
    }
    /// Pixels per image (`rows * cols`).
    pub fn image_len(&self) -> usize {
        self.rows * self.cols
    }
    /// Number of classes (largest label plus one; 10 for MNIST).
    pub fn classes(&self) -> usize {
        self.classes
    }
    /// The pixels of example `i`, row-major (panics if out of range).
    pub fn image(&self, i: usize) -> &[u8] {
        &self.pixels[i * self.image_len()..(i + 1) * self.image_len()]
    }
    /// All labels.
    pub fn labels(&self) -> &[u8] {
        &self.labels
    }

    /// Gather the examples `idx` into a `(batch, W)` float tensor of
    /// normalised pixels (each image flattened row-major) and a `(batch,)`
    /// tensor of labels. `W` is a static width (`u!(784)`) or [`Dyn`]; it
    /// must equal `rows * cols`.
    pub fn batch<W: Dim, E: Dtype, D: Backend>(
        &self,
        idx: &[usize],
        norm: Normalize,
        device: &D,
    ) -> Result<(Tensor<(Dyn, W), E, D>, Tensor<(Dyn,), usize, D>), DataError> {
        let len = self.image_len();
        let w = W::from_size(len).ok_or(DataError::WidthMismatch {
            image_len: len,
            width: W::STATIC_SIZE.unwrap_or(len),
        })?;
        if let Some(&index) = idx.iter().find(|&&i| i >= self.len()) {
            return Err(DataError::IndexOutOfRange {
                index,
                len: self.len(),
            });
        }
        let lut: Vec<E> = (0..=255u8).map(|b| E::from_f64(norm.apply(b))).collect();
        let mut x = Vec::with_capacity(idx.len() * len);
        for &i in idx {
            x.extend(self.image(i).iter().map(|&b| lut[b as usize]));
        }
        let y: Vec<usize> = idx.iter().map(|&i| self.labels[i] as usize).collect();
        let b = Dyn(idx.len());
        Ok((
            Tensor::from_vec((b, w), x, device),
            Tensor::from_vec((b,), y, device),
        ))
    }
}
