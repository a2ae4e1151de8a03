// SPDX-License-Identifier: GPL-2.0
/*
 * A direct-mapped cache of blocks by ID, in front of the ID tree.
 *
 * Every command names its block by ID, and a search of the ID tree reads
 * one cold block record per level: about 14 at 10,000 blocks, a quarter of
 * a free's time in perf.  IDs are issued in order, so an ID modulo a power
 * of two spreads the live blocks over a table's slots with few collisions,
 * and a slot holds the last block stored in it.  The tree stays the truth:
 * a miss searches it and fills the slot, a collision costs one search, and
 * the table may be dropped at any time.
 *
 * A table comes in at 128 blocks and has 2 to 8 slots per block.  When the
 * blocks reach half its slots, an allocation brings a table of 4 slots per
 * block, allocated before the lock by one task at a time (the holder of
 * &vmm_arena.idc_claim) and charged to it; the old table's entries move
 * over a few slots per insertion and release, so that no hold does more
 * than a fixed amount of this work, and until they have, a block stored
 * only in the old table is found by the tree.  When the blocks fall under
 * 1/8 of the slots, a release drops the table, and the next allocation
 * brings one of the right size.  The lock's holders free tables with
 * kvfree_rcu(), which does not sleep: nothing reads a table without the
 * lock, but vfree() may sleep.
 */
#include <linux/atomic.h>
#include <linux/bitops.h>
#include <linux/log2.h>
#include <linux/minmax.h>
#include <linux/overflow.h>
#include <linux/rcupdate.h>
#include <linux/slab.h>

#include "vmm_arena.h"

/* Slots of the old table moved per insertion and release. */
#define VMM_IDC_MOVE		8
/*
 * A table only speeds lookups up: no reclaim effort beyond a try, and
 * nothing logged when it fails.
 */
#define VMM_IDC_GFP	(GFP_KERNEL_ACCOUNT | __GFP_NORETRY | __GFP_NOWARN)

/* Slots for @blocks blocks: four per block, a power of two. */
static unsigned long vmm_idc_slots_for(u64 blocks)
{
	blocks = clamp_t(u64, blocks, VMM_IDC_MIN_SLOTS / 4,
			 VMM_IDC_MAX_SLOTS / 4);
	return roundup_pow_of_two(blocks * 4);
}

static unsigned long vmm_idc_slots(const struct vmm_arena *arena)
{
	return arena->idc ? arena->idc_mask + 1 : 0;
}

/* Blocks at which the next table is due. */
static unsigned long vmm_idc_grow_at(const struct vmm_arena *arena)
{
	unsigned long slots = vmm_idc_slots(arena);

	if (arena->idc_old || slots >= VMM_IDC_MAX_SLOTS)
		return ULONG_MAX;
	return max(slots, VMM_IDC_MIN_SLOTS) / 2;
}

/* Blocks under which the table goes. */
static unsigned long vmm_idc_drop_below(const struct vmm_arena *arena)
{
	unsigned long slots = vmm_idc_slots(arena);

	return slots > VMM_IDC_MIN_SLOTS ? slots / 8 : 0;
}

/*
 * Under the lock (or before the arena is shared): the limits every
 * allocation and release compares the blocks with, after a change of
 * table.
 */
static void vmm_idc_limits(struct vmm_arena *arena)
{
	WRITE_ONCE(arena->idc_grow_at, vmm_idc_grow_at(arena));
	arena->idc_drop_below = vmm_idc_drop_below(arena);
}

/*
 * A bigger table into @new, if the arena's blocks (as far as a look
 * without the lock tells) and @more new ones are due one, for
 * vmm_idc_install(), which the caller must then call under the lock if
 * @new->claimed.  One task at a time: the one that sets the claim bit.
 * Failing only leaves the searches to the tree.  May sleep.
 */
static void vmm_idc_prealloc(struct vmm_arena *arena, unsigned int more,
			     struct vmm_idc_new *new)
{
	u64 want = READ_ONCE(arena->nr_blocks) + more;
	unsigned long slots;

	/* A look before the atomic, which would bounce the cache line. */
	if (likely(want < READ_ONCE(arena->idc_grow_at)) ||
	    test_bit(0, &arena->idc_claim) ||
	    test_and_set_bit_lock(0, &arena->idc_claim))
		return;
	/* The last claimant may have brought one meanwhile. */
	want = READ_ONCE(arena->nr_blocks) + more;
	if (want < READ_ONCE(arena->idc_grow_at)) {
		clear_bit_unlock(0, &arena->idc_claim);
		return;
	}
	new->claimed = true;
	new->want = want;
	slots = vmm_idc_slots_for(want);
	new->mask = slots - 1;
	new->idc = kvzalloc(array_size(slots, sizeof(struct vmm_block *)),
			    VMM_IDC_GFP);
}

