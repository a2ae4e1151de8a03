#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Tests of vmmctl itself, run inside the guest as root.  Prints TAP and
# exits non-zero if any test fails.  Reloads the vmm module with the arena
# size each group of tests needs, and leaves it loaded with size=5.
#
# Kernel-only mode leaves out the checks of what vmmctl does on its own:
# argument parsing and usage errors, --help and -V, map's rendering
# options, the list and stats tables, JSON, SVG (the 1 GiB one included)
# and stats --watch.  None of them makes the module do anything that a
# check which stays does not; what stays is every check of what the
# module does: allocation and placement, data, defragmentation, owners,
# modes, quotas, scoped blocks, the errors it returns and the exit class
# each becomes, module loading.  The checks left out are not run and not
# reported, and the plan counts what ran.  The debug tier wants this
# mode: KASAN and lockdep watch the kernel, and vmmctl's own work is the
# same on any kernel, checked in the stock tier.
#
# Environment:
#   VMMCTL               vmmctl to test (default: vmmctl on PATH)
#   VMM_KO               a vmm.ko to insmod when modprobe cannot find the
#                        module (default /repo/module/vmm.ko)
#   VMM_CTL_KERNEL_ONLY  1: kernel-only mode; 0: every check.  Unset: 1
#                        if VMM_VM_KERNEL (set by scripts/vm) is debug,
#                        else 0.
#   VMM_OBSERVE_DIR      where the JSON and SVG files for the host's
#                        scripts/observe-check go (default
#                        build/observe/<vmmctl's directory>); kernel-only
#                        mode writes none.

set -u

VMMCTL=${VMMCTL:-vmmctl}
VMM_KO=${VMM_KO:-/repo/module/vmm.ko}
SYSFS=/sys/class/misc/vmm
T=$(mktemp -d /tmp/vmmctl_test.XXXXXX) || exit 1
trap 'rm -rf "$T"' EXIT

n=0
failures=0

echo "TAP version 13"

pass()
{
	n=$((n + 1))
	echo "ok $n $1"
}

# fail NAME [DIAGNOSTIC...]
fail()
{
	local name=$1 line

	shift
	n=$((n + 1))
	failures=$((failures + 1))
	echo "not ok $n $name"
	for line in "$@"; do
		printf '%s\n' "$line" | sed 's/^/# /'
	done
}

skip()
{
	n=$((n + 1))
	echo "ok $n $1 # SKIP $2"
}

bail()
{
	echo "Bail out! $*"
	exit 1
}

# reload SIZE: a fresh module (IDs from 1) with a SIZE-byte arena.
reload()
{
	local i

	if grep -q '^vmm ' /proc/modules; then
		modprobe -r vmm 2>/dev/null || rmmod vmm || bail "cannot unload vmm"
	fi
	if ! modprobe vmm size="$1" 2>"$T/modprobe.err"; then
		insmod "$VMM_KO" size="$1" ||
			bail "cannot load vmm size=$1: $(cat "$T/modprobe.err")"
	fi
	for i in $(seq 50); do
		[ -c /dev/vmm ] && return 0
		sleep 0.1
	done
	bail "/dev/vmm did not appear after loading vmm size=$1"
}

# run CMD...: run with stdin from /dev/null unless STDIN names a file;
# sets RC and leaves stdout in $T/out and stderr in $T/err.
run()
{
	"$@" <"${STDIN:-/dev/null}" >"$T/out" 2>"$T/err"
	RC=$?
}

# check NAME RC STDOUT STDERR CMD...
#   STDOUT is compared byte for byte ('*' accepts anything);
#   STDERR is an extended regex that must match ('' = must be empty,
#   '*' = anything).
check()
{
	local name=$1 rc=$2 out=$3 err=$4 why=()

	shift 4
	run "$@"
	[ "$RC" = "$rc" ] || why+=("exit status $RC, expected $rc")
	if [ "$out" != '*' ]; then
		printf '%s' "$out" >"$T/exp"
		cmp -s "$T/exp" "$T/out" ||
			why+=("stdout differs from the expected (-) output:"
			      "$(diff -a -u "$T/exp" "$T/out" | tail -n +3 |
				 head -n 40)")
	fi
	case $err in
	'*') ;;
	'') [ -s "$T/err" ] && why+=("unexpected stderr: $(cat "$T/err")") ;;
	*) grep -Eq -- "$err" "$T/err" ||
		why+=("stderr does not match /$err/: $(cat "$T/err")") ;;
	esac
	if [ ${#why[@]} -eq 0 ]; then
		failed_last=0
		pass "$name"
	else
		failed_last=1
		fail "$name" "command: $*" "${why[@]}"
	fi
}

# check_od NAME RC HEX STDERR CMD...: like check, with stdout given as the
# hex bytes "od -An -tx1" shows, for output holding NUL bytes.
check_od()
{
	local name=$1 rc=$2 hex=$3 err=$4 got

	shift 4
	check "$name" "$rc" '*' "$err" "$@"
	[ "${failed_last:-0}" = 1 ] && return
	got=$(od -An -tx1 "$T/out" | tr -s ' \n' ' ' | sed 's/^ //; s/ $//')
	expect "$name (bytes)" "$got" "$hex"
}

# expect NAME ACTUAL EXPECTED: a plain comparison.
expect()
{
	if [ "$2" = "$3" ]; then
		pass "$1"
	else
		fail "$1" "got:      $2" "expected: $3"
	fi
}

# blocked_writing PID: print "yes" once PID waits to write into a full pipe
# (pipe_write; anon_pipe_write on newer kernels, 7.2 here), "no" after 10 s.
blocked_writing()
{
	local i

	for i in $(seq 200); do
		case $(cat "/proc/$1/wchan" 2>/dev/null) in
		pipe_write | anon_pipe_write) echo yes && return ;;
		esac
		sleep 0.05
	done
	echo no
}

V=$VMMCTL
command -v "$V" >/dev/null || bail "$V is not on PATH"

# Kernel-only mode: see the top of this file.
case ${VMM_CTL_KERNEL_ONLY:-} in
0 | 1)
	KERNEL_ONLY=$VMM_CTL_KERNEL_ONLY
	;;
'')
	KERNEL_ONLY=0
	[ "${VMM_VM_KERNEL:-}" = debug ] && KERNEL_ONLY=1
	;;
*)
	bail "VMM_CTL_KERNEL_ONLY must be 0 or 1, not '$VMM_CTL_KERNEL_ONLY'"
	;;
esac
[ "$KERNEL_ONLY" = 1 ] &&
	echo "# kernel-only mode: vmmctl's own parsing, help and output formats are not checked"

# all_checks: true unless in kernel-only mode.
all_checks()
{
	[ "$KERNEL_ONLY" = 0 ]
}

# own CMD...: run CMD, a check of vmmctl's own work, unless in
# kernel-only mode.
own()
{
	all_checks || return 0
	"$@"
}

# --- the simulator's behaviours on a 5-byte arena -------------------------

reload 5
check "fresh 5-byte arena maps -----" 0 $'-----\n' '' $V map
check "alloc 3 prints ID 1" 0 $'1\n' '' $V alloc 3
check "alloc 3 maps XXX--" 0 $'XXX--\n' '' $V map
check "then alloc 2 prints ID 2" 0 $'2\n' '' $V alloc 2
check "then the map is XXXXX" 0 $'XXXXX\n' '' $V map

reload 5
check "alloc 5 on a fresh arena prints 1" 0 $'1\n' '' $V alloc 5
check "alloc 5 maps XXXXX" 0 $'XXXXX\n' '' $V map

reload 5
check "alloc 0 exits 2 (ValueError)" 2 '' \
	'^vmmctl: alloc: invalid size 0: a block must be 1 to 5 bytes' \
	$V alloc 0
check "alloc -1 exits 2 (ValueError)" 2 '' \
	'^vmmctl: alloc: invalid size -1: a block must be 1 to 5 bytes' \
	$V alloc -1
check "alloc 6 exits 2 (ValueError)" 2 '' \
	'^vmmctl: alloc: invalid size 6: a block must be 1 to 5 bytes' \
	$V alloc 6
check "failed allocs leave the arena empty" 0 $'-----\n' '' $V map

reload 5
check "alloc 3 of 5" 0 $'1\n' '' $V alloc 3
check "second alloc 3 exits 4 (MemoryError) and says what to do" 4 '' \
	"^vmmctl: alloc: no contiguous free range of 3 bytes \(largest is 2, 2 free in total\); free some blocks" \
	$V alloc 3
check "the failed alloc changed nothing" 0 $'XXX--\n' '' $V map
check "free of a never-allocated ID exits 2" 2 '' \
	"^vmmctl: free: no block with ID 7 \(it was never allocated or is already freed\); 'vmmctl list' shows live blocks" \
	$V free 7
check "free 1 succeeds silently" 0 '' '' $V free 1
check "free 1 again exits 2" 2 '' \
	'^vmmctl: free: no block with ID 1 \(it was never allocated or is already freed\)' \
	$V free 1
check "freed arena maps -----" 0 $'-----\n' '' $V map
check "IDs are not reused after a free" 0 $'2\n' '' $V alloc 1

# Five 1-byte blocks with distinct bytes; free the 2nd and 4th.
reload 5
ok=1
for i in 1 2 3 4 5; do
	run $V alloc 1
	[ "$RC" = 0 ] && [ "$(cat "$T/out")" = "$i" ] || ok=0
	run $V write "$i" 0 "$(printf "\\x$((60 + i))")"	# a..e
	[ "$RC" = 0 ] && [ ! -s "$T/out" ] || ok=0
done
expect "five 1-byte blocks allocated and written" "$ok" 1
check "free the 2nd block" 0 '' '' $V free 2
check "free the 4th block" 0 '' '' $V free 4
check "fragmented map is X-X-X" 0 $'X-X-X\n' '' $V map
check "alloc 2 exits 4 with 2 bytes free but not contiguous" 4 '' \
	"^vmmctl: alloc: no contiguous free range of 2 bytes \(largest is 1, 2 free in total\); run 'vmmctl defrag'" \
	$V alloc 2
check "defrag prints the 2 bytes moved" 0 $'2\n' '' $V defrag
check "after defrag the map is XXX--" 0 $'XXX--\n' '' $V map
check "block 1 still holds a" 0 'a' '' $V read 1 0 1
check "block 3 still holds c" 0 'c' '' $V read 3 0 1
check "block 5 still holds e" 0 'e' '' $V read 5 0 1
check "now alloc 2 succeeds with ID 6" 0 $'6\n' '' $V alloc 2
check "and the map is XXXXX" 0 $'XXXXX\n' '' $V map
check "info 6: offset 3, size 2" 0 $'id 6\noffset 3\nsize 2\nowner 0\ngroup 0\nmode 0600\nscoped no\nmappable no\nmapped 0\n' '' $V info 6
check "info 5 after defrag: offset 2" 0 $'id 5\noffset 2\nsize 1\nowner 0\ngroup 0\nmode 0600\nscoped no\nmappable no\nmapped 0\n' '' \
	$V info 5

# --- compaction on demand, budgets, progress -----------------------------------

# Blocks of 1, 2, 1, 2, 1 bytes in a 10-byte arena; free the 2-byte ones.
reload 10
for i in 1 2 1 2 1; do $V alloc "$i" >/dev/null; done
$V write 3 0 c >/dev/null
$V write 5 0 e >/dev/null
$V free 2 && $V free 4
check "alloc 5 fails: 7 bytes free, largest range 3" 4 '' \
	"no contiguous free range of 5 bytes \(largest is 3, 7 free in total\)" \
	$V alloc 5
check "alloc 5 --compact defragments and succeeds with ID 6" 0 $'6\n' '' \
	$V alloc 5 --compact
