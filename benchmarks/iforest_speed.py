"""scikit-learn side of benchmarks/iforest_speed.sh.

  generate OUT.csv [--rows N]       1 M × 16 Gaussian rows, 2 % uniform outliers, label column
  inprocess CSV [--rows N] [--trees T] [--repeats R]
                                    fit + score_samples timings (CSV read untimed), one JSON line
  pipeline CSV OUT.csv              the CLI-equivalent script: pandas read, fit, score, write
                                    score,anomaly CSV (timed from the outside)
"""
import json
import sys
import time

import numpy as np
import pandas as pd


def generate(path, rows=1_000_000, features=16, seed=7):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((rows, features)).astype(np.float32)
    outliers = rng.random(rows) < 0.02
    X[outliers] = rng.uniform(-6, 6, size=(outliers.sum(), features)).astype(np.float32)
    df = pd.DataFrame(X, columns=[f"f{j}" for j in range(features)])
    df["label"] = outliers.astype(np.int8)
    df.to_csv(path, index=False, float_format="%.6g")


def load(path, rows=None):
    df = pd.read_csv(path, nrows=rows, dtype=np.float32)
    df.pop("label")
    return df.to_numpy(dtype=np.float32)


def inprocess(path, rows=None, trees=100, repeats=3):
    from sklearn.ensemble import IsolationForest
    X = load(path, rows)
    fit = score = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        model = IsolationForest(n_estimators=trees, max_samples=256, random_state=0, n_jobs=-1).fit(X)
        t1 = time.perf_counter()
        model.score_samples(X)
        t2 = time.perf_counter()
        fit, score = min(fit, t1 - t0), min(score, t2 - t1)
    print(json.dumps({"rows": len(X), "trees": trees, "fit_seconds": fit, "score_seconds": score,
                      "fit_score_seconds": fit + score, "score_rows_per_s": len(X) / score}))


def pipeline(path, out):
    from sklearn.ensemble import IsolationForest
    df = pd.read_csv(path, dtype=np.float32)
    df.pop("label")
    X = df.to_numpy(dtype=np.float32)
    model = IsolationForest(n_estimators=100, max_samples=256, random_state=0, n_jobs=-1).fit(X)
    s = -model.score_samples(X)
    pd.DataFrame({"score": s, "anomaly": (s > 0.5).astype(np.int8)}).to_csv(out, index=False)


if __name__ == "__main__":
    mode, args = sys.argv[1], sys.argv[2:]
    opts = {a.lstrip("-"): int(b) for a, b in zip(args[1::2], args[2::2]) if a.startswith("--")}
    if mode == "generate":
        generate(args[0], **opts)
    elif mode == "inprocess":
        inprocess(args[0], **opts)
    elif mode == "pipeline":
        pipeline(args[0], args[1])
