// SPDX-License-Identifier: GPL-2.0
/*
 * vmm ioctls.  Each handler copies its argument in, validates every field
 * before touching any state, calls into the arena (through vmm_cmd.c for
 * the commands VMM_IOC_BATCH also runs), and copies the result out.  No
 * handler holds the arena lock across a user copy.  The caller's
 * credentials are taken once per call, before any lock, and the arena
 * checks them against the block under its lock.
 */

#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/fs.h>
#include <linux/kernel.h>
#include <linux/overflow.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/user_namespace.h>

#include "vmm.h"

static int vmm_ioctl_alloc(struct file *file, void __user *argp)
{
	struct vmm_alloc_args args;
	struct vmm_caller c;
	int ret;

	if (copy_from_user(&args, argp, sizeof(args)))
		return -EFAULT;
	ret = vmm_alloc_check(&args);
	if (ret)
		return ret;
	ret = vmm_args_writable(argp, &args, sizeof(args));
	if (ret)
		return ret;

	vmm_caller_init(&c, file);
	ret = vmm_do_alloc(&c, &args);
	if (ret)
		return ret;
	if (copy_to_user(argp, &args, sizeof(args))) {
		/*
		 * Unmapped since the check: undo, as the owner, as a batch
		 * does (vmm_batch_undo()).  An administrator who learnt the
		 * ID from VMM_IOC_LIST and gave the block away meanwhile
		 * made it the new owner's (-EACCES); it stays.
		 */
		vmm_arena_free_perm(c.arena, args.id, &c.cred);
		return -EFAULT;
	}
	return 0;
}

static int vmm_ioctl_free(struct file *file, void __user *argp)
{
	struct vmm_free_args args;
	struct vmm_caller c;
	int ret;

	if (copy_from_user(&args, argp, sizeof(args)))
		return -EFAULT;
	ret = vmm_free_check(&args);
	if (ret)
		return ret;
	vmm_caller_init(&c, file);
	return vmm_do_free(&c, &args);
}

static int vmm_ioctl_defrag(struct vmm_arena *arena, void __user *argp)
{
	struct vmm_defrag_args args;
	struct vmm_cred cred;
	bool compact;
	u64 budget;
	int ret;

	if (copy_from_user(&args, argp, sizeof(args)))
		return -EFAULT;
	if (!vmm_args_clean(args.flags, VMM_DEFRAG_NOWAIT, args.pad,
			    args.reserved, sizeof(args.reserved)))
		return -EINVAL;

	ret = vmm_args_writable(argp, &args, sizeof(args));
	if (ret)
		return ret;

	/* Unprivileged callers get a bounded call; they loop for more. */
	vmm_cred_current(&cred);
	vmm_cred_limits(&cred);
	budget = args.budget;
	if (!cred.privileged && (!budget || budget > VMM_DEFRAG_USER_BUDGET))
		budget = VMM_DEFRAG_USER_BUDGET;
	args.bytes_moved = 0;
	args.blocks_moved = 0;
	ret = vmm_arena_defrag(arena, &cred, budget,
			       args.flags & VMM_DEFRAG_NOWAIT,
			       &args.bytes_moved, &args.blocks_moved, &compact);
	if (ret)
		return ret;
	args.compact = compact;
	if (copy_to_user(argp, &args, sizeof(args)))
		return -EFAULT;
	return 0;
}

static int vmm_ioctl_info(struct file *file, void __user *argp)
{
	struct vmm_info_args args;
	struct vmm_caller c;
	int ret;

	if (copy_from_user(&args, argp, sizeof(args)))
		return -EFAULT;
	ret = vmm_info_check(&args);
	if (ret)
		return ret;
	vmm_caller_init(&c, file);
	ret = vmm_do_info(&c, &args);
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
	struct vmm_cred cred;
	int ret, granted;

	if (copy_from_user(&args, argp, sizeof(args)))
		return -EFAULT;
	if (!vmm_args_clean(args.flags, 0, args.pad, args.reserved,
			    sizeof(args.reserved)))
		return -EINVAL;

	vmm_cred_current(&cred);
	ret = vmm_arena_select(arena, args.id, &cred, &vf->selected,
			       &vf->selected_may, &granted);
	if (vmm_cred_escalate(&cred, ret)) {
		ret = vmm_arena_select(arena, args.id, &cred, &vf->selected,
				       &vf->selected_may, &granted);
	} else if (!ret && args.id &&
		   granted != (VMM_MAY_READ | VMM_MAY_WRITE) &&
		   ns_capable_noaudit(&init_user_ns, CAP_SYS_ADMIN)) {
		/*
		 * The mode grants part of what an administrator may do: ask,
		 * without auditing a denial for everyone else, and select
		 * again with all of it.  If the block went meanwhile, the
		 * first selection stands: the call succeeded.
		 */
		cred.admin = true;
		vmm_arena_select(arena, args.id, &cred, &vf->selected,
				 &vf->selected_may, &granted);
	}
	if (ret)
		return ret;
	file->f_pos = 0;
	return 0;
}

static int vmm_ioctl_rw(struct file *file, void __user *argp, bool write)
{
	struct vmm_rw_args args;
	struct vmm_caller c;
	int ret;

	if (copy_from_user(&args, argp, sizeof(args)))
		return -EFAULT;
	ret = vmm_rw_check_args(&args, write);
	if (ret)
		return ret;
	vmm_caller_init(&c, file);
	return vmm_do_rw(&c, &args, write);
}

