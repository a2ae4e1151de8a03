// SPDX-License-Identifier: GPL-2.0
/*
 * vmm ioctls.  Each handler copies its argument in, validates every field
 * before touching any state, calls into the arena, and copies the result
 * out.  No handler holds the arena lock across a user copy.
 */

#include <linux/err.h>
#include <linux/fs.h>
#include <linux/overflow.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "vmm.h"

/*
 * Unknown flags, padding and reserved fields must be zero so they can gain
 * a meaning.
 */
static bool vmm_args_clean(u32 flags, u32 known, u32 pad,
			   const void *reserved, size_t len)
{
	return !(flags & ~known) && !pad && !memchr_inv(reserved, 0, len);
}

/*
 * Commands whose work cannot be undone once done (a defragmentation) or
 * only with side effects (an allocation uses up its ID) check first that
 * their result can be stored, by writing the argument back unchanged.
 */
static int vmm_args_writable(void __user *argp, const void *args, size_t len)
{
	return copy_to_user(argp, args, len) ? -EFAULT : 0;
}

static int vmm_ioctl_alloc(struct vmm_arena *arena, void __user *argp)
{
	struct vmm_alloc_args args;
	int ret;

	if (copy_from_user(&args, argp, sizeof(args)))
		return -EFAULT;
	if (!vmm_args_clean(args.flags, VMM_ALLOC_COMPACT, args.pad,
			    args.reserved, sizeof(args.reserved)))
		return -EINVAL;
	ret = vmm_args_writable(argp, &args, sizeof(args));
	if (ret)
		return ret;

	ret = vmm_arena_alloc_compact(arena, args.size, args.align,
				      args.flags & VMM_ALLOC_COMPACT,
				      &args.id, &args.offset);
	if (ret)
		return ret;
	if (copy_to_user(argp, &args, sizeof(args))) {
		/*
		 * Unmapped since the check; nobody learnt the ID: undo.
		 * Cannot fail: freeing allocates nothing.
		 */
		vmm_arena_free(arena, args.id);
		return -EFAULT;
	}
	return 0;
}

static int vmm_ioctl_free(struct vmm_arena *arena, void __user *argp)
{
	struct vmm_free_args args;

	if (copy_from_user(&args, argp, sizeof(args)))
		return -EFAULT;
	if (!vmm_args_clean(args.flags, 0, args.pad, args.reserved,
			    sizeof(args.reserved)))
		return -EINVAL;
	return vmm_arena_free(arena, args.id);
}

static int vmm_ioctl_defrag(struct vmm_arena *arena, void __user *argp)
{
	struct vmm_defrag_args args;
	bool compact;
	int ret;

	if (copy_from_user(&args, argp, sizeof(args)))
		return -EFAULT;
	if (!vmm_args_clean(args.flags, VMM_DEFRAG_NOWAIT, args.pad,
			    args.reserved, sizeof(args.reserved)))
		return -EINVAL;

	ret = vmm_args_writable(argp, &args, sizeof(args));
	if (ret)
		return ret;

	args.bytes_moved = 0;
	args.blocks_moved = 0;
	ret = vmm_arena_defrag(arena, args.budget,
			       args.flags & VMM_DEFRAG_NOWAIT,
			       &args.bytes_moved, &args.blocks_moved, &compact);
	if (ret)
		return ret;
	args.compact = compact;
	if (copy_to_user(argp, &args, sizeof(args)))
		return -EFAULT;
	return 0;
}

static int vmm_ioctl_info(struct vmm_arena *arena, void __user *argp)
{
	struct vmm_info_args args;
	int ret;

	if (copy_from_user(&args, argp, sizeof(args)))
		return -EFAULT;
	if (!vmm_args_clean(args.flags, 0, args.pad, args.reserved,
			    sizeof(args.reserved)))
		return -EINVAL;

	ret = vmm_arena_info(arena, args.id, &args.offset, &args.size);
	if (ret)
		return ret;
	if (copy_to_user(argp, &args, sizeof(args)))
		return -EFAULT;
	return 0;
}

static int vmm_ioctl_stats(struct vmm_arena *arena, void __user *argp)
{
	struct vmm_stats_args st;

	vmm_arena_stats(arena, &st);
	if (copy_to_user(argp, &st, sizeof(st)))
		return -EFAULT;
	return 0;
}

