#!/usr/bin/env bash
# CSV parsing: 1 M rows × 12 float columns (~104 MB, written here), Triage's reader vs
# pandas.read_csv (C engine), side by side; plus peak memory of each process. pandas runs
# twice: as it comes (it may use several threads) and pinned to one core with taskset, the
# fair peer for Triage on one thread. Ratios are pandas seconds / Triage seconds (best of 3).
source "$(dirname "$0")/env.sh"
FILE=$DATA/csv_1m_x12.csv
[ -f "$FILE" ] || "$PY" "$BENCH_ROOT/benchmarks/csv_make.py" "$FILE"
SIZE=$(stat -c %s "$FILE")
echo "machine: $(machine); file: $FILE ($((SIZE / 1000000)) MB); float matrix $((12 * 4 * 1000000 / 1000000)) MB"
cat "$FILE" > /dev/null  # warm the page cache for both sides
seconds() { "$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["seconds"])' "$1"; }
ratio() { "$PY" -c 'import sys; print(f"{float(sys.argv[1]) / float(sys.argv[2]):.2f}")' "$1" "$2"; }
for round in 1 2; do
  echo "round $round load: $(cut -d' ' -f1-3 /proc/loadavg)"
  for t in 1 2; do
    /usr/bin/time -f '%M' -o "$DATA/maxrss" "$TRIAGE_BENCH" csv "$FILE" --threads "$t" --repeats 3 > "$DATA/tri$t.json"
    echo "round $round triage threads=$t: $(cat "$DATA/tri$t.json") peak_rss_mb=$(( $(cat "$DATA/maxrss") / 1024 ))"
  done
  /usr/bin/time -f '%M' -o "$DATA/maxrss" "$PY" "$BENCH_ROOT/benchmarks/csv_pandas.py" "$FILE" > "$DATA/pd.json"
  echo "round $round pandas default: $(cat "$DATA/pd.json") peak_rss_mb=$(( $(cat "$DATA/maxrss") / 1024 ))"
  /usr/bin/time -f '%M' -o "$DATA/maxrss" taskset -c 0 "$PY" "$BENCH_ROOT/benchmarks/csv_pandas.py" "$FILE" > "$DATA/pd1.json"
  echo "round $round pandas pinned to 1 core: $(cat "$DATA/pd1.json") peak_rss_mb=$(( $(cat "$DATA/maxrss") / 1024 ))"
  echo "round $round ratio pandas default / triage 2 threads: $(ratio "$(seconds "$DATA/pd.json")" "$(seconds "$DATA/tri2.json")")x;" \
       "pandas 1 core / triage 1 thread: $(ratio "$(seconds "$DATA/pd1.json")" "$(seconds "$DATA/tri1.json")")x;" \
       "pandas default / triage 1 thread: $(ratio "$(seconds "$DATA/pd.json")" "$(seconds "$DATA/tri1.json")")x (target ≥ 2)"
done
