#!/usr/bin/env python3
"""Cross-validated NAB scores: what a detector's settings are worth on files they were not
chosen on.

NAB optimises one threshold per (detector, profile) on the corpus it scores. On the 26 visible
files that figure flatters whatever was tuned on them, so this script also reports:

- per category: each NAB category's normalised score at the corpus threshold;
- LOCO threshold: leave one category out -- each category is scored at the threshold the sweep
  picks on the other six; the held-out raw scores are summed and normalised over all windows;
- with several result folders (candidate configurations), nested selection: for each held-out
  category, the candidate with the best score on the other six is chosen (with its threshold)
  and scored on the held-out category. This is the honest estimate of "pick the best
  configuration on the visible files, then run it on new ones".

Usage:
  nab_cv.py [--data NAB_DIR] DIR [DIR ...]      # each DIR/CATEGORY/FILE.csv[.gz]
  nab_cv.py --reference [--data NAB_DIR]        # the stored detectors in reference/
  add --json for machine-readable output.
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nab_score  # noqa: E402

REFERENCE = ("numenta", "contextOSE", "ARTime", "randomCutForest", "windowedGaussian")


def category(cf):
    return cf.name.split("/")[0]


def normalise(raw, n_windows, profile):
    w = nab_score.PROFILES[profile]
    null, perfect = -w["fn"] * n_windows, w["tp"] * n_windows
    return 100.0 * (raw - null) / (perfect - null)


def train_sweep(corpus, scores, profile):
    threshold, raw = nab_score.sweep(corpus, scores, profile)
    n = sum(len(cf.windows) for cf in corpus)
    return threshold, normalise(raw, n, profile)


def held_out_raw(corpus, scores, profile, threshold):
    per_file, _, _ = nab_score.score_at(corpus, scores, profile, threshold)
    return sum(per_file.values())


def report(corpus, scores, profiles=tuple(nab_score.PROFILES)):
    """All-files score, per-category scores at the corpus threshold, LOCO-threshold score."""
    cats = sorted({category(cf) for cf in corpus})
    n_all = sum(len(cf.windows) for cf in corpus)
    out = {}
    for profile in profiles:
        threshold, norm = train_sweep(corpus, scores, profile)
        per_file, _, _ = nab_score.score_at(corpus, scores, profile, threshold)
        per_cat = {}
        for c in cats:
            files = [cf for cf in corpus if category(cf) == c]
            n = sum(len(cf.windows) for cf in files)
            raw = sum(per_file[cf.name] for cf in files)
            per_cat[c] = normalise(raw, n, profile) if n else raw  # no windows: raw FP cost
        loco_raw = 0.0
        for c in cats:
            train = [cf for cf in corpus if category(cf) != c]
            test = [cf for cf in corpus if category(cf) == c]
            t, _ = nab_score.sweep(train, scores, profile)
            loco_raw += held_out_raw(test, scores, profile, t)
        out[profile] = {"all": norm, "threshold": threshold, "per_category": per_cat,
                        "loco": normalise(loco_raw, n_all, profile)}
    return out


def nested(corpus, candidates, profile="standard"):
    """Nested leave-one-category-out selection among candidate score sets."""
    cats = sorted({category(cf) for cf in corpus})
    n_all = sum(len(cf.windows) for cf in corpus)
    total, picks = 0.0, {}
    for c in cats:
        train = [cf for cf in corpus if category(cf) != c]
        test = [cf for cf in corpus if category(cf) == c]
        best = None
        for name, scores in candidates.items():
            t, raw = nab_score.sweep(train, scores, profile)
            if best is None or raw > best[0]:
                best = (raw, name, t)
        _, name, t = best
        picks[c] = name
        total += held_out_raw(test, candidates[name], profile, t)
    return normalise(total, n_all, profile), picks


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dirs", nargs="*")
    ap.add_argument("--data", default=nab_score.DEFAULT_DATA)
    ap.add_argument("--reference", action="store_true")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    corpus = nab_score.load_corpus(args.data)
    named = [(d, os.path.join(args.data, "reference", d)) for d in REFERENCE] if args.reference else []
    named += [(os.path.basename(os.path.normpath(d)), d) for d in args.dirs]
    results, candidates = {}, {}
    for name, d in named:
        scores = nab_score.load_results(corpus, d)
        candidates[name] = scores
        results[name] = report(corpus, scores)
    if len(args.dirs) > 1:
        score, picks = nested(corpus, {n: candidates[n] for n, _ in named if n not in REFERENCE})
        results["_nested_selection"] = {"standard": score, "picks": picks}
    if args.json:
        print(json.dumps(results))
        return
    cats = sorted({category(cf) for cf in corpus})
    short = {c: c.replace("artificial", "art").replace("real", "") for c in cats}
    print(f"{'detector':34s} {'profile':8s} {'all-26':>7s} {'LOCO':>7s}  " + " ".join(f"{short[c]:>13s}" for c in cats))
    for name, r in results.items():
        if name == "_nested_selection":
            continue
        for profile, p in r.items():
            tag = {"standard": "std", "reward_low_FP_rate": "lowFP", "reward_low_FN_rate": "lowFN"}[profile]
            print(f"{name[:34]:34s} {tag:8s} {p['all']:7.2f} {p['loco']:7.2f}  "
                  + " ".join(f"{p['per_category'][c]:13.2f}" for c in cats))
    if "_nested_selection" in results:
        ns = results["_nested_selection"]
        print(f"nested LOCO selection (standard): {ns['standard']:.2f}; picks {ns['picks']}")


if __name__ == "__main__":
    main()
