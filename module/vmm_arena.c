// SPDX-License-Identifier: GPL-2.0
/*
 * The vmm arena: first-fit or best-fit placement of variable-size blocks
 * and order-preserving compaction.
 *
 * Free space is a set of maximal extents in an rb-tree ordered by offset,
 * each node augmented with the largest extent size in its subtree (as
 * mm/vmalloc.c does).  The lowest-offset extent that can hold a request is
 * found by descending only into subtrees whose maximum is large enough.
 * Under the best-fit policy the same extents also sit in a tree ordered by
 * (size, offset), as drm_mm keeps its holes; the first extent from the
 * smallest one large enough where the request fits wins.  Every search,
 * aligned or not, is at most two O(log n) lookups (see vmm_fit()).
 * Blocks sit in two rb-trees: by ID for lookups, by offset for compaction.
 *
 * Locking: arena->compact_lock (mutex) -> arena->lock (spinlock).
 * Nothing nests inside arena->lock: arena->move_wq is woken after it is
 * dropped.
 * arena->lock protects all metadata.  Nothing under it sleeps, faults or
 * allocates: metadata nodes are allocated before it is taken and data is
 * copied outside it, with the block pinned so it can neither move nor be
 * released under the copy.
 *
 * Access control: every lookup on behalf of a task checks the block's
 * owner, group and mode under the lock, against credentials the caller
 * computed before taking it (struct vmm_cred).  Each block is charged to
 * its owner's struct vmm_usage until its range is released; records are
 * allocated before the lock, like extent nodes, and freed under it.
 */

#include <linux/bug.h>
#include <linux/cred.h>
#include <linux/err.h>
#include <linux/log2.h>
#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/overflow.h>
#include <linux/printk.h>
#include <linux/rbtree_augmented.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/vmalloc.h>

#include "vmm.h"
#include "vmm_trace.h"

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

/* See vmm.h: whether holds of the arena lock are timed. */
DEFINE_STATIC_KEY_FALSE(vmm_hold_timing);

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
	arena->nr_reserve--;
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
	arena->nr_reserve++;
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
		arena->nr_reserve++;
	}
	return true;
}

static inline u64 vmm_extent_size(struct vmm_extent *ext)
{
	return ext->size;
}

RB_DECLARE_CALLBACKS_MAX(static, vmm_extent_cb, struct vmm_extent, node,
			 u64, subtree_max, vmm_extent_size);

static inline u64 vmm_block_end(const struct vmm_block *blk)
{
	return blk->start + blk->size;
}

static inline u64 vmm_extent_end(const struct vmm_extent *ext)
{
	return ext->start + ext->size;
}

/* (size, start) order, for best fit. */
static bool vmm_extent_smaller(const struct vmm_extent *a,
			       const struct vmm_extent *b)
{
	return a->size < b->size || (a->size == b->size && a->start < b->start);
}

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
	arena->nr_extents++;
}

/* Out of both trees; the caller keeps or frees the node. */
static void vmm_extent_unlink(struct vmm_arena *arena, struct vmm_extent *ext)
{
	rb_erase_augmented(&ext->node, &arena->free, &vmm_extent_cb);
	vmm_size_erase(arena, ext);
	arena->nr_extents--;
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
 * was a block's.
 */
static void vmm_extent_give(struct vmm_arena *arena, u64 start, u64 size)
{
	struct vmm_extent *next = vmm_extent_above(arena, start);
	struct vmm_extent *prev = NULL;
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
	} else if (prev) {
		vmm_size_erase(arena, prev);
		prev->size += size;
		vmm_extent_resized(arena, prev);
	} else if (next) {
		vmm_size_erase(arena, next);
		next->start = start;
		next->size += size;
		vmm_extent_resized(arena, next);
	} else {
		struct vmm_extent *ext = vmm_ext_get(arena);

		ext->start = start;
		ext->size = size;
		vmm_extent_insert(arena, ext);
	}
}

/*
 * Remove [start, start + size), which lies inside @ext, from the free
 * space.  Splitting @ext in two takes a node from the reserve, which
 * vmm_ext_reserve() filled.
 */
static void vmm_extent_take(struct vmm_arena *arena, struct vmm_extent *ext,
			    u64 start, u64 size)
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
		vmm_extent_resized(arena, ext);
	} else {
		vmm_size_erase(arena, ext);
		ext->size = left;
		vmm_extent_resized(arena, ext);
		if (right) {
			struct vmm_extent *tail = vmm_ext_get(arena);

			tail->start = start + size;
			tail->size = right;
			vmm_extent_insert(arena, tail);
		}
	}
}

