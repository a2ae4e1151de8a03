// SPDX-License-Identifier: GPL-2.0
/*
 * drm_mm (drivers/gpu/drm/drm_mm.c, in drm.ko) under the benchmark, in its
 * DRM_MM_INSERT_LOW (lowest address that fits: vmm's first-fit) and
 * DRM_MM_INSERT_BEST (smallest hole that fits) modes.  drm_mm manages a
 * range of numbers and needs no memory behind it.  Its callers provide the
 * nodes; the benchmark kzalloc()s one per allocation and kfree()s it on
 * free, inside the timed call, since vmm allocates its own metadata inside
 * vmm_arena_alloc().  drm_mm keeps its holes inside the nodes, so a node is
 * all the metadata a block costs; it is counted as slab rounds it, as vmm
 * counts its own nodes.
 */
#include <drm/drm_mm.h>
#include <linux/err.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/spinlock.h>

#include "../module/vmm_compat.h"
#include "vmm_bench.h"

/**
 * struct vmm_bench_drmmm - a drm_mm and its nodes
 * @inst: the benchmark's handle
 * @lock: taken around every call into @mm, as vmm's arena lock is;
 *	drm_mm leaves locking to its callers
 * @mm: the range manager
 * @mode: how it places nodes
 * @nodes: the node in each slot, NULL for none
 */
struct vmm_bench_drmmm {
	struct vmm_bench_inst inst;
	/* serialises @mm */
	spinlock_t lock;
	struct drm_mm mm;
	enum drm_mm_insert_mode mode;
	struct drm_mm_node **nodes;
};

static struct vmm_bench_drmmm *to_drmmm(struct vmm_bench_inst *inst)
{
	return container_of(inst, struct vmm_bench_drmmm, inst);
}

static struct vmm_bench_inst *vmm_bench_drmmm_create(u64 size, u32 slots,
						     enum drm_mm_insert_mode mode)
{
	struct vmm_bench_drmmm *d;

	d = kzalloc_obj(*d, GFP_KERNEL);
	if (!d)
		return ERR_PTR(-ENOMEM);
	d->nodes = kvcalloc(slots, sizeof(*d->nodes), GFP_KERNEL);
	if (!d->nodes) {
		kfree(d);
		return ERR_PTR(-ENOMEM);
	}
	spin_lock_init(&d->lock);
	drm_mm_init(&d->mm, 0, size);
	d->mode = mode;
	d->inst.size = size;
	d->inst.slots = slots;
	return &d->inst;
}

static struct vmm_bench_inst *vmm_bench_drmmm_create_low(u64 size, u32 slots)
{
	struct vmm_bench_inst *inst;

	inst = vmm_bench_drmmm_create(size, slots, DRM_MM_INSERT_LOW);
	if (!IS_ERR(inst))
		inst->ops = &vmm_bench_drmmm_low;
	return inst;
}

static struct vmm_bench_inst *vmm_bench_drmmm_create_best(u64 size, u32 slots)
{
	struct vmm_bench_inst *inst;

	inst = vmm_bench_drmmm_create(size, slots, DRM_MM_INSERT_BEST);
	if (!IS_ERR(inst))
		inst->ops = &vmm_bench_drmmm_best;
	return inst;
}

static void vmm_bench_drmmm_free(struct vmm_bench_inst *inst, u32 slot)
{
	struct vmm_bench_drmmm *d = to_drmmm(inst);
	struct drm_mm_node *node = d->nodes[slot];

	spin_lock(&d->lock);
	drm_mm_remove_node(node);
	spin_unlock(&d->lock);
	kfree(node);
	d->nodes[slot] = NULL;
}

static void vmm_bench_drmmm_destroy(struct vmm_bench_inst *inst)
{
	struct vmm_bench_drmmm *d = to_drmmm(inst);
	u32 slot;

	/* drm_mm_takedown() warns about nodes left behind. */
	for (slot = 0; slot < inst->slots; slot++) {
		if (d->nodes[slot])
			vmm_bench_drmmm_free(inst, slot);
		if (!(slot % 1024))
			cond_resched();
	}
	drm_mm_takedown(&d->mm);
	kvfree(d->nodes);
	kfree(d);
}

static int vmm_bench_drmmm_alloc(struct vmm_bench_inst *inst, u32 slot,
				 u64 size)
{
	struct vmm_bench_drmmm *d = to_drmmm(inst);
	struct drm_mm_node *node;
	int ret;

	node = kzalloc_obj(*node, GFP_KERNEL);
	if (!node)
		return -ENOMEM;
	spin_lock(&d->lock);
	ret = drm_mm_insert_node_in_range(&d->mm, node, size, 0, 0, 0,
					  U64_MAX, d->mode);
	spin_unlock(&d->lock);
	if (ret) {
		kfree(node);
		return ret;
	}
	d->nodes[slot] = node;
	return 0;
}

static int vmm_bench_drmmm_place(struct vmm_bench_inst *inst, u32 slot,
				 u64 start, u64 size)
{
	struct vmm_bench_drmmm *d = to_drmmm(inst);
	struct drm_mm_node *node;
	int ret;

	node = kzalloc_obj(*node, GFP_KERNEL);
	if (!node)
		return -ENOMEM;
	node->start = start;
	node->size = size;
	spin_lock(&d->lock);
	ret = drm_mm_reserve_node(&d->mm, node);
	spin_unlock(&d->lock);
	if (ret) {
		kfree(node);
		return ret;
	}
	d->nodes[slot] = node;
	return 0;
}

static bool vmm_bench_drmmm_live(struct vmm_bench_inst *inst, u32 slot)
{
	return to_drmmm(inst)->nodes[slot];
}

static int vmm_bench_drmmm_where(struct vmm_bench_inst *inst, u32 slot,
				 u64 *start, u64 *size)
{
	struct drm_mm_node *node = to_drmmm(inst)->nodes[slot];

	*start = node->start;
	*size = node->size;
	return 0;
}

static u64 vmm_bench_drmmm_metadata(struct vmm_bench_inst *inst)
{
	struct vmm_bench_drmmm *d = to_drmmm(inst);
	u64 blocks = 0;
	u32 slot;

	for (slot = 0; slot < inst->slots; slot++)
		blocks += !!d->nodes[slot];
	return blocks * kmalloc_size_roundup(sizeof(struct drm_mm_node));
}

const struct vmm_bench_ops vmm_bench_drmmm_low = {
	.name = "drmmm_low",
	.create = vmm_bench_drmmm_create_low,
	.destroy = vmm_bench_drmmm_destroy,
	.alloc = vmm_bench_drmmm_alloc,
	.free = vmm_bench_drmmm_free,
	.live = vmm_bench_drmmm_live,
	.place = vmm_bench_drmmm_place,
	.where = vmm_bench_drmmm_where,
	.metadata = vmm_bench_drmmm_metadata,
};

const struct vmm_bench_ops vmm_bench_drmmm_best = {
	.name = "drmmm_best",
	.create = vmm_bench_drmmm_create_best,
	.destroy = vmm_bench_drmmm_destroy,
	.alloc = vmm_bench_drmmm_alloc,
	.free = vmm_bench_drmmm_free,
	.live = vmm_bench_drmmm_live,
	.place = vmm_bench_drmmm_place,
	.where = vmm_bench_drmmm_where,
	.metadata = vmm_bench_drmmm_metadata,
};
