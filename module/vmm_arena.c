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
 * Blocks sit in two rb-trees: by ID for lookups, by offset for compaction
 * and listings.  Each free extent names the block that ends where it
 * starts, so a new block joins the offset tree right after that one,
 * without a search.
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
 *
 * Files, by concern, compiled as one unit by vmm_arena_unit.c (vmm_arena.h
 * declares what they share, and holds the ID lookup and the permission
 * checks): this one holds the arena's and the blocks' life (init and
 * destroy, the block trees, allocation, free, batches, lock-hold timing);
 * vmm_extent.c the free space and the placement search; vmm_idc.c the
 * cache of blocks by ID in front of the ID tree; vmm_compact.c
 * compaction; vmm_charge.c quotas and changes of owner or mode;
 * vmm_access.c attributes, pins and mappings; vmm_list.c statistics and
 * listings; vmm_check.c the self-check.
 */

#include <linux/bug.h>
#include <linux/err.h>
#include <linux/log2.h>
#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/overflow.h>
#include <linux/rbtree.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uidgid.h>
#include <linux/vmalloc.h>

#include "vmm.h"
#include "vmm_arena.h"
#include "vmm_trace.h"

/* See vmm.h: whether holds of the arena lock are timed. */
DEFINE_STATIC_KEY_FALSE(vmm_hold_timing);

/*
 * Link @blk into both trees: by ID, and by offset right after @pred (NULL:
 * first), the block that ends where the free space it was placed in began.
 */
static void vmm_block_insert(struct vmm_arena *arena, struct vmm_block *blk,
			     struct vmm_block *pred)
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
	vmm_idc_store(arena, blk);

	/*
	 * In-order right after @pred: its right child if it has none, else
	 * the left child of the leftmost node of its right subtree, a walk
	 * of O(1) levels on average instead of a search from the root.
	 */
	parent = pred ? &pred->addr_node : NULL;
	link = pred ? &parent->rb_right : &arena->addrs.rb_node;
	if (*link) {
		parent = *link;
		while (parent->rb_left)
			parent = parent->rb_left;
		link = &parent->rb_left;
	}
	rb_link_node(&blk->addr_node, parent, link);
	rb_insert_color(&blk->addr_node, &arena->addrs);
}

/*
 * Out of its file's scope, if it is in one.  Most blocks are not: then
 * this skips list_del_init()'s out-of-line CONFIG_DEBUG_LIST checks, which
 * a free would otherwise pay twice.
 */
static void vmm_scope_leave(struct vmm_block *blk)
{
	if (!list_empty(&blk->scope_node))
		list_del_init(&blk->scope_node);
}

/*
 * Drop the block from both trees and give its range back, using a node
 * of the reserve if the range merges with no neighbour.  Frees @blk
 * (kmem_cache_free() does not sleep).
 */
static void vmm_block_release(struct vmm_arena *arena, struct vmm_block *blk)
{
	struct vmm_extent *above;

	lockdep_assert_held(&arena->lock);
	if (arena->ids_last == &blk->id_node)
		arena->ids_last = rb_prev(&blk->id_node);
	rb_erase(&blk->id_node, &arena->ids);
	arena->used -= blk->size;
	vmm_count_add(&arena->nr_blocks, -1);
	vmm_idc_forget(arena, blk);
	if (blk->state == VMM_BLOCK_DEAD)
		arena->nr_dead--;
	if (blk->mappable) {
		arena->nr_mappable--;
		/* No mapping is left in its range: ida_free() does not sleep. */
		ida_free(&arena->map_ida, blk->map_slot);
	}
	vmm_scope_leave(blk);
	vmm_usage_uncharge(arena, blk->usage, blk->size);
	blk->usage = NULL;
	above = vmm_extent_give(arena, blk->start, blk->size);
	if (above)
		above->prev_blk = vmm_block_prev(blk);
	rb_erase(&blk->addr_node, &arena->addrs);
	vmm_reserve_trim(arena);
	kmem_cache_free(vmm_block_cache, blk);
	vmm_self_check(arena);
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
	/* More than RAM, or than __vmalloc() can take (a 32-bit PAE box). */
	if (size > (u64)totalram_pages() << PAGE_SHIFT ||
	    size != (unsigned long)size)
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
	vmm_idc_limits(arena);

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
	vmm_idc_destroy(arena);
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

/* Whether taking [start, start + size) from @ext leaves space on both sides. */
static bool vmm_take_splits(const struct vmm_extent *ext, u64 start, u64 size)
{
	return start > ext->start && start + size < vmm_extent_end(ext);
}

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
	struct vmm_block *pred;
	struct vmm_extent *ext;
	u64 start;
	int ret;

	lockdep_assert_held(&arena->lock);
	ret = vmm_charge_check(arena, ch, size, max_blocks,
			       req && req->ask_limits);
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
	vmm_count_add(&arena->nr_blocks, 1);
	pred = ext->prev_blk;
	vmm_extent_take(arena, ext, start, size, blk);
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
	vmm_block_insert(arena, blk, pred);
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
	struct vmm_idc_new idc = { };
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
	if (!idc.idc)
		vmm_idc_prealloc(arena, 1, &idc);
	vmm_lock(arena);
	if (unlikely(idc.claimed))
		vmm_idc_install(arena, &idc);
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
		/*
		 * Over a limit privilege lifts (noted only for a caller not
		 * yet asked): the caller finds out first.
		 */
		if (ret == -EDQUOT && ch.liftable)
			ret = -EAGAIN;
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
		if (unlikely(idc.idc))
			kvfree(idc.idc);
		return 0;
	}
	/* Pinned and invisible until zeroed, so nobody sees old bytes. */
	blk->state = VMM_BLOCK_NEW;
	vmm_pin_locked(arena, blk);
	vmm_self_check(arena);
	vmm_unlock(arena);
	vmm_charge_release(&ch);
	if (unlikely(idc.idc))
		kvfree(idc.idc);

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
	kvfree(idc.idc);
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
 * defragmentation to finish, or stopped the compaction before the block
 * fit, -EAGAIN instead of a compaction or of an
 * -EDQUOT privilege would lift when @req->ask_limits is set.  The
 * defragmentation never waits for copies in flight.
 */
