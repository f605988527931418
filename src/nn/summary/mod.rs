//! A model summary computed from the types, without running the network:
//! one row per layer with its path name, output shape and parameter count.
//!
//! [`Summary`] maps an input *shape value* to the output shape, the way
//! `forward` maps a tensor: the output shape **type** is the one `forward`
//! would give (static dims are fixed by it; `Dyn` dims are computed from
//! the input's sizes by the layer's own rule), and each layer pushes a row
//! to a [`SummaryRows`]. Nothing is allocated on a device and no kernel
//! runs, so ResNet-50 at 224×224 is summarised in microseconds.
//!
//! Implemented for [`Linear`](super::Linear), activations, dropout,
//! [`Flatten`](super::Flatten), the skip connections, tuples (names `0`,
//! `1`, …), `Vec`s and arrays of blocks, `Box`, and by `#[derive(Module)]`
//! for `#[module(sequential)]` structs (a row per field, under the field's
//! name). A struct with a hand-written `forward` either
//!
//! - says `#[module(summary_row)]`: one row for the whole struct, its
//!   output shape from its `Module` output type (which must then be static:
//!   summarise with a static input such as `dims!(1, 3, 224, 224)`; a `Dyn`
//!   dim is an error, never a guess), or
//! - implements [`Summary`] by hand, listing its children in the order it
//!   runs them with [`SummaryRows::child`].
//!
//! ```
//! use typegrad::prelude::*;
//! use typegrad::nn::{summary_table, Linear, ReLU};
//!
//! #[derive(Module)]
//! #[module(sequential)]
//! struct Mlp {
//!     fc1: Linear<u!(784), u!(128)>,
//!     act: ReLU,
//!     fc2: Linear<u!(128), u!(10)>,
//! }
//! let dev = Cpu::default();
//! let mlp = Mlp { fc1: Linear::new(&dev), act: ReLU, fc2: Linear::new(&dev) };
//! let table = summary_table(&mlp, dims!(Dyn(32), 784));
//! assert_eq!(
//!     table,
//!     "\
//! Layer  Output shape  Param #
//! ============================
//! fc1    [32, 128]     100,480
//! act    [32, 128]           0
//! fc2    [32, 10]        1,290
//! ============================
//! Input shape: [32, 784]
//! Output shape: [32, 10]
//! Total params: 101,770
//! "
//! );
//! ```

mod impls;

use super::Params;
use crate::backend::Backend;
use crate::dtype::Dtype;
use crate::shape::{Dims, Error, Shape};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

// For layers in other files (conv, pooling, normalisation): one line each.
#[allow(unused_imports)]
pub(crate) use impls::summary_keeps_shape;

/// A module whose output shape for an input of shape `S` (dtype `E`,
/// device `D`) can be computed without running it. `Output` is the shape
/// of the tensor `forward` gives.
///
/// A layer pushes one row ([`SummaryRows::row`]); a container calls
/// [`SummaryRows::child`] for each child in the order its `forward` runs
/// them. A hand-written model that lists its children:
///
/// ```
/// use typegrad::prelude::*;
/// use typegrad::nn::{summary, Linear, ReLU, Summary, SummaryRows};
///
/// /// `fc2(relu(fc1(x))) + fc1(x)`: not sequential.
/// #[derive(Module)]
/// struct Skip {
///     fc1: Linear<u!(4), u!(8)>,
///     fc2: Linear<u!(8), u!(8)>,
/// }
/// impl<S: Shape> Summary<S, f32, Cpu> for Skip
/// where
///     Linear<u!(4), u!(8)>: Summary<S, f32, Cpu>,
///     Linear<u!(8), u!(8)>: Summary<<Linear<u!(4), u!(8)> as Summary<S, f32, Cpu>>::Output, f32, Cpu>,
/// {
///     type Output = <Linear<u!(8), u!(8)> as Summary<
///         <Linear<u!(4), u!(8)> as Summary<S, f32, Cpu>>::Output, f32, Cpu>>::Output;
///     fn summarize(&self, x: S, rows: &mut SummaryRows) -> Result<Self::Output, Error> {
///         let h = rows.child("fc1", &self.fc1, x)?;
///         rows.child("fc2", &self.fc2, h)
///     }
/// }
/// let dev = Cpu::default();
/// let m = Skip { fc1: Linear::new(&dev), fc2: Linear::new(&dev) };
/// let s = summary(&m, dims!(2, 4)).unwrap();
/// assert_eq!(s.rows[1].name, "fc2");
/// assert_eq!(&*s.output, &[2, 8]);
/// assert_eq!(s.total_params, 40 + 72);
/// ```
pub trait Summary<S, E: Dtype, D: Backend> {
    /// The output shape (that of the tensor `forward` gives).
    type Output: Shape;
    /// The output shape for an input of shape `input`, pushing this
    /// module's rows. `Dyn` sizes that do not fit are an [`Error`], as
    /// `forward` would panic on them.
    fn summarize(&self, input: S, rows: &mut SummaryRows) -> Result<Self::Output, Error>;
}

