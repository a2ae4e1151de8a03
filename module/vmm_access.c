// SPDX-License-Identifier: GPL-2.0
/*
 * Access to a block's bytes: attributes, selection, pins that keep a
 * block in place while its bytes are copied outside the lock, and the
 * mappings that hold its range.
 */

#include <linux/bug.h>
#include <linux/err.h>
#include <linux/mm.h>
#include <linux/rbtree.h>
#include <linux/sched.h>
#include <linux/wait.h>

#include "vmm_arena.h"

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
		} else if (!vmm_block_moving(arena, blk)) {
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
 * vmm_arena_unpin() - end a copy started with vmm_arena_pin_perm()
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
		if (blk->state == VMM_BLOCK_DEAD && !vmm_block_held(arena, blk))
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
	if (!vmm_block_moving(arena, blk)) {
		vmm_pin_locked(arena, blk);
		ret = 0;
	}
	vmm_unlock(arena);
	return ret;
}
