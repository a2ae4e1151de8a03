// SPDX-License-Identifier: GPL-2.0
/*
 * vmm_bench: vmm's allocator against gen_pool and drm_mm, on the same
 * seeded traces, in one boot.  scripts/bench (`make bench`) loads it once
 * per live-block count (count=N) and once for the fragmentation trace
 * (frag_blocks=N); each load runs its phases in module init and leaves raw
 * integers as "key=value" lines in /sys/kernel/debug/vmm_bench/results.
 * Ratios and the table are the script's business.
 *
 * Fairness:
 * - Every call into an allocator runs under one spinlock, as vmm's do: vmm
 *   takes its arena lock itself, gen_pool and drm_mm get one each.
 * - Request sizes are multiples of 8 bytes, gen_pool's granule here, so all
 *   allocators see the same byte counts; no alignment is asked for.
 * - vmm places blocks without zeroing them (__vmm_arena_alloc(), zero
 *   false), since the others hand out ranges, not memory.  vmm allocates
 *   its metadata inside its calls; so does drm_mm here, whose node is
 *   kzalloc()ed inside the timed alloc and kfree()d inside the timed free.
 *   gen_pool's bitmap is allocated with the pool.
 *
 * Timing, metadata and compaction (count=N): vmm fills an arena sized for
 * 75% load with N blocks, then replaces N random ones, which fragments it.
 * gen_pool and drm_mm are given exactly that layout (the first-fit
 * variants vmm first-fit's, the best-fit variants vmm best-fit's) by
 * reserving each block's range: filling gen_pool by its own first-fit would
 * scan the bitmap once per block, hours at 1M blocks under TCG.  Then the
 * three allocators of a policy run the same seeded sequence of "free a
 * random slot, allocate a random size into it", every call timed with
 * ktime_get_ns().  They take turns pair by pair, so that a noisy host slows
 * them alike, and each stops after samples= pairs or when its calls have
 * taken budget_ms=, but not before VMM_BENCH_MIN_SAMPLES pairs: gen_pool
 * scans its bitmap on every allocation, so at 100k and 1M blocks it stops
 * on the budget.  Last, vmm_arena_defrag() compacts vmm first-fit's arena,
 * and memmove() moves the same bytes in the same arena, block by block and
 * in one go.
 *
 * Fragmentation (frag_blocks=N): one trace, generated up front, drives an
 * arena of N * 244 / 0.9 bytes to 90% load and then churns it, freeing a
 * random block and allocating until the load is back at 90%.  A failed
 * allocation leaves its slot empty and the trace goes on.  vmm runs it once
 * more with a defragmentation and a retry after each failure.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <drm/drm_mm.h>
#include <linux/debugfs.h>
#include <linux/err.h>
#include <linux/ktime.h>
#include <linux/math64.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/prandom.h>
#include <linux/sched.h>
#include <linux/sched/clock.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/string.h>

#include "../module/vmm.h"
#include "vmm_bench.h"

/* The mean of vmm_bench_size(), for sizing arenas. */
#define VMM_BENCH_MEAN_SIZE	244
/* Arena load, in percent, of the timing and fragmentation phases. */
#define VMM_BENCH_TIME_LOAD	75
#define VMM_BENCH_FRAG_LOAD	90
/* Fewest alloc/free pairs timed, whatever the budget. */
#define VMM_BENCH_MIN_SAMPLES	20
/* Bounds on the parameters, so that every array fits kvmalloc(). */
#define VMM_BENCH_MAX_BLOCKS	(16U << 20)
#define VMM_BENCH_MAX_SAMPLES	(16U << 20)
/* Room for the results of one load; a count uses about 4 KiB. */
#define VMM_BENCH_OUT_SIZE	SZ_64K
/* Different streams of random numbers from one seed. */
#define VMM_BENCH_SEED_BUILD	0x6275696c64ULL
#define VMM_BENCH_SEED_TIME	0x74696d65ULL
#define VMM_BENCH_SEED_FRAG	0x66726167ULL

static unsigned int count;
module_param(count, uint, 0444);
MODULE_PARM_DESC(count, "live blocks for the timing, metadata and compaction phases (0: skip them)");

