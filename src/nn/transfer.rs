//! Moving a model between devices of different backends (CPU -> CUDA and
//! back) with its parameter ids: [`DeviceTransfer::transfer_params_from`].
//! The optimizers' counterpart is their `moved_to` (state keyed by id).

use super::ext::ParamsMismatch;
use super::params::{ParamPath, Params};
use crate::autograd::TensorId;
use crate::backend::Backend;
use crate::dtype::Dtype;
use crate::shape::Dims;
use alloc::string::String;
use alloc::vec::Vec;

/// One parameter of a source model, read to the host: path, id, sizes,
/// values.
pub(crate) type HostParam<E> = (String, TensorId, Dims, Vec<E>);

/// Every parameter and buffer of `src`, in traversal order, on the host.
pub(crate) fn read_params<E: Dtype, D: Backend, M: Params<E, D> + ?Sized>(
    src: &M,
) -> Vec<HostParam<E>> {
    let mut out = Vec::new();
    src.visit_params(&mut ParamPath::default(), &mut |path, p| {
        out.push((path.name(), p.id, p.dims, p.device.download(p.data)));
    });
    out
}

/// Whether `dst` has the parameters of `source`: the same names and sizes
/// in the same order (the first difference otherwise).
pub(crate) fn check_params<E: Dtype, D: Backend, M: Params<E, D> + ?Sized>(
    dst: &M,
    source: &[HostParam<E>],
) -> Result<(), ParamsMismatch> {
    let mut at = 0;
    let mut error = None;
    dst.visit_params(&mut ParamPath::default(), &mut |path, p| {
        if error.is_some() {
            return;
        }
        let name = path.name();
        error = match source.get(at) {
            None => Some(ParamsMismatch::Missing {
                name,
                in_source: false,
            }),
            Some((n, ..)) if *n != name => Some(ParamsMismatch::Names {
                source: n.clone(),
                destination: name,
            }),
            Some((_, _, dims, _)) if *dims != p.dims => Some(ParamsMismatch::Dims {
                name,
                got: dims.to_vec(),
                expected: p.dims.to_vec(),
            }),
            Some(_) => None,
        };
        at += 1;
    });
    if let Some(e) = error {
        return Err(e);
    }
    match source.get(at) {
        Some((name, ..)) => Err(ParamsMismatch::Missing {
            name: name.clone(),
            in_source: true,
        }),
        None => Ok(()),
    }
}

/// Moving a model between devices of any two backends.
pub trait DeviceTransfer<E: Dtype, D: Backend>: Params<E, D> {
    /// Make `self` (the same model, built on this device) **the** model
    /// `src` (on any device, of any backend): every parameter and buffer
    /// takes `src`'s values *and id*, path by path. Gradients and optimizer
    /// state keyed by `src`'s ids then apply to `self` (move an optimizer's
    /// state with its `moved_to`). The parameters are matched by traversal
    /// order and must agree in name and sizes; if any does not, nothing is
    /// changed. This is the way to move a model CPU -> CUDA and back:
    /// build it on the target device, then transfer.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// use typegrad::nn::{DeviceTransfer, Linear};
    /// let a: Linear<u!(3), u!(2)> = Linear::new(&Cpu::seeded(1));
    /// let mut b: Linear<u!(3), u!(2)> = Linear::new(&Cpu::seeded(2)); // another device in general
    /// b.transfer_params_from(&a).unwrap();
    /// assert_eq!(b.weight.id(), a.weight.id());
    /// assert_eq!(b.weight.to_vec(), a.weight.to_vec());
    /// ```
    fn transfer_params_from<D2: Backend, M: Params<E, D2> + ?Sized>(
        &mut self,
        src: &M,
    ) -> Result<(), ParamsMismatch>
    where
        Self: Sized,
    {
        let source = read_params(src);
        check_params(self, &source)?;
        let mut values = source.into_iter();
        self.visit_params_mut(&mut ParamPath::default(), &mut |_, p| {
            if let Some((_, id, _, v)) = values.next() {
                *p.data = p.device.upload(v);
                *p.id_slot = id;
            }
        });
        Ok(())
    }
}

impl<E: Dtype, D: Backend, M: Params<E, D> + ?Sized> DeviceTransfer<E, D> for M {}
