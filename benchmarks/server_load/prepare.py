"""Data for benchmarks/server_load.sh, from `triage simulate` output, into OUT:

- features.csv: the seven metric columns of TRAIN_METRICS (what both scoring servers fit on)
- peer_model.pkl: scikit-learn's IsolationForest fitted on features.csv with Triage's settings
- one.json: one row to score; batch.json / batch.csv: 1 000 rows (JSON and CSV bodies)
- one_metric.json: one raw metric row (timestamp, service, metrics) for a bundle's /v1/score

Usage: prepare.py TRAIN_METRICS.csv OUT TREES SAMPLE_SIZE
"""
import csv
import json
import pickle
import sys

import numpy as np
from sklearn.ensemble import IsolationForest

FEATURES = ["cpu", "memory", "latency_p99_ms", "error_rate", "request_rate", "replicas", "heartbeat_age_s"]


def main():
    metrics, out, trees, sample_size = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    with open(metrics, newline="") as f:
        reader = csv.DictReader(f)
        raw = list(reader)
    rows = [[r[name] for name in FEATURES] for r in raw]
    with open(f"{out}/features.csv", "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(FEATURES)
        w.writerows(rows)
    x = np.array(rows, dtype=np.float32)
    # The same model size as `triage fit iforest --trees TREES --sample-size SAMPLE_SIZE`
    # (max_features 1.0 and contamination "auto", i.e. threshold s = 0.5, on both sides).
    forest = IsolationForest(n_estimators=trees, max_samples=sample_size, max_features=1.0,
                             contamination="auto", random_state=0, n_jobs=1).fit(x)
    with open(f"{out}/peer_model.pkl", "wb") as f:
        pickle.dump({"features": FEATURES, "forest": forest}, f)
    # Score rows from the end of the training data (a stretch that holds faults as well).
    def body(rows):
        return json.dumps({"rows": [{n: float(v) for n, v in zip(FEATURES, r)} for r in rows]}, separators=(",", ":"))
    with open(f"{out}/one.json", "w") as f:
        f.write(body(rows[-1:]))
    with open(f"{out}/one_metric.json", "w") as f:
        last = raw[-1]
        f.write(json.dumps({"rows": [dict({"timestamp": last["timestamp"], "service": last["service"]},
                                          **{n: float(last[n]) for n in FEATURES})]}, separators=(",", ":")))
    batch = rows[-1000:]
    with open(f"{out}/batch.json", "w") as f:
        f.write(body(batch))
    with open(f"{out}/batch.csv", "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(FEATURES)
        w.writerows(batch)


if __name__ == "__main__":
    main()
