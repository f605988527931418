//! Loading from bytes that live for the whole program (a checkpoint in
//! flash, embedded with [`include_aligned!`](crate::include_aligned)):
//! parameters read their tensors in place, with no copy in RAM.
//!
//! A tensor is read in place when the file's dtype is the model's (`F32`
//! into `f32`, `F64` into `f64`), its data is aligned for that type, the
//! target is little-endian (safetensors data is little-endian) and the
//! parameter's device reads host memory in place
//! ([`Backend::borrows_static`]: the CPU does). Anything else is decoded
//! into a buffer of its own, as [`load_from_bytes`](super::load_from_bytes)
//! does, and reported in [`StaticLoad::copied`]; or, with
//! [`LoadOptions::require_borrow`], the load fails before changing
//! anything. A borrowed parameter is copied on its first write (an
//! optimizer step), never written in place.

use super::{dtype_of, plan_load, Codec, LoadOptions, SafeTensors, SafetensorsError, TensorView};
use crate::backend::Backend;
use crate::dtype::Dtype;
use crate::nn::{ParamKind, ParamPath, Params};
use crate::shape::ConstShape;
use crate::tensor::Tensor;
use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::any::{Any, TypeId};

/// What [`load_static`] did: how many tensors the model now reads in place
/// from the bytes, and which it decoded into buffers of their own, and why.
///
/// ```
/// use typegrad::prelude::*;
/// use typegrad::io::safetensors::{self, StaticLoad};
/// let dev = Cpu::default();
/// let bytes: &'static [u8] = safetensors::to_bytes(&(Tensor::<(u!(2),), f32>::ones(Default::default(), &dev),)).unwrap().leak();
/// let mut model = (Tensor::<(u!(2),), f32>::zeros(Default::default(), &dev),);
/// let report: StaticLoad = safetensors::load_static(&mut model, bytes).unwrap();
/// // A Vec's buffer is aligned for f32 in practice, so the tensor is borrowed:
/// assert_eq!((report.borrowed, report.borrowed_bytes, report.copied.len()), (1, 8, 0));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct StaticLoad {
    /// Tensors read in place.
    pub borrowed: usize,
    /// Their size in bytes: RAM the load did not take.
    pub borrowed_bytes: usize,
    /// Tensors decoded into buffers of their own instead: name and reason.
    pub copied: Vec<(String, String)>,
}

/// `data` as a slice of `E`, in place, or why not.
fn cast<E: Dtype>(data: &'static [u8]) -> Result<&'static [E], String> {
    if cfg!(target_endian = "big") {
        return Err(String::from(
            "the target is big-endian and safetensors data is little-endian",
        ));
    }
    let misaligned = |align: usize| {
        format!(
            "its data starts at address {:#x}, not a multiple of {align} (the alignment of {}): \
             embed the file with `typegrad::include_aligned!`",
            data.as_ptr() as usize,
            E::NAME
        )
    };
    // `try_cast_slice` checks alignment and length; the `Any` downcast
    // turns the concrete `&[f32]` into `&[E]` when `E` is `f32`.
    let any: Option<&'static [E]> = if TypeId::of::<E>() == TypeId::of::<f32>() {
        let s: &'static [f32] =
            bytemuck::try_cast_slice(data).map_err(|_| misaligned(core::mem::align_of::<f32>()))?;
        (&s as &dyn Any).downcast_ref::<&'static [E]>().copied()
    } else if TypeId::of::<E>() == TypeId::of::<f64>() {
        let s: &'static [f64] =
            bytemuck::try_cast_slice(data).map_err(|_| misaligned(core::mem::align_of::<f64>()))?;
        (&s as &dyn Any).downcast_ref::<&'static [E]>().copied()
    } else {
        None
    };
    any.ok_or_else(|| format!("element type {} has no safetensors dtype", E::NAME))
}

