/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The allocator benchmark's view of an allocator: a set of numbered slots,
 * each empty or holding one block.  Every allocator under test implements
 * struct vmm_bench_ops, so the benchmark drives them all with the same code
 * and the same seeded traces.
 */
#ifndef _VMM_BENCH_H
#define _VMM_BENCH_H

#include <linux/types.h>

struct vmm_bench_ops;

/**
 * struct vmm_bench_inst - one allocator instance; embedded in the
 *	allocator's own state
 * @ops: the allocator
 * @size: bytes it manages
 * @slots: number of slots
 */
struct vmm_bench_inst {
	const struct vmm_bench_ops *ops;
	u64 size;
	u32 slots;
};

/**
 * struct vmm_bench_ops - an allocator under test
 * @name: key prefix in the results, e.g. "vmm_first"
 * @create: an allocator managing @size bytes, with @slots empty slots;
 *	returns the instance or an ERR_PTR()
 * @destroy: free every block, then the allocator
 * @alloc: allocate @size bytes into the empty @slot, under the allocator's
 *	spinlock.  Returns 0, -ENOSPC when no contiguous range fits, or
 *	-ENOMEM.
 * @free: free the block in the full @slot
 * @live: whether @slot holds a block
 * @place: allocate exactly [@start, @start + @size) into the empty @slot,
 *	to replay another allocator's layout.  NULL if the allocator cannot.
 * @where: the range of the block in the full @slot.  NULL if unknown.
 * @metadata: bytes of bookkeeping for the blocks live now
 * @defrag: compact the allocator, adding to *@bytes and *@blocks the bytes
 *	and blocks moved.  NULL if the allocator cannot.
 * @memory: the bytes the allocator manages, if it owns real memory, else
 *	NULL
 */
struct vmm_bench_ops {
	const char *name;
	struct vmm_bench_inst *(*create)(u64 size, u32 slots);
	void (*destroy)(struct vmm_bench_inst *inst);
	int (*alloc)(struct vmm_bench_inst *inst, u32 slot, u64 size);
	void (*free)(struct vmm_bench_inst *inst, u32 slot);
	bool (*live)(struct vmm_bench_inst *inst, u32 slot);
	int (*place)(struct vmm_bench_inst *inst, u32 slot, u64 start,
		     u64 size);
	int (*where)(struct vmm_bench_inst *inst, u32 slot, u64 *start,
		     u64 *size);
	u64 (*metadata)(struct vmm_bench_inst *inst);
	int (*defrag)(struct vmm_bench_inst *inst, u64 *bytes, u64 *blocks);
	u8 *(*memory)(struct vmm_bench_inst *inst);
};

extern const struct vmm_bench_ops vmm_bench_vmm_first;
extern const struct vmm_bench_ops vmm_bench_vmm_best;
extern const struct vmm_bench_ops vmm_bench_genpool_first;
extern const struct vmm_bench_ops vmm_bench_genpool_best;
extern const struct vmm_bench_ops vmm_bench_drmmm_low;
extern const struct vmm_bench_ops vmm_bench_drmmm_best;

/* The bytes that back one gen_pool granule (min_alloc_order). */
#define VMM_BENCH_GRANULE_ORDER	3

#endif /* _VMM_BENCH_H */