/// One row of a [`ModelSummary`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SummaryRow {
    /// The layer's path, as in parameter names (`layer1.0.conv1`); empty
    /// for a model that is itself one layer.
    pub name: String,
    /// The layer's output sizes.
    pub output: Dims,
    /// Its number of parameters (buffers excluded).
    pub params: usize,
}

/// The rows pushed while a model is summarised, and the current path.
#[derive(Clone, Debug, Default)]
pub struct SummaryRows {
    path: Vec<String>,
    rows: Vec<SummaryRow>,
}

impl SummaryRows {
    /// Push a row for the module being summarised (named by the current
    /// path) with `params` parameters and output shape `output`, which is
    /// returned.
    pub fn row<S: Shape>(&mut self, params: usize, output: S) -> S {
        self.rows.push(SummaryRow {
            name: self.path.join("."),
            output: output.dims(),
            params,
        });
        output
    }

    /// Push a row whose output shape is built from runtime sizes (a layer
    /// whose output has `Dyn` dims computed by its own rule); a size that
    /// its static dim does not take is an [`Error::StaticDim`].
    pub fn row_from_dims<S: Shape>(&mut self, params: usize, dims: &[usize]) -> Result<S, Error> {
        Ok(self.row(params, S::try_from_dims(dims)?))
    }

    /// Push a row whose output shape is all static, its value read from its
    /// type (a `#[module(summary_row)]` struct). A `Dyn` dim cannot be known
    /// from the type: it is an [`Error::Invalid`] saying so, never a guess.
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// use typegrad::nn::SummaryRows;
    /// let mut rows = SummaryRows::default();
    /// let s: (u!(2), u!(3)) = rows.row_static(7).unwrap();
    /// assert_eq!((&*rows.rows()[0].output, rows.rows()[0].params), (&[2, 3][..], 7));
    /// assert!(rows.row_static::<(Dyn, u!(3))>(7).is_err());
    /// # let _ = s;
    /// ```
    pub fn row_static<S: Shape>(&mut self, params: usize) -> Result<S, Error> {
        Ok(self.row(params, static_value::<S>()?))
    }

    /// Summarise `module` on `input` under the path segment `name` (a field
    /// name, an index).
    pub fn child<M: Summary<S, E, D>, S, E: Dtype, D: Backend>(
        &mut self,
        name: &str,
        module: &M,
        input: S,
    ) -> Result<M::Output, Error> {
        self.path.push(String::from(name));
        let out = module.summarize(input, self);
        self.path.pop();
        out
    }

    /// The rows pushed so far.
    pub fn rows(&self) -> &[SummaryRow] {
        &self.rows
    }
}

/// A model's summary: its rows, input and output sizes and parameter count.
/// `Display` prints the table of [`summary_table`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelSummary {
    /// One row per layer, in the order `forward` runs them.
    pub rows: Vec<SummaryRow>,
    /// The input sizes.
    pub input: Dims,
    /// The output sizes.
    pub output: Dims,
    /// The model's parameter count ([`Params::num_params`]).
    pub total_params: usize,
}