static unsigned int frag_blocks;
module_param(frag_blocks, uint, 0444);
MODULE_PARM_DESC(frag_blocks, "live blocks at 90% load in the fragmentation phase (0: skip it)");

static unsigned int frag_turnover = 4;
module_param(frag_turnover, uint, 0444);
MODULE_PARM_DESC(frag_turnover, "blocks freed and replaced at 90% load, per live block, in the fragmentation phase");

static unsigned int samples = 20000;
module_param(samples, uint, 0444);
MODULE_PARM_DESC(samples, "most alloc/free pairs timed per allocator and count");

static unsigned int budget_ms = 15000;
module_param(budget_ms, uint, 0444);
MODULE_PARM_DESC(budget_ms, "time limit of each allocator's timed phase, in milliseconds");

static ulong seed = 1;
module_param(seed, ulong, 0444);
MODULE_PARM_DESC(seed, "seed of every trace");

/* The allocators, by policy: vmm's first, so that it sets the layout. */
static const struct vmm_bench_ops *const vmm_bench_first[] = {
	&vmm_bench_vmm_first, &vmm_bench_genpool_first, &vmm_bench_drmmm_low,
};

static const struct vmm_bench_ops *const vmm_bench_best[] = {
	&vmm_bench_vmm_best, &vmm_bench_genpool_best, &vmm_bench_drmmm_best,
};

/**
 * struct vmm_bench_range - where a block of a layout lies
 * @start: first byte
 * @size: bytes; 0 for an empty slot
 */
struct vmm_bench_range {
	u64 start;
	u64 size;
};

/**
 * struct vmm_bench_op - one step of the fragmentation trace
 * @slot: the slot it acts on
 * @size: bytes to allocate into the slot, or 0 to free the slot
 */
struct vmm_bench_op {
	u32 slot;
	u32 size;
};

/* The results of this load, exposed through debugfs once complete. */
static char *vmm_bench_out;
static size_t vmm_bench_len;
static int vmm_bench_out_err;
static struct debugfs_blob_wrapper vmm_bench_blob;
static struct dentry *vmm_bench_dir;

/* Append "KEY=VAL" to the results; KEY is formatted from @fmt. */
static __printf(2, 3) void vmm_bench_put(u64 val, const char *fmt, ...)
{
	size_t room = VMM_BENCH_OUT_SIZE - vmm_bench_len;
	char key[64];
	va_list args;
	int n;

	va_start(args, fmt);
	vsnprintf(key, sizeof(key), fmt, args);
	va_end(args);
	n = snprintf(vmm_bench_out + vmm_bench_len, room, "%s=%llu\n", key,
		     val);
	if (n >= room) {
		vmm_bench_out_err = -ENOSPC;
		vmm_bench_out[vmm_bench_len] = '\0';
		return;
	}
	vmm_bench_len += n;
}

/* "1k", "100k", "1m": the key suffix for a block count. */
static void vmm_bench_suffix(char *buf, size_t len, u32 n)
{
	if (n && !(n % 1000000))
		snprintf(buf, len, "%um", n / 1000000);
	else if (n && !(n % 1000))
		snprintf(buf, len, "%uk", n / 1000);
	else
		snprintf(buf, len, "%u", n);
}

/*
 * A request size: a multiple of 8 bytes, 70% of them 8..128, 25%
 * 136..512, 5% 520..4096.  The mean is VMM_BENCH_MEAN_SIZE.
 */
static u32 vmm_bench_size(struct rnd_state *rs)
{
	u32 pick = prandom_u32_state(rs) % 100;
	u32 r = prandom_u32_state(rs);

	if (pick < 70)
		return 8 * (1 + r % 16);
	if (pick < 95)
		return 8 * (17 + r % 48);
	return 8 * (65 + r % 448);
}

static int vmm_bench_cmp_u64(const void *a, const void *b)
{
	u64 x = *(const u64 *)a, y = *(const u64 *)b;

	return x < y ? -1 : x > y;
}

