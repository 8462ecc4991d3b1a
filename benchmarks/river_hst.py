#!/usr/bin/env python3
"""River's HalfSpaceTrees (defaults) behind a MinMaxScaler, run the way `triage watch` runs:
a metrics CSV in, `timestamp,anomaly_score` out, each row scored before it is learned.

Usage: river_hst.py METRICS.csv OUT.csv [--rows N] [--seed 0]
Prints one JSON object: rows, wall seconds and points/s, CPU seconds and points/s.
"""
import argparse
import csv
import json
import time

from river import anomaly, preprocessing


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("metrics")
    ap.add_argument("output")
    ap.add_argument("--rows", type=int, default=0, help="stop after N rows (0 = all)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--time-column", default="timestamp")
    args = ap.parse_args()
    start = time.perf_counter()
    cpu_start = time.process_time()
    scaler = preprocessing.MinMaxScaler()
    model = anomaly.HalfSpaceTrees(seed=args.seed)
    rows = 0
    with open(args.metrics, newline="") as f, open(args.output, "w", newline="") as out:
        reader = csv.reader(f)
        header = next(reader)
        ti = header.index(args.time_column)
        names = [h for i, h in enumerate(header) if i != ti]
        out.write("timestamp,anomaly_score\n")
        for r in reader:
            x = {}
            for i, h in enumerate(header):
                if i != ti:
                    x[h] = float(r[i])
            scaler.learn_one(x)
            xs = scaler.transform_one(x)
            score = model.score_one(xs)
            model.learn_one(xs)
            out.write(f"{r[ti]},{score!r}\n")
            rows += 1
            if args.rows and rows >= args.rows:
                break
    seconds = time.perf_counter() - start
    cpu = time.process_time() - cpu_start
    print(json.dumps({"rows": rows, "seconds": seconds, "points_per_s": rows / seconds,
                      "cpu_seconds": cpu, "cpu_points_per_s": rows / cpu}))


if __name__ == "__main__":
    main()
