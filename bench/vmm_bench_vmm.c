// SPDX-License-Identifier: GPL-2.0
/*
 * vmm's allocator under the benchmark.  The arena's unit is compiled in
 * here, as vmm_kunit.ko does, so that the benchmark runs exactly vmm.ko's
 * allocator without vmm.ko exporting it.  This also reaches the static
 * __vmm_arena_alloc(), which places a block without zeroing its bytes: the
 * other allocators hand out address ranges, not memory, so zeroing would
 * time memset() rather than the allocator.  vmm_arena_kernel.c adds the
 * calls for the kernel itself (a free and an info with no credentials).
 */
#include "../module/vmm_arena_unit.c"
#include "../module/vmm_arena_kernel.c"

#include <linux/mm.h>

#include "vmm_bench.h"

/**
 * struct vmm_bench_vmm - a vmm arena and the IDs of its blocks
 * @inst: the benchmark's handle
 * @arena: the arena, with its own spinlock
 * @ids: the block in each slot, 0 for none
 */
struct vmm_bench_vmm {
	struct vmm_bench_inst inst;
	struct vmm_arena arena;
	u64 *ids;
};

static struct vmm_bench_vmm *to_vmm(struct vmm_bench_inst *inst)
{
	return container_of(inst, struct vmm_bench_vmm, inst);
}

static struct vmm_bench_inst *vmm_bench_vmm_create(u64 size, u32 slots,
						   enum vmm_policy policy)
{
	struct vmm_bench_vmm *v;
	int ret;

	v = kzalloc_obj(*v, GFP_KERNEL);
	if (!v)
		return ERR_PTR(-ENOMEM);
	v->ids = kvcalloc(slots, sizeof(*v->ids), GFP_KERNEL);
	if (!v->ids) {
		ret = -ENOMEM;
		goto err_free;
	}
	ret = vmm_arena_init(&v->arena, size, policy);
	if (ret)
		goto err_ids;
	v->inst.size = size;
	v->inst.slots = slots;
	return &v->inst;

err_ids:
	kvfree(v->ids);
err_free:
	kfree(v);
	return ERR_PTR(ret);
}

static struct vmm_bench_inst *vmm_bench_vmm_create_first(u64 size, u32 slots)
{
	struct vmm_bench_inst *inst;

	inst = vmm_bench_vmm_create(size, slots, VMM_POLICY_FIRST);
	if (!IS_ERR(inst))
		inst->ops = &vmm_bench_vmm_first;
	return inst;
}

static struct vmm_bench_inst *vmm_bench_vmm_create_best(u64 size, u32 slots)
{
	struct vmm_bench_inst *inst;

	inst = vmm_bench_vmm_create(size, slots, VMM_POLICY_BEST);
	if (!IS_ERR(inst))
		inst->ops = &vmm_bench_vmm_best;
	return inst;
}

static void vmm_bench_vmm_destroy(struct vmm_bench_inst *inst)
{
	struct vmm_bench_vmm *v = to_vmm(inst);

	vmm_arena_destroy(&v->arena);
	kvfree(v->ids);
	kfree(v);
}

static int vmm_bench_vmm_alloc(struct vmm_bench_inst *inst, u32 slot, u64 size)
{
	struct vmm_bench_vmm *v = to_vmm(inst);
	u64 id, start;
	int ret;

	ret = __vmm_arena_alloc(&v->arena, size, 0, false, NULL, &id,
				&start);
	if (!ret)
		v->ids[slot] = id;
	return ret;
}

static void vmm_bench_vmm_free(struct vmm_bench_inst *inst, u32 slot)
{
	struct vmm_bench_vmm *v = to_vmm(inst);

	WARN_ON_ONCE(vmm_arena_free(&v->arena, v->ids[slot]));
	v->ids[slot] = 0;
}

static bool vmm_bench_vmm_live(struct vmm_bench_inst *inst, u32 slot)
{
	return to_vmm(inst)->ids[slot];
}

static int vmm_bench_vmm_where(struct vmm_bench_inst *inst, u32 slot,
			       u64 *start, u64 *size)
{
	struct vmm_bench_vmm *v = to_vmm(inst);

	return vmm_arena_info(&v->arena, v->ids[slot], start, size);
}

/* What vmm reports as metadata_bytes: its nodes, as slab rounds them. */
static u64 vmm_bench_vmm_metadata(struct vmm_bench_inst *inst)
{
	struct vmm_stats_args st;

	vmm_arena_stats(&to_vmm(inst)->arena, &st);
	return st.metadata_bytes;
}

static int vmm_bench_vmm_defrag(struct vmm_bench_inst *inst, u64 *bytes,
				u64 *blocks)
{
	bool compact;

	/* No budget: compact it all. */
	return vmm_arena_defrag(&to_vmm(inst)->arena, NULL, 0, false, bytes, blocks,
				&compact);
}

static u8 *vmm_bench_vmm_memory(struct vmm_bench_inst *inst)
{
	return to_vmm(inst)->arena.base;
}

const struct vmm_bench_ops vmm_bench_vmm_first = {
	.name = "vmm_first",
	.create = vmm_bench_vmm_create_first,
	.destroy = vmm_bench_vmm_destroy,
	.alloc = vmm_bench_vmm_alloc,
	.free = vmm_bench_vmm_free,
	.live = vmm_bench_vmm_live,
	.where = vmm_bench_vmm_where,
	.metadata = vmm_bench_vmm_metadata,
	.defrag = vmm_bench_vmm_defrag,
	.memory = vmm_bench_vmm_memory,
};

const struct vmm_bench_ops vmm_bench_vmm_best = {
	.name = "vmm_best",
	.create = vmm_bench_vmm_create_best,
	.destroy = vmm_bench_vmm_destroy,
	.alloc = vmm_bench_vmm_alloc,
	.free = vmm_bench_vmm_free,
	.live = vmm_bench_vmm_live,
	.where = vmm_bench_vmm_where,
	.metadata = vmm_bench_vmm_metadata,
	.defrag = vmm_bench_vmm_defrag,
	.memory = vmm_bench_vmm_memory,
};