/*
 * Under the lock, after vmm_idc_prealloc() claimed the next table: make
 * @new's table the arena's, unless it is no bigger or the last one's
 * entries are still moving, and end the claim.  If the allocation failed,
 * the next try waits until the blocks have doubled, so that not every
 * allocation pays for a failing one.  Clears @new->idc if it takes the
 * table; the caller frees what is left with kvfree() after the lock.
 */
static void vmm_idc_install(struct vmm_arena *arena, struct vmm_idc_new *new)
{
	bool failed = !new->idc;

	lockdep_assert_held(&arena->lock);
	if (new->idc && !arena->idc_old &&
	    (!arena->idc || new->mask > arena->idc_mask)) {
		if (arena->idc) {
			arena->idc_old = arena->idc;
			arena->idc_old_mask = arena->idc_mask;
			arena->idc_moved = 0;
		}
		arena->idc = new->idc;
		arena->idc_mask = new->mask;
		new->idc = NULL;
	}
	vmm_idc_limits(arena);
	if (failed)
		WRITE_ONCE(arena->idc_grow_at,
			   max_t(u64, arena->idc_grow_at,
				 min_t(u64, new->want * 2, ULONG_MAX - 1)));
	new->claimed = false;
	clear_bit_unlock(0, &arena->idc_claim);
}

/* Move the next few entries of the old table, and free it once done. */
static void vmm_idc_move(struct vmm_arena *arena)
{
	struct vmm_idc *old = arena->idc_old, *idc = arena->idc;
	unsigned long i, end;

	end = min(arena->idc_moved + VMM_IDC_MOVE, arena->idc_old_mask + 1);
	for (i = arena->idc_moved; i < end; i++) {
		struct vmm_block *blk = old->slot[i];
		struct vmm_block **slot;

		if (!blk)
			continue;
		/* A block stored since the new table came in stays. */
		slot = &idc->slot[blk->id & arena->idc_mask];
		if (!*slot)
			*slot = blk;
	}
	arena->idc_moved = end;
	if (end > arena->idc_old_mask) {
		arena->idc_old = NULL;
		vmm_idc_limits(arena);
		kvfree_rcu(old, rcu);
	}
}

/* Under the lock: @blk, just given its ID, goes into the table. */
static void vmm_idc_store(struct vmm_arena *arena, struct vmm_block *blk)
{
	lockdep_assert_held(&arena->lock);
	if (likely(arena->idc))
		arena->idc->slot[blk->id & arena->idc_mask] = blk;
	if (unlikely(arena->idc_old))
		vmm_idc_move(arena);
}

static void vmm_idc_clear(struct vmm_idc *idc, unsigned long mask,
			  struct vmm_block *blk)
{
	if (idc && idc->slot[blk->id & mask] == blk)
		idc->slot[blk->id & mask] = NULL;
}

/* Free both tables; the next allocation may bring one of the right size. */
static void vmm_idc_drop(struct vmm_arena *arena)
{
	if (arena->idc_old)
		kvfree_rcu(arena->idc_old, rcu);
	kvfree_rcu(arena->idc, rcu);
	arena->idc_old = NULL;
	arena->idc = NULL;
	vmm_idc_limits(arena);
}

/*
 * Under the lock: @blk is leaving the ID tree (&vmm_arena.nr_blocks already
 * counts it out).  No table may name it after this.
 */
static void vmm_idc_forget(struct vmm_arena *arena, struct vmm_block *blk)
{
	lockdep_assert_held(&arena->lock);
	vmm_idc_clear(arena->idc, arena->idc_mask, blk);
	if (unlikely(arena->nr_blocks < arena->idc_drop_below)) {
		vmm_idc_drop(arena);
	} else if (unlikely(arena->idc_old)) {
		vmm_idc_clear(arena->idc_old, arena->idc_old_mask, blk);
		vmm_idc_move(arena);
	}
}

/* At the arena's end, with no lock: nothing else can reach it. */
static void vmm_idc_destroy(struct vmm_arena *arena)
{
	kvfree(arena->idc_old);
	kvfree(arena->idc);
	arena->idc_old = NULL;
	arena->idc = NULL;
	vmm_idc_limits(arena);
}

/* The tables' bytes, for metadata_bytes: exact powers of two. */
static u64 vmm_idc_bytes(const struct vmm_arena *arena)
{
	u64 slots = vmm_idc_slots(arena);

	if (arena->idc_old)
		slots += arena->idc_old_mask + 1;
	return slots * sizeof(struct vmm_block *);
}
