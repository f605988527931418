//! Data loading (L6): the IDX format MNIST ships in, labelled image sets,
//! a seeded shuffled mini-batch iterator and a train/validation split.
//!
//! ```
//! use typegrad::data::{split, Batcher, IdxArray};
//! // An IDX file: magic 00 00 08 01 (u8, rank 1), size 3, then the data.
//! let labels = IdxArray::parse(&[0, 0, 8, 1, 0, 0, 0, 3, 7, 2, 1]).unwrap();
//! assert_eq!(labels.dims(), &[3]);
//! assert_eq!(labels.data(), &[7, 2, 1]);
//!
//! let (train, val) = split(10, 0.2, 42);
//! assert_eq!((train.len(), val.len()), (8, 2));
//! let mut batcher = Batcher::from_indices(train, 3, 7);
//! let seen: usize = batcher.epoch(0).map(|b| b.len()).sum();
//! assert_eq!(seen, 8);
//! ```

mod batch;
mod error;
mod idx;
mod images;
mod tokens;

pub use batch::{split, Batcher, Batches};
pub use error::DataError;
pub use idx::IdxArray;
pub use images::{ImageDataset, Normalize, Split};
pub use tokens::{split_tokens, TokenBatches};
