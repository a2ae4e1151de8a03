/* SPDX-License-Identifier: GPL-2.0 */
/*
 * libvmm: thin C wrappers around the /dev/vmm ioctls.
 *
 * Every function returns 0 (or, where documented, a non-negative value) on
 * success and a negative errno on failure; none of them prints anything or
 * touches errno-based global state beyond what the system calls do.  The
 * errnos are the kernel's own, documented in <linux/vmm.h>.
 *
 * A "fd" below is a file descriptor returned by vmm_open() (or any open(2)
 * of the vmm device).  The library keeps no hidden state: every call is
 * independent and may be made from any thread.
 */
#ifndef LIBVMM_H
#define LIBVMM_H

#include <stddef.h>
#include <linux/vmm.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The library's version; vmmctl reports the same number. */
#define LIBVMM_VERSION "0.6.0"

/* Where the misc device appears when the module is loaded. */
#define VMM_DEVICE_PATH "/dev/vmm"

/* Where the loaded module reports its MODULE_VERSION. */
#define VMM_SYSFS_VERSION "/sys/module/vmm/version"

/**
 * vmm_open() - open the vmm device for reading and writing
 * @path: the device node, or NULL for VMM_DEVICE_PATH
 *
 * The descriptor is close-on-exec, and never 0, 1 or 2: in a process
 * started with one of those closed, output meant for that stream then
 * fails with EBADF instead of reaching the device.
 *
 * Return: a file descriptor (>= 3), or -errno from open(2) (typically
 * -ENOENT when the module is not loaded, -EACCES without permission) or
 * from fcntl(2); -EMFILE also when the limit on descriptors
 * (RLIMIT_NOFILE) leaves none above 2.
 */
int vmm_open(const char *path);

/**
 * vmm_close() - close a descriptor returned by vmm_open()
 * @fd: the descriptor
 *
 * Return: 0, or -errno from close(2).
 */
int vmm_close(int fd);

/**
 * vmm_alloc() - allocate a block (VMM_IOC_ALLOC)
 * @fd: the device
 * @size: bytes, 1 to the arena size
 * @align: 0 or 1 for none, else a power of two no larger than the arena
 * @id: out, may be NULL: the new block's ID
 * @offset: out, may be NULL: its offset in the arena
 *
 * Return: 0; -EINVAL for a bad size or alignment; -ENOSPC when no free
 * range is large enough (vmm_defrag() may help); -EDQUOT when the owner
 * would exceed a per-uid quota; -ENOMEM; -EINTR as vmm_alloc_flags()
 * says, while the module parameter auto_compact is 1.
 */
int vmm_alloc(int fd, __u64 size, __u64 align, __u64 *id, __u64 *offset);

/**
 * vmm_alloc_flags() - vmm_alloc() with VMM_ALLOC_* flags
 * @fd: the device
 * @size: bytes, 1 to the arena size
 * @align: 0 or 1 for none, else a power of two no larger than the arena
 * @flags: 0, or any of VMM_ALLOC_COMPACT (defragment and retry when no
 *	free range is large enough but enough bytes are free),
 *	VMM_ALLOC_SCOPED (free the block when @fd is closed) and
 *	VMM_ALLOC_MAPPABLE (whole pages on a page boundary, so that
 *	vmm_map() can map it); not VMM_ALLOC_MODE
 * @id: out, may be NULL: the new block's ID
 * @offset: out, may be NULL: its offset in the arena
 *
 * With VMM_ALLOC_MAPPABLE the block's size is @size rounded up to a
 * multiple of the page size (sysconf(_SC_PAGESIZE)); vmm_info() reports
 * the rounded size, and the rounding counts against the quotas.
 *
 * Return: as vmm_alloc(), and -EINTR if a signal interrupted the
 * defragmentation VMM_ALLOC_COMPACT asked for; -EINVAL also when
 * VMM_ALLOC_MAPPABLE rounds @size past the arena size, or when @flags
 * holds VMM_ALLOC_MODE (vmm_alloc_mode() gives a mode); -EDQUOT when the
 * owner would exceed a per-uid quota.
 */
int vmm_alloc_flags(int fd, __u64 size, __u64 align, __u32 flags, __u64 *id,
		    __u64 *offset);

