// SPDX-License-Identifier: GPL-2.0
/*
 * Listing: the arena's statistics, and its blocks and free ranges by ID
 * or by offset, a bounded batch per call.
 */

#include <linux/math64.h>
#include <linux/minmax.h>
#include <linux/rbtree.h>
#include <linux/sched.h>
#include <linux/slab.h>

#include "vmm_arena.h"

/*
 * Blocks, extent nodes (in the trees and in the reserve) as their caches
 * size them, usage records as kmalloc() rounds them, and the ID cache's
 * tables.
 */
static u64 vmm_metadata_bytes(struct vmm_arena *arena)
{
	u64 blk = kmem_cache_size(vmm_block_cache);
	u64 ext = kmem_cache_size(vmm_extent_cache);
	u64 usage = kmalloc_size_roundup(sizeof(struct vmm_usage));

	lockdep_assert_held(&arena->lock);
	return arena->nr_blocks * blk +
	       (arena->nr_extents + arena->nr_reserve) * ext +
	       arena->nr_users * usage + vmm_idc_bytes(arena);
}

/**
 * vmm_arena_stats() - one consistent snapshot of the counters
 * @arena: the arena
 * @st: filled in; reserved fields zeroed
 */
void vmm_arena_stats(struct vmm_arena *arena, struct vmm_stats_args *st)
{
	struct rb_node *root;

	memset(st, 0, sizeof(*st));
	vmm_lock(arena);
	root = arena->free.rb_node;
	st->size = arena->size;
	st->used = arena->used;
	st->free = arena->size - arena->used;
	st->largest_free = root ?
		rb_entry(root, struct vmm_extent, node)->subtree_max : 0;
	/* Freed ones still being copied are gone by ID, if not yet by range. */
	st->blocks = arena->nr_blocks - arena->nr_dead;
	st->allocs = arena->allocs;
	st->frees = arena->frees;
	st->alloc_failures = arena->alloc_failures;
	st->defrags = arena->defrags;
	st->bytes_moved = arena->bytes_moved;
	st->metadata_bytes = vmm_metadata_bytes(arena);
	st->policy = arena->policy;
	st->max_lock_hold_ns = arena->max_lock_hold_ns;
	st->mapped_blocks = arena->nr_mapped;
	vmm_unlock(arena);

	if (st->free)
		st->fragmentation = div64_u64(1000 * (st->free - st->largest_free),
					      st->free);
}

/*
 * The node of the block with the lowest ID that is @id or more, or NULL:
 * O(log n).
 */
static struct rb_node *vmm_id_ceil(struct vmm_arena *arena, u64 id)
{
	struct rb_node *n = arena->ids.rb_node, *ceil = NULL;

	lockdep_assert_held(&arena->lock);
	while (n) {
		struct vmm_block *blk = rb_entry(n, struct vmm_block, id_node);

		if (blk->id >= id) {
			ceil = n;
			n = n->rb_left;
		} else {
			n = n->rb_right;
		}
	}
	return ceil;
}

/* Fill @out from @blk, a live block. */
static void vmm_block_info_fill(struct vmm_block_info *out,
				const struct vmm_block *blk)
{
	memset(out, 0, sizeof(*out));
	out->id = blk->id;
	out->offset = blk->start;
	out->size = blk->size;
	/* Kernel id values: the caller maps them after the lock. */
	out->uid = __kuid_val(blk->uid);
	out->gid = __kgid_val(blk->gid);
	out->mode = blk->mode;
	out->attrs = (list_empty(&blk->scope_node) ? 0 : VMM_BLOCK_SCOPED) |
		     (blk->mappable ? VMM_BLOCK_MAPPABLE : 0);
	out->mapped = blk->maps;
}

/**
 * vmm_arena_list() - describe live blocks in increasing ID order
 * @arena: the arena
 * @start_id: the lowest ID to report
 * @out: array of @capacity entries, filled from index 0
 * @capacity: entries @out holds
 * @next_id: set to the next ID to ask for, or 0 when no block is left
 *
 * Looks at %VMM_LIST_HOLD blocks per hold of the lock, however large
 * @capacity, and goes on from the next ID after letting others have it:
 * a block allocated, freed or moved meanwhile may show or not, as between
 * two calls.
 *
 * Return: the number of entries stored; fewer than @capacity, with
 * *@next_id set, when more than @capacity freed blocks (mapped or being
 * copied) were passed over.
 */
