//! Parameter traversal: every parameter tensor of a model, with its
//! PyTorch-style path name (`blocks.0.fc.weight`).
//!
//! `#[derive(Module)]` implements [`Params`] for a model struct by visiting
//! its fields in order; tensors, `Vec`s, arrays, tuples and `Option`s of
//! modules implement it here. Optimizers, gradient zeroing, initialisation,
//! parameter counting and safetensors save/load are all built on
//! [`Params::visit_params`] / [`Params::visit_params_mut`].
//!
//! ```
//! use typegrad::prelude::*; // Module (trait and derive), Params, ModuleExt
//!
//! #[derive(Module)]
//! struct Block {
//!     fc: Tensor<(u!(4), u!(4)), f32>,
//!     #[module(rename = "ln")] // the name a PyTorch checkpoint uses
//!     norm: Tensor<(u!(4),), f32>,
//! }
//!
//! #[derive(Module)]
//! struct Model {
//!     blocks: Vec<Block>,
//!     head: (Tensor<(u!(4), u!(2)), f32>, Option<Tensor<(u!(2),), f32>>),
//!     #[module(skip)] // not a module: not visited
//!     depth: usize,
//! }
//!
//! let dev = Cpu::default();
//! let block = || Block { fc: Tensor::zeros(Default::default(), &dev), norm: Tensor::ones(Default::default(), &dev) };
//! let model = Model {
//!     blocks: vec![block(), block()],
//!     head: (Tensor::zeros(Default::default(), &dev), None),
//!     depth: 2,
//! };
//! let names: Vec<String> = model.param_names().into_iter().map(|(n, _)| n).collect();
//! assert_eq!(names, ["blocks.0.fc", "blocks.0.ln", "blocks.1.fc", "blocks.1.ln", "head.0"]);
//! assert_eq!(model.num_params(), 2 * (16 + 4) + 8);
//! ```
//!
//! A field that is not a module and not marked is a compile error that
//! points at the field:
//!
//! ```compile_fail
//! use typegrad::prelude::*;
//! #[derive(Module)]
//! struct Model {
//!     w: Tensor<(u!(3),), f32>,
//!     hidden: usize, // error: field `hidden` of `Model` has type `usize`, which holds no parameters: mark it #[module(skip)]
//! }
//! ```
//!
//! So is giving two fields the same path name:
//!
//! ```compile_fail
//! use typegrad::prelude::*;
//! #[derive(Module)]
//! struct Model {
//!     #[module(rename = "fc")]
//!     a: Tensor<(u!(3),), f32>,
//!     fc: Tensor<(u!(3),), f32>, // error: field `a` and field `fc` of `Model` would both be named `fc` ...
//! }
//! ```

use crate::autograd::TensorId;
use crate::backend::Backend;
use crate::dtype::Dtype;
use crate::shape::{Dims, Shape};
use crate::tensor::Tensor;
use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use core::marker::PhantomData;

/// The dotted path of a parameter while a model is traversed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ParamPath {
    parts: Vec<String>,
}

impl ParamPath {
    /// Enter a field (or index) named `name`.
    pub fn push(&mut self, name: &str) {
        self.parts.push(String::from(name));
    }
    /// Leave the innermost field.
    pub fn pop(&mut self) {
        self.parts.pop();
    }
    /// The dotted name, e.g. `"blocks.0.fc.weight"`.
    pub fn name(&self) -> String {
        self.parts.join(".")
    }
}

