"""Write the first N MNIST test images and labels as raw bytes for the firmware.

Run from the repository root:
    python3 examples/embedded/assets/extract_mnist.py
It reads data/mnist/mnist-t10k-{images-idx3,labels-idx1}-ubyte.gz and writes
examples/embedded/assets/mnist_test_images.u8 (N x 28 x 28 pixels, row-major)
and mnist_test_labels.u8 (N labels). tests/embedded_qemu.rs checks the files
against the data set, so they cannot drift from it.
"""

import gzip
import pathlib
import struct

N = 100
root = pathlib.Path("data/mnist")
out = pathlib.Path("examples/embedded/assets")

images = gzip.open(root / "mnist-t10k-images-idx3-ubyte.gz").read()
magic, count, rows, cols = struct.unpack(">IIII", images[:16])
assert magic == 0x00000803 and (rows, cols) == (28, 28) and count >= N
labels = gzip.open(root / "mnist-t10k-labels-idx1-ubyte.gz").read()
magic, count = struct.unpack(">II", labels[:8])
assert magic == 0x00000801 and count >= N

(out / "mnist_test_images.u8").write_bytes(images[16 : 16 + N * 28 * 28])
(out / "mnist_test_labels.u8").write_bytes(labels[8 : 8 + N])
