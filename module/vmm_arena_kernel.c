// SPDX-License-Identifier: GPL-2.0
/*
 * The arena's calls for a caller with no credentials, the kernel itself:
 * the KUnit suite and the benchmark, which compile this file in after the
 * arena's unit (vmm_arena_unit.c).  vmm.ko's callers always act for a
 * task, through the *_owned() and *_perm() calls, so it does not build
 * this file (STYLE: test-only code stays out of the product).
 */
#include "vmm_arena_kernel.h"

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
