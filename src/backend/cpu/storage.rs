//! [`CpuStorage`]: the CPU backend's buffer, owned (reference counted) or
//! borrowed from `'static` data (a checkpoint in flash, an
//! `include_bytes!` image), copied on the first write.

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt;
use core::ops::Deref;

/// A CPU buffer of `T`: either owned and reference counted (what every
/// kernel produces) or borrowed from `'static` memory, so a checkpoint
/// that stays in flash or in a mapped image needs no copy in RAM.
///
/// Reading goes through `Deref<Target = [T]>` (one branch per access to
/// the whole slice, not per element: kernels take `&[T]` once). Cloning is
/// cheap in both forms (a reference count, or a copy of the reference).
/// Writing goes through [`CpuStorage::make_mut`], which is copy on write:
/// a borrowed buffer becomes an owned copy on its first write, and a
/// shared owned one is copied as `Arc::make_mut` copies it; the static
/// data itself is never written.
///
/// ```
/// use typegrad::backend::cpu::CpuStorage;
/// static DATA: [f32; 3] = [1.0, 2.0, 3.0];
/// let mut s = CpuStorage::from_static(&DATA);
/// assert!(s.is_borrowed());
/// let shared = s.clone(); // still borrowing
/// s.make_mut()[0] = 10.0; // copy on write
/// assert!(!s.is_borrowed());
/// assert_eq!(&s[..], &[10.0, 2.0, 3.0]);
/// assert_eq!(&shared[..], &[1.0, 2.0, 3.0]);
/// assert_eq!(DATA, [1.0, 2.0, 3.0]);
/// ```
pub struct CpuStorage<T: 'static> {
    repr: Repr<T>,
}

enum Repr<T: 'static> {
    Owned(Arc<Vec<T>>),
    Static(&'static [T]),
}

impl<T> CpuStorage<T> {
    /// An owned buffer holding `data` (no copy).
    ///
    /// ```
    /// use typegrad::backend::cpu::CpuStorage;
    /// let s = CpuStorage::new(vec![1, 2]);
    /// assert_eq!((s.len(), s.is_borrowed()), (2, false));
    /// ```
    #[inline]
    pub fn new(data: Vec<T>) -> Self {
        CpuStorage {
            repr: Repr::Owned(Arc::new(data)),
        }
    }

    /// A buffer borrowing `data` (no copy, no allocation).
    ///
    /// ```
    /// use typegrad::backend::cpu::CpuStorage;
    /// static W: [f64; 2] = [0.5, 1.5];
    /// let s = CpuStorage::from_static(&W);
    /// assert!(s.is_borrowed() && s.as_ptr() == W.as_ptr());
    /// ```
    #[inline]
    pub const fn from_static(data: &'static [T]) -> Self {
        CpuStorage {
            repr: Repr::Static(data),
        }
    }

    /// Whether the buffer borrows `'static` data (no heap of its own).
    ///
    /// ```
    /// use typegrad::backend::cpu::CpuStorage;
    /// assert!(!CpuStorage::new(vec![1u8]).is_borrowed());
    /// assert!(CpuStorage::from_static(&[1u8][..]).is_borrowed());
    /// ```
    #[inline]
    pub fn is_borrowed(&self) -> bool {
        matches!(self.repr, Repr::Static(_))
    }

    /// How many handles share this buffer when it is owned (as
    /// `Arc::strong_count`); 0 when it is borrowed (no buffer of its own).
    /// Tests use it to check that memory is released.
    ///
    /// ```
    /// use typegrad::backend::cpu::CpuStorage;
    /// let a = CpuStorage::new(vec![1.0f32]);
    /// let b = a.clone();
    /// assert_eq!(CpuStorage::strong_count(&b), 2);
    /// assert_eq!(CpuStorage::strong_count(&CpuStorage::from_static(&[1.0f32][..])), 0);
    /// ```
    pub fn strong_count(this: &Self) -> usize {
        match &this.repr {
            Repr::Owned(v) => Arc::strong_count(v),
            Repr::Static(_) => 0,
        }
    }

    /// Whether two handles read the same memory (the same owned buffer, or
    /// the same static data), as `Arc::ptr_eq`: views that share storage
    /// instead of copying it.
    ///
    /// ```
    /// use typegrad::backend::cpu::CpuStorage;
    /// let a = CpuStorage::new(vec![1u8, 2]);
    /// assert!(CpuStorage::ptr_eq(&a, &a.clone()));
    /// assert!(!CpuStorage::ptr_eq(&a, &CpuStorage::new(vec![1u8, 2])));
    /// ```
    pub fn ptr_eq(a: &Self, b: &Self) -> bool {
        match (&a.repr, &b.repr) {
            (Repr::Owned(x), Repr::Owned(y)) => Arc::ptr_eq(x, y),
            (Repr::Static(x), Repr::Static(y)) => core::ptr::eq(*x, *y),
            _ => false,
        }
    }

    /// The elements as a slice (what `Deref` gives; named for the kernels
    /// that passed `Vec::as_slice` before).
    ///
    /// ```
    /// use typegrad::backend::cpu::CpuStorage;
    /// assert_eq!(CpuStorage::new(vec![3, 4]).as_slice(), &[3, 4]);
    /// ```
    #[inline]
    pub fn as_slice(&self) -> &[T] {
        match &self.repr {
            Repr::Owned(v) => v.as_slice(),
            Repr::Static(s) => s,
        }
    }
}

