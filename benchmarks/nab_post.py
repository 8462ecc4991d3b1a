#!/usr/bin/env python3
"""Post-processing study of the online detector on NAB: rebuilds the detector's final score from
the per-point evidence `triage-bench stream-nab` writes (forest, difference z-score and seasonal
evidence, readiness) and the values, so the combination, range rule, hold-off and any score
post-processing can be varied without re-running the detector. With the default settings it
reproduces the Swift detector's score exactly (checked by --check).

The evidence columns do not depend on the range rule, the recurrence filter or the hold-off,
so one `stream-nab` run per seed (any settings of those) serves every variant. Variants studied
(BENCHMARKS.md, "Online detector", fourth pass): `quantum` (coarse score levels), `range_min`,
`evidence_scale`, `range_floor`, `overlap` (forest and z evidence counted partly), `lik`
(Numenta's anomaly likelihood over the combined evidence), `recal` (a second tail calibration
of the combined evidence), `period_filter` (point-lag recurrence), `recurrence` (the shipped
`RecurringAlarmFilter`, by time).

What the forest's tail calibrator sees can be varied too: `forest_evidence(comp, window, mode)`
recomputes the forest evidence from the raw forest score column with the port of
`TailCalibrator` (window 2, "mean": the shipped `forestAveraging`; BENCHMARKS.md, fifth pass).
`--check` also checks that this reproduces the Swift forest evidence exactly.

Usage:
  nab_post.py [--data NAB_DIR] [--check] RUN_DIR [RUN_DIR ...]
  --check: the rebuilt default score must equal the Swift detector's `anomaly_score` column.
The harness is a library for study scripts: `rebuild(components, params)`, `evaluate(...)`.
"""
import argparse
import datetime
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nab_score  # noqa: E402
import nab_cv  # noqa: E402


def ready_flags(rows, ix):
    if "ready" in ix:
        return [r[ix["ready"]] == "1" for r in rows]
    # Older dumps: ready from the first point with calibrated evidence or a score.
    flags, on = [], False
    for r in rows:
        on = on or float(r[ix["forest_evidence"]]) > 0 or float(r[ix["statistical_evidence"]]) > 0 \
            or float(r[ix["anomaly_score"]]) > 0
        flags.append(on)
    return flags


