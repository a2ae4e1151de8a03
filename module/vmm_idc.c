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
 * A table has 2 to 4 slots per block.  When the blocks reach half its
 * slots, an allocation brings a table of 4 per block, allocated before the
 * lock and charged to its caller; the old table's entries move over a few
 * slots per insertion and release, so that no hold does more than a fixed
 * amount of this work, and until they have, a block stored only in the old
 * table is found by the tree.  When the blocks fall under 1/64 of the
 * slots, a release drops the table, and the next allocation brings one of
 * the right size.  The lock's holders free tables with kvfree_rcu(), which
 * does not sleep: nothing reads a table without the lock, but vfree() may
 * sleep.
 */
#include <linux/bits.h>
#include <linux/log2.h>
#include <linux/minmax.h>
#include <linux/overflow.h>
#include <linux/rcupdate.h>
#include <linux/slab.h>

#include "vmm_arena.h"

/* An arena with fewer blocks than half of this searches the tree alone. */
#define VMM_IDC_MIN_SLOTS	256UL
/* The largest table: 32 MiB of slots on 64-bit, enough for 1M blocks. */
#define VMM_IDC_MAX_SLOTS	BIT(22)
/* Slots of the old table moved per insertion and release. */
#define VMM_IDC_MOVE		8

/* Slots for @blocks blocks: four per block, a power of two. */
static unsigned long vmm_idc_slots_for(u64 blocks)
{
	blocks = clamp_t(u64, blocks, VMM_IDC_MIN_SLOTS / 4,
			 VMM_IDC_MAX_SLOTS / 4);
	return roundup_pow_of_two(blocks * 4);
}

static unsigned long vmm_idc_slots(const struct vmm_arena *arena)
{
	return arena->idc ? arena->idc->mask + 1 : 0;
}

/* Blocks at which the next table is due. */
static u64 vmm_idc_grow_at(const struct vmm_arena *arena)
{
	unsigned long slots = vmm_idc_slots(arena);

	if (arena->idc_old || slots >= VMM_IDC_MAX_SLOTS)
		return U64_MAX;
	return max(slots, VMM_IDC_MIN_SLOTS) / 2;
}

/* Blocks under which the table goes. */
static u64 vmm_idc_drop_below(const struct vmm_arena *arena)
{
	unsigned long slots = vmm_idc_slots(arena);

	return slots > VMM_IDC_MIN_SLOTS ? slots / 64 : 0;
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
 * A bigger table, if the arena's blocks (as far as a look without the lock
 * tells) and @more new ones are due one, for vmm_idc_install().  Failing
 * to allocate it only leaves the searches to the tree.  May sleep.
 */
static struct vmm_idc *vmm_idc_prealloc(struct vmm_arena *arena,
					unsigned int more)
{
	u64 want = READ_ONCE(arena->nr_blocks) + more;
	unsigned long slots;
	struct vmm_idc *idc;

	if (likely(want < READ_ONCE(arena->idc_grow_at)))
		return NULL;
	slots = vmm_idc_slots_for(want);
	idc = kvzalloc(struct_size(idc, slot, slots), VMM_GFP_META);
	if (idc)
		idc->mask = slots - 1;
	return idc;
}

/*
 * Under the lock: make *@pre the table, unless another task's is already
 * as big or the last one's entries are still moving.  Clears *@pre if it
 * takes it; the caller frees what is left with kvfree() after the lock.
 */
static void vmm_idc_install(struct vmm_arena *arena, struct vmm_idc **pre)
{
	struct vmm_idc *idc = *pre;

	lockdep_assert_held(&arena->lock);
	if (!idc || arena->idc_old ||
	    (arena->idc && arena->idc->mask >= idc->mask))
		return;
	if (arena->idc) {
		arena->idc_old = arena->idc;
		arena->idc_moved = 0;
	}
	arena->idc = idc;
	vmm_idc_limits(arena);
	*pre = NULL;
}

/* Move the next few entries of the old table, and free it once done. */
static void vmm_idc_move(struct vmm_arena *arena)
{
	struct vmm_idc *old = arena->idc_old, *idc = arena->idc;
	unsigned long i, end;

	if (!old)
		return;
	end = min(arena->idc_moved + VMM_IDC_MOVE, old->mask + 1);
	for (i = arena->idc_moved; i < end; i++) {
		struct vmm_block *blk = old->slot[i];
		struct vmm_block **slot;

		if (!blk)
			continue;
		/* A block stored since the new table came in stays. */
		slot = &idc->slot[blk->id & idc->mask];
		if (!*slot)
			*slot = blk;
	}
	arena->idc_moved = end;
	if (end > old->mask) {
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
		arena->idc->slot[blk->id & arena->idc->mask] = blk;
	if (unlikely(arena->idc_old))
		vmm_idc_move(arena);
}

static void vmm_idc_clear(struct vmm_idc *idc, struct vmm_block *blk)
{
	if (idc && idc->slot[blk->id & idc->mask] == blk)
		idc->slot[blk->id & idc->mask] = NULL;
}

/* Free both tables; the next allocation brings one of the right size. */
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
	vmm_idc_clear(arena->idc, blk);
	if (unlikely(arena->nr_blocks < arena->idc_drop_below)) {
		vmm_idc_drop(arena);
	} else if (unlikely(arena->idc_old)) {
		vmm_idc_clear(arena->idc_old, blk);
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

/* The tables' bytes, for metadata_bytes. */
static u64 vmm_idc_bytes(const struct vmm_arena *arena)
{
	u64 bytes = 0;

	if (arena->idc)
		bytes += struct_size(arena->idc, slot, arena->idc->mask + 1);
	if (arena->idc_old)
		bytes += struct_size(arena->idc_old, slot,
				     arena->idc_old->mask + 1);
	return bytes;
}
