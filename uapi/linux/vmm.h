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
 * Errors shared by the commands:
 *   EINVAL  a non-zero pad/reserved field or an unknown flag
 *   EFAULT  the argument struct or a buffer it points to is not accessible
 *   ENOTTY  an unknown command
 *   ENOENT  the ID was never allocated, or has been freed (commands that
 *           take an ID)
 *   EACCES  the block's mode does not let the caller do this (see below;
 *           VMM_IOC_CHMOD and VMM_IOC_CHOWN say EPERM instead)
 *
 * Access control follows System V shared memory.  Each block records an
 * owner and a group (the allocating task's effective uid and gid) and a
 * mode (permission bits 0777, default 0600).  The caller's effective uid
 * and groups, at the time of each call (not those of the task that opened
 * the device, and whatever mode it was opened with: that binds only
 * read(2), write(2) and mmap(2)), pick the owner, group or other bits as
 * for files:
 *   read (VMM_IOC_READ, read(2))		needs r
 *   write (VMM_IOC_WRITE, write(2))		needs w
 * read(2) and write(2) also need the bit to have been held by the task
 * that selected the block (VMM_IOC_SELECT), so that a descriptor handed to
 * a more privileged program, a setuid one say, grants no more than its
 * selector had.
 *   VMM_IOC_INFO, VMM_IOC_SELECT		need r or w
 *   VMM_IOC_FREE				needs the owner (EACCES)
 *   VMM_IOC_CHMOD, VMM_IOC_CHOWN		need the owner (EPERM)
 * CAP_SYS_ADMIN in the initial user namespace passes every check; root in
 * another user namespace does not.  The capability is asked for only when
 * the owner, group and mode deny (or, without auditing, when a limit of
 * unprivileged callers alone refuses an ALLOC, for an ALLOC once it must
 * compact, for a SELECT the mode grants only one of r and w, and for
 * every VMM_IOC_DEFRAG, whose budget and whether it may move other
 * users' large or mapped blocks depend on it), so allocating and using
 * one's own blocks, within the unprivileged limits and with a mode that
 * grants the owner what it uses, neither audits nor marks the task as
 * having used privilege.  VMM_IOC_LIST,
 * VMM_IOC_USAGE, VMM_IOC_STATS and VMM_IOC_DEFRAG need no permission:
 * they show every block's extent and owner, never its data.  Uids and
 * gids are reported, and taken, in the caller's user namespace; an id with
 * no mapping there reads as the overflow id (65534).
 *
 * Upper bounds: sizes and alignments are at most the arena size, offsets
 * and lengths must lie inside the block, VMM_IOC_LIST returns at most
 * VMM_LIST_MAX entries and VMM_IOC_USAGE at most VMM_USAGE_MAX per call,
 * and the module parameters max_blocks_per_uid, max_bytes_per_uid and
 * max_blocks_unprivileged bound what is charged to one uid's record
 * (EDQUOT beyond): one record per uid and chain of user namespace owners,
 * as the kernel's ucounts keep theirs (see struct vmm_user_usage).
 *
 * A signal that interrupts a wait fails the call with EINTR, or restarts
 * it when the handler has SA_RESTART; only waits for another task's
 * defragmentation, or for one block's move to end, and the compaction
 * of a compacting VMM_IOC_ALLOC, can be interrupted.
 *
 * Mapping a block.  mmap(2) of a /dev/vmm file maps the block selected on
 * it (VMM_IOC_SELECT), which must have been allocated with
 * VMM_ALLOC_MAPPABLE.  The mmap offset is a byte offset inside the block,
 * a multiple of the page size; offset + length must not pass the block's
 * end.  Only MAP_SHARED mappings are allowed: a MAP_PRIVATE copy of memory
 * that moves has no meaning.  Each mapping needs r on the block, and a
 * PROT_WRITE one needs w; both for the caller and for the task that
 * selected the block, as read(2) and write(2) do, checked at mmap(2)
 * time (a later VMM_IOC_CHMOD does not revoke a mapping, as chmod(2)
 * does not revoke one of a file).  Without w, mprotect(2) cannot add
 * PROT_WRITE later.  PROT_EXEC is refused (so, under the READ_IMPLIES_EXEC
 * personality, is every mapping, unless /dev is mounted noexec: the kernel
 * then does not add PROT_EXEC).  /proc/PID/maps shows the mapping at an
 * offset of vmm's choosing, not the one passed to mmap(2): each mappable
 * block has a range of offsets of its own, so that a move can find just
 * its mappings.  Errors, checked in this order
 * (the first that applies is returned):
 *   EINVAL  MAP_PRIVATE (not MAP_SHARED)
 *   EACCES  PROT_EXEC
 *   ENXIO   no block is selected on the file
 *   EACCES  the selector lacked r, or w for PROT_WRITE
 *   ENOENT  the selected block has been freed
 *   EACCES  the caller lacks r, or w for PROT_WRITE
 *   ENODEV  the block was not allocated with VMM_ALLOC_MAPPABLE
 *   EINVAL  offset or length outside the block
 * Before vmm is asked, mmap(2) itself refuses a length of 0 and an offset
 * that is not a multiple of the page size (EINVAL), an offset (a negative
 * off_t) whose sum with the length wraps around (EOVERFLOW),
 * PROT_EXEC when /dev is mounted noexec (EPERM), a file opened O_WRONLY,
 * or PROT_WRITE with MAP_SHARED on one opened O_RDONLY (EACCES), and
 * unknown flags with MAP_SHARED_VALIDATE (EOPNOTSUPP).
 * The life of a mapping:
 *   map     mmap(2) records the mapping; no page is mapped yet
 *   fault   the first access to each page maps that page of the block's
 *           current place; an access while the block is being moved
 *           waits until the move ends, holding no vmm lock
 *   move    before VMM_IOC_DEFRAG (or a compacting VMM_IOC_ALLOC) copies
 *           a mapped block it removes the block's pages from every
 *           mapping, in every process; the next access faults again and
 *           maps the new place.  No mapping ever reaches memory outside
 *           its block's current range.
 *   free    VMM_IOC_FREE of a mapped block (or the end of a scoped
 *           block's file) removes its ID at once, but its bytes stay
 *           reachable through the existing mappings, and its range and
 *           quota stay held, until the last of them goes
 *   unmap   munmap(2), exit or exec drops the mapping; mremap(2) may move
 *           or shrink one but not grow it (EFAULT)
 * An access past the block through a mapping (which mmap(2) and mremap(2)
 * rule out) raises SIGBUS.  The mappings are VM_PFNMAP: get_user_pages()
 * never takes the arena's pages, so O_DIRECT I/O, vmsplice(2),
 * process_vm_readv(2), a shared futex or RDMA registration that would pin
 * a page of a mapping fails (EFAULT) instead of pinning a page that
 * compaction would then hand to another block (a vmsplice(2) into a
 * mapping, which copies, works); ptrace(2) and
 * /proc/PID/mem read and write a mapping through the block's current
 * place.
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
 * @flags: in: %VMM_ALLOC_COMPACT, %VMM_ALLOC_MODE, %VMM_ALLOC_SCOPED,
 *	%VMM_ALLOC_MAPPABLE or 0; other bits are rejected (EINVAL)
 * @mode: in: with %VMM_ALLOC_MODE, the block's permission bits, at most
 *	0777 (EINVAL otherwise); without it, must be 0 and the mode is 0600
 * @id: out: the new block's ID; IDs start at 1 and are never reused
 * @offset: out: the block's current byte offset in the arena
 * @reserved: must be 0
 *
 * Placement is first-fit: the lowest offset where the block fits (or,
 * with the module parameter policy=best, the smallest free range where it
 * fits).  An aligned request is placed with two lookups, never a walk: in
 * the range an unaligned request of @size would get, if the aligned block
 * fits there; else in the range the policy picks among those of at least
 * @size + @align - 1 bytes, which hold it at any alignment.  So an aligned
 * block may land higher than the lowest place it fits, and may fail with
 * ENOSPC when only ranges shorter than @size + @align - 1 could hold it.
 * The new block reads as zeros.  Its owner and group are the caller's
 * effective uid and gid.  EDQUOT when the owner, or the owner of any user
 * namespace between the caller's and the initial one, would hold more
 * blocks or bytes than the module parameters max_blocks_per_uid or
 * max_bytes_per_uid allow (0, the default, is no limit), or, for a caller
 * without CAP_SYS_ADMIN, more blocks than max_blocks_unprivileged (default
 * 16384; for uid 0, whose count also holds the blocks of the user
 * namespaces it made, its own blocks).  ENOMEM also when the caller's
 * memory cgroup cannot hold the block's metadata, which is charged to it.
 *
 * With %VMM_ALLOC_MAPPABLE the block can be mapped with mmap(2) (see
 * "Mapping a block" below): its size is @size rounded up to a multiple of
 * the page size (the rounding counts against the quotas, and VMM_IOC_INFO
 * reports it), it starts on a page boundary (@align, if larger, still
 * holds), and defragmentation keeps it on one wherever it moves it.  EINVAL
 * if the rounded size exceeds the arena size; ENOSPC also when as many
 * mappable blocks exist as there are ranges of mmap offsets for them
 * (MAX_LFS_FILESIZE in pages divided by the arena's size in pages, at
 * most 2^31 - 1: from 2^51 pages on a 64-bit kernel, more than the arena
 * could hold below 128 GiB; from 2^32 on a 32-bit kernel, 32767 for an
 * arena of 512 MiB).
 *
 * With %VMM_ALLOC_SCOPED the block belongs to the open file used for the
 * call: it is freed when that file is released (the last close(2) of it,
 * including at exit or when the process is killed).  Other blocks live
 * until VMM_IOC_FREE or until the module is unloaded.
 *
 * @align holds where the block is placed; a later VMM_IOC_DEFRAG packs
 * blocks without gaps and may leave it unaligned.
 * ENOSPC when no free range is large enough, ENOMEM when the kernel
 * cannot allocate the block's metadata (or, when it defragments, see
 * below, as VMM_IOC_DEFRAG says).
 *
 * With %VMM_ALLOC_COMPACT, or when the module was loaded with
 * auto_compact=1, a request that fails for lack of a contiguous range
 * although enough bytes are free defragments the arena (as VMM_IOC_DEFRAG
 * with no budget) and tries once more.  It then fails with ENOSPC only if
 * fewer bytes are free than requested (counting the padding @align needs
 * after the packed blocks, and the gaps mappable blocks, which stay on
 * page boundaries, leave below them), if a block being copied by another
 * task was in the way (the defragmentation never waits for such copies),
 * or if other tasks took the space meanwhile; with EINTR if a signal came
 * while waiting for another task's defragmentation to end, or stopped the
 * defragmentation before the block fit (what it moved stays moved; under
 * SA_RESTART the call is restarted instead).  For a caller without
 * CAP_SYS_ADMIN that defragmentation moves what VMM_IOC_DEFRAG would for
 * it, so it may still fail with ENOSPC: call VMM_IOC_DEFRAG until its
 * @compact is 1, then allocate again.
 */
struct vmm_alloc_args {
	__u64 size;
	__u64 align;
	__u32 flags;
	__u32 mode;
	__u64 id;
	__u64 offset;
	__u64 reserved[4];
};

/* vmm_alloc_args.flags: defragment and retry when no free range fits. */
#define VMM_ALLOC_COMPACT	0x1U
/* vmm_alloc_args.flags: vmm_alloc_args.mode holds the block's mode. */
#define VMM_ALLOC_MODE		0x2U
/* vmm_alloc_args.flags: free the block when the open file is released. */
#define VMM_ALLOC_SCOPED	0x4U
/* vmm_alloc_args.flags: whole pages, page-aligned, for mmap(2). */
#define VMM_ALLOC_MAPPABLE	0x8U

/* The default mode of a block, and the bits a mode may have. */
#define VMM_MODE_DEFAULT	0600U
#define VMM_MODE_MASK		0777U

/**
 * struct vmm_free_args - VMM_IOC_FREE: free a block
 * @id: in: the block to free (ENOENT if unknown or already freed)
 * @flags: in: must be 0
 * @pad: must be 0
 * @reserved: must be 0
 *
 * Only the block's owner, or CAP_SYS_ADMIN, may free it (EACCES).
 * The ID is gone when the call returns.  If another task is copying the
 * block's data at that moment, the range is reused only after the piece
 * of at most 256 KiB it is copying (a copy holds a block one piece at a
 * time, and never while a page of its own buffer faults in: it then
 * fails with ENOENT, or read(2) and write(2) return what they copied
 * before; see VMM_IOC_READ);
 * if a defragmentation is moving it (alone, as it moves a mapped block or
 * one larger than 256 KiB, or with its neighbours, at most 256 KiB of
 * them), only after that move; and if the block is mapped, only after its
 * last mapping is gone (as System V shared memory after IPC_RMID), and
 * until then the mappings keep reading and writing its bytes, and it
 * still counts against its owner's quotas.
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
 * @budget: in: the most bytes this call may move, 0 for no limit; for a
 *	caller without CAP_SYS_ADMIN, 0 and anything larger than
 *	%VMM_DEFRAG_USER_BUDGET mean %VMM_DEFRAG_USER_BUDGET, so that no
 *	unprivileged call keeps a CPU busy for long (loop until @compact)
 * @compact: out: 1 if all free space is now one range at the end of the
 *	arena, else 0 (the budget ran out, a block was in use or too large
 *	for the caller, or a signal came; see below)
 * @reserved: must be 0
 *
 * Slides live blocks toward offset 0, in offset order, keeping their order
 * and data.  Without a budget, and with no block in use, afterwards all
 * free space is one range at the end of the arena, except that a block
 * allocated with %VMM_ALLOC_MAPPABLE moves only to a page boundary, so a
 * gap of less than a page may stay below each such block (and @compact
 * then means that no free range other than the last one is a page or
 * larger) (a call moves at most the bytes that were in blocks when its
 * turn came, after any wait for another defragmentation, and starts no
 * walk over the blocks once it has looked at twice as many as there were
 * then, so others' churn cannot keep it going).  With one, the call stops
 * before the block that would take it past @budget; but a call that has moved nothing yet moves
 * that one block anyway, so a caller looping until @compact is 1 always
 * makes progress.  The call never waits for another task's copy of a
 * block's data: that block stays where it is, the blocks above it close
 * up to it, and the call returns with @compact 0.  A caller without
 * CAP_SYS_ADMIN never moves another user's block larger than
 * %VMM_DEFRAG_USER_BUDGET either: such a block stays too, until its owner
 * or an administrator defragments.  When @compact is 0 and
 * @blocks_moved is not, call again; when both are 0, what is in the way
 * is in use, so call again later (or have the owner of a large block do
 * it).  A signal that arrives after some blocks moved ends the call early
 * with success and what it moved; one that arrives while waiting for
 * another defragmentation fails it with EINTR, or restarts it under
 * SA_RESTART.
 *
 * A mapped block moves too: its page table entries are removed first
 * (every process's), and the next access through a mapping faults in the
 * new place; the call never waits for a mapping to go away.  A block one
 * of whose pages a fault is mapping at that instant counts as in use: it
 * stays, and @compact is 0 (call again).  A caller without CAP_SYS_ADMIN
 * never moves another user's mapped block.
 *
 * Data is copied without the arena's lock held (the block is pinned and
 * its destination taken out of the free space instead), so allocations,
 * frees, reads and writes of other blocks go on during a long call.  One
 * defragmentation runs at a time: a second caller waits for the first, or
 * with %VMM_DEFRAG_NOWAIT fails at once with EBUSY.  But a call lets go
 * between two steps when a task needs its CPU (and before it allocates
 * memory), and a waiting call may then go first: this one then waits for
 * its turn back, or with %VMM_DEFRAG_NOWAIT returns there, with @compact
 * 0 (or fails with EBUSY if it had moved nothing yet).  So a
 * caller that seldom gets a CPU mostly keeps nobody waiting while it
 * waits for one; it still may when it has just waited for its turn (the
 * turn can come before the CPU does), and in the move of a block larger
 * than 256 KiB or of a mapped block, which may give up the CPU midway.
 * Not on PREEMPT_RT kernels, where a call may lose its CPU anywhere.
 * ENOMEM when nothing moved because the kernel could not allocate the
 * record of the free space a mappable block leaves below the page
 * boundary it moves to.
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

/* The per-call budget of a defragmentation without CAP_SYS_ADMIN: 4 MiB. */
#define VMM_DEFRAG_USER_BUDGET	(4ULL << 20)

/**
 * struct vmm_info_args - VMM_IOC_INFO: describe a block
 * @id: in: the block (ENOENT if unknown or freed)
 * @flags: in: must be 0
 * @pad: must be 0
 * @offset: out: the block's current byte offset in the arena
 * @size: out: the block's size in bytes
 * @uid: out: the block's owner, in the caller's user namespace
 * @gid: out: the block's group, in the caller's user namespace
 * @mode: out: the block's permission bits
 * @attrs: out: %VMM_BLOCK_SCOPED, %VMM_BLOCK_MAPPABLE, both or 0
 * @mapped: out: the mappings of the block that exist now: one per
 *	mmap(2), and one more for each copy fork(2) made or each piece a
 *	partial munmap(2) or mprotect(2) split off
 * @reserved: must be 0
 *
 * Needs r or w permission on the block (EACCES).  @uid, @gid, @mode and
 * @attrs were reserved (zero) fields before vmm 0.3, @mapped before 0.5.
 */
struct vmm_info_args {
	__u64 id;
	__u32 flags;
	__u32 pad;
	__u64 offset;
	__u64 size;
	__u32 uid;
	__u32 gid;
	__u32 mode;
	__u32 attrs;
	__u64 mapped;
	__u64 reserved;
};

/* vmm_info_args.attrs, vmm_block_info.attrs: allocated VMM_ALLOC_SCOPED. */
#define VMM_BLOCK_SCOPED	0x1U
/* vmm_info_args.attrs, vmm_block_info.attrs: allocated VMM_ALLOC_MAPPABLE. */
#define VMM_BLOCK_MAPPABLE	0x2U

/**
 * struct vmm_stats_args - VMM_IOC_STATS: the counters also shown in sysfs
 * @size: arena size in bytes
 * @used: bytes in blocks that are not free yet: live blocks, blocks an
 *	ALLOC is still zeroing, and blocks freed while mapped, or while a
 *	copy, a page fault or a defragmentation held them, until the last
 *	mapping goes or that piece of copy, fault or move ends (their range
 *	is not free until then)
 * @free: bytes not in any block
 * @largest_free: the largest contiguous free range, in bytes
 * @blocks: blocks allocated and not freed: always @allocs - @frees (a
 *	large block an ALLOC is still zeroing counts, but LIST leaves it out)
 * @fragmentation: 1000 * (1 - largest_free / free) in permille, 0 if free is 0
 * @allocs: successful allocations since load
 * @frees: successful frees since load
 * @alloc_failures: allocations refused for lack of contiguous space (ENOSPC)
 * @defrags: defragmentations (VMM_IOC_DEFRAG calls and the compactions of
 *	compacting ALLOCs) that ended with the arena packed, as @compact of
 *	struct vmm_defrag_args reports it
 * @bytes_moved: bytes copied by all defragmentations
 * @metadata_bytes: kernel memory spent on the arena's bookkeeping: block
 *	and free-extent records (those kept for future frees included), the
 *	per-user usage records, at their object sizes, and the table that
 *	finds a block by its ID (the arena itself not included)
 * @policy: the placement policy, %VMM_STATS_POLICY_FIRST or
 *	%VMM_STATS_POLICY_BEST (the module parameter "policy")
 * @max_lock_hold_ns: the longest time the arena's spinlock has been held
 *	since load, in nanoseconds, counting holds only while the module
 *	parameter lock_hold_timing is 1 (since vmm 0.6; 0 by default, when
 *	this stays 0), or since root last wrote 0 to it in sysfs
 * @mapped_blocks: blocks with at least one mapping, including freed ones
 *	whose mappings still hold their range
 * @reserved: zeroed by the kernel
 *
 * Output only; the values are one consistent snapshot.  @metadata_bytes,
 * @policy and @max_lock_hold_ns were reserved (zero) fields before vmm
 * 0.2, @mapped_blocks before 0.5.
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
	__u64 mapped_blocks;
	__u64 reserved;
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
 * Needs r or w permission on the block (EACCES); read(2) and write(2)
 * check the caller's r and w again on every call, as the mode may have
 * changed, and need the bit to have been held by the task that selected
 * the block when it selected it (EACCES): the selection keeps its
 * selector's rights, like a file opened before a chmod(2), while each
 * caller is checked against the current mode; lseek(2) needs r or w
 * of its caller (a selection always holds one of them).
 * Afterwards read(2), write(2), pread(2), pwrite(2) and lseek(2) on this
 * file act on the block's bytes, and the file position is reset to 0.
 * On a file with no block selected they fail with ENXIO; once the selected
 * block is freed they fail with ENOENT (EACCES, checked first, if the
 * selector lacked the permission).  A read at or past the end returns
 * 0; a write that would cross the end writes nothing and fails with EFBIG
 * (ERANGE if it starts at or past the end).  A write of 0 bytes returns 0
 * wherever it starts, as on a regular file.  A buffer none of which can
 * be accessed is EFAULT; one that faults part way gives a short count, the
 * bytes before the fault.  Between pieces of 256 KiB, and while a page of
 * the buffer is faulted in, the block is not held (see VMM_IOC_READ): if
 * it is freed meanwhile, the call returns the bytes copied before, or
 * fails with ENOENT if there were none.  lseek(2) takes SEEK_SET,
 * SEEK_CUR, SEEK_END (relative to the block's size), and SEEK_DATA and
 * SEEK_HOLE, for which the whole block is data (ENXIO below 0 or at or
 * past its end);
 * a resulting position below 0 or past MAX_LFS_FILESIZE is EINVAL.  Before
 * vmm is asked, the kernel refuses a read or write at a negative position,
 * or one whose end would pass the largest file offset, with EINVAL.  Each
 * of these calls waits while the block is being moved: EINTR if a signal
 * comes meanwhile (see above).
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
 * of the data, and no other block is touched.  EACCES without r (READ) or
 * w (WRITE) permission on the block.  Both wait while the block is being
 * moved: EINTR if a signal comes meanwhile (see above).
 *
 * The copy holds the block in place only while it copies a piece of at
 * most 256 KiB: between pieces, and while a page of @buffer is faulted in
 * (which a caller can make take as long as it likes, with a page of a
 * FUSE file or a userfaultfd), the block may be moved, and the copy goes
 * on in its new place, or freed, and the call fails with ENOENT (a WRITE
 * may have stored part of the data, a READ part of it in @buffer).  A
 * signal while it waits for a move to end there fails the call with
 * EINTR, or restarts it whole under SA_RESTART (a WRITE may have stored
 * part of the data; storing it again stores the same bytes).  The
 * permission checked when the call began holds for the whole call.
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
 * @uid: its owner, in the caller's user namespace
 * @gid: its group, in the caller's user namespace
 * @mode: its permission bits
 * @attrs: %VMM_BLOCK_SCOPED, %VMM_BLOCK_MAPPABLE, both or 0
 * @mapped: its mappings, as &vmm_info_args.mapped
 * @reserved: zeroed by the kernel
 *
 * @uid, @gid, @mode and @attrs were reserved (zero) before vmm 0.3,
 * @mapped before 0.5.
 */
struct vmm_block_info {
	__u64 id;
	__u64 offset;
	__u64 size;
	__u32 uid;
	__u32 gid;
	__u32 mode;
	__u32 attrs;
	__u64 mapped;
	__u64 reserved[2];
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
 * entries (it copies out after dropping its lock).  A call may return
 * fewer than @capacity entries, even none, with @next_id not 0, when it
 * passed over more than @capacity blocks that are not live: freed blocks
 * whose range a mapping (or a copy's piece, a fault or a move) still
 * holds, and new ones an ALLOC is still zeroing.  Loop until @next_id is 0.  A call is not one
 * snapshot (since vmm 0.6): the kernel lets others take its lock every
 * 64 blocks, so a block allocated, freed or moved while the call runs
 * may show or not, and at its old offset or its new one, as between two
 * calls.
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

/**
 * struct vmm_chmod_args - VMM_IOC_CHMOD: change a block's mode
 * @id: in: the block (ENOENT if unknown or freed)
 * @mode: in: the new permission bits, at most 0777 (EINVAL otherwise)
 * @flags: in: must be 0
 * @reserved: must be 0
 *
 * Only the owner, or CAP_SYS_ADMIN, may change the mode (EPERM).  The new
 * mode applies to every later access, including read(2) and write(2) on
 * files that selected the block before.
 */
struct vmm_chmod_args {
	__u64 id;
	__u32 mode;
	__u32 flags;
	__u64 reserved[2];
};

/* vmm_chown_args.uid and .gid: leave unchanged, as chown(2)'s -1. */
#define VMM_ID_UNCHANGED	0xffffffffU

/**
 * struct vmm_chown_args - VMM_IOC_CHOWN: change a block's owner or group
 * @id: in: the block (ENOENT if unknown or freed)
 * @uid: in: the new owner in the caller's user namespace, or
 *	%VMM_ID_UNCHANGED
 * @gid: in: the new group in the caller's user namespace, or
 *	%VMM_ID_UNCHANGED
 * @flags: in: must be 0
 * @pad: must be 0
 * @reserved: must be 0
 *
 * As chown(2): only CAP_SYS_ADMIN may give a block to another owner; the
 * owner may change the group to one of its own groups (its effective gid
 * or a supplementary group); anything else is EPERM, and so is any call
 * by a task that is neither the owner nor CAP_SYS_ADMIN.  EINVAL if @uid
 * or @gid has no mapping in the caller's user namespace, before the block
 * is looked up or any permission checked (as for a non-zero reserved
 * field).  The block's
 * usage moves to the new owner: EDQUOT if that would take the new owner
 * past max_blocks_per_uid or max_bytes_per_uid, ENOMEM if the kernel
 * cannot allocate the new owner's usage record.  It is then charged to
 * the new owner alone, as a block allocated in the initial user namespace
 * is: the owners of the namespaces above the old owner stop counting it,
 * and a uid does not say which namespaces, if any, the new owner's ids
 * come from.  Given to the uid at the top of its charge (the owner of the
 * outermost user namespace it was made under, whose usage already counts
 * it), the block leaves that uid's totals as they were: no EDQUOT.
 */
struct vmm_chown_args {
	__u64 id;
	__u32 uid;
	__u32 gid;
	__u32 flags;
	__u32 pad;
	__u64 reserved[2];
};

/**
 * struct vmm_user_usage - one entry of VMM_IOC_USAGE
 * @uid: a uid that owns blocks
 * @pad: zeroed by the kernel
 * @blocks: blocks charged to it: those it owns, and those owned by ids
 *	acting in user namespaces it owns, at any depth
 * @bytes: bytes in those blocks
 * @ns_blocks: of @blocks, those charged through its user namespaces (a
 *	reserved, zero field before vmm 0.4)
 *
 * A block counts against its owner and against the owner of every user
 * namespace between the allocating task's and the initial one, so a user
 * with subordinate ids (newuidmap) cannot multiply the quotas.  As with the
 * kernel's ucounts, a uid has one record per chain of owners: a uid acting
 * inside a namespace root made (systemd's PrivateUsers=, a rootful
 * container) is charged under root's record, apart from its record in the
 * initial namespace, and @blocks here are those charged to the uid's
 * top-level record only.  Only the
 * uids that own blocks from the initial user namespace, or own user
 * namespaces whose ids do, are listed.
 */
struct vmm_user_usage {
	__u32 uid;
	__u32 pad;
	__u64 blocks;
	__u64 bytes;
	__u64 ns_blocks;
};

/* The most entries one VMM_IOC_USAGE call returns. */
#define VMM_USAGE_MAX 1024

/**
 * struct vmm_usage_args - VMM_IOC_USAGE: what each uid holds (the quotas)
 * @buffer: in: user address of an array of @capacity struct vmm_user_usage
 * @capacity: in: entries @buffer holds, 1 to VMM_USAGE_MAX (EINVAL
 *	otherwise)
 * @count: out: entries stored, in increasing uid order
 * @start_uid: in: the first uid to report
 * @next_uid: out: the @start_uid for the next call, or 0 when no uid is
 *	left
 * @flags: in: must be 0
 * @pad: must be 0
 * @reserved: must be 0
 *
 * Only uids that own at least one block, or own a user namespace whose
 * ids do, are listed, with what counts against max_blocks_per_uid,
 * max_bytes_per_uid and max_blocks_unprivileged.  Needs no privilege, as
 * VMM_IOC_LIST, whose sums these are, needs none (before vmm 0.4 it needed
 * CAP_SYS_ADMIN); but a caller outside the initial user namespace gets
 * EPERM, since @start_uid and @next_uid are kernel uids, which would name
 * ids the namespace cannot see.  ENOMEM when the kernel cannot allocate a
 * bounce buffer of @capacity entries.  Each entry is one moment's, but a
 * call is not one snapshot (since vmm 0.6): the kernel lets others take
 * its lock every 64 entries.
 */
struct vmm_usage_args {
	__u64 buffer;
	__u32 capacity;
	__u32 count;
	__u32 start_uid;
	__u32 next_uid;
	__u32 flags;
	__u32 pad;
	__u64 reserved[2];
};

/**
 * struct vmm_batch_entry - one operation of VMM_IOC_BATCH
 * @op: in: %VMM_BATCH_ALLOC, %VMM_BATCH_FREE, %VMM_BATCH_READ,
 *	%VMM_BATCH_WRITE or %VMM_BATCH_INFO; anything else fails the entry
 *	with EINVAL
 * @result: out: 0, or the negated errno the single command would have
 *	returned (-EINVAL, -ENOENT, ...); untouched for entries that did not
 *	run
 * @alloc: for %VMM_BATCH_ALLOC, as &struct vmm_alloc_args for
 *	VMM_IOC_ALLOC: @alloc.id and @alloc.offset are written back
 * @free: for %VMM_BATCH_FREE, as &struct vmm_free_args for VMM_IOC_FREE
 * @rw: for %VMM_BATCH_READ and %VMM_BATCH_WRITE, as &struct vmm_rw_args
 *	for VMM_IOC_READ and VMM_IOC_WRITE
 * @info: for %VMM_BATCH_INFO, as &struct vmm_info_args for VMM_IOC_INFO:
 *	its out fields are written back
 * @raw: the union's bytes; those past the op's own struct (the last 40
 *	of a FREE, 16 of a READ or WRITE, 8 of an INFO) must be 0 (EINVAL)
 *
 * Each entry is checked exactly as its single command checks its argument
 * and fails with the same errno, except that EFAULT for the entry itself
 * fails the whole call (see &struct vmm_batch_args).
 */
struct vmm_batch_entry {
	__u32 op;
	__s32 result;
	union {
		struct vmm_alloc_args alloc;
		struct vmm_free_args free;
		struct vmm_rw_args rw;
		struct vmm_info_args info;
		__u64 raw[9];
	};
};

/* vmm_batch_entry.op */
#define VMM_BATCH_ALLOC		1U
#define VMM_BATCH_FREE		2U
#define VMM_BATCH_READ		3U
#define VMM_BATCH_WRITE		4U
#define VMM_BATCH_INFO		5U

/* The most entries one VMM_IOC_BATCH call takes. */
#define VMM_BATCH_MAX		256

/**
 * struct vmm_batch_args - VMM_IOC_BATCH: run several operations in one call
 * @entries: in: user address of @count &struct vmm_batch_entry
 * @count: in: entries, 1 to %VMM_BATCH_MAX (EINVAL otherwise)
 * @done: out: entries that ran, in order from the first: each has its
 *	@result set
 * @flags: in: %VMM_BATCH_CONTINUE or 0; other bits are rejected (EINVAL)
 * @failed: out: entries among @done whose @result is not 0
 * @reserved: must be 0
 *
 * Entries run in order, as the single commands would one after another,
 * with the caller's credentials taken once for the whole call.  Without
 * %VMM_BATCH_CONTINUE the call stops after the first entry that fails:
 * then @done counts it, @failed is 1, and the entries after it do not run.
 * With it, every entry runs and @failed counts the failures.  Either way
 * the call itself returns 0 once entries have run: an entry's failure is
 * in its @result, not in errno.  The call fails, running no entry, with
 * EINVAL for a bad @count, an unknown flag or a non-zero reserved field,
 * EFAULT when the entries cannot be read or written back, and ENOMEM when
 * the kernel cannot allocate its copy of them.  If writing the results
 * back fails (the entries were unmapped meanwhile), the blocks the call
 * allocated and still owns are freed again, and the call fails with
 * EFAULT (entries written back before the failure may name blocks freed
 * that way); its other effects stay.  A pending signal stops the
 * call between entries (never before the first, so every call makes
 * progress; consecutive ALLOC, FREE and INFO entries run in groups of up
 * to 64, and it stops between groups), with @done short of @count and no
 * failure: send the rest again.  An entry fails with EINTR when a signal
 * interrupts its wait (for another task's defragmentation, or for a
 * block's move) or, for a compacting ALLOC, its compaction: one entry of
 * a batch cannot be restarted.
 *
 * Consecutive ALLOC, FREE and INFO entries share holds of the arena's
 * lock, a bounded number per hold; READ and WRITE copy without it, as the
 * single commands do.
 */
struct vmm_batch_args {
	__u64 entries;
	__u32 count;
	__u32 done;
	__u32 flags;
	__u32 failed;
	__u64 reserved[2];
};

/* vmm_batch_args.flags: run every entry, whatever fails. */
#define VMM_BATCH_CONTINUE	0x1U

#define VMM_IOC_ALLOC	_IOWR(VMM_IOC_MAGIC, 0x00, struct vmm_alloc_args)
#define VMM_IOC_FREE	_IOW(VMM_IOC_MAGIC, 0x01, struct vmm_free_args)
#define VMM_IOC_DEFRAG	_IOWR(VMM_IOC_MAGIC, 0x02, struct vmm_defrag_args)
#define VMM_IOC_INFO	_IOWR(VMM_IOC_MAGIC, 0x03, struct vmm_info_args)
#define VMM_IOC_STATS	_IOR(VMM_IOC_MAGIC, 0x04, struct vmm_stats_args)
#define VMM_IOC_SELECT	_IOW(VMM_IOC_MAGIC, 0x05, struct vmm_select_args)
#define VMM_IOC_READ	_IOW(VMM_IOC_MAGIC, 0x06, struct vmm_rw_args)
#define VMM_IOC_WRITE	_IOW(VMM_IOC_MAGIC, 0x07, struct vmm_rw_args)
#define VMM_IOC_LIST	_IOWR(VMM_IOC_MAGIC, 0x08, struct vmm_list_args)
#define VMM_IOC_CHMOD	_IOW(VMM_IOC_MAGIC, 0x09, struct vmm_chmod_args)
#define VMM_IOC_CHOWN	_IOW(VMM_IOC_MAGIC, 0x0a, struct vmm_chown_args)
#define VMM_IOC_USAGE	_IOWR(VMM_IOC_MAGIC, 0x0b, struct vmm_usage_args)
#define VMM_IOC_BATCH	_IOWR(VMM_IOC_MAGIC, 0x0c, struct vmm_batch_args)

#endif /* _UAPI_LINUX_VMM_H */
