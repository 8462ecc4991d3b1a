"""scikit-learn side of benchmarks/iforest_quality.sh, and the side-by-side table.

Fits IsolationForest(n_estimators=100, max_samples=256, random_state=seed) on each whole file
(label excluded), scores the same file, and prints mean ROC-AUC per set beside Triage's.
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
    print(f"{'set':<12} {'triage':>16} {'scikit-learn':>16} {'diff':>8}  within 0.01")
    met = 0
    for name in args.sets:
        df = pd.read_csv(f"{args.sets_dir}/{name}.csv")
        y = df.pop("label").to_numpy() != 0
        X = df.to_numpy(dtype=np.float32)
        aucs = []
        for seed in args.seeds:
            model = IsolationForest(n_estimators=100, max_samples=256, random_state=seed, n_jobs=-1).fit(X)
            aucs.append(roc_auc_score(y, -model.score_samples(X)))
        ours = np.array(triage[name])
        diff = ours.mean() - np.mean(aucs)
        ok = abs(diff) <= 0.01
        met += ok
        print(f"{name:<12} {ours.mean():>9.4f} ±{ours.std():.4f} {np.mean(aucs):>9.4f} ±{np.std(aucs):.4f} {diff:>+8.4f}  {'yes' if ok else 'NO'}")
    print(f"within ±0.01: {met}/{len(args.sets)} sets")


if __name__ == "__main__":
    main()
