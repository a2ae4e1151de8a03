// SPDX-License-Identifier: GPL-2.0
/*
 * vmm: a kernel-owned arena of variable-size blocks behind /dev/vmm.
 *
 * This file holds the module's life cycle and its parameters.  The file
 * operations are in vmm_file.c, the ioctls in vmm_ioctl.c and vmm_batch.c,
 * what they, read(2) and mmap(2) share in vmm_cmd.c, the allocator in the arena's files
 * (vmm_arena.h lists them), mmap(2) of blocks in vmm_mmap.c, the sysfs
 * counters in vmm_sysfs.c, the debugfs views in vmm_debugfs.c, the
 * tracepoints in vmm_trace.h.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kernel.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/slab.h>

#include "vmm.h"

/* The one place the tracepoints the arena emits are defined. */
#define CREATE_TRACE_POINTS
#include "vmm_trace.h"

static u64 vmm_size = 16ULL << 20;

static int vmm_size_set(const char *val, const struct kernel_param *kp)
{
	char *end;
	u64 size;

	size = memparse(val, &end);
	if (end == val || (*end && *end != '\n')) {
		pr_err("size=%s: not a byte count (use e.g. 4096, 64K, 16M, 1G)\n",
		       val);
		return -EINVAL;
	}
	if (!size) {
		pr_err("size=0: the arena needs at least 1 byte\n");
		return -EINVAL;
	}
	*(u64 *)kp->arg = size;
	return 0;
}

static int vmm_size_get(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%llu\n", *(u64 *)kp->arg);
}

static const struct kernel_param_ops vmm_size_ops = {
	.set = vmm_size_set,
	.get = vmm_size_get,
};

module_param_cb(size, &vmm_size_ops, &vmm_size, 0444);
MODULE_PARM_DESC(size, "Arena size in bytes; K, M and G suffixes allowed (default 16M)");

static enum vmm_policy vmm_policy = VMM_POLICY_FIRST;

static int vmm_policy_set(const char *val, const struct kernel_param *kp)
{
	if (sysfs_streq(val, "first")) {
		*(enum vmm_policy *)kp->arg = VMM_POLICY_FIRST;
	} else if (sysfs_streq(val, "best")) {
		*(enum vmm_policy *)kp->arg = VMM_POLICY_BEST;
	} else {
		pr_err("policy=%s: use policy=first or policy=best\n", val);
		return -EINVAL;
	}
	return 0;
}

static int vmm_policy_get(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%s\n",
			  vmm_policy_name(*(enum vmm_policy *)kp->arg));
}

static const struct kernel_param_ops vmm_policy_ops = {
	.set = vmm_policy_set,
	.get = vmm_policy_get,
};

module_param_cb(policy, &vmm_policy_ops, &vmm_policy, 0444);
MODULE_PARM_DESC(policy, "Placement: first (lowest offset, the default) or best (smallest free range that fits)");

static struct vmm_device *vmm_dev;

/*
 * Whether the arena exists for parameter writes to reach (every setter
 * checks it), and two parameters that act on it.  All three are written
 * under kernel_param_lock(), which parameter writes hold.
 */
static bool vmm_ready;
static bool vmm_self_check;
static bool vmm_auto_compact;

/* Hand the run-time switches to the arena. */
static void vmm_arena_switches(void)
{
	WRITE_ONCE(vmm_dev->arena.self_check, vmm_self_check);
	WRITE_ONCE(vmm_dev->arena.auto_compact, vmm_auto_compact);
}

static int vmm_switch_set(const char *val, const struct kernel_param *kp)
{
	int ret = param_set_bool(val, kp);

	if (!ret && vmm_ready)
		vmm_arena_switches();
	return ret;
}

static const struct kernel_param_ops vmm_switch_ops = {
	.set = vmm_switch_set,
	.get = param_get_bool,
};

/*
 * Timing of lock holds, for max_lock_hold_ns: a static key, so that it
 * costs nothing while off.  Applied by vmm_init() too.
 */
static bool vmm_lock_hold_timing;

static int vmm_timing_set(const char *val, const struct kernel_param *kp)
{
	int ret = param_set_bool(val, kp);

	if (!ret && vmm_ready)
		vmm_arena_time_holds(vmm_lock_hold_timing);
	return ret;
}

static const struct kernel_param_ops vmm_timing_ops = {
	.set = vmm_timing_set,
	.get = param_get_bool,
};

module_param_cb(lock_hold_timing, &vmm_timing_ops, &vmm_lock_hold_timing,
		0644);
MODULE_PARM_DESC(lock_hold_timing, "Time every hold of the arena lock for the max_lock_hold_ns statistic, which stays 0 while this is off (default 0: two clock reads per hold cost more than the cheapest operations)");
module_param_cb(self_check, &vmm_switch_ops, &vmm_self_check, 0644);
module_param_cb(auto_compact, &vmm_switch_ops, &vmm_auto_compact, 0644);
MODULE_PARM_DESC(auto_compact, "Every allocation that finds no contiguous free range although enough bytes are free defragments and retries, as with VMM_ALLOC_COMPACT (default 0: fail with ENOSPC, like the simulator's MemoryError)");
/*
 * Per-uid quotas.  The arena reads them with READ_ONCE() at each
 * allocation and chown; a new limit does not take blocks away.  Its
 * copies are unsigned longs, which a 32-bit kernel writes in one store:
 * beyond ULONG_MAX blocks or bytes there, a limit cannot bind anyway.
 */
static u64 vmm_max_blocks_per_uid;
static u64 vmm_max_bytes_per_uid;
/*
 * About 208 bytes of slab per block (block record, free extent, reserve),
 * so 3.3 MiB per user, and usage records, charged to their memory cgroup:
 * see README.
 */
