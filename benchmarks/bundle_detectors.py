"""Detector quality of a `triage train` bundle on an unseen simulator seed (part of
benchmarks/policy_quality.sh). Rows inside a true fault window (truth.json) are the positives.
Triage: the bundle's iforest.model and autoencoder.model on `triage features` rows. Peer:
scikit-learn's IsolationForest (100 trees, 256 samples) fitted on the same training feature
rows (every row, no incident filtering) and scored on the same test rows.
usage: bundle_detectors.py WORK   (WORK holds train_features.csv, test_features.csv,
       test/truth.json, iforest_scores.csv, autoencoder_scores.csv)"""
import json, sys, time
import numpy as np
import pandas as pd
from sklearn.ensemble import IsolationForest
from sklearn.metrics import roc_auc_score, average_precision_score

w = sys.argv[1]
test = pd.read_csv(f"{w}/test_features.csv")
feat = [c for c in test.columns if c.endswith("_z")]
t = pd.to_datetime(test["timestamp"], utc=True)
label = np.zeros(len(test), dtype=bool)
for f in json.load(open(f"{w}/test/truth.json"))["faults"]:
    s, e = pd.Timestamp(f["start"]), pd.Timestamp(f["end"])
    label |= ((test["service"] == f["service"]) & (t >= s) & (t <= e)).to_numpy()
print(f"detectors on the unseen seed: {len(test)} rows, {label.mean():.1%} inside a true fault window")
for kind in ("iforest", "autoencoder"):
    s = pd.read_csv(f"{w}/{kind}_scores.csv")
    print(f"  triage {kind:12s} ROC-AUC {roc_auc_score(label, s['score']):.3f}  AP {average_precision_score(label, s['score']):.3f}"
          f"  flagged {s['anomaly'].mean():.1%}  precision of flags {label[s['anomaly'] == 1].mean():.3f}")
train = pd.read_csv(f"{w}/train_features.csv")
t0 = time.perf_counter()
peer = IsolationForest(n_estimators=100, max_samples=256, random_state=0).fit(train[feat].to_numpy())
score = -peer.score_samples(test[feat].to_numpy())
peer_s = time.perf_counter() - t0
print(f"  peer sklearn IsolationForest ROC-AUC {roc_auc_score(label, score):.3f}  AP {average_precision_score(label, score):.3f}"
      f"  (fit on all {len(train)} training rows + score: {peer_s:.2f} s)")
