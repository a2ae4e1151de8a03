#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Run every vmm test program and let their TAP output through untouched:
# the kselftest_harness programs from build/bin (vmm_*_test), then
# selftests/vmmctl_test.sh if it exists.  Exits non-zero if any failed.
#
# Meant for the guest of scripts/vm (cwd /repo, build/bin on PATH, vmm
# loaded, root), but runs anywhere as root with vmm.ko installed for
# modprobe.  The harness programs reload the module with their own sizes;
# this script puts back the size the module had when it started before
# running each program, so every program finds the same state.
#
# Environment:
#   VMM_TEST_BIN   directory of the test programs (default: build/bin)
#   VMM_TESTS      space-separated program names to run instead of all;
#                  a name ending in .sh is a script in this directory

here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
bin=${VMM_TEST_BIN:-$repo/build/bin}
limit=$(sed -n 's/^timeout=//p' "$here/settings" 2>/dev/null)
limit=${limit:-600}

param=/sys/module/vmm/parameters/size
orig_size=
[ -r "$param" ] && orig_size=$(cat "$param")

# Back to the state this script started from.
restore_module() {
	[ "$(id -u)" = 0 ] || return 0
	cur=
	[ -r "$param" ] && cur=$(cat "$param")
	[ "$cur" = "$orig_size" ] && [ -e /dev/vmm -o -z "$orig_size" ] &&
		return 0
	modprobe -r vmm 2>/dev/null
	if [ -n "$orig_size" ]; then
		modprobe vmm size="$orig_size" ||
			echo "# run_all: cannot reload vmm size=$orig_size"
	fi
}

# Programs from $bin; scripts (NAME.sh) from this directory.
if [ -n "${VMM_TESTS:-}" ]; then
	progs=
	for t in $VMM_TESTS; do
		case $t in
		*.sh) progs="$progs $here/$t" ;;
		*) progs="$progs $bin/$t" ;;
		esac
	done
else
	progs=$(ls "$bin"/vmm_*_test 2>/dev/null)
	[ -f "$here/vmmctl_test.sh" ] && progs="$progs $here/vmmctl_test.sh"
fi

if [ -z "$progs" ]; then
	echo "# run_all: no test programs in $bin (run 'make selftests')"
	exit 1
fi

run_one() {
	if command -v timeout >/dev/null 2>&1; then
		timeout "$limit" "$@"
	else
		"$@"
	fi
}

# Processes still running program $1 (a harness's test children, which
# it puts in process groups of their own, outlive a program killed by
# timeout, whose signal reaches its own group only): their pids.  From
# /proc, as the guest's busybox has no pgrep; by the executable's
# identity (-ef), which costs no process per entry.  A script's children
# (vmmctl_test.sh's) run other executables and are not found.
leftovers() {
	for d in /proc/[0-9]*; do
		[ "$d/exe" -ef "$1" ] && echo "${d#/proc/}"
	done
}

# Of pids $1, those not yet gone.  A process whose leader has exited has
# no exe link but may have threads still in a call; one that is a
# zombie with no thread left holds nothing.
still() {
	for p in $1; do
		s=$(cat "/proc/$p/status" 2>/dev/null) || continue
		case $s in
		"" | *"State:	Z"*"Threads:	1"*) ;;
		*) echo "$p" ;;
		esac
	done
}

# Kill what program $1 left running, and wait (up to 10 s) until it is
# gone, so that the next program finds vmm free to reload; what appears
# meanwhile (a child forked before the kill) is killed too.
reap() {
	left=$(leftovers "$1")
	[ -n "$left" ] || return 0
	echo "# run_all: $(basename "$1"): killing what it left running:" $left
	n=0
	while :; do
		kill -KILL $left 2>/dev/null
		for p in $(leftovers "$1"); do
			case " $left " in
			*" $p "*) ;;
			*) left="$left $p" ;;
			esac
		done
		left=$(still "$left")
		[ -n "$left" ] || return 0
		[ "$n" -lt 10 ] || break
		sleep 1
		n=$((n + 1))
	done
	echo "# run_all: $(basename "$1"): still running:" $left
}

total=0
failed=0
failed_names=
for prog in $progs; do
	name=$(basename "$prog")
	total=$((total + 1))
	restore_module
	echo "# run_all: $name"
	t0=$(date +%s)
	if [ ! -x "$prog" ]; then
		echo "# run_all: $name: not executable"
		rc=1
	else
		run_one "$prog"
		rc=$?
		reap "$prog"
	fi
	took="$(($(date +%s) - t0)) s"
	# 0 is a pass, 4 (KSFT_SKIP) a skipped program.
	case $rc in
	0) echo "# run_all: $name: passed ($took)" ;;
	4) echo "# run_all: $name: skipped ($took)" ;;
	*)
		echo "# run_all: $name: FAILED (exit status $rc, $took)"
		failed=$((failed + 1))
		failed_names="$failed_names $name"
		;;
	esac
done
restore_module

echo "# run_all: $((total - failed)) of $total programs passed${failed_names:+; failed:$failed_names}"
[ "$failed" = 0 ]
