#!/usr/bin/env bash
# Latency of Ctrl-G, measured against what a user would use instead, in one run on this
# machine: same model file, same threads, same sentences (the eval set's, each asked from its
# own fixture directory so that the context is a real one).
#
#   cmdai:    what the key runs, `cmdai suggest` on $CMDAI_BUFFER, against a warm daemon, after
#             what zsh's hooks send while the user types, through its `cmdai prepare --follow`
#             helper: the prompt's record, then one with the line so far per character typed at
#             --cps characters a second, the key coming --pause ms after the last (by default
#             one keystroke later; --cps 0: the prompt's prepare only, as bash and fish send
#             with `cmdai prepare`)
#   cache:    the same key press again on the same line in the same place
#   server:   a warm llama-server with a minimal prompt and no context, queried with curl and
#             jq (examples/gen_llamacpp.sh of the eval harness: the hand-rolled alternative)
#   per-load: `cmdai-daemon --once`, which loads the model for each request (a tool without a
#             daemon), on the first --cold sentences
#
# Then the physical floor, measured on the same server behind a cached prefix as long as
# cmdai's fixed prompt: the time one batch of exactly as many new prompt tokens as a cmdai
# request evaluated takes, plus its output tokens at the generation rate (predicted_per_second
# over 32 tokens). And the small things: the client's
# round trip and peak RSS with the scripted backend, the daemon's RSS against the model file,
# and the daemon's CPU over --idle seconds of idling.
#
# Usage: benches/latency.sh [--model default|small|tests|PATH] [--threads N] [--limit N]
#                           [--cold N] [--idle SECONDS] [--cps N] [--pause MS] [--eval DIR]
set -euo pipefail

model=default
threads=""
limit=20
cold=5
idle=60
cps=8
pause=""
eval_dir=""
while (($#)); do
	case $1 in
	--model) model=$2; shift ;;
	--threads) threads=$2; shift ;;
	--limit) limit=$2; shift ;;
	--cold) cold=$2; shift ;;
	--idle) idle=$2; shift ;;
	--cps) cps=$2; shift ;;
	--pause) pause=$2; shift ;;
	--eval) eval_dir=$2; shift ;;
	-h | --help) sed -n '2,25p' "$0"; exit 0 ;;
	*) echo "latency.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
	esac
	shift
done

name=latency.sh
# shellcheck source=benches/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
bench_init tasks.jsonl