int vmm_arena_alloc_owned(struct vmm_arena *arena, u64 size, u64 align,
			  bool compact, const struct vmm_alloc_req *req,
			  u64 *id, u64 *start)
{
	u64 t0 = vmm_trace_start(trace_vmm_alloc_enabled());
	u64 bytes = 0, blocks = 0, bsize = size, balign = align;
	bool done, interrupted;
	int ret;

	/* What a mappable block takes (a bad size fails before it counts). */
	if (req && req->mappable && size <= arena->size) {
		bsize = round_up(size, PAGE_SIZE);
		balign = max_t(u64, align, PAGE_SIZE);
	}
	ret = __vmm_arena_alloc(arena, size, align, true, req, id, start);
	/* Over the unprivileged block limit alone (see @req). */
	if (ret == -EAGAIN)
		return ret;
	if (ret == -ENOSPC && (compact || READ_ONCE(arena->auto_compact)) &&
	    vmm_fits_when_packed(arena, bsize, balign)) {
		/* No more than the caller could move with VMM_IOC_DEFRAG. */
		const struct vmm_cred *cred = req ? req->cred : NULL;
		u64 budget;

		/* Which is that?  The caller finds out first (see @req). */
		if (req && req->ask_limits)
			return -EAGAIN;
		budget = cred && !cred->privileged ? VMM_DEFRAG_USER_BUDGET : 0;
		ret = vmm_defrag(arena, cred, budget, false, &bytes, &blocks,
				 &done, &interrupted);
		if (!ret)
			ret = __vmm_arena_alloc(arena, size, align, true, req,
						id, start);
		/*
		 * A signal cut the compaction short: nothing is allocated,
		 * so the call can restart (or fail with -EINTR) rather than
		 * report as missing the space the rest would have made.  Only
		 * then: a compaction stopped by anything else would stop
		 * there again, and a restart make no progress.  An
		 * interrupted one has moved something, so restarts end.
		 */
		if (ret == -ENOSPC && interrupted)
			ret = -ERESTARTSYS;
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

/*
 * Free a live block: it leaves its file's scope and the ID lookups at
 * once; with copies in flight, its range is released when the last one
 * finishes, and with mappings, when the last one goes (as System V shared
 * memory after IPC_RMID).
 */
static void vmm_block_kill(struct vmm_arena *arena, struct vmm_block *blk)
{
	lockdep_assert_held(&arena->lock);
	vmm_scope_leave(blk);
	arena->frees++;
	if (vmm_block_held(arena, blk)) {
		blk->state = VMM_BLOCK_DEAD;
		arena->nr_dead++;
		/* In a gather: the compactor releases it once it is in place. */
		if (vmm_block_in_gather(arena, blk))
			arena->gather_freed++;
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
	struct vmm_idc_new idc;
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
		idc = (struct vmm_idc_new){ };
		vmm_idc_prealloc(arena, allocs, &idc);
		vmm_lock(arena);
		if (unlikely(idc.claimed))
			vmm_idc_install(arena, &idc);
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
		if (unlikely(idc.idc))
			kvfree(idc.idc);
		while (chunk--)
			if (blks[chunk])
				kmem_cache_free(vmm_block_cache, blks[chunk]);
		done += i;
		cond_resched();
	}
	return done;
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
