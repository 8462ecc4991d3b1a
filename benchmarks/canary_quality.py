"""Canary analysis benchmark (issue 16): simulated baseline/canary pairs and the peer verdicts.

  canary_quality.py generate DIR CLEAN BAD SEED   writes DIR/pairs.jsonl and the pairs' CSV files
  canary_quality.py judge DIR METRICS [MIN_EFFECT]  the same rule as `triage canary`, on scipy
  canary_quality.py report DIR TRIAGE.jsonl PEER.jsonl

Series: one hour at one minute per side, generated with the normal model of Triage's simulator
(Sources/TriageSim/ServiceEngine.swift): load = base rate x daily cosine x AR(1) noise; CPU =
(3 + 90 u) x noise; p99 = base x (1 + 0.5 u / (1.05 - u)) x exp(0.08 N); errors = base x
(1 + 0.2 N) plus overload; memory, heartbeat age; profiles drawn over the simulator's ranges
(ServiceProfile.standard) and values quantised as `simulate` writes them. Baseline and canary
run at the same time behind one load balancer, so they share the load (daily cycle and AR(1)
term) and differ by their own per-instance noise -- what Kayenta compares. A regression adds
3 error points to the canary (a bad deploy's errors) or multiplies its p99 by 1.3, alternately.

The peer applies the rule of CanaryMetricClassifier.swift with scipy.stats.mannwhitneyu
(two-sided, method="asymptotic", continuity correction; p = 1 when every value is tied, where
scipy gives NaN) and numpy's median of all pairwise differences (Hodges-Lehmann).
"""
import json
import math
import os
import sys

import numpy as np
from scipy.stats import mannwhitneyu

COLUMNS = ["cpu", "memory", "latency_p99_ms", "error_rate", "request_rate", "replicas", "heartbeat_age_s"]
RULES = {  # direction, absolute floor (CanaryMetricRule.standard)
    "error_rate": ("increase", 0.005), "latency_p99_ms": ("increase", 1.0), "cpu": ("increase", 1.0),
    "memory": ("increase", 1.0), "heartbeat_age_s": ("increase", 15.0), "request_rate": ("decrease", 1.0),
    "replicas": ("either", 1.0),
}
# A critical metric that fails fails the canary whatever the score (CanaryMetricRule.critical).
CRITICAL = {"error_rate", "latency_p99_ms"}
CONFIDENCE, RELATIVE = 0.98, 0.10


def profile(rng):
    base = 40 * 10 ** rng.uniform(0, 1.1)
    replicas = int(rng.integers(2, 7))
    amplitude = rng.uniform(0.25, 0.45)
    peak_utilisation = rng.uniform(0.5, 0.65)
    return dict(base=base, replicas=replicas, amplitude=amplitude,
                capacity=base * (1 + amplitude) / (replicas * peak_utilisation),
                latency=rng.uniform(20, 120), errors=rng.uniform(0.001, 0.005), memory=rng.uniform(35, 55),
                peak=rng.uniform(13, 20))


def instance(p, shared, hours, rng, errors_extra=0.0, latency_factor=1.0):
    n = len(shared)
    requests = shared * (1 + 0.02 * rng.standard_normal(n))
    u = requests / (p["replicas"] * p["capacity"])
    uc = np.minimum(u, 1)
    cpu = np.clip((3 + 90 * u) * (1 + 0.03 * rng.standard_normal(n)), 0, 100)
    latency = p["latency"] * (1 + 0.5 * uc / (1.05 - uc)) * np.exp(0.08 * rng.standard_normal(n)) * latency_factor
    errors = np.maximum(0, p["errors"] * (1 + 0.2 * rng.standard_normal(n)))
    errors = errors + np.where(u > 0.9, np.minimum(0.05, (u - 0.9) * 0.2), 0)
    errors = np.minimum(1, errors + errors_extra)
    memory = np.clip(p["memory"] + 3 * np.sin(2 * np.pi * hours / 24) + 0.7 * rng.standard_normal(n), 0, 100)
    heartbeat = rng.uniform(0, 15, n)
    q = lambda v, s: np.round(v * s) / s
    return {"cpu": q(cpu, 10), "memory": q(memory, 10), "latency_p99_ms": q(latency, 10), "error_rate": q(errors, 10_000),
            "request_rate": q(np.maximum(0, requests), 10), "replicas": np.full(n, float(p["replicas"])),
            "heartbeat_age_s": q(heartbeat, 10)}


def write(path, start, values):
    with open(path, "w") as f:
        f.write("timestamp," + ",".join(COLUMNS) + "\n")
        for k in range(len(values["cpu"])):
            t = start + 60 * k
            f.write(f"{t}," + ",".join(repr(float(values[c][k])) for c in COLUMNS) + "\n")