work=$(mktemp -d "${TMPDIR:-/tmp}/cmdai-latency.XXXXXX")
export CMDAI_RUNTIME_DIR=$work/run CMDAI_STATE_DIR=$work/state CMDAI_CONFIG=$work/config.toml
export CMDAI_MODEL=$model CMDAI_THREADS=$threads
unset CMDAI_NO_AUTOSTART CMDAI_CONTEXT CMDAI_CANDIDATES
mkdir -m 700 "$work/run"
server_pid=""
cleanup() {
	"$bin/cmdai" daemon stop >/dev/null 2>&1 || true
	CMDAI_RUNTIME_DIR=$work/run-scripted "$bin/cmdai" daemon stop >/dev/null 2>&1 || true
	[[ -n $server_pid ]] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

echo "building the fixtures..." >&2
bash "$eval_dir/fixtures/make_fixtures.sh" "$work/fx" >/dev/null

model_path=$("$bin/cmdai" model path "$model")
llama_server_start "$model_path" "$work/server.log"
echo "starting the daemon and llama-server ($threads threads)..." >&2
"$bin/cmdai" daemon start >/dev/null 2>&1
llama_server_wait "$work/server.log"

python3 - "$bin" "$eval_dir" "$work" "$port" "$limit" "$cold" "$idle" "$model_path" "$cps" "$pause" <<'PY'
import json, os, resource, statistics, subprocess, sys, time, urllib.request

bin_dir, eval_dir, work, port, limit, cold, idle, model_path, cps, pause = sys.argv[1:11]
limit, cold, idle, cps = int(limit), int(cold), int(idle), float(cps)
pause = float(pause) / 1000 if pause else (1 / cps if cps > 0 else 0)
cmdai, daemon = os.path.join(bin_dir, "cmdai"), os.path.join(bin_dir, "cmdai-daemon")
url = f"http://127.0.0.1:{port}"
tasks = [json.loads(l) for l in open(os.path.join(eval_dir, "tasks.jsonl")) if l.strip()][:limit]
gen = os.path.join(eval_dir, "examples", "gen_llamacpp.sh")
SYSTEM = ("Translate the user's request into a single bash command for a Linux shell. The command "
          "runs in the current directory. Reply with the command only: no explanation, no markdown.")
shell_env = dict(os.environ, CMDAI_SHELL="bash", CMDAI_SHELL_VERSION="5.2.15")

def status():
    out = subprocess.run([cmdai, "daemon", "status", "--json"], capture_output=True, check=True)
    return json.loads(out.stdout)

def timed(argv, **kw):
    start = time.perf_counter()
    out = subprocess.run(argv, capture_output=True, **kw)
    return (time.perf_counter() - start) * 1000, out

def post(path, body):
    req = urllib.request.Request(url + path, json.dumps(body).encode(), {"Content-Type": "application/json"})
    return json.load(urllib.request.urlopen(req, timeout=120))

def pct(values, q):
    v = sorted(values)
    return v[min(len(v) - 1, int(q * len(v)))]

# The helper zsh keeps per shell: the hooks write it a record (directory, PATH, line) each.
helper = subprocess.Popen([cmdai, "prepare", "--follow"], env=shell_env, stdin=subprocess.PIPE,
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

def send(place, line):
    helper.stdin.write(f"{place}\0{shell_env.get('PATH', '')}\0{line}\0".encode())
    helper.stdin.flush()

def type_line(sentence, place):
    """The user typing the sentence at `cps` characters a second: zsh's line hook sends each
    change of the line. The key comes `pause` seconds after the last."""
    for i in range(1, len(sentence) + 1):
        if cps <= 0:
            break
        if sentence[:i].strip():
            send(place, sentence[:i])
        time.sleep(1 / cps if i < len(sentence) else pause)

def wait_prepared(count, limit_s=30):
    deadline = time.time() + limit_s
    while status()["contexts_prepared"] < count:
        if time.time() > deadline:
            sys.exit("latency.sh: a prepare never finished")
        time.sleep(0.02)

# One unmeasured request each, so that no arm pays for a cold page cache.
subprocess.run([cmdai, "ask", "--timeout", "600", "list the files"], capture_output=True, check=True, cwd=work)
post("/v1/chat/completions", {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 4})

rows = []
for task in tasks:
    place = os.path.join(work, "fx", task["setup"])
    sentence = task["nl"]
    env = dict(shell_env, CMDAI_BUFFER=sentence)
    # The prompt hook: the block is evaluated before the user starts typing.
    prepared = status()["contexts_prepared"] + 1
    start = time.perf_counter()
    send(place, "")
    wait_prepared(prepared)
    prep_ms = (time.perf_counter() - start) * 1000
    type_line(sentence, place)
    ms, out = timed([cmdai, "suggest"], env=env, cwd=place)
    s = status()
    cache_ms, _ = timed([cmdai, "suggest"], env=dict(env), cwd=place)
    server_ms, sout = timed(["bash", gen], env=dict(os.environ, CMDAI_REQUEST=sentence, LLAMA_URL=url), cwd=place)
    # What the server evaluated, counted without touching its cache: the whole prompt (its
    # system part was cached in the timed run) and the answer plus its end token.
    prompt = post("/apply-template", {"messages": [{"role": "system", "content": SYSTEM},
                                                   {"role": "user", "content": sentence}]})["prompt"]
    sp = len(post("/tokenize", {"content": prompt})["tokens"])
    so = len(post("/tokenize", {"content": sout.stdout.decode()})["tokens"]) + 1
    rows.append(dict(id=task["id"], cmdai=ms, cache=cache_ms, server=server_ms, prep=prep_ms,
                     p=s["last_prompt_tokens"], o=s["last_output_tokens"],
                     sp=sp, so=so,
                     command=out.stdout.decode().strip(), ok=out.returncode))
    if out.returncode != 0:
        print(f"{task['id']}: the key press failed (exit {out.returncode}): {out.stderr.decode().strip()}",
              file=sys.stderr)

# The floor, measured on the same server at the depth cmdai's requests run at, behind a cached
# prefix as long as cmdai's fixed prompt: the time to evaluate exactly as many new prompt tokens
# as each request did, in one batch (a batch of 5 takes far longer than 5/20 of a batch of 20),
# and the generation rate over 32 tokens. Each the median of five runs.
depth = status()["system_prompt_tokens"]
filler = "list every file in this folder and then sort the list by size and show me the first ten "
prefix = post("/tokenize", {"content": filler * max(1, depth // 20)})["tokens"]
more = post("/tokenize", {"content": filler * 8})["tokens"]
post("/completion", {"prompt": prefix, "n_predict": 1, "cache_prompt": True})
prompt_ms, pp, tg = {0: 0.0}, [], []
for n in sorted({r["p"] for r in rows if r["p"] > 0}):
    runs = []
    for i in range(5):
        # Starting one token further on each time, the n tokens are never all in the cache.
        t = post("/completion", {"prompt": prefix + more[i:i + n], "n_predict": 1, "cache_prompt": True})["timings"]
        runs.append(t["prompt_ms"] * n / max(1, t["prompt_n"]))
    prompt_ms[n] = statistics.median(runs)
for i in range(5):
    t = post("/completion", {"prompt": prefix + more[i:i + 20], "n_predict": 1, "cache_prompt": True})["timings"]
    pp.append(t["prompt_per_second"])
    t = post("/completion", {"prompt": prefix + more[i:i + 1], "n_predict": 32, "ignore_eos": True, "cache_prompt": True})["timings"]
    tg.append(t["predicted_per_second"])
pp, tg = statistics.median(pp), statistics.median(tg)

# Loading per request, on the first few sentences.
per_load = []
for task in tasks[:cold]:
    ms, _ = timed([daemon, "--once", task["nl"]], cwd=os.path.join(work, "fx", task["setup"]))
    per_load.append(ms)

st = status()
print(f"{'task':14} {'cmdai':>7} {'cache':>6} {'server':>7} {'prep':>6} {'p':>4} {'o':>3} {'floor':>6} {'srv p':>5} {'srv o':>5}")
for r in rows:
    r["floor"] = prompt_ms[r["p"]] + 1000 * r["o"] / tg
    print(f"{r['id']:14} {r['cmdai']:7.0f} {r['cache']:6.0f} {r['server']:7.0f} {r['prep']:6.0f} {r['p']:4d} {r['o']:3d} {r['floor']:6.0f} {r['sp']:5d} {r['so']:5d}")
print()
med = lambda k: statistics.median(r[k] for r in rows)
print(f"measured on llama-server behind a {depth}-token cached prefix: generation {tg:.1f} tokens/s; "
      f"prompt {pp:.1f} tokens/s in a batch of 20; a batch of n new tokens takes "
      + ", ".join(f"{n}: {ms:.0f} ms" for n, ms in prompt_ms.items() if n))
print(f"{'arm':10} {'median ms':>10} {'p90 ms':>8}")
for name, values in [("cmdai", [r["cmdai"] for r in rows]), ("cache", [r["cache"] for r in rows]),
                     ("server", [r["server"] for r in rows]), ("per-load", per_load),
                     ("floor", [r["floor"] for r in rows])]:
    print(f"{name:10} {statistics.median(values):10.0f} {pct(values, 0.9):8.0f}")
print(f"cmdai / server (medians): {med('cmdai') / med('server'):.2f}x   (target <= 0.8x)")
print(f"per-load / cmdai (medians): {statistics.median(per_load) / med('cmdai'):.1f}x   (target >= 8x)")
print(f"cmdai / floor: {med('cmdai') / med('floor'):.2f}x of medians, "
      f"{statistics.median(r['cmdai'] / r['floor'] for r in rows if r['floor'] > 0):.2f}x median per request   (target <= 1.3x)")
print(f"tokens per request (median): cmdai prompt {med('p'):.0f}, output {med('o'):.0f}; "
      f"server prompt {med('sp'):.0f} (whole; its system part stays cached), output {med('so'):.0f}")
print(f"prepare at the prompt: median {med('prep'):.0f} ms until the block was evaluated "
      f"(before the user starts typing); {st['prepared_tokens']} tokens evaluated ahead in all")
typed = (f"typed at {cps:g} characters a second, one prepare per change, the key {1000 * pause:.0f} ms "
         "after the last" if cps > 0 else "not sent (--cps 0)")
print(f"the line as it was typed: {typed}")
size = os.path.getsize(model_path)
print(f"daemon RSS {st['rss_bytes'] / 1e6:.0f} MB; model file {size / 1e6:.0f} MB; "
      f"over the file: {(st['rss_bytes'] - size) / 1e6:.0f} MB   (target <= 400 MB)")

# The daemon at rest.
pid = st["pid"]
def cpu_ticks():
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])
if idle > 0:
    before, t0 = cpu_ticks(), time.time()
    time.sleep(idle)
    used = (cpu_ticks() - before) / os.sysconf("SC_CLK_TCK")
    print(f"daemon CPU while idle: {100 * used / (time.time() - t0):.2f}% over {idle} s   (target < 1%)")

PY

# The client alone, against the scripted backend, from an empty directory: start-up, context,
# socket round trip and the daemon's dispatch and checks, timed by the shell as a widget runs it.
# Nothing else of this bench is left running.
"$bin/cmdai" daemon stop >/dev/null
kill "$server_pid"
wait "$server_pid" 2>/dev/null || true # killed: not its own exit status
server_pid=""
mkdir -m 700 "$work/run-scripted" "$work/empty"
echo 'list => ls -la' >"$work/script.txt"
printf 'backend = "scripted"\nmodel = "%s"\n' "$work/script.txt" >"$work/scripted.toml"
export CMDAI_RUNTIME_DIR=$work/run-scripted CMDAI_CONFIG=$work/scripted.toml
cd "$work/empty"
"$bin/cmdai" daemon start >/dev/null 2>&1
for _ in $(seq 200); do
	start=$EPOCHREALTIME
	"$bin/cmdai" ask "list the files" >/dev/null
	echo "$start $EPOCHREALTIME"
done | awk '{ printf "%.3f\n", ($2 - $1) * 1000 }' | sort -n | awk '{ v[NR] = $1 } END {
	printf "client round trip (scripted backend, %d asks): median %.2f ms, p90 %.2f ms   (target <= 3 ms)\n",
		NR, v[int(NR / 2) + 1], v[int(0.9 * NR) + 1] }'
if [[ -x /usr/bin/time ]]; then
	# GNU time forks itself, not a copy of a big interpreter, so the peak is the client's own.
	peak=0
	for _ in $(seq 20); do
		kb=$( { /usr/bin/time -f %M "$bin/cmdai" ask "list the files" >/dev/null; } 2>&1 | tail -1)
		((kb > peak)) && peak=$kb
	done
	awk -v kb="$peak" 'BEGIN { printf "peak client RSS: %.1f MB   (target <= 10 MB)\n", kb / 1024 }'
else
	echo "peak client RSS: not measured (install GNU time: apt-get install time)"
fi
