// SPDX-License-Identifier: GPL-2.0
/*
 * Compaction: live blocks slide toward the start of the arena in order,
 * in runs of adjacent blocks, copied outside the lock while they count as
 * moving (vmm_block_moving()).
 */

#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/rbtree.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/string.h>
#include <linux/wait.h>

#include "vmm_arena.h"
#include "vmm_trace.h"

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
 * struct vmm_pass - one defragmentation call's limits and progress
 * @cred: the caller, or NULL for the kernel
 * @budget: the most bytes to move; for a call without one, the bytes in
 *	blocks when it first took the compaction mutex, which a compaction
 *	from scratch moves at most once, so that churn by others cannot keep
 *	any call going
 * @moved: bytes moved so far by this call
 * @bytes: the caller's byte counter
 * @blocks: the caller's block counter
 * @walk_limit: blocks looked at after which no pass starts: two walks
 *	over the blocks there were when it first took the mutex (and a batch),
 *	which is what packing them takes, so that churn by others that
 *	leaves each pass a little to move cannot keep any call going either
 *	(the pass under way runs to its end: three walks at most)
 * @walked: blocks looked at so far by this call
 * @spare: an extent node for the free space a mappable block leaves
 *	below the page boundary it moves to, allocated without the lock
 * @nowait: for %VMM_DEFRAG_NOWAIT: never wait for the compaction mutex,
 *	which another compaction may take while this one gives up its CPU
 * @over_budget: stopped before a block that would exceed @budget
 * @interrupted: stopped for a pending signal
 * @nomem: stopped because @spare could not be allocated
 * @unlocked: stopped because the compaction mutex could not be taken
 *	back after giving up the CPU: -EBUSY (with @nowait) or -ERESTARTSYS
 * @g: the runs moving now, &vmm_arena.gather
 */
struct vmm_pass {
	const struct vmm_cred *cred;
	u64 budget;
	u64 moved;
	u64 *bytes;
	u64 *blocks;
	u64 walk_limit;
	u64 walked;
	struct vmm_extent *spare;
	struct vmm_gather *g;
	bool nowait;
	bool over_budget;
	bool interrupted;
	bool nomem;
	int unlocked;
};

/*
 * While a compaction holds its mutex it keeps its CPU (preemption off),
 * except in the move of a block too large to copy in one go (more than
 * %VMM_CHUNK) or of a mapped block (whose zap sleeps): a caller that
 * seldom gets a CPU (SCHED_IDLE beside a busy task) then does not wait
 * for one holding the mutex, or the blocks of a step, which others'
 * compactions and copies would wait for.  It lets go of both at once
 * between steps (vmm_pass_yield()), when a task needs the CPU, and to
 * allocate.  It can still hold the mutex off the CPU right after waiting
 * for it: a mutex may be handed to a waiter that is not running yet.
 * Not on PREEMPT_RT, where the arena's lock sleeps.
 */
static void vmm_compact_preempt_off(void)
{
	if (!IS_ENABLED(CONFIG_PREEMPT_RT))
		preempt_disable();
}

static void vmm_compact_preempt_on(void)
{
	if (!IS_ENABLED(CONFIG_PREEMPT_RT))
		preempt_enable();
}

/*
 * Take the compaction mutex for @pass (without waiting for it if
 * @pass->nowait), and keep the CPU while it is held.  Return: 0, -EBUSY
 * or -ERESTARTSYS.
 */
static int vmm_pass_lock(struct vmm_arena *arena, struct vmm_pass *pass)
{
	if (pass->nowait) {
		if (!mutex_trylock(&arena->compact_lock))
			return -EBUSY;
	} else if (mutex_lock_interruptible(&arena->compact_lock)) {
		return -ERESTARTSYS;
	}
	vmm_compact_preempt_off();
	return 0;
}

static void vmm_pass_unlock(struct vmm_arena *arena)
{
	mutex_unlock(&arena->compact_lock);
	vmm_compact_preempt_on();
}

/*
 * Copy @bytes from @src down to @dst without the lock, yielding between
 * pieces of %VMM_CHUNK: a copy of one piece or less never yields.
 */
