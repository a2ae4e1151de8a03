/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * vmm: a kernel-owned arena of variable-size blocks named by stable IDs.
 *
 * The device is /dev/vmm.  Every command takes a fixed-layout struct of
 * naturally aligned __u32/__u64 fields.  Fields named "pad" and "reserved"
 * must be zero on input and are zeroed on output; they exist so that later
 * versions can give them a meaning whose zero value is the current
 * behaviour.  Unknown bits in "flags" are rejected with EINVAL.
 *
 * Errors shared by all commands:
 *   EINVAL  a non-zero pad/reserved field or an unknown flag
 *   EFAULT  the argument struct or a buffer it points to is not accessible
 *   ENOTTY  an unknown command
 *   ENOENT  the ID was never allocated, or has been freed
 *
 * open(2) of /dev/vmm fails with ENOMEM when the kernel cannot allocate the
 * file's state.
 */
#ifndef _UAPI_LINUX_VMM_H
#define _UAPI_LINUX_VMM_H

#include <linux/ioctl.h>
#include <linux/types.h>

/* Not listed in Documentation/userspace-api/ioctl/ioctl-number.rst. */
#define VMM_IOC_MAGIC 0xBA

/**
 * struct vmm_alloc_args - VMM_IOC_ALLOC: allocate a block
 * @size: in: bytes, 1 to the arena size (EINVAL otherwise)
 * @align: in: 0 or 1 for no constraint, else a power of two no larger than
 *	the arena size (EINVAL otherwise); the block's offset is a multiple
 * @flags: in: %VMM_ALLOC_COMPACT or 0; other bits are rejected (EINVAL)
 * @pad: must be 0
 * @id: out: the new block's ID; IDs start at 1 and are never reused
 * @offset: out: the block's current byte offset in the arena
 * @reserved: must be 0
 *
 * Placement is first-fit: the lowest offset where the block fits.  The new
 * block reads as zeros.  @align holds where the block is placed; a later
 * VMM_IOC_DEFRAG packs blocks without gaps and may leave it unaligned.
 * ENOSPC when no free range is large enough, ENOMEM when the kernel
 * cannot allocate the block's metadata.
 *
 * With %VMM_ALLOC_COMPACT, or when the module was loaded with
 * auto_compact=1, a request that fails for lack of a contiguous range
 * although enough bytes are free defragments the arena (as VMM_IOC_DEFRAG
 * with no budget) and tries once more.  It then fails with ENOSPC only if
 * fewer bytes are free than requested (counting the padding @align needs
 * after the packed blocks), or if other tasks took the space meanwhile;
 * EINTR if a signal interrupted the defragmentation.
 */
struct vmm_alloc_args {
	__u64 size;
	__u64 align;
	__u32 flags;
	__u32 pad;
	__u64 id;
	__u64 offset;
	__u64 reserved[4];
};

/* vmm_alloc_args.flags: defragment and retry when no free range fits. */
#define VMM_ALLOC_COMPACT	0x1U

/**
 * struct vmm_free_args - VMM_IOC_FREE: free a block
 * @id: in: the block to free (ENOENT if unknown or already freed)
 * @flags: in: must be 0
 * @pad: must be 0
 * @reserved: must be 0
 *
 * The ID is gone when the call returns.  If another task is copying the
 * block's data at that moment, the range is reused only after that copy.
 * Freeing allocates nothing, so it never fails with ENOMEM.
 */
struct vmm_free_args {
	__u64 id;
	__u32 flags;
	__u32 pad;
	__u64 reserved[2];
};