/* Mean, median and 99th percentile of @k samples; sorts them. */
static void vmm_bench_put_stats(u64 *ns, u32 k, const char *tag,
				const char *what, const char *c)
{
	u64 sum = 0;
	u32 i;

	for (i = 0; i < k; i++)
		sum += ns[i];
	sort(ns, k, sizeof(*ns), vmm_bench_cmp_u64, NULL);
	vmm_bench_put(k ? div_u64(sum + k / 2, k) : 0, "%s_%s_ns_%s", tag,
		      what, c);
	vmm_bench_put(k ? ns[(k - 1) / 2] : 0, "%s_%s_p50_ns_%s", tag, what, c);
	vmm_bench_put(k ? ns[DIV_ROUND_UP(99 * (u64)k, 100) - 1] : 0,
		      "%s_%s_p99_ns_%s", tag, what, c);
}

/* The median of @k samples, less @base; sorts them. */
static u64 vmm_bench_median(u64 *ns, u32 k, u64 base)
{
	sort(ns, k, sizeof(*ns), vmm_bench_cmp_u64, NULL);
	return ns[k / 2] > base ? ns[k / 2] - base : 0;
}

/*
 * The median cost of a few things the timed calls include, to read the
 * figures by: reading the clock (once per timed call), local_clock() (vmm
 * times each hold of its lock with two) and a kzalloc()/kfree() pair of a
 * block's size (a vmm allocation makes three kzalloc() calls and usually
 * one kfree(), drm_mm's one kzalloc()).  The last two are net of the first.
 */
static int vmm_bench_costs(void)
{
	const u32 k = 1001;
	struct vmm_block *p;
	u64 *ns, t0, timer;
	u32 i;

	ns = kmalloc_array(k, sizeof(*ns), GFP_KERNEL);
	if (!ns)
		return -ENOMEM;

	for (i = 0; i < k; i++) {
		t0 = ktime_get_ns();
		ns[i] = ktime_get_ns() - t0;
	}
	timer = vmm_bench_median(ns, k, 0);
	vmm_bench_put(timer, "timer_ns");

	for (i = 0; i < k; i++) {
		t0 = ktime_get_ns();
		local_clock();
		ns[i] = ktime_get_ns() - t0;
	}
	vmm_bench_put(vmm_bench_median(ns, k, timer), "local_clock_ns");

	for (i = 0; i < k; i++) {
		t0 = ktime_get_ns();
		p = kzalloc_obj(*p, GFP_KERNEL);
		kfree(p);
		ns[i] = ktime_get_ns() - t0;
		cond_resched();
	}
	vmm_bench_put(vmm_bench_median(ns, k, timer), "kzalloc_kfree_ns");

	kfree(ns);
	return 0;
}

/* Fill @n slots, then replace @n random blocks: a fragmented arena. */
static int vmm_bench_build(struct vmm_bench_inst *inst, u32 n, u32 *failures)
{
	const struct vmm_bench_ops *ops = inst->ops;
	struct rnd_state rs;
	u32 i, slot;
	int ret;

	prandom_seed_state(&rs, seed ^ VMM_BENCH_SEED_BUILD ^ n);
	*failures = 0;
	for (i = 0; i < 2 * n; i++) {
		slot = i < n ? i : prandom_u32_state(&rs) % n;
		if (ops->live(inst, slot))
			ops->free(inst, slot);
		ret = ops->alloc(inst, slot, vmm_bench_size(&rs));
		if (ret == -ENOSPC)
			(*failures)++;
		else if (ret)
			return ret;
		cond_resched();
	}
	return 0;
}

static int vmm_bench_layout_save(struct vmm_bench_inst *inst,
				 struct vmm_bench_range *layout)
{
	u32 slot;
	int ret;

	for (slot = 0; slot < inst->slots; slot++) {
		layout[slot].size = 0;
		if (!inst->ops->live(inst, slot))
			continue;
		ret = inst->ops->where(inst, slot, &layout[slot].start,
				       &layout[slot].size);
		if (ret)
			return ret;
	}
	return 0;
}