impl TensorView<'static> {
    /// The values as `E`, read in place from the file's bytes (no copy):
    /// the dtype must be `E`'s ([`SafetensorsError::DtypeMismatch`]), the
    /// data aligned for `E` and the target little-endian
    /// ([`SafetensorsError::NotBorrowable`] otherwise).
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// use typegrad::io::safetensors::{self, SafeTensors};
    /// let t = Tensor::<(u!(2),), f32>::from_vec_static(vec![0.5, -1.0], &Cpu::default());
    /// let bytes: &'static [u8] = safetensors::to_bytes(&(t,)).unwrap().leak();
    /// let file = SafeTensors::parse(bytes).unwrap();
    /// let view = file.get("0").unwrap();
    /// assert_eq!(view.as_static::<f32>().unwrap(), &[0.5, -1.0]);
    /// assert!(view.as_static::<f64>().is_err());
    /// ```
    pub fn as_static<E: Dtype>(&self) -> Result<&'static [E], SafetensorsError> {
        let want = dtype_of::<E>().ok_or(SafetensorsError::UnsupportedDtype { elem: E::NAME })?;
        if self.dtype != want {
            return Err(SafetensorsError::DtypeMismatch {
                name: self.name.clone(),
                expected: want,
                found: self.dtype,
            });
        }
        cast(self.data).map_err(|reason| SafetensorsError::NotBorrowable {
            name: self.name.clone(),
            reason,
        })
    }
}

impl SafeTensors<'static> {
    /// The tensor `name` as a parameter of shape `S`, reading the file's
    /// bytes in place where it can (as [`load_static`] does; else a copy):
    /// builds a model straight from an embedded checkpoint, with no zero
    /// parameters allocated first. A missing tensor, another dtype or
    /// another shape is the same error [`load_static`] gives.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// use typegrad::io::safetensors::{self, SafeTensors};
    /// use typegrad::nn::Linear;
    /// let dev = Cpu::default();
    /// let saved: Linear<u!(3), u!(2)> = Linear::new(&dev);
    /// let bytes: &'static [u8] = safetensors::to_bytes(&saved).unwrap().leak();
    /// let file = SafeTensors::parse(bytes).unwrap();
    /// let w: Tensor<(u!(2), u!(3)), f32> = file.borrow_tensor("weight", &dev).unwrap();
    /// assert!(w.storage().is_borrowed());
    /// let layer = Linear::from_tensors(w, Some(file.borrow_tensor("bias", &dev).unwrap()));
    /// assert_eq!(layer.weight.to_vec(), saved.weight.to_vec());
    /// let e = file.borrow_tensor::<(u!(3), u!(3)), f32, Cpu>("weight", &dev).unwrap_err();
    /// assert_eq!(e.to_string(), "safetensors: tensor `weight` has shape [2, 3] in the file, the model needs [3, 3]");
    /// ```
    pub fn borrow_tensor<S: ConstShape, E: Dtype, D: Backend>(
        &self,
        name: &str,
        device: &D,
    ) -> Result<Tensor<S, E, D>, SafetensorsError> {
        let shape = S::default();
        let dims = shape.dims();
        let want = dtype_of::<E>().ok_or(SafetensorsError::UnsupportedDtype { elem: E::NAME })?;
        let view = self.get(name).ok_or_else(|| SafetensorsError::Missing {
            name: String::from(name),
            shape: dims.to_vec(),
        })?;
        if view.dtype != want {
            return Err(SafetensorsError::DtypeMismatch {
                name: String::from(name),
                expected: want,
                found: view.dtype,
            });
        }
        if view.shape[..] != dims[..] {
            return Err(SafetensorsError::ShapeMismatch {
                name: String::from(name),
                expected: dims.to_vec(),
                found: view.shape.clone(),
            });
        }
        let data = match cast::<E>(view.data) {
            Ok(s) if device.borrows_static() => device.upload_static(s),
            _ => device.upload(view.to_vec::<E>()?),
        };
        Ok(Tensor::<S, E, D>::from_storage(shape, data, device.clone()))
    }
}

/// Load every parameter of `model` from a safetensors file that lives for
/// the whole program, reading each tensor in place where it can (see the
/// [module](self) for when), with the default [`LoadOptions`]: what cannot
/// be borrowed is copied and named in the [`StaticLoad`] report.
///
/// Otherwise it is [`load_from_bytes`](super::load_from_bytes): strict, all
/// or nothing, the same errors. Embed the file with
/// [`include_aligned!`](crate::include_aligned) (16-byte aligned), not
/// `include_bytes!` (1-byte aligned: its tensors would usually be copied).
///
/// ```
/// use typegrad::prelude::*;
/// use typegrad::io::safetensors;
/// let dev = Cpu::default();
/// let saved = (Tensor::<(u!(2),), f32>::from_vec_static(vec![1.0, 2.0], &dev),);
/// // Stands for `typegrad::include_aligned!("model.safetensors")`:
/// let bytes: &'static [u8] = safetensors::to_bytes(&saved).unwrap().leak();
/// let mut model = (Tensor::<(u!(2),), f32>::zeros(Default::default(), &dev),);
/// safetensors::load_static(&mut model, bytes).unwrap();
/// assert!(model.0.storage().is_borrowed());
/// assert_eq!(model.0.to_vec(), vec![1.0, 2.0]);
/// // Mismatches are the errors `load_from_bytes` gives:
/// let mut wrong = (Tensor::<(u!(3),), f32>::zeros(Default::default(), &dev),);
/// let err = safetensors::load_static(&mut wrong, bytes).unwrap_err();
/// assert_eq!(err.to_string(), "safetensors: tensor `0` has shape [2] in the file, the model needs [3]");
/// ```
pub fn load_static<E: Dtype, D: Backend, M: Params<E, D> + ?Sized>(
    model: &mut M,
    bytes: &'static [u8],
) -> Result<StaticLoad, SafetensorsError> {
    load_static_with(model, bytes, LoadOptions::default())
}