/**
 * vmm_alloc_mode() - vmm_alloc_flags() with a mode
 * @fd: the device
 * @size: bytes, 1 to the arena size
 * @align: 0 or 1 for none, else a power of two no larger than the arena
 * @flags: as for vmm_alloc_flags(); VMM_ALLOC_MODE is added
 * @mode: the block's permission bits, at most 0777
 * @id: out, may be NULL: the new block's ID
 * @offset: out, may be NULL: its offset in the arena
 *
 * Return: as vmm_alloc_flags(); -EINVAL for a mode above 0777.
 */
int vmm_alloc_mode(int fd, __u64 size, __u64 align, __u32 flags, __u32 mode,
		   __u64 *id, __u64 *offset);

/**
 * vmm_free() - free a block (VMM_IOC_FREE)
 * @fd: the device
 * @id: the block
 *
 * Return: 0, -ENOENT if @id was never allocated or is already freed, or
 * -EACCES if the caller does not own it.
 */
int vmm_free(int fd, __u64 id);

/**
 * vmm_defrag() - slide blocks toward offset 0 (one VMM_IOC_DEFRAG call)
 * @fd: the device
 * @bytes_moved: out, may be NULL: bytes copied by this call
 * @blocks_moved: out, may be NULL: blocks whose offset changed
 *
 * One call with no budget: for a caller with CAP_SYS_ADMIN every block
 * that is not in use moves; without it the kernel moves at most
 * VMM_DEFRAG_USER_BUDGET bytes, and never another user's block over that
 * size or mapped.  vmm_defrag_step() says whether the arena ended compact;
 * call it until it does.
 *
 * Return: 0, or -EINTR if a signal ended a wait (the blocks moved so far
 * stay where they are; calling again finishes the job), or -ENOMEM if
 * nothing moved because the kernel could not allocate a record for the
 * space a mappable block leaves below it.
 */
int vmm_defrag(int fd, __u64 *bytes_moved, __u64 *blocks_moved);

/**
 * vmm_defrag_step() - one budgeted step of defragmentation
 * @fd: the device
 * @budget: the most bytes to move, 0 for no limit (a step that has moved
 *	nothing moves one block even if it is larger); without CAP_SYS_ADMIN,
 *	0 and anything larger mean VMM_DEFRAG_USER_BUDGET
 * @flags: 0 or VMM_DEFRAG_NOWAIT (fail with -EBUSY instead of waiting for
 *	another defragmentation)
 * @bytes_moved: out, may be NULL: bytes copied by this call
 * @blocks_moved: out, may be NULL: blocks whose offset changed
 * @compact: out, may be NULL: 1 if all free space is now one range at the
 *	end, 0 if the budget ran out first or a block stayed (in use by a
 *	copy, or, without CAP_SYS_ADMIN, another user's block over
 *	VMM_DEFRAG_USER_BUDGET or mapped)
 *
 * Return: 0, -EBUSY, -EINTR, -ENOMEM (as vmm_defrag()), or -EINVAL for
 * an unknown flag.
 */
int vmm_defrag_step(int fd, __u64 budget, __u32 flags, __u64 *bytes_moved,
		    __u64 *blocks_moved, int *compact);

/**
 * vmm_info() - a block's offset and size (VMM_IOC_INFO)
 * @fd: the device
 * @id: the block
 * @offset: out, may be NULL: its current offset in the arena
 * @size: out, may be NULL: its size in bytes
 *
 * Return: 0, -ENOENT for an unknown or freed @id, or -EACCES without r or
 * w permission on it.
 */
int vmm_info(int fd, __u64 id, __u64 *offset, __u64 *size);

/**
 * vmm_info_full() - everything VMM_IOC_INFO says about a block
 * @fd: the device
 * @id: the block
 * @out: out: offset, size, uid, gid, mode, attrs (VMM_BLOCK_SCOPED,
 *	VMM_BLOCK_MAPPABLE) and mapped (the mappings of the block that
 *	exist now, in every process; 0 before vmm 0.5)
 *
 * Return: as vmm_info().
 */
int vmm_info_full(int fd, __u64 id, struct vmm_info_args *out);

/**
 * vmm_chmod() - change a block's mode (VMM_IOC_CHMOD)
 * @fd: the device
 * @id: the block
 * @mode: the new permission bits, at most 0777
 *
 * Return: 0; -ENOENT for an unknown @id; -EPERM unless the caller owns the
 * block or has CAP_SYS_ADMIN; -EINVAL for a mode above 0777.
 */
