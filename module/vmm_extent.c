// SPDX-License-Identifier: GPL-2.0
/*
 * Free space: the block and extent caches, the per-CPU preloaded extent,
 * each arena's reserve of extent nodes, the two extent trees (by offset,
 * augmented with subtree maxima, and by size for best fit), and the
 * placement search over them.
 */

#include <linux/mutex.h>
#include <linux/percpu.h>
#include <linux/rbtree_augmented.h>
#include <linux/slab.h>

#include "vmm_arena.h"

/*
 * Block and extent records come from caches of their own, shared by every
 * arena of the module and made with the first one.  Their objects are the
 * records' exact sizes, where kmalloc() would round up to its next size,
 * and /proc/slabinfo names them.
 */
static struct kmem_cache *vmm_block_cache;

static struct kmem_cache *vmm_extent_cache;

static unsigned int vmm_cache_users;

static DEFINE_MUTEX(vmm_cache_lock);

/*
 * One extent node per CPU, allocated before the lock is taken whenever the
 * slot is empty, as mm/vmalloc.c preloads ne_fit_preload_node: an
 * allocation that finds the arena's reserve short under the lock takes
 * this node instead of dropping the lock to allocate one.
 */
static DEFINE_PER_CPU(struct vmm_extent *, vmm_ext_preload);

static struct vmm_extent *vmm_ext_alloc(void)
{
	return kmem_cache_zalloc(vmm_extent_cache, VMM_GFP_META);
}

static void vmm_ext_free(struct vmm_extent *ext)
{
	if (ext)
		kmem_cache_free(vmm_extent_cache, ext);
}

static int vmm_caches_get(void)
{
	int ret = 0;

	mutex_lock(&vmm_cache_lock);
	if (vmm_cache_users++)
		goto out;
	/*
	 * Named after the module: vmm_kunit.ko and vmm_bench.ko compile this
	 * file too, and two unmergeable caches cannot share a name.
	 */
	vmm_block_cache = kmem_cache_create(KBUILD_MODNAME "_block",
					    sizeof(struct vmm_block), 0,
					    SLAB_ACCOUNT | VMM_SLAB_NO_MERGE,
					    NULL);
	vmm_extent_cache = kmem_cache_create(KBUILD_MODNAME "_extent",
					     sizeof(struct vmm_extent), 0,
					     SLAB_ACCOUNT | VMM_SLAB_NO_MERGE,
					     NULL);
	if (!vmm_block_cache || !vmm_extent_cache) {
		kmem_cache_destroy(vmm_block_cache);
		kmem_cache_destroy(vmm_extent_cache);
		vmm_cache_users = 0;
		ret = -ENOMEM;
	}
out:
	mutex_unlock(&vmm_cache_lock);
	return ret;
}

static void vmm_caches_put(void)
{
	int cpu;

	mutex_lock(&vmm_cache_lock);
	if (!--vmm_cache_users) {
		for_each_possible_cpu(cpu) {
			struct vmm_extent **slot = per_cpu_ptr(&vmm_ext_preload,
							       cpu);

			vmm_ext_free(*slot);
			*slot = NULL;
		}
		kmem_cache_destroy(vmm_block_cache);
		kmem_cache_destroy(vmm_extent_cache);
	}
	mutex_unlock(&vmm_cache_lock);
}

/*
 * Fill this CPU's preload slot if it is empty.  Without the lock.
 * Return: false if that needed an allocation, which failed.
 */
static bool vmm_ext_preload_fill(void)
{
	struct vmm_extent *ext;

	if (this_cpu_read(vmm_ext_preload))
		return true;
	ext = vmm_ext_alloc();
	if (!ext)
		return false;
	/* Another task on this CPU may have filled it meanwhile. */
	if (this_cpu_cmpxchg(vmm_ext_preload, NULL, ext))
		vmm_ext_free(ext);
	return true;
}

/*
 * Slack above the reserve's floor (see &vmm_arena.reserve): nodes an
 * allocation would otherwise need right after a free handed them back.
 * Never more than there are blocks, so an arena whose blocks are all
 * freed holds no node but its one free extent.
 */
#define VMM_RESERVE_SLACK	16

static u64 vmm_reserve_cap(const struct vmm_arena *arena)
{
	return arena->nr_blocks + 1 + min_t(u64, arena->nr_blocks,
					    VMM_RESERVE_SLACK);
}