static u64 vmm_max_blocks_unprivileged = 16384;

/* Beyond ULONG_MAX, a limit cannot bind on this kernel anyway. */
static unsigned long vmm_quota_clamp(u64 limit)
{
	return min_t(u64, limit, ULONG_MAX);
}

static void vmm_arena_quotas(void)
{
	struct vmm_arena *arena = &vmm_dev->arena;

	WRITE_ONCE(arena->max_blocks_per_uid,
		   vmm_quota_clamp(vmm_max_blocks_per_uid));
	WRITE_ONCE(arena->max_bytes_per_uid,
		   vmm_quota_clamp(vmm_max_bytes_per_uid));
	WRITE_ONCE(arena->max_blocks_unprivileged,
		   vmm_quota_clamp(vmm_max_blocks_unprivileged));
}

static int vmm_quota_set(const char *val, const struct kernel_param *kp)
{
	int ret = param_set_ullong(val, kp);

	if (!ret && vmm_ready)
		vmm_arena_quotas();
	return ret;
}

static const struct kernel_param_ops vmm_quota_ops = {
	.set = vmm_quota_set,
	.get = param_get_ullong,
};

module_param_cb(max_blocks_per_uid, &vmm_quota_ops, &vmm_max_blocks_per_uid,
		0644);
MODULE_PARM_DESC(max_blocks_per_uid, "Most blocks charged to one uid's record (one per uid and chain of user namespace owners, as ucounts keep; a namespace's blocks also count in its owners' records); more fail with EDQUOT (default 0: no limit)");
module_param_cb(max_bytes_per_uid, &vmm_quota_ops, &vmm_max_bytes_per_uid,
		0644);
MODULE_PARM_DESC(max_bytes_per_uid, "Most bytes in blocks charged to one uid's record, as max_blocks_per_uid counts them; more fail with EDQUOT (default 0: no limit)");
module_param_cb(max_blocks_unprivileged, &vmm_quota_ops,
		&vmm_max_blocks_unprivileged, 0644);
MODULE_PARM_DESC(max_blocks_unprivileged, "Most blocks charged to one uid's record, as max_blocks_per_uid counts them, through allocations by callers without CAP_SYS_ADMIN; more fail with EDQUOT (default 16384, about 3.3 MiB of kernel memory; 0: no limit)");

MODULE_PARM_DESC(self_check, "Debugging: after every change, check the allocator's index against a linear walk (slow: O(blocks) under the lock); a mismatch logs the problem and WARNs");

static int __init vmm_init(void)
{
	int ret;

	vmm_dev = kzalloc_obj(*vmm_dev, GFP_KERNEL);
	if (!vmm_dev)
		return -ENOMEM;

	ret = vmm_arena_init(&vmm_dev->arena, vmm_size, vmm_policy);
	if (ret) {
		pr_err("cannot allocate a %llu-byte arena (%d); load with a smaller size=\n",
		       vmm_size, ret);
		goto err_free_dev;
	}
	ret = vmm_mapping_init(vmm_dev);
	if (ret) {
		pr_err("cannot create the address space for mappings (%d)\n",
		       ret);
		goto err_destroy;
	}
	ret = vmm_batch_init(vmm_dev);
	if (ret) {
		pr_err("cannot allocate the batch buffers (%d)\n", ret);
		goto err_mapping;
	}

	vmm_dev->misc.minor = MISC_DYNAMIC_MINOR;
	vmm_dev->misc.name = "vmm";
	/* Owner and group only; udev/60-vmm.rules hands the group to "vmm". */
	vmm_dev->misc.mode = 0660;
	vmm_dev->misc.fops = &vmm_fops;
	vmm_dev->misc.groups = vmm_groups;
	vmm_sysfs_init();
	/* The parameters hold from the first open, quotas included. */
	kernel_param_lock(THIS_MODULE);
	vmm_arena_switches();
	vmm_arena_quotas();
	if (vmm_lock_hold_timing)
		vmm_arena_time_holds(true);
	vmm_ready = true;
	kernel_param_unlock(THIS_MODULE);
	ret = misc_register(&vmm_dev->misc);
	if (ret) {
		pr_err("cannot register /dev/vmm (%d)\n", ret);
		goto err_not_ready;
	}
	vmm_debugfs_init(&vmm_dev->arena);
	pr_info("arena of %llu bytes ready at /dev/vmm, %s fit%s\n", vmm_size,
		vmm_policy_name(vmm_policy),
		vmm_self_check ? ", self-checking" : "");
	return 0;

err_not_ready:
	kernel_param_lock(THIS_MODULE);
	vmm_ready = false;
	kernel_param_unlock(THIS_MODULE);
	vmm_batch_exit(vmm_dev);
err_mapping:
	vmm_mapping_exit(vmm_dev);
err_destroy:
	vmm_arena_destroy(&vmm_dev->arena);
err_free_dev:
	kfree(vmm_dev);
	return ret;
}

static void __exit vmm_exit(void)
{
	/* Waits for debugfs readers, which use the arena. */
	vmm_debugfs_exit();
	kernel_param_lock(THIS_MODULE);
	vmm_ready = false;
	kernel_param_unlock(THIS_MODULE);
	misc_deregister(&vmm_dev->misc);
	vmm_batch_exit(vmm_dev);
	vmm_mapping_exit(vmm_dev);
	vmm_arena_destroy(&vmm_dev->arena);
	kfree(vmm_dev);
}

module_init(vmm_init);
module_exit(vmm_exit);

MODULE_DESCRIPTION("Arena of variable-size blocks with stable IDs and compaction");
MODULE_AUTHOR("The vmm developers");
MODULE_LICENSE("GPL");
MODULE_VERSION(VMM_VERSION);