static int vmm_ioctl_list(struct vmm_arena *arena, void __user *argp)
{
	struct vmm_block_info *out;
	struct vmm_list_args args;
	u32 i;
	int ret = 0;

	if (copy_from_user(&args, argp, sizeof(args)))
		return -EFAULT;
	if (!vmm_args_clean(args.flags, 0, args.pad, args.reserved,
			    sizeof(args.reserved)))
		return -EINVAL;
	if (!args.capacity || args.capacity > VMM_LIST_MAX)
		return -EINVAL;

	/* Filled under the lock, copied out after it. */
	out = kvmalloc_array(args.capacity, sizeof(*out),
			     GFP_KERNEL_ACCOUNT);
	if (!out)
		return -ENOMEM;
	args.count = vmm_arena_list(arena, args.start_id, out, args.capacity,
				    &args.next_id);
	for (i = 0; i < args.count; i++) {
		out[i].uid = from_kuid_munged(current_user_ns(),
					      KUIDT_INIT(out[i].uid));
		out[i].gid = from_kgid_munged(current_user_ns(),
					      KGIDT_INIT(out[i].gid));
	}
	if (copy_to_user(u64_to_user_ptr(args.buffer), out,
			 array_size(args.count, sizeof(*out))) ||
	    copy_to_user(argp, &args, sizeof(args)))
		ret = -EFAULT;
	kvfree(out);
	return ret;
}

static int vmm_ioctl_chmod(struct vmm_arena *arena, void __user *argp)
{
	struct vmm_chmod_args args;
	struct vmm_cred cred;
	int ret;

	if (copy_from_user(&args, argp, sizeof(args)))
		return -EFAULT;
	if (!vmm_args_clean(args.flags, 0, 0, args.reserved,
			    sizeof(args.reserved)))
		return -EINVAL;
	if (args.mode & ~VMM_MODE_MASK)
		return -EINVAL;
	vmm_cred_current(&cred);
	ret = vmm_arena_chmod(arena, args.id, &cred, args.mode);
	if (vmm_cred_escalate(&cred, ret))
		ret = vmm_arena_chmod(arena, args.id, &cred, args.mode);
	return ret;
}

static int vmm_ioctl_chown(struct vmm_arena *arena, void __user *argp)
{
	kuid_t uid = INVALID_UID;
	kgid_t gid = INVALID_GID;
	struct vmm_chown_args args;
	struct vmm_cred cred;
	int ret;

	if (copy_from_user(&args, argp, sizeof(args)))
		return -EFAULT;
	if (!vmm_args_clean(args.flags, 0, args.pad, args.reserved,
			    sizeof(args.reserved)))
		return -EINVAL;
	/* Ids the caller's namespace cannot name are refused, as chown(2). */
	if (args.uid != VMM_ID_UNCHANGED) {
		uid = make_kuid(current_user_ns(), args.uid);
		if (!uid_valid(uid))
			return -EINVAL;
	}
	if (args.gid != VMM_ID_UNCHANGED) {
		gid = make_kgid(current_user_ns(), args.gid);
		if (!gid_valid(gid))
			return -EINVAL;
	}
	vmm_cred_current(&cred);
	ret = vmm_arena_chown(arena, args.id, &cred, uid, gid);
	if (vmm_cred_escalate(&cred, ret))
		ret = vmm_arena_chown(arena, args.id, &cred, uid, gid);
	return ret;
}

static int vmm_ioctl_usage(struct vmm_arena *arena, void __user *argp)
{
	struct vmm_user_usage *out;
	struct vmm_usage_args args;
	int ret = 0;
	u32 i;

	if (copy_from_user(&args, argp, sizeof(args)))
		return -EFAULT;
	if (!vmm_args_clean(args.flags, 0, args.pad, args.reserved,
			    sizeof(args.reserved)))
		return -EINVAL;
	if (!args.capacity || args.capacity > VMM_USAGE_MAX)
		return -EINVAL;
	/*
	 * Open to all, like VMM_IOC_LIST, which shows every block's owner
	 * and size: these are its sums.  But the entries are ordered, and
	 * paged, by kernel uid, so that the cursor itself would name ids a
	 * user namespace cannot see: refused there.
	 */
	if (current_user_ns() != &init_user_ns)
		return -EPERM;

	out = kvmalloc_array(args.capacity, sizeof(*out),
			     GFP_KERNEL_ACCOUNT);
	if (!out)
		return -ENOMEM;
	args.count = vmm_arena_usage(arena, args.start_uid, out,
				     args.capacity, &args.next_uid);
	for (i = 0; i < args.count; i++)
		out[i].uid = from_kuid_munged(current_user_ns(),
					      KUIDT_INIT(out[i].uid));
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
		return vmm_ioctl_alloc(file, argp);
	case VMM_IOC_FREE:
		return vmm_ioctl_free(file, argp);
	case VMM_IOC_DEFRAG:
		return vmm_ioctl_defrag(arena, argp);
	case VMM_IOC_INFO:
		return vmm_ioctl_info(file, argp);
	case VMM_IOC_STATS:
		return vmm_ioctl_stats(arena, argp);
	case VMM_IOC_SELECT:
		return vmm_ioctl_select(file, argp);
	case VMM_IOC_READ:
		return vmm_ioctl_rw(file, argp, false);
	case VMM_IOC_WRITE:
		return vmm_ioctl_rw(file, argp, true);
	case VMM_IOC_LIST:
		return vmm_ioctl_list(arena, argp);
	case VMM_IOC_CHMOD:
		return vmm_ioctl_chmod(arena, argp);
	case VMM_IOC_CHOWN:
		return vmm_ioctl_chown(arena, argp);
	case VMM_IOC_USAGE:
		return vmm_ioctl_usage(arena, argp);
	case VMM_IOC_BATCH:
		return vmm_ioctl_batch(file, argp);
	default:
		return -ENOTTY;
	}
}