/**
 * struct vmm_defrag_args - VMM_IOC_DEFRAG: compact the arena
 * @flags: in: %VMM_DEFRAG_NOWAIT or 0; other bits are rejected (EINVAL)
 * @pad: must be 0
 * @bytes_moved: out: bytes copied by this call
 * @blocks_moved: out: blocks whose offset changed in this call
 * @budget: in: the most bytes this call may move, 0 for no limit
 * @compact: out: 1 if all free space is now one range at the end of the
 *	arena, else 0 (the budget ran out first; call again)
 * @reserved: must be 0
 *
 * Slides live blocks toward offset 0, in offset order, keeping their order
 * and data.  Without a budget, afterwards all free space is one range at
 * the end of the arena.  With one, the call stops before the block that
 * would take it past @budget; but a call that has moved nothing yet moves
 * that one block anyway, so a caller looping until @compact is 1 always
 * makes progress.  A block whose data another task is copying is never
 * moved under the copy: the pass goes around it, and if that leaves a
 * hole the call waits for the copy to end; a signal ends the wait with
 * EINTR, leaving the blocks moved so far in place.
 *
 * Data is copied without the arena's lock held (the block is pinned and
 * its destination taken out of the free space instead), so allocations,
 * frees, reads and writes of other blocks go on during a long call.  One
 * defragmentation runs at a time: a second caller waits for the first, or
 * with %VMM_DEFRAG_NOWAIT fails at once with EBUSY.
 */
struct vmm_defrag_args {
	__u32 flags;
	__u32 pad;
	__u64 bytes_moved;
	__u64 blocks_moved;
	__u64 budget;
	__u64 compact;
	__u64 reserved[2];
};

/* vmm_defrag_args.flags: EBUSY instead of waiting for another defrag. */
#define VMM_DEFRAG_NOWAIT	0x1U

/**
 * struct vmm_info_args - VMM_IOC_INFO: describe a block
 * @id: in: the block (ENOENT if unknown or freed)
 * @flags: in: must be 0
 * @pad: must be 0
 * @offset: out: the block's current byte offset in the arena
 * @size: out: the block's size in bytes
 * @reserved: must be 0
 */
struct vmm_info_args {
	__u64 id;
	__u32 flags;
	__u32 pad;
	__u64 offset;
	__u64 size;
	__u64 reserved[4];
};

/**
 * struct vmm_stats_args - VMM_IOC_STATS: the counters also shown in sysfs
 * @size: arena size in bytes
 * @used: bytes in live blocks, and in blocks freed while another task was
 *	copying their data, until that copy ends (their range is not free
 *	until then)
 * @free: bytes not in any block
 * @largest_free: the largest contiguous free range, in bytes
 * @blocks: live blocks: always @allocs - @frees
 * @fragmentation: 1000 * (1 - largest_free / free) in permille, 0 if free is 0
 * @allocs: successful allocations since load
 * @frees: successful frees since load
 * @alloc_failures: allocations refused for lack of contiguous space (ENOSPC)
 * @defrags: completed VMM_IOC_DEFRAG calls
 * @bytes_moved: bytes copied by all defragmentations
 * @metadata_bytes: kernel memory spent on the arena's bookkeeping: block
 *	and free-extent records as the slab allocator rounds them (the arena
 *	itself not included)
 * @policy: the placement policy, %VMM_STATS_POLICY_FIRST or
 *	%VMM_STATS_POLICY_BEST (the module parameter "policy")
 * @max_lock_hold_ns: the longest time the arena's spinlock has been held
 *	since load, in nanoseconds
 * @reserved: zeroed by the kernel
 *
 * Output only; the values are one consistent snapshot.  @metadata_bytes,
 * @policy and @max_lock_hold_ns were reserved (zero) fields before vmm
 * 0.2.
 */
struct vmm_stats_args {
	__u64 size;
	__u64 used;
	__u64 free;
	__u64 largest_free;
	__u64 blocks;
	__u64 fragmentation;
	__u64 allocs;
	__u64 frees;
	__u64 alloc_failures;
	__u64 defrags;
	__u64 bytes_moved;
	__u64 metadata_bytes;
	__u64 policy;
	__u64 max_lock_hold_ns;
	__u64 reserved[2];
};

/* Values of vmm_stats_args.policy. */
#define VMM_STATS_POLICY_FIRST	0
#define VMM_STATS_POLICY_BEST	1

/**
 * struct vmm_select_args - VMM_IOC_SELECT: bind the open file to a block
 * @id: in: the block (ENOENT if unknown or freed), or 0 to unbind
 * @flags: in: must be 0
 * @pad: must be 0
 * @reserved: must be 0
 *
 * Afterwards read(2), write(2), pread(2), pwrite(2) and lseek(2) on this
 * file act on the block's bytes, and the file position is reset to 0.
 * On a file with no block selected they fail with ENXIO; once the selected
 * block is freed they fail with ENOENT.  A read at or past the end returns
 * 0; a write that would cross the end writes nothing and fails with EFBIG
 * (ERANGE if it starts at or past the end).
 */