/// Whether a visited tensor is trained by optimizers (a parameter) or is
/// state that travels with the model without a gradient (a buffer, such as
/// a running mean, updated through [`crate::autograd::StatUpdate`]s).
/// Checkpoints hold both; optimizers and parameter counts take parameters
/// only, as PyTorch's `parameters()` and `buffers()`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ParamKind {
    /// Trained from its gradient.
    Param,
    /// Not trained; saved and loaded with the model.
    Buffer,
    /// A buffer holding a whole count (BatchNorm's `num_batches_tracked`):
    /// not trained, kept as `E` in memory (exact up to 2²⁴ in `f32`), and
    /// stored in checkpoints as an `I64`, PyTorch's dtype for it, so a
    /// PyTorch `state_dict` loads and a saved file loads back into PyTorch
    /// with `strict=True`. See [`Buffer::counter`](crate::nn::Buffer::counter).
    Counter,
}

impl ParamKind {
    /// `true` for [`ParamKind::Buffer`] and [`ParamKind::Counter`]: state
    /// that is saved but not trained.
    ///
    /// ```
    /// use typegrad::nn::ParamKind;
    /// assert!(ParamKind::Counter.is_buffer() && !ParamKind::Param.is_buffer());
    /// ```
    pub fn is_buffer(self) -> bool {
        !matches!(self, ParamKind::Param)
    }
}

/// Read access to one parameter during a traversal.
pub struct ParamRef<'a, E: Dtype, D: Backend> {
    /// The id its gradients are keyed by.
    pub id: TensorId,
    /// Parameter or buffer.
    pub kind: ParamKind,
    /// Its runtime sizes.
    pub dims: Dims,
    /// Its buffer.
    pub data: &'a D::Storage<E>,
    /// Its device.
    pub device: &'a D,
}

/// Write access to one parameter during a traversal. Replacing `data` keeps
/// the parameter's id, so gradients computed before still apply to it.
pub struct ParamMut<'a, E: Dtype, D: Backend> {
    /// The id its gradients are keyed by.
    pub id: TensorId,
    /// Parameter or buffer.
    pub kind: ParamKind,
    /// Its runtime sizes (fixed by the type: only the values change).
    pub dims: Dims,
    /// Its buffer; assign a new buffer of the same length to update it.
    pub data: &'a mut D::Storage<E>,
    /// Its device.
    pub device: &'a D,
    /// Where the tensor keeps its id (see [`ParamMut::renew_id`]).
    pub(crate) id_slot: &'a mut TensorId,
}

impl<E: Dtype, D: Backend> ParamMut<'_, E, D> {
    /// Give the tensor a fresh id: from now on it is a parameter of its own,
    /// not the one it was copied from (gradients and optimizer state keyed
    /// by the old id no longer apply to it).
    pub fn renew_id(&mut self) {
        let id = TensorId::new();
        *self.id_slot = id;
        self.id = id;
    }
}

