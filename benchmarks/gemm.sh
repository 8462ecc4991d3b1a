#!/usr/bin/env bash
# float32 GEMM 1024×1024: Triage (Matrix.gemm → OpenBLAS) vs numpy matmul, 1 and 2 threads,
# side by side in one run. Usage: bash benchmarks/gemm.sh [SIZE]
source "$(dirname "$0")/env.sh"
SIZE=${1:-1024}
echo "machine: $(machine)"
printf '%-8s %14s %14s %8s\n' threads triage_gflops numpy_gflops ratio
for t in 1 2; do
  for round in 1 2; do  # interleave the two sides twice; keep each side's best
    tri=$("$TRIAGE_BENCH" gemm --size "$SIZE" --threads "$t" --repeats 10 | "$PY" -c 'import json,sys;print(json.load(sys.stdin)["gflops"])')
    np=$(OPENBLAS_NUM_THREADS=$t OMP_NUM_THREADS=$t "$PY" "$BENCH_ROOT/benchmarks/gemm.py" "$SIZE")
    best_tri=$("$PY" -c "print(max($tri, ${best_tri:-0}))"); best_np=$("$PY" -c "print(max($np, ${best_np:-0}))")
  done
  printf '%-8s %14.1f %14.1f %8.2f\n' "$t" "$best_tri" "$best_np" "$("$PY" -c "print($best_tri/$best_np)")"
  unset best_tri best_np
done
