#!/usr/bin/env python3
"""NAB scorer of our own, written from the published rules (Lavin & Ahmad, "Evaluating real-time
anomaly detection algorithms -- the Numenta Anomaly Benchmark", ICMLA 2015) as restated in
../shared/datasets/nab/reference/README.md.

- Anomaly windows from labels.json; each bound is the first row with that timestamp.
- Probationary period P = min(floor(0.15 n), 750) rows per file, left out of scoring.
- Scaled sigmoid f(x) = 2 / (1 + exp(5x)) - 1 (x <= 3), -1 beyond.
- In a window only the earliest detection counts: A_TP * f(x) / f(-1), x = -(b - i + 1) / w;
  a window with no detection costs -A_FN.
- A detection outside windows costs A_FP * f(y), y = (i - b') / (w' - 1) from the last window
  that ended before it, or -A_FP when there is none.
- One threshold per (detector, profile) for the whole corpus, chosen by an exhaustive sweep
  over 1.1 and every distinct score of the non-probationary rows (ties: the higher threshold).
- Normalised = 100 (S - S_null) / (S_perfect - S_null), S_perfect = A_TP W, S_null = -A_FN W.

The sweep is O(n log n): rows are visited from the highest score down, so each candidate
threshold only adds the rows at its score to the running window maxima and the FP sum.

Usage:
  nab_score.py --results DIR [--data NAB_DIR] [--json]   # DIR/CATEGORY/FILE.csv[.gz]
  nab_score.py --check-reference [--data NAB_DIR]        # reproduce official_scores.json
"""
import argparse
import csv
import datetime as dt
import gzip
import json
import math
import os
import sys

PROFILES = {
    "standard": {"tp": 1.0, "fp": 0.11, "fn": 1.0},
    "reward_low_FP_rate": {"tp": 1.0, "fp": 0.22, "fn": 1.0},
    "reward_low_FN_rate": {"tp": 1.0, "fp": 0.11, "fn": 2.0},
}
_HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_DATA = next((p for p in (os.environ.get("SHARED", "") and os.path.join(os.environ["SHARED"], "datasets", "nab"),
                                 os.path.join(_HERE, "..", "..", "shared", "datasets", "nab"),
                                 os.path.join(_HERE, "..", "..", "..", "shared", "datasets", "nab")) if p and os.path.isdir(p)),
                    os.path.join(_HERE, "..", "..", "shared", "datasets", "nab"))


def scaled_sigmoid(x):
    if x > 3.0:
        return -1.0
    return 2.0 / (1.0 + math.exp(5.0 * x)) - 1.0


def parse_time(text):
    text = text.strip()
    for fmt in ("%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S"):
        try:
            return dt.datetime.strptime(text, fmt)
        except ValueError:
            pass
    raise ValueError(f"unrecognised timestamp {text!r}")


