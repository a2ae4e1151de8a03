// SPDX-License-Identifier: GPL-2.0
/*
 * VMM_IOC_BATCH: up to VMM_BATCH_MAX ALLOC, FREE, READ, WRITE and INFO
 * operations in one call.
 *
 * Why: a program that allocates, fills and describes many small blocks
 * pays a system call, a copy of its argument and a credential lookup per
 * operation, which is most of the cost of a small one.  A batch copies its
 * entries in once, takes the caller's credentials once, and runs each
 * entry through the same checks and actions as the single command
 * (vmm_cmd.c), so that an entry's result is what the command would have
 * returned.
 *
 * What a batch must not do is let one call keep the arena, or the CPU, for
 * longer than the single commands could.  The entries therefore run one
 * after another with cond_resched() between them, a fatal signal ends the
 * call between entries, and READ and WRITE copy without the arena's lock,
 * pinning the block, as VMM_IOC_READ and VMM_IOC_WRITE do.  Consecutive
 * ALLOC, FREE and INFO entries, which only touch metadata, go through one
 * function, vmm_batch_meta(), which has the arena run them under shared
 * holds of the lock, a bounded number of them per hold
 * (vmm_arena_meta_run()).
 *
 * Locking: no lock is held across a user copy; the entries are copied in
 * before the first runs and out after the last.  The device's buffers
 * (&struct vmm_batch_bufs) go to one call at a time, by a bit lock that
 * is only ever tried, never waited for, and that is held across the
 * call's user copies, stalls included: a call that finds it held
 * allocates buffers of its own.
 */

#include <linux/bitops.h>
#include <linux/err.h>
#include <linux/errno.h>
#include <linux/fs.h>
#include <linux/overflow.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "vmm.h"

/**
 * struct vmm_batch - one VMM_IOC_BATCH call in progress
 * @c: the caller, shared by every entry
 * @e: the kernel's copy of the entries
 * @count: entries in @e
 * @done: entries run so far, each with its result set
 * @failed: of @done, those that failed
 * @cont: %VMM_BATCH_CONTINUE: run on after a failure
 * @lent: @e and @ops are the device's (vmm_batch_bufs_get())
 * @ops: room for @count entries' requests to vmm_arena_meta_run()
 */
struct vmm_batch {
	struct vmm_caller c;
	struct vmm_batch_entry *e;
	struct vmm_meta_op *ops;
	u32 count;
	u32 done;
	u32 failed;
	bool cont;
	bool lent;
};

/* The size of each op's own struct in the entry's union. */
static size_t vmm_batch_op_size(u32 op)
{
	switch (op) {
	case VMM_BATCH_ALLOC:
		return sizeof(struct vmm_alloc_args);
	case VMM_BATCH_FREE:
		return sizeof(struct vmm_free_args);
	case VMM_BATCH_READ:
	case VMM_BATCH_WRITE:
		return sizeof(struct vmm_rw_args);
	case VMM_BATCH_INFO:
		return sizeof(struct vmm_info_args);
	default:
		return 0;
	}
}

/*
 * The checks of the entry's single command, after those of the batch: a
 * known op, and zero in the union's bytes past its struct, which a later
 * version may give a meaning.
 */
static int vmm_batch_check(const struct vmm_batch_entry *e)
{
	size_t len = vmm_batch_op_size(e->op);

	if (!len)
		return -EINVAL;
	if (memchr_inv((const u8 *)e->raw + len, 0, sizeof(e->raw) - len))
		return -EINVAL;
	switch (e->op) {
	case VMM_BATCH_ALLOC:
		return vmm_alloc_check(&e->alloc);
	case VMM_BATCH_FREE:
		return vmm_free_check(&e->free);
	case VMM_BATCH_INFO:
		return vmm_info_check(&e->info);
	default:
		return vmm_rw_check_args(&e->rw, e->op == VMM_BATCH_WRITE);
	}
}

