#!/usr/bin/env python3
"""The shell widget's own overhead: key press to command in the line, per shell.

For each of zsh, bash and fish, under tmux, with a daemon on the scripted backend (canned
answers, no model), this times Ctrl-G from the key press until the pane shows the command.
In the same run and the same shell it times a baseline key bound to a pure-shell widget that
rewrites the line without any process or socket: the difference is what cmdai itself costs
(process start, context, socket round trip, redraw), and the ratio is printed too.

Usage: benches/widget.py [--rounds N] [--shells zsh,bash,fish]
Needs: cargo build --release, tmux and the shells.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "release")

RC = {
    "zsh": (".zshrc", """PS1='$ '
__bench_noop() {{ BUFFER="echo $BUFFER"; CURSOR=${{#BUFFER}}; }}
zle -N __bench_noop
bindkey '^T' __bench_noop
eval "$('{cmdai}' init zsh)"
"""),
    "bash": ("bashrc", """PS1='$ '
bind -x '"\\C-t": READLINE_LINE="echo $READLINE_LINE"; READLINE_POINT=${{#READLINE_LINE}}'
eval "$('{cmdai}' init bash)"
"""),
    "fish": ("config.fish", """set -g fish_greeting
function fish_prompt; echo -n '$ '; end
bind \\ct 'commandline -r -- "echo "(commandline); commandline -f end-of-line'
'{cmdai}' init fish | source
"""),
}


def argv_for(shell, rc_path):
    if shell == "zsh":
        return ["zsh", "-i"]
    if shell == "bash":
        return ["bash", "--noprofile", "--rcfile", rc_path, "-i"]
    return ["fish", "--no-config", "-i", "-C", f"source {rc_path}"]


class Pane:
    def __init__(self, socket, env):
        self.socket, self.env = socket, env

    def tmux(self, *args):
        return subprocess.run(["tmux", "-S", self.socket, *args], env=self.env,
                              capture_output=True, text=True, check=True).stdout

    def last_line(self):
        lines = [l.rstrip() for l in self.tmux("capture-pane", "-p", "-t", "b").splitlines()]
        lines = [l for l in lines if l]
        return lines[-1] if lines else ""

    def wait_line(self, want, deadline=10.0):
        end = time.monotonic() + deadline
        while time.monotonic() < end:
            if self.last_line() == want:
                return time.monotonic()
        raise SystemExit(f"timed out waiting for {want!r}; last line {self.last_line()!r}")


def measure(pane, key, rounds, tag):
    samples = []
    for i in range(rounds):
        sentence = f"{tag} sample {i}"
        pane.tmux("send-keys", "-t", "b", "-l", sentence)
        pane.wait_line(f"$ {sentence}")
        start = time.monotonic()
        pane.tmux("send-keys", "-t", "b", key)
        samples.append((pane.wait_line(f"$ echo {sentence}") - start) * 1000)
        pane.tmux("send-keys", "-t", "b", "C-a", "C-k")
        pane.wait_line("$")
    return samples


def run_shell(shell, rounds, work, env):
    rc_name, template = RC[shell]
    rc_path = os.path.join(work, rc_name)
    with open(rc_path, "w") as f:
        f.write(template.format(cmdai=os.path.join(BIN, "cmdai")))
    shell_env = dict(env, ZDOTDIR=work, TERM="xterm-256color")
    socket = os.path.join(work, f"tmux-{shell}.sock")
    pane = Pane(socket, shell_env)
    subprocess.run(["tmux", "-S", socket, "-f", "/dev/null", "new-session", "-d", "-x", "120",
                    "-y", "30", "-s", "b", "--", *argv_for(shell, rc_path)], env=shell_env, check=True)
    try:
        pane.wait_line("$")
        measure(pane, "C-g", 3, "warmup")
        widget = measure(pane, "C-g", rounds, "widget")
        baseline = measure(pane, "C-t", rounds, "baseline")
    finally:
        subprocess.run(["tmux", "-S", socket, "kill-server"], env=shell_env)
    return widget, baseline


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--shells", default="zsh,bash,fish")
    args = parser.parse_args()
    for tool in ["tmux", os.path.join(BIN, "cmdai")]:
        if not shutil.which(tool):
            sys.exit(f"widget.py: {tool} not found (cargo build --release; apt-get install tmux)")
    work = tempfile.mkdtemp(prefix="cmdai-wbench.")
    os.makedirs(os.path.join(work, "run"), mode=0o700)
    script = os.path.join(work, "script.txt")
    open(script, "w").close()
    with open(os.path.join(work, "config.toml"), "w") as f:
        f.write(f'backend = "scripted"\nmodel = "{script}"\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith("CMDAI_")}
    env.update(CMDAI_RUNTIME_DIR=os.path.join(work, "run"), CMDAI_STATE_DIR=work,
               CMDAI_CONFIG=os.path.join(work, "config.toml"), HOME=work,
               XDG_DATA_HOME=os.path.join(work, "data"), XDG_CONFIG_HOME=os.path.join(work, "cfg"))
    cmdai = os.path.join(BIN, "cmdai")
    subprocess.run([cmdai, "daemon", "start"], env=env, check=True, capture_output=True)
    rows = []
    try:
        for shell in args.shells.split(","):
            if not shutil.which(shell):
                print(f"{shell}: not installed, skipped")
                continue
            widget, baseline = run_shell(shell, args.rounds, work, env)
            rows.append((shell, widget, baseline))
    finally:
        subprocess.run([cmdai, "daemon", "stop"], env=env, capture_output=True)
        shutil.rmtree(work, ignore_errors=True)
    print(f"{args.rounds} presses per arm; times from the key press until tmux shows the new line")
    print(f"{'shell':6} {'Ctrl-G median':>14} {'p90':>7} {'baseline median':>16} {'cmdai overhead':>15} {'ratio':>6}")
    for shell, widget, baseline in rows:
        w, b = statistics.median(widget), statistics.median(baseline)
        p90 = sorted(widget)[int(0.9 * len(widget)) - 1]
        print(f"{shell:6} {w:11.1f} ms {p90:4.1f} ms {b:13.1f} ms {w - b:12.1f} ms {w / b:5.2f}x")


if __name__ == "__main__":
    main()