/* Whether the reserve and the extents hold at least @blocks + 1 nodes. */
static bool vmm_reserve_covers(const struct vmm_arena *arena, u64 blocks)
{
	return arena->nr_reserve + arena->nr_extents >= blocks + 1;
}

/* A node from the reserve, which the caller made sure is not empty. */
static struct vmm_extent *vmm_ext_get(struct vmm_arena *arena)
{
	struct vmm_extent *ext = arena->reserve;

	lockdep_assert_held(&arena->lock);
	arena->reserve = ext->next;
	vmm_count_add(&arena->nr_reserve, -1);
	ext->next = NULL;
	return ext;
}

/*
 * Give back to the cache the reserved nodes above vmm_reserve_cap().  Each
 * change of the counts moves the cap by at most two, so this frees at most
 * three nodes.  kmem_cache_free() does not sleep.
 */
static void vmm_reserve_trim(struct vmm_arena *arena)
{
	lockdep_assert_held(&arena->lock);
	while (arena->nr_reserve &&
	       arena->nr_reserve + arena->nr_extents > vmm_reserve_cap(arena))
		vmm_ext_free(vmm_ext_get(arena));
}

/* A node the trees no longer use: into the reserve, within its cap. */
static void vmm_ext_put(struct vmm_arena *arena, struct vmm_extent *ext)
{
	lockdep_assert_held(&arena->lock);
	ext->next = arena->reserve;
	arena->reserve = ext;
	vmm_count_add(&arena->nr_reserve, 1);
	vmm_reserve_trim(arena);
}

/*
 * Make room in the reserve for one more block, and for the extra extent
 * node an aligned block in the middle of an extent needs (@splits): take
 * nodes from the list *@extra (when not NULL), then this CPU's preloaded
 * node, as often as needed.  Return: false when the
 * slot was empty; the caller then drops the lock, refills it with
 * vmm_ext_preload_fill() and looks again.
 */
static bool vmm_ext_reserve(struct vmm_arena *arena, bool splits,
			    struct vmm_extent **extra)
{
	lockdep_assert_held(&arena->lock);
	while (!vmm_reserve_covers(arena, arena->nr_blocks + 1) ||
	       (splits && !arena->nr_reserve)) {
		struct vmm_extent *ext = extra ? *extra : NULL;

		if (ext)
			*extra = ext->next;
		else
			ext = this_cpu_xchg(vmm_ext_preload, NULL);
		if (!ext)
			return false;
		ext->next = arena->reserve;
		arena->reserve = ext;
		vmm_count_add(&arena->nr_reserve, 1);
	}
	return true;
}

static inline u64 vmm_extent_size(struct vmm_extent *ext)
{
	return ext->size;
}

RB_DECLARE_CALLBACKS_MAX(static, vmm_extent_cb, struct vmm_extent, node,
			 u64, subtree_max, vmm_extent_size);

static void vmm_size_insert(struct vmm_arena *arena, struct vmm_extent *ext)
{
	struct rb_node **link = &arena->by_size.rb_node, *parent = NULL;

	if (arena->policy != VMM_POLICY_BEST)
		return;
	while (*link) {
		struct vmm_extent *cur = rb_entry(*link, struct vmm_extent,
						  size_node);

		parent = *link;
		link = vmm_extent_smaller(ext, cur) ? &parent->rb_left :
						      &parent->rb_right;
	}
	rb_link_node(&ext->size_node, parent, link);
	rb_insert_color(&ext->size_node, &arena->by_size);
}

static void vmm_size_erase(struct vmm_arena *arena, struct vmm_extent *ext)
{
	if (arena->policy == VMM_POLICY_BEST)
		rb_erase(&ext->size_node, &arena->by_size);
}

/*
 * The extent's size (and maybe start, never past a neighbour) changed: fix
 * the subtree maxima up to the root and its place by size.  The caller
 * erased it from &vmm_arena.by_size before the change.
 */
static void vmm_extent_resized(struct vmm_arena *arena, struct vmm_extent *ext)
{
	vmm_extent_cb_propagate(&ext->node, NULL);
	vmm_size_insert(arena, ext);
}