static int vmm_bench_layout_replay(struct vmm_bench_inst *inst,
				   const struct vmm_bench_range *layout)
{
	u32 slot;
	int ret;

	for (slot = 0; slot < inst->slots; slot++) {
		if (!layout[slot].size)
			continue;
		ret = inst->ops->place(inst, slot, layout[slot].start,
				       layout[slot].size);
		if (ret) {
			pr_err("%s cannot reserve [%llu, +%llu): %d\n",
			       inst->ops->name, layout[slot].start,
			       layout[slot].size, ret);
			return ret;
		}
		cond_resched();
	}
	return 0;
}

static void vmm_bench_put_metadata(struct vmm_bench_inst *inst, const char *c)
{
	const char *tag = inst->ops->name;
	u64 blocks = 0;
	u32 slot;

	for (slot = 0; slot < inst->slots; slot++)
		blocks += inst->ops->live(inst, slot);
	vmm_bench_put(blocks, "%s_blocks_%s", tag, c);
	vmm_bench_put(inst->ops->metadata(inst), "%s_metadata_bytes_%s", tag,
		      c);
}

/**
 * struct vmm_bench_timing - one allocator's part of the timed phase
 * @inst: the allocator
 * @alloc_ns: the time of each alloc call
 * @free_ns: the time of each free call
 * @nalloc: entries in @alloc_ns
 * @nfree: entries in @free_ns
 * @failures: allocations that failed with -ENOSPC (timed all the same)
 * @spent: nanoseconds spent in the allocator's calls
 * @done: out of budget
 */
struct vmm_bench_timing {
	struct vmm_bench_inst *inst;
	u64 *alloc_ns;
	u64 *free_ns;
	u32 nalloc;
	u32 nfree;
	u32 failures;
	u64 spent;
	bool done;
};

/* Free @slot if it is full, then allocate @size into it; time both. */
static int vmm_bench_pair(struct vmm_bench_timing *tm, u32 slot, u32 size)
{
	struct vmm_bench_inst *inst = tm->inst;
	u64 t0, t1;
	int ret;

	if (inst->ops->live(inst, slot)) {
		t0 = ktime_get_ns();
		inst->ops->free(inst, slot);
		t1 = ktime_get_ns();
		tm->free_ns[tm->nfree++] = t1 - t0;
		tm->spent += t1 - t0;
	}
	t0 = ktime_get_ns();
	ret = inst->ops->alloc(inst, slot, size);
	t1 = ktime_get_ns();
	if (ret == -ENOSPC)
		tm->failures++;
	else if (ret)
		return ret;
	tm->alloc_ns[tm->nalloc++] = t1 - t0;
	tm->spent += t1 - t0;
	return 0;
}

/*
 * Time up to @samples pairs of "free a random slot (if full), allocate a
 * random size into it" on each of the @k allocators in @insts, which hold
 * the same layout.  The sequence depends only on the seed and @n, so all
 * see the same one.  The allocators take turns, pair by pair, in rotating
 * order, so that a noisy host slows them all alike.  An allocator stops
 * when its calls have taken @budget_ms.
 */