/* Whether taking [start, start + size) from @ext leaves space on both sides. */
static bool vmm_take_splits(const struct vmm_extent *ext, u64 start, u64 size)
{
	return start > ext->start && start + size < vmm_extent_end(ext);
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

static u64 vmm_subtree_max(struct rb_node *n)
{
	return n ? rb_entry(n, struct vmm_extent, node)->subtree_max : 0;
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

static void vmm_block_insert(struct vmm_arena *arena, struct vmm_block *blk)
{
	struct rb_node **link, *parent;

	/*
	 * IDs only grow, so the new block is the rightmost by ID: the right
	 * child of the last one, which has none.
	 */
	parent = arena->ids_last;
	rb_link_node(&blk->id_node, parent,
		     parent ? &parent->rb_right : &arena->ids.rb_node);
	rb_insert_color(&blk->id_node, &arena->ids);
	arena->ids_last = &blk->id_node;

	link = &arena->addrs.rb_node;
	parent = NULL;
	while (*link) {
		struct vmm_block *cur;

		parent = *link;
		cur = rb_entry(parent, struct vmm_block, addr_node);
		link = blk->start < cur->start ? &parent->rb_left :
						 &parent->rb_right;
	}
	rb_link_node(&blk->addr_node, parent, link);
	rb_insert_color(&blk->addr_node, &arena->addrs);
}

/*
 * The self-check: a linear walk that recomputes what the trees encode.
 * Blocks and free extents (plus the one the compactor holds) must tile the
 * arena exactly, free extents must be maximal and carry correct subtree
 * maxima, the by-size tree must hold every extent in order, and the
 * counters must agree.  O(n) under the lock: a debugging aid only.
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
	return vmm_check_reserve(arena);
}

static bool vmm_check_locked(struct vmm_arena *arena)
{
	struct rb_node *b = rb_first(&arena->addrs), *e = rb_first(&arena->free);
	struct vmm_extent *moving = arena->moving_ext;
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
	return vmm_check_by_size(arena, extents - hidden) &&
	       vmm_check_ids(arena) && vmm_check_users(arena);
}

static void vmm_self_check(struct vmm_arena *arena)
{
	if (unlikely(READ_ONCE(arena->self_check)))
		WARN_ONCE(!vmm_check_locked(arena),
			  "vmm: the arena's index is inconsistent\n");
}

/**
 * vmm_arena_check() - compare the index against a linear walk
 * @arena: the arena
 *
 * What the self_check parameter runs after every change, on demand.
 *
 * Return: true if consistent; otherwise false, with the first problem
 * logged.
 */
bool vmm_arena_check(struct vmm_arena *arena)
{
	bool ok;

	vmm_lock(arena);
	ok = vmm_check_locked(arena);
	vmm_unlock(arena);
	return ok;
}

/*
 * Blocks, extent nodes (in the trees and in the reserve) as their caches
 * size them, and usage records as kmalloc() rounds them.
 */
static u64 vmm_metadata_bytes(struct vmm_arena *arena)
{
	u64 blk = kmem_cache_size(vmm_block_cache);
	u64 ext = kmem_cache_size(vmm_extent_cache);
	u64 usage = kmalloc_size_roundup(sizeof(struct vmm_usage));

	lockdep_assert_held(&arena->lock);
	return arena->nr_blocks * blk +
	       (arena->nr_extents + arena->nr_reserve) * ext +
	       arena->nr_users * usage;
}

/* The record of @uid in @root, or NULL. */
static struct vmm_usage *vmm_usage_find(struct rb_root *root, kuid_t uid)
{
	struct rb_node *n = root->rb_node;

	while (n) {
		struct vmm_usage *u = rb_entry(n, struct vmm_usage, node);

		if (uid_lt(uid, u->uid))
			n = n->rb_left;
		else if (uid_gt(uid, u->uid))
			n = n->rb_right;
		else
			return u;
	}
	return NULL;
}

/* Link the zeroed record @u for @uid, which @root lacks, below @parent. */
static struct vmm_usage *vmm_usage_insert(struct vmm_arena *arena,
					  struct rb_root *root,
					  struct vmm_usage *parent,
					  struct vmm_usage *u, kuid_t uid)
{
	struct rb_node **link = &root->rb_node, *prev = NULL;

	lockdep_assert_held(&arena->lock);
	while (*link) {
		struct vmm_usage *cur = rb_entry(*link, struct vmm_usage, node);

		prev = *link;
		link = uid_lt(uid, cur->uid) ? &prev->rb_left : &prev->rb_right;
	}
	u->uid = uid;
	u->parent = parent;
	u->children = RB_ROOT;
	rb_link_node(&u->node, prev, link);
	rb_insert_color(&u->node, root);
	arena->nr_users++;
	return u;
}

/*
 * Whom a block is charged to: @cred's chain of ids, or root for the
 * kernel.  *@n is set to the chain's length.
 */
static const kuid_t *vmm_charge_chain(const struct vmm_cred *cred,
				      unsigned int *n)
{
	static const kuid_t root = GLOBAL_ROOT_UID;

	if (!cred || !cred->nr_charge) {
		*n = 1;
		return &root;
	}
	*n = cred->nr_charge;
	return cred->charge;
}

/*
 * Whether one more block of @size bytes keeps @u (NULL: a record not yet
 * made, which holds nothing) within @max_blocks and the bytes quota.
 */
static bool vmm_quota_allows(struct vmm_arena *arena, struct vmm_usage *u,
			     u64 size, u64 max_blocks)
{
	u64 max_bytes = READ_ONCE(arena->max_bytes_per_uid);
	u64 blocks = u ? u->blocks : 0, bytes = u ? u->bytes : 0;

	if (max_blocks && blocks >= max_blocks)
		return false;
	if (max_bytes && (bytes > max_bytes || size > max_bytes - bytes))
		return false;
	return true;
}

/* The block limit for a caller: the per-uid one, or the unprivileged one. */
static u64 vmm_block_limit(struct vmm_arena *arena,
			   const struct vmm_cred *cred)
{
	u64 max = READ_ONCE(arena->max_blocks_per_uid);
	u64 unpriv = READ_ONCE(arena->max_blocks_unprivileged);

	if (cred && !cred->privileged && unpriv && (!max || unpriv < max))
		return unpriv;
	return max;
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
 */
struct vmm_charge {
	const kuid_t *chain;
	unsigned int n;
	struct vmm_usage *found[VMM_CHARGE_LEVELS];
	unsigned int missing;
	struct vmm_usage *spares;
	unsigned int nr_spares;
};

/*
 * Look the chain up and check every level's quota.  O(levels * log n)
 * under the lock.  Return: 0, or -EDQUOT if any level would exceed one.
 */
static int vmm_charge_check(struct vmm_arena *arena, struct vmm_charge *ch,
			    u64 size, u64 max_blocks)
{
	struct rb_root *root = &arena->users;
	struct vmm_usage *u = NULL;
	unsigned int i;

	lockdep_assert_held(&arena->lock);
	ch->missing = 0;
	for (i = 0; i < ch->n; i++) {
		/*
		 * Root's record, at the top of every namespace root created,
		 * is bound by the per-uid quota only: the unprivileged limit
		 * of one container's user must not lock out the others.
		 */
		u64 limit = uid_eq(ch->chain[i], GLOBAL_ROOT_UID) ?
			    READ_ONCE(arena->max_blocks_per_uid) : max_blocks;

		u = root ? vmm_usage_find(root, ch->chain[i]) : NULL;
		ch->found[i] = u;
		if (!u)
			ch->missing++;
		if (!vmm_quota_allows(arena, u, size, limit))
			return -EDQUOT;
		root = u ? &u->children : NULL;
	}
	return 0;
}

/* Allocate, without the lock, the records vmm_charge_check() found missing. */
static int vmm_charge_prealloc(struct vmm_charge *ch)
{
	while (ch->nr_spares < ch->missing) {
		struct vmm_usage *u;

		u = kzalloc_obj(*u, VMM_GFP_META);
		if (!u)
			return -ENOMEM;
		u->parent = ch->spares;
		ch->spares = u;
		ch->nr_spares++;
	}
	return 0;
}

static struct vmm_usage *vmm_charge_spare(struct vmm_charge *ch)
{
	struct vmm_usage *u = ch->spares;

	ch->spares = u->parent;
	ch->nr_spares--;
	return u;
}

static void vmm_charge_release(struct vmm_charge *ch)
{
	while (ch->nr_spares)
		kfree(vmm_charge_spare(ch));
}

/*
 * Charge @blk along the chain that vmm_charge_check() just looked up,
 * making the missing records from the spares.
 */
static void vmm_charge_commit(struct vmm_arena *arena, struct vmm_charge *ch,
			      struct vmm_block *blk)
{
	struct vmm_usage *parent = NULL, *u = NULL;
	unsigned int i;

	for (i = 0; i < ch->n; i++) {
		u = ch->found[i];
		if (!u)
			u = vmm_usage_insert(arena, parent ? &parent->children :
						    &arena->users, parent,
					     vmm_charge_spare(ch),
					     ch->chain[i]);
		u->blocks++;
		u->bytes += blk->size;
		parent = u;
	}
	u->own_blocks++;
	blk->usage = u;
}

/*
 * Uncharge @blk from its record and every one above it; a record goes with
 * its last block (by then its children have gone too).
 */
static void vmm_usage_uncharge(struct vmm_arena *arena, struct vmm_usage *u,
			       u64 size)
{
	struct vmm_usage *parent;

	u->own_blocks--;
	for (; u; u = parent) {
		parent = u->parent;
		u->bytes -= size;
		if (--u->blocks)
			continue;
		rb_erase(&u->node, parent ? &parent->children : &arena->users);
		arena->nr_users--;
		kfree(u);
	}
}

/*
 * Whether @cred may access @blk with any of the bits in @may, chosen as
 * for files: the owner bits if the caller owns the block, else the group
 * bits if the caller is in its group, else the other bits.  The group is
 * the effective gid's or a supplementary one's, as the uapi header says,
 * not the fsgid's: in_egroup_p(), which only searches the caller's own
 * group list, so it is safe under the lock.
 */
static bool vmm_may(const struct vmm_block *blk, const struct vmm_cred *cred,
		    int may)
{
	umode_t mode = blk->mode;

	if (!cred || !may || cred->admin)
		return true;
	if (uid_eq(cred->uid, blk->uid))
		mode >>= 6;
	else if (in_egroup_p(blk->gid))
		mode >>= 3;
	return mode & may;
}

/* Which of %VMM_MAY_READ and %VMM_MAY_WRITE @cred has on @blk. */
static int vmm_rights(const struct vmm_block *blk, const struct vmm_cred *cred)
{
	return (vmm_may(blk, cred, VMM_MAY_READ) ? VMM_MAY_READ : 0) |
	       (vmm_may(blk, cred, VMM_MAY_WRITE) ? VMM_MAY_WRITE : 0);
}

/* Whether @cred owns @blk, or is the kernel or CAP_SYS_ADMIN. */
static bool vmm_owns(const struct vmm_block *blk, const struct vmm_cred *cred)
{
	return !cred || cred->admin || uid_eq(cred->uid, blk->uid);
}

/*
 * Drop the block from both trees and give its range back, using a node
 * of the reserve if the range merges with no neighbour.  Frees @blk
 * (kmem_cache_free() does not sleep).
 */
static void vmm_block_release(struct vmm_arena *arena, struct vmm_block *blk)
{
	lockdep_assert_held(&arena->lock);
	if (arena->ids_last == &blk->id_node)
		arena->ids_last = rb_prev(&blk->id_node);
	rb_erase(&blk->id_node, &arena->ids);
	rb_erase(&blk->addr_node, &arena->addrs);
	arena->used -= blk->size;
	arena->nr_blocks--;
	if (blk->state == VMM_BLOCK_DEAD)
		arena->nr_dead--;
	if (blk->mappable) {
		arena->nr_mappable--;
		/* No mapping is left in its range: ida_free() does not sleep. */
		ida_free(&arena->map_ida, blk->map_slot);
	}
	list_del_init(&blk->scope_node);
	vmm_usage_uncharge(arena, blk->usage, blk->size);
	blk->usage = NULL;
	vmm_extent_give(arena, blk->start, blk->size);
	vmm_reserve_trim(arena);
	kmem_cache_free(vmm_block_cache, blk);
	vmm_self_check(arena);
}

/* The block with @id, if it exists in any state. */
static struct vmm_block *vmm_block_find(struct vmm_arena *arena, u64 id)
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

static struct vmm_block *vmm_block_lookup(struct vmm_arena *arena, u64 id)
{
	struct vmm_block *blk = vmm_block_find(arena, id);

	return blk && blk->state == VMM_BLOCK_LIVE ? blk : NULL;
}

/* The lowest-offset block starting at or after @offset. */
static struct vmm_block *vmm_block_from(struct vmm_arena *arena, u64 offset)
{
	struct rb_node *n = arena->addrs.rb_node;
	struct vmm_block *found = NULL;

	while (n) {
		struct vmm_block *blk = rb_entry(n, struct vmm_block, addr_node);

		if (blk->start >= offset) {
			found = blk;
			n = n->rb_left;
		} else {
			n = n->rb_right;
		}
	}
	return found;
}

/* Whether anything still holds @blk's range: a copy, a mapping or a move. */
static bool vmm_block_held(const struct vmm_block *blk)
{
	return blk->pins || blk->maps || blk->moving;
}

static void vmm_pin_locked(struct vmm_arena *arena, struct vmm_block *blk)
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
static void vmm_unpin_locked(struct vmm_arena *arena, struct vmm_block *blk)
{
	lockdep_assert_held(&arena->lock);
	if (--blk->pins)
		return;
	arena->nr_pinned--;
	if (blk->state == VMM_BLOCK_DEAD && !vmm_block_held(blk))
		vmm_block_release(arena, blk);
}

/* Zero @len bytes outside the lock, yielding between chunks. */
static void vmm_clear(u8 *p, u64 len)
{
	while (len) {
		size_t n = min_t(u64, len, VMM_CHUNK);

		memset(p, 0, n);
		p += n;
		len -= n;
		cond_resched();
	}
}

/**
 * vmm_arena_init() - allocate a zeroed arena of @size bytes
 * @arena: the arena to set up
 * @size: bytes, at least 1
 * @policy: where new blocks go
 *
 * Return: 0, -EINVAL for a size of 0 or an unknown policy, or -ENOMEM.
 */
int vmm_arena_init(struct vmm_arena *arena, u64 size, enum vmm_policy policy)
{
	struct vmm_extent *ext;
	int ret;

	if (!size || (policy != VMM_POLICY_FIRST && policy != VMM_POLICY_BEST))
		return -EINVAL;
	/*
	 * The caches first: a load that fails for lack of memory then counts
	 * their creation among what comes before the arena (see
	 * vmm_fault_test's load sweep).
	 */
	ret = vmm_caches_get();
	if (ret)
		return ret;
	if (size > (u64)totalram_pages() << PAGE_SHIFT)
		goto err_caches;

	memset(arena, 0, sizeof(*arena));
	spin_lock_init(&arena->lock);
	mutex_init(&arena->compact_lock);
	init_waitqueue_head(&arena->move_wq);
	arena->ids = RB_ROOT;
	arena->addrs = RB_ROOT;
	arena->free = RB_ROOT;
	arena->by_size = RB_ROOT;
	arena->users = RB_ROOT;
	ida_init(&arena->map_ida);
	arena->policy = policy;
	arena->size = size;
	arena->next_id = 1;

	ext = kmem_cache_zalloc(vmm_extent_cache, GFP_KERNEL);
	if (!ext)
		goto err_caches;
	/* No OOM kill for an arena the machine cannot back: just fail. */
	arena->base = __vmalloc(size, GFP_KERNEL | __GFP_ZERO | __GFP_NOWARN |
				__GFP_RETRY_MAYFAIL);
	if (!arena->base)
		goto err_ext;
	ext->start = 0;
	ext->size = size;
	vmm_lock(arena);
	vmm_extent_insert(arena, ext);
	vmm_unlock(arena);
	return 0;

err_ext:
	vmm_ext_free(ext);
err_caches:
	vmm_caches_put();
	return -ENOMEM;
}

/**
 * vmm_arena_destroy() - free the arena and every block in it
 * @arena: an arena no file can reach any more
 */
void vmm_arena_destroy(struct vmm_arena *arena)
{
	struct vmm_block *blk, *nb;
	struct vmm_extent *ext, *ne;

	rbtree_postorder_for_each_entry_safe(blk, nb, &arena->ids, id_node) {
		/* Frees each usage record, at every level, with its last block. */
		vmm_usage_uncharge(arena, blk->usage, blk->size);
		kmem_cache_free(vmm_block_cache, blk);
	}
	rbtree_postorder_for_each_entry_safe(ext, ne, &arena->free, node)
		vmm_ext_free(ext);
	while ((ext = arena->reserve)) {
		arena->reserve = ext->next;
		vmm_ext_free(ext);
	}
	arena->nr_reserve = 0;
	WARN_ON(!RB_EMPTY_ROOT(&arena->users));
	ida_destroy(&arena->map_ida);
	arena->ids = RB_ROOT;
	arena->ids_last = NULL;
	arena->addrs = RB_ROOT;
	arena->free = RB_ROOT;
	arena->by_size = RB_ROOT;
	vfree(arena->base);
	arena->base = NULL;
	vmm_caches_put();
}

/*
 * Blocks up to this size are zeroed under the lock, which costs less than
 * a second lock round trip; larger ones are zeroed without it, in pieces,
 * while pinned and invisible.
 */
#define VMM_ZERO_LOCKED	256

/*
 * Check an allocation's size and alignment, and round them up for a
 * mappable block.  Return: 0 or -EINVAL.
 */
static int vmm_alloc_fits_arena(struct vmm_arena *arena, bool mappable,
				u64 *size, u64 *align)
{
	if (!*size || *size > arena->size)
		return -EINVAL;
	if (*align <= 1)
		*align = 1;
	else if (!is_power_of_2(*align) || *align > arena->size)
		return -EINVAL;
	if (mappable) {
		/* Whole pages, so that a mapping exposes no neighbour. */
		*size = round_up(*size, PAGE_SIZE);
		*align = max_t(u64, *align, PAGE_SIZE);
		if (*size > arena->size || *align > arena->size)
			return -EINVAL;
	}
	return 0;
}

/*
 * The part of an allocation under the lock: check the owner's quotas,
 * find the block's place, take it and link @blk, state still to be set,
 * into the trees.  O(levels * log n).  Return: 0, -EDQUOT, -ENOSPC, or
 * -EAGAIN, changing nothing, when something must first be allocated
 * without the lock: the usage records @ch misses, or an extent node (from
 * *@extra, else this CPU's preload; see vmm_ext_reserve()).
 */
static int vmm_place_locked(struct vmm_arena *arena, struct vmm_block *blk,
			    u64 size, u64 align,
			    const struct vmm_alloc_req *req,
			    struct vmm_charge *ch, u64 max_blocks,
			    struct vmm_extent **extra)
{
	const struct vmm_cred *cred = req ? req->cred : NULL;
	struct vmm_extent *ext;
	u64 start;
	int ret;

	lockdep_assert_held(&arena->lock);
	ret = vmm_charge_check(arena, ch, size, max_blocks);
	if (ret)
		return ret;
	if (ch->missing > ch->nr_spares)
		return -EAGAIN;
	ext = vmm_fit(arena, size, align, &start);
	if (!ext)
		return -ENOSPC;
	if (!vmm_ext_reserve(arena, vmm_take_splits(ext, start, size), extra))
		return -EAGAIN;
	/* Counted first: the reserve's cap, in the take, allows for it. */
	arena->nr_blocks++;
	vmm_extent_take(arena, ext, start, size);
	blk->id = arena->next_id++;
	blk->start = start;
	blk->size = size;
	blk->uid = cred ? cred->uid : GLOBAL_ROOT_UID;
	blk->gid = cred ? cred->gid : GLOBAL_ROOT_GID;
	blk->mode = req ? req->mode : VMM_MODE_DEFAULT;
	if (blk->mappable)
		arena->nr_mappable++;
	vmm_charge_commit(arena, ch, blk);
	INIT_LIST_HEAD(&blk->scope_node);
	if (req && req->scope)
		list_add_tail(&blk->scope_node, req->scope);
	vmm_block_insert(arena, blk);
	arena->used += size;
	arena->allocs++;
	return 0;
}

/*
 * Place a block and, with @zero, clear its bytes before it becomes visible.
 * Without @zero (for the benchmark, which times placement and metadata
 * only) the block is live at once and keeps the arena's old bytes.
 */
static int __vmm_arena_alloc(struct vmm_arena *arena, u64 size, u64 align,
			     bool zero, const struct vmm_alloc_req *req,
			     u64 *id, u64 *start)
{
	const struct vmm_cred *cred = req ? req->cred : NULL;
	u64 max_blocks = vmm_block_limit(arena, cred);
	struct vmm_charge ch = { .nr_spares = 0 };
	struct vmm_block *blk;
	int ret;

	ret = vmm_alloc_fits_arena(arena, req && req->mappable, &size, &align);
	if (ret)
		return ret;
	blk = kmem_cache_zalloc(vmm_block_cache, VMM_GFP_META);
	if (!blk)
		return -ENOMEM;
	if (req && req->mappable) {
		/* Its mappings' range of offsets; -ENOSPC when none is left. */
		ret = ida_alloc_max(&arena->map_ida, vmm_map_slots(arena) - 1,
				    VMM_GFP_META);
		if (ret < 0)
			goto err_free;
		blk->map_slot = ret;
		blk->mappable = true;
	}
	ch.chain = vmm_charge_chain(cred, &ch.n);

retry:
	/* The extent node the reserve may need for this block. */
	vmm_ext_preload_fill();
	vmm_lock(arena);
	ret = vmm_place_locked(arena, blk, size, align, req, &ch, max_blocks,
			       NULL);
	if (ret == -EAGAIN) {
		/*
		 * The owner's first block (at some level of its chain) needs
		 * usage records, or the reserve a node and this CPU's preload
		 * was used up (by another task, or on another CPU before this
		 * task moved): allocated without the lock, and the search
		 * starts over.
		 */
		vmm_unlock(arena);
		if (ch.missing > ch.nr_spares)
			ret = vmm_charge_prealloc(&ch);
		else
			ret = vmm_ext_preload_fill() ? 0 : -ENOMEM;
		if (ret)
			goto err_free;
		goto retry;
	}
	if (ret) {
		vmm_unlock(arena);
		goto err_free;
	}
	*id = blk->id;
	*start = blk->start;
	if (!zero || size <= VMM_ZERO_LOCKED) {
		/* Small: cleared at once, one lock hold in all. */
		if (zero)
			memset(arena->base + blk->start, 0, size);
		blk->state = VMM_BLOCK_LIVE;
		vmm_self_check(arena);
		vmm_unlock(arena);
		vmm_charge_release(&ch);
		return 0;
	}
	/* Pinned and invisible until zeroed, so nobody sees old bytes. */
	blk->state = VMM_BLOCK_NEW;
	vmm_pin_locked(arena, blk);
	vmm_self_check(arena);
	vmm_unlock(arena);
	vmm_charge_release(&ch);

	vmm_clear(arena->base + blk->start, size);

	vmm_lock(arena);
	blk->state = VMM_BLOCK_LIVE;
	vmm_unpin_locked(arena, blk);
	vmm_unlock(arena);
	return 0;

err_free:
	if (blk->mappable)
		ida_free(&arena->map_ida, blk->map_slot);
	kmem_cache_free(vmm_block_cache, blk);
	vmm_charge_release(&ch);
	return ret;
}

/* Whether @size bytes at @align would fit after the blocks once packed. */
static bool vmm_fits_when_packed(struct vmm_arena *arena, u64 size, u64 align)
{
	u64 end;
	bool fits;

	vmm_lock(arena);
	end = round_up(arena->used, max(align, 1ULL));
	fits = end >= arena->used && end <= arena->size &&
	       arena->size - end >= size;
	vmm_unlock(arena);
	return fits;
}

/**
 * vmm_arena_alloc_owned() - allocate a zeroed block for a caller
 * @arena: the arena
 * @size: bytes, 1 to the arena size
 * @align: 0 or 1 for none, else a power of two up to the arena size
 * @compact: when no free range fits but enough bytes are free, defragment
 *	and try once more (also done when &vmm_arena.auto_compact is set)
 * @req: the owner, mode and scope of the block; NULL for a root-owned
 *	block of mode 0600 that lives until freed
 * @id: the new block's ID
 * @start: its offset
 *
 * The block is charged to its owner, who must stay within the per-uid
 * quotas of &vmm_arena.
 *
 * Return: 0, -EINVAL for a bad size or alignment, -EDQUOT when the owner
 * would exceed a quota, -ENOSPC when no free range fits, -ENOMEM when
 * metadata cannot be allocated (or the caller's memory cgroup is full),
 * -ERESTARTSYS when a signal came while waiting for another
 * defragmentation to finish.  The defragmentation never waits for copies
 * in flight.
 */
int vmm_arena_alloc_owned(struct vmm_arena *arena, u64 size, u64 align,
			  bool compact, const struct vmm_alloc_req *req,
			  u64 *id, u64 *start)
{
	u64 t0 = vmm_trace_start(trace_vmm_alloc_enabled());
	u64 bytes = 0, blocks = 0, bsize = size, balign = align;
	bool done;
	int ret;

	/* What a mappable block takes (a bad size fails before it counts). */
	if (req && req->mappable && size <= arena->size) {
		bsize = round_up(size, PAGE_SIZE);
		balign = max_t(u64, align, PAGE_SIZE);
	}
	ret = __vmm_arena_alloc(arena, size, align, true, req, id, start);
	if (ret == -ENOSPC && (compact || READ_ONCE(arena->auto_compact)) &&
	    vmm_fits_when_packed(arena, bsize, balign)) {
		/* No more than the caller could move with VMM_IOC_DEFRAG. */
		const struct vmm_cred *cred = req ? req->cred : NULL;
		u64 budget = cred && !cred->privileged ?
			     VMM_DEFRAG_USER_BUDGET : 0;

		ret = vmm_arena_defrag(arena, cred, budget, false, &bytes,
				       &blocks, &done);
		if (!ret)
			ret = __vmm_arena_alloc(arena, size, align, true, req,
						id, start);
	}
	if (ret == -ENOSPC) {
		vmm_lock(arena);
		arena->alloc_failures++;
		vmm_unlock(arena);
	}
	/* Outside the lock, so tracing never lengthens a hold of it. */
	if (ret)
		trace_vmm_alloc_fail(size, align, -ret);
	else
		trace_vmm_alloc(*id, *start, bsize, align, vmm_trace_since(t0));
	return ret;
}

/**
 * vmm_arena_alloc_compact() - allocate a zeroed block, compacting if needed
 * @arena: the arena
 * @size: bytes, 1 to the arena size
 * @align: 0 or 1 for none, else a power of two up to the arena size
 * @compact: as for vmm_arena_alloc_owned()
 * @id: the new block's ID
 * @start: its offset
 *
 * The block belongs to root, with mode 0600, and lives until freed.
 *
 * Return: as vmm_arena_alloc_owned().
 */
int vmm_arena_alloc_compact(struct vmm_arena *arena, u64 size, u64 align,
			    bool compact, u64 *id, u64 *start)
{
	return vmm_arena_alloc_owned(arena, size, align, compact, NULL, id,
				     start);
}

/**
 * vmm_arena_alloc() - allocate a zeroed block where the policy says
 * @arena: the arena
 * @size: bytes, 1 to the arena size
 * @align: 0 or 1 for none, else a power of two up to the arena size
 * @id: the new block's ID
 * @start: its offset
 *
 * Compacts first only if &vmm_arena.auto_compact is set.
 *
 * Return: as vmm_arena_alloc_compact().
 */
int vmm_arena_alloc(struct vmm_arena *arena, u64 size, u64 align,
		    u64 *id, u64 *start)
{
	return vmm_arena_alloc_compact(arena, size, align, false, id, start);
}

/*
 * Free a live block: it leaves its file's scope and the ID lookups at
 * once; with copies in flight, its range is released when the last one
 * finishes, and with mappings, when the last one goes (as System V shared
 * memory after IPC_RMID).
 */
static void vmm_block_kill(struct vmm_arena *arena, struct vmm_block *blk)
{
	lockdep_assert_held(&arena->lock);
	list_del_init(&blk->scope_node);
	arena->frees++;
	if (vmm_block_held(blk)) {
		blk->state = VMM_BLOCK_DEAD;
		arena->nr_dead++;
	} else {
		vmm_block_release(arena, blk);
	}
	vmm_self_check(arena);
}

/* The part of a free under the lock; the block's place, for tracing. */
static int vmm_free_locked(struct vmm_arena *arena, u64 id,
			   const struct vmm_cred *cred, u64 *start, u64 *size)
{
	struct vmm_block *blk = vmm_block_lookup(arena, id);

	if (!blk)
		return -ENOENT;
	if (!vmm_owns(blk, cred))
		return -EACCES;
	*start = blk->start;
	*size = blk->size;
	vmm_block_kill(arena, blk);
	return 0;
}

/**
 * vmm_arena_free_perm() - free a block on behalf of a caller
 * @arena: the arena
 * @id: the block
 * @cred: the caller, who must own the block or be CAP_SYS_ADMIN; NULL
 *	for the kernel
 *
 * A block with copies in flight disappears from lookups at once; its range
 * is released when the last copy finishes.  Never allocates, so it cannot
 * fail for lack of memory.
 *
 * Return: 0, -ENOENT for an unknown ID, -EACCES for a block of another
 * owner.
 */
int vmm_arena_free_perm(struct vmm_arena *arena, u64 id,
			const struct vmm_cred *cred)
{
	u64 start = 0, size = 0;
	int ret;

	vmm_lock(arena);
	ret = vmm_free_locked(arena, id, cred, &start, &size);
	vmm_unlock(arena);
	/* Outside the lock, so tracing never lengthens a hold of it. */
	if (!ret)
		trace_vmm_free(id, start, size);
	return ret;
}

/**
 * vmm_arena_free() - free a block
 * @arena: the arena
 * @id: the block
 *
 * Return: as vmm_arena_free_perm() for the kernel: 0 or -ENOENT.
 */
int vmm_arena_free(struct vmm_arena *arena, u64 id)
{
	return vmm_arena_free_perm(arena, id, NULL);
}

/**
 * vmm_arena_free_scope() - free the scoped blocks of a released file
 * @arena: the arena
 * @scope: the file's list of blocks allocated with %VMM_ALLOC_SCOPED
 *
 * One block per hold of the lock, so that a file holding many blocks
 * never keeps the lock, or the CPU, for long.  May sleep.
 */
void vmm_arena_free_scope(struct vmm_arena *arena, struct list_head *scope)
{
	struct vmm_block *blk;
	u64 id, start, size;

	for (;;) {
		vmm_lock(arena);
		blk = list_first_entry_or_null(scope, struct vmm_block,
					       scope_node);
		if (blk) {
			id = blk->id;
			start = blk->start;
			size = blk->size;
			vmm_block_kill(arena, blk);
		}
		vmm_unlock(arena);
		if (!blk)
			break;
		trace_vmm_free(id, start, size);
		cond_resched();
	}
}

/* The part of vmm_arena_attrs() under the lock. */
static int vmm_attrs_locked(struct vmm_arena *arena, u64 id,
			    const struct vmm_cred *cred, int may,
			    struct vmm_block_attrs *out)
{
	struct vmm_block *blk = vmm_block_lookup(arena, id);

	if (!blk)
		return -ENOENT;
	if (!vmm_may(blk, cred, may))
		return -EACCES;
	out->start = blk->start;
	out->size = blk->size;
	out->uid = blk->uid;
	out->gid = blk->gid;
	out->mode = blk->mode;
	out->scoped = !list_empty(&blk->scope_node);
	out->mappable = blk->mappable;
	out->maps = blk->maps;
	return 0;
}

/**
 * vmm_arena_attrs() - describe a block to a caller
 * @arena: the arena
 * @id: the block
 * @cred: the caller, or NULL for the kernel
 * @may: the caller needs any of these %VMM_MAY_READ, %VMM_MAY_WRITE bits;
 *	0 for no check
 * @out: filled in
 *
 * Return: 0, -ENOENT, or -EACCES.
 */
int vmm_arena_attrs(struct vmm_arena *arena, u64 id,
		    const struct vmm_cred *cred, int may,
		    struct vmm_block_attrs *out)
{
	int ret;

	vmm_lock(arena);
	ret = vmm_attrs_locked(arena, id, cred, may, out);
	vmm_unlock(arena);
	return ret;
}

/*
 * Entries of a batch that share one hold of the lock: each is O(log n)
 * under it, so a hold stays as short as a handful of single calls'.
 */
#define VMM_META_HOLD	16

/* Whether vmm_arena_meta_run() can do @op within its holds of the lock. */
static bool vmm_meta_shared(const struct vmm_meta_op *op)
{
	/*
	 * A compacting, mappable (its IDA slot is allocated first) or large
	 * (zeroed without the lock) allocation runs alone.
	 */
	return op->op != VMM_BATCH_ALLOC ||
	       (!op->compact && !op->req.mappable && op->size &&
		op->size <= VMM_ZERO_LOCKED);
}

/*
 * The extent nodes @allocs more blocks (the most a chunk's entries have
 * allocated and not yet freed at any point) will need beyond what the
 * arena holds, as far as a look without the lock tells, into *@extra.
 * The run stops (-EAGAIN) at an allocation the guess left short.
 */
static void vmm_meta_nodes(struct vmm_arena *arena, unsigned int allocs,
			   struct vmm_extent **extra)
{
	u64 have = READ_ONCE(arena->nr_reserve) + READ_ONCE(arena->nr_extents);
	u64 want = READ_ONCE(arena->nr_blocks) + allocs + 1;
	struct vmm_extent *ext;

	for (; have < want && allocs--; have++) {
		ext = vmm_ext_alloc();
		if (!ext)
			return;
		ext->next = *extra;
		*extra = ext;
	}
}

static void vmm_meta_nodes_free(struct vmm_extent *extra)
{
	struct vmm_extent *ext;

	while ((ext = extra)) {
		extra = ext->next;
		vmm_ext_free(ext);
	}
}

/*
 * Block records for the ALLOCs among @ops; stops short on failure.  The
 * most blocks the chunk holds at once, counting a FREE as giving one back
 * (it may name another block: a guess), in *@peak.
 */
static unsigned int vmm_meta_prealloc(struct vmm_meta_op *ops,
				      unsigned int n, struct vmm_block **blks,
				      unsigned int *peak)
{
	unsigned int i, held = 0;

	*peak = 0;
	for (i = 0; i < n; i++) {
		blks[i] = NULL;
		if (!vmm_meta_shared(&ops[i]))
			break;
		if (ops[i].op == VMM_BATCH_FREE && held)
			held--;
		if (ops[i].op != VMM_BATCH_ALLOC)
			continue;
		blks[i] = kmem_cache_zalloc(vmm_block_cache, VMM_GFP_META);
		if (!blks[i])
			break;
		*peak = max(*peak, ++held);
	}
	return i;
}

/* One entry under the lock.  Return: 0, or its error, having done nothing. */
static int vmm_meta_one(struct vmm_arena *arena, const struct vmm_cred *cred,
			struct vmm_meta_op *op, struct vmm_block *blk,
			struct vmm_charge *ch, u64 max_blocks,
			struct vmm_extent **extra)
{
	u64 size = op->size, align = op->align;
	int ret;

	switch (op->op) {
	case VMM_BATCH_ALLOC:
		ret = vmm_alloc_fits_arena(arena, false, &size, &align) ?:
		      vmm_place_locked(arena, blk, size, align, &op->req, ch,
				       max_blocks, extra);
		if (ret)
			return ret;
		memset(arena->base + blk->start, 0, size);
		blk->state = VMM_BLOCK_LIVE;
		op->id = blk->id;
		op->start = blk->start;
		return 0;
	case VMM_BATCH_FREE:
		return vmm_free_locked(arena, op->id, cred, &op->start,
				       &op->size);
	case VMM_BATCH_INFO:
		return vmm_attrs_locked(arena, op->id, cred,
					VMM_MAY_READ | VMM_MAY_WRITE,
					&op->attrs);
	}
	return -EINVAL;
}

/* The events of @n entries that succeeded, emitted without the lock. */
static void vmm_meta_trace(const struct vmm_meta_op *ops, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		if (ops[i].op == VMM_BATCH_ALLOC)
			trace_vmm_alloc(ops[i].id, ops[i].start, ops[i].size,
					ops[i].align, 0);
		else if (ops[i].op == VMM_BATCH_FREE)
			trace_vmm_free(ops[i].id, ops[i].start, ops[i].size);
	}
}

/**
 * vmm_arena_meta_run() - run consecutive ALLOC, FREE and INFO entries of a
 *	batch under shared holds of the lock
 * @arena: the arena
 * @cred: the caller; every ALLOC's @req.cred must be the same
 * @ops: the entries, in order
 * @n: entries in @ops
 *
 * Up to %VMM_META_HOLD entries share a hold.  The records their
 * allocations need are allocated before it, as a single allocation's are.
 * The run stops at the first entry that fails, or that it cannot do
 * without dropping the lock (a compacting, mappable or large allocation,
 * an owner's first usage record, a refill of the extent preload), having
 * changed nothing for that entry: the caller does it through the single
 * command's path, which knows what to do about each (privilege,
 * compaction, allocations), and goes on after it.  Allocations in a
 * shared hold are traced with a duration of 0.  May sleep.
 *
 * Return: the entries done, each with @result 0; if fewer than @n, the
 * next one's @result says why the run stopped there.
 */
unsigned int vmm_arena_meta_run(struct vmm_arena *arena,
				const struct vmm_cred *cred,
				struct vmm_meta_op *ops, unsigned int n)
{
	struct vmm_block *blks[VMM_META_HOLD];
	struct vmm_charge ch = { .nr_spares = 0 };
	u64 max_blocks = vmm_block_limit(arena, cred);
	unsigned int done = 0, chunk, allocs, i;
	struct vmm_extent *extra;
	int ret = 0;

	ch.chain = vmm_charge_chain(cred, &ch.n);
	while (done < n && !ret) {
		chunk = vmm_meta_prealloc(ops + done,
					  min_t(unsigned int, n - done,
						VMM_META_HOLD), blks, &allocs);
		if (!chunk) {
			ops[done].result = -EAGAIN;
			break;
		}
		extra = NULL;
		vmm_meta_nodes(arena, allocs, &extra);
		vmm_ext_preload_fill();
		vmm_lock(arena);
		for (i = 0; i < chunk; i++) {
			ret = vmm_meta_one(arena, cred, &ops[done + i], blks[i],
					   &ch, max_blocks, &extra);
			ops[done + i].result = ret;
			if (ret)
				break;
			blks[i] = NULL;
		}
		vmm_self_check(arena);
		vmm_unlock(arena);
		vmm_meta_trace(ops + done, i);
		vmm_meta_nodes_free(extra);
		while (chunk--)
			if (blks[chunk])
				kmem_cache_free(vmm_block_cache, blks[chunk]);
		done += i;
		cond_resched();
	}
	return done;
}

/**
 * vmm_arena_select() - check a caller's rights on a block and record them
 * @arena: the arena
 * @id: the block, or 0 to select none
 * @cred: the caller
 * @selected: set to @id, under the lock
 * @selected_may: set to the %VMM_MAY_READ and %VMM_MAY_WRITE bits the
 *	caller holds on the block, in the same hold of the lock as the
 *	check, so that a concurrent chmod cannot leave stale rights behind
 * @granted: set to the same bits, for the caller to read without the lock
 *
 * Return: 0, -ENOENT, or -EACCES (neither r nor w); nothing is changed on
 * error.
 */
int vmm_arena_select(struct vmm_arena *arena, u64 id,
		     const struct vmm_cred *cred, u64 *selected,
		     int *selected_may, int *granted)
{
	struct vmm_block *blk = NULL;
	int ret = 0, may = 0;

	vmm_lock(arena);
	if (id) {
		blk = vmm_block_lookup(arena, id);
		if (!blk)
			ret = -ENOENT;
		else if (!vmm_may(blk, cred, VMM_MAY_READ | VMM_MAY_WRITE))
			ret = -EACCES;
		else
			may = vmm_rights(blk, cred);
	}
	if (!ret) {
		*selected = id;
		*selected_may = may;
	}
	vmm_unlock(arena);
	*granted = may;
	return ret;
}

/**
 * vmm_arena_info() - a block's offset and size
 * @arena: the arena
 * @id: the block
 * @start: its current offset
 * @size: its size
 *
 * Return: 0 or -ENOENT.
 */
int vmm_arena_info(struct vmm_arena *arena, u64 id, u64 *start, u64 *size)
{
	struct vmm_block_attrs attrs;
	int ret;

	ret = vmm_arena_attrs(arena, id, NULL, 0, &attrs);
	if (!ret) {
		*start = attrs.start;
		*size = attrs.size;
	}
	return ret;
}

/**
 * vmm_arena_chmod() - change a block's mode
 * @arena: the arena
 * @id: the block
 * @cred: the caller, who must own the block or be CAP_SYS_ADMIN
 * @mode: permission bits within %VMM_MODE_MASK
 *
 * Return: 0, -ENOENT, or -EPERM.
 */
int vmm_arena_chmod(struct vmm_arena *arena, u64 id,
		    const struct vmm_cred *cred, umode_t mode)
{
	struct vmm_block *blk;
	int ret = 0;

	vmm_lock(arena);
	blk = vmm_block_lookup(arena, id);
	if (!blk)
		ret = -ENOENT;
	else if (!vmm_owns(blk, cred))
		ret = -EPERM;
	else
		blk->mode = mode;
	vmm_unlock(arena);
	return ret;
}

/* The chown(2) rules: only an admin gives a block away or picks any group. */
static bool vmm_may_chown(const struct vmm_block *blk,
			  const struct vmm_cred *cred, kuid_t uid, kgid_t gid)
{
	if (!cred || cred->admin)
		return true;
	if (!uid_eq(cred->uid, blk->uid))
		return false;
	if (uid_valid(uid) && !uid_eq(uid, blk->uid))
		return false;
	return !gid_valid(gid) || gid_eq(gid, blk->gid) || in_egroup_p(gid);
}

/**
 * vmm_arena_chown() - change a block's owner and group
 * @arena: the arena
 * @id: the block
 * @cred: the caller, or NULL for the kernel
 * @uid: the new owner, or INVALID_UID to keep it
 * @gid: the new group, or INVALID_GID to keep it
 *
 * The block's charge moves to the new owner, whose usage record, if it
 * has none yet, is allocated without the lock.
 *
 * Return: 0, -ENOENT, -EPERM, -EDQUOT if the new owner would exceed a
 * quota, or -ENOMEM.
 */
int vmm_arena_chown(struct vmm_arena *arena, u64 id,
		    const struct vmm_cred *cred, kuid_t uid, kgid_t gid)
{
	struct vmm_charge ch = { .chain = &uid, .n = 1 };
	struct vmm_usage *old;
	struct vmm_block *blk;
	int ret = 0;

retry:
	vmm_lock(arena);
	blk = vmm_block_lookup(arena, id);
	if (!blk) {
		ret = -ENOENT;
		goto out;
	}
	if (!vmm_may_chown(blk, cred, uid, gid)) {
		ret = -EPERM;
		goto out;
	}
	if (uid_valid(uid) && !uid_eq(uid, blk->uid)) {
		/* Only an admin gives a block away: no unprivileged limit. */
		ret = vmm_charge_check(arena, &ch, blk->size,
				       READ_ONCE(arena->max_blocks_per_uid));
		if (ret)
			goto out;
		if (ch.missing > ch.nr_spares) {
			vmm_unlock(arena);
			ret = vmm_charge_prealloc(&ch);
			if (ret)
				goto out_unlocked;
			goto retry;
		}
		/*
		 * Charge first: the new owner's records may be among the old
		 * ones, which the uncharge could otherwise free.
		 */
		old = blk->usage;
		vmm_charge_commit(arena, &ch, blk);
		vmm_usage_uncharge(arena, old, blk->size);
		blk->uid = uid;
	}
	if (gid_valid(gid))
		blk->gid = gid;
out:
	vmm_unlock(arena);
out_unlocked:
	vmm_charge_release(&ch);
	return ret;
}

/**
 * vmm_arena_usage() - what each top-level uid holds, in increasing uid order
 * @arena: the arena
 * @start_uid: the lowest uid (in the initial user namespace) to report
 * @out: array of @capacity entries, filled from index 0; uid holds the
 *	kernel's uid value, for the caller to map
 * @capacity: entries @out holds
 * @next_uid: set to the next uid to ask for, or 0 when none is left
 *
 * Return: the number of entries stored.
 */
u32 vmm_arena_usage(struct vmm_arena *arena, u32 start_uid,
		    struct vmm_user_usage *out, u32 capacity, u32 *next_uid)
{
	struct rb_node *n, *from = NULL;
	u32 count = 0;

	*next_uid = 0;
	vmm_lock(arena);
	n = arena->users.rb_node;
	while (n) {
		struct vmm_usage *u = rb_entry(n, struct vmm_usage, node);

		if (__kuid_val(u->uid) >= start_uid) {
			from = n;
			n = n->rb_left;
		} else {
			n = n->rb_right;
		}
	}
	for (n = from; n; n = rb_next(n)) {
		struct vmm_usage *u = rb_entry(n, struct vmm_usage, node);

		if (count == capacity) {
			*next_uid = __kuid_val(u->uid);
			break;
		}
		memset(&out[count], 0, sizeof(out[count]));
		out[count].uid = __kuid_val(u->uid);
		out[count].blocks = u->blocks;
		out[count].bytes = u->bytes;
		out[count].ns_blocks = u->blocks - u->own_blocks;
		count++;
	}
	vmm_unlock(arena);
	return count;
}

/**
 * vmm_arena_pin_perm() - hold a block in place for a caller's copy
 * @arena: the arena
 * @id: the block
 * @cred: the caller, or NULL for the kernel
 * @may: the caller needs any of these %VMM_MAY_READ, %VMM_MAY_WRITE bits
 *
 * While pinned, the block's start and size are stable and its bytes at
 * @arena->base + start are its own.  Pair with vmm_arena_unpin().
 *
 * If the compactor is copying the block, this waits, interruptibly and not
 * holding anything, for that one copy to end.
 *
 * Return: the block, ERR_PTR(-ENOENT), ERR_PTR(-EACCES), or
 * ERR_PTR(-ERESTARTSYS) if a signal ended the wait.
 */
struct vmm_block *vmm_arena_pin_perm(struct vmm_arena *arena, u64 id,
				     const struct vmm_cred *cred, int may)
{
	struct vmm_block *blk;
	unsigned long seq;
	int ret;

	for (;;) {
		vmm_lock(arena);
		blk = vmm_block_lookup(arena, id);
		if (!blk) {
			ret = -ENOENT;
		} else if (!vmm_may(blk, cred, may)) {
			ret = -EACCES;
		} else if (!blk->moving) {
			vmm_pin_locked(arena, blk);
			ret = 0;
		} else {
			/* One round trip's copies: at most 256 KiB, or one block. */
			seq = arena->move_seq;
			vmm_unlock(arena);
			ret = wait_event_interruptible(arena->move_wq,
						       vmm_arena_moved_since(arena, seq));
			if (ret)
				return ERR_PTR(ret);
			continue;
		}
		vmm_unlock(arena);
		return ret ? ERR_PTR(ret) : blk;
	}
}

/**
 * vmm_arena_pin() - hold a block in place for a copy outside the lock
 * @arena: the arena
 * @id: the block
 *
 * vmm_arena_pin_perm() for the kernel: no permission check.
 *
 * Return: as vmm_arena_pin_perm().
 */
struct vmm_block *vmm_arena_pin(struct vmm_arena *arena, u64 id)
{
	return vmm_arena_pin_perm(arena, id, NULL, 0);
}

/**
 * vmm_arena_unpin() - end a copy started with vmm_arena_pin()
 * @arena: the arena
 * @blk: the pinned block; may be freed by this call
 */
void vmm_arena_unpin(struct vmm_arena *arena, struct vmm_block *blk)
{
	vmm_lock(arena);
	vmm_unpin_locked(arena, blk);
	vmm_unlock(arena);
}

/**
 * vmm_arena_map() - record a new mapping of a block for a caller
 * @arena: the arena
 * @id: the block
 * @cred: the caller
 * @need: the %VMM_MAY_READ and %VMM_MAY_WRITE bits the mapping needs, all
 *	of them
 * @pgoff: the first page of the block the mapping shows
 * @pages: its length in pages
 * @blkp: set to the block, which the mapping now holds (its range stays
 *	until vmm_arena_unmap(), even if the block is freed)
 * @granted: set to the bits @cred holds on the block, so that a mapping
 *	without w can be kept from gaining it later
 *
 * Return: 0, -ENOENT, -EACCES (missing a bit of @need), -ENODEV (not
 * allocated mappable), or -EINVAL (the pages lie outside the block).
 */
int vmm_arena_map(struct vmm_arena *arena, u64 id,
		  const struct vmm_cred *cred, int need, pgoff_t pgoff,
		  pgoff_t pages, struct vmm_block **blkp, int *granted)
{
	struct vmm_block *blk;
	int ret = 0;

	vmm_lock(arena);
	blk = vmm_block_lookup(arena, id);
	if (!blk) {
		ret = -ENOENT;
	} else if ((vmm_rights(blk, cred) & need) != need) {
		ret = -EACCES;
	} else if (!blk->mappable) {
		ret = -ENODEV;
	} else if (pgoff >= blk->size >> PAGE_SHIFT ||
		   pages > (blk->size >> PAGE_SHIFT) - pgoff) {
		ret = -EINVAL;
	} else {
		*granted = vmm_rights(blk, cred);
		if (!blk->maps++)
			arena->nr_mapped++;
		*blkp = blk;
	}
	vmm_self_check(arena);
	vmm_unlock(arena);
	return ret;
}

/**
 * vmm_arena_map_dup() - a mapping of a block was copied or split
 * @arena: the arena
 * @blk: a block held by an existing mapping
 */
void vmm_arena_map_dup(struct vmm_arena *arena, struct vmm_block *blk)
{
	vmm_lock(arena);
	WARN_ON_ONCE(!blk->maps);
	blk->maps++;
	vmm_self_check(arena);
	vmm_unlock(arena);
}

/**
 * vmm_arena_unmap() - a mapping of a block is gone
 * @arena: the arena
 * @blk: the block; freed by this call if it was freed while mapped and this
 *	was its last mapping, and nobody has it pinned
 */
void vmm_arena_unmap(struct vmm_arena *arena, struct vmm_block *blk)
{
	vmm_lock(arena);
	if (!--blk->maps) {
		arena->nr_mapped--;
		if (blk->state == VMM_BLOCK_DEAD && !vmm_block_held(blk))
			vmm_block_release(arena, blk);
	}
	vmm_self_check(arena);
	vmm_unlock(arena);
}

/**
 * vmm_arena_pin_mapped() - pin a block that a mapping holds, for a fault
 * @arena: the arena
 * @blk: the block, live or freed while mapped
 * @seq: set to &vmm_arena.move_seq, for a wait when the block is moving
 *
 * Unlike vmm_arena_pin_perm(), never waits: a fault must not sleep in
 * here with the mmap lock held when it can drop that lock and retry.
 *
 * Return: 0 with @blk pinned (its start and bytes stable until
 * vmm_arena_unpin()), or -EAGAIN while the compactor moves it, with *@seq
 * set: wait on &vmm_arena.move_wq until vmm_arena_moved_since(@seq), then
 * try again.
 */
int vmm_arena_pin_mapped(struct vmm_arena *arena, struct vmm_block *blk,
			 unsigned long *seq)
{
	int ret = -EAGAIN;

	vmm_lock(arena);
	*seq = arena->move_seq;
	if (!blk->moving) {
		vmm_pin_locked(arena, blk);
		ret = 0;
	}
	vmm_unlock(arena);
	return ret;
}

/*
 * The largest extent other than the last one (by offset): down the right
 * spine, taking each node's own size and its left subtree's maximum.
 * O(log n).
 */
static u64 vmm_max_below_last(struct vmm_arena *arena)
{
	struct rb_node *n = arena->free.rb_node;
	u64 max = 0;

	while (n) {
		struct vmm_extent *ext = rb_entry(n, struct vmm_extent, node);

		max = max(max, vmm_subtree_max(n->rb_left));
		if (n->rb_right)
			max = max(max, ext->size);
		n = n->rb_right;
	}
	return max;
}

/*
 * Free space is one extent ending at the end of the arena, or none.  With
 * mappable blocks, which move only to page boundaries, extents of less
 * than a page may stay below them, and count as packed: then no extent but
 * one ending at the end of the arena may be a page or larger.
 */
static bool vmm_arena_compact(struct vmm_arena *arena)
{
	struct rb_node *last = rb_last(&arena->free);
	struct vmm_extent *ext;

	if (!last)
		return true;
	ext = rb_entry(last, struct vmm_extent, node);
	if (!arena->nr_mappable)
		return arena->nr_extents == 1 &&
		       vmm_extent_end(ext) == arena->size;
	/* The arena may be full but for such gaps: then none is the last. */
	if (vmm_extent_end(ext) == arena->size)
		return vmm_max_below_last(arena) < PAGE_SIZE;
	return vmm_subtree_max(arena->free.rb_node) < PAGE_SIZE;
}

/*
 * Where @blk lands if it slides down over @ext, the free extent right below
 * it: the extent's start, or for a mappable block the first page boundary
 * in it; @blk->start if that is no lower.
 */
static u64 vmm_slide_dst(const struct vmm_block *blk,
			 const struct vmm_extent *ext)
{
	u64 dst = blk->mappable ? round_up(ext->start, PAGE_SIZE) : ext->start;

	return min(dst, blk->start);
}

/**
 * struct vmm_gather - runs of adjacent blocks that slide down together,
 *	closing the free extents between them, in one round trip of the lock
 * @first: each run's lowest-offset block, whose offset is the run's until
 *	the runs are in place (only the compactor changes it)
 * @bytes: each run's bytes
 * @nr: each run's blocks
 * @dst: where the first run goes: the start of the free extent below it;
 *	each next run goes right after the one before
 * @total: bytes in all of them
 * @runs: runs gathered
 * @blocks: blocks in all of them
 *
 * About 300 bytes, on the stack of vmm_arena_defrag().
 */
struct vmm_gather {
	struct vmm_block *first[VMM_GATHER_RUNS];
	u64 bytes[VMM_GATHER_RUNS];
	u16 nr[VMM_GATHER_RUNS];
	u64 dst;
	u64 total;
	unsigned int runs;
	unsigned int blocks;
};

/**
 * struct vmm_pass - one defragmentation call's limits and progress
 * @cred: the caller, or NULL for the kernel
 * @budget: the most bytes to move; for a call without one, the bytes in
 *	blocks when it started, which a compaction from scratch moves at
 *	most once, so that churn by others cannot keep any call going
 * @moved: bytes moved so far by this call
 * @bytes: the caller's byte counter
 * @blocks: the caller's block counter
 * @spare: an extent node for the free space a mappable block leaves
 *	below the page boundary it moves to, allocated without the lock
 * @over_budget: stopped before a block that would exceed @budget
 * @interrupted: stopped for a pending signal
 * @nomem: stopped because @spare could not be allocated
 * @g: the runs moving now
 */
struct vmm_pass {
	const struct vmm_cred *cred;
	u64 budget;
	u64 moved;
	u64 *bytes;
	u64 *blocks;
	struct vmm_extent *spare;
	struct vmm_gather g;
	bool over_budget;
	bool interrupted;
	bool nomem;
};

/* The block after @blk by offset, or NULL. */
static struct vmm_block *vmm_block_next(struct vmm_block *blk)
{
	struct rb_node *n = rb_next(&blk->addr_node);

	return n ? rb_entry(n, struct vmm_block, addr_node) : NULL;
}

/* Copy @bytes from @src down to @dst without the lock, yielding at times. */
static void vmm_move_bytes(struct vmm_arena *arena, u64 dst, u64 src,
			   u64 bytes)
{
	u64 done, n;

	/* Increasing offsets: safe for the overlapping downward move. */
	for (done = 0; done < bytes; done += n) {
		n = min_t(u64, bytes - done, VMM_CHUNK);
		memmove(arena->base + dst + done, arena->base + src + done, n);
		cond_resched();
	}
}

/*
 * A move that started with &vmm_arena.moving_ext out of the free tree
 * ended: @bytes of blocks now start at @dst, and the @dist bytes of free
 * space that lay below and between them lie above.  The nodes of the
 * extents that were out of the tree serve that space if it needs one.
 */
static void vmm_move_account(struct vmm_arena *arena, struct vmm_pass *pass,
			     u64 dst, u64 bytes, u64 dist, unsigned int blocks)
{
	struct vmm_extent *moving = arena->moving_ext, *next;

	lockdep_assert_held(&arena->lock);
	arena->moving_ext = NULL;
	for (; moving; moving = next) {
		next = moving->next;
		arena->nr_extents--;
		vmm_ext_put(arena, moving);
	}
	arena->bytes_moved += bytes;
	*pass->bytes += bytes;
	*pass->blocks += blocks;
	vmm_extent_give(arena, dst + bytes, dist);
}

/* @blk is in place: release it if it was freed during the move. */
static void vmm_block_moved(struct vmm_arena *arena, struct vmm_block *blk)
{
	blk->moving = false;
	if (blk->state == VMM_BLOCK_DEAD && !vmm_block_held(blk))
		vmm_block_release(arena, blk);
}

/*
 * Wake whoever waits for a moving block: only pinners and faulters of the
 * blocks just moved wait, and only for this move.  Woken without the
 * lock, so that however many there are, no hold of it grows with them;
 * they see &vmm_arena.move_seq change.
 */
static void vmm_moves_ended(struct vmm_arena *arena)
	__must_hold(&arena->lock)
{
	WRITE_ONCE(arena->move_seq, arena->move_seq + 1);
	if (wq_has_sleeper(&arena->move_wq)) {
		vmm_unlock(arena);
		wake_up_all(&arena->move_wq);
		vmm_lock(arena);
	}
}

/*
 * Slide @blk down over @ext, the free extent right below it, to
 * vmm_slide_dst(), and return the offset just past the block's new place:
 * the move of a block that is mapped, or that stops short of @ext's start
 * for a page boundary, which runs leave out.  Called and returns with the
 * lock held, but copies without it: the range the block moves into is
 * taken out of the free tree so nobody can allocate it, and the block is
 * marked as moving so nobody can copy its bytes, fault its pages in or
 * release it meanwhile.  A mapped block's page table entries are removed,
 * in every process, before the copy starts; the next access faults and
 * waits for the move to end.  A mappable block that stops short of
 * @ext's start needs @pass->spare, which the caller provides.
 */
static u64 vmm_block_slide(struct vmm_arena *arena, struct vmm_block *blk,
			   struct vmm_extent *ext, struct vmm_pass *pass)
	__must_hold(&arena->lock)
{
	u64 src = blk->start, size = blk->size, dst;
	struct vmm_extent *moving = ext;
	unsigned int zapped = 0;
	pgoff_t base = 0;

	lockdep_assert_held(&arena->lock);
	dst = vmm_slide_dst(blk, ext);
	if (dst > ext->start) {
		/* The part below the page boundary stays free, in @ext. */
		moving = pass->spare;
		pass->spare = NULL;
		vmm_size_erase(arena, ext);
		ext->size = dst - ext->start;
		vmm_extent_resized(arena, ext);
		moving->start = dst;
		moving->size = src - dst;
	} else {
		vmm_extent_unlink(arena, ext);
	}
	/* Still counted, and seen by the self-check, while out of the tree. */
	moving->next = NULL;
	arena->moving_ext = moving;
	arena->nr_extents++;
	blk->moving = true;
	/*
	 * Mappings made from here on fault only after the move; those that
	 * exist now are zapped below.
	 */
	if (blk->maps && arena->mapping) {
		base = vmm_map_base(arena, blk);
		zapped = blk->maps;
	}
	vmm_unlock(arena);

	if (zapped)
		unmap_mapping_pages(arena->mapping, base, size >> PAGE_SHIFT,
				    true);
	vmm_move_bytes(arena, dst, src, size);
	/* The move cannot fail from here on; traced while the lock is free. */
	trace_vmm_move(blk->id, src, dst, size, zapped);

	vmm_lock(arena);
	blk->start = dst;
	vmm_move_account(arena, pass, dst, size, src - dst, 1);
	vmm_block_moved(arena, blk);
	vmm_self_check(arena);
	vmm_moves_ended(arena);
	return dst + size;
}

/*
 * Release the blocks on @dead, freed while they moved, %VMM_META_HOLD per
 * hold of the lock, however many a run had.  Nothing else reaches them
 * meanwhile: lookups skip freed blocks, nobody pins or maps them, and
 * this compactor is the only one.
 */
static void vmm_release_dead(struct vmm_arena *arena, struct list_head *dead)
	__must_hold(&arena->lock)
{
	unsigned int n = 0;

	while (!list_empty(dead)) {
		if (n++ == VMM_META_HOLD) {
			n = 0;
			vmm_unlock(arena);
			vmm_lock(arena);
		}
		/* Takes it off @dead (list_del_init() of its scope link). */
		vmm_block_release(arena, list_first_entry(dead, struct vmm_block,
							  scope_node));
	}
}

/*
 * Slide the runs of @pass's gather, which vmm_gather_runs() marked as
 * moving and whose free extents it took out of the tree, down into place,
 * and return the offset just past the last one's new place.  Every block
 * of a run slides by the same distance, so one memmove() per run and one
 * extent update for the whole gather do for all of them, and their order
 * in the offset tree stays as it is.  A block freed meanwhile is released
 * once the runs are in place.
 */
static u64 vmm_gather_slide(struct vmm_arena *arena, struct vmm_pass *pass)
	__must_hold(&arena->lock)
{
	struct vmm_gather *g = &pass->g;
	struct vmm_block *last = g->first[g->runs - 1], *blk;
	u64 end = last->start + g->bytes[g->runs - 1];
	unsigned int k, i;
	LIST_HEAD(dead);
	u64 to, dist;

	lockdep_assert_held(&arena->lock);
	vmm_unlock(arena);

	/*
	 * In offset order: each run lands on space already vacated.  A
	 * moving block stays, with its ID and offset, until the lock is back.
	 */
	to = g->dst;
	for (k = 0; k < g->runs; k++) {
		blk = g->first[k];
		vmm_move_bytes(arena, to, blk->start, g->bytes[k]);
		if (g->nr[k] == 1)
			trace_vmm_move(blk->id, blk->start, to, g->bytes[k], 0);
		else
			trace_vmm_move_run(blk->id, g->nr[k], blk->start, to,
					   g->bytes[k]);
		to += g->bytes[k];
	}

	vmm_lock(arena);
	/* Nothing can come between blocks of a run, nor leave it, meanwhile. */
	to = g->dst;
	for (k = 0; k < g->runs; k++) {
		blk = g->first[k];
		dist = blk->start - to;
		for (i = 0; i < g->nr[k]; i++, blk = vmm_block_next(blk)) {
			blk->start -= dist;
			blk->moving = false;
			/* Freed during the move: its scope link is free to use. */
			if (blk->state == VMM_BLOCK_DEAD && !vmm_block_held(blk))
				list_add_tail(&blk->scope_node, &dead);
		}
		to += g->bytes[k];
	}
	vmm_move_account(arena, pass, g->dst, g->total,
			 end - (g->dst + g->total), g->blocks);
	vmm_self_check(arena);
	vmm_release_dead(arena, &dead);
	vmm_moves_ended(arena);
	return g->dst + g->total;
}

/*
 * Whether @blk stays where it is this pass, as a barrier the others close
 * up to: it is pinned by a copy (which the compactor never waits for), or
 * it is another user's block that an unprivileged caller may not move:
 * larger than one call may copy, so that no unprivileged call ever copies
 * more than %VMM_DEFRAG_USER_BUDGET of other people's data, or mapped, so
 * that no unprivileged call makes others' mappings fault again.
 */
static bool vmm_block_stays(const struct vmm_pass *pass,
			    const struct vmm_block *blk)
{
	const struct vmm_cred *cred = pass->cred;

	if (blk->pins)
		return true;
	return cred && !cred->privileged && !uid_eq(cred->uid, blk->uid) &&
	       (blk->size > VMM_DEFRAG_USER_BUDGET || blk->maps);
}

/*
 * Whether to stop before moving @blk: the budget would be exceeded (but a
 * call that has moved nothing moves one block, so that callers looping
 * until compact always progress), or a signal is pending after some
 * progress, which the call then reports rather than loses.
 */
static bool vmm_pass_stop(struct vmm_pass *pass, const struct vmm_block *blk)
{
	if (!pass->moved)
		return false;
	if (pass->budget && blk->size > pass->budget - min(pass->budget,
							   pass->moved)) {
		pass->over_budget = true;
		return true;
	}
	if (signal_pending(current)) {
		pass->interrupted = true;
		return true;
	}
	return false;
}

/* Blocks looked at per hold of the lock during a pass. */
#define VMM_PASS_BATCH	64

/*
 * The most blocks in one gather: its two walks under the lock, one to find
 * and mark them and one to put them in place, are O(this), each step
 * O(1).
 */
#define VMM_RUN_BLOCKS	256

/*
 * The bytes @pass's gather may still take: what is left of the budget, at
 * most %VMM_CHUNK in all.
 */
static u64 vmm_pass_room(const struct vmm_pass *pass)
{
	u64 room = pass->budget ? pass->budget - min(pass->budget, pass->moved) :
				  U64_MAX;

	room = min_t(u64, room, VMM_CHUNK);
	return room - min(room, pass->g.total);
}

/*
 * How many adjacent blocks from @first, which slides down by @dist, slide
 * with it as one run, and their bytes in *@bytes; marks them as moving,
 * @first included.  With what @pass's gather holds already, at most
 * %VMM_RUN_BLOCKS blocks and %VMM_CHUNK bytes (or, for the gather's first
 * run, @first alone if it is larger), so that no more than that is copied
 * between two chances for others to take the lock, within what is left
 * of @pass's budget; up to
 * the first block that stays, is mapped (its move needs a zap), or is
 * mappable and would leave its page boundary.  The run's last block in
 * *@last.
 */
static unsigned int vmm_run_mark(const struct vmm_pass *pass,
				 struct vmm_block *first, u64 dist, u64 *bytes,
				 struct vmm_block **last)
{
	u64 room = vmm_pass_room(pass), sum = first->size;
	struct vmm_block *blk = first, *next;
	unsigned int nr = 1;

	first->moving = true;
	for (; pass->g.blocks + nr < VMM_RUN_BLOCKS; nr++, blk = next) {
		next = vmm_block_next(blk);
		if (!next || next->start != vmm_block_end(blk) ||
		    vmm_block_stays(pass, next) || next->maps ||
		    (next->mappable && !IS_ALIGNED(dist, PAGE_SIZE)) ||
		    sum + next->size > room)
			break;
		sum += next->size;
		next->moving = true;
	}
	*bytes = sum;
	*last = blk;
	return nr;
}

/*
 * Whether @blk, right above a free extent that follows a gathered run,
 * may start the gather's next run: it may move as a run's first block
 * does (not mappable, which moves to page boundaries only, nor mapped,
 * which only mappable blocks are, to keep this simple), and fits in what
 * the gather may still take.
 */
static bool vmm_gather_may_join(const struct vmm_pass *pass,
				const struct vmm_block *blk)
{
	return pass->g.runs < VMM_GATHER_RUNS &&
	       pass->g.blocks < VMM_RUN_BLOCKS && !vmm_block_stays(pass, blk) &&
	       !blk->mappable && blk->size <= vmm_pass_room(pass);
}

/*
 * From @blk, which slides down over @ext, the free extent right below it,
 * to @ext's start, gather the runs that follow it across the free extents
 * between them, into @pass's gather: each slides down by all the free
 * space below it, so that together they close up.  Takes each free extent
 * they close out of the tree onto &vmm_arena.moving_ext, as
 * vmm_block_slide() does for one, so nobody can allocate in it while the
 * runs are copied without the lock.  Adds the bytes to @pass->moved.
 */
static void vmm_gather_runs(struct vmm_arena *arena, struct vmm_pass *pass,
			    struct vmm_block *blk, struct vmm_extent *ext)
	__must_hold(&arena->lock)
{
	struct vmm_extent **hidden = &arena->moving_ext, *above;
	struct vmm_gather *g = &pass->g;
	struct vmm_block *last;
	struct rb_node *n;
	u64 dist = 0;

	lockdep_assert_held(&arena->lock);
	g->dst = ext->start;
	g->runs = 0;
	g->blocks = 0;
	g->total = 0;
	for (;;) {
		dist += ext->size;
		g->first[g->runs] = blk;
		g->nr[g->runs] = vmm_run_mark(pass, blk, dist,
					      &g->bytes[g->runs], &last);
		g->blocks += g->nr[g->runs];
		g->total += g->bytes[g->runs];
		g->runs++;

		n = rb_next(&ext->node);
		above = n ? rb_entry(n, struct vmm_extent, node) : NULL;
		/* Still counted, and seen by the self-check, while out. */
		vmm_extent_unlink(arena, ext);
		arena->nr_extents++;
		ext->next = NULL;
		*hidden = ext;
		hidden = &ext->next;

		/* A run ends at a hole, or at a block that cannot join it. */
		if (!above || above->start != vmm_block_end(last))
			break;
		blk = vmm_block_next(last);
		if (!blk || blk->start != vmm_extent_end(above) ||
		    !vmm_gather_may_join(pass, blk))
			break;
		ext = above;
	}
	pass->moved += g->total;
}

/*
 * Get @pass a spare extent node, dropping the lock to allocate it.
 * Return: whether it has one; the caller looks again, as anything may
 * have changed meanwhile.
 */
static bool vmm_pass_spare(struct vmm_arena *arena, struct vmm_pass *pass)
	__must_hold(&arena->lock)
{
	vmm_unlock(arena);
	pass->spare = vmm_ext_alloc();
	vmm_lock(arena);
	pass->nomem = !pass->spare;
	return pass->spare;
}

/*
 * One pass over the blocks in offset order, sliding each block that may
 * move down over the hole below it.  It starts at the lowest free extent,
 * as nothing below it can move.  The walk resumes from the offset
 * reached after every block, and each block is looked up afresh, so
 * changes made while the lock was dropped are simply seen.  The lock is
 * dropped after every move (which copies without it), every
 * %VMM_PASS_BATCH blocks, and whenever someone needs the CPU or the lock,
 * so a hold covers a bounded amount of work.  Return: whether it moved
 * anything.
 */
static bool vmm_compact_pass(struct vmm_arena *arena, struct vmm_pass *pass)
{
	unsigned int seen = 0;
	struct vmm_extent *ext;
	struct vmm_block *blk;
	struct rb_node *first;
	u64 cursor, before = pass->moved;

	vmm_lock(arena);
	first = rb_first(&arena->free);
	/* Nothing free: nothing can move. */
	cursor = first ? rb_entry(first, struct vmm_extent, node)->start :
			 arena->size;
	while ((blk = vmm_block_from(arena, cursor))) {
		ext = vmm_block_stays(pass, blk) ? NULL :
		      vmm_extent_ending_at(arena, blk->start);
		if (!ext || vmm_slide_dst(blk, ext) == blk->start) {
			cursor = vmm_block_end(blk);
		} else if (vmm_pass_stop(pass, blk)) {
			break;
		} else if (vmm_slide_dst(blk, ext) > ext->start &&
			   !pass->spare) {
			if (!vmm_pass_spare(arena, pass))
				break;
			continue;
		} else if (blk->maps || vmm_slide_dst(blk, ext) > ext->start) {
			pass->moved += blk->size;
			cursor = vmm_block_slide(arena, blk, ext, pass);
		} else {
			vmm_gather_runs(arena, pass, blk, ext);
			seen += pass->g.blocks - 1;
			cursor = vmm_gather_slide(arena, pass);
		}
		if (++seen >= VMM_PASS_BATCH || need_resched() ||
		    spin_needbreak(&arena->lock)) {
			seen = 0;
			vmm_unlock(arena);
			cond_resched();
			vmm_lock(arena);
		}
	}
	vmm_unlock(arena);
	return pass->moved != before;
}

/**
 * vmm_arena_defrag() - slide blocks toward offset 0, keeping their order
 * @arena: the arena
 * @cred: the caller, or NULL for the kernel; an unprivileged caller never
 *	moves another user's block larger than %VMM_DEFRAG_USER_BUDGET
 * @budget: the most bytes to move, 0 for no limit; a call that has moved
 *	nothing yet moves one block even if it is larger, so that callers
 *	looping until *@compact always progress
 * @nowait: return -EBUSY instead of waiting for another defragmentation
 * @bytes: incremented by the bytes copied
 * @blocks: incremented by the blocks moved
 * @compact: set to whether all free space is one range at the end
 *
 * Never waits for a copy in flight: a pinned block stays where it is, and
 * the blocks above it close up to it.  Passes repeat while they move
 * something; the call then returns with *@compact false if a pinned or
 * too-large block, the budget or a signal stopped it.  Calling again
 * later continues.
 *
 * Return: 0 (blocks moved before a signal stay moved and are counted),
 * -EBUSY (only with @nowait), -ENOMEM if nothing moved because the
 * extent record for the space a mappable block leaves below its page
 * boundary could not be allocated, or -ERESTARTSYS if a signal came while
 * waiting for another defragmentation (a signal already pending when the
 * mutex is free still lets the first block move).
 */
int vmm_arena_defrag(struct vmm_arena *arena, const struct vmm_cred *cred,
		     u64 budget, bool nowait, u64 *bytes, u64 *blocks,
		     bool *compact)
{
	u64 t0 = vmm_trace_start(trace_vmm_defrag_end_enabled());
	struct vmm_pass pass = {
		.cred = cred, .budget = budget, .bytes = bytes, .blocks = blocks,
	};
	u64 bytes0 = *bytes, blocks0 = *blocks;
	bool progress;
	int ret = 0;

	*compact = false;
	trace_vmm_defrag_begin(budget, nowait ? VMM_DEFRAG_NOWAIT : 0);
	if (!pass.budget) {
		vmm_lock(arena);
		pass.budget = max(arena->used, 1ULL);
		vmm_unlock(arena);
	}
	if (nowait) {
		if (!mutex_trylock(&arena->compact_lock)) {
			ret = -EBUSY;
			goto out;
		}
	} else if (mutex_lock_interruptible(&arena->compact_lock)) {
		/* Nothing done yet: SA_RESTART may restart the call. */
		ret = -ERESTARTSYS;
		goto out;
	}
	do {
		progress = vmm_compact_pass(arena, &pass);
		vmm_lock(arena);
		*compact = vmm_arena_compact(arena);
		if (*compact)
			arena->defrags++;
		vmm_unlock(arena);
	} while (progress && !*compact && !pass.over_budget &&
		 !pass.interrupted && !pass.nomem);
	mutex_unlock(&arena->compact_lock);
	vmm_ext_free(pass.spare);
	if (pass.nomem && !pass.moved)
		ret = -ENOMEM;
out:
	trace_vmm_defrag_end(*bytes - bytes0, *blocks - blocks0,
			     vmm_trace_since(t0), *compact, ret);
	return ret;
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

/**
 * vmm_arena_time_holds() - switch the timing of lock holds on or off
 * @on: time them
 *
 * Shared by every arena of the module.  Holds under way when timing comes
 * on are not counted.  May sleep.
 */
void vmm_arena_time_holds(bool on)
{
	if (on)
		static_branch_enable(&vmm_hold_timing);
	else
		static_branch_disable(&vmm_hold_timing);
}

/**
 * vmm_arena_reset_lock_hold() - start measuring max_lock_hold_ns afresh
 * @arena: the arena
 */
void vmm_arena_reset_lock_hold(struct vmm_arena *arena)
{
	vmm_lock(arena);
	arena->max_lock_hold_ns = 0;
	vmm_unlock(arena);
}

/**
 * vmm_arena_list() - describe live blocks in increasing ID order
 * @arena: the arena
 * @start_id: the lowest ID to report
 * @out: array of @capacity entries, filled from index 0
 * @capacity: entries @out holds
 * @next_id: set to the next ID to ask for, or 0 when no block is left
 *
 * Return: the number of entries stored; fewer than @capacity, with
 * *@next_id set, when more than @capacity freed blocks (mapped or being
 * copied) were passed over.
 */
u32 vmm_arena_list(struct vmm_arena *arena, u64 start_id,
		   struct vmm_block_info *out, u32 capacity, u64 *next_id)
{
	struct rb_node *n, *from = NULL;
	u32 count = 0, skipped = 0;

	*next_id = 0;
	vmm_lock(arena);
	n = arena->ids.rb_node;
	while (n) {
		struct vmm_block *blk = rb_entry(n, struct vmm_block, id_node);

		if (blk->id >= start_id) {
			from = n;
			n = n->rb_left;
		} else {
			n = n->rb_right;
		}
	}
	for (n = from; n; n = rb_next(n)) {
		struct vmm_block *blk = rb_entry(n, struct vmm_block, id_node);

		/*
		 * Freed blocks still mapped or copied are skipped, at most
		 * @capacity of them, so that however many there are, one
		 * hold of the lock looks at O(@capacity) blocks.
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
		memset(&out[count], 0, sizeof(out[count]));
		out[count].id = blk->id;
		out[count].offset = blk->start;
		out[count].size = blk->size;
		/* Kernel id values: the caller maps them after the lock. */
		out[count].uid = __kuid_val(blk->uid);
		out[count].gid = __kgid_val(blk->gid);
		out[count].mode = blk->mode;
		out[count].attrs = (list_empty(&blk->scope_node) ? 0 :
				    VMM_BLOCK_SCOPED) |
				   (blk->mappable ? VMM_BLOCK_MAPPABLE : 0);
		out[count].mapped = blk->maps;
		count++;
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
		out[count].moving = blk->moving;
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
 * The extent a block is sliding into during defragmentation is in no tree
 * and is not reported.
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
