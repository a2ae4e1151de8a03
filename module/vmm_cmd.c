// SPDX-License-Identifier: GPL-2.0
/*
 * The commands, as the single ioctls (vmm_ioctl.c) and VMM_IOC_BATCH
 * (vmm_batch.c) share them: the checks of an argument, the caller's
 * credentials, and the actions; and what read(2), write(2), lseek(2)
 * (vmm_file.c) and mmap(2) (vmm_mmap.c) need of them: the credentials, a
 * pin for the caller, the copy to or from a pinned block.  Nothing here
 * copies an argument in or its result out: the callers do, so that a
 * batch copies its entries once.  No function here holds the arena lock
 * across a user copy; the caller's credentials are taken once per call,
 * before any lock, and the arena checks them against the block under its
 * lock.
 */

#include <linux/bug.h>
#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/err.h>
#include <linux/fs.h>
#include <linux/kernel.h>
#include <linux/mm.h>
#include <linux/nospec.h>
#include <linux/overflow.h>
#include <linux/pagemap.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/uaccess.h>
#include <linux/user_namespace.h>

#include "vmm.h"

/**
 * vmm_args_writable() - check that a command's result can be stored
 * @argp: user address of the argument
 * @args: the argument as copied in
 * @len: its size
 *
 * Commands whose work cannot be undone once done (a defragmentation) or
 * only with side effects (an allocation uses up its ID) check first that
 * their result can be stored, by writing the argument back unchanged.
 * Page tables, VMAs and protection keys decide per page whether memory
 * can be written, so one byte of each page the argument spans tells as
 * much as all of it, and a batch's entries are not copied out twice.
 * Memory tagged at a finer grain (arm64 MTE) may still refuse the copy
 * out, as memory unmapped meanwhile by another thread may: the commands
 * handle that as they must anyway (a batch frees the blocks it
 * allocated).
 *
 * Return: 0 or -EFAULT.
 */
int vmm_args_writable(void __user *argp, const void *args, size_t len)
{
	unsigned long addr = (unsigned long)argp;
	const u8 *bytes = args;
	size_t off = 0;

	while (off < len) {
		if (put_user(bytes[off], (u8 __user *)argp + off))
			return -EFAULT;
		/* The next page's first byte; the range was read whole. */
		off = PAGE_ALIGN(addr + off + 1) - addr;
	}
	return 0;
}

/**
 * vmm_cred_current() - the calling task's credentials, for the arena
 * @cred: filled in
 *
 * The subjective effective ids, as for file access, and the chain of ids
 * a new block is charged to: the owner of each user namespace from the
 * initial one's child down to the caller's, then the caller.  No
 * privilege yet: vmm_cred_escalate() asks for it when a check without it
 * fails.
 */
void vmm_cred_current(struct vmm_cred *cred)
{
	const struct cred *c = current_cred();
	const struct user_namespace *ns;
	unsigned int n = 0, i;

	cred->uid = c->euid;
	cred->gid = c->egid;
	cred->groups = c->group_info;
	cred->admin = false;
	cred->privileged = false;
	/* Bottom up, then reversed; namespaces nest at most 33 deep. */
	cred->charge[n++] = c->euid;
	for (ns = c->user_ns; ns != &init_user_ns && n < VMM_CHARGE_LEVELS;
	     ns = ns->parent)
		if (!uid_eq(ns->owner, cred->charge[n - 1]))
			cred->charge[n++] = ns->owner;
	/* Cannot happen (see VMM_CHARGE_LEVELS); it would drop the top. */
	WARN_ON_ONCE(ns != &init_user_ns);
	for (i = 0; i < n / 2; i++)
		swap(cred->charge[i], cred->charge[n - 1 - i]);
	cred->nr_charge = n;
}

/**
 * vmm_cred_escalate() - ask for CAP_SYS_ADMIN after a permission check failed
 * @cred: the caller, as vmm_cred_current() filled it
 * @err: what the check without privilege returned
 *
 * Only a denial (-EACCES or -EPERM) asks, so that capable() audits the
 * use of privilege, or its absence, only when the owner, group and mode
 * said no, and marks the task as having used it only then.  CAP_SYS_ADMIN
 * counts only in the initial user namespace: root in a namespace it
 * created owns nothing it did not allocate.
 *
 * Return: true if the caller may retry with @cred now privileged.
 */
bool vmm_cred_escalate(struct vmm_cred *cred, int err)
{
	if ((err != -EACCES && err != -EPERM) || cred->admin ||
	    !capable(CAP_SYS_ADMIN))
		return false;
	cred->admin = true;
	cred->privileged = true;
	return true;
}

