//! [`RowCopy`]: the description of an in-place block copy of rows
//! ([`MovementKernel::copy_rows_into`](super::MovementKernel::copy_rows_into)),
//! what a KV cache needs to append keys and values without copying itself.

/// Where the rows of one side of a [`RowCopy`] lie: row `r` of group `g`
/// starts at `offset + g·group + r·row`.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct RowLayout {
    /// Start of row 0 of group 0.
    pub offset: usize,
    /// Elements between groups.
    pub group: usize,
    /// Elements between rows of a group.
    pub row: usize,
}

impl RowLayout {
    /// The start of row `r` of group `g`.
    #[inline]
    pub fn at(&self, g: usize, r: usize) -> usize {
        self.offset + g * self.group + r * self.row
    }
}

/// Copy `groups × rows` rows of `width` contiguous elements from one
/// buffer to another: row `(g, r)` of `src` (laid out by `from`) goes to
/// row `(g, r)` of `dst` (laid out by `to`).
///
/// Appending `n` new keys at position `pos` of a `(B, Tmax, d)` cache from
/// a packed `(B, n, 3d)` projection is `groups = B`, `rows = n`, `width =
/// d`, `from = { offset: d, group: n·3d, row: 3d }`, `to = { offset: pos·d,
/// group: Tmax·d, row: d }`.
///
/// ```
/// use typegrad::backend::kernels::movement::{RowCopy, RowLayout};
/// let c = RowCopy { groups: 2, rows: 1, width: 3, from: RowLayout { offset: 0, group: 3, row: 3 }, to: RowLayout { offset: 3, group: 12, row: 3 } };
/// assert_eq!(c.to.at(1, 0), 15);
/// assert_eq!(c.src_end(), 6);
/// assert_eq!(c.dst_end(), 18);
/// ```
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct RowCopy {
    /// Number of groups.
    pub groups: usize,
    /// Rows per group.
    pub rows: usize,
    /// Elements per row.
    pub width: usize,
    /// Layout of the source.
    pub from: RowLayout,
    /// Layout of the destination.
    pub to: RowLayout,
}

impl RowCopy {
    fn end(&self, l: &RowLayout) -> usize {
        if self.groups == 0 || self.rows == 0 || self.width == 0 {
            return 0;
        }
        l.at(self.groups - 1, self.rows - 1) + self.width
    }
    /// One past the last source element read (0 for an empty copy).
    pub fn src_end(&self) -> usize {
        self.end(&self.from)
    }
    /// One past the last destination element written (0 for an empty copy).
    pub fn dst_end(&self) -> usize {
        self.end(&self.to)
    }
}