int vmm_chmod(int fd, __u64 id, __u32 mode);

/**
 * vmm_chown() - change a block's owner and group (VMM_IOC_CHOWN)
 * @fd: the device
 * @id: the block
 * @uid: the new owner, or VMM_ID_UNCHANGED
 * @gid: the new group, or VMM_ID_UNCHANGED
 *
 * Return: 0; -ENOENT for an unknown @id; -EPERM (see struct
 * vmm_chown_args); -EINVAL for an id the caller's namespace cannot map;
 * -EDQUOT when the new owner would exceed a quota; -ENOMEM.
 */
int vmm_chown(int fd, __u64 id, __u32 uid, __u32 gid);

/**
 * vmm_usage() - one page of per-uid usage (VMM_IOC_USAGE)
 * @fd: the device
 * @start_uid: the lowest uid to report; 0 for the first page
 * @entries: room for @capacity entries
 * @capacity: 1 to VMM_USAGE_MAX
 * @count: out: entries stored
 * @next_uid: out, may be NULL: @start_uid for the next page, 0 at the end
 *
 * Return: 0; -EPERM in a user namespace other than the initial one (and,
 * with vmm before 0.4, without CAP_SYS_ADMIN); -EINVAL for a bad
 * @capacity; -ENOMEM; -EIO if the kernel reports more entries than
 * @capacity.
 */
int vmm_usage(int fd, __u32 start_uid, struct vmm_user_usage *entries,
	      __u32 capacity, __u32 *count, __u32 *next_uid);

/**
 * vmm_stats() - one consistent snapshot of the counters (VMM_IOC_STATS)
 * @fd: the device
 * @st: out: the counters; see struct vmm_stats_args
 *
 * Return: 0 or -errno.
 */
int vmm_stats(int fd, struct vmm_stats_args *st);

/**
 * vmm_select() - bind @fd to a block for read(2)/write(2) (VMM_IOC_SELECT)
 * @fd: the device
 * @id: the block, or 0 to unbind
 *
 * Afterwards plain read(2), write(2), pread(2), pwrite(2) and lseek(2) on
 * @fd act on the block's bytes, starting at position 0.
 *
 * Return: 0, -ENOENT for an unknown or freed @id, or -EACCES without r
 * or w permission on it.
 */
int vmm_select(int fd, __u64 id);

/**
 * vmm_map() - map a block into memory (mmap(2) of a private file)
 * @fd: the device
 * @id: a block allocated with VMM_ALLOC_MAPPABLE
 * @offset: the first byte of the block to map, a multiple of the page size
 * @length: bytes to map, at least 1; @offset + @length must not pass the
 *	block's end (the block is whole pages, so rounding @length up to a
 *	page never does)
 * @prot: PROT_READ, or PROT_READ | PROT_WRITE (from <sys/mman.h>)
 * @addr: out: the address of the mapping, which starts at byte @offset
 *	of the block; untouched on failure
 *
 * The mapping is MAP_SHARED: stores through it are the block's bytes, seen
 * at once by vmm_read(), read(2) and every other mapping of the block.
 * Its address stays the same while defragmentation (vmm_defrag(), or a
 * compacting allocation) moves the block: the kernel removes the old
 * pages and the next access faults in the new place, waiting while the
 * block is being copied.  Pointers into it stay valid until it is
 * unmapped.
 *
 * @fd itself is left alone.  The block is selected (VMM_IOC_SELECT) on a
 * new open file of the same device, opened through /proc/self/fd/@fd, and
 * that file is closed before returning; so a block selected on @fd for
 * read(2) and write(2) stays selected, and threads may map different
 * blocks through one @fd at once.  Use vmm_map_selected() to map through
 * a file of your own instead.
 *
 * Lifetime: the mapping lasts until vmm_unmap() (or munmap(2)), exec or
 * exit, whatever happens to @fd: closing it, or the end of the process's
 * other files, does not end the mapping.  A fork(2)ed child shares it.
 * vmm_free() of a mapped block (or the end of a VMM_ALLOC_SCOPED block's
 * file) removes its ID at once, but the mapping keeps reading and writing
 * the block's bytes, and the block's range and quota stay held, until the
 * last mapping of it is gone.  vmm_chmod() does not revoke a mapping.
 *
 * Access: the caller needs r on the block, and w as well for PROT_WRITE,
 * checked now; a mapping made without PROT_WRITE cannot get it later with
 * mprotect(2).  The mappings are VM_PFNMAP: O_DIRECT I/O, vmsplice(2) and
 * other users of get_user_pages() fail with EFAULT on them.
 *
 * Return: 0; -ENOENT for an unknown or freed @id; -ENODEV if the block
 * was not allocated with VMM_ALLOC_MAPPABLE; -EACCES without r on the
 * block, or without w for PROT_WRITE, or for PROT_EXEC (-EPERM for
 * PROT_EXEC when /dev is mounted noexec); -EINVAL if @offset is not a
 * multiple of the page size, @length is 0 or the range passes the
 * block's end; -EOVERFLOW if @offset is above INT64_MAX (no file offset
 * can carry it); -EBADF if @fd is not open; -ENOSYS when /proc is not
 * mounted, so that @fd cannot be reopened (use vmm_map_selected());
 * -ENOMEM, -EMFILE, -ENFILE; other -errno from open(2) of the device
 * (-EACCES from the device node's permissions among them).
 */