check "alloc --compact left the blocks in order, packed" 0 $'XXXXXXXX--\n' '' \
	$V map
check "block 3 kept its byte through the move" 0 'c' '' $V read 3 0 1
check "block 5 kept its byte through the move" 0 'e' '' $V read 5 0 1
expect "the compacting allocation counts as a defrag, not as a failure" \
	"$(cat "$SYSFS/defrags") $(cat "$SYSFS/alloc_failures")" "1 1"
check "alloc 3 --compact with 2 bytes free still exits 4" 4 '' \
	"no contiguous free range of 3 bytes \(largest is 2, 2 free in total\); free some blocks first" \
	$V alloc 3 --compact

# Three 3-byte blocks after a 3-byte hole: a budget of 3 moves one.
reload 12
for i in 1 2 3 4; do $V alloc 3 >/dev/null; done
$V free 1
check "defrag --budget 3 moves one block" 0 $'3\n' '' $V defrag --budget 3
check "the first block moved, the others wait" 0 $'XXX---XXXXXX\n' '' \
	$V map --raw
check "defrag --budget 1 still moves one whole block" 0 $'3\n' '' \
	$V defrag --budget 1
check "defrag --budget 1K finishes" 0 $'3\n' '' $V defrag --budget 1K
check "and the arena is compact" 0 $'XXXXXXXXX---\n' '' $V map --raw
own check "defrag --budget 0 is a usage error" 1 '' \
	"--budget wants a positive number of bytes, got '0'" $V defrag --budget 0
own check "defrag --budget x is a usage error" 1 '' \
	"BYTES 'x' is not a decimal number" $V defrag --budget x
$V free 3
check "defrag --progress without a terminal prints only the total" 0 \
	$'3\n' '' $V defrag --progress --budget 1

# A 1 GiB arena: 4 blocks of 128 MiB, the 1st and 3rd freed; --progress
# moves 256 MiB in 1 MiB steps (no watchdog or RCU stall: the runner fails
# the run on any kernel report).
reload 1G
for i in 1 2 3 4; do $V alloc 128M >/dev/null; done
$V write 2 0 two >/dev/null
$V write 4 134217725 end >/dev/null
$V free 1 && $V free 3
check "defrag --progress on a 1 GiB arena moves 256 MiB" 0 $'268435456\n' '' \
	$V defrag --progress
check "block 2 moved to offset 0 with its data" 0 'two' '' $V read 2 0 3
check "block 4 moved to 128 MiB with its data" 0 'end' '' \
	$V read 4 134217725 3
check "info 4: offset 128 MiB" 0 $'id 4\noffset 134217728\nsize 134217728\nowner 0\ngroup 0\nmode 0600\nscoped no\nmappable no\nmapped 0\n' '' \
	$V info 4

reload 5
check "alloc 1 (variant)" 0 $'1\n' '' $V alloc 1
check "alloc 1 (variant) again" 0 $'2\n' '' $V alloc 1
check "map is XX---" 0 $'XX---\n' '' $V map
check "alloc 3 fills it" 0 $'3\n' '' $V alloc 3
check "map is XXXXX" 0 $'XXXXX\n' '' $V map

# --- every exit class ------------------------------------------------------

reload 5
check "alloc 5 for the range tests" 0 $'1\n' '' $V alloc 5
check "write at offset -1 exits 3 (IndexError)" 3 '' \
	'^vmmctl: write: offset -1 is outside block 1 \(size 5\): use an offset from 0 to 4' \
	$V write 1 -1 x
check "write at offset = size exits 3" 3 '' \
	'^vmmctl: write: offset 5 is outside block 1 \(size 5\)' \
	$V write 1 5 x
check "write of data longer than size - offset exits 2" 2 '' \
	'^vmmctl: write: 3 bytes at offset 3 do not fit in block 1 \(size 5, room for 2\); write less data' \
	$V write 1 3 xyz
check "write of 6 bytes into a 5-byte block exits 2" 2 '' \
	'do not fit in block 1 \(size 5, room for 5\)' $V write 1 0 abcdef
check_od "the refused writes stored nothing" 0 "00 00 00 00 00" '' \
	$V read 1 0 5
check "write to an unknown ID exits 2" 2 '' \
	'^vmmctl: write: no block with ID 9 ' $V write 9 0 x
check "write of empty data succeeds" 0 '' '' $V write 1 4 ''
check "write fills the end exactly" 0 '' '' $V write 1 3 xy
own check "read length 0 exits 2 (ValueError)" 2 '' \
	'^vmmctl: read: LENGTH must be at least 1 \(got 0\)' $V read 1 0 0
own check "read length -1 exits 2" 2 '' \
	'^vmmctl: read: LENGTH must be at least 1 \(got -1\)' $V read 1 0 -1
check "read at offset -1 exits 3 (IndexError)" 3 '' \
	'^vmmctl: read: offset -1 is outside block 1 \(size 5\)' \
	$V read 1 -1 1
check "read past the end exits 3" 3 '' \
	'^vmmctl: read: offset 3 \+ length 3 runs past the end of block 1 \(size 5\); at most 2 bytes can be read at offset 3' \
	$V read 1 3 3
check "read at offset = size exits 3" 3 '' \
	'^vmmctl: read: offset 5 is outside block 1' $V read 1 5 1
check "read of a huge length exits 3" 3 '' 'runs past the end' \
	$V read 1 0 9223372036854775807
check "read of an unknown ID exits 2" 2 '' \
	'^vmmctl: read: no block with ID 42 ' $V read 42 0 1
check "info of an unknown ID exits 2" 2 '' \
	"^vmmctl: info: no block with ID 0 .*'vmmctl list'" $V info 0
check "read of the last 2 bytes" 0 'xy' '' $V read 1 3 2

own check "no command is a usage error" 1 '' '^vmmctl: no command given' $V
own check "unknown command exits 1" 1 '' \
	"^vmmctl: unknown command 'allocate'; 'vmmctl --help' lists" \
	$V allocate 3
own check "alloc 12x exits 1" 1 '' \
	"^vmmctl: alloc: SIZE '12x' is not a decimal number" $V alloc 12x
own check "alloc with no size exits 1 and shows the usage" 1 '' \
	'Usage: vmmctl \[-d DEVICE\] alloc SIZE \[--align N\]' $V alloc
own check "free with an extra argument exits 1" 1 '' \
	"^vmmctl: free: unexpected argument '2'" $V free 1 2
own check "free of a non-number exits 1" 1 '' \
	"^vmmctl: free: ID 'one' is not a signed 64-bit decimal number" \
	$V free one
own check "read with OFFSET 1.5 exits 1" 1 '' "OFFSET '1.5'" $V read 1 1.5 1
own check "an ID beyond 64 bits exits 1 and says it is out of range" 1 '' \
	"^vmmctl: info: ID '99999999999999999999' is out of range: it must lie from -9223372036854775808 to 9223372036854775807\$" \
	$V info 99999999999999999999
own check "too many digits with garbage after them is not a number" 1 '' \
	"^vmmctl: info: ID '99999999999999999999x' is not a signed 64-bit decimal number\$" \
	$V info 99999999999999999999x
own check "too many digits before a suffix are out of range, whatever the suffix" 1 '' \
	"^vmmctl: alloc: SIZE '99999999999999999999K' is out of range: it must lie from -9223372036854775808 to 9223372036854775807\$" \
	$V alloc 99999999999999999999K
own check "a size past 64 bits once its suffix is applied exits 1 and says so" 1 '' \
	"^vmmctl: alloc: SIZE '8589934592G' is out of range: it must lie from -9223372036854775808 to 9223372036854775807 once its suffix is applied\$" \
	$V alloc 8589934592G
own check "a --budget of 2^63 exits 1 and says it is out of range" 1 '' \
	"^vmmctl: defrag: BYTES '9223372036854775808' is out of range" \
	$V defrag --budget 9223372036854775808
own check "unknown option exits 1" 1 '' "^vmmctl: map: unknown option '--wide'" \
	$V map --wide
own check "a short option to a command says its options are long" 1 '' \
	"^vmmctl: list: unknown option '-x'; the options of 'list' are long ones \('vmmctl list --help' lists them\)\$" \
	$V list -x
own check "a lone - where no argument is due is still an unexpected argument" 1 '' \
	"^vmmctl: map: unexpected argument '-'\$" $V map -
own check "unknown global option exits 1" 1 '' "^vmmctl: unknown option '-x'" \
	$V -x list
own check "-d without a path exits 1" 1 '' "needs a device path" $V -d
own check "map --width 0 exits 1" 1 '' '^vmmctl: map: --width must be at least 1' \
	$V map --width 0
own check "missing device exits 6 and suggests modprobe" 6 '' \
	"^vmmctl: stats: cannot open /nonexistent: No such file or directory; the vmm module is probably not loaded: load it with 'modprobe vmm'" \
	$V -d /nonexistent stats
# Only standard input free and no descriptor above 2 allowed: libvmm
# will not hand out 0, so the device cannot be opened at all.
own check "no descriptor to be had exits 6 and suggests ulimit" 6 '' \
	"^vmmctl: stats: cannot open /dev/vmm: Too many open files; raise the limit on open files \\(e.g. 'ulimit -n 1024'\\)" \
	bash -c 'exec 0<&- && ulimit -n 3 && exec "$0" stats' "$(command -v $V)"
own check "a device that is not vmm exits 6" 6 '' \
	'/dev/null is not a vmm device' $V -d /dev/null stats
own check "-dPATH selects the device" 0 'xy' '' $V -d/dev/vmm read 1 3 2
own check "--device=PATH selects the device" 0 'xy' '' \
	$V --device=/dev/vmm read 1 3 2
own check "--device /dev/vmm info 1" 0 $'id 1\noffset 0\nsize 5\nowner 0\ngroup 0\nmode 0600\nscoped no\nmappable no\nmapped 0\n' '' \
	$V --device /dev/vmm info 1

