# Shared by the benches; sourced, not run. The sourcing script sets `name` (for messages) and
# may set `eval_dir` and `threads` from its options first.
# shellcheck shell=bash disable=SC2034,SC2154 # the caller sets `name` and reads what is set here

# Moves to the repository root and settles what every bench needs: `repo`, `eval_dir` (which
# must hold NEEDED), `bin` (the built binaries), `threads` (one per physical core unless given),
# and jq, curl and python3 on PATH. Exits 2 with one line when something is missing.
bench_init() { # NEEDED
	cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 2
	repo=$(pwd)
	eval_dir=${eval_dir:-${CMDAI_EVAL_DIR:-$repo/../shared/eval}}
	[[ -f $eval_dir/$1 ]] || { echo "$name: no eval harness in $eval_dir (use --eval DIR)" >&2; exit 2; }
	eval_dir=$(cd "$eval_dir" && pwd)
	bin=${CMDAI_BIN_DIR:-target/release}
	[[ -x $bin/cmdai && -x $bin/cmdai-daemon ]] || { echo "$name: build first: cargo build --release" >&2; exit 2; }
	bin=$(cd "$bin" && pwd)
	local tool
	for tool in jq curl python3; do
		command -v "$tool" >/dev/null || { echo "$name: $tool is needed (apt-get install $tool)" >&2; exit 2; }
	done
	threads=${threads:-$(lscpu -p=core 2>/dev/null | grep -v '^#' | sort -u | wc -l)}
	((threads > 0)) || threads=$(nproc)
}

# Starts a llama-server (found or built by benches/llama-server.sh) on a free loopback port
# with MODEL_PATH and `threads`, its output in LOG. Sets `port` and `server_pid`; returns at
# once, see llama_server_wait.
llama_server_start() { # MODEL_PATH LOG
	local server
	server=$(benches/llama-server.sh)
	port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	"$server" -m "$1" --host 127.0.0.1 --port "$port" -t "$threads" -c 4096 >"$2" 2>&1 &
	server_pid=$!
}

# Waits until the server started by llama_server_start answers /health; exits 1 with the tail
# of LOG if it died first.
llama_server_wait() { # LOG
	for _ in $(seq 600); do
		curl -sf "http://127.0.0.1:$port/health" >/dev/null && return 0
		kill -0 "$server_pid" 2>/dev/null || { tail "$1" >&2; exit 1; }
		sleep 0.5
	done
	echo "$name: llama-server did not answer within 5 minutes; see $1" >&2
	exit 1
}