int vmm_map(int fd, __u64 id, __u64 offset, size_t length, int prot,
	    void **addr);

/**
 * vmm_map_selected() - map the block selected on @fd (mmap(2))
 * @fd: the device, on which vmm_select() chose a block
 * @offset: as for vmm_map()
 * @length: as for vmm_map()
 * @prot: as for vmm_map()
 * @addr: out: the address of the mapping; untouched on failure
 *
 * vmm_map() without the private file: a plain MAP_SHARED mmap(2) of @fd.
 * Selecting and mapping are two calls, so threads sharing @fd must not
 * select other blocks on it in between.  Afterwards @fd may be closed or
 * select another block: the mapping stays with the block it was made of,
 * with the lifetime vmm_map() describes.
 *
 * Return: as vmm_map(), but -ENXIO if no block is selected on @fd, and
 * neither -EBADF nor -ENOSYS from reopening.
 */
int vmm_map_selected(int fd, __u64 offset, size_t length, int prot,
		     void **addr);

/**
 * vmm_unmap() - remove a mapping made by vmm_map() (munmap(2))
 * @addr: the address vmm_map() returned
 * @length: the @length given to vmm_map()
 *
 * Unmapping part of a mapping is allowed, as with munmap(2).  When the
 * last mapping of a freed block goes, its range returns to the free space.
 *
 * Return: 0, or -EINVAL if @addr is not a multiple of the page size.
 */
int vmm_unmap(void *addr, size_t length);

/**
 * vmm_read() - copy bytes out of a block (VMM_IOC_READ)
 * @fd: the device
 * @id: the block
 * @offset: the first byte inside the block
 * @buf: where to store @length bytes
 * @length: bytes to copy, at least 1
 *
 * All or nothing: either every byte is copied or none is.
 *
 * Return: 0; -ENOENT for an unknown @id; -EACCES without r on it; -EINVAL
 * if @length is 0; -ERANGE if @offset + @length runs past the end of the
 * block; -EFAULT if @buf cannot hold @length bytes; -EINTR if a signal
 * came while the block was being moved.
 */
int vmm_read(int fd, __u64 id, __u64 offset, void *buf, __u64 length);

/**
 * vmm_write() - copy bytes into a block (VMM_IOC_WRITE)
 * @fd: the device
 * @id: the block
 * @offset: the first byte inside the block
 * @buf: @length bytes to store
 * @length: bytes to copy; 0 stores nothing
 *
 * Return: 0; -ENOENT for an unknown @id; -EACCES without w on it; -ERANGE
 * if @offset is at or past the end of the block; -EFBIG if the data would
 * run past the end (then nothing is written); -EFAULT if @buf cannot be
 * read; -EINTR if a signal came while the block was being moved.
 */
int vmm_write(int fd, __u64 id, __u64 offset, const void *buf, __u64 length);