static void vmm_move_bytes(struct vmm_arena *arena, u64 dst, u64 src,
			   u64 bytes)
{
	u64 done, n;

	/* Increasing offsets: safe for the overlapping downward move. */
	for (done = 0; done < bytes; done += n) {
		if (done)
			cond_resched();
		n = min_t(u64, bytes - done, VMM_CHUNK);
		memmove(arena->base + dst + done, arena->base + src + done, n);
	}
}

/*
 * A move that started with &vmm_arena.moving_ext out of the free tree
 * ended: @bytes of blocks, the highest of them @last, now start at @dst,
 * and the @dist bytes of free space that lay below and between them lie
 * above.  The node that was out of the tree serves that space if it
 * needs one.
 */
static void vmm_move_account(struct vmm_arena *arena, struct vmm_pass *pass,
			     u64 dst, u64 bytes, u64 dist, unsigned int blocks,
			     struct vmm_block *last)
{
	struct vmm_extent *moving = arena->moving_ext, *next, *above;

	lockdep_assert_held(&arena->lock);
	arena->moving_ext = NULL;
	for (; moving; moving = next) {
		next = moving->next;
		vmm_count_add(&arena->nr_extents, -1);
		vmm_ext_put(arena, moving);
	}
	arena->bytes_moved += bytes;
	*pass->bytes += bytes;
	*pass->blocks += blocks;
	above = vmm_extent_give(arena, dst + bytes, dist);
	if (above)
		above->prev_blk = last;
}

