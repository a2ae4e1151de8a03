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

/**
 * struct vmm_kunit_move - a gather of runs that vmm_kunit_gather_begin()
 *	put in place in the metadata, whose bytes have not moved yet
 * @pass: the defragmentation pass it belongs to
 * @bytes: the pass's byte counter
 * @blocks: the pass's block counter
 */
struct vmm_kunit_move {
	struct vmm_pass pass;
	u64 bytes;
	u64 blocks;
};

/*
 * What a compaction does under the lock before it copies a gather of runs,
 * from the block @id, which must have a free extent right below it.  The
 * compaction mutex stays held until vmm_kunit_gather_end().  Return: the
 * gather, or NULL if @id is no such block.
 */
struct vmm_kunit_move *vmm_kunit_gather_begin(struct vmm_arena *arena, u64 id)
{
	struct vmm_kunit_move *m = kzalloc(sizeof(*m), GFP_KERNEL);
	struct vmm_extent *ext = NULL;
	struct vmm_block *blk;

	if (!m)
		return NULL;
	m->pass.bytes = &m->bytes;
	m->pass.blocks = &m->blocks;
	m->pass.g = &arena->gather;
	mutex_lock(&arena->compact_lock);
	vmm_lock(arena);
	blk = vmm_block_lookup(arena, id);
	if (blk)
		ext = vmm_extent_ending_at(arena, blk->start);
	if (ext)
		vmm_gather_runs(arena, &m->pass, blk, ext);
	vmm_unlock(arena);
	if (!ext) {
		mutex_unlock(&arena->compact_lock);
		kfree(m);
		return NULL;
	}
	return m;
}

/*
 * The rest of that compaction: copy the runs and end the move.  Return the
 * blocks it moved; frees @m.
 */
u64 vmm_kunit_gather_end(struct vmm_arena *arena, struct vmm_kunit_move *m)
{
	u64 blocks;

	vmm_lock(arena);
	vmm_gather_slide(arena, &m->pass);
	vmm_unlock(arena);
	mutex_unlock(&arena->compact_lock);
	blocks = m->blocks;
	kfree(m);
	return blocks;
}

/* Whether the block @id is moving, as pinning and LIST see it. */
bool vmm_kunit_moving(struct vmm_arena *arena, u64 id)
{
	struct vmm_block *blk;
	bool moving;

	vmm_lock(arena);
	blk = vmm_block_lookup(arena, id);
	moving = blk && vmm_block_moving(arena, blk);
	vmm_unlock(arena);
	return moving;
}