static void vmm_extent_insert(struct vmm_arena *arena, struct vmm_extent *ext)
{
	struct rb_node **link = &arena->free.rb_node, *parent = NULL;

	lockdep_assert_held(&arena->lock);
	while (*link) {
		struct vmm_extent *cur = rb_entry(*link, struct vmm_extent, node);

		parent = *link;
		link = ext->start < cur->start ? &parent->rb_left :
						 &parent->rb_right;
	}
	/* Zero so that the propagation below always climbs to the root. */
	ext->subtree_max = 0;
	rb_link_node(&ext->node, parent, link);
	rb_insert_augmented(&ext->node, &arena->free, &vmm_extent_cb);
	vmm_extent_resized(arena, ext);
	vmm_count_add(&arena->nr_extents, 1);
}

/* Out of both trees; the caller keeps or frees the node. */
static void vmm_extent_unlink(struct vmm_arena *arena, struct vmm_extent *ext)
{
	rb_erase_augmented(&ext->node, &arena->free, &vmm_extent_cb);
	vmm_size_erase(arena, ext);
	vmm_count_add(&arena->nr_extents, -1);
}

static void vmm_extent_erase(struct vmm_arena *arena, struct vmm_extent *ext)
{
	vmm_extent_unlink(arena, ext);
	vmm_ext_put(arena, ext);
}

/* The first extent whose start is above @offset, or NULL. */
static struct vmm_extent *vmm_extent_above(struct vmm_arena *arena,
					   u64 offset)
{
	struct rb_node *n = arena->free.rb_node;
	struct vmm_extent *found = NULL;

	while (n) {
		struct vmm_extent *ext = rb_entry(n, struct vmm_extent, node);

		if (ext->start > offset) {
			found = ext;
			n = n->rb_left;
		} else {
			n = n->rb_right;
		}
	}
	return found;
}

/* The extent that ends exactly at @offset, or NULL. */
static struct vmm_extent *vmm_extent_ending_at(struct vmm_arena *arena,
					       u64 offset)
{
	struct vmm_extent *next = vmm_extent_above(arena, offset - 1);
	struct rb_node *prev;
	struct vmm_extent *ext;

	prev = next ? rb_prev(&next->node) : rb_last(&arena->free);
	if (!prev)
		return NULL;
	ext = rb_entry(prev, struct vmm_extent, node);
	return vmm_extent_end(ext) == offset ? ext : NULL;
}

/*
 * Return [start, start + size) to the free space, merging with the extents
 * on either side.  A node comes from the reserve only when no neighbour
 * can absorb the range; the reserve always has one then, since the range
 * was a block's.  Return: the extent that now starts at @start, whose
 * &vmm_extent.prev_blk the caller sets to the block ending there, or NULL
 * when the range joined the extent below it.
 */
static struct vmm_extent *vmm_extent_give(struct vmm_arena *arena, u64 start,
					  u64 size)
{
	struct vmm_extent *next = vmm_extent_above(arena, start);
	struct vmm_extent *prev = NULL, *ext;
	struct rb_node *p;

	p = next ? rb_prev(&next->node) : rb_last(&arena->free);
	if (p)
		prev = rb_entry(p, struct vmm_extent, node);
	if (prev && vmm_extent_end(prev) != start)
		prev = NULL;
	if (next && next->start != start + size)
		next = NULL;

	if (prev && next) {
		u64 next_size = next->size;

		/*
		 * Erase first: rebalancing copies and recomputes subtree
		 * maxima, so the tree must be consistent while it runs.
		 */
		vmm_extent_erase(arena, next);
		vmm_size_erase(arena, prev);
		prev->size += size + next_size;
		vmm_extent_resized(arena, prev);
		return NULL;
	}
	if (prev) {
		vmm_size_erase(arena, prev);
		prev->size += size;
		vmm_extent_resized(arena, prev);
		return NULL;
	}
	if (next) {
		vmm_size_erase(arena, next);
		next->start = start;
		next->size += size;
		vmm_extent_resized(arena, next);
		return next;
	}
	/* Between two blocks: a new extent. */
	ext = vmm_ext_get(arena);
	ext->start = start;
	ext->size = size;
	vmm_extent_insert(arena, ext);
	return ext;
}

/*
 * Remove [start, start + size), which lies inside @ext, from the free
 * space, for @blk.  Splitting @ext in two takes a node from the reserve,
 * which vmm_ext_reserve() filled.
 */