def read_csv_rows(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", newline="") as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]


class CorpusFile:
    """One data file: its row count, windows as row ranges and probationary length."""

    def __init__(self, name, data_dir, label_windows):
        header, rows = read_csv_rows(os.path.join(data_dir, name))
        ti = header.index("timestamp")
        times = [parse_time(r[ti]) for r in rows]
        first = {}
        for i, t in enumerate(times):
            first.setdefault(t, i)
        self.name = name
        self.n = len(rows)
        self.windows = []
        for start, end in label_windows:
            a, b = first[parse_time(start)], first[parse_time(end)]
            self.windows.append((a, b))
        self.windows.sort()
        self.probation = min(int(math.floor(0.15 * self.n)), 750)
        # Per row: window index or -1, and for rows outside windows the previous window.
        self.window_of = [-1] * self.n
        for k, (a, b) in enumerate(self.windows):
            for i in range(a, b + 1):
                self.window_of[i] = k

    def row_values(self, profile):
        """(kind, key, value) per scored row: kind 'tp' with window index, or 'fp'."""
        w = PROFILES[profile]
        max_tp = scaled_sigmoid(-1.0)
        out = []
        prev = None  # (right index, width) of the last window that ended before row i
        k_next = 0
        for i in range(self.n):
            while k_next < len(self.windows) and self.windows[k_next][1] < i:
                a, b = self.windows[k_next]
                prev = (b, b - a + 1)
                k_next += 1
            if i < self.probation:
                out.append(None)
                continue
            k = self.window_of[i]
            if k >= 0:
                a, b = self.windows[k]
                width = b - a + 1
                x = -(b - i + 1) / width
                out.append(("tp", k, scaled_sigmoid(x) * w["tp"] / max_tp))
            elif prev is None:
                out.append(("fp", None, -1.0 * w["fp"]))
            else:
                b, width = prev
                y = abs(b - i) / float(width - 1)
                out.append(("fp", None, scaled_sigmoid(y) * w["fp"]))
        return out


def load_corpus(data_dir):
    with open(os.path.join(data_dir, "labels.json")) as f:
        labels = json.load(f)
    return [CorpusFile(name, data_dir, labels[name]) for name in sorted(labels)]


def sweep(corpus, scores_by_file, profile):
    """Exhaustive threshold sweep; returns (threshold, raw total)."""
    w = PROFILES[profile]
    events = []  # (score, file index, row value)
    window_ids = []
    for fi, cf in enumerate(corpus):
        values = cf.row_values(profile)
        scores = scores_by_file[cf.name]
        if len(scores) != cf.n:
            raise SystemExit(f"{cf.name}: {len(scores)} scores for {cf.n} rows")
        for i, v in enumerate(values):
            if v is not None:
                events.append((scores[i], fi, v))
        window_ids += [(fi, k) for k in range(len(cf.windows))]
    events.sort(key=lambda e: -e[0])
    best_in_window = {key: None for key in window_ids}
    n_windows = len(window_ids)
    windows_total = -w["fn"] * n_windows  # sum of window contributions
    fp_total = 0.0
    best_threshold, best_raw = 1.1, windows_total
    i = 0
    while i < len(events):
        t = events[i][0]
        while i < len(events) and events[i][0] == t:
            _, fi, (kind, k, value) = events[i]
            if kind == "tp":
                key = (fi, k)
                old = best_in_window[key]
                old_contrib = -w["fn"] if old is None else old
                if old is None or value > old:
                    best_in_window[key] = value
                    windows_total += value - old_contrib
            else:
                fp_total += value
            i += 1
        raw = windows_total + fp_total
        if t <= 1.1 and raw > best_raw:
            best_threshold, best_raw = t, raw
    return best_threshold, best_raw


def score_at(corpus, scores_by_file, profile, threshold):
    """Per-file raw scores at one threshold, plus TP/FP row counts."""
    w = PROFILES[profile]
    per_file, tp_rows, fp_rows = {}, 0, 0
    for cf in corpus:
        scores = scores_by_file[cf.name]
        best = [None] * len(cf.windows)
        fp = 0.0
        for i, v in enumerate(cf.row_values(profile)):
            if v is None or scores[i] < threshold:
                continue
            kind, k, value = v
            if kind == "tp":
                tp_rows += 1
                if best[k] is None or value > best[k]:
                    best[k] = value
            else:
                fp_rows += 1
                fp += value
        per_file[cf.name] = sum(-w["fn"] if b is None else b for b in best) + fp
    return per_file, tp_rows, fp_rows


def evaluate(corpus, scores_by_file):
    n_windows = sum(len(cf.windows) for cf in corpus)
    result = {}
    for profile, w in PROFILES.items():
        threshold, raw = sweep(corpus, scores_by_file, profile)
        per_file, tp_rows, fp_rows = score_at(corpus, scores_by_file, profile, threshold)
        null, perfect = -w["fn"] * n_windows, w["tp"] * n_windows
        result[profile] = {
            "threshold": threshold, "raw": raw, "normalised": 100.0 * (raw - null) / (perfect - null),
            "per_file": per_file, "tp_rows": tp_rows, "fp_rows": fp_rows,
        }
    return result


def read_scores(path):
    header, rows = read_csv_rows(path)
    si = header.index("anomaly_score")
    return [float(r[si]) for r in rows]


def load_results(corpus, results_dir):
    out = {}
    for cf in corpus:
        for suffix in ("", ".gz"):
            p = os.path.join(results_dir, cf.name + suffix)
            if os.path.exists(p):
                out[cf.name] = read_scores(p)
                break
        else:
            raise SystemExit(f"no results for {cf.name} in {results_dir}")
    return out


def check_reference(corpus, data_dir):
    ref_dir = os.path.join(data_dir, "reference")
    with open(os.path.join(ref_dir, "official_scores.json")) as f:
        official = json.load(f)
    detectors = [d for d in ("numenta", "windowedGaussian", "randomCutForest", "ARTime", "contextOSE") if os.path.isdir(os.path.join(ref_dir, d))]
    worst = 0.0
    failures = 0
    for d in detectors:
        ours = evaluate(corpus, load_results(corpus, os.path.join(ref_dir, d)))
        for profile in PROFILES:
            ref = official["detectors"][d][profile]
            o = ours[profile]
            ref_norm, ref_raw, ref_thr = ref["normalized"], ref["raw"], float(ref["threshold"])
            diff = abs(o["normalised"] - ref_norm)
            worst = max(worst, diff)
            files_ok = all(abs(o["per_file"][name] - ref["per_file"][name]["raw"]) < 1e-9 for name in o["per_file"])
            ok = (diff < 1e-9 and abs(o["raw"] - ref_raw) < 1e-9 and abs(o["threshold"] - ref_thr) < 1e-12
                  and files_ok and o["tp_rows"] == ref["tp_rows"] and o["fp_rows"] == ref["fp_rows"])
            failures += 0 if ok else 1
            print(f"{d:17s} {profile:19s} ours {o['normalised']:9.4f} (raw {o['raw']:.9f}, thr {o['threshold']:.12g})"
                  f"  official {ref_norm:9.4f} (raw {ref_raw}, thr {ref_thr})  {'OK' if ok else 'MISMATCH'}")
    print(f"largest |normalised difference| = {worst:.3g}; {failures} mismatches")
    return failures == 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=DEFAULT_DATA, help="NAB folder with labels.json and the data files")
    ap.add_argument("--results", help="folder of CATEGORY/FILE.csv score files")
    ap.add_argument("--check-reference", action="store_true")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    corpus = load_corpus(args.data)
    if args.check_reference:
        sys.exit(0 if check_reference(corpus, args.data) else 1)
    if not args.results:
        ap.error("--results or --check-reference required")
    result = evaluate(corpus, load_results(corpus, args.results))
    if args.json:
        print(json.dumps(result))
        return
    for profile, r in result.items():
        print(f"{profile:19s} normalised {r['normalised']:8.3f}  raw {r['raw']:9.5f}  threshold {r['threshold']:.10g}"
              f"  TP rows {r['tp_rows']}  FP rows {r['fp_rows']}")
    for name, raw in result["standard"]["per_file"].items():
        print(f"  standard {name:60s} {raw:9.5f}")


if __name__ == "__main__":
    main()