def daily_period(drows, ti):
    """Points per day from the median sampling interval (None when under 2 per day)."""
    times = [nab_score.parse_time(r[ti]) for r in drows[:2000]]
    gaps = sorted((b - a).total_seconds() for a, b in zip(times, times[1:]) if b > a)
    step = gaps[len(gaps) // 2]
    per_day = 86400 / step
    return int(round(per_day)) if per_day >= 2 and abs(per_day - round(per_day)) < 0.01 else None


def load_components(corpus, run_dir, data_dir):
    out = {}
    for cf in corpus:
        header, rows = nab_score.read_csv_rows(os.path.join(run_dir, cf.name))
        ix = {h: i for i, h in enumerate(header)}
        dh, drows = nab_score.read_csv_rows(os.path.join(data_dir, cf.name))
        vi = dh.index("value")
        out[cf.name] = {
            "value": [float(r[vi]) for r in drows],
            "fe": [float(r[ix["forest_evidence"]]) for r in rows],
            "se": [float(r[ix["statistical_evidence"]]) for r in rows],
            "sea": [float(r[ix["seasonal_evidence"]]) for r in rows],
            "forest": [float(r[ix["forest"]]) for r in rows] if "forest" in ix else None,
            "ready": ready_flags(rows, ix),
            "swift": [float(r[ix["anomaly_score"]]) for r in rows],
            "period": daily_period(drows, dh.index("timestamp")),
            "time": [nab_score.parse_time(r[dh.index("timestamp")]).replace(tzinfo=datetime.timezone.utc).timestamp() for r in drows],
        }
    return out


DEFAULT = dict(alarm_evidence=4.0, suppressed_evidence=3.0, weights=(1.0, 1.0, 1.0),
               range_tolerance=0.2, range_floor=0.5, hold_points=20, hold_alarm=0.5,
               hold_cap=0.375, post=None, evidence_scale=5.0, range_min=0.0, quantum=0.0, overlap=0.0, lik=None, period_filter=None, recal=None,
               recurrence=dict(periods=[86400.0], tolerance=0.02, level=5.0, cap=3.0),
               range_recurrence=0.2)


class Tail:
    """Python port of TailCalibrator (same histogram, refresh and exponential tail)."""

    def __init__(self, q=0.995, bins=1024, learning=100, memory=100000.0, refresh_every=100, min_excess=0.03):
        self.q, self.bins, self.learning, self.memory = q, bins, learning, memory
        self.refresh_every, self.min_excess = refresh_every, min_excess
        self.counts = [0.0] * bins
        self.frac = [1.0] * bins
        self.total = 0.0
        self.seen = 0
        self.since = 0
        self.threshold, self.excess_mean = 1.0, 0.01

    def update(self, raw):
        x = min(1.0, max(0.0, raw))
        e = 0.0
        if self.seen >= self.learning:
            if x > self.threshold:
                t = (1 - self.q) * math.exp(-(x - self.threshold) / self.excess_mean)
            else:
                b = min(self.bins - 1, int(x * self.bins))
                t = max(self.frac[b], 1 - self.q)
            e = -math.log10(max(t, 1e-300))
        b = min(self.bins - 1, int(x * self.bins))
        self.counts[b] += 1
        self.total += 1
        self.seen += 1
        if self.total > self.memory:
            self.counts = [c * 0.5 for c in self.counts]
            self.total *= 0.5
        self.since += 1
        if self.seen == self.learning or self.since >= self.refresh_every:
            self.refresh()
        return e

    def refresh(self):
        self.since = 0
        width = 1.0 / self.bins
        target = self.total * (1 - self.q)
        norm = max(self.total, 1)
        running, lowest, found = 0.0, 0, False
        for j in range(self.bins - 1, -1, -1):
            running += self.counts[j]
            self.frac[j] = running / norm
            if not found and (running >= target or j == 0):
                lowest, found = j, True
        self.threshold = (lowest + 1) * width
        ex, n = 0.0, 0.0
        for j in range(lowest + 1, self.bins):
            if self.counts[j] > 0:
                ex += self.counts[j] * ((j + 0.5) * width - self.threshold)
                n += self.counts[j]
        self.excess_mean = max(ex / n if n > 0 else 0.0, self.min_excess)


def forest_evidence(comp, window=2, mode="mean"):
    """The forest's tail evidence from its raw scores, the calibrator fed a summary ("mean",
    "median", "min") of the last `window` scored points, as `SeriesAnomalyDetector` does with
    `forestAveraging` (mean). A point is scored (and the calibrator learns) once the forest has
    grown: raw score > 0."""
    tail, buf, out = Tail(), [], []
    for x in comp["forest"]:
        if x <= 0:
            out.append(0.0)
            continue
        buf.append(x)
        if len(buf) > window:
            buf.pop(0)
        if mode == "mean":
            y = sum(buf) / len(buf)
        elif mode == "median":
            y = sorted(buf)[len(buf) // 2]
        else:
            y = min(buf)
        out.append(tail.update(y))
    return out


def recalibrate(state, total, spec):
    """Second-level calibration of the combined evidence against the series' own history."""
    cal = state.get("cal")
    if cal is None:
        cal = state["cal"] = Tail(q=spec.get("q", 0.995), learning=spec.get("learning", 100))
    e2 = cal.update(total / (total + spec.get("scale", 5.0)))
    if spec["mode"] == "replace":
        return e2
    if spec["mode"] == "min":
        return min(total, e2)
    if spec["mode"] == "mean":
        return 0.5 * (total + e2)
    return total


def q_function(z):
    return 0.5 * math.erfc(z / math.sqrt(2))


def likelihood(state, total, spec):
    """Numenta-style anomaly likelihood over the combined evidence: the mean of the last
    `window` evidences against the long-run mean and spread of that mean (EW, `alpha`)."""
    window, alpha, mode, weight = spec["window"], spec["alpha"], spec["mode"], spec.get("weight", 1.0)
    buf = state.setdefault("buf", [])
    buf.append(total)
    if len(buf) > window:
        buf.pop(0)
    m = sum(buf) / len(buf)
    n = state.get("n", 0)
    mu, var = state.get("mu", m), state.get("var", 0.0)
    lik_e = 0.0
    if n >= spec.get("warm", 300):
        sd = max(math.sqrt(var), spec.get("min_sd", 0.05))
        z = (m - mu) / sd
        lik_e = min(-math.log10(max(q_function(z), 1e-300)), 30.0)
    a = max(alpha, 1.0 / (n + 1))
    d = m - mu
    mu += a * d
    var = (1 - a) * (var + a * d * d)
    state.update(n=n + 1, mu=mu, var=var)
    if mode == "max":
        return max(total, weight * lik_e)
    if mode == "sum":
        return total + weight * lik_e
    return weight * lik_e


def period_filter(state, total, comp, i, spec):
    """Discounts evidence that recurs at the same phase one period earlier (daily jobs)."""
    hist = state.setdefault("hist", [])
    period = comp["period"]
    out = total
    if period and len(hist) >= period + spec["slack"]:
        past = max(hist[len(hist) - period - spec["slack"]: len(hist) - period + spec["slack"] + 1])
        if spec.get("mode") == "cap":
            if past >= spec["level"]:
                out = min(total, spec["cap"])
        else:
            out = max(0.0, total - spec["gamma"] * past)
    hist.append(total)
    if period and len(hist) > period + spec["slack"] + 1:
        hist.pop(0)
    return out


def recurrence_filter(state, total, t, spec):
    """Caps evidence at `cap` when an alarm (evidence >= `level`) happened one period earlier,
    within +- tolerance * period (time based): a daily job's spike alarms on its first day only."""
    alarms = state.setdefault("alarm_times", [])
    out = total
    state["recurred"] = False
    for period in spec["periods"]:
        w = spec["tolerance"] * period
        lo, hi = t - period - w, t - period + w
        if any(lo <= a <= hi for a in alarms):
            out = min(out, spec["cap"])
            state["recurred"] = True
            break
    if total >= spec["level"] and spec["periods"]:
        alarms.append(t)
        horizon = t - max(spec["periods"]) * (1 + spec["tolerance"])
        while alarms and alarms[0] < horizon:
            alarms.pop(0)
        if len(alarms) > spec.get("capacity", 64):
            alarms.pop(0)
    return out


def rebuild(comp, p):
    n = len(comp["value"])
    prev = [0.0, 0.0, 0.0]
    lo, hi = math.inf, -math.inf
    remaining = 0
    out = [0.0] * n
    w = p["weights"]
    post = p["post"]
    state = {}
    for i in range(n):
        ev = (comp["fe"][i], comp["se"][i], comp["sea"][i])
        total = 0.0
        capped = []
        for k in range(3):
            e = ev[k]
            if prev[k] > p["alarm_evidence"]:
                e = min(e, p["suppressed_evidence"])
            capped.append(e)
            total += w[k] * e
        if p["overlap"] > 0:  # forest and z see the same jump: count the smaller one partly
            total -= p["overlap"] * min(w[0] * capped[0], w[1] * capped[1])
        if p["recal"] is not None and comp["ready"][i]:
            total = recalibrate(state, total, p["recal"])
        if p["recurrence"] is not None:
            total = recurrence_filter(state, total, comp["time"][i], p["recurrence"])
        if p["lik"] is not None:
            total = likelihood(state, total, p["lik"])
        if p["period_filter"] is not None:
            total = period_filter(state, total, comp, i, p["period_filter"])
        prev = list(ev)
        ready = comp["ready"][i]
        if post is not None:
            total = post(state, total, ev, ready, comp["value"][i])
        score = total / (total + p["evidence_scale"]) if ready else 0.0
        x = comp["value"][i]
        excess = 0.0
        if lo < hi:
            width = hi - lo
            if x > hi:
                excess = (x - hi) / width
            elif x < lo:
                excess = (lo - x) / width
        lo, hi = min(lo, x), max(hi, x)
        if p["range_tolerance"] > 0 and ready and excess > p["range_min"]:
            f = p["range_floor"]
            rs = f + (1 - f) * min(1.0, excess / p["range_tolerance"])
            rr = p["range_recurrence"]
            if rr is not None and state.get("recurred") and excess < rr:
                rs = min(rs, p["hold_cap"])
            score = max(score, rs)
        if p["quantum"] > 0:
            score = math.floor(score / p["quantum"]) * p["quantum"]
        if remaining > 0:
            remaining -= 1
            score = min(score, p["hold_cap"])
        elif score >= p["hold_alarm"]:
            remaining = p["hold_points"]
        out[i] = score
    return out


def evaluate(corpus, runs, params, profile="standard"):
    """Mean over runs of (all-26, LOCO) and per category."""
    rows = []
    for comps in runs:
        scores = {name: rebuild(c, params) for name, c in comps.items()}
        r = nab_cv.report(corpus, scores, profiles=(profile,))[profile]
        rows.append(r)
    m = lambda key: sum(r[key] for r in rows) / len(rows)
    cats = rows[0]["per_category"].keys()
    per_cat = {c: sum(r["per_category"][c] for r in rows) / len(rows) for c in cats}
    return m("all"), m("loco"), per_cat, [r["threshold"] for r in rows], [(r["all"], r["loco"]) for r in rows]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("runs", nargs="+")
    ap.add_argument("--data", default=nab_score.DEFAULT_DATA)
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args()
    corpus = nab_score.load_corpus(args.data)
    runs = [load_components(corpus, d, args.data) for d in args.runs]
    if args.check:
        worst = 0.0
        for comps in runs:
            for name, c in comps.items():
                mine = rebuild(c, DEFAULT)
                worst = max(worst, max(abs(a - b) for a, b in zip(mine, c["swift"])))
        print("largest difference to Swift:", worst)
        worst = 0.0
        for comps in runs:
            for name, c in comps.items():
                if c["forest"] is not None:
                    fe = forest_evidence(c)
                    worst = max(worst, max(abs(a - b) for a, b in zip(fe, c["fe"])))
        print("largest difference of the forest evidence (2-point mean) to Swift:", worst)
    a, l, pc, th, each = evaluate(corpus, runs, DEFAULT)
    print(f"default: all {a:.2f} LOCO {l:.2f} thresholds {th} each {each}")
    print(" ".join(f"{k}:{v:.1f}" for k, v in pc.items()))


if __name__ == "__main__":
    main()


_row_cache = {}
_orig_row_values = nab_score.CorpusFile.row_values


def _cached_row_values(self, profile):
    key = (self.name, profile)
    if key not in _row_cache:
        _row_cache[key] = _orig_row_values(self, profile)
    return _row_cache[key]


nab_score.CorpusFile.row_values = _cached_row_values