/* Run one checked entry as its single command would. */
static int vmm_batch_act(struct vmm_caller *c, struct vmm_batch_entry *e)
{
	switch (e->op) {
	case VMM_BATCH_ALLOC:
		return vmm_do_alloc(c, &e->alloc);
	case VMM_BATCH_FREE:
		return vmm_do_free(c, &e->free);
	case VMM_BATCH_INFO:
		return vmm_do_info(c, &e->info);
	default:
		return vmm_do_rw(c, &e->rw, e->op == VMM_BATCH_WRITE);
	}
}

static bool vmm_batch_is_meta(u32 op)
{
	return op == VMM_BATCH_ALLOC || op == VMM_BATCH_FREE ||
	       op == VMM_BATCH_INFO;
}

/*
 * Store the result of the next entry.  A wait that a signal interrupted
 * cannot restart one entry of a batch, so it reads as the -EINTR of a
 * handler without SA_RESTART.  Returns whether the call goes on.
 */
static bool vmm_batch_record(struct vmm_batch *b, int ret)
{
	if (ret == -ERESTARTSYS)
		ret = -EINTR;
	b->e[b->done++].result = ret;
	if (ret)
		b->failed++;
	return !ret || b->cont;
}

/*
 * Between entries: yield, and stop at the end, or for a pending signal
 * once something ran (the caller sends the rest again).
 */
static bool vmm_batch_next(struct vmm_batch *b)
{
	cond_resched();
	return b->done < b->count && !(b->done && signal_pending(current));
}

/*
 * Privilege is asked for per entry, as the single commands ask per call:
 * an entry that passes only as an administrator is audited as such, and
 * one administrator entry does not wave the next one through unasked.
 * The unprivileged limits, which are not permission checks, stay known.
 */
static void vmm_batch_unescalate(struct vmm_batch *b)
{
	b->c.cred.admin = false;
}

/*
 * Entries one call of vmm_batch_meta() hands to the arena at most, so that
 * what it prepares for a run that stops early stays small.
 */
#define VMM_BATCH_META_MAX	64

/* Check and run the next entry; returns whether the call goes on. */
static bool vmm_batch_one(struct vmm_batch *b)
{
	struct vmm_batch_entry *e = &b->e[b->done];
	int ret;

	vmm_batch_unescalate(b);
	ret = vmm_batch_check(e);
	if (!ret)
		ret = vmm_batch_act(&b->c, e);
	return vmm_batch_record(b, ret);
}

/*
 * The arena's request for a checked ALLOC, FREE or INFO entry.  Only the
 * fields struct vmm_meta_op says the arena reads are set: clearing the
 * whole op, attributes included, for every entry showed in a profile of
 * small batches.  A field added there must be set here.
 */
static void vmm_batch_meta_op(struct vmm_caller *c,
			      const struct vmm_batch_entry *e,
			      struct vmm_meta_op *op)
{
	op->op = e->op;
	op->result = 0;
	if (e->op == VMM_BATCH_ALLOC) {
		op->size = e->alloc.size;
		op->align = e->alloc.align;
		op->compact = e->alloc.flags & VMM_ALLOC_COMPACT;
		vmm_alloc_req_fill(c, &e->alloc, &op->req);
		op->id = 0;
	} else {
		/* Not read for these; no stale pointer of an earlier call. */
		op->req.cred = NULL;
		op->req.scope = NULL;
		op->size = 0;
		op->align = 0;
		op->compact = false;
		op->id = e->op == VMM_BATCH_FREE ? e->free.id : e->info.id;
	}
	op->start = 0;
}

/* Store what the arena did for an entry of a shared run. */
static void vmm_batch_meta_done(struct vmm_batch_entry *e,
				const struct vmm_meta_op *op)
{
	if (e->op == VMM_BATCH_ALLOC) {
		e->alloc.id = op->id;
		e->alloc.offset = op->start;
	} else if (e->op == VMM_BATCH_INFO) {
		vmm_info_fill(&e->info, &op->attrs);
	}
}

