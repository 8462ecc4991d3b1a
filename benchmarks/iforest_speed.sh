#!/usr/bin/env bash
# Isolation forest speed, Triage beside scikit-learn in one run (2 cores, ψ = 256):
#  1. in-process fit + score of 1 M × 16 rows, 100 trees (triage-bench iforest vs sklearn n_jobs=-1)
#  2. whole CLI pipeline: CSV in → scores CSV out (triage fit + triage score vs pandas + sklearn script)
#  3. scaling with rows (10k … 1M) and trees (50 … 200), and the fixed overhead of a fit
# Targets: (1) ≥ 10×, i.e. ≥ 3 M rows/s scored; (2) ≥ 5×; (3) linear, overhead ≤ 5 ms per fit.
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
THREADS=${THREADS:-2}
CSV=$DATA/iforest_1m.csv
[ -f "$CSV" ] || { echo "generating $CSV" >&2; "$PY" "$BENCH_ROOT/benchmarks/iforest_speed.py" generate "$CSV"; }
WORK=$(mktemp -d); trap 'rm -rf "$WORK"' EXIT
field() { "$PY" -c "import json,sys; print(json.loads(sys.stdin.readline())['$1'])"; }
ratio() { "$PY" -c "print(f'{$1/$2:.1f}')"; }
now() { date +%s.%N; }

echo "machine: $(machine); load average: $(cut -d' ' -f1-3 /proc/loadavg); threads: $THREADS"
echo
echo "== 1. in-process fit + score, 1M x 16, 100 trees =="
T=$("$TRIAGE_BENCH" iforest --data "$CSV" --threads "$THREADS" --repeats 3 --explain)
S=$(OMP_NUM_THREADS=$THREADS "$PY" "$BENCH_ROOT/benchmarks/iforest_speed.py" inprocess "$CSV" --repeats 2)
for k in fit_seconds score_seconds fit_score_seconds score_rows_per_s; do
  t=$(echo "$T" | field $k); s=$(echo "$S" | field $k)
  if [ $k = score_rows_per_s ]; then r=$(ratio "$t" "$s"); else r=$(ratio "$s" "$t"); fi
  printf "%-20s triage %12.4f   scikit-learn %12.4f   speed-up %6sx\n" "$k" "$t" "$s" "$r"
done
echo "triage CPU seconds per scoring pass (all threads): $(echo "$T" | field score_cpu_seconds); scores + top_feature in one walk: $(echo "$T" | field score_and_explain_seconds) s wall, $(echo "$T" | field score_and_explain_cpu_seconds) s CPU"