/* @blk is in place: release it if it was freed during the move. */
static void vmm_block_moved(struct vmm_arena *arena, struct vmm_block *blk)
{
	blk->moving = false;
	if (blk->state == VMM_BLOCK_DEAD && !vmm_block_held(arena, blk))
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
	vmm_count_add(&arena->nr_extents, 1);
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

	/* A long copy and a zap may yield (see vmm_compact_preempt_off()). */
	if (zapped || size > VMM_CHUNK)
		vmm_compact_preempt_on();
	if (zapped)
		unmap_mapping_pages(arena->mapping, base, size >> PAGE_SHIFT,
				    true);
	vmm_move_bytes(arena, dst, src, size);
	/* The move cannot fail from here on; traced while the lock is free. */
	trace_vmm_move(blk->id, src, dst, size, zapped);
	if (zapped || size > VMM_CHUNK)
		vmm_compact_preempt_off();

	vmm_lock(arena);
	blk->start = dst;
	vmm_move_account(arena, pass, dst, size, src - dst, 1, blk);
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
 * Release the blocks of @g that were freed while they moved, and that
 * nothing else holds, %VMM_META_HOLD per hold of the lock.  Nothing else
 * reaches them meanwhile: lookups skip freed blocks, nobody pins or maps
 * them, and this compactor is the only one.  Walks the gather only when
 * its moves saw a free.
 */
static void vmm_gather_release(struct vmm_arena *arena, struct vmm_gather *g)
	__must_hold(&arena->lock)
{
	struct vmm_block *blk;
	unsigned int k, i;
	LIST_HEAD(dead);

	lockdep_assert_held(&arena->lock);
	if (!arena->gather_freed)
		return;
	arena->gather_freed = 0;
	/* Nothing can come between blocks of a run, nor leave it, meanwhile. */
	for (k = 0; k < g->runs; k++) {
		blk = g->first[k];
		for (i = 0; i < g->nr[k]; i++, blk = vmm_block_next(blk)) {
			/* Its scope link is free to use once it is freed. */
			if (blk->state == VMM_BLOCK_DEAD &&
			    !vmm_block_held(arena, blk))
				list_add_tail(&blk->scope_node, &dead);
		}
	}
	vmm_release_dead(arena, &dead);
}

/*
 * Copy the runs of @pass's gather, which vmm_gather_runs() put in place in
 * the metadata, without the lock, then return the space they leave, and
 * the offset just past the last one's new place.  Every block of a run
 * slides by the same distance, so one memmove() per run does for all of
 * them.
 */
static u64 vmm_gather_slide(struct vmm_arena *arena, struct vmm_pass *pass)
	__must_hold(&arena->lock)
{
	struct vmm_gather *g = pass->g;
	u64 end = g->src[g->runs - 1] + g->bytes[g->runs - 1], to;
	unsigned int k;

	lockdep_assert_held(&arena->lock);
	vmm_unlock(arena);
	/* Only a lone first block may be longer (see vmm_compact_preempt_off()). */
	if (g->total > VMM_CHUNK)
		vmm_compact_preempt_on();

	/* In offset order: each run lands on space already vacated. */
	to = g->dst;
	for (k = 0; k < g->runs; k++) {
		vmm_move_bytes(arena, to, g->src[k], g->bytes[k]);
		if (g->nr[k] == 1)
			trace_vmm_move(g->first[k]->id, g->src[k], to,
				       g->bytes[k], 0);
		else
			trace_vmm_move_run(g->first[k]->id, g->nr[k], g->src[k],
					   to, g->bytes[k]);
		to += g->bytes[k];
	}

	if (g->total > VMM_CHUNK)
		vmm_compact_preempt_off();
	vmm_lock(arena);
	arena->gather_lo = 0;
	arena->gather_hi = 0;
	vmm_move_account(arena, pass, g->dst, g->total,
			 end - (g->dst + g->total), g->blocks, g->last);
	vmm_self_check(arena);
	vmm_gather_release(arena, g);
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
 * The bytes @pass's gather may still take: what is left of the budget, at
 * most %VMM_CHUNK in all.
 */
static u64 vmm_pass_room(const struct vmm_pass *pass)
{
	u64 room = pass->budget ? pass->budget - min(pass->budget, pass->moved) :
				  U64_MAX;

	room = min_t(u64, room, VMM_CHUNK);
	return room - min(room, pass->g->total);
}

/*
 * How many adjacent blocks from @first, which slides down by @dist, slide
 * with it as one run, and their bytes in *@bytes; moves them down by
 * @dist in the metadata, @first included.  With what @pass's gather holds
 * already, at most %VMM_GATHER_BLOCKS blocks and %VMM_CHUNK bytes (or, for
 * the gather's first run, @first alone if it is larger), so that no more
 * than that is copied between two chances for others to take the lock,
 * within what is left of @pass's budget; up to the first block that
 * stays, is mapped (its move needs a zap), or is mappable and would leave
 * its page boundary.  The run's last block in *@last, and the block
 * after it, if the walk looked at it, in *@next.
 */
static unsigned int vmm_run_place(const struct vmm_pass *pass,
				  struct vmm_block *first, u64 dist, u64 *bytes,
				  struct vmm_block **last, struct vmm_block **next)
{
	u64 room = vmm_pass_room(pass), sum = first->size, end;
	struct vmm_block *blk = first, *nb = NULL;
	unsigned int nr = 1;

	for (;; nr++, blk = nb) {
		end = vmm_block_end(blk);
		blk->start -= dist;
		nb = NULL;
		if (pass->g->blocks + nr >= VMM_GATHER_BLOCKS)
			break;
		nb = vmm_block_next(blk);
		if (!nb || nb->start != end || vmm_block_stays(pass, nb) ||
		    nb->maps ||
		    (nb->mappable && !IS_ALIGNED(dist, PAGE_SIZE)) ||
		    sum + nb->size > room)
			break;
		sum += nb->size;
	}
	*bytes = sum;
	*last = blk;
	*next = nb;
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
	return pass->g->runs < VMM_GATHER_RUNS &&
	       pass->g->blocks < VMM_GATHER_BLOCKS &&
	       !vmm_block_stays(pass, blk) && !blk->mappable &&
	       blk->size <= vmm_pass_room(pass);
}

/*
 * From @blk, which slides down over @ext, the free extent right below it,
 * to @ext's start, gather the runs that follow it across the free extents
 * between them, into @pass's gather: each slides down by all the free
 * space below it, so that together they close up.  The metadata moves at
 * once: the blocks' offsets are the new ones, and the free extents they
 * close become one, above them, out of the tree on
 * &vmm_arena.moving_ext so that nobody can allocate in it while the runs
 * are copied without the lock; the blocks are moving as long as
 * &vmm_arena.gather_lo and &vmm_arena.gather_hi hold their range.  Adds
 * the bytes to @pass->moved.
 */
static void vmm_gather_runs(struct vmm_arena *arena, struct vmm_pass *pass,
			    struct vmm_block *blk, struct vmm_extent *ext)
	__must_hold(&arena->lock)
{
	struct vmm_extent *hidden = NULL, *above;
	struct vmm_gather *g = pass->g;
	struct vmm_block *next;
	unsigned int r;
	struct rb_node *n;
	u64 dist = 0;

	lockdep_assert_held(&arena->lock);
	g->dst = ext->start;
	g->runs = 0;
	g->blocks = 0;
	g->total = 0;
	for (;;) {
		dist += ext->size;
		r = g->runs++;
		g->first[r] = blk;
		g->src[r] = blk->start;
		g->nr[r] = vmm_run_place(pass, blk, dist, &g->bytes[r],
					 &g->last, &next);
		g->blocks += g->nr[r];
		g->total += g->bytes[r];

		n = rb_next(&ext->node);
		above = n ? rb_entry(n, struct vmm_extent, node) : NULL;
		vmm_extent_unlink(arena, ext);
		/* The first node serves the closed-up space; the rest go. */
		if (hidden)
			vmm_ext_put(arena, ext);
		else
			hidden = ext;

		/* A run ends at a hole, or at a block that cannot join it. */
		if (!above || above->start != g->src[r] + g->bytes[r] ||
		    !next || next->start != vmm_extent_end(above) ||
		    !vmm_gather_may_join(pass, next))
			break;
		blk = next;
		ext = above;
	}
	/* Still counted, and seen by the self-check, while out of the tree. */
	hidden->start = g->dst + g->total;
	hidden->size = dist;
	hidden->next = NULL;
	arena->moving_ext = hidden;
	vmm_count_add(&arena->nr_extents, 1);
	arena->gather_lo = g->dst;
	arena->gather_hi = g->dst + g->total;
	pass->moved += g->total;
}

/*
 * Between two steps, with the lock dropped: let others have the CPU and
 * the compaction mutex (see vmm_compact_preempt_off()), and with @spare
 * get @pass a spare extent node meanwhile (@pass->nomem if none).
 * Return: whether @pass holds the mutex again; if not, @pass->unlocked
 * says why.
 */
static bool vmm_pass_yield(struct vmm_arena *arena, struct vmm_pass *pass,
			   bool spare)
{
	vmm_pass_unlock(arena);
	cond_resched();
	if (spare) {
		pass->spare = vmm_ext_alloc();
		pass->nomem = !pass->spare;
	}
	pass->unlocked = vmm_pass_lock(arena, pass);
	return !pass->unlocked;
}

/*
 * One pass over the blocks in offset order, sliding each block that may
 * move down over the hole below it.  It starts at the lowest free extent,
 * as nothing below it can move.  The walk resumes from the offset
 * reached after every block, and each block is looked up afresh, so
 * changes made while the lock was dropped are simply seen.  The lock is
 * dropped after every move (which copies without it), every
 * %VMM_PASS_BATCH blocks, and whenever someone needs the CPU or the lock,
 * so a hold covers a bounded amount of work; when someone needs the CPU,
 * the compaction mutex goes too, and another compaction may take its
 * turn (vmm_pass_yield()).  Return: whether it moved anything; with
 * @pass->unlocked set, it returns without the mutex.
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
			vmm_unlock(arena);
			if (!vmm_pass_yield(arena, pass, true))
				return pass->moved != before;
			vmm_lock(arena);
			if (pass->nomem)
				break;
			continue;
		} else if (blk->maps || vmm_slide_dst(blk, ext) > ext->start) {
			pass->moved += blk->size;
			cursor = vmm_block_slide(arena, blk, ext, pass);
		} else {
			vmm_gather_runs(arena, pass, blk, ext);
			seen += pass->g->blocks - 1;
			pass->walked += pass->g->blocks - 1;
			cursor = vmm_gather_slide(arena, pass);
		}
		pass->walked++;
		if (++seen >= VMM_PASS_BATCH || need_resched() ||
		    spin_needbreak(&arena->lock)) {
			seen = 0;
			vmm_unlock(arena);
			if (need_resched() && !vmm_pass_yield(arena, pass, false))
				return pass->moved != before;
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
 * @budget: the most bytes to move, 0 for no limit (the bytes in blocks
 *	once the call's turn comes); a call that has moved nothing yet moves
 *	one block even if it is larger, so that callers looping until
 *	*@compact always progress
 * @nowait: return -EBUSY instead of waiting for another defragmentation
 * @bytes: incremented by the bytes copied
 * @blocks: incremented by the blocks moved
 * @compact: set to whether all free space is one range at the end
 *
 * Never waits for a copy in flight: a pinned block stays where it is, and
 * the blocks above it close up to it.  Passes repeat while they move
 * something, until they have looked at twice the blocks there were when
 * the call's turn came (after any wait for another defragmentation); the
 * call then returns with *@compact false if a pinned or too-large block,
 * the budget, that limit or a signal stopped it.  Calling again later
 * continues.  Another defragmentation may take a turn between two steps,
 * when this one gives up its CPU; with @nowait, this one then ends there,
 * with *@compact false.
 *
 * Return: 0 (blocks moved before a signal or another's turn stay moved
 * and are counted), -EBUSY (only with @nowait, before anything moved),
 * -ENOMEM if nothing moved because the extent record for the space a
 * mappable block leaves below its page boundary could not be allocated,
 * or -ERESTARTSYS if a signal came while waiting for another
 * defragmentation before anything moved (a signal already pending when
 * the mutex is free still lets the first block move).
 */
int vmm_arena_defrag(struct vmm_arena *arena, const struct vmm_cred *cred,
		     u64 budget, bool nowait, u64 *bytes, u64 *blocks,
		     bool *compact)
{
	bool interrupted;

	return vmm_defrag(arena, cred, budget, nowait, bytes, blocks, compact,
			  &interrupted);
}

/*
 * vmm_arena_defrag(), also telling (*@interrupted) whether a pending signal
 * stopped it, after it had moved something.
 */
static int vmm_defrag(struct vmm_arena *arena, const struct vmm_cred *cred,
		      u64 budget, bool nowait, u64 *bytes, u64 *blocks,
		      bool *compact, bool *interrupted)
{
	u64 t0 = vmm_trace_start(trace_vmm_defrag_end_enabled());
	struct vmm_pass pass = {
		.cred = cred, .budget = budget, .bytes = bytes, .blocks = blocks,
		.g = &arena->gather,
	};
	u64 bytes0 = *bytes, blocks0 = *blocks;
	bool progress;
	int ret = 0;

	*compact = false;
	*interrupted = false;
	trace_vmm_defrag_begin(budget, nowait ? VMM_DEFRAG_NOWAIT : 0);
	pass.nowait = nowait;
	/* -ERESTARTSYS: nothing done yet, so SA_RESTART may restart it. */
	ret = vmm_pass_lock(arena, &pass);
	if (ret)
		goto out;
	/* Sized by the arena as the call finds it once its turn comes. */
	vmm_lock(arena);
	if (!pass.budget)
		pass.budget = max(arena->used, 1ULL);
	pass.walk_limit = 2 * arena->nr_blocks + VMM_PASS_BATCH;
	vmm_unlock(arena);
	do {
		progress = vmm_compact_pass(arena, &pass);
		/* Another compaction's turn came (see vmm_pass_yield()). */
		if (pass.unlocked)
			break;
		vmm_lock(arena);
		*compact = vmm_arena_compact(arena);
		if (*compact)
			arena->defrags++;
		vmm_unlock(arena);
	} while (progress && !*compact && !pass.over_budget &&
		 !pass.interrupted && !pass.nomem &&
		 pass.walked < pass.walk_limit);
	if (!pass.unlocked)
		vmm_pass_unlock(arena);
	vmm_ext_free(pass.spare);
	if (pass.nomem && !pass.moved)
		ret = -ENOMEM;
	else if (pass.unlocked && !pass.moved)
		ret = pass.unlocked;
	*interrupted = (pass.interrupted || pass.unlocked == -ERESTARTSYS) &&
		       !*compact;
out:
	trace_vmm_defrag_end(*bytes - bytes0, *blocks - blocks0,
			     vmm_trace_since(t0), *compact, ret);
	return ret;
}