/// [`load_static`] with [`LoadOptions`]: with
/// [`require_borrow`](LoadOptions::require_borrow), a tensor that cannot
/// be read in place is an error (before anything changes) rather than a
/// copy.
///
/// ```
/// use typegrad::prelude::*;
/// use typegrad::io::safetensors::{self, LoadOptions};
/// let dev = Cpu::default();
/// let file = safetensors::to_bytes(&(Tensor::<(u!(2),), f32>::ones(Default::default(), &dev),)).unwrap();
/// // The same file one byte off its alignment:
/// let mut shifted = vec![0u8; file.len() + 1];
/// shifted[1..].copy_from_slice(&file);
/// let shifted: &'static [u8] = &Vec::leak(shifted)[1..];
/// let mut model = (Tensor::<(u!(2),), f32>::zeros(Default::default(), &dev),);
/// let strict = LoadOptions::default().require_borrow(true);
/// let err = safetensors::load_static_with(&mut model, shifted, strict).unwrap_err();
/// assert!(err.to_string().starts_with("safetensors: tensor `0` cannot be read in place: its data starts at address"));
/// assert_eq!(model.0.to_vec(), vec![0.0, 0.0]); // unchanged
/// // Without it, the tensor is copied, and the report says so:
/// let report = safetensors::load_static(&mut model, shifted).unwrap();
/// assert_eq!((report.borrowed, report.copied.len()), (0, 1));
/// assert_eq!(model.0.to_vec(), vec![1.0, 1.0]);
/// ```
pub fn load_static_with<E: Dtype, D: Backend, M: Params<E, D> + ?Sized>(
    model: &mut M,
    bytes: &'static [u8],
    opts: LoadOptions,
) -> Result<StaticLoad, SafetensorsError> {
    let file = SafeTensors::parse(bytes)?;
    let plan = plan_load(model, &file, opts)?;
    // Decide, for every tensor, borrow or copy (and why), before any
    // parameter changes.
    let mut how: BTreeMap<String, (&TensorView<'static>, Codec, Option<&'static [E]>)> =
        BTreeMap::new();
    let mut report = StaticLoad::default();
    for (name, p) in plan {
        let borrowed = if p.kind == ParamKind::Counter {
            Err(String::from("a counter, stored as I64"))
        } else if !matches!(p.codec, Codec::F32 | Codec::F64) {
            Err(format!("converted from {}", p.view.dtype))
        } else if !p.borrows {
            Err(format!("device {} copies host data", p.device))
        } else {
            cast::<E>(p.view.data)
        };
        match borrowed {
            Ok(s) => {
                report.borrowed += 1;
                report.borrowed_bytes += p.view.data.len();
                how.insert(name, (p.view, p.codec, Some(s)));
            }
            Err(reason) if opts.require_borrow && p.kind != ParamKind::Counter => {
                return Err(SafetensorsError::NotBorrowable { name, reason });
            }
            Err(reason) => {
                report.copied.push((name.clone(), reason));
                how.insert(name, (p.view, p.codec, None));
            }
        }
    }
    // Nothing below can fail. A copied tensor's old buffer goes first, as
    // in `load_from_bytes`; a borrowed one needs no buffer at all.
    model.visit_params_mut(&mut ParamPath::default(), &mut |path, p| {
        if let Some((view, codec, borrowed)) = how.remove(&path.name()) {
            *p.data = match borrowed {
                Some(s) => p.device.upload_static(s),
                None => {
                    *p.data = p.device.upload(Vec::new());
                    p.device.upload(codec.decode(view.data))
                }
            };
        }
    });
    Ok(report)
}
