"""scikit-learn peer of trees_speed.sh: fit and predict times and test accuracy of
RandomForestClassifier(100, n_jobs=-1) and DecisionTreeClassifier on the make_classification
split written by trees_data.py, and of LightGBM's GBDT (LGBMClassifier defaults: 100 rounds,
31 leaves, all cores; issue 17's target peer, in requirements.txt). Prints one JSON object."""
import json
import sys
import time

import pandas as pd
from sklearn.ensemble import RandomForestClassifier
from sklearn.tree import DecisionTreeClassifier

data_dir = sys.argv[1]
train = pd.read_csv(f"{data_dir}/speed_train.csv")
test = pd.read_csv(f"{data_dir}/speed_test.csv")
X, y = train.drop(columns="label").to_numpy("float32"), train["label"].to_numpy()
Xt, yt = test.drop(columns="label").to_numpy("float32"), test["label"].to_numpy()
out = {}
models = [("forest", RandomForestClassifier(n_estimators=100, n_jobs=-1, random_state=0)),
          ("tree", DecisionTreeClassifier(random_state=0))]
try:
    from lightgbm import LGBMClassifier
    models.append(("lightgbm", LGBMClassifier(n_jobs=-1, random_state=0, verbose=-1)))
except ImportError:
    pass
for key, model in models:
    start, cpu = time.perf_counter(), time.process_time()
    model.fit(X, y)
    out[f"{key}_fit_seconds"] = time.perf_counter() - start
    out[f"{key}_fit_cpu_seconds"] = time.process_time() - cpu
    best, best_cpu = float("inf"), float("inf")
    for _ in range(3):
        start, cpu = time.perf_counter(), time.process_time()
        pred = model.predict(Xt)
        best = min(best, time.perf_counter() - start)
        best_cpu = min(best_cpu, time.process_time() - cpu)
    out[f"{key}_predict_rows_per_second"] = len(Xt) / best
    out[f"{key}_predict_cpu_seconds"] = best_cpu
    out[f"{key}_accuracy"] = float((pred == yt).mean())
print(json.dumps(out))
