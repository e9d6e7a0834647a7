"""Writes the .npy fixtures of NpyReaderTest and Float16Test with NumPy's own writer.

Run from this folder, in a virtualenv with the packages named below: python make_fixtures.py
"""
import numpy as np
from numpy.lib import format as npy

rng = np.random.default_rng(2022)

# float32 values spanning normal, subnormal, overflowing and tie-breaking cases, and NumPy's
# float16 rounding of them (round to nearest, ties to even): the reference for Float16.
values = np.concatenate([
    rng.normal(0, 1, 600), rng.normal(0, 3000, 200), rng.uniform(-1e-5, 1e-5, 150),
    np.array([0.0, -0.0, 65504.0, 65519.99, 65520.0, 1e6, -1e6, 5.96e-8, 2.98e-8, 2.99e-8,
              1.0 + 2**-11, 1.0 + 3 * 2**-11, 2048.0 + 1.0, 2048.0 + 3.0, 6.1035156e-05]),
]).astype(np.float32).reshape(-1, 5)
with np.errstate(over="ignore"):
    halves = values.astype(np.float16)
np.save("float32_v1.npy", values)
np.save("float16_v1.npy", halves)

small = (np.arange(12, dtype=np.float32).reshape(3, 4) / 8 - 0.5).astype(np.float16)
with open("float16_v2.npy", "wb") as f:
    npy.write_array(f, small, version=(2, 0))
with open("float16_v3.npy", "wb") as f:
    npy.write_array(f, small, version=(3, 0))
np.save("empty_v1.npy", np.zeros((0, 4), dtype=np.float16))
np.save("float16_fortran.npy", np.asfortranarray(np.arange(6, dtype=np.float16).reshape(2, 3)))
np.save("float64_v1.npy", np.zeros((2, 3), dtype=np.float64))
np.save("float16_be.npy", np.zeros((2, 3), dtype=">f2"))
np.save("float16_3d.npy", np.zeros((2, 3, 4), dtype=np.float16))
