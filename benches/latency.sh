#!/usr/bin/env bash
# Latency of `cmdai ask` against a warm daemon versus loading the model per request.
#
# One run, same model, same threads, same sentences:
#   warm:     `cmdai ask` as a user runs it, answered by a daemon that already holds the model
#   per-call: `cmdai-daemon --once`, which loads the model, answers one sentence and exits
#             (what every request costs a tool without a daemon)
# Prints each arm's median and p90 and the ratio of medians, plus what the daemon says it
# evaluated per request. The daemon runs in a private temp runtime dir, so a daemon you already
# have is left alone.
#
# Usage: benches/latency.sh [--model default|small|tests|PATH] [--threads N] [--rounds N]
set -euo pipefail

model=default
threads=""
rounds=1
while (($#)); do
	case $1 in
	--model) model=$2; shift ;;
	--threads) threads=$2; shift ;;
	--rounds) rounds=$2; shift ;;
	-h | --help) sed -n '2,12p' "$0"; exit 0 ;;
	*) echo "latency.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
	esac
	shift
done

cd "$(dirname "${BASH_SOURCE[0]}")/.."
bin=${CMDAI_BIN_DIR:-target/release}
[[ -x $bin/cmdai && -x $bin/cmdai-daemon ]] || {
	echo "latency.sh: build first: cargo build --release" >&2
	exit 2
}
bin=$(cd "$bin" && pwd)

sentences=(
	"list files in this directory sorted by size"
	"show disk usage of this folder"
	"find all python files modified in the last week"
	"count the lines in every markdown file here"
	"show the 10 most common words in notes.txt"
	"compress the logs folder into logs.tar.gz"
	"show which process is listening on port 8080"
	"show the last 5 git commits with their authors"
)

work=$(mktemp -d "${TMPDIR:-/tmp}/cmdai-bench.XXXXXX")
export CMDAI_RUNTIME_DIR=$work/run CMDAI_STATE_DIR=$work/state CMDAI_MODEL=$model
export CMDAI_CONFIG=$work/config.toml
[[ -n $threads ]] && export CMDAI_THREADS=$threads
unset CMDAI_NO_AUTOSTART
mkdir -m 700 "$work/run"
cleanup() {
	"$bin/cmdai" daemon stop >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# Times one command per sentence per round; appends milliseconds to the named file.
measure() {
	local out=$1
	shift
	local round sentence start
	for ((round = 0; round < rounds; round++)); do
		for sentence in "${sentences[@]}"; do
			start=$(now_ms)
			"$@" "$sentence" >/dev/null
			echo $(($(now_ms) - start)) >>"$out"
		done
	done
}

stats() { # file -> "median p90"
	sort -n "$1" | awk '{ v[NR] = $1 } END {
		m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		p = v[int(0.9 * NR + 0.999)]
		printf "%d %d\n", m, p }'
}

echo "model: $model; threads: ${threads:-one per physical core}; sentences: ${#sentences[@]} x $rounds round(s)"
echo "starting the daemon..."
"$bin/cmdai" daemon start

# One unmeasured request so both arms start from a warm page cache and a warm daemon.
"$bin/cmdai" ask --shell bash "${sentences[0]}" >/dev/null
"$bin/cmdai-daemon" --once "${sentences[0]}" >/dev/null 2>&1

echo "arm warm: cmdai ask through the daemon"
measure "$work/warm" "$bin/cmdai" ask --shell bash
status=$("$bin/cmdai" daemon status --json)
"$bin/cmdai" daemon stop >/dev/null
echo "arm per-call: cmdai-daemon --once (loads the model every time)"
measure "$work/cold" "$bin/cmdai-daemon" --once

read -r warm_med warm_p90 < <(stats "$work/warm")
read -r cold_med cold_p90 < <(stats "$work/cold")
echo
printf '%-10s %10s %10s\n' arm "median ms" "p90 ms"
printf '%-10s %10d %10d\n' warm "$warm_med" "$warm_p90"
printf '%-10s %10d %10d\n' per-call "$cold_med" "$cold_p90"
awk -v c="$cold_med" -v w="$warm_med" 'BEGIN { printf "ratio (per-call / warm, medians): %.1fx\n", c / (w > 0 ? w : 1) }'
python3 - "$status" <<'PY'
import json, sys
s = json.loads(sys.argv[1])
served = max(s["requests_served"], 1)
print(f'daemon: {s["loads"]} load(s) for {s["requests_served"]} requests; '
      f'system prompt {s["system_prompt_tokens"]} tokens evaluated once at load; '
      f'{s["request_prompt_tokens"] / served:.0f} prompt tokens evaluated per request; '
      f'load {s["load_ms"]} ms; RSS {s["rss_bytes"] / 1e6:.0f} MB')
PY
