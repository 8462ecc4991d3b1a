#!/usr/bin/env bash
# CSV parsing: 1 M rows × 12 float columns (~95 MB, written here), Triage's reader vs
# pandas.read_csv (C engine), side by side; plus peak memory of the triage-bench process.
source "$(dirname "$0")/env.sh"
FILE=$DATA/csv_1m_x12.csv
[ -f "$FILE" ] || "$PY" "$BENCH_ROOT/benchmarks/csv_make.py" "$FILE"
SIZE=$(stat -c %s "$FILE")
echo "machine: $(machine); file: $FILE ($((SIZE / 1000000)) MB)"
cat "$FILE" > /dev/null  # warm the page cache for both sides
for round in 1 2; do
  for t in 1 2; do
    /usr/bin/time -f '%M' -o "$DATA/maxrss" "$TRIAGE_BENCH" csv "$FILE" --threads "$t" --repeats 3 > "$DATA/tri.json"
    echo "round $round triage threads=$t: $(cat "$DATA/tri.json") peak_rss_mb=$(( $(cat "$DATA/maxrss") / 1024 ))"
  done
  echo "round $round pandas: $("$PY" "$BENCH_ROOT/benchmarks/csv_pandas.py" "$FILE")"
done
