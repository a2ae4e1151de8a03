// SPDX-License-Identifier: GPL-2.0
/*
 * The arena code under test, compiled into vmm_kunit.ko as well, so that
 * the suite exercises exactly vmm.ko's allocator without vmm.ko having to
 * export it.
 */
#include "../vmm_arena.c"
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