/*
 * Run the consecutive ALLOC, FREE and INFO entries from the next one on.
 * They touch only metadata, so those that pass their checks go to
 * vmm_arena_meta_run(), which does them under shared holds of the lock,
 * a bounded number per hold.  The entry it stops at (it failed, or needs
 * the lock dropped) runs alone through the single command's path, which
 * knows what to do about privilege, compaction and the unprivileged
 * block limit, and gives the entry its final result; as does an entry
 * that fails its checks.  Returns whether the call goes on.
 */
static bool vmm_batch_meta(struct vmm_batch *b)
{
	unsigned int n = 0, ran, i;

	vmm_batch_unescalate(b);
	while (n < VMM_BATCH_META_MAX && b->done + n < b->count &&
	       vmm_batch_is_meta(b->e[b->done + n].op) &&
	       !vmm_batch_check(&b->e[b->done + n])) {
		vmm_batch_meta_op(&b->c, &b->e[b->done + n], &b->ops[n]);
		n++;
	}
	ran = n ? vmm_arena_meta_run(b->c.arena, &b->c.cred, b->ops, n) : 0;
	for (i = 0; i < ran; i++) {
		vmm_batch_meta_done(&b->e[b->done], &b->ops[i]);
		vmm_batch_record(b, 0);
	}
	if (n && ran == n)
		return true;
	return vmm_batch_next(b) ? vmm_batch_one(b) : true;
}

static void vmm_batch_run(struct vmm_batch *b)
{
	while (vmm_batch_next(b)) {
		if (vmm_batch_is_meta(b->e[b->done].op)) {
			if (!vmm_batch_meta(b))
				break;
		} else if (!vmm_batch_one(b)) {
			break;
		}
	}
}

/*
 * The results could not all be stored, so the caller may not know the IDs
 * of the blocks this call allocated: free them again, as their owner (not
 * as the administrator the last entry may have become).  A later entry
 * may have freed one already (-ENOENT), or another task given it away
 * meanwhile (-EACCES: then it is the new owner's).
 */
static void vmm_batch_undo(struct vmm_batch *b)
{
	u32 i;

	vmm_batch_unescalate(b);
	for (i = 0; i < b->done; i++)
		if (b->e[i].op == VMM_BATCH_ALLOC && !b->e[i].result)
			vmm_arena_free_perm(b->c.arena, b->e[i].alloc.id,
					    &b->c.cred);
}

static int vmm_batch_header(struct vmm_batch_args *args)
{
	if (!args->count || args->count > VMM_BATCH_MAX)
		return -EINVAL;
	if (args->flags & ~VMM_BATCH_CONTINUE ||
	    memchr_inv(args->reserved, 0, sizeof(args->reserved)))
		return -EINVAL;
	return 0;
}

/**
 * struct vmm_batch_bufs - room for one call's entries and arena requests
 * @e: the entries, copied in
 * @ops: the arena's requests for a run of ALLOC, FREE and INFO entries
 *
 * Why: a call that allocated these each time paid, besides the two
 * allocations, for clearing them (init_on_alloc, the default of Debian's
 * kernels and others): 27 KiB for a call of 256 entries, of which the
 * entries come from a page allocation of their own past 8 KiB.  One set,
 * made when the module loads, is lent to one call at a time; a call that
 * finds it lent allocates its own, as before, and nobody waits for it.
 * What a call leaves in it stays there: the next call copies out only
 * entries it copied in itself, and sets every field of a request the
 * arena reads (vmm_batch_meta_op()).
 */
struct vmm_batch_bufs {
	struct vmm_batch_entry e[VMM_BATCH_MAX];
	struct vmm_meta_op ops[VMM_BATCH_META_MAX];
};

/**
 * vmm_batch_init() - make the buffers lent to one batch at a time
 * @vmm: the device
 *
 * Return: 0 or -ENOMEM.
 */
int vmm_batch_init(struct vmm_device *vmm)
{
	/* vmm_init() says what failed; a dump of the stack adds nothing. */
	vmm->batch_bufs = kvmalloc_obj(*vmm->batch_bufs,
				       GFP_KERNEL | __GFP_NOWARN);
	if (!vmm->batch_bufs)
		return -ENOMEM;
	vmm->batch_lent = 0;
	return 0;
}

