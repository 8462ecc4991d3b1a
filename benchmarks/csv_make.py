"""Writes 1 M rows × 12 float columns (~95 MB) of seeded random data."""
import sys
import numpy as np

rng = np.random.default_rng(0)
x = rng.normal(size=(1_000_000, 12)) * rng.choice([1, 10, 1000], size=12)
np.savetxt(sys.argv[1], x, delimiter=",", fmt="%.6g", header=",".join(f"f{i}" for i in range(12)), comments="")
