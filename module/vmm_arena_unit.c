// SPDX-License-Identifier: GPL-2.0
/*
 * The arena's files, compiled as one unit, as kernel/sched/build_policy.c
 * compiles the scheduler's: allocation and free call across them (quota
 * charges in vmm_charge.c, the free-space search in vmm_extent.c), and as
 * one unit the compiler inlines those calls as it did when the arena was
 * one file (compiled apart, an alloc+free ioctl pair cost 8-10% more).
 * The helpers the files share are static, declared in vmm_arena.h, which
 * refuses to be included anywhere else.  vmm_extent.c comes first: it
 * defines the block and extent caches the others use.  The KUnit suite
 * and the benchmark compile this unit into their own modules.
 */
#define VMM_ARENA_UNIT

#include "vmm_extent.c"
#include "vmm_idc.c"
#include "vmm_arena.c"
#include "vmm_charge.c"
#include "vmm_access.c"
#include "vmm_compact.c"
#include "vmm_list.c"
#include "vmm_check.c"