echo
echo "== 2. CLI pipeline: CSV in -> scores CSV out =="
# Wall time, and CPU time (user + sys) which moves less when other work shares the machine.
timed() { local out=$1; shift; /usr/bin/time -f "%e %U %S" -o "$out" "$@"; }
wall() { cut -d' ' -f1 "$1"; }
cpu() { "$PY" -c "a=open('$1').read().split(); print(float(a[1])+float(a[2]))"; }
timed "$WORK/t_fit" "$TRIAGE" fit iforest "$CSV" --output "$WORK/model" --threads "$THREADS" --quiet
timed "$WORK/t_score" "$TRIAGE" score "$WORK/model" "$CSV" --output "$WORK/triage_scores.csv" --threads "$THREADS"
# Like for like: the peer writes score,anomaly only, so also time score without the
# top_feature explanation.
timed "$WORK/t_score_ne" "$TRIAGE" score "$WORK/model" "$CSV" --output "$WORK/triage_scores_ne.csv" --threads "$THREADS" --no-explain
OMP_NUM_THREADS=$THREADS timed "$WORK/t_sk" "$PY" "$BENCH_ROOT/benchmarks/iforest_speed.py" pipeline "$CSV" "$WORK/sk_scores.csv"
sw=$(wall "$WORK/t_sk"); sc=$(cpu "$WORK/t_sk")
for variant in "t_score:score,anomaly,top_feature" "t_score_ne:score,anomaly (--no-explain)"; do
  f=${variant%%:*}; label=${variant#*:}
  tw=$("$PY" -c "print($(wall "$WORK/t_fit")+$(wall "$WORK/$f"))"); tc=$("$PY" -c "print($(cpu "$WORK/t_fit")+$(cpu "$WORK/$f"))")
  printf "%s\n  triage fit %.3f s + score %.3f s = %.3f s wall (%.3f s CPU)   pandas+scikit-learn %.3f s wall (%.3f s CPU)   speed-up %sx wall, %sx CPU\n" \
    "$label" "$(wall "$WORK/t_fit")" "$(wall "$WORK/$f")" "$tw" "$tc" "$sw" "$sc" "$(ratio "$sw" "$tw")" "$(ratio "$sc" "$tc")"
done
cmp -s <(cut -d, -f1,2 "$WORK/triage_scores.csv") "$WORK/triage_scores_ne.csv" && echo "score,anomaly identical with and without --no-explain"
"$PY" - "$WORK/triage_scores.csv" "$WORK/sk_scores.csv" <<'PYEOF'
import sys, pandas as pd
t, s = pd.read_csv(sys.argv[1]), pd.read_csv(sys.argv[2])
print(f"rows {len(t)} / {len(s)}; flagged {int(t.anomaly.sum())} / {int(s.anomaly.sum())}; score correlation {t.score.corr(s.score):.4f}")
PYEOF

echo
echo "== 3a. scaling with rows (100 trees) =="
printf "%-9s %14s %14s %14s %14s\n" rows triage_fit triage_score sklearn_fit sklearn_score
for n in 10000 100000 1000000; do
  T=$("$TRIAGE_BENCH" iforest --data "$CSV" --rows $n --threads "$THREADS" --repeats 3)
  S=$(OMP_NUM_THREADS=$THREADS "$PY" "$BENCH_ROOT/benchmarks/iforest_speed.py" inprocess "$CSV" --rows $n --repeats 1)
  printf "%-9s %14.4f %14.4f %14.4f %14.4f\n" $n "$(echo "$T" | field fit_seconds)" "$(echo "$T" | field score_seconds)" \
    "$(echo "$S" | field fit_seconds)" "$(echo "$S" | field score_seconds)"
done

echo
echo "== 3b. scaling with trees (100k rows) =="
printf "%-9s %14s %14s %14s %14s\n" trees triage_fit triage_score sklearn_fit sklearn_score
for t in 50 100 200; do
  T=$("$TRIAGE_BENCH" iforest --data "$CSV" --rows 100000 --trees $t --threads "$THREADS" --repeats 3)
  S=$(OMP_NUM_THREADS=$THREADS "$PY" "$BENCH_ROOT/benchmarks/iforest_speed.py" inprocess "$CSV" --rows 100000 --trees $t --repeats 1)
  printf "%-9s %14.4f %14.4f %14.4f %14.4f\n" $t "$(echo "$T" | field fit_seconds)" "$(echo "$T" | field score_seconds)" \
    "$(echo "$S" | field fit_seconds)" "$(echo "$S" | field score_seconds)"
done

echo
echo "== 3c. fixed overhead per fit (1000 rows, 100 trees: fit only) =="
T=$("$TRIAGE_BENCH" iforest --data "$CSV" --rows 1000 --threads "$THREADS" --repeats 20)
S=$(OMP_NUM_THREADS=$THREADS "$PY" "$BENCH_ROOT/benchmarks/iforest_speed.py" inprocess "$CSV" --rows 1000 --repeats 5)
t=$(echo "$T" | field fit_seconds); s=$(echo "$S" | field fit_seconds)
printf "fit: triage %.2f ms   scikit-learn %.2f ms   ratio %sx\n" "$("$PY" -c "print($t*1000)")" "$("$PY" -c "print($s*1000)")" "$(ratio "$s" "$t")"
