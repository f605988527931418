//! [`CudaStorage`]: a reference-counted device buffer, copied on write.

use alloc::sync::Arc;
use core::fmt;
use cudarc::driver::{CudaSlice, CudaStream};

/// A buffer of `T` in GPU memory. Clones share the buffer; the first write
/// through a shared handle copies it on the device ([`CudaStorage::make_mut`]),
/// so tensors never see each other's in-place updates.
pub struct CudaStorage<T> {
    buf: Arc<CudaSlice<T>>,
}

impl<T> Clone for CudaStorage<T> {
    fn clone(&self) -> Self {
        CudaStorage {
            buf: self.buf.clone(),
        }
    }
}

impl<T> fmt::Debug for CudaStorage<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CudaStorage(len {})", self.buf.len())
    }
}

impl<T> CudaStorage<T> {
    /// Take ownership of a device buffer.
    pub fn new(buf: CudaSlice<T>) -> Self {
        CudaStorage { buf: Arc::new(buf) }
    }
    /// Number of elements.
    pub fn len(&self) -> usize {
        self.buf.len()
    }
    /// Whether the buffer is empty.
    pub fn is_empty(&self) -> bool {
        self.buf.len() == 0
    }
    /// The device buffer, for reading in a kernel.
    pub fn slice(&self) -> &CudaSlice<T> {
        &self.buf
    }
    /// Whether another handle shares this buffer.
    pub fn is_shared(&self) -> bool {
        Arc::strong_count(&self.buf) > 1
    }
}

impl<T: crate::dtype::Elem> CudaStorage<T> {
    /// The buffer for writing: copied on `stream` first when shared.
    pub fn make_mut(&mut self, stream: &Arc<CudaStream>) -> &mut CudaSlice<T> {
        if Arc::get_mut(&mut self.buf).is_none() {
            let copy = stream
                .clone_dtod(&*self.buf)
                .unwrap_or_else(|e| panic!("cuda: copy-on-write of a shared buffer: {e}"));
            self.buf = Arc::new(copy);
        }
        Arc::get_mut(&mut self.buf).expect("unshared after the copy")
    }
}
