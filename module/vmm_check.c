// SPDX-License-Identifier: GPL-2.0
/*
 * The self-check, run after each change of the metadata while
 * &vmm_arena.self_check is set (and on demand by the KUnit suite).
 */

#include <linux/bug.h>
#include <linux/log2.h>
#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/printk.h>
#include <linux/rbtree.h>

#include "vmm_arena.h"

/*
 * The self-check: a linear walk that recomputes what the trees encode.
 * Blocks and free extents (plus the one the compactor holds) must tile the
 * arena exactly, free extents must be maximal and carry correct subtree
 * maxima and the block right below them, the by-size tree must hold every
 * extent in order, the counters must agree, and the ID cache may name
 * only blocks of the ID tree, each in its own slot.  O(n + the ID cache's
 * slots) under the lock: a debugging aid only.
 */
static __printf(1, 2) bool vmm_bad(const char *fmt, ...)
{
	struct va_format vaf;
	va_list args;

	va_start(args, fmt);
	vaf.fmt = fmt;
	vaf.va = &args;
	pr_err("vmm: self-check: %pV\n", &vaf);
	va_end(args);
	return false;
}

static bool vmm_check_extent_node(struct vmm_extent *ext)
{
	u64 want = max3(ext->size, vmm_subtree_max(ext->node.rb_left),
			vmm_subtree_max(ext->node.rb_right));

	if (!ext->size)
		return vmm_bad("empty extent at %llu", ext->start);
	if (ext->subtree_max != want)
		return vmm_bad("extent at %llu: subtree_max %llu, want %llu",
			       ext->start, ext->subtree_max, want);
	return true;
}

static bool vmm_check_by_size(struct vmm_arena *arena, u64 nr_in_tree)
{
	struct vmm_extent *prev = NULL, *ext;
	struct rb_node *n;
	u64 count = 0;

	if (arena->policy != VMM_POLICY_BEST)
		return true;
	for (n = rb_first(&arena->by_size); n; n = rb_next(n)) {
		ext = rb_entry(n, struct vmm_extent, size_node);
		if (prev && !vmm_extent_smaller(prev, ext))
			return vmm_bad("by-size tree out of order at %llu+%llu",
				       ext->start, ext->size);
		prev = ext;
		count++;
	}
	if (count != nr_in_tree)
		return vmm_bad("by-size tree has %llu extents, want %llu",
			       count, nr_in_tree);
	return true;
}

/*
 * The usage records under @root, whose parent is @parent: each record's
 * blocks are its own plus its children's, and *@records counts them.
 * Recursion is bounded by %VMM_CHARGE_LEVELS.
 */
static bool vmm_check_usage(struct rb_root *root, struct vmm_usage *parent,
			    u64 *blocks, u64 *records)
{
	struct rb_node *n;

	*blocks = 0;
	for (n = rb_first(root); n; n = rb_next(n)) {
		struct vmm_usage *u = rb_entry(n, struct vmm_usage, node);
		u64 below;

		if (u->parent != parent)
			return vmm_bad("usage of uid %u has the wrong parent",
				       __kuid_val(u->uid));
		if (!vmm_check_usage(&u->children, u, &below, records))
			return false;
		if (!u->blocks || u->blocks != u->own_blocks + below)
			return vmm_bad("usage of uid %u: %llu blocks, %llu own and %llu below",
				       __kuid_val(u->uid), u->blocks,
				       u->own_blocks, below);
		*blocks += u->blocks;
		(*records)++;
	}
	return true;
}

static bool vmm_check_users(struct vmm_arena *arena)
{
	u64 blocks, records = 0;

	if (!vmm_check_usage(&arena->users, NULL, &blocks, &records))
		return false;
	if (blocks != arena->nr_blocks)
		return vmm_bad("usage records charge %llu blocks, want %llu",
			       blocks, arena->nr_blocks);
	if (records != arena->nr_users)
		return vmm_bad("%llu usage records, want %llu", records,
			       arena->nr_users);
	return true;
}

