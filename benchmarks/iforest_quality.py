"""scikit-learn side of benchmarks/iforest_quality.sh, and the side-by-side table.

Fits IsolationForest(n_estimators=100, max_samples=256, random_state=seed) on each whole file
(label excluded), scores the same file, and prints mean ROC-AUC per set beside Triage's.

The last columns measure the test's own noise: scikit-learn against itself on another block of
as many seeds (seed + 1000), and the standard error of the Triage − scikit-learn difference.
With few seeds, a set whose ROC-AUC varies much from seed to seed (cardio: std ≈ 0.012) can miss
±0.01 by chance even for scikit-learn against itself.
"""
import argparse
import csv
import numpy as np
import pandas as pd
import sklearn
from sklearn.ensemble import IsolationForest
from sklearn.metrics import roc_auc_score


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sets-dir", required=True)
    ap.add_argument("--triage-results", required=True)
    ap.add_argument("--seeds", type=int, nargs="+", required=True)
    ap.add_argument("--sets", nargs="+", required=True)
    args = ap.parse_args()

    triage = {}
    with open(args.triage_results) as f:
        for row in csv.DictReader(f):
            triage.setdefault(row["set"], []).append(float(row["roc_auc"]))

    print(f"scikit-learn {sklearn.__version__}; {len(args.seeds)} seeds; mean ROC-AUC (± std over seeds)")
    print(f"{'set':<12} {'triage':>16} {'scikit-learn':>16} {'diff':>8}  within 0.01  {'sk(seed+1000)-sk':>16} {'se(diff)':>8}")
    met = 0
    for name in args.sets:
        df = pd.read_csv(f"{args.sets_dir}/{name}.csv")
        y = df.pop("label").to_numpy() != 0
        X = df.to_numpy(dtype=np.float32)
        def auc(seed):
            model = IsolationForest(n_estimators=100, max_samples=256, random_state=seed, n_jobs=-1).fit(X)
            return roc_auc_score(y, -model.score_samples(X))
        aucs = [auc(seed) for seed in args.seeds]
        other = [auc(seed + 1000) for seed in args.seeds]
        ours = np.array(triage[name])
        diff = ours.mean() - np.mean(aucs)
        ok = abs(diff) <= 0.01
        met += ok
        se = np.sqrt(ours.var(ddof=1) / len(ours) + np.var(aucs, ddof=1) / len(aucs)) if len(ours) > 1 else float("nan")
        print(f"{name:<12} {ours.mean():>9.4f} ±{ours.std():.4f} {np.mean(aucs):>9.4f} ±{np.std(aucs):.4f} {diff:>+8.4f}  "
              f"{'yes' if ok else 'NO ':<11} {np.mean(other) - np.mean(aucs):>+16.4f} {se:>8.4f}")
    print(f"within ±0.01: {met}/{len(args.sets)} sets")


if __name__ == "__main__":
    main()
