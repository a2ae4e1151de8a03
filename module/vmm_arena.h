/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The arena's internals, shared by the files that make it up:
 * vmm_arena.c (blocks: allocation, free, batches), vmm_extent.c (free
 * space), vmm_idc.c (the cache of blocks by ID), vmm_charge.c (quotas,
 * owner and mode changes), vmm_access.c (attributes, pins and mappings),
 * vmm_compact.c (compaction), vmm_list.c (statistics and listings) and
 * vmm_check.c (the self-check), which vmm_arena_unit.c compiles as one
 * unit.  The rest of the module uses the
 * arena through vmm.h only.
 */
#ifndef _VMM_ARENA_H
#define _VMM_ARENA_H

#ifndef VMM_ARENA_UNIT
#error "vmm_arena.h is private to the arena: build vmm_arena_unit.c"
#endif

#include <linux/cred.h>
#include <linux/rbtree.h>
#include <linux/sched/clock.h>
#include <linux/types.h>
#include <linux/uidgid.h>

#include "vmm.h"

/*
 * A start time for an event's duration_ns, read only while the event is
 * enabled, so that a disabled tracepoint costs no clock read.  0 means
 * "not timed": an event enabled mid-call reports a duration of 0.
 */
static inline u64 vmm_trace_start(bool enabled)
{
	return enabled ? local_clock() : 0;
}

static inline u64 vmm_trace_since(u64 start)
{
	return start ? local_clock() - start : 0;
}

static inline u64 vmm_block_end(const struct vmm_block *blk)
{
	return blk->start + blk->size;
}

static inline u64 vmm_extent_end(const struct vmm_extent *ext)
{
	return ext->start + ext->size;
}

/* (size, start) order, for best fit. */
static inline bool vmm_extent_smaller(const struct vmm_extent *a,
				      const struct vmm_extent *b)
{
	return a->size < b->size || (a->size == b->size && a->start < b->start);
}

static inline u64 vmm_subtree_max(struct rb_node *n)
{
	return n ? rb_entry(n, struct vmm_extent, node)->subtree_max : 0;
}

/**
 * struct vmm_charge - the records a new charge needs, found under the lock
 * @chain: the ids, from the top-level owner down to the block's owner
 * @n: entries in @chain
 * @found: the existing record of each level; the first NULL and all
 *	below it are missing
 * @missing: levels without a record
 * @spares: zeroed records allocated without the lock, to fill them,
 *	linked through &vmm_usage.parent
 * @nr_spares: records in @spares
 * @liftable: the check failed, but would pass with the per-uid block
 *	limit in place of the unprivileged one: privilege would lift it.
 *	Worked out only for a caller not yet asked for privilege (the @ask
 *	of vmm_charge_check()); false otherwise
 */
struct vmm_charge {
	const kuid_t *chain;
	unsigned int n;
	struct vmm_usage *found[VMM_CHARGE_LEVELS];
	unsigned int missing;
	struct vmm_usage *spares;
	unsigned int nr_spares;
	bool liftable;
};

/*
 * Whether @blk is in the gather of runs the compactor is copying: its new
 * offset lies in [&vmm_arena.gather_lo, &vmm_arena.gather_hi).  The range
 * spares the compactor a walk over the gather's blocks to mark them and
 * another to clear the marks.
 */
static inline bool vmm_block_in_gather(const struct vmm_arena *arena,
				       const struct vmm_block *blk)
{
	return blk->start >= arena->gather_lo && blk->start < arena->gather_hi;
}

/* Whether the compactor is copying @blk's bytes, alone or in a gather. */
static inline bool vmm_block_moving(const struct vmm_arena *arena,
				    const struct vmm_block *blk)
{
	return blk->moving || vmm_block_in_gather(arena, blk);
}

/* Whether anything still holds @blk's range: a copy, a mapping or a move. */
static inline bool vmm_block_held(const struct vmm_arena *arena,
				  const struct vmm_block *blk)
{
	return blk->pins || blk->maps || vmm_block_moving(arena, blk);
}

/*
 * Entries of a batch that share one hold of the lock: each is O(log n)
 * under it, so a hold stays as short as a handful of single calls'.
 */
#define VMM_META_HOLD	16

/*
 * Blocks, or usage records, that a LIST, or a USAGE, looks at per hold of
 * the lock, however many the caller asked for: as many as a compaction
 * pass looks at per hold.
 */
#define VMM_LIST_HOLD	64