# Permission denied: a copy of the device node with mode 0000, opened from
# a new user namespace, where root has no CAP_DAC_OVERRIDE over it.
dev=$(stat -c '%t:%T' /dev/vmm)
if mknod "$T/vmmnode" c $((16#${dev%:*})) $((16#${dev#*:})) 2>/dev/null &&
   chmod 0000 "$T/vmmnode" && unshare -U true 2>/dev/null; then
	check "permission denied exits 5" 5 '' \
		"^vmmctl: stats: cannot open $T/vmmnode: Permission denied; run as root" \
		unshare -U "$(command -v $V)" -d "$T/vmmnode" stats
	check "the same node works with permission" 0 '*' '' \
		$V -d "$T/vmmnode" stats
	rm -f "$T/vmmnode"
else
	skip "permission denied exits 5" "mknod or unshare -U unavailable"
fi

# ENOSPC with an alignment, and alignment errors.
reload 16
check "alloc 1 in a 16-byte arena" 0 $'1\n' '' $V alloc 1
check "alloc 4 --align 8 goes to offset 8" 0 $'2\n' '' $V alloc 4 --align 8
check "info shows the aligned offset" 0 $'id 2\noffset 8\nsize 4\nowner 0\ngroup 0\nmode 0600\nscoped no\nmappable no\nmapped 0\n' '' \
	$V info 2
check "--align=4 form" 0 $'3\n' '' $V alloc --align=4 2
check "info 3 at offset 4" 0 $'id 3\noffset 4\nsize 2\nowner 0\ngroup 0\nmode 0600\nscoped no\nmappable no\nmapped 0\n' '' $V info 3
check "alignment 3 exits 2" 2 '' \
	'^vmmctl: alloc: invalid alignment 3: use 0 or 1 for none, or a power of two' \
	$V alloc 1 --align 3
check "alignment 32 (> arena) exits 2" 2 '' 'invalid alignment 32' \
	$V alloc 1 --align 32
check "alloc 4 --align 16 exits 4" 4 '' \
	'no contiguous free range of 4 bytes aligned to 16' \
	$V alloc 4 --align 16

# Size suffixes.
reload 4K
check "alloc 2K" 0 $'1\n' '' $V alloc 2K
check "alloc 2k (lower case)" 0 $'2\n' '' $V alloc 2k
check "info shows 2048 bytes" 0 $'id 1\noffset 0\nsize 2048\nowner 0\ngroup 0\nmode 0600\nscoped no\nmappable no\nmapped 0\n' '' $V info 1
check "alloc 1M exits 2" 2 '' 'invalid size 1048576: a block must be 1 to 4096' \
	$V alloc 1M
check "alloc 1 on a full arena exits 4" 4 '' \
	'no contiguous free range of 1 byte \(largest is 0, 0 free in total\)' \
	$V alloc 1
own check "alloc 2X exits 1" 1 '' "SIZE '2X' is not a decimal number" $V alloc 2X

# --- map --width and --raw ---------------------------------------------------

reload 100
$V alloc 10 >/dev/null && $V alloc 10 >/dev/null && $V free 1
own check "map --width 10: one character per 10 bytes" 0 $'-X--------\n' '' \
	$V map --width 10
own check "map --width=10 form" 0 $'-X--------\n' '' $V map --width=10
own check "map default width 64: 2 bytes a character, 50 characters" 0 \
	"-----XXXXX$(printf -- '-%.0s' $(seq 40))"$'\n' '' $V map
own check "map --raw: one character per byte" 0 \
	"$(printf -- '-%.0s' $(seq 10))$(printf 'X%.0s' $(seq 10))$(printf -- '-%.0s' $(seq 80))"$'\n' \
	'' $V map --raw
own check "map --width 200 is at most one character per byte" 0 \
	"$(printf -- '-%.0s' $(seq 10))$(printf 'X%.0s' $(seq 10))$(printf -- '-%.0s' $(seq 80))"$'\n' \
	'' $V map --width 200
own check "map --width 3: units of 34 bytes, X if any byte is allocated" 0 \
	$'X--\n' '' $V map --width 3
own check "map --width 1" 0 $'X\n' '' $V map --width 1
check "alloc 1 --align 64 takes offset 0 (first fit)" 0 $'3\n' '' \
	$V alloc 1 --align 64
own check "map --width 7: units of 15 bytes" 0 $'XX-----\n' '' $V map --width 7

# --- list, info, stats -------------------------------------------------------

# The tables' layout only: the LIST and STATS calls behind them, and the
# figures they return, are checked above (maps, alloc error messages).
if all_checks; then
	check "list: header and one row per block in ID order" 0 \
		"$(printf '%10s %12s %12s %10s %10s %4s %6s\n' \
			ID OFFSET SIZE OWNER GROUP MODE MAPPED 2 10 10 0 0 0600 - \
			3 0 1 0 0 0600 -)"$'\n' '' $V list
	check "list --raw: one space between columns, no padding" 0 \
		$'ID OFFSET SIZE OWNER GROUP MODE MAPPED\n2 10 10 0 0 0600 -\n3 0 1 0 0 0600 -\n' \
		'' $V list --raw
	check "list --noheadings: the aligned rows only" 0 \
		"$(printf '%10s %12s %12s %10s %10s %4s %6s\n' \
			2 10 10 0 0 0600 - 3 0 1 0 0 0600 -)"$'\n' '' \
		$V list --noheadings
	check "list --raw --noheadings: bare rows" 0 \
		$'2 10 10 0 0 0600 -\n3 0 1 0 0 0600 -\n' '' \
		$V list --noheadings --raw
	check "list --json --raw is a usage error" 1 '' \
		"^vmmctl: list: --raw formats the table, and --json prints JSON instead; give one of them" \
		$V list --json --raw
	check "list --json --noheadings is a usage error" 1 '' \
		"^vmmctl: list: --noheadings formats the table, and --json prints JSON instead" \
		$V list --noheadings --json
	printf 'list\nlist --raw --noheadings\nstats --users --raw\n' >"$T/batch"
	STDIN=$T/batch run $V batch
	expect "batch: list --raw --noheadings prints the batch line of list" \
		"$RC $(sed -n 2p "$T/out")" \
		"0 blocks=2 id=2,offset=10,size=10,owner=0,group=0,mode=0600,mapped=- id=3,offset=0,size=1,owner=0,group=0,mode=0600,mapped=-"
	expect "batch: and the same as list, and stats --users --raw as --users" \
		"$(sed -n 1p "$T/out") $(sed -n 3p "$T/out")" \
		"$(sed -n 2p "$T/out") users=uid=0,blocks=2,bytes=11,ns_blocks=0"
	check "stats --users --raw: root's 11 bytes in 2 blocks" 0 \
		$'UID BLOCKS BYTES NS-BLOCKS\n0 2 11 0\n' '' $V stats --users --raw
	check "stats --users --noheadings: the aligned row only" 0 \
		"$(printf '%10s %10s %14s %10s' 0 2 11 0)"$'\n' '' \
		$V stats --users --noheadings
	check "stats --raw without --users is a usage error" 1 '' \
		"^vmmctl: stats: --raw formats the table of --users; add --users, or leave it out" \
		$V stats --raw
	check "stats --noheadings without --users is a usage error" 1 '' \
		"^vmmctl: stats: --noheadings formats the table of --users" \
		$V stats --noheadings
	check "stats --users --json --raw is a usage error" 1 '' \
		"^vmmctl: stats: --raw formats the table, and --json prints JSON instead" \
		$V stats --users --json --raw
	run $V stats
	ok=1
	for f in size used free largest_free blocks fragmentation allocs frees \
		 alloc_failures defrags bytes_moved metadata_bytes mapped_blocks policy; do
		grep -qx "$f $(cat "$SYSFS/$f")" "$T/out" || ok=0
	done
	expect "stats: every counter matches sysfs" "$ok,$RC,$(wc -l <"$T/out")" "1,0,14"
	check "stats values" 0 \
		$'size 100\nused 11\nfree 89\nlargest_free 80\nblocks 2\nfragmentation 101\nallocs 3\nfrees 1\nalloc_failures 0\ndefrags 0\nbytes_moved 0\n'"metadata_bytes $(cat "$SYSFS/metadata_bytes")"$'\nmapped_blocks 0\npolicy first\n' \
		'' $V stats
	reload 5
	check "list of an empty arena is the header" 0 \
		"$(printf '%10s %12s %12s %10s %10s %4s %6s' ID OFFSET SIZE OWNER \
			GROUP MODE MAPPED)"$'\n' '' $V list
fi

# --- read/write exactness ----------------------------------------------------

reload 16
$V alloc 8 >/dev/null
check_od "a new block reads as 8 zero bytes" 0 \
	"00 00 00 00 00 00 00 00" '' $V read 1 0 8
printf 'a\0b\n\377' >"$T/bin"
STDIN=$T/bin check "write 1 0 - takes binary data from stdin" 0 '' '' \
	$V write 1 0 -
run $V read 1 0 8
expect "read gives back exactly the bytes (od)" \
	"$(od -An -tx1 "$T/out" | tr -s ' ')" " 61 00 62 0a ff 00 00 00"
run $V read 1 1 3
expect "read of a middle range writes exactly 3 bytes" \
	"$RC $(wc -c <"$T/out") $(od -An -tx1 "$T/out" | tr -s ' ')" \
	"0 3  00 62 0a"
printf 'too long data' >"$T/long"
STDIN=$T/long check "write - of too much data exits 2" 2 '' \
	'13 bytes at offset 0 do not fit in block 1 \(size 8, room for 8\)' \
	$V write 1 0 -
check "write of literal DATA adds no newline" 0 '' '' $V write 1 5 'x y'
check_od "read it back" 0 "61 00 62 0a ff 78 20 79" '' $V read 1 0 8
check "DATA after -- may start with --" 0 '' '' $V write 1 0 -- --ab
check "read --ab back" 0 '--ab' '' $V read 1 0 4
check "DATA '-x' is literal" 0 '' '' $V write 1 0 -x
check "read -x back" 0 '-x' '' $V read 1 0 2
own check "DATA '-h' is literal, not a help request" 0 '' '' $V write 1 0 -h
own check "read -h back" 0 '-h' '' $V read 1 0 2
own check "-h before the arguments is help" 0 '*' '' $V write -h
own expect "write -h prints the usage" "$(head -n 1 "$T/out")" \
	"Usage: vmmctl [-d DEVICE] write ID OFFSET DATA"
own check "-h after the arguments is help too" 0 '*' '' $V alloc 10 -h
own expect "alloc 10 -h prints the usage" "$(head -n 1 "$T/out")" \
	"Usage: vmmctl [-d DEVICE] alloc SIZE [--align N] [--compact] [--mode MODE] [--scoped] [--mappable]"
# An endless standard input: vmmctl reads one byte more than the arena
# holds and stops, within 64 MiB of address space.
if all_checks; then
	run bash -c 'ulimit -v 65536; head -c 268435456 /dev/zero | "$0" write 1 0 -' "$V"
	expect "write - of an endless input stops past the arena's size" \
		"$RC $(cat "$T/err")" \
		"2 vmmctl: write: standard input holds more than 16 bytes, the arena's size, so it fits in no block; write less"
fi

# --- batch -------------------------------------------------------------------

# metadata_bytes of one block and one free extent, for the batch's stats
# line: a full arena has one block and no extent, an empty one one extent.
reload 5
meta_extent=$(cat "$SYSFS/metadata_bytes")
$V alloc 5 >/dev/null
meta_block=$(cat "$SYSFS/metadata_bytes")
meta_batch=$((meta_block + meta_extent))
reload 5
cat >"$T/batch" <<'EOF'
# a comment, then a blank line; neither prints anything

alloc 3
  # an indented comment
map
write 1 0 abc
read 1 0 3
alloc 3
free 9
alloc 2
write 2 0 "a b"
write 2 0 'a'
write 2 1 "q"
read 2 0 2
info 2
free 1
map
defrag
map
list
read 2 0 3
write 2 -1 x
stats
alloc 0
EOF
STDIN=$T/batch check "batch: one line per command, exit = last error class" 2 \
	'1
XXX--
ok
abc
error 4 alloc: no contiguous free range of 3 bytes (largest is 2, 2 free in total); free some blocks first ('"'vmmctl list'"' shows them)
error 2 free: no block with ID 9 (it was never allocated or is already freed); '"'vmmctl list'"' shows live blocks
2
error 2 write: 3 bytes at offset 0 do not fit in block 2 (size 2, room for 2); write less data or use a smaller offset
ok
ok
aq
id=2 offset=3 size=2 owner=0 group=0 mode=0600 scoped=no mappable=no mapped=0
ok
---XX
2
XX---
blocks=1 id=2,offset=0,size=2,owner=0,group=0,mode=0600,mapped=-
error 3 read: offset 0 + length 3 runs past the end of block 2 (size 2); at most 2 bytes can be read at offset 0
error 3 write: offset -1 is outside block 2 (size 2): use an offset from 0 to 1
size=5 used=2 free=3 largest_free=3 blocks=1 fragmentation=0 allocs=2 frees=1 alloc_failures=1 defrags=1 bytes_moved=2 metadata_bytes='"$meta_batch"' mapped_blocks=0 policy=first
error 2 alloc: invalid size 0: a block must be 1 to 5 bytes (the arena size)
' '' $V batch

printf 'alloc 1\nalloc 9\nmap\n' >"$T/batch"
STDIN=$T/batch check "batch exits with the LAST error, not the worst" 2 \
	$'3\nerror 2 alloc: invalid size 9: a block must be 1 to 5 bytes (the arena size)\nXXX--\n' \
	'' $V batch
printf 'alloc 1\nalloc 5\n' >"$T/batch"
STDIN=$T/batch check "batch: a final MemoryError gives exit 4" 4 '*' '' $V batch
printf 'free 4\nmap --raw\n' >"$T/batch"
STDIN=$T/batch check "batch exits 0 when every command succeeds" 0 \
	$'ok\nXXX--\n' '' $V batch
printf 'frobnicate\nalloc 12x\nwrite 1 0 -\nread 1 0\nbatch\nwrite 1 0 "open\n' \
	>"$T/batch"
STDIN=$T/batch own check "batch: usage errors are class 1, one line each" 1 \
	"error 1 unknown command 'frobnicate'; 'vmmctl --help' lists the commands
error 1 alloc: SIZE '12x' is not a decimal number (K, M and G suffixes allowed); usage: alloc SIZE [--align N] [--compact] [--mode MODE] [--scoped] [--mappable]
error 1 write: DATA '-' (standard input) is not available in batch mode, where standard input holds the commands; quote the data on the line instead; usage: write ID OFFSET DATA
error 1 read: missing argument (2 given, 3 needed); usage: read ID OFFSET LENGTH
error 1 batch: cannot be nested; run the commands directly
error 1 unterminated \" quote
" '' $V batch
printf 'write 2 0 \\x41\nread 2 0 1\nalloc --help\n' >"$T/batch"
STDIN=$T/batch check "batch: escapes and one-line help" 0 \
	$'ok\nA\nusage: alloc SIZE [--align N] [--compact] [--mode MODE] [--scoped] [--mappable]\n' '' $V batch
printf 'stats\n' >"$T/batch"
STDIN=$T/batch own check "batch on a missing device: error 6 per line" 6 \
	"error 6 stats: cannot open /nonexistent: No such file or directory; the vmm module is probably not loaded: load it with 'modprobe vmm', and check the permissions on /nonexistent"$'\n' \
	'' $V -d /nonexistent batch
own check "empty batch exits 0 and prints nothing" 0 '' '' $V batch
printf 'map --svg %s\nmap --svg -\nalloc "1\\n0"\nalloc %s\n' "$T/batch.svg" "'1\\n0'" >"$T/batch"
STDIN=$T/batch own check "batch: map --svg and errors quoting a newline keep one line each" 1 \
	"ok
error 1 map: --svg - writes many lines, and batch mode prints one per command; give a file name; usage: map [--width N] [--raw] [--color|--no-color] [--summary] [--svg FILE]
error 1 alloc: SIZE '1\\n0' is not a decimal number (K, M and G suffixes allowed); usage: alloc SIZE [--align N] [--compact] [--mode MODE] [--scoped] [--mappable]
error 1 alloc: SIZE '1\\\\n0' is not a decimal number (K, M and G suffixes allowed); usage: alloc SIZE [--align N] [--compact] [--mode MODE] [--scoped] [--mappable]
" '' $V batch
if all_checks; then
	expect "batch: map --svg wrote the file" "$(head -c 5 "$T/batch.svg")" "<?xml"
fi
# A directory opens for reading, and read(2) of it fails: EISDIR.
STDIN=/ own check "batch whose standard input cannot be read exits 6 and says why" 6 '' \
	"^vmmctl: batch: cannot read standard input: Is a directory; give batch a readable file or pipe\$" \
	$V batch

# Bytes read in a batch are escaped as the input takes them, so that a
# block holding a newline, a tab, a backslash or NUL stays one line.
reload 8192
printf '%s\n' 'alloc 6' 'write 1 0 "a\nb\\\tc"' 'read 1 0 6' 'alloc 3' \
	'read 2 0 3' 'alloc 4096 --mappable' 'write 3 0 "x\ry\x7f"' \
	'cat 3 --length 4' 'read 1 1 1' >"$T/batch"
STDIN=$T/batch check "batch: read and cat escape control bytes and backslashes" 0 \
	'1
ok
a\nb\\\tc
2
\x00\x00\x00
3
ok
x\ry\x7f
\n
' '' $V batch

# --- batch through VMM_IOC_BATCH ---------------------------------------------

# vmm_ioctl_log (beside vmm_runas) runs a command under ptrace and logs
# each vmm ioctl it makes ("BATCH N" for a batch of N entries), static
# and 32-bit vmmctl included; the guest has no strace.
IOCTL_LOG=$(dirname "$(command -v vmm_runas)")/vmm_ioctl_log
LOG=$T/ioctl.log

# logged CMD...: run CMD under vmm_ioctl_log, into a fresh $LOG.
logged()
{
	: >"$LOG"
	"$IOCTL_LOG" "$LOG" "$@"
}

# lockstep CMD...: feed CMD (a vmmctl batch) the lines of $STDIN one at a
# time, each once the answer to the one before has come, as a program
# driving it through a pipe does; no answer within 30 s ends it.  Sets RC;
# stdout in $T/out, stderr in $T/err.
lockstep()
{
	local line ans ok=1

	: >"$T/out"
	coproc VB { "$@" 2>"$T/err"; }
	while IFS= read -r line; do
		printf '%s\n' "$line" >&"${VB[1]}"
		if ! IFS= read -r -t 30 ans <&"${VB[0]}"; then
			ok=0
			echo "(no answer to '$line' within 30 s)" >>"$T/out"
			break
		fi
		printf '%s\n' "$ans" >>"$T/out"
	done <"$STDIN"
	eval "exec ${VB[1]}>&-"
	[ $ok = 1 ] || kill "$VB_PID" 2>/dev/null
	wait "$VB_PID"
	RC=$?
}

# mix_setup: a fresh 100-byte arena holding block 1 (10 bytes, 0123456789)
# and blocks 2 and 3 (20 bytes each).
mix_setup()
{
	reload 100
	{ $V alloc 10 && $V write 1 0 0123456789 && $V alloc 20 &&
		$V alloc 20; } >/dev/null || bail "cannot set up the batch mix"
}

# Failures in the middle; nothing after a failure changes what its message
# quotes (no alloc or free after an alloc, no free of a block read or
# written before), so this goes in one call with VMM_BATCH_CONTINUE.
printf '%s\n' 'info 1' 'read 1 0 4' 'read 1 8 4' 'write 1 9 xy' 'free 7' \
	'info 9' 'write 2 0 abc' 'read 2 0 3' 'free 3' 'alloc 90' \
	>"$T/mix_continue"
mix_continue_out="id=1 offset=0 size=10 owner=0 group=0 mode=0600 scoped=no mappable=no mapped=0
0123
error 3 read: offset 8 + length 4 runs past the end of block 1 (size 10); at most 2 bytes can be read at offset 8
error 2 write: 2 bytes at offset 9 do not fit in block 1 (size 10, room for 1); write less data or use a smaller offset
error 2 free: no block with ID 7 (it was never allocated or is already freed); 'vmmctl list' shows live blocks
error 2 info: no block with ID 9 (it was never allocated or is already freed); 'vmmctl list' shows live blocks
ok
abc
ok
error 4 alloc: no contiguous free range of 90 bytes (largest is 70, 70 free in total); free some blocks first ('vmmctl list' shows them)
"
# Allocations after allocations: a failure stops the call and is worded
# with the arena as it failed (20 bytes free, not the 10 left at the
# end), and the rest goes in the next call.
printf '%s\n' 'alloc 30' 'alloc 90' 'free 3' 'alloc 20' 'alloc 0' \
	'alloc 10' >"$T/mix_stop"
mix_stop_out="4
error 4 alloc: no contiguous free range of 90 bytes (largest is 20, 20 free in total); free some blocks first ('vmmctl list' shows them)
ok
5
error 2 alloc: invalid size 0: a block must be 1 to 100 bytes (the arena size)
6
"
for mix in continue stop; do
	if [ $mix = continue ]; then
		want=$mix_continue_out rc=4
	else
		want=$mix_stop_out rc=2
	fi
	mix_setup
	STDIN=$T/mix_$mix lockstep $V batch
	expect "batch, $mix mix, line by line: each answer comes before the next line" \
		"$RC $(cat "$T/out")" "$rc ${want%$'\n'}"
	mix_setup
	STDIN=$T/mix_$mix check "batch, $mix mix, all at once: the same lines and exit status" \
		$rc "$want" '' logged $V batch
	cp "$LOG" "$T/log_$mix"
	# vmm_ioctl_log refuses the ioctl, as a module without it would.
	mix_setup
	STDIN=$T/mix_$mix VMM_IOCTL_NO_BATCH=1 check \
		"batch: the $mix mix on a kernel without VMM_IOC_BATCH: the same" \
		$rc "$want" '' logged $V batch
	cp "$LOG" "$T/nolog_$mix"
done
# The calls made: STATS is a read's one look at the arena size; INFO and
# STATS after a call, the wording of its failures.
expect "batch: the continue mix is one VMM_IOC_BATCH of 10 entries" \
	"$(tr '\n' ' ' <"$T/log_continue")" "STATS BATCH 10 INFO INFO STATS "
expect "batch: the stop mix is a call per failure, the last one alone" \
	"$(tr '\n' ' ' <"$T/log_stop")" "BATCH 6 STATS BATCH 4 STATS ALLOC "
expect "batch: refused, the continue mix goes a command at a time" \
	"$(tr '\n' ' ' <"$T/nolog_continue")" \
	"STATS BATCH 10 INFO READ READ WRITE FREE INFO WRITE READ FREE ALLOC INFO INFO STATS "
expect "batch: refused, the stop mix goes a command at a time" \
	"$(tr '\n' ' ' <"$T/nolog_stop")" \
	"BATCH 6 ALLOC ALLOC STATS BATCH 4 FREE ALLOC ALLOC STATS ALLOC "
mix_setup
STDIN=$T/mix_stop lockstep logged $V batch
expect "batch driven line by line makes no VMM_IOC_BATCH" \
	"$RC $(grep -c BATCH "$LOG")" "2 0"

# --- owners, modes, scoped blocks, quotas ------------------------------------

# Users act through vmm_runas (build/bin); /dev/vmm is 0660, so they get
# at it through group 1005, as the udev rule's "vmm" group would.
PARAMS=/sys/module/vmm/parameters
reload 100
run stat -c '%a %u %g' /dev/vmm
expect "the device node is 0660 root:root" "$RC $(cat "$T/out")" "0 660 0 0"
chgrp 1005 /dev/vmm
U1="vmm_runas 1000 1000,1005,1003"
U2="vmm_runas 1002 1002,1005"
check "a user outside the device's group cannot open it: exit 5" 5 '' \
	'^vmmctl: list: cannot open /dev/vmm: Permission denied; run as root' \
	vmm_runas 1002 1002 $V list
check "alloc --mode 0640 as uid 1000" 0 $'1\n' '' $U1 $V alloc 10 --mode 0640
check "info shows owner, group and mode" 0 \
	$'id 1\noffset 0\nsize 10\nowner 1000\ngroup 1000\nmode 0640\nscoped no\nmappable no\nmapped 0\n' \
	'' $V info 1
check "list shows owner, group and mode" 0 \
	"$(printf '%10s %12s %12s %10s %10s %4s %6s\n' ID OFFSET SIZE OWNER \
		GROUP MODE MAPPED 1 0 10 1000 1000 0640 -)"$'\n' '' $U2 $V list
own check "alloc --mode 1000 exits 1" 1 '' \
	"^vmmctl: alloc: --mode '1000' is not an octal mode from 0 to 0777" \
	$V alloc 10 --mode 1000
own check "alloc --mode 9 exits 1" 1 '' "--mode '9' is not an octal mode" \
	$V alloc 10 --mode 9
check "info by a user without r or w exits 5" 5 '' \
	"^vmmctl: info: block 1 is not readable or writable by you" \
	$U2 $V info 1
check "read by a user without r exits 5" 5 '' \
	"^vmmctl: read: block 1 is not readable by you; ask its owner to 'vmmctl chmod' it" \
	$U2 $V read 1 0 1
check "write by a user without w exits 5" 5 '' \
	"^vmmctl: write: block 1 is not writable by you" $U2 $V write 1 0 x
check "free by another user exits 5" 5 '' \
	"^vmmctl: free: block 1 is not yours: only its owner or root may free it" \
	$U2 $V free 1
check "chmod by another user exits 5" 5 '' \
	"^vmmctl: chmod: block 1 is not yours: only its owner or root may change its mode" \
	$U2 $V chmod 0666 1
check "chmod 0604 by the owner" 0 '' '' $U1 $V chmod 0604 1
check_od "now others may read it" 0 "00" '' $U2 $V read 1 0 1
own check "chmod 01000 exits 1" 1 '' "^vmmctl: chmod: MODE '01000' is not an octal mode" \
	$V chmod 01000 1
check "chmod of an unknown ID exits 2" 2 '' "no block with ID 99" \
	$V chmod 0600 99
check "chown by the owner to another uid exits 5" 5 '' \
	'^vmmctl: chown: cannot change the owner of block 1: only root may give a block away' \
	$U1 $V chown 1002 1
check "chown :1003 by the owner (one of their groups)" 0 '' '' \
	$U1 $V chown :1003 1
check "chown :1002 by the owner (not their group) exits 5" 5 '' \
	'only root may give a block away' $U1 $V chown :1002 1
check "chown 1002:1002 by root" 0 '' '' $V chown 1002:1002 1
check "info after chown" 0 \
	$'id 1\noffset 0\nsize 10\nowner 1002\ngroup 1002\nmode 0604\nscoped no\nmappable no\nmapped 0\n' \
	'' $V info 1
own check "chown x 1 exits 1" 1 '' "^vmmctl: chown: 'x' is not UID, UID:GID or :GID" \
	$V chown x 1
own check "chown 5: 1 exits 1" 1 '' "'5:' is not UID" $V chown 5: 1
check "chown of an unknown ID exits 2" 2 '' "no block with ID 99" \
	$V chown 5 99
check "alloc --scoped prints an ID" 0 $'2\n' '' $V alloc 5 --scoped
check "the scoped block is gone once vmmctl exits" 2 '' \
	'no block with ID 2' $V info 2
printf 'alloc 5 --scoped\ninfo 3\n' >"$T/batch"
STDIN=$T/batch check "batch: a scoped block lives while the batch runs" 0 \
	$'3\nid=3 offset=10 size=5 owner=0 group=0 mode=0600 scoped=yes mappable=no mapped=0\n' \
	'' $V batch
check "and is gone after it" 2 '' 'no block with ID 3' $V info 3
$U1 $V alloc 20 >/dev/null
check "stats --users: what each uid holds" 0 \
	"$(printf '%10s %10s %14s %10s\n' UID BLOCKS BYTES NS-BLOCKS \
		1000 1 20 0 1002 1 10 0)"$'\n' \
	'' $V stats --users
printf 'stats --users\n' >"$T/batch"
STDIN=$T/batch own check "batch: stats --users on one line" 0 \
	$'users=uid=1000,blocks=1,bytes=20,ns_blocks=0 uid=1002,blocks=1,bytes=10,ns_blocks=0\n' \
	'' $V batch
check "stats --users as a user shows the same table" 0 \
	"$(printf '%10s %10s %14s %10s\n' UID BLOCKS BYTES NS-BLOCKS \
		1000 1 20 0 1002 1 10 0)"$'\n' \
	'' $U2 $V stats --users
own check "stats --users --json: one uid a line" 0 \
	'{"users": [
  {"uid": 1000, "blocks": 1, "bytes": 20, "ns_blocks": 0},
  {"uid": 1002, "blocks": 1, "bytes": 10, "ns_blocks": 0}
]}
' '' $V stats --users --json
printf 'stats --json --users\n' >"$T/batch"
STDIN=$T/batch own check "batch: stats --users --json on one line" 0 \
	'{"users": [{"uid": 1000, "blocks": 1, "bytes": 20, "ns_blocks": 0},{"uid": 1002, "blocks": 1, "bytes": 10, "ns_blocks": 0}]}
