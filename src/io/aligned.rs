//! [`Aligned`] and [`include_aligned!`](crate::include_aligned): embedded
//! files whose bytes start on a 16-byte boundary, so that a checkpoint's
//! `f32`/`f64` data can be read in place
//! ([`load_static`](crate::io::safetensors::load_static)).

/// A value (usually a byte array) placed at an address that is a multiple
/// of 16. `include_bytes!` gives a `&[u8; N]` aligned to 1 byte only, so
/// the `f32` data inside an embedded safetensors file may start anywhere;
/// wrapped in `Aligned`, the file starts 16-aligned, and since the
/// safetensors header is padded to a multiple of 8 bytes (typegrad's and
/// the reference writer do it), every `f32` and `f64` tensor inside is
/// aligned for its type. [`include_aligned!`](crate::include_aligned) does
/// the wrapping for a file.
///
/// ```
/// use typegrad::io::Aligned;
/// static BYTES: Aligned<[u8; 3]> = Aligned([1, 2, 3]);
/// assert_eq!(BYTES.0.as_ptr() as usize % 16, 0);
/// let unsized_view: &Aligned<[u8]> = &BYTES;
/// assert_eq!(unsized_view.0.len(), 3);
/// ```
#[repr(C, align(16))]
#[derive(Debug)]
pub struct Aligned<B: ?Sized>(pub B);

/// `include_bytes!`, 16-byte aligned: a `&'static [u8]` holding the file
/// at `path` (relative to the file that invokes the macro, as
/// `include_bytes!`), starting at a multiple of 16. Use it to embed a
/// checkpoint whose tensors
/// [`load_static`](crate::io::safetensors::load_static) should read in
/// place.
///
/// ```ignore
/// static WEIGHTS: &[u8] = typegrad::include_aligned!("../assets/model.safetensors");
/// ```
///
/// ```
/// // This crate's own README, embedded 16-aligned:
/// static README: &[u8] = typegrad::include_aligned!(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"));
/// assert_eq!(README.as_ptr() as usize % 16, 0);
/// assert_eq!(README, include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")));
/// ```
#[macro_export]
macro_rules! include_aligned {
    ($path:expr $(,)?) => {{
        static ALIGNED: &$crate::io::Aligned<[u8]> = &$crate::io::Aligned(*include_bytes!($path));
        &ALIGNED.0
    }};
}
