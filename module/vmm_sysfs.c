// SPDX-License-Identifier: GPL-2.0
/*
 * vmm counters in sysfs, one value per file under /sys/class/misc/vmm/.
 * Documented in Documentation/ABI/testing/sysfs-class-misc-vmm.  Each file
 * shows one field of the snapshot that VMM_IOC_STATS returns, so the two
 * interfaces cannot disagree.
 */

#include <linux/device.h>
#include <linux/kernel.h>
#include <linux/kstrtox.h>
#include <linux/stddef.h>
#include <linux/stringify.h>
#include <linux/sysfs.h>

#include "vmm.h"

struct vmm_stat_attr {
	struct device_attribute dattr;
	size_t offset;		/* of the __u64 in struct vmm_stats_args */
};

static ssize_t vmm_stat_show(struct device *dev, struct device_attribute *attr,
			     char *buf)
{
	struct vmm_stat_attr *sa = container_of(attr, struct vmm_stat_attr,
						dattr);
	struct miscdevice *misc = dev_get_drvdata(dev);
	struct vmm_device *vmm = container_of(misc, struct vmm_device, misc);
	struct vmm_stats_args st;

	vmm_arena_stats(&vmm->arena, &st);
	return sysfs_emit(buf, "%llu\n", *(u64 *)((u8 *)&st + sa->offset));
}

#define VMM_STAT(field) {						\
	.dattr = {							\
		.attr = { .name = __stringify(field), .mode = 0444 },	\
		.show = vmm_stat_show,					\
	},								\
	.offset = offsetof(struct vmm_stats_args, field),		\
}

static struct vmm_stat_attr vmm_stats[] = {
	VMM_STAT(size),
	VMM_STAT(used),
	VMM_STAT(free),
	VMM_STAT(largest_free),
	VMM_STAT(blocks),
	VMM_STAT(fragmentation),
	VMM_STAT(allocs),
	VMM_STAT(frees),
	VMM_STAT(alloc_failures),
	VMM_STAT(defrags),
	VMM_STAT(bytes_moved),
	VMM_STAT(metadata_bytes),
	VMM_STAT(mapped_blocks),
};

/*
 * max_lock_hold_ns is the one counter that can be reset, by writing 0, so
 * that a hold can be measured over a chosen stretch of work.
 */
static ssize_t max_lock_hold_ns_store(struct device *dev,
				      struct device_attribute *attr,
				      const char *buf, size_t count)
{
	struct miscdevice *misc = dev_get_drvdata(dev);
	struct vmm_device *vmm = container_of(misc, struct vmm_device, misc);
	u64 val;
	int ret;

	ret = kstrtou64(buf, 0, &val);
	if (ret)
		return ret;
	if (val)
		return -EINVAL;
	vmm_arena_reset_lock_hold(&vmm->arena);
	return count;
}

static struct vmm_stat_attr vmm_stat_max_lock_hold_ns = {
	.dattr = __ATTR(max_lock_hold_ns, 0644, vmm_stat_show,
			max_lock_hold_ns_store),
	.offset = offsetof(struct vmm_stats_args, max_lock_hold_ns),
};

static ssize_t policy_show(struct device *dev, struct device_attribute *attr,
			   char *buf)
{
	struct miscdevice *misc = dev_get_drvdata(dev);
	struct vmm_device *vmm = container_of(misc, struct vmm_device, misc);

	return sysfs_emit(buf, "%s\n", vmm_policy_name(vmm->arena.policy));
}
static DEVICE_ATTR_RO(policy);

/* The counters, max_lock_hold_ns, policy, then the terminating NULL. */
static struct attribute *vmm_attrs[ARRAY_SIZE(vmm_stats) + 3];

static const struct attribute_group vmm_group = {
	.attrs = vmm_attrs,
};

const struct attribute_group *vmm_groups[] = {
	&vmm_group,
	NULL,
};

/**
 * vmm_sysfs_init() - fill the attribute list; call before misc_register()
 */
void vmm_sysfs_init(void)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(vmm_stats); i++)
		vmm_attrs[i] = &vmm_stats[i].dattr.attr;
	vmm_attrs[i++] = &vmm_stat_max_lock_hold_ns.dattr.attr;
	vmm_attrs[i] = &dev_attr_policy.attr;
}
