//! Tokenizers (book 3.2): byte-pair encoding ([`Bpe`]) and a
//! character-level tokenizer ([`CharTokenizer`]), with their save/load
//! formats. No `std` needed (saving to and loading from files does).
//!
//! ```
//! use typegrad::text::{Bpe, CharTokenizer};
//! let corpus = "First Citizen: Before we proceed any further, hear me speak.";
//! let bpe = Bpe::train(corpus, 300);
//! let ids = bpe.encode("Before we proceed");
//! assert_eq!(bpe.decode(&ids).unwrap(), "Before we proceed");
//! let chars = CharTokenizer::from_text(corpus);
//! assert_eq!(chars.decode(&chars.encode("hear me").unwrap()).unwrap(), "hear me");
//! ```

mod bpe;
mod char;
mod error;
mod file;
mod pretokenize;

pub use self::bpe::Bpe;
pub use self::char::CharTokenizer;
pub use self::error::TextError;