/**
 * vmm_cred_limits() - whether the limits of unprivileged callers bind @cred
 * @cred: the caller, as vmm_cred_current() filled it; this sets
 *	@cred->privileged
 *
 * Not a permission check, so a caller without the capability is not
 * audited as denied.
 */
void vmm_cred_limits(struct vmm_cred *cred)
{
	cred->privileged = ns_capable_noaudit(&init_user_ns, CAP_SYS_ADMIN);
}

/* Pin a block for @cred, asking for privilege if the mode says no. */
static struct vmm_block *vmm_pin_cred(struct vmm_arena *arena, u64 id,
				      struct vmm_cred *cred, int may)
{
	struct vmm_block *blk;

	blk = vmm_arena_pin_perm(arena, id, cred, may);
	if (IS_ERR(blk) && vmm_cred_escalate(cred, PTR_ERR(blk)))
		blk = vmm_arena_pin_perm(arena, id, cred, may);
	return blk;
}

/**
 * vmm_pin_caller() - pin a block for the calling task's copy
 * @arena: the arena
 * @id: the block
 * @may: the caller needs any of these %VMM_MAY_READ, %VMM_MAY_WRITE bits
 *
 * Return: as vmm_arena_pin_perm().
 */
struct vmm_block *vmm_pin_caller(struct vmm_arena *arena, u64 id, int may)
{
	struct vmm_cred cred;

	vmm_cred_current(&cred);
	return vmm_pin_cred(arena, id, &cred, may);
}

/**
 * vmm_caller_init() - one call's view of its caller
 * @c: filled in
 * @file: the open device the call came through
 *
 * Takes the caller's credentials, once per call: a batch's entries all
 * share them, and what vmm_cred_escalate() or the limits learn.
 */
void vmm_caller_init(struct vmm_caller *c, struct file *file)
{
	c->vf = file->private_data;
	c->arena = &c->vf->vmm->arena;
	c->limits = false;
	vmm_cred_current(&c->cred);
}

/* Ask, once a call, whether the limits of unprivileged callers bind. */
static void vmm_caller_limits(struct vmm_caller *c)
{
	if (!c->limits)
		vmm_cred_limits(&c->cred);
	c->limits = true;
}

/**
 * vmm_alloc_check() - validate a VMM_IOC_ALLOC argument
 * @args: as copied in
 *
 * Return: 0 or -EINVAL.
 */
int vmm_alloc_check(const struct vmm_alloc_args *args)
{
	if (!vmm_args_clean(args->flags, VMM_ALLOC_COMPACT | VMM_ALLOC_MODE |
			    VMM_ALLOC_SCOPED | VMM_ALLOC_MAPPABLE, 0,
			    args->reserved, sizeof(args->reserved)))
		return -EINVAL;
	/* Without VMM_ALLOC_MODE, mode is padding and must be 0. */
	if (args->flags & VMM_ALLOC_MODE ? args->mode & ~VMM_MODE_MASK :
					   args->mode)
		return -EINVAL;
	return 0;
}

static int vmm_alloc_place(struct vmm_caller *c, struct vmm_alloc_args *args,
			   const struct vmm_alloc_req *req)
{
	return vmm_arena_alloc_owned(c->arena, args->size, args->align,
				     args->flags & VMM_ALLOC_COMPACT, req,
				     &args->id, &args->offset);
}

/**
 * vmm_alloc_req_fill() - the owner, mode and scope a checked ALLOC asks for
 * @c: the caller
 * @args: passed vmm_alloc_check()
 * @req: filled in
 */
void vmm_alloc_req_fill(struct vmm_caller *c, const struct vmm_alloc_args *args,
			struct vmm_alloc_req *req)
{
	req->cred = &c->cred;
	req->mode = args->flags & VMM_ALLOC_MODE ? args->mode :
						   VMM_MODE_DEFAULT;
	req->scope = args->flags & VMM_ALLOC_SCOPED ? &c->vf->scoped : NULL;
	req->mappable = args->flags & VMM_ALLOC_MAPPABLE;
	req->ask_limits = !c->limits && !c->cred.privileged;
}

/**
 * vmm_do_alloc() - allocate the block a checked VMM_IOC_ALLOC asks for
 * @c: the caller
 * @args: passed vmm_alloc_check(); @args->id and @args->offset are set
 *
 * Return: 0, or an errno of VMM_IOC_ALLOC (not -EFAULT).
 */
int vmm_do_alloc(struct vmm_caller *c, struct vmm_alloc_args *args)
{
	struct vmm_alloc_req req;
	int ret;

	vmm_alloc_req_fill(c, args, &req);
	ret = vmm_alloc_place(c, args, &req);
	/*
	 * A compaction would run, whose budget depends on privilege, or the
	 * caller is over the unprivileged block limit, which privilege
	 * lifts: ask, and place again.
	 */
	if (ret == -EAGAIN) {
		vmm_caller_limits(c);
		req.ask_limits = false;
		ret = vmm_alloc_place(c, args, &req);
	}
	return ret;
}