' '' $V batch
own check "stats --users --watch is a usage error" 1 '' \
	'--users shows a table of its own, once; run it without --watch or --count' \
	$V stats --users --watch
echo 1 >"$PARAMS/max_blocks_per_uid"
check "alloc past max_blocks_per_uid exits 4" 4 '' \
	'^vmmctl: alloc: you already hold as many blocks or bytes as your limits allow \(max_blocks_per_uid' \
	$U2 $V alloc 1
check "chown onto a full quota exits 4" 4 '' \
	'would exceed max_blocks_per_uid or max_bytes_per_uid' \
	$V chown 1000 1
$U2 $V free 1
check "after a free, the user may allocate again" 0 $'5\n' '' $U2 $V alloc 1
echo 0 >"$PARAMS/max_blocks_per_uid"
unpriv=$(cat "$PARAMS/max_blocks_unprivileged")
echo 1 >"$PARAMS/max_blocks_unprivileged"
check "alloc past max_blocks_unprivileged exits 4 and names it" 4 '' \
	'^vmmctl: alloc: you already hold as many blocks or bytes as your limits allow \(max_blocks_per_uid, max_bytes_per_uid, and max_blocks_unprivileged without CAP_SYS_ADMIN' \
	$U2 $V alloc 1
echo "$unpriv" >"$PARAMS/max_blocks_unprivileged"
# A block larger than max_bytes_per_uid: freeing cannot help, and the
# message says so; within it, past it with what the user holds, it says
# to free some.
echo 5 >"$PARAMS/max_bytes_per_uid"
check "alloc of more than max_bytes_per_uid exits 4 and says freeing cannot help" 4 '' \
	'^vmmctl: alloc: a block of 6 bytes is more than max_bytes_per_uid \(5\) lets one user hold, whatever they free' \
	$U2 $V alloc 6