/*
 * What one file calls in another.  Static: the files are compiled only
 * together, as one unit (vmm_arena_unit.c), so these declare ahead what a
 * later file of the unit defines, and the compiler may inline each call.
 * vmm_extent.c comes first in the unit, so its block and extent caches
 * need no declaration here.
 */

/* vmm_extent.c */
static struct vmm_extent *vmm_ext_alloc(void);
static void vmm_ext_free(struct vmm_extent *ext);
static int vmm_caches_get(void);
static void vmm_caches_put(void);
static bool vmm_ext_preload_fill(void);
static bool vmm_reserve_covers(const struct vmm_arena *arena, u64 blocks);
static void vmm_reserve_trim(struct vmm_arena *arena);
static void vmm_ext_put(struct vmm_arena *arena, struct vmm_extent *ext);
static bool vmm_ext_reserve(struct vmm_arena *arena, bool splits,
			    struct vmm_extent **extra);
static void vmm_size_erase(struct vmm_arena *arena, struct vmm_extent *ext);
static void vmm_extent_resized(struct vmm_arena *arena, struct vmm_extent *ext);
static void vmm_extent_insert(struct vmm_arena *arena, struct vmm_extent *ext);
static void vmm_extent_unlink(struct vmm_arena *arena, struct vmm_extent *ext);
static struct vmm_extent *vmm_extent_above(struct vmm_arena *arena, u64 offset);
static struct vmm_extent *vmm_extent_ending_at(struct vmm_arena *arena,
					       u64 offset);
static struct vmm_extent *vmm_extent_give(struct vmm_arena *arena, u64 start,
					  u64 size);
static void vmm_extent_take(struct vmm_arena *arena, struct vmm_extent *ext,
			    u64 start, u64 size, struct vmm_block *blk);
static struct vmm_extent *vmm_fit(struct vmm_arena *arena, u64 size,
				  u64 align, u64 *start);

/* vmm_idc.c */
static void vmm_idc_prealloc(struct vmm_arena *arena, unsigned int more,
			     struct vmm_idc_new *new);
static void vmm_idc_install(struct vmm_arena *arena, struct vmm_idc_new *new);
static void vmm_idc_store(struct vmm_arena *arena, struct vmm_block *blk);
static void vmm_idc_forget(struct vmm_arena *arena, struct vmm_block *blk);
static void vmm_idc_destroy(struct vmm_arena *arena);
static void vmm_idc_limits(struct vmm_arena *arena);
static unsigned long vmm_idc_slots(const struct vmm_arena *arena);
static unsigned long vmm_idc_grow_at(const struct vmm_arena *arena);
static unsigned long vmm_idc_drop_below(const struct vmm_arena *arena);
static u64 vmm_idc_bytes(const struct vmm_arena *arena);

/* vmm_arena.c */
static void vmm_block_release(struct vmm_arena *arena, struct vmm_block *blk);
static struct vmm_block *vmm_block_from(struct vmm_arena *arena, u64 offset);

/* vmm_charge.c */
static bool vmm_cred_in_group(const struct vmm_cred *cred, kgid_t gid);
static const kuid_t *vmm_charge_chain(const struct vmm_cred *cred,
				      unsigned int *n);
static u64 vmm_block_limit(struct vmm_arena *arena,
			   const struct vmm_cred *cred);
static int vmm_charge_check(struct vmm_arena *arena, struct vmm_charge *ch,
			    u64 size, u64 max_blocks, bool ask);
static int vmm_charge_prealloc(struct vmm_charge *ch);
static void vmm_charge_release(struct vmm_charge *ch);
static void vmm_charge_commit(struct vmm_arena *arena, struct vmm_charge *ch,
			      struct vmm_block *blk);
static void vmm_usage_uncharge(struct vmm_arena *arena, struct vmm_usage *u,
			       u64 size);

/* vmm_access.c */
static int vmm_attrs_locked(struct vmm_arena *arena, u64 id,
			    const struct vmm_cred *cred, int may,
			    struct vmm_block_attrs *out);

/* vmm_compact.c */
static int vmm_defrag(struct vmm_arena *arena, const struct vmm_cred *cred,
		      u64 budget, bool nowait, u64 *bytes, u64 *blocks,
		      bool *compact, bool *interrupted);

/* vmm_check.c */
static void vmm_self_check_run(struct vmm_arena *arena);

/* The block with @id in the ID tree, if it exists in any state. */
static inline struct vmm_block *vmm_block_search(struct vmm_arena *arena,
						 u64 id)
{
	struct rb_node *n = arena->ids.rb_node;

	while (n) {
		struct vmm_block *blk = rb_entry(n, struct vmm_block, id_node);

		if (id < blk->id)
			n = n->rb_left;
		else if (id > blk->id)
			n = n->rb_right;
		else
			return blk;
	}
	return NULL;
}

