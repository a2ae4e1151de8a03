#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The compat ioctl path (.compat_ioctl = compat_ptr_ioctl): run the 32-bit
# (i386) builds of every vmm test program, build/bin32/vmm_*_test, then
# selftests/vmmctl_test.sh against the 32-bit vmmctl.  run_all.sh runs them,
# so the TAP output, the module reloads between programs and the exit
# status are the same as for the 64-bit run.  Build them first with
# 'make m32' (static executables: no 32-bit libc needed at run time).
#
# Needs a 64-bit kernel that runs i386 programs (CONFIG_IA32_EMULATION=y,
# as Debian's has); otherwise the run is skipped (exit 4).  Meant for the
# guest of scripts/vm:
#   scripts/vm -- /repo/selftests/run_compat.sh
#
# Environment:
#   VMM_TEST_BIN32  directory of the 32-bit programs (default: build/bin32)
#   VMM_TESTS       space-separated program names to run instead of all,
#                   as for run_all.sh (vmmctl_test.sh is then not run)

here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
bin32=${VMM_TEST_BIN32:-$repo/build/bin32}

# is_elf32 FILE: FILE is an ELF file of class ELFCLASS32 (byte 4 is 1).
is_elf32() {
	[ "$(od -An -tx1 -j4 -N1 "$1" 2>/dev/null | tr -d ' \n')" = 01 ] &&
		[ "$(od -An -c -j1 -N3 "$1" 2>/dev/null | tr -d ' \n')" = ELF ]
}

progs=$(ls "$bin32"/vmm_*_test 2>/dev/null)
if [ -z "$progs" ] || [ ! -x "$bin32/vmmctl" ]; then
	echo "# run_compat: no 32-bit programs or vmmctl in $bin32 (run 'make m32')"
	exit 1
fi
for f in $progs "$bin32/vmmctl"; do
	if ! is_elf32 "$f"; then
		echo "# run_compat: $f is not a 32-bit ELF executable (run 'make m32')"
		exit 1
	fi
done

# Stale builds would test old code: say so (the run goes on).
for f in $progs "$bin32/vmmctl"; do
	name=$(basename "$f")
	case $name in
	vmmctl)
		srcs="$repo/userspace/*.c $repo/userspace/*.h" ;;
	vmm_lib_test)
		# It compiles the library in (see the Makefile).
		srcs="$here/$name.c $here/vmm_util.h $here/vmm_uffd.h $repo/userspace/libvmm.c $repo/userspace/libvmm.h" ;;
	*)
		srcs="$here/$name.c $here/vmm_util.h $here/vmm_uffd.h" ;;
	esac
	for s in $srcs "$repo/uapi/linux/vmm.h"; do
		if [ -n "$(find "$s" -newer "$f" 2>/dev/null)" ]; then
			echo "# run_compat: warning: $f is older than $s (run 'make m32')"
			break
		fi
	done
done

# A kernel without IA32 emulation refuses to exec them (ENOEXEC).
if ! "$bin32/vmmctl" --help >/dev/null 2>&1; then
	echo "TAP version 13"
	echo "1..0 # SKIP this kernel cannot run 32-bit programs (CONFIG_IA32_EMULATION)"
	exit 4
fi

echo "# run_compat: 32-bit programs from $bin32, VMMCTL=$bin32/vmmctl"
VMM_TEST_BIN=$bin32 VMMCTL=$bin32/vmmctl exec "$here/run_all.sh"
