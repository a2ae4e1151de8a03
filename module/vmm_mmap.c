// SPDX-License-Identifier: GPL-2.0
/*
 * Mapping blocks into user space, in a way that survives compaction.
 *
 * A mapping is VM_PFNMAP: no page is mapped by mmap(2), and each fault
 * inserts the pfn of the block's page where the block is now.  Before the
 * compactor moves a mapped block it removes the block's page table
 * entries from every process (vmm_block_slide()), so no entry ever points
 * at memory the block has left; an access during the move faults, and the
 * fault waits for the move without holding any vmm lock.  This is how TTM
 * keeps CPU mappings of buffers it moves (drivers/gpu/drm/ttm/ttm_bo_vm.c).
 *
 * For the removal to reach every mapping of a block, and only those, every
 * open file of /dev/vmm shares one address space, that of an inode of
 * vmm's own pseudo filesystem (as drm_open() points every file at the DRM
 * device's inode, whatever node it was opened through), and each mapping
 * is linked there at its block's own range of page offsets (vmm_map_base(),
 * like drm_vma_manager's fake offsets; a range is reused only once no
 * mapping is left in it).  The user passes an offset inside
 * the selected block; vmm_mmap() moves vm_pgoff to that range.
 *
 * VM_PFNMAP also keeps get_user_pages() away from the arena's pages: a
 * pin taken by O_DIRECT, vmsplice(2) or RDMA would outlive the next move
 * and then reach whatever block the compactor put there.  ptrace(2) and
 * /proc/PID/mem, which would use get_user_pages(), go through
 * vmm_vm_access() instead.
 *
 * Locking: the fault and access paths pin the block (vmm_arena_pin_mapped())
 * for as long as they use its place, so the compactor, which goes around
 * pinned blocks, never moves it under them; the arena lock is held only to
 * take and drop the pin.  mmap_lock (taken by the core) ranks above the
 * arena lock and is never taken under it.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/file.h>
#include <linux/fs.h>
#include <linux/fs_context.h>
#include <linux/mm.h>
#include <linux/mount.h>
#include <linux/pseudo_fs.h>
#include <linux/sched/signal.h>
#include <linux/vmalloc.h>
#include <linux/wait.h>

#include "vmm.h"
#include "vmm_trace.h"

/* "vmm" and a zero: the pseudo filesystem's magic, shown by statfs(2). */
#define VMM_FS_MAGIC	0x766d6d00

static struct vfsmount *vmm_mnt;
static int vmm_mnt_count;

static int vmm_fs_init_fs_context(struct fs_context *fc)
{
	return init_pseudo(fc, VMM_FS_MAGIC) ? 0 : -ENOMEM;
}

/*
 * No .owner: the mount vmm keeps for its whole life would then hold the
 * module itself, and it could never be unloaded.  The mount is internal
 * (SB_KERNMOUNT), so vmm_mapping_exit() tears the superblock down before
 * it returns, while this structure still exists.
 */
static struct file_system_type vmm_fs_type = {
	.name = "vmm",
	.init_fs_context = vmm_fs_init_fs_context,
	.kill_sb = kill_anon_super,
};

/**
 * vmm_mapping_init() - create the address space every mapping is linked in
 * @vmm: the device; sets @vmm->inode and @vmm->arena.mapping
 *
 * Return: 0 or a negative errno.
 */
int vmm_mapping_init(struct vmm_device *vmm)
{
	struct inode *inode;
	int ret;

	ret = simple_pin_fs(&vmm_fs_type, &vmm_mnt, &vmm_mnt_count);
	if (ret)
		return ret;
	inode = alloc_anon_inode(vmm_mnt->mnt_sb);
	if (IS_ERR(inode)) {
		simple_release_fs(&vmm_mnt, &vmm_mnt_count);
		return PTR_ERR(inode);
	}
	vmm->inode = inode;
	vmm->arena.mapping = inode->i_mapping;
	return 0;
}

/**
 * vmm_mapping_exit() - undo vmm_mapping_init(), once no file is open
 * @vmm: the device
 */