/**
 * vmm_batch() - run several operations in one call (VMM_IOC_BATCH)
 * @fd: the device
 * @entries: @count entries, each filled by one of the vmm_batch_*()
 *	helpers below (or by hand, as struct vmm_batch_entry describes)
 * @count: 1 to VMM_BATCH_MAX
 * @flags: 0 (stop after the first entry that fails) or VMM_BATCH_CONTINUE
 *	(run every entry whatever fails)
 * @done: out, may be NULL: entries that ran, from the first; each of them
 *	has its ->result set: 0, or the -errno its single command returns
 *	(vmm_alloc() and the others document them).  Short of @count with
 *	no failure when a signal stopped the call between entries: send
 *	the rest again
 * @failed: out, may be NULL: entries among @done whose ->result is not 0
 *
 * The entries run in order, as the single commands would one after
 * another, and write their outputs back into @entries: the new ID and
 * offset of an ALLOC in ->alloc, the block's details of an INFO in
 * ->info, the bytes of a READ in its buffer.  An entry's failure is in its
 * ->result, not in the return value.
 *
 * On a kernel without VMM_IOC_BATCH (a vmm module older than the ioctl,
 * which fails it with ENOTTY) the entries are run by their single
 * ioctls instead, one after another, with the same results, @done and
 * @failed: a program written against vmm_batch() works on every vmm,
 * only slower on an old one.  The batch promises nothing more than the
 * single commands in a row (it is not atomic), so the emulation loses
 * nothing but speed, and callers need no fallback of their own.  The
 * library keeps no state, so every call on an old kernel costs one
 * refused ioctl first.  When no entry that ran reached @fd (the library
 * refused each itself), one INFO of ID 0 asks whether @fd is a vmm at
 * all, so that another device still gives -ENOTTY.  Where the emulation
 * differs: it reads and writes @entries itself, so an unreadable @entries
 * is a fault (SIGSEGV), as
 * for any library function given a bad pointer, not -EFAULT; and signals
 * act on each single ioctl, so a pending signal does not end the call
 * early, and an entry whose wait a signal interrupts is restarted under
 * SA_RESTART (the kernel's batch fails it with -EINTR).
 *
 * Return: 0 once entries have run (check @failed); -EINVAL for a @count
 * of 0 or above VMM_BATCH_MAX, or an unknown flag; -EFAULT if @entries
 * cannot be read or written back (the blocks the call allocated are freed
 * again); -ENOMEM; -ENOTTY if @fd is not a vmm device; -EIO if the kernel
 * reports more entries than @count.
 */
int vmm_batch(int fd, struct vmm_batch_entry *entries, unsigned int count,
	      unsigned int flags, unsigned int *done, unsigned int *failed);

/**
 * vmm_batch_alloc() - make @e an allocation, as vmm_alloc_flags()
 * @e: the entry, cleared first
 * @size: bytes, 1 to the arena size
 * @align: 0 or 1 for none, else a power of two no larger than the arena
 * @flags: as for vmm_alloc_flags(); VMM_ALLOC_MODE is dropped, as a
 *	mode comes only with vmm_batch_alloc_mode()
 *
 * After vmm_batch(), when @e->result is 0, @e->alloc.id is the new
 * block's ID and @e->alloc.offset its offset.
 */
void vmm_batch_alloc(struct vmm_batch_entry *e, __u64 size, __u64 align,
		     __u32 flags);

/**
 * vmm_batch_alloc_mode() - vmm_batch_alloc() with a mode, as vmm_alloc_mode()
 * @e: the entry, cleared first
 * @size: bytes, 1 to the arena size
 * @align: 0 or 1 for none, else a power of two no larger than the arena
 * @flags: as for vmm_alloc_flags(); VMM_ALLOC_MODE is added
 * @mode: the block's permission bits, at most 0777
 */
void vmm_batch_alloc_mode(struct vmm_batch_entry *e, __u64 size, __u64 align,
			  __u32 flags, __u32 mode);

/**
 * vmm_batch_free() - make @e a free of block @id, as vmm_free()
 * @e: the entry, cleared first
 * @id: the block
 */
void vmm_batch_free(struct vmm_batch_entry *e, __u64 id);

/**
 * vmm_batch_read() - make @e a read, as vmm_read()
 * @e: the entry, cleared first
 * @id: the block
 * @offset: the first byte inside the block
 * @buf: where to store @length bytes; it must stay valid until
 *	vmm_batch() returns
 * @length: bytes to copy, at least 1
 */
void vmm_batch_read(struct vmm_batch_entry *e, __u64 id, __u64 offset,
		    void *buf, __u64 length);