/* The reserve's count, and its floor: releases must never lack a node. */
static bool vmm_check_reserve(struct vmm_arena *arena)
{
	struct vmm_extent *ext;
	u64 count = 0;

	for (ext = arena->reserve; ext; ext = ext->next)
		count++;
	if (count != arena->nr_reserve)
		return vmm_bad("%llu nodes in the reserve, want %llu", count,
			       arena->nr_reserve);
	if (!vmm_reserve_covers(arena, arena->nr_blocks))
		return vmm_bad("%llu reserved and %llu extent nodes for %llu blocks",
			       arena->nr_reserve, arena->nr_extents,
			       arena->nr_blocks);
	return true;
}

/*
 * Every block a table of the ID cache names is in the ID tree, in the
 * slot its ID picks: as many tree blocks sit in their slots as the table
 * has entries.  Compares pointers only, so it never reads a stale one.
 */
static bool vmm_check_idc_table(struct vmm_arena *arena,
				const struct vmm_idc *idc, unsigned long mask,
				const char *which)
{
	unsigned long i, named = 0, found = 0;
	struct rb_node *n;

	if (!idc)
		return true;
	if (!is_power_of_2(mask + 1) || mask + 1 < VMM_IDC_MIN_SLOTS ||
	    mask + 1 > VMM_IDC_MAX_SLOTS)
		return vmm_bad("%s ID cache has %lu slots", which, mask + 1);
	for (i = 0; i <= mask; i++)
		if (idc->slot[i])
			named++;
	for (n = rb_first(&arena->ids); n; n = rb_next(n)) {
		struct vmm_block *blk = rb_entry(n, struct vmm_block, id_node);

		if (idc->slot[blk->id & mask] == blk)
			found++;
	}
	if (named != found)
		return vmm_bad("%s ID cache names %lu blocks, only %lu in the tree at their slots",
			       which, named, found);
	return true;
}

/* A failed allocation's back-off only ever raises the growth limit. */
static bool vmm_check_idc(struct vmm_arena *arena)
{
	if (arena->idc_grow_at < vmm_idc_grow_at(arena) ||
	    arena->idc_drop_below != vmm_idc_drop_below(arena))
		return vmm_bad("ID cache of %lu slots: limits %lu/%lu, want %lu/%lu",
			       vmm_idc_slots(arena), arena->idc_grow_at,
			       arena->idc_drop_below, vmm_idc_grow_at(arena),
			       vmm_idc_drop_below(arena));
	if (arena->idc_old && (!arena->idc ||
			       arena->idc_old_mask >= arena->idc_mask ||
			       arena->idc_moved > arena->idc_old_mask))
		return vmm_bad("old ID cache of %lu slots, %lu moved, beside %lu",
			       arena->idc_old_mask + 1, arena->idc_moved,
			       vmm_idc_slots(arena));
	return vmm_check_idc_table(arena, arena->idc, arena->idc_mask, "the") &&
	       vmm_check_idc_table(arena, arena->idc_old, arena->idc_old_mask,
				   "the old");
}

static bool vmm_check_ids(struct vmm_arena *arena)
{
	struct rb_node *n;
	u64 count = 0, prev = 0;

	for (n = rb_first(&arena->ids); n; n = rb_next(n)) {
		struct vmm_block *blk = rb_entry(n, struct vmm_block, id_node);

		if (blk->id <= prev || blk->id >= arena->next_id)
			return vmm_bad("ID %llu out of order or not yet issued",
				       blk->id);
		prev = blk->id;
		count++;
	}
	if (count != arena->nr_blocks)
		return vmm_bad("ID tree has %llu blocks, want %llu", count,
			       arena->nr_blocks);
	if (arena->ids_last != rb_last(&arena->ids))
		return vmm_bad("the last ID's node is not the tree's last");
	return vmm_check_idc(arena) && vmm_check_reserve(arena);
}