static int vmm_bench_time(struct vmm_bench_inst **insts, size_t k, u32 n,
			  const char *c)
{
	const u64 budget = (u64)budget_ms * NSEC_PER_MSEC;
	struct vmm_bench_timing *tm;
	struct rnd_state rs;
	size_t j, running;
	int ret = -ENOMEM;
	u32 i;

	tm = kcalloc(k, sizeof(*tm), GFP_KERNEL);
	if (!tm)
		return -ENOMEM;
	for (j = 0; j < k; j++) {
		tm[j].inst = insts[j];
		tm[j].alloc_ns = kvmalloc_array(samples, sizeof(u64),
						GFP_KERNEL);
		tm[j].free_ns = kvmalloc_array(samples, sizeof(u64),
					       GFP_KERNEL);
		if (!tm[j].alloc_ns || !tm[j].free_ns)
			goto out;
	}

	prandom_seed_state(&rs, seed ^ VMM_BENCH_SEED_TIME ^ n);
	running = k;
	for (i = 0; i < samples && running; i++) {
		u32 slot = prandom_u32_state(&rs) % n;
		u32 size = vmm_bench_size(&rs);

		for (j = 0; j < k; j++) {
			struct vmm_bench_timing *t = &tm[(i + j) % k];

			if (t->done)
				continue;
			ret = vmm_bench_pair(t, slot, size);
			if (ret)
				goto out;
			if (t->nalloc >= VMM_BENCH_MIN_SAMPLES &&
			    t->spent > budget) {
				t->done = true;
				running--;
			}
			cond_resched();
		}
	}

	for (j = 0; j < k; j++) {
		const char *tag = tm[j].inst->ops->name;

		vmm_bench_put_stats(tm[j].alloc_ns, tm[j].nalloc, tag, "alloc",
				    c);
		vmm_bench_put_stats(tm[j].free_ns, tm[j].nfree, tag, "free", c);
		vmm_bench_put(tm[j].nalloc, "%s_allocs_timed_%s", tag, c);
		vmm_bench_put(tm[j].nfree, "%s_frees_timed_%s", tag, c);
		vmm_bench_put(tm[j].failures, "%s_alloc_failures_%s", tag, c);
		pr_info("%s: %s: %u allocs, %u frees timed, %llu ms in calls\n",
			c, tag, tm[j].nalloc, tm[j].nfree,
			div_u64(tm[j].spent, NSEC_PER_MSEC));
	}
	ret = 0;
out:
	for (j = 0; j < k; j++) {
		kvfree(tm[j].free_ns);
		kvfree(tm[j].alloc_ns);
	}
	kfree(tm);
	return ret;
}