check "alloc past max_bytes_per_uid with what the user holds says free some" 4 '' \
	'^vmmctl: alloc: you already hold as many blocks or bytes as your limits allow' \
	$U2 $V alloc 5
echo 0 >"$PARAMS/max_bytes_per_uid"

# A user's defragmentation: the kernel moves at most 4 MiB a call for
# them, and vmmctl calls again until the arena is compact.
reload 16M
chgrp 1005 /dev/vmm
$V alloc 4K >/dev/null
for i in 1 2 3 4 5 6 7 8; do $U1 $V alloc 1M >/dev/null; done
$V free 1
check "a user's defrag goes on past its first 4 MiB call and moves all 8 MiB" 0 \
	$'8388608\n' '' $U1 $V defrag
run $V stats
expect "and leaves the arena compact" \
	"$RC $(awk '/^free /{f=$2} /^largest_free /{l=$2} END{print f, (f == l)}' "$T/out")" \
	"0 8388608 1"
# A user's compacting allocation moves at most 4 MiB too.
reload 16M
chgrp 1005 /dev/vmm
for i in $(seq 15); do $U1 $V alloc 1M >/dev/null; done
$U1 $V free 1
check "a user's alloc --compact that needs more than 4 MiB moved exits 4" 4 '' \
	"^vmmctl: alloc: no room for 2097152 bytes after defragmenting \(2097152 free, largest range 1048576\): without CAP_SYS_ADMIN it moves at most 4 MiB, so run 'vmmctl defrag'" \
	$U1 $V alloc 2M --compact
check "then the user's defrag moves the other 10 MiB" 0 $'10485760\n' '' \
	$U1 $V defrag
check "and the allocation fits" 0 $'16\n' '' $U1 $V alloc 2M
# Root in a user namespace of its own is a user to vmm, and gets a user's
# advice too.
reload 16M
chgrp 1005 /dev/vmm
for i in $(seq 15); do $U1 $V alloc 1M >/dev/null; done
$U1 $V free 1
if unshare -r true 2>/dev/null; then
	check "alloc --compact by root in its own user namespace says it is a user's" 4 '' \
		"^vmmctl: alloc: no room for 2097152 bytes after defragmenting \(2097152 free, largest range 1048576\): without CAP_SYS_ADMIN it moves at most 4 MiB, so run 'vmmctl defrag'" \
		unshare -r "$(command -v $V)" alloc 2M --compact
else
	skip "alloc --compact by root in its own user namespace says it is a user's" \
		"unshare -r unavailable"
fi
# Real root may give its namespace the identity map, which makes
# /proc/self/uid_map read as the initial namespace's: root there is
# still a user to vmm.
if vmm_runas --userns '0 0 4294967295' true 2>/dev/null; then
	check "alloc --compact by root in an identity-mapped user namespace says it is a user's" 4 '' \
		"^vmmctl: alloc: no room for 2097152 bytes after defragmenting \(2097152 free, largest range 1048576\): without CAP_SYS_ADMIN it moves at most 4 MiB, so run 'vmmctl defrag'" \
		vmm_runas --userns '0 0 4294967295' "$(command -v $V)" alloc 2M --compact
else
	skip "alloc --compact by root in an identity-mapped user namespace says it is a user's" \
		"vmm_runas --userns cannot make a user namespace"
fi
reload 16M
chgrp 1005 /dev/vmm
$V alloc 4K >/dev/null
$V alloc 5M >/dev/null
$V free 1
check "a user's defrag stuck at root's 5 MiB block exits 6 and says so" 6 \
	$'0\n' '^vmmctl: defrag: not compact after moving 0 bytes: .*another user.s block that is over 4 MiB or mapped' \
	$U1 $V defrag
printf 'defrag\n' >"$T/batch"
STDIN=$T/batch own check "batch: the stuck defrag is one error line" 6 \
	"error 6 defrag: not compact after moving 0 bytes: a block in the way is in use by another task's copy, or is another user's block that is over 4 MiB or mapped, which only its owner or root moves; run 'vmmctl defrag' again later"$'\n' \
	'' $U1 $V batch
# On a terminal the bar of a stuck defrag ends where it stopped, not at
# 100%, before the error.
PTY=$(command -v vmm_pty || echo "${VMM_PTY:-/repo/build/bin/vmm_pty}")
check "a stuck defrag --progress on a terminal exits 6" 6 '*' '' \
	"$PTY" $U1 $V defrag --progress
expect "and its bar ends at 0%, not 100%, then the bytes moved" \
	"$(grep -c '100%' "$T/out") $(tr '\r' '\n' <"$T/out" | grep -A1 ' 0% 0 bytes moved$' | grep -cx '0')" \
	"0 1"

# --- mappable blocks: alloc --mappable, cat and fill through a mapping --------