/**
 * vmm_batch_exit() - free what vmm_batch_init() made
 * @vmm: the device, with no file open
 */
void vmm_batch_exit(struct vmm_device *vmm)
{
	WARN_ON_ONCE(test_bit(0, &vmm->batch_lent));
	kvfree(vmm->batch_bufs);
}

/*
 * Room for @count entries and their requests in @b: the device's, unless
 * another call has them, then allocated; give them back with
 * vmm_batch_bufs_put().  Return: 0 or -ENOMEM.
 */
static int vmm_batch_bufs_get(struct vmm_device *vmm, struct vmm_batch *b,
			      u32 count)
{
	/* A look before the atomic, which would bounce the cache line. */
	b->lent = !test_bit(0, &vmm->batch_lent) &&
		  !test_and_set_bit_lock(0, &vmm->batch_lent);
	if (b->lent) {
		b->e = vmm->batch_bufs->e;
		b->ops = vmm->batch_bufs->ops;
		return 0;
	}
	b->e = kvmalloc_array(count, sizeof(*b->e), GFP_KERNEL_ACCOUNT);
	if (!b->e)
		return -ENOMEM;
	b->ops = kvmalloc_array(min_t(u32, count, VMM_BATCH_META_MAX),
				sizeof(*b->ops), GFP_KERNEL_ACCOUNT);
	if (!b->ops) {
		kvfree(b->e);
		return -ENOMEM;
	}
	return 0;
}

static void vmm_batch_bufs_put(struct vmm_device *vmm, struct vmm_batch *b)
{
	if (b->lent) {
		clear_bit_unlock(0, &vmm->batch_lent);
		return;
	}
	kvfree(b->ops);
	kvfree(b->e);
}

/**
 * vmm_ioctl_batch() - VMM_IOC_BATCH: run several operations in one call
 * @file: the open device
 * @argp: user address of a &struct vmm_batch_args
 *
 * Entries run in order, each as its single command would, with the
 * caller's credentials taken once; see &struct vmm_batch_args.
 *
 * Return: 0 once entries ran, whatever their results; -EINVAL for a bad
 * header, -EFAULT when the header or the entries cannot be read or
 * written back, -ENOMEM when the entries cannot be copied in.
 */
int vmm_ioctl_batch(struct file *file, void __user *argp)
{
	struct vmm_file *vf = file->private_data;
	struct vmm_batch_entry __user *uentries;
	struct vmm_batch_args args;
	struct vmm_batch b;
	size_t len;
	int ret;

	if (copy_from_user(&args, argp, sizeof(args)))
		return -EFAULT;
	ret = vmm_batch_header(&args);
	if (ret)
		return ret;
	uentries = u64_to_user_ptr(args.entries);
	len = array_size(args.count, sizeof(*b.e));
	ret = vmm_batch_bufs_get(vf->vmm, &b, args.count);
	if (ret)
		return ret;
	/* Nothing runs unless every result, and the header, can be stored. */
	if (copy_from_user(b.e, uentries, len) ||
	    vmm_args_writable(uentries, b.e, len) ||
	    vmm_args_writable(argp, &args, sizeof(args))) {
		ret = -EFAULT;
		goto out_free;
	}

	vmm_caller_init(&b.c, file);
	b.count = args.count;
	b.done = 0;
	b.failed = 0;
	b.cont = args.flags & VMM_BATCH_CONTINUE;
	vmm_batch_run(&b);

	args.done = b.done;
	args.failed = b.failed;
	if (copy_to_user(uentries, b.e, array_size(b.done, sizeof(*b.e))) ||
	    copy_to_user(argp, &args, sizeof(args))) {
		vmm_batch_undo(&b);
		ret = -EFAULT;
	}
out_free:
	vmm_batch_bufs_put(vf->vmm, &b);
	return ret;
}
