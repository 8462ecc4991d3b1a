"""Python peer of benchmarks/policy_quality.sh.

1. Timing: pandas reads the same 30-day metrics.csv and computes per-service medians and MADs
   (the baseline step of `triage train`), side by side with the whole of `triage train`.
2. Historical operators straight from incidents.csv (attempts chained as `triage train` does),
   a cross-check of the figure the simulator reports.
3. A supervised peer recommender: scikit-learn's RandomForestClassifier on the same incident
   symptoms (bundle symptoms.csv), trained to predict the action that fixed each training
   incident, scored on the unseen seed's incidents against the fault's best action.
"""
import sys, time
import numpy as np
import pandas as pd
from sklearn.ensemble import RandomForestClassifier

work, triage_train_s = sys.argv[1], float(sys.argv[2])
BEST = {"memory_leak": "restart", "hung_process": "restart", "traffic_surge": "scale_up", "bad_deploy": "rollback",
        "dependency_outage": "failover", "slow_disk": "alert", "noisy_neighbour": "alert"}

t0 = time.perf_counter()
m = pd.read_csv(f"{work}/train30/metrics.csv")
m["timestamp"] = pd.to_datetime(m["timestamp"], utc=True)
cols = ["cpu", "memory", "latency_p99_ms", "error_rate", "request_rate", "replicas", "heartbeat_age_s"]
g = m.groupby("service")[cols]
med = g.median()
mad = (m[cols] - med.reindex(m["service"]).to_numpy()).abs().groupby(m["service"]).median() * 1.4826
peer_s = time.perf_counter() - t0
print(f"peer: pandas read + per-service median/MAD of the same metrics: {peer_s:.2f} s "
      f"(triage train, all steps: {triage_train_s:.2f} s; ratio pandas/triage {peer_s / triage_train_s:.2f})")

inc = pd.read_csv(f"{work}/train30/incidents.csv")
inc["stem"] = inc["incident_id"].str.rsplit("-", n=1).str[0]
per = inc.groupby("stem")["recovery_seconds"].sum()
print(f"peer: historical operators in train30/incidents.csv: {len(per)} incidents, "
      f"mean downtime {per.mean():.1f} s, first-action accuracy "
      f"{(inc.groupby('stem').first().apply(lambda r: BEST.get(r['fault']) == r['action'], axis=1)).mean():.3f}")

feat = ["request_ratio", "cpu_ratio", "latency_ratio", "error_excess", "memory_peak", "heartbeat_peak_s", "deploy_recent"]
train = pd.read_csv(f"{work}/bundle30/symptoms.csv")
test = pd.read_csv(f"{work}/bundle_test/symptoms.csv")
train = train[train["fixed_by"].notna()]
t0 = time.perf_counter()
rf = RandomForestClassifier(n_estimators=100, random_state=0, n_jobs=1)
rf.fit(train[feat].fillna(0).to_numpy(), train["fixed_by"].to_numpy())
pred = rf.predict(test[feat].fillna(0).to_numpy())
fit_s = time.perf_counter() - t0
acc = float(np.mean(pred == test["fault"].map(BEST).to_numpy()))
print(f"peer: scikit-learn RandomForest (100 trees) on incident symptoms -> fixed_by: accuracy {acc:.3f} "
      f"on {len(test)} unseen incidents (seed 1; fit+predict {fit_s:.2f} s)")