# repeat TEXT N: TEXT over and over, N bytes in all.
repeat()
{
	local s=$1

	while [ ${#s} -lt "$2" ]; do
		s=$s$s
	done
	printf '%s' "${s:0:$2}"
}

# The guest is x86-64: a mappable block is whole pages of 4096 bytes.
reload 6000
check "alloc 5000 --mappable exits 2: two pages exceed the arena" 2 '' \
	"^vmmctl: alloc: invalid size 5000: a mappable block is whole pages of 4096 bytes, so it would take 8192, more than the arena's 6000; leave out --mappable or ask for less$" \
	$V alloc 5000 --mappable
reload 64K
check "alloc 1 (not mappable) for the mapping tests" 0 $'1\n' '' $V alloc 1
check "alloc 100 --mappable" 0 $'2\n' '' $V alloc 100 --mappable
check "info: a mappable block is a whole page, on a page boundary" 0 \
	$'id 2\noffset 4096\nsize 4096\nowner 0\ngroup 0\nmode 0600\nscoped no\nmappable yes\nmapped 0\n' \
	'' $V info 2
check "alloc 4097 --mappable" 0 $'3\n' '' $V alloc 4097 --mappable
check "info: 4097 bytes take two pages, at the next page boundary" 0 \
	$'id 3\noffset 8192\nsize 8192\nowner 0\ngroup 0\nmode 0600\nscoped no\nmappable yes\nmapped 0\n' \
	'' $V info 3
check "alloc 1 --mappable --align 32K" 0 $'4\n' '' $V alloc 1 --mappable --align 32K
check "info: --align larger than a page still holds" 0 \
	$'id 4\noffset 32768\nsize 4096\nowner 0\ngroup 0\nmode 0600\nscoped no\nmappable yes\nmapped 0\n' \
	'' $V info 4
check "alloc 60000 --mappable exits 4, counting the whole pages" 4 '' \
	'^vmmctl: alloc: no contiguous free range of 61440 bytes, 60000 rounded up to whole pages \(largest is 28672, 49151 free in total\); free some blocks first' \
	$V alloc 60000 --mappable
own check "list: MAPPED is 0 for mappable blocks, - for the others" 0 \
	"$(printf '%10s %12s %12s %10s %10s %4s %6s\n' ID OFFSET SIZE OWNER \
		GROUP MODE MAPPED 1 0 1 0 0 0600 - 2 4096 4096 0 0 0600 0 \
		3 8192 8192 0 0 0600 0 4 32768 4096 0 0 0600 0)"$'\n' '' $V list
own check "info --json: the block's object of list --json" 0 \
	'{"id": 2, "offset": 4096, "size": 4096, "owner": 0, "group": 0, "mode": "0600", "scoped": false, "mappable": true, "mapped": 0}'$'\n' \
	'' $V info 2 --json
run $V list --json
own expect "list --json: mappable false for block 1, true for block 2" \
	"$RC $(grep -c -e '"id": 1, .*"mappable": false, "mapped": 0}' \
		-e '"id": 2, .*"mappable": true, "mapped": 0}' "$T/out")" "0 2"

check "fill 2 abc prints nothing" 0 '' '' $V fill 2 abc
check "cat 2: abc over the whole block" 0 "$(repeat abc 4096)" '' $V cat 2
check "read sees what fill stored through the mapping" 0 'bca' '' \
	$V read 2 4093 3
check_od "fill stayed inside its block" 0 "00 00 00 00" '' $V read 3 0 4
check "write 2 100 XYZ" 0 '' '' $V write 2 100 XYZ
check "cat sees what write stored" 0 'aXYZb' '' \
	$V cat 2 --offset 99 --length 5
check "fill --offset 10 --length 5" 0 '' '' \
	$V fill 3 XY --offset 10 --length 5
check_od "fill changed bytes 10 to 14 only, the pattern from byte 10" 0 \
	"00 00 58 59 58 59 58 00 00" '' $V read 3 8 9
check "fill across a page boundary" 0 '' '' \
	$V fill 3 0123456789 --offset 4090 --length 10
check "cat across a page boundary" 0 '3456' '' \
	$V cat 3 --offset 4093 --length 4
check_od "cat --offset alone goes to the end of the block" 0 "00 00" '' \
	$V cat 3 --offset 8190
check "fill with a pattern longer than the range cuts it short" 0 '' '' \
	$V fill 4 hello --length 3
check_od "only 3 bytes of it" 0 "68 65 6c 00" '' $V cat 4 --length 4

check "cat of a block that is not mappable exits 2 and names read" 2 '' \
	"^vmmctl: cat: block 1 was not allocated with --mappable, so it cannot be mapped; use 'vmmctl read 1 0 1' instead$" \
	$V cat 1
check "fill of a block that is not mappable exits 2 and names write" 2 '' \
	"^vmmctl: fill: block 1 was not allocated with --mappable, so it cannot be mapped; store bytes in it with 'vmmctl write 1 OFFSET DATA' instead$" \
	$V fill 1 x
check_od "the refused fill stored nothing" 0 "00" '' $V read 1 0 1
check "cat of an unknown ID exits 2" 2 '' \
	"^vmmctl: cat: no block with ID 99 \(it was never allocated or is already freed\)" \
	$V cat 99
check "fill of an unknown ID exits 2" 2 '' \
	"^vmmctl: fill: no block with ID 99 " $V fill 99 x
own check "fill at --offset = size exits 3" 3 '' \
	'^vmmctl: fill: offset 4096 is outside block 2 \(size 4096\): use an offset from 0 to 4095$' \
	$V fill 2 x --offset 4096
own check "fill at --offset -1 exits 3" 3 '' \
	'^vmmctl: fill: offset -1 is outside block 2 \(size 4096\)' \
	$V fill 2 x --offset -1
own check "fill past the end exits 3" 3 '' \
	'^vmmctl: fill: offset 4000 \+ length 97 runs past the end of block 2 \(size 4096\); at most 96 bytes fit at offset 4000$' \
	$V fill 2 x --offset 4000 --length 97
own check "cat past the end exits 3" 3 '' \
	'^vmmctl: cat: offset 8000 \+ length 200 runs past the end of block 3 \(size 8192\); at most 192 bytes fit' \
	$V cat 3 --offset 8000 --length 200
check "the refused fills changed nothing" 0 'abcabc' '' \
	$V cat 2 --offset 3999 --length 6
own check "cat --length 0 exits 2" 2 '' \
	'^vmmctl: cat: --length must be at least 1 \(got 0\)' $V cat 2 --length 0
# 8 KiB: glibc's fwrite() of at least its 4 KiB buffer to /dev/full
# writes at once, so cat's own write fails, and says so once.
if all_checks; then
	$V cat 3 >/dev/full 2>"$T/err"
	expect "cat to a full standard output exits 6 and says so once" \
		"$? $(cat "$T/err")" \
		"6 vmmctl: cat: cannot write to standard output: No space left on device"
	# In a batch, cat's report goes to the same full stdout: the loss
	# must still be said, on stderr.
	printf 'cat 3\n' >"$T/batch"
	$V batch <"$T/batch" >/dev/full 2>"$T/err"
	expect "batch cat to a full standard output exits 6 and says so on stderr" \
		"$? $(cat "$T/err")" \
		"6 vmmctl: error writing to standard output: No space left on device"
fi
own check "fill with an empty PATTERN exits 1" 1 '' \
	'^vmmctl: fill: PATTERN is empty; give at least one byte to repeat' \
	$V fill 2 ''

printf 'alloc 10 --mappable --scoped\nfill 5 hi\ncat 5 --length 4\ninfo 5\nlist\n' \
	>"$T/batch"
STDIN=$T/batch check "batch: fill says ok, cat gives the bytes and a newline" 0 \
	'5
ok
hihi
id=5 offset=16384 size=4096 owner=0 group=0 mode=0600 scoped=yes mappable=yes mapped=0
blocks=5 id=1,offset=0,size=1,owner=0,group=0,mode=0600,mapped=- id=2,offset=4096,size=4096,owner=0,group=0,mode=0600,mapped=0 id=3,offset=8192,size=8192,owner=0,group=0,mode=0600,mapped=0 id=4,offset=32768,size=4096,owner=0,group=0,mode=0600,mapped=0 id=5,offset=16384,size=4096,owner=0,group=0,mode=0600,mapped=0
' '' $V batch
check "the scoped mappable block is gone after the batch" 2 '' \
	'no block with ID 5' $V info 5

check "free 1, the block below the mappable ones" 0 '' '' $V free 1
check "defrag moves the three mappable blocks down to page boundaries" 0 \
	$'16384\n' '' $V defrag
check "info 2 after the move: offset 0" 0 \
	$'id 2\noffset 0\nsize 4096\nowner 0\ngroup 0\nmode 0600\nscoped no\nmappable yes\nmapped 0\n' \
	'' $V info 2
check "cat after the move shows the data" 0 \
	"$(repeat abc 100)XYZ$(repeat bca 3993)" '' $V cat 2
check "cat of the moved two-page block across its page boundary" 0 '3456' '' \
	$V cat 3 --offset 4093 --length 4

# A mapping held while the block moves and is freed: cat writes 1 MiB
# into a pipe nobody reads yet, so it waits in write(2) with the block
# mapped.  (vmmctl copies each byte out of the mapping once, so this
# shows that the mapping follows the move and outlives the free; that
# pages mapped before the move are dropped from it is the C tests' job.)
reload 2M
$V alloc 4K >/dev/null && $V alloc 1M --mappable >/dev/null &&
	$V fill 2 vmmdata && $V free 1
expect "a 1 MiB mappable block at 4096, filled, a hole below it" "$?" 0
rm -f "$T/go" "$T/cat.pid"
{
	$V cat 2 &
	echo $! >"$T/cat.pid"
	wait $!
	echo $? >"$T/cat.rc"
} | {
	while [ ! -e "$T/go" ]; do
		sleep 0.05
	done
	cat >"$T/cat.out"
} &
catjob=$!
# Until cat has the block mapped and sleeps in write(2) on the full pipe.
for i in $(seq 400); do
	pid=$(cat "$T/cat.pid" 2>/dev/null)
	[ -n "$pid" ] &&
		[ "$($V info 2 2>/dev/null | sed -n 's/^mapped //p')" = 1 ] &&
		[ "$(cut -d' ' -f3 "/proc/$pid/stat" 2>/dev/null)" = S ] && break
	sleep 0.05
done
check "info while cat holds its mapping: mapped 1" 0 \
	$'id 2\noffset 4096\nsize 1048576\nowner 0\ngroup 0\nmode 0600\nscoped no\nmappable yes\nmapped 1\n' \
	'' $V info 2
own check "list while cat holds its mapping: MAPPED 1" 0 \
	"$(printf '%10s %12s %12s %10s %10s %4s %6s\n' ID OFFSET SIZE OWNER \
		GROUP MODE MAPPED 2 4096 1048576 0 0 0600 1)"$'\n' '' $V list
run $V stats
expect "stats while cat holds its mapping: mapped_blocks 1, as sysfs" \
	"$RC $(grep -x 'mapped_blocks [0-9]*' "$T/out") $(cat "$SYSFS/mapped_blocks")" \
	"0 mapped_blocks 1 1"
check "defrag moves the mapped block" 0 $'1048576\n' '' $V defrag
check "info after the move: offset 0, still mapped" 0 \
	$'id 2\noffset 0\nsize 1048576\nowner 0\ngroup 0\nmode 0600\nscoped no\nmappable yes\nmapped 1\n' \
	'' $V info 2
check "free of the mapped block succeeds" 0 '' '' $V free 2
check "its ID is gone at once" 2 '' '^vmmctl: info: no block with ID 2 ' \
	$V info 2
expect "its range stays held while mapped: used, blocks, mapped_blocks" \
	"$(cat "$SYSFS/used") $(cat "$SYSFS/blocks") $(cat "$SYSFS/mapped_blocks")" \
	"1048576 0 1"
check "alloc 2M exits 4 while the freed block is mapped" 4 '' \
	'no contiguous free range of 2097152 bytes \(largest is 1048576, 1048576 free in total\)' \
	$V alloc 2M
touch "$T/go"
wait $catjob
expect "cat, mapped across the move and the free, exits 0" \
	"$(cat "$T/cat.rc" 2>/dev/null)" 0
repeat vmmdata 1048576 >"$T/cat.exp"
cmp "$T/cat.exp" "$T/cat.out" >"$T/cmp" 2>&1
expect "and wrote the 1 MiB as fill stored it" "$? $(cat "$T/cmp")" "0 "
# cat's mapping goes with its memory, which someone else (a reader of
# /proc/PID, page aging) may hold a moment after it was reaped: up to 10 s.
i=0
while [ "$(cat "$SYSFS/mapped_blocks")" != 0 ] && [ $i -lt 100 ]; do
	sleep 0.1
	i=$((i + 1))
done
expect "once cat has exited the range is free: used, mapped_blocks" \
	"$(cat "$SYSFS/used") $(cat "$SYSFS/mapped_blocks")" "0 0"
check "and alloc 2M succeeds" 0 $'3\n' '' $V alloc 2M

# Who may map: r for cat; r and w for fill, since a writable mapping needs
# both.  Users act as in the section above.
reload 64K
chgrp 1005 /dev/vmm
check "alloc --mappable --mode 0644 as uid 1000" 0 $'1\n' '' \
	$U1 $V alloc 100 --mappable --mode 0644
check "fill by the owner" 0 '' '' $U1 $V fill 1 owner
check "cat by another uid with r" 0 'owner' '' $U2 $V cat 1 --length 5
check "fill by another uid without w exits 5" 5 '' \
	"^vmmctl: fill: block 1 is not readable and writable by you: fill maps it for writing, which needs both r and w; ask its owner to 'vmmctl chmod' it" \
	$U2 $V fill 1 x
check "the refused fill stored nothing" 0 'owner' '' $V cat 1 --length 5
check "chmod 0200: the owner may write but not read" 0 '' '' \
	$U1 $V chmod 0200 1
check "fill by the owner without r exits 5" 5 '' \
	'^vmmctl: fill: block 1 is not readable and writable by you: fill maps it for writing, which needs both r and w' \
	$U1 $V fill 1 x
check "cat by the owner without r exits 5" 5 '' \
	"^vmmctl: cat: block 1 is not readable by you; ask its owner to 'vmmctl chmod' it" \
	$U1 $V cat 1
check "cat by a uid with neither r nor w exits 5" 5 '' \
	'^vmmctl: cat: block 1 is not readable by you' $U2 $V cat 1
check "chmod 0606: others may read and write" 0 '' '' $U1 $V chmod 0606 1
check "fill by another uid with r and w" 0 '' '' \
	$U2 $V fill 1 other --length 5
check "root sees what it stored" 0 'other' '' $V cat 1 --length 5

# --- JSON, stats --watch, colour map, SVG ------------------------------------

# All of it is vmmctl's own work: output formats, colour, SVG, watch.
if all_checks; then
	# Outputs the host checks afterwards (scripts/observe-check, run by
	# scripts/check after the stock tier): JSON parsed by python3, SVGs
	# converted to PNG by rsvg-convert.  One directory per vmmctl build:
	# build/observe/bin, and build/observe/bin32 for run_compat.sh's run.
	vdir=$(dirname "$(command -v "$V")")
	OBS=${VMM_OBSERVE_DIR:-/repo/build/observe/$(basename "$vdir")}
	mkdir -p "$OBS" 2>/dev/null && rm -f "$OBS"/*.json "$OBS"/*.jsonl "$OBS"/*.svg
	[ -w "$OBS" ] || OBS=$T

	reload 100
	$V alloc 10 >/dev/null && $V alloc 20 >/dev/null && $V alloc 5 >/dev/null &&
		$V free 2
	expect "layout for the views: blocks 1 and 3, a hole between" "$?" 0
	check "list --json: one block a line, stable keys" 0 \
		'{"count": 2, "blocks": [
  {"id": 1, "offset": 0, "size": 10, "owner": 0, "group": 0, "mode": "0600", "scoped": false, "mappable": false, "mapped": 0},
  {"id": 3, "offset": 30, "size": 5, "owner": 0, "group": 0, "mode": "0600", "scoped": false, "mappable": false, "mapped": 0}
]}
' '' $V list --json
	cp "$T/out" "$OBS/list.json"
	run $V stats --users --json
	cp "$T/out" "$OBS/users.json"
	expect "stats --users --json: root's 15 bytes in 2 blocks" \
		"$RC $(grep -c '{"uid": 0, "blocks": 2, "bytes": 15, "ns_blocks": 0}' "$T/out")" \
		"0 1"
	run $V stats --json
	sed 's/"max_lock_hold_ns": [0-9]*,/"max_lock_hold_ns": N,/' "$T/out" >"$T/stats"
	cp "$T/out" "$OBS/stats.json"
	exp='{'
	for f in size used free largest_free blocks fragmentation allocs frees \
		 alloc_failures defrags bytes_moved metadata_bytes mapped_blocks; do
		exp="$exp
  \"$f\": $(cat "$SYSFS/$f"),"
	done
	exp="$exp
  \"max_lock_hold_ns\": N,
  \"policy\": \"first\"
}"
	expect "stats --json: every counter as sysfs shows it, policy a string" \
		"$RC $(cat "$T/stats")" "0 $exp"
	expect "stats --json: used 15, free 85, largest_free 65" \
		"$(grep -c -e '"used": 15,' -e '"free": 85,' -e '"largest_free": 65,' "$T/out")" 3
	printf 'list --json\nstats --json\n' >"$T/batch"
	STDIN=$T/batch run $V batch
	cp "$T/out" "$OBS/batch.jsonl"
	expect "batch: list --json and stats --json are one line each" \
		"$RC $(wc -l <"$T/out") $(head -n 1 "$T/out")" \
		'0 2 {"count": 2, "blocks": [{"id": 1, "offset": 0, "size": 10, "owner": 0, "group": 0, "mode": "0600", "scoped": false, "mappable": false, "mapped": 0},{"id": 3, "offset": 30, "size": 5, "owner": 0, "group": 0, "mode": "0600", "scoped": false, "mappable": false, "mapped": 0}]}'
	check "list --json rejects an argument" 1 '' "unexpected argument 'x'" \
		$V list --json x
	check "list --jsn is an unknown option" 1 '' "unknown option '--jsn'" \
		$V list --jsn

	check "map --color: one colour per block, free space dim" 0 \
		$'\e[30;42mX\e[0;2m--\e[30;44mX\e[0;2m------\e[0m\n' '' \
		$V map --width 10 --color
	check "map --summary: used, free, largest free extent, fragmentation" 0 \
		"X--X------
used 15 (15.0%), free 85, largest free 65, fragmentation $(awk -v f="$(cat "$SYSFS/fragmentation")" 'BEGIN { printf "%.1f", f / 10 }')%, 2 blocks
" '' $V map --width 10 --summary
	check "map is plain when stdout is not a terminal" 0 $'X--X------\n' '' \
		$V map --width 10
	check "map --no-color is plain" 0 $'X--X------\n' '' \
		$V map --width 10 --no-color
	check "NO_COLOR leaves the map plain" 0 $'X--X------\n' '' \
		env NO_COLOR=1 $V map --width 10
	check "--color wins over NO_COLOR" 0 '*' '' \
		env NO_COLOR=1 $V map --width 10 --color
	grep -q "$(printf '\033')" "$T/out"
	expect "--color over NO_COLOR: escapes present" "$?" 0
	check "map --color --no-color is a usage error" 1 '' \
		'--color and --no-color contradict each other' \
		$V map --color --no-color
	printf 'map --color --summary --width 10\n' >"$T/batch"
	STDIN=$T/batch check "batch: map stays one plain line" 0 $'X--X------\n' '' \
		$V batch

	# On a terminal (vmm_pty runs vmmctl on a pseudo-terminal): colour and
	# the summary line by default, NO_COLOR and --no-color turn colour off.
	PTY=$(command -v vmm_pty || echo "${VMM_PTY:-/repo/build/bin/vmm_pty}")
	summary="used 15 (15.0%), free 85, largest free 65, fragmentation $(awk -v f="$(cat "$SYSFS/fragmentation")" 'BEGIN { printf "%.1f", f / 10 }')%, 2 blocks"
	check "map on a terminal: coloured, then the summary line" 0 \
		$'\e[30;42mX\e[0;2m--\e[30;44mX\e[0;2m------\e[0m\n'"$summary"$'\n' \
		'' "$PTY" $V map --width 10
	check "map on a terminal with NO_COLOR=1: plain, with the summary" 0 \
		"X--X------"$'\n'"$summary"$'\n' '' "$PTY" env NO_COLOR=1 $V map --width 10
	check "map on a terminal with an empty NO_COLOR: coloured" 0 \
		$'\e[30;42mX\e[0;2m--\e[30;44mX\e[0;2m------\e[0m\n'"$summary"$'\n' \
		'' "$PTY" env NO_COLOR= $V map --width 10
	check "map --no-color on a terminal: plain, with the summary" 0 \
		"X--X------"$'\n'"$summary"$'\n' '' "$PTY" $V map --width 10 --no-color
	check "stats --watch on a terminal" 0 '*' '' \
		"$PTY" $V stats --watch 0.1 --count 3
	esc=$(printf '\033')
	expect "stats --watch on a terminal: cursor hidden, 3 redraws in place, cursor shown" \
		"$(head -c 6 "$T/out" | od -An -tx1 | tr -s ' ') $(grep -o -F "$esc[H$esc[2J" "$T/out" | wc -l) $(grep -c 'refresh [123] (Ctrl-C to quit)' "$T/out") $(tail -c 6 "$T/out" | od -An -tx1 | tr -s ' ')" \
		" 1b 5b 3f 32 35 6c 3 3  1b 5b 3f 32 35 68"

	check "map --svg writes the picture, prints nothing" 0 '' '' \
		$V map --svg "$OBS/small.svg"
	ok=1
	head -n 1 "$OBS/small.svg" | grep -q '^<?xml' || ok=0
	[ "$(tail -n 1 "$OBS/small.svg")" = '</svg>' ] || ok=0
	grep -q '>1</text>' "$OBS/small.svg" || ok=0	# labels where they fit
	grep -q '>3</text>' "$OBS/small.svg" || ok=0
	grep -q 'url(#free)' "$OBS/small.svg" || ok=0	# free space hatched
	grep -q 'fragmentation' "$OBS/small.svg" || ok=0	# the figures below
	expect "small SVG: XML, labelled blocks, free space, figures" "$ok" 1
	check "map --svg - writes the same picture to stdout" 0 \
		"$(cat "$OBS/small.svg")"$'\n' '' $V map --svg -
	check "map --svg into a missing directory exits 6" 6 '' \
		"^vmmctl: map: cannot create '/nonexistent/a.svg': No such file or directory; give --svg a path" \
		$V map --svg /nonexistent/a.svg
	check "map --svg without a file name exits 1" 1 '' "option '--svg' needs a value" \
		$V map --svg

	# stats --watch: plain blocks when not on a terminal, rates, --count.
	check "stats --watch 0.1 --count 3: three plain blocks" 0 '*' '' \
		$V stats --watch 0.1 --count 3
	expect "three refreshes, numbered, no escapes, first rates unknown" \
		"$(grep -c '^vmm arena: every 0.1s, refresh [123]$' "$T/out") $(grep -c "$(printf '\033')" "$T/out") $(grep -c '^allocs/s  *-$' "$T/out") $(grep -c '^bytes_moved/s  *0$' "$T/out")" \
		"3 0 1 2"
	expect "stats --watch: blocks separated by one blank line" \
		"$(grep -c '^$' "$T/out") $(wc -l <"$T/out")" "2 56"
	check "stats --watch=0.1 --count=1 form" 0 '*' '' \
		$V stats --watch=0.1 --count=1
	check "stats --count without --watch is a usage error" 1 '' \
		'--count only makes sense with --watch' $V stats --count 2
	check "stats --watch 0.05 is too short" 1 '' \
		"--watch wants SECONDS from 0.1 to 86400 \(e.g. 1 or 0.5\), got '0.05'" \
		$V stats --watch 0.05
	check "stats --watch --count 0 is a usage error" 1 '' \
		"--count wants a number of refreshes of at least 1, got '0'" \
		$V stats --watch --count 0
	# A value too long to join as --watch=VALUE is quoted whole, not cut.
	long=$(repeat 0 70)2
	check "stats --watch with a 71-digit value quotes all of it" 1 '' \
		"unexpected argument '$long'" $V stats --watch "$long"
	printf 'stats --watch 1\n' >"$T/batch"
	STDIN=$T/batch check "batch: stats --watch is refused" 1 \
		"error 1 stats: --watch does not end on its own, so it is not available in batch mode; run 'vmmctl stats --watch' directly; usage: stats [--users [--raw] [--noheadings]] [--json] [--watch [SECONDS]] [--count N]"$'\n' \
		'' $V batch

	# Rates: 4 allocs and 2 frees between the first and second refresh, 3 s
	# apart: about 1.3 allocs/s and 0.7 frees/s.  One process, so that all
	# of it lands between the two refreshes; on a guest so slow that the
	# second refresh came first anyway (the batch saw two lines when it
	# ended), the round is made again, up to 3 times.
	for round in 1 2 3; do
		if [ $round -gt 1 ]; then
			# The layout above again: blocks 1 and 3, ID 4 next.
			reload 100
			$V alloc 10 >/dev/null && $V alloc 20 >/dev/null &&
				$V alloc 5 >/dev/null && $V free 2
		fi
		rm -f "$T/watch"
		$V stats --json --watch 3 --count 2 >"$T/watch" &
		wpid=$!
		for i in $(seq 100); do
			[ -s "$T/watch" ] && break
			sleep 0.05
		done
		printf 'alloc 1\nalloc 1\nalloc 1\nalloc 1\nfree 1\nfree 3\n' |
			$V batch >/dev/null
		lines=$(wc -l <"$T/watch")
		wait $wpid
		RC=$?
		[ "$lines" = 1 ] && break
		echo "# stats --watch rates: the second refresh came before the batch ended (round $round)"
	done
	cp "$T/watch" "$OBS/watch.jsonl"
	expect "stats --json --watch: one object a line, first rates null" \
		"$RC $(wc -l <"$T/watch") $(head -n 1 "$T/watch" | grep -c '"interval_s": 3.000, "allocs_per_s": null, "frees_per_s": null, "bytes_moved_per_s": null}$')" \
		"0 2 1"
	expect "stats --watch: allocs/s and frees/s from successive counters" \
		"$(tail -n 1 "$T/watch" | awk '{
			match($0, /"allocs_per_s": [0-9.]+/); a = substr($0, RSTART + 16, RLENGTH - 16)
			match($0, /"frees_per_s": [0-9.]+/); f = substr($0, RSTART + 15, RLENGTH - 15)
			print (a > 0.5 && a <= 4 && f > 0.2 && f <= 2) ? "ok" : a " " f }')" ok

	# SIGINT ends the watch cleanly, with exit status 0.
	rm -f "$T/watch"
	$V stats --watch 1 >"$T/watch" &
	wpid=$!
	for i in $(seq 100); do
		[ -s "$T/watch" ] && break
		sleep 0.05
	done
	kill -INT $wpid
	wait $wpid
	expect "stats --watch exits 0 on SIGINT after a whole block" \
		"$? $(tail -n 1 "$T/watch" | cut -c1-13)" "0 bytes_moved/s"

	# SIGINT while the reader holds the output back (a full pipe): the
	# watch ends at once, exit 0, and does not wait to write the rest.
	mkfifo "$T/full"
	exec 3<>"$T/full"
	timeout 1 cat /dev/zero >&3 || true	# until the pipe is full
	$V stats --watch 0.1 >&3 2>"$T/watch.err" &
	wpid=$!
	blocked=$(blocked_writing $wpid)
	kill -INT $wpid
	ended=no
	for i in $(seq 100); do
		kill -0 $wpid 2>/dev/null || { ended=yes; break; }
		sleep 0.05
	done
	[ $ended = yes ] || kill -KILL $wpid
	wait $wpid
	RC=$?
	exec 3<&-
	expect "stats --watch blocked on a full pipe ends at once with 0 on SIGINT" \
		"blocked $blocked, ended $ended, $RC, '$(cat "$T/watch.err")'" \
		"blocked yes, ended yes, 0, ''"

fi

# A batch's cat of a block freed while the cat runs, held back by a full
# pipe in its first 16 MiB: the line still carries every byte and its
# newline, where a cat by windows could only follow the bytes it had
# written with an error on the same line.  vmmctl's own work (how it
# maps), so not in kernel-only mode.  Fd 4 holds the FIFO open for
# reading until the writer is seen writing, so that neither open waits
# on the other whatever the writer does; the drain has a time limit.
if all_checks; then
	reload 64M
	big=$($V alloc 17M --mappable)
	$V fill "$big" a >/dev/null
	rm -f "$T/catpipe"
	mkfifo "$T/catpipe"
	echo "cat $big" >"$T/batch"
	exec 4<>"$T/catpipe"
	$V batch <"$T/batch" >"$T/catpipe" 2>"$T/cat.err" &
	cpid=$!
	exec 3<"$T/catpipe"
	blocked=$(blocked_writing $cpid)
	exec 4<&-
	$V free "$big"
	freed=$?
	timeout 60 cat <&3 >"$T/catout"
	exec 3<&-
	wait $cpid
	RC=$?
	expect "batch: cat of a 17 MiB block freed while it runs gives the whole line" \
		"blocked $blocked, free $freed, exit $RC, $(wc -c <"$T/catout") bytes, $(tr -d a <"$T/catout" | od -An -tx1 | tr -d ' '), '$(cat "$T/cat.err")'" \
		"blocked yes, free 0, exit 0, $((17 * 1048576 + 1)) bytes, 0a, ''"
	check "and the block is gone" 2 '' "no block with ID $big" $V info "$big"
fi

# A 1 GiB arena of many blocks, fragmented, in one batch: the module's
# side runs in both modes.  The SVG of it aggregates what is under a
# pixel, so its size depends on the picture, not on the blocks.  With the
# allocator's self-check on (VMM_TEST_PARAMS set, as in the debug tier),
# fewer blocks: the check is O(n).
nblocks=100000
[ -n "${VMM_TEST_PARAMS:-}" ] && nblocks=20000
reload 1G
awk -v n=$nblocks 'BEGIN {
	for (i = 1; i <= n; i++) print "alloc " (1 + (i * 7919) % 16) "K"
	for (i = 1; i <= n; i++) if (i % 3 == 0 || i % 7 == 0) print "free " i
	print "alloc 3M"; print "alloc 700K"; print "alloc 40K"
}' >"$T/batch"
t0=$(date +%s)
STDIN=$T/batch run $V batch
expect "$nblocks blocks allocated, some freed, in a 1 GiB arena" \
	"$RC $(grep -c error "$T/out")" "0 0"
if all_checks; then
	check "map --svg of the 1 GiB arena" 0 '' '' $V map --svg "$OBS/big.svg"
	# Far more than stdio buffers: the write fails inside the picture.
	check "map --svg of it to a full device names the device's error" 6 '' \
		"^vmmctl: map: cannot write '/dev/full': No space left on device; check the free space there\$" \
		$V map --svg /dev/full
	echo "# $nblocks-block layout and its SVG: $(($(date +%s) - t0)) s, $(wc -c <"$OBS/big.svg") bytes"
	ok=1
	[ "$(wc -c <"$OBS/big.svg")" -lt 1000000 ] || ok=0
	[ "$(grep -c '<rect' "$OBS/big.svg")" -lt 12000 ] || ok=0
	[ "$(tail -n 1 "$OBS/big.svg")" = '</svg>' ] || ok=0
	expect "big SVG: under 1 MB and 12000 rectangles (aggregated)" "$ok" 1
fi
reload 5

# --- --version and --help ----------------------------------------------------

modver=$(cat /sys/module/vmm/version 2>/dev/null)
check "--version shows vmmctl 0.6.0 and the module's version" 0 \
	"vmmctl 0.6.0"$'\n'"module: $modver"$'\n' '' $V --version
expect "the module reports version 0.6.0" "$modver" "0.6.0"
own check "-V is --version" 0 '*' '' $V -V
# The mismatch warning is vmmctl comparing two strings.
if all_checks; then
	printf '9.9.9\n' >"$T/fakever"
	if mount --bind "$T/fakever" /sys/module/vmm/version 2>/dev/null; then
		check "--version flags a version mismatch" 0 \
			$'vmmctl 0.6.0\nmodule: 9.9.9\n' \
			'version mismatch: vmmctl is 0.6.0 but the loaded module is 9.9.9' \
			$V --version
		umount /sys/module/vmm/version
	else
		skip "--version flags a version mismatch" \
			"cannot bind-mount over sysfs"
	fi
fi
modprobe -r vmm 2>/dev/null || rmmod vmm
check "--version without the module says not loaded" 0 \
	$'vmmctl 0.6.0\nmodule: not loaded\n' '' $V --version
check "a command without the module exits 6 and suggests modprobe" 6 '' \
	"cannot open /dev/vmm: No such file or directory; the vmm module is probably not loaded: load it with 'modprobe vmm'" \
	$V list
reload 5

# The help texts.
if all_checks; then
	check "--help lists every command and the exit classes" 0 '*' '' $V --help
	ok=1
	for c in alloc free chmod chown write read cat fill defrag info list stats map batch help; do
		grep -q "^  $c" "$T/out" || ok=0
	done
	for c in 0 1 2 3 4 5 6; do
		grep -q "^  $c  " "$T/out" || ok=0
	done
	expect "--help text mentions every command and exit class" "$ok" 1
	check "-h is --help" 0 "$(cat "$T/out")"$'\n' '' $V -h
	check "help is --help" 0 "$(cat "$T/out")"$'\n' '' $V help
	for c in alloc free chmod chown write read cat fill defrag info list stats map batch help; do
		check "$c --help" 0 '*' '' $V $c --help
		head -n 1 "$T/out" | grep -q "^Usage: vmmctl \[-d DEVICE\] $c" &&
			[ "$(wc -l <"$T/out")" -gt 2 ]
		expect "$c --help shows the usage and an explanation" "$?" 0
	done
	check "help map is map --help" 0 "$($V map --help)"$'\n' '' $V help map
	check "--help wins over bad arguments" 0 '*' '' $V alloc 12x --help
	run $V batch --help
	grep -q "'#' are" "$T/out" && grep -q 'skipped' "$T/out"
	expect "batch --help says blank lines and # comments are skipped" "$?" 0
	check "help of an unknown command exits 1" 1 '' "unknown command 'nope'" \
		$V help nope
fi
if all_checks; then
	for a in --help --version; do
		$V $a >/dev/full 2>"$T/err"
		expect "$a to a full standard output exits 6 and says so" \
			"$? $(cat "$T/err")" \
			"6 vmmctl: error writing to standard output: No space left on device"
	done
	# A failed batch line's report goes to standard output: its loss
	# is said, and the line's class kept.
	printf 'free 99\n' >"$T/batch"
	$V batch <"$T/batch" >/dev/full 2>"$T/err"
	expect "batch of a failing line to a full standard output says so and exits 2" \
		"$? $(cat "$T/err")" \
		"2 vmmctl: error writing to standard output: No space left on device"
	# With standard output closed, the device must not take its place.
	$V stats >&- 2>"$T/err"
	expect "stats with standard output closed exits 6 with EBADF" \
		"$? $(cat "$T/err")" \
		"6 vmmctl: error writing to standard output: Bad file descriptor"
fi

echo "1..$n"
if [ "$failures" -ne 0 ]; then
	echo "# $failures of $n tests failed"
	exit 1
fi
echo "# all $n tests passed"
exit 0