void vmm_mapping_exit(struct vmm_device *vmm)
{
	vmm->arena.mapping = NULL;
	iput(vmm->inode);
	vmm->inode = NULL;
	simple_release_fs(&vmm_mnt, &vmm_mnt_count);
}

static struct vmm_arena *vmm_vma_arena(struct vm_area_struct *vma)
{
	struct vmm_file *vf = vma->vm_file->private_data;

	return &vf->vmm->arena;
}

/* The page of the block at page offset @pgoff of @vma's file range. */
static u64 vmm_vma_page(struct vm_area_struct *vma, pgoff_t pgoff)
{
	struct vmm_block *blk = vma->vm_private_data;

	return pgoff - vmm_map_base(vmm_vma_arena(vma), blk);
}

/*
 * Wait for the move under way when @seq was read to end.  On a first try,
 * when the core allows it, the fault's lock (the mmap lock: vmm has no ->map_pages, so
 * the core retries per-VMA-locked faults under it, vmf_can_call_fault())
 * is dropped first and the fault retried, as TTM's fault does, so that a
 * move never stalls other threads' use of the address space.  A retried
 * fault waits holding it, so that moves cannot starve it.
 */
static vm_fault_t vmm_fault_wait(struct vm_fault *vmf,
				 struct vmm_arena *arena, unsigned long seq)
{
	struct file *file;

	if (!fault_flag_allow_retry_first(vmf->flags)) {
		/* The access faults again once the move has ended. */
		wait_event_killable(arena->move_wq,
				    vmm_arena_moved_since(arena, seq));
		return VM_FAULT_NOPAGE;
	}
	if (vmf->flags & FAULT_FLAG_RETRY_NOWAIT)
		return VM_FAULT_RETRY;
	/* Keeps the module, and so @arena, alive once the VMA may be gone. */
	file = get_file(vmf->vma->vm_file);
	vmm_release_fault_lock(vmf);
	wait_event_killable(arena->move_wq, vmm_arena_moved_since(arena, seq));
	fput(file);
	return VM_FAULT_RETRY;
}

static vm_fault_t vmm_fault(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	struct vmm_arena *arena = vmm_vma_arena(vma);
	struct vmm_block *blk = vma->vm_private_data;
	u64 page = vmm_vma_page(vma, vmf->pgoff), id = blk->id, start = 0;
	unsigned long seq;
	vm_fault_t ret;

	/* mmap(2) and mremap(2) cannot reach past the block; be sure. */
	if (page >= blk->size >> PAGE_SHIFT) {
		ret = VM_FAULT_SIGBUS;
	} else if (vmm_arena_pin_mapped(arena, blk, &seq)) {
		ret = vmm_fault_wait(vmf, arena, seq);
	} else {
		/* Pinned: the block cannot move until the entry is in. */
		start = blk->start;
		ret = vmf_insert_pfn(vma, vmf->address,
				     vmalloc_to_pfn(arena->base + start +
						    (page << PAGE_SHIFT)));
		vmm_arena_unpin(arena, blk);
	}
	/* @blk may be gone now: a retry dropped the mmap lock. */
	trace_vmm_fault(id, page, start, (__force unsigned int)ret);
	return ret;
}

/*
 * ptrace(2) and /proc/PID/mem: get_user_pages() refuses VM_PFNMAP, so the
 * core copies through here, from the block's current place.  As GUP would
 * for a shared mapping, even when forced: no write without PROT_WRITE, and
 * nothing past the end of this mapping.
 */
