// SPDX-License-Identifier: GPL-2.0
/*
 * The arena code under test, compiled into vmm_kunit.ko as well, so that
 * the suite exercises exactly vmm.ko's allocator without vmm.ko having to
 * export it.  Including the arena's unit here also lets the suite reach
 * its static functions; vmm_arena_kernel.c adds the calls it makes as
 * the kernel, with no caller's credentials.
 */
#include "../vmm_arena_unit.c"
#include "../vmm_arena_kernel.c"
#include "vmm_kunit.h"

/* A placement search alone, changing nothing: for the scaling test. */
bool vmm_kunit_find(struct vmm_arena *arena, u64 size, u64 align, u64 *start)
{
	bool found;

	vmm_lock(arena);
	found = vmm_fit(arena, size, max(align, 1ULL), start);
	vmm_unlock(arena);
	return found;
}

/*
 * What the self_check parameter runs after every change, on demand: true
 * if the index is consistent; otherwise false, with the first problem
 * logged.
 */
bool vmm_kunit_check(struct vmm_arena *arena)
{
	bool ok;

	vmm_lock(arena);
	ok = vmm_check_locked(arena);
	vmm_unlock(arena);
	return ok;
}

/*
 * What an allocation does before the lock about the next ID table, for
 * @more new blocks, as if the table's allocation failed: a task that
 * claims it holds the claim until vmm_kunit_idc_install().  Return:
 * whether it claimed.
 */
bool vmm_kunit_idc_claim_failing(struct vmm_arena *arena, unsigned int more,
				 struct vmm_idc_new *new)
{
	vmm_idc_prealloc(arena, more, new);
	kvfree(new->idc);
	new->idc = NULL;
	return new->claimed;
}

/* What that allocation then does under the lock. */
void vmm_kunit_idc_install(struct vmm_arena *arena, struct vmm_idc_new *new)
{
	vmm_lock(arena);
	vmm_idc_install(arena, new);
	vmm_unlock(arena);
}
