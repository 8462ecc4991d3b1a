#!/usr/bin/env python3
"""Seed sweep of the online detector on the visible NAB files: the detector's expected NAB
score, not one seed's.

For every seed it runs `triage-bench stream-nab` (the same detector as `triage watch`, optionally
with a configuration override for method studies), scores the results with nab_score.py and
prints, per profile, each seed's normalised score and the min / mean / max over seeds. It also
prints the leave-one-file-out score: each file is scored at the threshold the sweep picks on the
other files, so a detector whose good threshold depends on the file it is scored on is found out.

Usage:
  nab_seeds.py --bench TRIAGE_BENCH --data NAB_DIR [--seeds 0-9] [--config JSON] [--json]
  nab_seeds.py --triage TRIAGE --data NAB_DIR [--seeds 0-9] [--json]   # through `triage watch`
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nab_score  # noqa: E402


def parse_seeds(text):
    seeds = []
    for part in text.split(","):
        if "-" in part:
            a, b = part.split("-")
            seeds += list(range(int(a), int(b) + 1))
        else:
            seeds.append(int(part))
    return seeds


def leave_one_file_out(corpus, scores, profile):
    """Normalised score when each file is scored at the threshold optimised on the others."""
    w = nab_score.PROFILES[profile]
    total = 0.0
    for held in corpus:
        rest = [cf for cf in corpus if cf is not held]
        threshold, _ = nab_score.sweep(rest, scores, profile)
        per_file, _, _ = nab_score.score_at([held], scores, profile, threshold)
        total += per_file[held.name]
    n_windows = sum(len(cf.windows) for cf in corpus)
    null, perfect = -w["fn"] * n_windows, w["tp"] * n_windows
    return 100.0 * (total - null) / (perfect - null)


def run_seed(bench, triage, data, seed, config, corpus):
    with tempfile.TemporaryDirectory() as out:
        if triage:  # end to end through the CLI, the shipped defaults
            for cf in corpus:
                os.makedirs(os.path.dirname(os.path.join(out, cf.name)), exist_ok=True)
                subprocess.run([triage, "watch", os.path.join(data, cf.name), "--scores", os.path.join(out, cf.name),
                                "--seed", str(seed), "--quiet"], check=True)
        else:
            cmd = [bench, "stream-nab", "--data", data, "--output", out, "--seed", str(seed)]
            if config:
                cmd += ["--config", config]
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        scores = nab_score.load_results(corpus, out)
    result = nab_score.evaluate(corpus, scores)
    row = {p: result[p]["normalised"] for p in nab_score.PROFILES}
    row["lofo_standard"] = leave_one_file_out(corpus, scores, "standard")
    row["per_file"] = result["standard"]["per_file"]
    return row


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bench", help="triage-bench (method studies, --config)")
    ap.add_argument("--triage", help="triage: run `triage watch` per file instead (the shipped defaults)")
    ap.add_argument("--data", required=True)
    ap.add_argument("--seeds", default="0-9")
    ap.add_argument("--config")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if not (args.bench or args.triage) or (args.triage and args.config):
        ap.error("--bench [--config] or --triage required")
    corpus = nab_score.load_corpus(args.data)
    seeds = parse_seeds(args.seeds)
    rows = {s: run_seed(args.bench, args.triage, args.data, s, args.config, corpus) for s in seeds}
    keys = list(nab_score.PROFILES) + ["lofo_standard"]
    summary = {}
    for k in keys:
        values = [rows[s][k] for s in seeds]
        summary[k] = {"min": min(values), "mean": sum(values) / len(values), "max": max(values)}
    if args.json:
        print(json.dumps({"seeds": {str(s): rows[s] for s in seeds}, "summary": summary}))
        return
    print(f"{'seed':>4s} " + " ".join(f"{k:>19s}" for k in keys))
    for s in seeds:
        print(f"{s:4d} " + " ".join(f"{rows[s][k]:19.2f}" for k in keys))
    for stat in ("min", "mean", "max"):
        print(f"{stat:>4s} " + " ".join(f"{summary[k][stat]:19.2f}" for k in keys))
    names = list(rows[seeds[0]]["per_file"])
    print("\nmean per-file raw score (standard profile, corpus threshold of each seed)")
    for name in names:
        print(f"  {name:58s} {sum(rows[s]['per_file'][name] for s in seeds) / len(seeds):8.4f}")


if __name__ == "__main__":
    main()