struct vmm_select_args {
	__u64 id;
	__u32 flags;
	__u32 pad;
	__u64 reserved[2];
};

/**
 * struct vmm_rw_args - VMM_IOC_READ and VMM_IOC_WRITE: copy block bytes
 * @id: in: the block (ENOENT if unknown or freed)
 * @offset: in: byte offset inside the block
 * @length: in: bytes to copy
 * @buffer: in: user address of @length bytes
 * @flags: in: must be 0
 * @pad: must be 0
 * @reserved: must be 0
 *
 * The copy is all or nothing with respect to the block's bounds:
 * READ:  EINVAL if @length is 0; ERANGE if @offset + @length is past the
 *        end of the block (or overflows).
 * WRITE: a @length of 0 copies nothing and succeeds if @offset is inside
 *        the block; ERANGE if @offset is at or past the end of the block;
 *        EFBIG if @offset + @length is past the end (or overflows).
 * EFAULT if @buffer is not accessible; a WRITE may then have stored part
 * of the data, and no other block is touched.
 */
struct vmm_rw_args {
	__u64 id;
	__u64 offset;
	__u64 length;
	__u64 buffer;
	__u32 flags;
	__u32 pad;
	__u64 reserved[2];
};

/**
 * struct vmm_block_info - one entry of VMM_IOC_LIST
 * @id: the block's ID
 * @offset: its current byte offset in the arena
 * @size: its size in bytes
 * @reserved: zeroed by the kernel
 */
struct vmm_block_info {
	__u64 id;
	__u64 offset;
	__u64 size;
	__u64 reserved[5];
};

/* The most entries one VMM_IOC_LIST call returns. */
#define VMM_LIST_MAX 4096

/**
 * struct vmm_list_args - VMM_IOC_LIST: enumerate live blocks by ID
 * @buffer: in: user address of an array of @capacity struct vmm_block_info
 * @capacity: in: entries @buffer holds, 1 to VMM_LIST_MAX (EINVAL otherwise)
 * @count: out: entries stored, in increasing ID order
 * @start_id: in: the first ID to report (IDs below it are skipped)
 * @next_id: out: the @start_id for the next call, or 0 when no block is left
 * @flags: in: must be 0
 * @pad: must be 0
 * @reserved: must be 0
 *
 * ENOMEM when the kernel cannot allocate a bounce buffer of @capacity
 * entries (it copies out after dropping its lock).
 */
struct vmm_list_args {
	__u64 buffer;
	__u32 capacity;
	__u32 count;
	__u64 start_id;
	__u64 next_id;
	__u32 flags;
	__u32 pad;
	__u64 reserved[2];
};

#define VMM_IOC_ALLOC	_IOWR(VMM_IOC_MAGIC, 0x00, struct vmm_alloc_args)
#define VMM_IOC_FREE	_IOW(VMM_IOC_MAGIC, 0x01, struct vmm_free_args)
#define VMM_IOC_DEFRAG	_IOWR(VMM_IOC_MAGIC, 0x02, struct vmm_defrag_args)
#define VMM_IOC_INFO	_IOWR(VMM_IOC_MAGIC, 0x03, struct vmm_info_args)
#define VMM_IOC_STATS	_IOR(VMM_IOC_MAGIC, 0x04, struct vmm_stats_args)
#define VMM_IOC_SELECT	_IOW(VMM_IOC_MAGIC, 0x05, struct vmm_select_args)
#define VMM_IOC_READ	_IOW(VMM_IOC_MAGIC, 0x06, struct vmm_rw_args)
#define VMM_IOC_WRITE	_IOW(VMM_IOC_MAGIC, 0x07, struct vmm_rw_args)
#define VMM_IOC_LIST	_IOWR(VMM_IOC_MAGIC, 0x08, struct vmm_list_args)

#endif /* _UAPI_LINUX_VMM_H */
