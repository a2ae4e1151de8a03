// SPDX-License-Identifier: GPL-2.0
/*
 * The file operations of /dev/vmm: open and release, read(2), write(2)
 * and lseek(2) on the block an open file has selected (VMM_IOC_SELECT),
 * and the table that hands ioctl(2) to vmm_ioctl.c and mmap(2) to
 * vmm_mmap.c.
 *
 * Locking: see vmm_arena.c.  read(2), write(2) and lseek(2) take the arena
 * lock only to look up and pin the block; the copy itself runs unlocked.
 */

#include <linux/err.h>
#include <linux/fs.h>
#include <linux/kernel.h>
#include <linux/list.h>
#include <linux/module.h>
#include <linux/overflow.h>
#include <linux/slab.h>

#include "vmm.h"

/*
 * Pin the block this file has selected, if the task that selected it held
 * any of the @may permissions on it then, and the caller (who may be
 * another task) holds any of them now.  read(2) and write(2) ask for one
 * bit, which both must have; lseek(2) asks for either, and the two sides
 * need not share one.
 */
static struct vmm_block *vmm_file_pin(struct vmm_file *vf, int may)
{
	struct vmm_arena *arena = &vf->vmm->arena;
	int selected_may;
	u64 id;

	vmm_lock(arena);
	id = vf->selected;
	selected_may = vf->selected_may;
	vmm_unlock(arena);
	if (!id)
		return ERR_PTR(-ENXIO);
	if (!(may & selected_may))
		return ERR_PTR(-EACCES);
	return vmm_pin_caller(arena, id, may);
}

static ssize_t vmm_read(struct file *file, char __user *buf, size_t count,
			loff_t *ppos)
{
	struct vmm_file *vf = file->private_data;
	struct vmm_arena *arena = &vf->vmm->arena;
	struct vmm_block *blk;
	u64 pos = *ppos;
	long done;
	int err;

	blk = vmm_file_pin(vf, VMM_MAY_READ);
	if (IS_ERR(blk))
		return PTR_ERR(blk);
	if (pos >= blk->size) {
		vmm_arena_unpin(arena, blk);
		return 0;
	}
	count = min_t(u64, count, blk->size - pos);
	done = vmm_copy_block(arena, &blk, pos, buf, count, false, &err);
	if (blk)
		vmm_arena_unpin(arena, blk);
	if (!done && count)
		return err ?: -EFAULT;
	*ppos = pos + done;
	return done;
}

static ssize_t vmm_write(struct file *file, const char __user *buf,
			 size_t count, loff_t *ppos)
{
	struct vmm_file *vf = file->private_data;
	struct vmm_arena *arena = &vf->vmm->arena;
	struct vmm_block *blk;
	u64 pos = *ppos, end;
	long done;
	int err;

	blk = vmm_file_pin(vf, VMM_MAY_WRITE);
	if (IS_ERR(blk))
		return PTR_ERR(blk);
	if (!count) {
		vmm_arena_unpin(arena, blk);
		return 0;
	}
	/* All or nothing: a write that does not fit stores no byte. */
	if (pos >= blk->size) {
		vmm_arena_unpin(arena, blk);
		return -ERANGE;
	}
	if (check_add_overflow(pos, (u64)count, &end) || end > blk->size) {
		vmm_arena_unpin(arena, blk);
		return -EFBIG;
	}
	done = vmm_copy_block(arena, &blk, pos, (void __user *)buf, count, true,
			      &err);
	if (blk)
		vmm_arena_unpin(arena, blk);
	if (!done)
		return err ?: -EFAULT;
	*ppos = pos + done;
	return done;
}

static loff_t vmm_llseek(struct file *file, loff_t offset, int whence)
{
	struct vmm_file *vf = file->private_data;
	struct vmm_block *blk;
	u64 size;

	blk = vmm_file_pin(vf, VMM_MAY_READ | VMM_MAY_WRITE);
	if (IS_ERR(blk))
		return PTR_ERR(blk);
	size = blk->size;
	vmm_arena_unpin(&vf->vmm->arena, blk);
	/* Positions past the end are allowed; reads there return 0. */
	return generic_file_llseek_size(file, offset, whence,
					MAX_LFS_FILESIZE, size);
}

static int vmm_open(struct inode *inode, struct file *file)
{
	struct vmm_device *vmm = container_of(file->private_data,
					      struct vmm_device, misc);
	struct vmm_file *vf;

	vf = kzalloc_obj(*vf, GFP_KERNEL_ACCOUNT);
	if (!vf)
		return -ENOMEM;
	vf->vmm = vmm;
	INIT_LIST_HEAD(&vf->scoped);
	file->private_data = vf;
	/* Every file's mappings in one place, whatever node was opened. */
	file->f_mapping = vmm->inode->i_mapping;
	return 0;
}

/* The last reference is gone (close, exit, kill): free the scoped blocks. */
static int vmm_release(struct inode *inode, struct file *file)
{
	struct vmm_file *vf = file->private_data;

	vmm_arena_free_scope(&vf->vmm->arena, &vf->scoped);
	kfree(vf);
	return 0;
}

const struct file_operations vmm_fops = {
	.owner = THIS_MODULE,
	.open = vmm_open,
	.release = vmm_release,
	.read = vmm_read,
	.write = vmm_write,
	.llseek = vmm_llseek,
	.mmap = vmm_mmap,
	.unlocked_ioctl = vmm_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
};
