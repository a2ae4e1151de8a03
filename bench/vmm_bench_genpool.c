// SPDX-License-Identifier: GPL-2.0
/*
 * gen_pool (lib/genalloc.c) under the benchmark, with its first-fit and
 * best-fit algorithms.  The pool manages a range of addresses that is never
 * dereferenced, so it needs no memory beyond its bitmap.  gen_pool_free()
 * needs the size of the block, so the benchmark records it, and counts it
 * as metadata.
 */
#include <linux/err.h>
#include <linux/genalloc.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/spinlock.h>

#include "../module/vmm_compat.h"
#include "vmm_bench.h"

/*
 * The address of the range the pool manages.  Never dereferenced; not 0,
 * since gen_pool_alloc() returns 0 for failure.
 */
#define VMM_BENCH_GENPOOL_BASE	PAGE_SIZE

/**
 * struct vmm_bench_genpool - a gen_pool and its blocks
 * @inst: the benchmark's handle
 * @lock: taken around every call into @pool, as vmm's arena lock is;
 *	gen_pool itself allocates locklessly
 * @pool: the pool, one chunk of @inst.size bytes
 * @algo: its allocation algorithm, for gen_pool_alloc_algo()
 * @addr: the block in each slot, 0 for none
 * @size: the size of the block in each slot, for gen_pool_free()
 */
struct vmm_bench_genpool {
	struct vmm_bench_inst inst;
	/* serialises @pool */
	spinlock_t lock;
	struct gen_pool *pool;
	genpool_algo_t algo;
	unsigned long *addr;
	u32 *size;
};

static struct vmm_bench_genpool *to_genpool(struct vmm_bench_inst *inst)
{
	return container_of(inst, struct vmm_bench_genpool, inst);
}

static struct vmm_bench_inst *vmm_bench_genpool_create(u64 size, u32 slots,
						       genpool_algo_t algo)
{
	struct vmm_bench_genpool *g;
	int ret = -ENOMEM;

	g = kzalloc_obj(*g, GFP_KERNEL);
	if (!g)
		return ERR_PTR(-ENOMEM);
	spin_lock_init(&g->lock);
	g->algo = algo;
	g->addr = kvcalloc(slots, sizeof(*g->addr), GFP_KERNEL);
	if (!g->addr)
		goto err_free;
	g->size = kvcalloc(slots, sizeof(*g->size), GFP_KERNEL);
	if (!g->size)
		goto err_addr;
	g->pool = gen_pool_create(VMM_BENCH_GRANULE_ORDER, NUMA_NO_NODE);
	if (!g->pool)
		goto err_size;
	ret = gen_pool_add(g->pool, VMM_BENCH_GENPOOL_BASE, size, NUMA_NO_NODE);
	if (ret)
		goto err_pool;
	g->inst.size = size;
	g->inst.slots = slots;
	return &g->inst;

err_pool:
	gen_pool_destroy(g->pool);
err_size:
	kvfree(g->size);
err_addr:
	kvfree(g->addr);
err_free:
	kfree(g);
	return ERR_PTR(ret);
}

static struct vmm_bench_inst *vmm_bench_genpool_create_first(u64 size,
							     u32 slots)
{
	struct vmm_bench_inst *inst;

	inst = vmm_bench_genpool_create(size, slots, gen_pool_first_fit);
	if (!IS_ERR(inst))
		inst->ops = &vmm_bench_genpool_first;
	return inst;
}

static struct vmm_bench_inst *vmm_bench_genpool_create_best(u64 size,
							    u32 slots)
{
	struct vmm_bench_inst *inst;

	inst = vmm_bench_genpool_create(size, slots, gen_pool_best_fit);
	if (!IS_ERR(inst))
		inst->ops = &vmm_bench_genpool_best;
	return inst;
}

static void vmm_bench_genpool_free(struct vmm_bench_inst *inst, u32 slot)
{
	struct vmm_bench_genpool *g = to_genpool(inst);

	spin_lock(&g->lock);
	gen_pool_free(g->pool, g->addr[slot], g->size[slot]);
	spin_unlock(&g->lock);
	g->addr[slot] = 0;
}

