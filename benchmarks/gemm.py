"""numpy float32 matmul GFLOP/s (best of 10), thread count from OPENBLAS_NUM_THREADS."""
import sys, time
import numpy as np

n = int(sys.argv[1]) if len(sys.argv) > 1 else 1024
rng = np.random.default_rng(1)
a = rng.random((n, n), dtype=np.float32)
b = rng.random((n, n), dtype=np.float32)
c = a @ b
best = float("inf")
for _ in range(10):
    t = time.perf_counter()
    np.matmul(a, b, out=c)
    best = min(best, time.perf_counter() - t)
print(2 * n**3 / best / 1e9)