static int vmm_ioctl_select(struct file *file, void __user *argp)
{
	struct vmm_file *vf = file->private_data;
	struct vmm_arena *arena = &vf->vmm->arena;
	struct vmm_select_args args;

	if (copy_from_user(&args, argp, sizeof(args)))
		return -EFAULT;
	if (!vmm_args_clean(args.flags, 0, args.pad, args.reserved,
			    sizeof(args.reserved)))
		return -EINVAL;

	if (args.id) {
		u64 start, size;
		int ret = vmm_arena_info(arena, args.id, &start, &size);

		if (ret)
			return ret;
	}
	vmm_lock(arena);
	vf->selected = args.id;
	vmm_unlock(arena);
	file->f_pos = 0;
	return 0;
}

/*
 * The bounds rules of the header: a read must lie inside the block; a write
 * must start inside it (-ERANGE) and fit (-EFBIG).
 */
static int vmm_rw_check(const struct vmm_rw_args *args, u64 size, bool write)
{
	u64 end;

	if (write && args->offset >= size)
		return -ERANGE;
	if (check_add_overflow(args->offset, args->length, &end) || end > size)
		return write ? -EFBIG : -ERANGE;
	return 0;
}

static int vmm_ioctl_rw(struct vmm_arena *arena, void __user *argp,
			bool write)
{
	struct vmm_rw_args args;
	struct vmm_block *blk;
	long done;
	int ret;

	if (copy_from_user(&args, argp, sizeof(args)))
		return -EFAULT;
	if (!vmm_args_clean(args.flags, 0, args.pad, args.reserved,
			    sizeof(args.reserved)))
		return -EINVAL;
	if (!write && !args.length)
		return -EINVAL;

	blk = vmm_arena_pin(arena, args.id);
	if (IS_ERR(blk))
		return PTR_ERR(blk);
	ret = vmm_rw_check(&args, blk->size, write);
	if (!ret && args.length) {
		done = vmm_copy_block(arena, blk, args.offset,
				      u64_to_user_ptr(args.buffer),
				      args.length, write);
		if (done != args.length)
			ret = -EFAULT;
	}
	vmm_arena_unpin(arena, blk);
	return ret;
}

static int vmm_ioctl_list(struct vmm_arena *arena, void __user *argp)
{
	struct vmm_block_info *out;
	struct vmm_list_args args;
	int ret = 0;

	if (copy_from_user(&args, argp, sizeof(args)))
		return -EFAULT;
	if (!vmm_args_clean(args.flags, 0, args.pad, args.reserved,
			    sizeof(args.reserved)))
		return -EINVAL;
	if (!args.capacity || args.capacity > VMM_LIST_MAX)
		return -EINVAL;

	/* Filled under the lock, copied out after it. */
	out = kvmalloc_array(args.capacity, sizeof(*out), GFP_KERNEL);
	if (!out)
		return -ENOMEM;
	args.count = vmm_arena_list(arena, args.start_id, out, args.capacity,
				    &args.next_id);
	if (copy_to_user(u64_to_user_ptr(args.buffer), out,
			 array_size(args.count, sizeof(*out))) ||
	    copy_to_user(argp, &args, sizeof(args)))
		ret = -EFAULT;
	kvfree(out);
	return ret;
}

/**
 * vmm_ioctl() - dispatch a /dev/vmm ioctl
 * @file: the open device
 * @cmd: a VMM_IOC_* command
 * @arg: user address of the command's argument struct
 *
 * Return: 0, a negative errno documented in uapi/linux/vmm.h, or -ENOTTY
 * for an unknown command.
 */
long vmm_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct vmm_file *vf = file->private_data;
	struct vmm_arena *arena = &vf->vmm->arena;
	void __user *argp = (void __user *)arg;

	switch (cmd) {
	case VMM_IOC_ALLOC:
		return vmm_ioctl_alloc(arena, argp);
	case VMM_IOC_FREE:
		return vmm_ioctl_free(arena, argp);
	case VMM_IOC_DEFRAG:
		return vmm_ioctl_defrag(arena, argp);
	case VMM_IOC_INFO:
		return vmm_ioctl_info(arena, argp);
	case VMM_IOC_STATS:
		return vmm_ioctl_stats(arena, argp);
	case VMM_IOC_SELECT:
		return vmm_ioctl_select(file, argp);
	case VMM_IOC_READ:
		return vmm_ioctl_rw(arena, argp, false);
	case VMM_IOC_WRITE:
		return vmm_ioctl_rw(arena, argp, true);
	case VMM_IOC_LIST:
		return vmm_ioctl_list(arena, argp);
	default:
		return -ENOTTY;
	}
}
