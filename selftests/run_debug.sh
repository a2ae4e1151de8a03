#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The debug tier's command (scripts/check runs it in debug-kernel guests
# of scripts/vm): the arena's KUnit suite through run_kunit.sh, then
# selftests through run_all.sh, 64-bit and then a focused 32-bit set, with
# the allocator's self-check on.  KASAN, lockdep, UBSAN and kmemleak watch
# all of it; scripts/vm fails the run on any report.
# Prints TAP; exits non-zero if anything failed.
#
# Environment (scripts/check splits the tier into two guests with them):
#   VMM_KUNIT     1 (default) runs the KUnit suite, 0 does not
#   VMM_TESTS     the 64-bit programs, as for run_all.sh (default: all)
#   VMM_TESTS32   the 32-bit programs (default: the ioctl, data-path and
#                 fuzz programs); empty runs none
#   VMM_FUZZ_SEED, VMM_FUZZ_SEED32  the fuzzer's seeds, 64- and 32-bit

here=$(cd "$(dirname "$0")" && pwd)
rc=0

# vmm_kunit.ko, built beside vmm.ko for this kernel: one result per case.
if [ "${VMM_KUNIT:-1}" = 1 ]; then
	"$here/run_kunit.sh" || rc=1
fi

# Every module load the selftests make turns on the allocator's self-check,
# which compares the index against a linear walk after every change and
# WARNs (a kernel report: the runner fails the run) on any mismatch.
VMM_TEST_PARAMS=self_check=1
export VMM_TEST_PARAMS
echo "# selftests load vmm with $VMM_TEST_PARAMS"
"$here/run_all.sh" || rc=1
# The programs that drive every ioctl and the data path, and the fuzzer,
# built as 32-bit, through compat_ptr_ioctl.  The stock tier runs every
# program 32-bit; here the compat path gets KASAN and lockdep on the calls
# it translates, without doubling this tier's time.
tests32=${VMM_TESTS32-vmm_ioctl_test vmm_rw_test vmm_file_test vmm_fuzz_test}
if [ -n "$tests32" ]; then
	VMM_FUZZ_SEED=${VMM_FUZZ_SEED32:-${VMM_FUZZ_SEED:-}} \
		VMM_TESTS=$tests32 "$here/run_compat.sh"
	status=$?
	# 4 is kselftest's "skip": the kernel cannot run 32-bit programs.
	[ $status = 0 ] || [ $status = 4 ] || rc=1
fi
exit $rc