static int vmm_vm_access(struct vm_area_struct *vma, unsigned long addr,
			 void *buf, int len, int write)
{
	struct vmm_arena *arena = vmm_vma_arena(vma);
	struct vmm_block *blk = vma->vm_private_data;
	unsigned long seq;
	u64 offset;
	u8 *p;

	if (write && !(vma->vm_flags & VM_WRITE))
		return -EACCES;
	offset = (vmm_vma_page(vma, vma->vm_pgoff) << PAGE_SHIFT) +
		 (addr - vma->vm_start);
	if (len <= 0 || addr >= vma->vm_end || offset >= blk->size)
		return -EIO;
	len = min3((u64)len, (u64)(vma->vm_end - addr), blk->size - offset);
	while (vmm_arena_pin_mapped(arena, blk, &seq)) {
		/* One move's copy; the caller holds only the mmap lock. */
		if (wait_event_killable(arena->move_wq,
					vmm_arena_moved_since(arena, seq)))
			return -EINTR;
	}
	p = arena->base + blk->start + offset;
	if (write)
		memcpy(p, buf, len);
	else
		memcpy(buf, p, len);
	vmm_arena_unpin(arena, blk);
	return len;
}

/* fork(2) copied the mapping, or munmap(2) or mprotect(2) split it. */
static void vmm_vm_open(struct vm_area_struct *vma)
{
	vmm_arena_map_dup(vmm_vma_arena(vma), vma->vm_private_data);
}

static void vmm_vm_close(struct vm_area_struct *vma)
{
	vmm_arena_unmap(vmm_vma_arena(vma), vma->vm_private_data);
}

static const struct vm_operations_struct vmm_vm_ops = {
	.open = vmm_vm_open,
	.close = vmm_vm_close,
	.fault = vmm_fault,
	.access = vmm_vm_access,
};

/*
 * The selected block's id, and the rights its selector held, if they
 * include all of @need.
 */
static int vmm_mmap_selected(struct vmm_file *vf, int need, u64 *id)
{
	struct vmm_arena *arena = &vf->vmm->arena;
	int may;

	vmm_lock(arena);
	*id = vf->selected;
	may = vf->selected_may;
	vmm_unlock(arena);
	if (!*id)
		return -ENXIO;
	return (may & need) == need ? may : -EACCES;
}

/**
 * vmm_mmap() - map the block selected on @file
 * @file: an open /dev/vmm
 * @vma: the new mapping; vm_pgoff is the offset in the block, in pages
 *
 * Return: 0, or -EINVAL (not MAP_SHARED, or outside the block), -EACCES
 * (PROT_EXEC, or the caller or the selector lacks r, or w for
 * PROT_WRITE), -ENXIO (nothing selected), -ENOENT (the block was freed),
 * -ENODEV (not allocated mappable).
 */
int vmm_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct vmm_file *vf = file->private_data;
	struct vmm_arena *arena = &vf->vmm->arena;
	int need = VMM_MAY_READ, granted = 0, sel_may, ret;
	struct vmm_block *blk;
	struct vmm_cred cred;
	u64 id;

	/*
	 * A private copy of memory that moves has no meaning, and
	 * vmf_insert_pfn() would BUG on a COW mapping (CVE-2024-39497).
	 */
	if (!(vma->vm_flags & VM_MAYSHARE))
		return -EINVAL;
	if (vma->vm_flags & VM_EXEC)
		return -EACCES;
	if (vma->vm_flags & VM_WRITE)
		need |= VMM_MAY_WRITE;
	sel_may = vmm_mmap_selected(vf, need, &id);
	if (sel_may < 0)
		return sel_may;

	vmm_cred_current(&cred);
	ret = vmm_arena_map(arena, id, &cred, need, vma->vm_pgoff,
			    vma_pages(vma), &blk, &granted);
	if (vmm_cred_escalate(&cred, ret))
		ret = vmm_arena_map(arena, id, &cred, need, vma->vm_pgoff,
				    vma_pages(vma), &blk, &granted);
	if (ret)
		return ret;

	/* No PROT_WRITE later, by mprotect(2), without w now. */
	if (!(granted & sel_may & VMM_MAY_WRITE))
		vmm_vm_flags_clear(vma, VM_MAYWRITE);
	vmm_vm_flags_clear(vma, VM_MAYEXEC);
	vmm_vm_flags_set(vma, VM_PFNMAP | VM_DONTEXPAND | VM_DONTDUMP);
	vma->vm_pgoff += vmm_map_base(arena, blk);
	vma->vm_private_data = blk;
	vma->vm_ops = &vmm_vm_ops;
	return 0;
}