/**
 * vmm_free_check() - validate a VMM_IOC_FREE argument
 * @args: as copied in
 *
 * Return: 0 or -EINVAL.
 */
int vmm_free_check(const struct vmm_free_args *args)
{
	if (!vmm_args_clean(args->flags, 0, args->pad, args->reserved,
			    sizeof(args->reserved)))
		return -EINVAL;
	return 0;
}

/**
 * vmm_do_free() - free the block a checked VMM_IOC_FREE names
 * @c: the caller
 * @args: passed vmm_free_check()
 *
 * Return: 0, -ENOENT or -EACCES.
 */
int vmm_do_free(struct vmm_caller *c, const struct vmm_free_args *args)
{
	int ret;

	ret = vmm_arena_free_perm(c->arena, args->id, &c->cred);
	if (vmm_cred_escalate(&c->cred, ret))
		ret = vmm_arena_free_perm(c->arena, args->id, &c->cred);
	return ret;
}

/**
 * vmm_info_check() - validate a VMM_IOC_INFO argument
 * @args: as copied in
 *
 * Return: 0 or -EINVAL.
 */
int vmm_info_check(const struct vmm_info_args *args)
{
	if (!vmm_args_clean(args->flags, 0, args->pad, &args->reserved,
			    sizeof(args->reserved)))
		return -EINVAL;
	return 0;
}

/**
 * vmm_info_fill() - VMM_IOC_INFO's out fields, in the caller's namespace
 * @args: filled in
 * @attrs: what the arena reported
 */
void vmm_info_fill(struct vmm_info_args *args,
		   const struct vmm_block_attrs *attrs)
{
	args->offset = attrs->start;
	args->size = attrs->size;
	args->uid = from_kuid_munged(current_user_ns(), attrs->uid);
	args->gid = from_kgid_munged(current_user_ns(), attrs->gid);
	args->mode = attrs->mode;
	args->attrs = (attrs->scoped ? VMM_BLOCK_SCOPED : 0) |
		      (attrs->mappable ? VMM_BLOCK_MAPPABLE : 0);
	args->mapped = attrs->maps;
}

/**
 * vmm_do_info() - describe the block a checked VMM_IOC_INFO names
 * @c: the caller
 * @args: passed vmm_info_check(); its out fields are set
 *
 * Return: 0, -ENOENT or -EACCES.
 */