/**
 * vmm_batch_write() - make @e a write, as vmm_write()
 * @e: the entry, cleared first
 * @id: the block
 * @offset: the first byte inside the block
 * @buf: @length bytes to store; they are read when vmm_batch() runs the
 *	entry, not now
 * @length: bytes to copy; 0 stores nothing
 */
void vmm_batch_write(struct vmm_batch_entry *e, __u64 id, __u64 offset,
		     const void *buf, __u64 length);

/**
 * vmm_batch_info() - make @e a query of block @id, as vmm_info_full()
 * @e: the entry, cleared first
 * @id: the block
 *
 * After vmm_batch(), when @e->result is 0, @e->info holds what
 * vmm_info_full() returns.
 */
void vmm_batch_info(struct vmm_batch_entry *e, __u64 id);

/**
 * vmm_list() - one page of live blocks in ID order (VMM_IOC_LIST)
 * @fd: the device
 * @start_id: the lowest ID to report; 1 for the first page
 * @entries: room for @capacity entries
 * @capacity: 1 to VMM_LIST_MAX
 * @count: out: entries stored
 * @next_id: out, may be NULL: @start_id for the next page, 0 at the end
 *
 * A page may hold fewer than @capacity entries, even none, before the end
 * (see struct vmm_list_args): loop until *@next_id is 0, or use
 * vmm_list_iter_next().
 *
 * Return: 0, -EINVAL for a bad @capacity, -EFAULT if @entries cannot be
 * written, -ENOMEM if the kernel cannot allocate a bounce buffer of
 * @capacity entries, -EBADF for a bad @fd, -ENOTTY (typically) if @fd is
 * not a vmm device, or -EIO if the kernel reports more entries than
 * @capacity.
 */
int vmm_list(int fd, __u64 start_id, struct vmm_block_info *entries,
	     __u32 capacity, __u32 *count, __u64 *next_id);

/* Entries fetched per VMM_IOC_LIST call by the iterator (4 KiB). */
#define VMM_LIST_ITER_PAGE 64

/**
 * struct vmm_list_iter - walks every live block, a page at a time
 * @fd: the device
 * @next_id: the start ID of the next page; 0 once the last page is in
 * @count: entries in @page
 * @pos: the next entry of @page to hand out
 * @started: whether the first page has been fetched
 * @page: the current page
 *
 * Blocks allocated or freed during a walk may or may not be seen; every
 * block that lives throughout the walk is seen exactly once.
 */
struct vmm_list_iter {
	int fd;
	__u64 next_id;
	__u32 count;
	__u32 pos;
	int started;
	struct vmm_block_info page[VMM_LIST_ITER_PAGE];
};

/**
 * vmm_list_iter_init() - prepare to walk the live blocks of @fd
 * @it: the iterator
 * @fd: the device
 */
void vmm_list_iter_init(struct vmm_list_iter *it, int fd);

/**
 * vmm_list_iter_next() - the next live block, in increasing ID order
 * @it: an iterator set up by vmm_list_iter_init()
 * @out: out: the block
 *
 * A failure leaves the walk where it was: the next call asks for the
 * same page again.
 *
 * Return: 1 when @out holds a block, 0 when the walk is over, or -errno:
 * those of vmm_list(), and -EIO if the kernel's next start ID does not
 * advance.
 */
int vmm_list_iter_next(struct vmm_list_iter *it, struct vmm_block_info *out);

/**
 * vmm_list_all() - fetch every live block at once
 * @fd: the device
 * @entries: out: a malloc()ed array in increasing ID order (NULL if there
 *	are none); the caller frees it
 * @count: out: its length
 *
 * Return: 0, -ENOMEM, or -errno from the kernel.  On failure *@entries is
 * NULL and *@count is 0.
 */
int vmm_list_all(int fd, struct vmm_block_info **entries, size_t *count);

/**
 * vmm_module_version() - the loaded module's MODULE_VERSION
 * @buf: out: the version, without a trailing newline, NUL-terminated
 * @len: the size of @buf, at least 1
 *
 * Reads VMM_SYSFS_VERSION.
 *
 * Return: 0; -EINVAL if @len is 0; -ENOENT when the module is not
 * loaded; -ENAMETOOLONG if @len is too small; other -errno from reading
 * the file.
 */
int vmm_module_version(char *buf, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* LIBVMM_H */
