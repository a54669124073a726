#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Set up a Debian 12 machine, build, and either run the demo or the test suite.
#   ./dev.sh demo   trace the bundled demo program and write
#                   dhat-trace.leaky-server.PID.json
#   ./dev.sh test   run every test suite, then the unit, fuzz-corpus and replay
#                   checks again under ASan/UBSan (build-asan); ends with
#                   "N passed, N failed"
#   ./dev.sh bench [ARGS]  set up the peers (bench/setup) and run bench/run ARGS
set -euo pipefail
cd "$(dirname "$0")"

mode=${1:-}
case "$mode" in demo|test|bench) ;; *) echo "usage: $0 demo|test|bench [ARGS]" >&2; exit 64;; esac
shift
if [ "$(id -u)" -ne 0 ]; then
	echo "dev.sh: run as root (apt-get and BPF need it): sudo $0 $mode" >&2
	exit 1
fi

pkgs=(clang bpftool libbpf-dev libelf-dev libdw-dev libcjson-dev libzydis-dev zlib1g-dev meson ninja-build
      pkg-config gcc g++ python3 util-linux)
# bash-completion: its completionsdir; zsh and fish: their completions are
# parsed and tried (cli_docs).
# llvm: llvm-symbolizer, for readable ASan/UBSan reports from build-asan.
# golang-go (go tool pprof), prometheus (promtool), prometheus-node-exporter:
# the clients that read --pprof and --metrics-file in tests/integration/exports.py.
# elfutils: eu-addr2line, the names python_loads.py compares frames with.
[ "$mode" != demo ] && pkgs+=(valgrind chromium libjemalloc2 redis-server redis-tools
                             rustc cargo librust-tokio-dev librust-libc-dev bubblewrap llvm
                             golang-go prometheus prometheus-node-exporter bash-completion zsh fish
                             elfutils)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "dev.sh: installing ${missing[*]}"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ -f build/build.ninja ]; then
	meson compile -C build >/dev/null
else
	meson setup build >/dev/null
	meson compile -C build >/dev/null
fi

if [ "$mode" = demo ]; then
	build/dhat-trace -i 1s build/demo/leaky-server
	echo
	echo "Open /usr/libexec/valgrind/dh_view.html (Debian's valgrind package) in a browser,"
	echo "press Load… and choose $(pwd)/$(ls -t dhat-trace.leaky-server.*.json | head -1)."
	exit 0
fi

if [ "$mode" = bench ]; then
	bench/setup
	exec bench/run build "$@"
fi

rc=0
meson test -C build --print-errorlogs || rc=$?

# The code that needs no BPF once more under ASan and UBSan, built by clang
# (whose UBSan also checks pointer arithmetic): the unit tests, the fuzzers'
# corpora, and bench/replay, whose DHAT file must equal the normal build's.
# -gdwarf-aranges: Debian 12's libdw finds no line for an address in a CU
# that .debug_aranges does not list, and clang writes none by default.
if [ ! -f build-asan/build.ninja ]; then
	CC=clang CXX=clang++ meson setup build-asan -Db_sanitize=address,undefined \
		-Db_lundef=false "-Dc_args=-fno-sanitize-recover=all -gdwarf-aranges" >/dev/null
fi
rm -f build-asan/meson-logs/testlog.json
extra=()	# results beyond meson's: the replay check, a failed build
if meson compile -C build-asan >/dev/null; then
	meson test -C build-asan --suite unit --suite fuzz --print-errorlogs || rc=$?
	bench/replay-check build/bench/replay build-asan/bench/replay && extra+=(OK) ||
		{ extra+=(FAIL); rc=1; }
else
	echo "dev.sh: build-asan does not build" >&2
	extra+=(FAIL)
	rc=1
fi

python3 - build/meson-logs/testlog.json build-asan/meson-logs/testlog.json "${extra[@]}" <<'PY'
import json, os, sys
ok = bad = skip = 0
results = [json.loads(line).get("result") for log in sys.argv[1:3] if os.path.exists(log)
           for line in open(log)]
for r in results + sys.argv[3:]:
    if r in ("OK", "EXPECTEDFAIL"):
        ok += 1
    elif r == "SKIP":
        skip += 1
    else:
        bad += 1
print(f"{ok} passed, {bad} failed" + (f", {skip} skipped" if skip else ""))
PY
exit $rc
