/* SPDX-License-Identifier: GPL-2.0 */
/* The arena's calls for the kernel itself; see vmm_arena_kernel.c. */
#ifndef _VMM_ARENA_KERNEL_H
#define _VMM_ARENA_KERNEL_H

#include "vmm.h"

int vmm_arena_alloc_compact(struct vmm_arena *arena, u64 size, u64 align,
			    bool compact, u64 *id, u64 *start);
int vmm_arena_alloc(struct vmm_arena *arena, u64 size, u64 align,
		    u64 *id, u64 *start);
int vmm_arena_free(struct vmm_arena *arena, u64 id);
int vmm_arena_info(struct vmm_arena *arena, u64 id, u64 *start, u64 *size);
struct vmm_block *vmm_arena_pin(struct vmm_arena *arena, u64 id);

#endif
