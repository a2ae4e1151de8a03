#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The debug tier's command (scripts/check runs it in the debug-kernel guest
# of scripts/vm): the arena's KUnit suite through run_kunit.sh, then every
# selftest through run_all.sh, 64-bit and then 32-bit, with the
# allocator's self-check on.  KASAN, lockdep, UBSAN and kmemleak watch all
# of it; scripts/vm fails the run on any report.
# Prints TAP; exits non-zero if anything failed.

here=$(cd "$(dirname "$0")" && pwd)
rc=0

# vmm_kunit.ko, built beside vmm.ko for this kernel: one result per case.
"$here/run_kunit.sh" || rc=1

# Every module load the selftests make turns on the allocator's self-check,
# which compares the index against a linear walk after every change and
# WARNs (a kernel report: the runner fails the run) on any mismatch.
VMM_TEST_PARAMS=self_check=1
export VMM_TEST_PARAMS
echo "# selftests load vmm with $VMM_TEST_PARAMS"
"$here/run_all.sh" || rc=1
# The programs that drive every ioctl and the data path, built as 32-bit,
# through compat_ptr_ioctl.  The long ones whose 32-bit run adds nothing
# on the kernel side (fault injection, stress, module loads, vmmctl's
# 1 GiB arena) run 32-bit in the stock tier only: under KASAN and
# emulation they would double this tier's time.
VMM_TESTS="vmm_ioctl_test vmm_alloc_test vmm_rw_test vmm_file_test vmm_list_test vmm_defrag_test vmm_sysfs_test vmm_fuzz_test vmm_perm_test" \
	"$here/run_compat.sh"
status=$?
# 4 is kselftest's "skip": the kernel cannot run 32-bit programs.
[ $status = 0 ] || [ $status = 4 ] || rc=1
exit $rc