/// `1234567` as `"1,234,567"`.
fn thousands(n: usize) -> String {
    let digits = format!("{n}");
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

impl fmt::Display for ModelSummary {
    /// Columns aligned (names left, counts right), two spaces apart, no
    /// trailing spaces.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let head = ["Layer", "Output shape", "Param #"];
        let cells: Vec<[String; 3]> = self
            .rows
            .iter()
            .map(|r| {
                let name = if r.name.is_empty() {
                    String::from("(model)")
                } else {
                    r.name.clone()
                };
                [name, format!("{:?}", &*r.output), thousands(r.params)]
            })
            .collect();
        let mut w = head.map(str::len);
        for c in &cells {
            for (wi, ci) in w.iter_mut().zip(c) {
                *wi = (*wi).max(ci.chars().count());
            }
        }
        let line = |f: &mut fmt::Formatter<'_>, c: [&str; 3]| {
            writeln!(
                f,
                "{:<w0$}  {:<w1$}  {:>w2$}",
                c[0],
                c[1],
                c[2],
                w0 = w[0],
                w1 = w[1],
                w2 = w[2]
            )
        };
        let rule = "=".repeat(w[0] + w[1] + w[2] + 4);
        line(f, head)?;
        writeln!(f, "{rule}")?;
        for c in &cells {
            line(f, [&c[0], &c[1], &c[2]])?;
        }
        writeln!(f, "{rule}")?;
        writeln!(f, "Input shape: {:?}", &*self.input)?;
        writeln!(f, "Output shape: {:?}", &*self.output)?;
        writeln!(f, "Total params: {}", thousands(self.total_params))
    }
}

/// The summary of `model` on an input of shape `input`, computed from the
/// types without running it; an [`Error`] where a `Dyn` size does not fit
/// (as `forward` would panic).
///
/// ```
/// use typegrad::prelude::*;
/// use typegrad::nn::{summary, Flatten, Linear};
/// let dev = Cpu::default();
/// let model = (Flatten, Linear::<u!(12), u!(2)>::new(&dev));
/// let s = summary(&model, dims!(Dyn(5), 3, 4)).unwrap();
/// assert_eq!(s.rows.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(), ["0", "1"]);
/// assert_eq!(&*s.rows[0].output, &[5, 12]);
/// assert_eq!((&*s.output, s.total_params), (&[5, 2][..], 26));
/// // A Dyn size that does not fit is an error, not a wrong row:
/// let e = summary(&model, dims!(Dyn(5), Dyn(3), 5)).unwrap_err();
/// assert!(e.to_string().contains("got 15, expected 12"), "{e}");
/// ```
pub fn summary<M, S, E, D>(model: &M, input: S) -> Result<ModelSummary, Error>
where
    M: Summary<S, E, D> + Params<E, D>,
    S: Shape,
    E: Dtype,
    D: Backend,
{
    let mut rows = SummaryRows::default();
    let in_dims = input.dims();
    let out = model.summarize(input, &mut rows)?;
    Ok(ModelSummary {
        rows: rows.rows,
        input: in_dims,
        output: out.dims(),
        total_params: model.num_params(),
    })
}

/// The summary of `model` on an input of shape `input` as a table (see
/// the module documentation for an example); panics where [`summary`]
/// returns an error.
#[track_caller]
pub fn summary_table<M, S, E, D>(model: &M, input: S) -> String
where
    M: Summary<S, E, D> + Params<E, D>,
    S: Shape,
    E: Dtype,
    D: Backend,
{
    match summary(model, input) {
        Ok(s) => format!("{s}"),
        Err(e) => panic!("summary: {e}"),
    }
}

/// The value of an all-static shape type, read from `try_from_dims` (each
/// failure names a static axis and its size); an error if an axis is `Dyn`.
fn static_value<S: Shape>() -> Result<S, Error> {
    const DYN: Error = Error::Invalid(
        "summary: a #[module(summary_row)] module has a Dyn dim in its output type, \
         which its type cannot give: summarise with a static input shape \
         (dims!(1, 3, 224, 224)), or implement Summary for it by hand",
    );
    let mut probe = [0usize; crate::shape::MAX_RANK];
    let mut fixed = [false; crate::shape::MAX_RANK];
    // Each round fixes one more static axis.
    for _ in 0..=S::RANK {
        match S::try_from_dims(&probe[..S::RANK]) {
            Ok(_) => break,
            Err(Error::StaticDim { axis, expected, .. }) if !fixed[axis] => {
                probe[axis] = expected;
                fixed[axis] = true;
            }
            Err(e) => return Err(e),
        }
    }
    // An axis left free took size 0: `Dyn`, unless a second size is refused
    // (a static dim of size 0).
    for axis in 0..S::RANK {
        if !fixed[axis] {
            let mut other = probe;
            other[axis] = 1;
            if S::try_from_dims(&other[..S::RANK]).is_ok() {
                return Err(DYN);
            }
        }
    }
    S::try_from_dims(&probe[..S::RANK])
}