static void vmm_bench_genpool_destroy(struct vmm_bench_inst *inst)
{
	struct vmm_bench_genpool *g = to_genpool(inst);
	u32 slot;

	/* gen_pool_destroy() insists on an empty pool. */
	for (slot = 0; slot < inst->slots; slot++) {
		if (g->addr[slot])
			vmm_bench_genpool_free(inst, slot);
		if (!(slot % 1024))
			cond_resched();
	}
	gen_pool_destroy(g->pool);
	kvfree(g->size);
	kvfree(g->addr);
	kfree(g);
}

static int vmm_bench_genpool_alloc(struct vmm_bench_inst *inst, u32 slot,
				   u64 size)
{
	struct vmm_bench_genpool *g = to_genpool(inst);
	unsigned long addr;

	spin_lock(&g->lock);
	addr = gen_pool_alloc_algo(g->pool, size, g->algo, NULL);
	spin_unlock(&g->lock);
	if (!addr)
		return -ENOSPC;
	g->addr[slot] = addr;
	g->size[slot] = size;
	return 0;
}

/*
 * A gen_pool algorithm that picks the granule *@data asks for, if the
 * range there is free.
 */
static unsigned long vmm_bench_genpool_at(unsigned long *map,
					  unsigned long size,
					  unsigned long start, unsigned int nr,
					  void *data, struct gen_pool *pool,
					  unsigned long start_addr)
{
	unsigned long want = *(unsigned long *)data;

	if (bitmap_find_next_zero_area(map, size, want, nr, 0) != want)
		return size;
	return want;
}

static int vmm_bench_genpool_place(struct vmm_bench_inst *inst, u32 slot,
				   u64 start, u64 size)
{
	struct vmm_bench_genpool *g = to_genpool(inst);
	unsigned long want = start >> VMM_BENCH_GRANULE_ORDER;
	unsigned long addr;

	spin_lock(&g->lock);
	addr = gen_pool_alloc_algo(g->pool, size, vmm_bench_genpool_at, &want);
	spin_unlock(&g->lock);
	if (addr != VMM_BENCH_GENPOOL_BASE + start)
		return -ENOSPC;
	g->addr[slot] = addr;
	g->size[slot] = size;
	return 0;
}

static bool vmm_bench_genpool_live(struct vmm_bench_inst *inst, u32 slot)
{
	return to_genpool(inst)->addr[slot];
}

static int vmm_bench_genpool_where(struct vmm_bench_inst *inst, u32 slot,
				   u64 *start, u64 *size)
{
	struct vmm_bench_genpool *g = to_genpool(inst);

	*start = g->addr[slot] - VMM_BENCH_GENPOOL_BASE;
	*size = g->size[slot];
	return 0;
}

/* The chunk with its bitmap, plus the size recorded for every block. */
static u64 vmm_bench_genpool_metadata(struct vmm_bench_inst *inst)
{
	struct vmm_bench_genpool *g = to_genpool(inst);
	u64 bits = inst->size >> VMM_BENCH_GRANULE_ORDER;
	u64 blocks = 0;
	u32 slot;

	for (slot = 0; slot < inst->slots; slot++)
		blocks += !!g->addr[slot];
	return sizeof(struct gen_pool_chunk) + BITS_TO_LONGS(bits) *
	       sizeof(long) + blocks * sizeof(*g->size);
}

const struct vmm_bench_ops vmm_bench_genpool_first = {
	.name = "genpool_first",
	.create = vmm_bench_genpool_create_first,
	.destroy = vmm_bench_genpool_destroy,
	.alloc = vmm_bench_genpool_alloc,
	.free = vmm_bench_genpool_free,
	.live = vmm_bench_genpool_live,
	.place = vmm_bench_genpool_place,
	.where = vmm_bench_genpool_where,
	.metadata = vmm_bench_genpool_metadata,
};

const struct vmm_bench_ops vmm_bench_genpool_best = {
	.name = "genpool_best",
	.create = vmm_bench_genpool_create_best,
	.destroy = vmm_bench_genpool_destroy,
	.alloc = vmm_bench_genpool_alloc,
	.free = vmm_bench_genpool_free,
	.live = vmm_bench_genpool_live,
	.place = vmm_bench_genpool_place,
	.where = vmm_bench_genpool_where,
	.metadata = vmm_bench_genpool_metadata,
};