int vmm_do_info(struct vmm_caller *c, struct vmm_info_args *args)
{
	struct vmm_block_attrs attrs;
	int ret;

	ret = vmm_arena_attrs(c->arena, args->id, &c->cred,
			      VMM_MAY_READ | VMM_MAY_WRITE, &attrs);
	if (vmm_cred_escalate(&c->cred, ret))
		ret = vmm_arena_attrs(c->arena, args->id, &c->cred,
				      VMM_MAY_READ | VMM_MAY_WRITE, &attrs);
	if (ret)
		return ret;
	vmm_info_fill(args, &attrs);
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

/**
 * vmm_rw_check_args() - validate a VMM_IOC_READ or VMM_IOC_WRITE argument
 * @args: as copied in
 * @write: VMM_IOC_WRITE
 *
 * Return: 0 or -EINVAL.
 */
int vmm_rw_check_args(const struct vmm_rw_args *args, bool write)
{
	if (!vmm_args_clean(args->flags, 0, args->pad, args->reserved,
			    sizeof(args->reserved)))
		return -EINVAL;
	if (!write && !args->length)
		return -EINVAL;
	return 0;
}

/**
 * vmm_do_rw() - copy what a checked VMM_IOC_READ or VMM_IOC_WRITE asks for
 * @c: the caller
 * @args: passed vmm_rw_check_args()
 * @write: VMM_IOC_WRITE
 *
 * The block is pinned and the copy runs without the arena's lock, and
 * pinned only a piece at a time (vmm_copy_block()).
 *
 * Return: 0, or an errno of VMM_IOC_READ or VMM_IOC_WRITE.
 */
int vmm_do_rw(struct vmm_caller *c, const struct vmm_rw_args *args,
	      bool write)
{
	struct vmm_arena *arena = c->arena;
	struct vmm_block *blk;
	long done;
	int ret;

	blk = vmm_pin_cred(arena, args->id, &c->cred,
			   write ? VMM_MAY_WRITE : VMM_MAY_READ);
	if (IS_ERR(blk))
		return PTR_ERR(blk);
	ret = vmm_rw_check(args, blk->size, write);
	if (!ret && args->length) {
		done = vmm_copy_block(arena, &blk, args->offset,
				      u64_to_user_ptr(args->buffer),
				      args->length, write, &ret);
		if (!ret && done != args->length)
			ret = -EFAULT;
	}
	if (blk)
		vmm_arena_unpin(arena, blk);
	return ret;
}

/*
 * Copy one piece with page faults off: a fault of @ubuf is the caller's to
 * take, and it may take as long as the caller likes (a page of its own
 * userfaultfd or FUSE file), so it must not be taken with a block pinned.
 */
static unsigned long vmm_copy_piece(void *kbuf, void __user *ubuf, size_t n,
				    bool to_block)
{
	unsigned long left;

	pagefault_disable();
	if (to_block)
		left = __copy_from_user_inatomic(kbuf, ubuf, n);
	else
		left = __copy_to_user_inatomic(ubuf, kbuf, n);
	pagefault_enable();
	return left;
}

/*
 * Fault in @n bytes of @ubuf, as the copy will touch them; false if not
 * one byte can be had.  For a READ the subpage variant, which stores a
 * zero where the copy would, so that a page the copy would fault on again
 * (a mismatched memory tag, say) is not reported as there: a copy retried
 * after a fault-in that succeeded makes progress, unless something unmaps
 * the page in between, each time (the caller's own doing, and only its
 * own call spins, killable, holding nothing).
 */
static bool vmm_fault_in(void __user *ubuf, size_t n, bool to_block)
{
	if (to_block)
		return fault_in_readable(ubuf, n) != n;
	return fault_in_subpage_writeable(ubuf, n) != n;
}

/**
 * vmm_copy_block() - copy between a pinned block and user memory
 * @arena: the arena
 * @blkp: a block pinned by the caller; on return, that block pinned, or
 *	NULL if it could not be pinned again (*@err says why)
 * @offset: byte offset in the block; @offset + @len must lie inside it
 * @ubuf: user buffer
 * @len: bytes to copy
 * @to_block: true to copy from @ubuf into the block
 * @err: set to 0, or to why the copy stopped short: -EFAULT (@ubuf), or
 *	vmm_arena_pin_perm()'s -ENOENT (the block was freed) or -ERESTARTSYS
 *
 * The copy goes by pieces of at most %VMM_CHUNK, each with page faults
 * off, and holds the block only while it copies one: between pieces, and
 * while a fault of @ubuf is taken, it lets the block go, so that no caller
 * can hold a block in place (and, freed, its range and its owner's quota)
 * for as long as its own page takes, or its own thread's slowness makes a
 * long copy last; then it pins the block again by its ID, wherever the
 * compactor moved it meanwhile.  The caller's right to the block was
 * checked when the call began, and holds for the whole call.
 *
 * Writes store only the bytes copied (__copy_from_user_inatomic() does not
 * zero the rest of a piece that faults, which would wipe block bytes the
 * caller never meant to touch), after one access_ok() over the whole
 * range with the speculation barrier copy_from_user() puts after its own,
 * so that a mispredicted access_ok() cannot copy kernel memory into the
 * block even speculatively.
 *
 * Return: bytes copied, which is less than @len if *@err is set, or if a
 * fatal signal arrived.
 */
long vmm_copy_block(struct vmm_arena *arena, struct vmm_block **blkp,
		    u64 offset, void __user *ubuf, size_t len, bool to_block,
		    int *err)
{
	int may = to_block ? VMM_MAY_WRITE : VMM_MAY_READ;
	struct vmm_block *blk = *blkp;
	size_t done = 0;
	u64 id = blk->id;

	*err = 0;
	if (!access_ok(ubuf, len)) {
		*err = -EFAULT;
		return 0;
	}
	if (to_block)
		barrier_nospec();
	for (;;) {
		size_t n = min_t(size_t, len - done, VMM_CHUNK);
		u8 *kbuf = arena->base + blk->start + offset + done;
		unsigned long left;

		left = vmm_copy_piece(kbuf, ubuf + done, n, to_block);
		done += n - left;
		if (done == len || fatal_signal_pending(current))
			break;
		vmm_arena_unpin(arena, blk);
		blk = NULL;
		if (left && !vmm_fault_in(ubuf + done, left, to_block)) {
			*err = -EFAULT;
			break;
		}
		cond_resched();
		blk = vmm_arena_pin_perm(arena, id, NULL, may);
		if (IS_ERR(blk)) {
			*err = PTR_ERR(blk);
			blk = NULL;
			break;
		}
	}
	*blkp = blk;
	return done;
}