impl<T: Clone> CpuStorage<T> {
    /// The buffer for writing, copied first when it is borrowed (the
    /// static data is never written) or shared with another handle (as
    /// `Arc::make_mut`). A buffer owned by this handle alone is returned
    /// in place.
    ///
    /// ```
    /// use typegrad::backend::cpu::CpuStorage;
    /// let mut a = CpuStorage::new(vec![1.0f32, 2.0]);
    /// let b = a.clone();
    /// a.make_mut().push(3.0);
    /// assert_eq!((&a[..], &b[..]), (&[1.0, 2.0, 3.0][..], &[1.0, 2.0][..]));
    /// ```
    #[inline]
    pub fn make_mut(&mut self) -> &mut Vec<T> {
        if let Repr::Static(s) = self.repr {
            self.repr = Repr::Owned(Arc::new(s.to_vec()));
        }
        match &mut self.repr {
            Repr::Owned(v) => Arc::make_mut(v),
            Repr::Static(_) => unreachable!("made owned above"),
        }
    }

    /// The elements as an owned `Vec` (moved out when this handle owns
    /// the buffer alone, else copied).
    ///
    /// ```
    /// use typegrad::backend::cpu::CpuStorage;
    /// static D: [u8; 2] = [7, 8];
    /// assert_eq!(CpuStorage::from_static(&D).into_vec(), vec![7, 8]);
    /// ```
    pub fn into_vec(self) -> Vec<T> {
        match self.repr {
            Repr::Owned(v) => Arc::try_unwrap(v).unwrap_or_else(|v| v.as_ref().clone()),
            Repr::Static(s) => s.to_vec(),
        }
    }
}

impl<T> Deref for CpuStorage<T> {
    type Target = [T];
    #[inline]
    fn deref(&self) -> &[T] {
        self.as_slice()
    }
}

impl<T> AsRef<[T]> for CpuStorage<T> {
    #[inline]
    fn as_ref(&self) -> &[T] {
        self.as_slice()
    }
}

impl<T> Clone for CpuStorage<T> {
    #[inline]
    fn clone(&self) -> Self {
        CpuStorage {
            repr: match &self.repr {
                Repr::Owned(v) => Repr::Owned(Arc::clone(v)),
                Repr::Static(s) => Repr::Static(s),
            },
        }
    }
}

impl<T> From<Vec<T>> for CpuStorage<T> {
    #[inline]
    fn from(data: Vec<T>) -> Self {
        CpuStorage::new(data)
    }
}

impl<T> From<&'static [T]> for CpuStorage<T> {
    #[inline]
    fn from(data: &'static [T]) -> Self {
        CpuStorage::from_static(data)
    }
}

impl<T: fmt::Debug> fmt::Debug for CpuStorage<T> {
    /// The elements, as a slice prints them (the form is not shown).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_slice(), f)
    }
}

impl<T: PartialEq> PartialEq for CpuStorage<T> {
    /// Equal elements, whichever form holds them.
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    static DATA: [f32; 4] = [1.0, -2.0, 3.5, 0.0];

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn is_send_and_sync() {
        assert_send_sync::<CpuStorage<f32>>();
        assert_send_sync::<CpuStorage<usize>>();
    }

    #[test]
    fn borrowed_reads_the_static_data_in_place() {
        let s = CpuStorage::from_static(&DATA);
        assert_eq!(s.as_ptr(), DATA.as_ptr());
        assert_eq!(s.clone().as_ptr(), DATA.as_ptr());
        assert_eq!(&s[..], &DATA[..]);
        assert_eq!(s, CpuStorage::new(DATA.to_vec()));
        assert_eq!(alloc::format!("{s:?}"), "[1.0, -2.0, 3.5, 0.0]");
    }

    #[test]
    fn write_to_borrowed_copies_and_leaves_the_static_data() {
        let mut s = CpuStorage::from_static(&DATA);
        let before = s.clone();
        s.make_mut()[1] = 9.0;
        assert!(!s.is_borrowed() && before.is_borrowed());
        assert_ne!(s.as_ptr(), DATA.as_ptr());
        assert_eq!(&s[..], &[1.0, 9.0, 3.5, 0.0]);
        assert_eq!(DATA, [1.0, -2.0, 3.5, 0.0]);
        assert_eq!(&before[..], &DATA[..]);
        // Owned now and unshared: the next write is in place.
        let p = s.as_ptr();
        s.make_mut()[0] = 4.0;
        assert_eq!(s.as_ptr(), p);
    }

    #[test]
    fn shared_owned_is_copied_on_write() {
        let mut a = CpuStorage::new(vec![1, 2, 3]);
        let b = a.clone();
        assert_eq!(a.as_ptr(), b.as_ptr());
        a.make_mut()[0] = 7;
        assert_eq!((&a[..], &b[..]), (&[7, 2, 3][..], &[1, 2, 3][..]));
        assert_eq!(b.into_vec(), vec![1, 2, 3]);
    }
}