static void vmm_extent_take(struct vmm_arena *arena, struct vmm_extent *ext,
			    u64 start, u64 size, struct vmm_block *blk)
{
	u64 left = start - ext->start;
	u64 right = vmm_extent_end(ext) - (start + size);

	if (!left && !right) {
		vmm_extent_erase(arena, ext);
	} else if (!left) {
		/* Still between the same neighbours: no reordering needed. */
		vmm_size_erase(arena, ext);
		ext->start += size;
		ext->size = right;
		ext->prev_blk = blk;
		vmm_extent_resized(arena, ext);
	} else {
		vmm_size_erase(arena, ext);
		ext->size = left;
		vmm_extent_resized(arena, ext);
		if (right) {
			struct vmm_extent *tail = vmm_ext_get(arena);

			tail->start = start + size;
			tail->size = right;
			tail->prev_blk = blk;
			vmm_extent_insert(arena, tail);
		}
	}
}

/* Where an @align-aligned block of @size fits in @ext, if it does. */
static bool vmm_extent_fits(const struct vmm_extent *ext, u64 size, u64 align,
			    u64 *start)
{
	u64 s = round_up(ext->start, align);
	u64 pad = s - ext->start;

	if (pad >= ext->size || ext->size - pad < size)
		return false;
	*start = s;
	return true;
}

/*
 * The lowest-offset extent of at least @size bytes: one path down the tree,
 * steered by the subtree maxima, so O(log n).  *@visits counts the nodes
 * looked at.
 */
static struct vmm_extent *vmm_lowest_fit(struct vmm_arena *arena, u64 size,
					 u64 *visits)
{
	struct rb_node *n = arena->free.rb_node;

	if (vmm_subtree_max(n) < size)
		return NULL;
	while (n) {
		struct vmm_extent *ext = rb_entry(n, struct vmm_extent, node);

		(*visits)++;
		if (vmm_subtree_max(n->rb_left) >= size) {
			n = n->rb_left;
			continue;
		}
		if (ext->size >= size)
			return ext;
		n = n->rb_right;
	}
	return NULL;
}

/*
 * The smallest extent of at least @size bytes, the lowest-offset one among
 * equal sizes: one path down the by-size tree, O(log n).
 */
static struct vmm_extent *vmm_smallest_fit(struct vmm_arena *arena, u64 size,
					   u64 *visits)
{
	struct rb_node *n = arena->by_size.rb_node;
	struct vmm_extent *found = NULL;

	while (n) {
		struct vmm_extent *ext = rb_entry(n, struct vmm_extent,
						  size_node);

		(*visits)++;
		if (ext->size >= size) {
			found = ext;
			n = n->rb_left;
		} else {
			n = n->rb_right;
		}
	}
	return found;
}

static struct vmm_extent *vmm_policy_fit(struct vmm_arena *arena, u64 size,
					 u64 *visits)
{
	if (arena->policy == VMM_POLICY_BEST)
		return vmm_smallest_fit(arena, size, visits);
	return vmm_lowest_fit(arena, size, visits);
}

/*
 * Where a request goes.  Without alignment: the policy's extent for @size,
 * exactly as the simulator places it.  With alignment, two lookups and no
 * walk, so that no request, however aligned, costs more than O(log n)
 * under the lock: first the extent an unaligned request of @size would
 * get, if the aligned block fits in it; else the policy's extent among
 * those of at least @size + @align - 1 bytes, which hold the block at any
 * alignment (as mm/vmalloc.c searches for aligned requests).  So an
 * aligned block may land higher than the lowest place it fits, or fail
 * when the only places are extents shorter than @size + @align - 1 that
 * the first lookup did not pick.
 */
static struct vmm_extent *vmm_fit(struct vmm_arena *arena, u64 size,
				  u64 align, u64 *start)
{
	struct vmm_extent *ext;
	u64 visits = 0, padded;

	lockdep_assert_held(&arena->lock);
	ext = vmm_policy_fit(arena, size, &visits);
	if (ext && align > 1 && !vmm_extent_fits(ext, size, align, start)) {
		ext = NULL;
		if (!check_add_overflow(size, align - 1, &padded))
			ext = vmm_policy_fit(arena, padded, &visits);
	}
	if (ext && !vmm_extent_fits(ext, size, align, start))
		ext = NULL;
	arena->fit_visits = visits;
	return ext;
}
