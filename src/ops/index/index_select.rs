//! `index_select`: pick slices along one axis by a list of indices (an
//! embedding lookup is `table.index_select::<0, _>(&ids)`).

use crate::autograd::Tracking;
use crate::backend::Device;
use crate::dtype::Dtype;
use crate::shape::{Dim, Error, ReplaceAxis, Shape};
use crate::tensor::{op_result, Tensor};

impl<S: Shape, E: Dtype, D: Device<E>, T: Tracking<E, D>> Tensor<S, E, D, T> {
    /// Along axis `I`, output slice `j` is input slice `idx[j]`: the axis
    /// size becomes `N` (`idx`'s length). Duplicate indices are allowed; in
    /// backward their gradients add up. This is an embedding lookup: a
    /// `(V, D)` table and `(N,)` token ids give `(N, D)` vectors.
    ///
    /// Panics if an index is out of range for axis `I`, naming the op, the
    /// axis, the index and the axis size (see [`Tensor::try_index_select`]).
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let dev = Cpu::default();
    /// // A vocabulary of 3 tokens, 2 features each.
    /// let table = Tensor::<(u!(3), u!(2)), f32>::from_vec_static(vec![0.0, 0.1, 1.0, 1.1, 2.0, 2.1], &dev);
    /// let ids = Tensor::<(Dyn,), usize>::from_vec((Dyn(4),), vec![2, 0, 2, 1], &dev);
    /// let emb = table.index_select::<0, _>(&ids); // Tensor<(Dyn, U2)>
    /// assert_eq!(emb.to_vec(), vec![2.0, 2.1, 0.0, 0.1, 2.0, 2.1, 1.0, 1.1]);
    /// ```
    #[track_caller]
    pub fn index_select<const I: usize, N: Dim>(
        self,
        idx: &Tensor<(N,), usize, D>,
    ) -> Tensor<<S as ReplaceAxis<I, N>>::Output, E, D, T>
    where
        S: ReplaceAxis<I, N>,
    {
        self.try_index_select::<I, N>(idx)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Fallible form of [`Tensor::index_select`]: an index `>=` the size of
    /// axis `I` is an [`Error::IndexOutOfRange`].
    ///
    /// ```
    /// use typegrad::prelude::*;
    /// let dev = Cpu::default();
    /// let table: Tensor<(u!(5), u!(2)), f32> = Tensor::zeros(Default::default(), &dev);
    /// let ids = Tensor::<(u!(2),), usize>::from_vec_static(vec![1, 7], &dev);
    /// let err = table.try_index_select::<0, _>(&ids).unwrap_err();
    /// assert_eq!(err.to_string(), "index_select: index 7 out of range for axis 0 of size 5");
    /// ```
    pub fn try_index_select<const I: usize, N: Dim>(
        self,
        idx: &Tensor<(N,), usize, D>,
    ) -> Result<Tensor<<S as ReplaceAxis<I, N>>::Output, E, D, T>, Error>
    where
        S: ReplaceAxis<I, N>,
    {
        let dims = self.shape.dims();
        let y = self.device.index_select(&self.data, &dims, I, &idx.data)?;
        let out_shape = self.shape.replace_axis(idx.shape.0);
        let ids = idx.data.clone();
        let (x, tape) = self.split_tape();
        let dev = x.device.clone();
        Ok(op_result(out_shape, y, dev.clone(), tape, move |g, gy| {
            let gx = dev.index_select_backward(gy, &dims, I, &ids);
            g.accumulate(x.id, gx);
        }))
    }
}