static int vmm_bench_cmp_start(const void *a, const void *b)
{
	const struct vmm_bench_range *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/* Copy @len bytes down from @src to @dst in the pieces vmm copies in. */
static void vmm_bench_memmove(u8 *dst, const u8 *src, u64 len)
{
	u64 done, n;

	for (done = 0; done < len; done += n) {
		n = min_t(u64, len - done, VMM_CHUNK);
		memmove(dst + done, src + done, n);
		cond_resched();
	}
}

/*
 * Compact vmm's arena, then move the same bytes with memmove(): once
 * block by block, as the compaction does (the cost of copying in small
 * pieces, without any bookkeeping), and once in one go (what the same
 * bytes cost at best).  Leaves the arena's bytes garbled: call it last.
 */
static int vmm_bench_compaction(struct vmm_bench_inst *inst, const char *c)
{
	const struct vmm_bench_ops *ops = inst->ops;
	u64 bytes = 0, blocks = 0, t0, defrag_ns, bulk_ns, piece_ns;
	u64 cursor, moved = 0, nmoved = 0;
	u8 *base = ops->memory(inst);
	struct vmm_bench_range *blk;
	u32 slot, nblk = 0, i;
	int ret;

	/* Where the blocks are before the compaction, by offset. */
	blk = kvmalloc_array(inst->slots, sizeof(*blk), GFP_KERNEL);
	if (!blk)
		return -ENOMEM;
	for (slot = 0; slot < inst->slots; slot++) {
		if (!ops->live(inst, slot))
			continue;
		ret = ops->where(inst, slot, &blk[nblk].start, &blk[nblk].size);
		if (ret)
			goto out;
		nblk++;
	}
	sort(blk, nblk, sizeof(*blk), vmm_bench_cmp_start, NULL);

	t0 = ktime_get_ns();
	ret = ops->defrag(inst, &bytes, &blocks);
	defrag_ns = ktime_get_ns() - t0;
	if (ret)
		goto out;

	t0 = ktime_get_ns();
	for (i = 0, cursor = 0; i < nblk; cursor += blk[i++].size) {
		if (blk[i].start == cursor)
			continue;
		memmove(base + cursor, base + blk[i].start, blk[i].size);
		moved += blk[i].size;
		nmoved++;
		cond_resched();
	}
	piece_ns = ktime_get_ns() - t0;

	t0 = ktime_get_ns();
	vmm_bench_memmove(base, base + inst->size - bytes, bytes);
	bulk_ns = ktime_get_ns() - t0;

	vmm_bench_put(bytes, "defrag_bytes_%s", c);
	vmm_bench_put(blocks, "defrag_blocks_%s", c);
	vmm_bench_put(defrag_ns, "defrag_ns_%s", c);
	vmm_bench_put(bytes, "memmove_bytes_%s", c);
	vmm_bench_put(bulk_ns, "memmove_ns_%s", c);
	vmm_bench_put(moved, "memmove_blockwise_bytes_%s", c);
	vmm_bench_put(nmoved, "memmove_blockwise_blocks_%s", c);
	vmm_bench_put(piece_ns, "memmove_blockwise_ns_%s", c);
out:
	kvfree(blk);
	return ret;
}

/*
 * One policy at @n live blocks: vmm (@group[0]) builds a fragmented
 * layout, the others reserve the same ranges, and all are timed together.
 * @compact: measure vmm's compaction too.
 */
static int vmm_bench_policy(const struct vmm_bench_ops *const *group,
			    size_t k, u64 size, u32 n, const char *c,
			    struct vmm_bench_range *layout, bool compact)
{
	struct vmm_bench_inst **insts;
	u32 failures;
	size_t i;
	int ret = 0;

	insts = kcalloc(k, sizeof(*insts), GFP_KERNEL);
	if (!insts)
		return -ENOMEM;
	for (i = 0; i < k && !ret; i++) {
		insts[i] = group[i]->create(size, n);
		if (IS_ERR(insts[i])) {
			ret = PTR_ERR(insts[i]);
			insts[i] = NULL;
			break;
		}
		if (!i) {
			ret = vmm_bench_build(insts[i], n, &failures);
			if (!ret)
				ret = vmm_bench_layout_save(insts[i], layout);
			vmm_bench_put(failures, "%s_build_failures_%s",
				      group[i]->name, c);
		} else {
			ret = vmm_bench_layout_replay(insts[i], layout);
		}
		if (!ret)
			vmm_bench_put_metadata(insts[i], c);
	}
	if (!ret)
		ret = vmm_bench_time(insts, k, n, c);
	if (!ret && compact)
		ret = vmm_bench_compaction(insts[0], c);
	for (i = 0; i < k; i++) {
		if (insts[i])
			insts[i]->ops->destroy(insts[i]);
	}
	kfree(insts);
	return ret;
}

static int vmm_bench_count(u32 n)
{
	struct vmm_bench_range *layout;
	u64 size;
	char c[16];
	int ret;

	vmm_bench_suffix(c, sizeof(c), n);
	size = round_up(div_u64((u64)n * VMM_BENCH_MEAN_SIZE * 100,
				VMM_BENCH_TIME_LOAD), 8);
	vmm_bench_put(n, "blocks_%s", c);
	vmm_bench_put(size, "arena_bytes_%s", c);

	layout = kvmalloc_array(n, sizeof(*layout), GFP_KERNEL);
	if (!layout)
		return -ENOMEM;
	ret = vmm_bench_policy(vmm_bench_first, ARRAY_SIZE(vmm_bench_first),
			       size, n, c, layout, true);
	if (!ret)
		ret = vmm_bench_policy(vmm_bench_best,
				       ARRAY_SIZE(vmm_bench_best), size, n, c,
				       layout, false);
	kvfree(layout);
	return ret;
}

/* The most steps a fragmentation trace of @nb blocks may take. */
static u64 vmm_bench_frag_cap(u32 nb)
{
	return (u64)nb * (4 + 3ULL * frag_turnover) + 64;
}

/* Scratch state of the trace generator. */
struct vmm_bench_gen {
	struct rnd_state rs;
	struct vmm_bench_op *ops;
	u32 nops, cap;
	u32 *live, nlive;	/* full slots */
	u32 *spare, nspare;	/* empty slots */
	u32 *sizes;		/* bytes in each full slot */
	u64 load;		/* bytes in full slots */
};

static void vmm_bench_gen_alloc(struct vmm_bench_gen *g)
{
	u32 slot = g->spare[--g->nspare];
	u32 size = vmm_bench_size(&g->rs);

	g->ops[g->nops++] = (struct vmm_bench_op){ .slot = slot, .size = size };
	g->live[g->nlive++] = slot;
	g->sizes[slot] = size;
	g->load += size;
}

static void vmm_bench_gen_free(struct vmm_bench_gen *g)
{
	u32 i = prandom_u32_state(&g->rs) % g->nlive;
	u32 slot = g->live[i];

	g->live[i] = g->live[--g->nlive];
	g->ops[g->nops++] = (struct vmm_bench_op){ .slot = slot };
	g->spare[g->nspare++] = slot;
	g->load -= g->sizes[slot];
}

/* Allocate, or free when out of slots. */
static void vmm_bench_gen_step(struct vmm_bench_gen *g, bool may_free)
{
	if (g->nspare && !(may_free && g->nlive &&
			   !(prandom_u32_state(&g->rs) % 4)))
		vmm_bench_gen_alloc(g);
	else
		vmm_bench_gen_free(g);
}

/*
 * The fragmentation trace: up to @target bytes with one free for every
 * three allocations, then @frag_turnover * @nb times "free a random block,
 * allocate until back at @target".  Returns the ops, *@nops of them.
 */
static struct vmm_bench_op *vmm_bench_frag_trace(u32 nb, u32 slots,
						 u64 target, u32 *nops)
{
	struct vmm_bench_gen g = { .nspare = slots };
	u64 churn = (u64)nb * frag_turnover, t;
	u32 slot;

	g.cap = vmm_bench_frag_cap(nb);
	g.ops = kvmalloc_array(g.cap, sizeof(*g.ops), GFP_KERNEL);
	g.live = kvmalloc_array(slots, sizeof(u32), GFP_KERNEL);
	g.spare = kvmalloc_array(slots, sizeof(u32), GFP_KERNEL);
	g.sizes = kvmalloc_array(slots, sizeof(u32), GFP_KERNEL);
	if (!g.ops || !g.live || !g.spare || !g.sizes) {
		kvfree(g.ops);
		g.ops = NULL;
		goto out;
	}
	prandom_seed_state(&g.rs, seed ^ VMM_BENCH_SEED_FRAG ^ nb);
	for (slot = 0; slot < slots; slot++)
		g.spare[slot] = slots - 1 - slot;

	while (g.load < target && g.nops < g.cap)
		vmm_bench_gen_step(&g, true);
	for (t = 0; t < churn && g.nops < g.cap && g.nlive; t++) {
		vmm_bench_gen_free(&g);
		while (g.load < target && g.nops < g.cap)
			vmm_bench_gen_step(&g, false);
	}
	*nops = g.nops;
out:
	kvfree(g.sizes);
	kvfree(g.spare);
	kvfree(g.live);
	return g.ops;
}

/* Run the trace; @defrag: compact and retry once when an alloc fails. */
static int vmm_bench_frag_run(const struct vmm_bench_ops *ops, const char *tag,
			      bool defrag, const struct vmm_bench_op *trace,
			      u32 nops, u64 size, u32 slots)
{
	u64 requests = 0, failures = 0, defrags = 0, bytes = 0, blocks = 0;
	struct vmm_bench_inst *inst;
	u32 i;
	int ret = 0;

	inst = ops->create(size, slots);
	if (IS_ERR(inst))
		return PTR_ERR(inst);
	for (i = 0; i < nops; i++) {
		const struct vmm_bench_op *op = &trace[i];

		cond_resched();
		if (!op->size) {
			if (ops->live(inst, op->slot))
				ops->free(inst, op->slot);
			continue;
		}
		requests++;
		ret = ops->alloc(inst, op->slot, op->size);
		if (ret == -ENOSPC && defrag) {
			defrags++;
			ret = ops->defrag(inst, &bytes, &blocks);
			if (!ret)
				ret = ops->alloc(inst, op->slot, op->size);
		}
		if (ret == -ENOSPC)
			failures++;
		else if (ret)
			goto out;
		ret = 0;
	}
	vmm_bench_put(requests, "%s_frag_requests", tag);
	vmm_bench_put(failures, "%s_frag_failures", tag);
	if (defrag) {
		vmm_bench_put(defrags, "%s_frag_defrags", tag);
		vmm_bench_put(bytes, "%s_frag_bytes_moved", tag);
	}
	pr_info("fragmentation: %s: %llu of %llu allocations failed\n", tag,
		failures, requests);
out:
	ops->destroy(inst);
	return ret;
}

static int vmm_bench_frag(u32 nb)
{
	static const struct vmm_bench_ops *const all[] = {
		&vmm_bench_vmm_first, &vmm_bench_vmm_best,
		&vmm_bench_genpool_first, &vmm_bench_genpool_best,
		&vmm_bench_drmmm_low, &vmm_bench_drmmm_best,
	};
	u32 slots = 2 * nb + 16, nops = 0;
	struct vmm_bench_op *trace;
	u64 size, target;
	size_t i;
	int ret;

	size = round_up(div_u64((u64)nb * VMM_BENCH_MEAN_SIZE * 100,
				VMM_BENCH_FRAG_LOAD), 8);
	target = div_u64(size * VMM_BENCH_FRAG_LOAD, 100);
	trace = vmm_bench_frag_trace(nb, slots, target, &nops);
	if (!trace)
		return -ENOMEM;
	vmm_bench_put(nb, "frag_blocks");
	vmm_bench_put(size, "frag_arena_bytes");
	vmm_bench_put(nops, "frag_ops");

	ret = vmm_bench_frag_run(&vmm_bench_vmm_first, "vmm_defrag", true,
				 trace, nops, size, slots);
	for (i = 0; !ret && i < ARRAY_SIZE(all); i++)
		ret = vmm_bench_frag_run(all[i], all[i]->name, false, trace,
					 nops, size, slots);
	kvfree(trace);
	return ret;
}

static int __init vmm_bench_init(void)
{
	int ret;

	if (!count && !frag_blocks) {
		pr_err("nothing to do: set count= or frag_blocks=\n");
		return -EINVAL;
	}
	if (count > VMM_BENCH_MAX_BLOCKS || frag_blocks > VMM_BENCH_MAX_BLOCKS ||
	    vmm_bench_frag_cap(frag_blocks) >
	    INT_MAX / sizeof(struct vmm_bench_op) ||
	    !samples || samples > VMM_BENCH_MAX_SAMPLES) {
		pr_err("count, frag_blocks, frag_turnover or samples out of range\n");
		return -EINVAL;
	}

	vmm_bench_out = kvzalloc(VMM_BENCH_OUT_SIZE, GFP_KERNEL);
	if (!vmm_bench_out)
		return -ENOMEM;
	vmm_bench_put(seed, "seed");
	vmm_bench_put(sizeof(struct drm_mm_node), "drmmm_node_bytes");
	vmm_bench_put(kmalloc_size_roundup(sizeof(struct drm_mm_node)),
		      "drmmm_node_slab_bytes");
	ret = vmm_bench_costs();
	if (!ret && count)
		ret = vmm_bench_count(count);
	if (!ret && frag_blocks)
		ret = vmm_bench_frag(frag_blocks);
	if (!ret)
		ret = vmm_bench_out_err;
	if (ret) {
		pr_err("failed: %d\n", ret);
		goto err_free;
	}

	vmm_bench_dir = debugfs_create_dir(KBUILD_MODNAME, NULL);
	if (IS_ERR(vmm_bench_dir)) {
		ret = PTR_ERR(vmm_bench_dir);
		pr_err("no debugfs for the results: %d\n", ret);
		goto err_free;
	}
	vmm_bench_blob.data = vmm_bench_out;
	vmm_bench_blob.size = vmm_bench_len;
	debugfs_create_blob("results", 0444, vmm_bench_dir, &vmm_bench_blob);
	return 0;

err_free:
	kvfree(vmm_bench_out);
	return ret;
}

static void __exit vmm_bench_exit(void)
{
	debugfs_remove_recursive(vmm_bench_dir);
	kvfree(vmm_bench_out);
}

module_init(vmm_bench_init);
module_exit(vmm_bench_exit);

MODULE_DESCRIPTION("vmm's allocator against gen_pool and drm_mm");
MODULE_LICENSE("GPL");