static bool vmm_check_locked(struct vmm_arena *arena)
{
	struct rb_node *b = rb_first(&arena->addrs), *e = rb_first(&arena->free);
	struct vmm_extent *moving = arena->moving_ext;
	struct vmm_block *pred = NULL;
	u64 cursor = 0, used = 0, blocks = 0, extents = 0, hidden = 0;
	u64 mappable = 0, mapped = 0;
	bool prev_free = false;

	lockdep_assert_held(&arena->lock);
	while (b || e || moving) {
		struct vmm_block *blk = b ? rb_entry(b, struct vmm_block,
						     addr_node) : NULL;
		struct vmm_extent *ext = e ? rb_entry(e, struct vmm_extent,
						      node) : NULL;

		if (moving && moving->start == cursor) {
			/* May touch a free extent: it is out of the tree. */
			cursor += moving->size;
			moving = moving->next;
			extents++;
			hidden++;
			prev_free = false;
		} else if (ext && ext->start == cursor) {
			if (prev_free)
				return vmm_bad("free extents at %llu not merged",
					       cursor);
			if (!vmm_check_extent_node(ext))
				return false;
			if (ext->prev_blk != pred)
				return vmm_bad("extent at %llu: not after block %llu",
					       ext->start, pred ? pred->id : 0);
			cursor += ext->size;
			e = rb_next(e);
			extents++;
			prev_free = true;
		} else if (blk && blk->start == cursor) {
			if (!blk->size)
				return vmm_bad("empty block %llu", blk->id);
			if (blk->mappable &&
			    (!PAGE_ALIGNED(blk->start) ||
			     !PAGE_ALIGNED(blk->size)))
				return vmm_bad("mappable block %llu at %llu+%llu: not whole pages",
					       blk->id, blk->start, blk->size);
			if (blk->maps && !blk->mappable)
				return vmm_bad("block %llu is mapped but not mappable",
					       blk->id);
			mappable += blk->mappable;
			mapped += !!blk->maps;
			cursor += blk->size;
			used += blk->size;
			pred = blk;
			b = rb_next(b);
			blocks++;
			prev_free = false;
		} else {
			return vmm_bad("gap or overlap at offset %llu", cursor);
		}
	}
	if (cursor != arena->size)
		return vmm_bad("blocks and extents end at %llu, not %llu",
			       cursor, arena->size);
	if (used != arena->used)
		return vmm_bad("blocks hold %llu bytes, used says %llu", used,
			       arena->used);
	if (blocks != arena->nr_blocks)
		return vmm_bad("%llu blocks by offset, want %llu", blocks,
			       arena->nr_blocks);
	if (extents != arena->nr_extents)
		return vmm_bad("%llu extents, want %llu", extents,
			       arena->nr_extents);
	if (mappable != arena->nr_mappable || mapped != arena->nr_mapped)
		return vmm_bad("%llu mappable and %llu mapped blocks, want %llu and %llu",
			       mappable, mapped, arena->nr_mappable,
			       arena->nr_mapped);
	/* A gather's blocks lie right below the one range they leave. */
	if (arena->gather_lo != arena->gather_hi &&
	    (!arena->moving_ext || arena->moving_ext->start != arena->gather_hi))
		return vmm_bad("gather at %llu-%llu, not below a hidden range",
			       arena->gather_lo, arena->gather_hi);
	if (arena->gather_freed > arena->nr_dead)
		return vmm_bad("%llu blocks freed in a gather, %llu dead",
			       arena->gather_freed, arena->nr_dead);
	return vmm_check_by_size(arena, extents - hidden) &&
	       vmm_check_ids(arena) && vmm_check_users(arena);
}

/* vmm_self_check()'s walk, while &vmm_arena.self_check is set. */
static void vmm_self_check_run(struct vmm_arena *arena)
{
	WARN_ONCE(!vmm_check_locked(arena),
		  "vmm: the arena's index is inconsistent\n");
}