def generate(folder, clean, bad, seed):
    os.makedirs(folder, exist_ok=True)
    pairs = []
    for index in range(clean + bad):
        rng = np.random.default_rng([seed, index])
        p = profile(rng)
        start = 1_767_571_200 + int(rng.integers(0, 7 * 24)) * 3600  # an hour of the week of 2026-01-05
        n = 60
        hours = ((start + 60 * np.arange(n)) % 86_400) / 3600
        ar, load = rng.standard_normal() * 0.046, np.empty(n)
        for k in range(n):
            ar = 0.9 * ar + 0.02 * rng.standard_normal()
            load[k] = p["base"] * (1 + p["amplitude"] * np.cos(2 * np.pi * (hours[k] - p["peak"]) / 24)) * (1 + ar)
        kind = "clean" if index < clean else ("errors" if (index - clean) % 2 == 0 else "latency")
        base = instance(p, load, hours, rng)
        canary = instance(p, load, hours, rng, errors_extra=0.03 if kind == "errors" else 0.0,
                          latency_factor=1.3 if kind == "latency" else 1.0)
        name = f"{kind}-{index:03d}"
        write(f"{folder}/{name}-base.csv", start, base)
        write(f"{folder}/{name}-canary.csv", start, canary)
        pairs.append({"pair": name, "kind": kind})
    with open(f"{folder}/pairs.jsonl", "w") as f:
        for pair in pairs:
            f.write(json.dumps(pair) + "\n")


def classify(name, base, canary, relative):
    direction, floor = RULES.get(name, ("either", 0.0))
    pooled = np.concatenate([base, canary])
    p = 1.0 if np.all(pooled == pooled[0]) else float(
        mannwhitneyu(canary, base, alternative="two-sided", method="asymptotic").pvalue)
    effect = float(np.median(np.subtract.outer(canary, base)))
    minimum = max(relative * abs(float(np.median(base))), floor)
    significant = p < 1 - CONFIDENCE
    if significant and effect > 0 and effect >= minimum and direction != "decrease":
        return "high", p, effect
    if significant and effect < 0 and -effect >= minimum and direction != "increase":
        return "low", p, effect
    return "pass", p, effect


def judge(folder, metrics, relative=RELATIVE):
    names = [m for m in metrics.split(",") if m] if metrics != "default" else [c for c in COLUMNS if c != "replicas"]
    for line in open(f"{folder}/pairs.jsonl"):
        pair = json.loads(line)
        read = lambda side: np.loadtxt(f"{folder}/{pair['pair']}-{side}.csv", delimiter=",", skiprows=1)
        base, canary = read("base"), read("canary")
        results = [classify(m, base[:, 1 + COLUMNS.index(m)], canary[:, 1 + COLUMNS.index(m)], relative) for m in names]
        score = 100 * sum(r[0] == "pass" for r in results) / len(results)
        verdict = "pass" if score >= 95 else "marginal" if score >= 75 else "fail"
        if any(m in CRITICAL and r[0] != "pass" for m, r in zip(names, results)):
            verdict = "fail"
        print(json.dumps({"pair": pair["pair"], "kind": pair["kind"], "score": score, "verdict": verdict,
                          "classes": [r[0] for r in results], "p": [r[1] for r in results]}))


def report(folder, triage_file, peer_file):
    kinds = {json.loads(l)["pair"]: json.loads(l)["kind"] for l in open(f"{folder}/pairs.jsonl")}
    triage = {json.loads(l)["pair"]: json.loads(l) for l in open(triage_file)}
    peer = {json.loads(l)["pair"]: json.loads(l) for l in open(peer_file)}
    disagree = [p for p in kinds if triage[p]["verdict"] != peer[p]["verdict"]]
    for group, members in [("clean", [p for p in kinds if kinds[p] == "clean"]),
                           ("regression", [p for p in kinds if kinds[p] != "clean"]),
                           ("  errors +3 points", [p for p in kinds if kinds[p] == "errors"]),
                           ("  p99 x1.3", [p for p in kinds if kinds[p] == "latency"])]:
        for who, verdicts in [("triage", triage), ("scipy ", peer)]:
            counts = {v: sum(verdicts[p]["verdict"] == v for p in members) for v in ("pass", "marginal", "fail")}
            n = max(1, len(members))
            print(f"{group:18s} {who} n={len(members):3d}  pass {100 * counts['pass'] / n:5.1f} %  "
                  f"marginal {100 * counts['marginal'] / n:5.1f} %  fail {100 * counts['fail'] / n:5.1f} %")
    print(f"verdict agreement: {len(kinds) - len(disagree)}/{len(kinds)} "
          f"({100 * (len(kinds) - len(disagree)) / len(kinds):.1f} %)" + (f"; differ: {disagree[:10]}" if disagree else ""))
    clean = [p for p in kinds if kinds[p] == "clean"]
    tests = [x for p in clean for x in triage[p]["p"]]
    flagged = sum(c != "pass" for p in clean for c in peer[p]["classes"])
    print(f"clean pairs: {sum(x < 1 - CONFIDENCE for x in tests)} of {len(tests)} metric comparisons significant "
          f"(p < {1 - CONFIDENCE:.2f}), {flagged} classified high/low")
    # Largest p-value difference on metrics both sides judged, as a check of the statistic itself.
    diffs = [abs(a - b) for p in kinds for a, b in zip(triage[p]["p"], peer[p]["p"])]
    print(f"largest |p_triage - p_scipy| over {len(diffs)} metric comparisons: {max(diffs):.3g}")


if __name__ == "__main__":
    command = sys.argv[1]
    if command == "generate":
        generate(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))
    elif command == "judge":
        judge(sys.argv[2], sys.argv[3], float(sys.argv[4]) if len(sys.argv) > 4 else RELATIVE)
    elif command == "report":
        report(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        sys.exit(f"unknown command {command}")