/*
 * The block with @id, if it exists in any state: from the ID cache's slot,
 * or else from the tree, and then the slot remembers it.
 */
static inline struct vmm_block *vmm_block_find(struct vmm_arena *arena,
					       u64 id)
{
	struct vmm_idc *idc = arena->idc;
	struct vmm_block **slot = NULL, *blk;

	lockdep_assert_held(&arena->lock);
	if (idc) {
		slot = &idc->slot[id & arena->idc_mask];
		blk = *slot;
		if (blk && blk->id == id)
			return blk;
	}
	blk = vmm_block_search(arena, id);
	if (blk && slot)
		*slot = blk;
	return blk;
}

/*
 * The block, extent and reserve counts are written under the lock but
 * also read without it, as a guess of what to allocate before taking it
 * (vmm_meta_nodes(), vmm_idc_prealloc()): written whole, with
 * WRITE_ONCE(), to pair with those READ_ONCE()s.
 */
static inline void vmm_count_add(u64 *count, s64 delta)
{
	WRITE_ONCE(*count, *count + delta);
}

/* The block before @blk by offset, or NULL. */
static inline struct vmm_block *vmm_block_prev(struct vmm_block *blk)
{
	struct rb_node *n = rb_prev(&blk->addr_node);

	return n ? rb_entry(n, struct vmm_block, addr_node) : NULL;
}

/* The block after @blk by offset, or NULL. */
static inline struct vmm_block *vmm_block_next(struct vmm_block *blk)
{
	struct rb_node *n = rb_next(&blk->addr_node);

	return n ? rb_entry(n, struct vmm_block, addr_node) : NULL;
}

static inline struct vmm_block *vmm_block_lookup(struct vmm_arena *arena,
						 u64 id)
{
	struct vmm_block *blk = vmm_block_find(arena, id);

	return blk && blk->state == VMM_BLOCK_LIVE ? blk : NULL;
}

static inline void vmm_pin_locked(struct vmm_arena *arena,
				  struct vmm_block *blk)
{
	lockdep_assert_held(&arena->lock);
	if (!blk->pins++)
		arena->nr_pinned++;
}

/*
 * Drop a pin.  Releases a DEAD block whose last pin this was, unless it is
 * still mapped or moving, which frees @blk.  Nobody waits for a pin to
 * drop: the compactor goes around pinned blocks.
 */
static inline void vmm_unpin_locked(struct vmm_arena *arena,
				    struct vmm_block *blk)
{
	lockdep_assert_held(&arena->lock);
	if (--blk->pins)
		return;
	arena->nr_pinned--;
	if (blk->state == VMM_BLOCK_DEAD && !vmm_block_held(arena, blk))
		vmm_block_release(arena, blk);
}

/*
 * Whether @cred may access @blk with any of the bits in @may, chosen as
 * for files: the owner bits if the caller owns the block, else the group
 * bits if the caller is in its group, else the other bits.  The group is
 * the effective gid's or a supplementary one's, as the uapi header says,
 * not the fsgid's (vmm_cred_in_group()).
 */
static inline bool vmm_may(const struct vmm_block *blk,
			   const struct vmm_cred *cred, int may)
{
	umode_t mode = blk->mode;

	if (!cred || !may || cred->admin)
		return true;
	if (uid_eq(cred->uid, blk->uid))
		mode >>= 6;
	else if (vmm_cred_in_group(cred, blk->gid))
		mode >>= 3;
	return mode & may;
}

/* Which of %VMM_MAY_READ and %VMM_MAY_WRITE @cred has on @blk. */
static inline int vmm_rights(const struct vmm_block *blk,
			     const struct vmm_cred *cred)
{
	return (vmm_may(blk, cred, VMM_MAY_READ) ? VMM_MAY_READ : 0) |
	       (vmm_may(blk, cred, VMM_MAY_WRITE) ? VMM_MAY_WRITE : 0);
}

/* Whether @cred owns @blk, or is the kernel or CAP_SYS_ADMIN. */
static inline bool vmm_owns(const struct vmm_block *blk,
			    const struct vmm_cred *cred)
{
	return !cred || cred->admin || uid_eq(cred->uid, blk->uid);
}

/* The self-check after a change, while &vmm_arena.self_check is set. */
static inline void vmm_self_check(struct vmm_arena *arena)
{
	if (unlikely(READ_ONCE(arena->self_check)))
		vmm_self_check_run(arena);
}

#endif /* _VMM_ARENA_H */