/// Something holding parameters of dtype `E` on device `D`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` holds no parameters typegrad knows about",
    label = "not a module",
    note = "fields of a #[derive(Module)] struct must be modules or tensors; mark other fields #[module(skip)]"
)]
pub trait Params<E: Dtype, D: Backend> {
    /// Visit every parameter in a fixed order with its path.
    fn visit_params(&self, path: &mut ParamPath, f: &mut dyn FnMut(&ParamPath, ParamRef<'_, E, D>));
    /// Visit every parameter mutably in the same order.
    fn visit_params_mut(
        &mut self,
        path: &mut ParamPath,
        f: &mut dyn FnMut(&ParamPath, ParamMut<'_, E, D>),
    );

    /// Move every parameter onto `device` (an instance of the same backend
    /// type: another seed, another GPU), in place: the values are copied there
    /// and each tensor's device handle is replaced. **Ids are kept**, so
    /// gradients and optimizer state keyed by id still refer to the moved
    /// parameters (as PyTorch's in-place `module.to(device)`).
    ///
    /// Provided for tensors, containers, tuples and every
    /// `#[derive(Module)]` struct. The default (for hand-written impls)
    /// moves the values through [`visit_params_mut`](Params::visit_params_mut)
    /// but cannot replace the tensors' device handles: a hand-written impl
    /// holding tensors should forward this method to them, as it forwards
    /// `visit_params_mut`.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// use typegrad::nn::Params;
    /// let mut w: Tensor<(u!(2),), f32> = Tensor::ones(Default::default(), &Cpu::seeded(1));
    /// let id = w.id();
    /// w.move_to_device(&Cpu::seeded(7));
    /// assert_eq!((w.id(), w.to_vec()), (id, vec![1.0, 1.0]));
    /// ```
    fn move_to_device(&mut self, device: &D) {
        self.visit_params_mut(&mut ParamPath::default(), &mut |_, p| {
            *p.data = device.upload(p.device.download(p.data));
        });
    }

    /// Number of scalar parameters.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// use typegrad::nn::Params;
    /// let w: Tensor<(u!(3), u!(4)), f32> = Tensor::zeros(Default::default(), &Cpu::default());
    /// let b: Tensor<(u!(4),), f32> = Tensor::zeros(Default::default(), &Cpu::default());
    /// assert_eq!((w, b).num_params(), 16);
    /// ```
    fn num_params(&self) -> usize {
        let mut n = 0;
        self.visit_params(&mut ParamPath::default(), &mut |_, p| {
            if p.kind == ParamKind::Param {
                n += p.dims.numel()
            }
        });
        n
    }

    /// `(name, dims)` of every parameter (buffers excluded), in traversal
    /// order.
    fn param_names(&self) -> Vec<(String, Dims)> {
        let mut out = Vec::new();
        self.visit_params(&mut ParamPath::default(), &mut |path, p| {
            if p.kind == ParamKind::Param {
                out.push((path.name(), p.dims))
            }
        });
        out
    }

    /// `(name, dims)` of every buffer (running statistics), in traversal
    /// order.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// use typegrad::nn::{Buffer, Params};
    /// let dev = Cpu::default();
    /// let m: (Tensor<(u!(2),), f32>, Buffer<(u!(2),), f32>) =
    ///     (Tensor::ones(Default::default(), &dev), Buffer::new(Tensor::zeros(Default::default(), &dev)));
    /// assert_eq!(m.buffer_names().len(), 1);
    /// assert_eq!(m.num_params(), 2); // buffers are not parameters
    /// ```
    fn buffer_names(&self) -> Vec<(String, Dims)> {
        let mut out = Vec::new();
        self.visit_params(&mut ParamPath::default(), &mut |path, p| {
            if p.kind.is_buffer() {
                out.push((path.name(), p.dims))
            }
        });
        out
    }
}

impl<S: Shape, E: Dtype, D: Backend> Tensor<S, E, D> {
    /// Visit this tensor as a parameter or a buffer.
    pub(crate) fn visit_as(
        &self,
        kind: ParamKind,
        path: &mut ParamPath,
        f: &mut dyn FnMut(&ParamPath, ParamRef<'_, E, D>),
    ) {
        let p = ParamRef {
            id: self.id,
            kind,
            dims: self.shape.dims(),
            data: &self.data,
            device: &self.device,
        };
        f(path, p);
    }
    /// Visit this tensor mutably as a parameter or a buffer.
    pub(crate) fn visit_as_mut(
        &mut self,
        kind: ParamKind,
        path: &mut ParamPath,
        f: &mut dyn FnMut(&ParamPath, ParamMut<'_, E, D>),
    ) {
        let p = ParamMut {
            id: self.id,
            kind,
            dims: self.shape.dims(),
            data: &mut self.data,
            device: &self.device,
            id_slot: &mut self.id,
        };
        f(path, p);
    }
}

impl<S: Shape, E: Dtype, D: Backend> Params<E, D> for Tensor<S, E, D> {
    fn visit_params(
        &self,
        path: &mut ParamPath,
        f: &mut dyn FnMut(&ParamPath, ParamRef<'_, E, D>),
    ) {
        self.visit_as(ParamKind::Param, path, f)
    }
    fn visit_params_mut(
        &mut self,
        path: &mut ParamPath,
        f: &mut dyn FnMut(&ParamPath, ParamMut<'_, E, D>),
    ) {
        self.visit_as_mut(ParamKind::Param, path, f)
    }
    fn move_to_device(&mut self, device: &D) {
        self.data = device.upload(self.device.download(&self.data));
        self.device = device.clone();
    }
}

impl<E: Dtype, D: Backend, T: Params<E, D>> Params<E, D> for Vec<T> {
    fn visit_params(
        &self,
        path: &mut ParamPath,
        f: &mut dyn FnMut(&ParamPath, ParamRef<'_, E, D>),
    ) {
        self.as_slice().visit_params(path, f)
    }
    fn visit_params_mut(
        &mut self,
        path: &mut ParamPath,
        f: &mut dyn FnMut(&ParamPath, ParamMut<'_, E, D>),
    ) {
        self.as_mut_slice().visit_params_mut(path, f)
    }
    fn move_to_device(&mut self, device: &D) {
        self.as_mut_slice().move_to_device(device)
    }
}

impl<E: Dtype, D: Backend, T: Params<E, D>, const N: usize> Params<E, D> for [T; N] {
    fn visit_params(
        &self,
        path: &mut ParamPath,
        f: &mut dyn FnMut(&ParamPath, ParamRef<'_, E, D>),
    ) {
        self.as_slice().visit_params(path, f)
    }
    fn visit_params_mut(
        &mut self,
        path: &mut ParamPath,
        f: &mut dyn FnMut(&ParamPath, ParamMut<'_, E, D>),
    ) {
        self.as_mut_slice().visit_params_mut(path, f)
    }
    fn move_to_device(&mut self, device: &D) {
        self.as_mut_slice().move_to_device(device)
    }
}

impl<E: Dtype, D: Backend, T: Params<E, D>> Params<E, D> for [T] {
    fn visit_params(
        &self,
        path: &mut ParamPath,
        f: &mut dyn FnMut(&ParamPath, ParamRef<'_, E, D>),
    ) {
        for (i, m) in self.iter().enumerate() {
            path.push(&alloc::format!("{i}"));
            m.visit_params(path, f);
            path.pop();
        }
    }
    fn visit_params_mut(
        &mut self,
        path: &mut ParamPath,
        f: &mut dyn FnMut(&ParamPath, ParamMut<'_, E, D>),
    ) {
        for (i, m) in self.iter_mut().enumerate() {
            path.push(&alloc::format!("{i}"));
            m.visit_params_mut(path, f);
            path.pop();
        }
    }
    fn move_to_device(&mut self, device: &D) {
        for m in self.iter_mut() {
            m.move_to_device(device);
        }
    }
}

impl<E: Dtype, D: Backend, T: Params<E, D>> Params<E, D> for Option<T> {
    fn visit_params(
        &self,
        path: &mut ParamPath,
        f: &mut dyn FnMut(&ParamPath, ParamRef<'_, E, D>),
    ) {
        if let Some(m) = self {
            m.visit_params(path, f)
        }
    }
    fn visit_params_mut(
        &mut self,
        path: &mut ParamPath,
        f: &mut dyn FnMut(&ParamPath, ParamMut<'_, E, D>),
    ) {
        if let Some(m) = self {
            m.visit_params_mut(path, f)
        }
    }
    fn move_to_device(&mut self, device: &D) {
        if let Some(m) = self {
            m.move_to_device(device)
        }
    }
}

/// A boxed module is visited as the module itself (no path component).
impl<E: Dtype, D: Backend, T: Params<E, D> + ?Sized> Params<E, D> for Box<T> {
    fn visit_params(
        &self,
        path: &mut ParamPath,
        f: &mut dyn FnMut(&ParamPath, ParamRef<'_, E, D>),
    ) {
        (**self).visit_params(path, f)
    }
    fn visit_params_mut(
        &mut self,
        path: &mut ParamPath,
        f: &mut dyn FnMut(&ParamPath, ParamMut<'_, E, D>),
    ) {
        (**self).visit_params_mut(path, f)
    }
    fn move_to_device(&mut self, device: &D) {
        (**self).move_to_device(device)
    }
}

/// Type markers hold no parameters, so model structs can carry
/// `PhantomData` without `#[module(skip)]`.
impl<E: Dtype, D: Backend, T: ?Sized> Params<E, D> for PhantomData<T> {
    fn visit_params(&self, _: &mut ParamPath, _: &mut dyn FnMut(&ParamPath, ParamRef<'_, E, D>)) {}
    fn visit_params_mut(
        &mut self,
        _: &mut ParamPath,
        _: &mut dyn FnMut(&ParamPath, ParamMut<'_, E, D>),
    ) {
    }
    fn move_to_device(&mut self, _: &D) {}
}

macro_rules! tuple_params {
    ($($M:ident $i:tt),+) => {
        /// Tuple elements are named by index, as in `nn.Sequential`.
        impl<E: Dtype, D: Backend, $($M: Params<E, D>),+> Params<E, D> for ($($M,)+) {
            fn visit_params(&self, path: &mut ParamPath, f: &mut dyn FnMut(&ParamPath, ParamRef<'_, E, D>)) {
                $(
                    path.push(stringify!($i));
                    self.$i.visit_params(path, f);
                    path.pop();
                )+
            }
            fn visit_params_mut(&mut self, path: &mut ParamPath, f: &mut dyn FnMut(&ParamPath, ParamMut<'_, E, D>)) {
                $(
                    path.push(stringify!($i));
                    self.$i.visit_params_mut(path, f);
                    path.pop();
                )+
            }
            fn move_to_device(&mut self, device: &D) {
                $( self.$i.move_to_device(device); )+
            }
        }
    };
}
tuple_params!(M0 0);
tuple_params!(M0 0, M1 1);
tuple_params!(M0 0, M1 1, M2 2);
tuple_params!(M0 0, M1 1, M2 2, M3 3);
tuple_params!(M0 0, M1 1, M2 2, M3 3, M4 4);
tuple_params!(M0 0, M1 1, M2 2, M3 3, M4 4, M5 5);
tuple_params!(M0 0, M1 1, M2 2, M3 3, M4 4, M5 5, M6 6);
tuple_params!(M0 0, M1 1, M2 2, M3 3, M4 4, M5 5, M6 6, M7 7);
tuple_params!(M0 0, M1 1, M2 2, M3 3, M4 4, M5 5, M6 6, M7 7, M8 8);
tuple_params!(M0 0, M1 1, M2 2, M3 3, M4 4, M5 5, M6 6, M7 7, M8 8, M9 9);
tuple_params!(M0 0, M1 1, M2 2, M3 3, M4 4, M5 5, M6 6, M7 7, M8 8, M9 9, M10 10);
tuple_params!(M0 0, M1 1, M2 2, M3 3, M4 4, M5 5, M6 6, M7 7, M8 8, M9 9, M10 10, M11 11);
tuple_params!(M0 0, M1 1, M2 2, M3 3, M4 4, M5 5, M6 6, M7 7, M8 8, M9 9, M10 10, M11 11, M12 12);
tuple_params!(M0 0, M1 1, M2 2, M3 3, M4 4, M5 5, M6 6, M7 7, M8 8, M9 9, M10 10, M11 11, M12 12, M13 13);
tuple_params!(M0 0, M1 1, M2 2, M3 3, M4 4, M5 5, M6 6, M7 7, M8 8, M9 9, M10 10, M11 11, M12 12, M13 13, M14 14);
tuple_params!(M0 0, M1 1, M2 2, M3 3, M4 4, M5 5, M6 6, M7 7, M8 8, M9 9, M10 10, M11 11, M12 12, M13 13, M14 14, M15 15);