u32 vmm_arena_list(struct vmm_arena *arena, u64 start_id,
		   struct vmm_block_info *out, u32 capacity, u64 *next_id)
{
	u32 count = 0, skipped = 0, seen = 0;
	struct vmm_block *blk;
	struct rb_node *n;

	*next_id = 0;
	vmm_lock(arena);
	for (n = vmm_id_ceil(arena, start_id); n; n = rb_next(n)) {
		blk = rb_entry(n, struct vmm_block, id_node);
		if (++seen > VMM_LIST_HOLD) {
			u64 id = blk->id;

			seen = 1;
			vmm_unlock(arena);
			cond_resched();
			vmm_lock(arena);
			n = vmm_id_ceil(arena, id);
			if (!n)
				break;
			blk = rb_entry(n, struct vmm_block, id_node);
		}
		/*
		 * Freed blocks still mapped or copied are skipped, at most
		 * @capacity of them, so that however many there are, one
		 * call looks at O(@capacity) blocks.
		 */
		if (blk->state != VMM_BLOCK_LIVE) {
			if (++skipped > capacity) {
				*next_id = blk->id;
				break;
			}
			continue;
		}
		if (count == capacity) {
			*next_id = blk->id;
			break;
		}
		vmm_block_info_fill(&out[count++], blk);
	}
	vmm_unlock(arena);
	return count;
}

/**
 * vmm_arena_blocks_from() - copy out blocks in increasing offset order
 * @arena: the arena
 * @offset: the lowest start offset to report
 * @out: array of @capacity entries, filled from index 0
 * @capacity: entries @out holds; bounds the work done under the lock
 *
 * Blocks in every state are reported, freed-but-pinned ones included.
 * Callers walking the whole arena ask again from the end of the last block
 * returned; blocks that moved meanwhile may be missed or seen twice.
 *
 * Return: the number of entries stored; fewer than @capacity at the end.
 */
u32 vmm_arena_blocks_from(struct vmm_arena *arena, u64 offset,
			  struct vmm_block_view *out, u32 capacity)
{
	struct vmm_block *blk;
	struct rb_node *n;
	u32 count = 0;

	vmm_lock(arena);
	blk = vmm_block_from(arena, offset);
	for (n = blk ? &blk->addr_node : NULL; n && count < capacity;
	     n = rb_next(n)) {
		blk = rb_entry(n, struct vmm_block, addr_node);
		out[count].id = blk->id;
		out[count].start = blk->start;
		out[count].size = blk->size;
		out[count].uid = blk->uid;
		out[count].gid = blk->gid;
		out[count].mode = blk->mode;
		out[count].pins = blk->pins;
		out[count].maps = blk->maps;
		out[count].mappable = blk->mappable;
		out[count].state = blk->state;
		out[count].moving = vmm_block_moving(arena, blk);
		count++;
	}
	vmm_unlock(arena);
	return count;
}

/**
 * vmm_arena_holes_from() - copy out free extents in increasing offset order
 * @arena: the arena
 * @offset: the lowest start offset to report
 * @out: array of @capacity entries, filled from index 0
 * @capacity: entries @out holds; bounds the work done under the lock
 *
 * The free space a move leaves during defragmentation (the extent a block
 * slides into on its own, or the range above a gather of runs) is in no
 * tree and is not reported.
 *
 * Return: the number of entries stored; fewer than @capacity at the end.
 */
u32 vmm_arena_holes_from(struct vmm_arena *arena, u64 offset,
			 struct vmm_range *out, u32 capacity)
{
	struct vmm_extent *ext;
	struct rb_node *n;
	u32 count = 0;

	vmm_lock(arena);
	if (offset) {
		ext = vmm_extent_above(arena, offset - 1);
		n = ext ? &ext->node : NULL;
	} else {
		n = rb_first(&arena->free);
	}
	for (; n && count < capacity; n = rb_next(n)) {
		ext = rb_entry(n, struct vmm_extent, node);
		out[count].start = ext->start;
		out[count].size = ext->size;
		count++;
	}
	vmm_unlock(arena);
	return count;
}
