#!/usr/bin/env bash
# Accuracy of cmdai versus the raw model, in one run, on the eval harness's tasks.
#
# Both arms use the same model file and threads, one task at a time, on a quiet machine:
#   cmdai:    `cmdai ask --shell bash` in the task's fixture copy, answered by a warm daemon
#             (context, prompt, candidates, checks and repair as a user gets them)
#   baseline: the harness's examples/gen_llamacpp.sh against a warm llama-server with a bare
#             prompt (the raw model; fences stripped for it, not for cmdai)
# The harness builds the fixtures, runs each command and the reference in sandboxed copies,
# and compares what they print and leave behind. Prints each arm's accuracy and median
# latency, and the ratio of medians; the full reports stay in the output directory.
#
# Usage: benches/accuracy.sh [--model default|small|tests|PATH] [--threads N]
#                            [--eval DIR] [--out DIR] [--only ID,ID] [--arms cmdai,baseline]
set -euo pipefail

model=default
threads=""
eval_dir=""
out=""
only=""
arms=cmdai,baseline
while (($#)); do
	case $1 in
	--model) model=$2; shift ;;
	--threads) threads=$2; shift ;;
	--eval) eval_dir=$2; shift ;;
	--out) out=$2; shift ;;
	--only) only=$2; shift ;;
	--arms) arms=$2; shift ;;
	-h | --help) sed -n '2,15p' "$0"; exit 0 ;;
	*) echo "accuracy.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
	esac
	shift
done

name=accuracy.sh
# shellcheck source=benches/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
bench_init run_eval.py

work=$(mktemp -d "${TMPDIR:-/tmp}/cmdai-accuracy.XXXXXX")
out=${out:-$work/reports}
mkdir -p "$out"
export CMDAI_RUNTIME_DIR=$work/run CMDAI_STATE_DIR=$work/state CMDAI_CONFIG=$work/config.toml
export CMDAI_MODEL=$model CMDAI_THREADS=$threads
unset CMDAI_NO_AUTOSTART CMDAI_CONTEXT
mkdir -m 700 "$work/run"
server_pid=""
cleanup() {
	"$bin/cmdai" daemon stop >/dev/null 2>&1 || true
	[[ -n $server_pid ]] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
	[[ $out == "$work/reports" ]] && echo "reports: kept only for this run's output above" >&2
	rm -rf "$work"
}
trap cleanup EXIT

run_eval() { # ARM GEN [EXTRA...]
	local arm=$1 gen=$2
	shift 2
	local args=(--tasks "$eval_dir/tasks.jsonl" --gen "$gen" --out "$out/$arm.json" "$@")
	[[ -n $only ]] && args+=(--only "$only")
	echo "== $arm: $gen" >&2
	python3 "$eval_dir/run_eval.py" "${args[@]}" >"$out/$arm.log" 2>&1 ||
		{ tail -20 "$out/$arm.log" >&2; echo "accuracy.sh: the $arm run failed" >&2; exit 1; }
	grep -E '^accuracy:' "$out/$arm.log" >&2
}

if [[ ,$arms, == *,cmdai,* ]]; then
	# A warm daemon first: the model load is not what this measures.
	"$bin/cmdai" ask --shell bash --timeout 600 "list the files here" >/dev/null
	run_eval cmdai "$bin/cmdai ask --shell bash \"\$CMDAI_REQUEST\""
	"$bin/cmdai" daemon stop >/dev/null
fi

if [[ ,$arms, == *,baseline,* ]]; then
	llama_server_start "$("$bin/cmdai" model path "$model")" "$work/server.log"
	llama_server_wait "$work/server.log"
	export LLAMA_URL=http://127.0.0.1:$port
	# shellcheck disable=SC2016 # expanded by the harness, which sets CMDAI_EVAL_DIR
	run_eval baseline '"$CMDAI_EVAL_DIR/examples/gen_llamacpp.sh"' --strip-fences
fi

python3 - "$out" <<'PY'
import json, os, statistics, sys
out = sys.argv[1]
rows = {}
for arm in ("cmdai", "baseline"):
    path = os.path.join(out, arm + ".json")
    if not os.path.exists(path):
        continue
    report = json.load(open(path))
    results = [r for r in report["results"] if r["status"] != "skip"]
    passed = sum(r["status"] == "pass" for r in results)
    lat = sorted(r["latency_s"] for r in results if r.get("latency_s") is not None)
    p90 = lat[min(len(lat) - 1, int(0.9 * len(lat)))] if lat else float("nan")
    rows[arm] = (passed, len(results), statistics.median(lat) if lat else float("nan"), p90)
print(f"{'arm':10} {'passed':>8} {'accuracy':>9} {'median':>8} {'p90':>8}")
for arm, (p, n, med, p90) in rows.items():
    print(f"{arm:10} {p:>4}/{n:<3} {100 * p / max(n, 1):8.1f}% {med:7.2f}s {p90:7.2f}s")
if len(rows) == 2:
    (cp, cn, cm, _), (bp, bn, bm, _) = rows["cmdai"], rows["baseline"]
    print(f"cmdai - baseline: {100 * (cp / cn - bp / bn):+.1f} points; median latency ratio {cm / bm:.2f}x")
PY
echo "reports in $out" >&2
