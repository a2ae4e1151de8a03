/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vmm internals shared by the arena allocator, the character device and
 * sysfs.  The arena code (vmm_arena.c and the files vmm_arena.h lists)
 * knows nothing about files or user memory, so it can be unit-tested on
 * its own.
 */
#ifndef _VMM_H
#define _VMM_H

#include <linux/bits.h>
#include <linux/fs.h>
#include <linux/idr.h>
#include <linux/list.h>
#include <linux/math.h>
#include <linux/mm.h>
#include <linux/miscdevice.h>
#include <linux/gfp.h>
#include <linux/mutex.h>
#include <linux/overflow.h>
#include <linux/rbtree.h>
#include <linux/sched/clock.h>
#include <linux/sizes.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/static_key.h>
#include <linux/types.h>
#include <linux/uidgid.h>
#include <linux/wait.h>
#include <linux/vmm.h>

#include "vmm_compat.h"

#define VMM_VERSION "0.6.0"

/*
 * Bulk copies and clears of arena bytes run outside the lock in pieces of
 * this size, yielding the CPU between them, so that even a 1 GiB block
 * never keeps a CPU busy long enough to stall RCU.
 */
#define VMM_CHUNK	SZ_256K

/*
 * What a compaction moves in one round trip of the lock at most: blocks,
 * and runs of adjacent blocks among them (each with a memmove() of its
 * own; they close up the free extents between them, each an erase from
 * the free tree under the lock).  Here rather than in vmm_compact.c for
 * KUnit.
 */
#define VMM_GATHER_BLOCKS	256
#define VMM_GATHER_RUNS		64

/**
 * struct vmm_gather - runs of adjacent blocks that slide down together,
 *	closing the free extents between them, in one round trip of the lock
 * @first: each run's lowest-offset block
 * @src: each run's offset before the move
 * @bytes: each run's bytes
 * @nr: each run's blocks
 * @last: the highest block of the last run
 * @dst: where the first run goes: the start of the free extent below it;
 *	each next run goes right after the one before
 * @total: bytes in all of them
 * @runs: runs gathered
 * @blocks: blocks in all of them
 *
 * The blocks' &vmm_block.start already says where they go while their
 * bytes are copied; @src says where the bytes are until then.  About 1.7
 * KiB on 64-bit, in the arena rather than on the stack.
 */
struct vmm_gather {
	struct vmm_block *first[VMM_GATHER_RUNS];
	u64 src[VMM_GATHER_RUNS];
	u64 bytes[VMM_GATHER_RUNS];
	u16 nr[VMM_GATHER_RUNS];
	struct vmm_block *last;
	u64 dst;
	u64 total;
	unsigned int runs;
	unsigned int blocks;
};

/*
 * The ID cache's smallest table: an arena with fewer blocks than half of
 * it searches the ID tree alone.  The largest: 32 MiB of slots, enough for
 * 1M blocks; 48 MiB while the entries of the one before it move.  Here
 * rather than in vmm_idc.c for KUnit.
 */
#define VMM_IDC_MIN_SLOTS	256UL
#define VMM_IDC_MAX_SLOTS	BIT(22)

/*
 * Metadata a caller's request makes (block, extent and usage records) is
 * charged to the caller's memory cgroup, and fails with -ENOMEM rather
 * than invoking the OOM killer when the cgroup or the machine is full.
 */
#define VMM_GFP_META	(GFP_KERNEL_ACCOUNT | __GFP_RETRY_MAYFAIL | \
			 __GFP_NOWARN)

/**
 * enum vmm_policy - where a new block goes
 * @VMM_POLICY_FIRST: the lowest offset where it fits (the default)
 * @VMM_POLICY_BEST: the smallest free extent where it fits, the lowest
 *	offset among equal sizes
 */
enum vmm_policy {
	VMM_POLICY_FIRST = VMM_STATS_POLICY_FIRST,
	VMM_POLICY_BEST = VMM_STATS_POLICY_BEST,
};

static inline const char *vmm_policy_name(enum vmm_policy policy)
{
	return policy == VMM_POLICY_BEST ? "best" : "first";
}

/**
 * struct vmm_extent - a maximal free range of the arena
 * @node: in &vmm_arena.free, ordered by @start
 * @size_node: in &vmm_arena.by_size, ordered by (@size, @start); used by
 *	the best-fit policy only
 * @next: while the node is in &vmm_arena.reserve or on
 *	&vmm_arena.moving_ext instead of the trees, the next one there
 * @start: first free byte
 * @size: free bytes; never 0
 * @subtree_max: the largest @size in this node's subtree, which lets the
 *	first-fit search skip whole subtrees that cannot satisfy a request
 * @prev_blk: while in &vmm_arena.free, the block that ends at @start, or
 *	NULL at offset 0: where a block placed in the extent goes in
 *	&vmm_arena.addrs, found without a search (as drm_mm's hole belongs
 *	to the node before it).  Stale, and never read, once the node leaves
 *	the tree (for &vmm_arena.moving_ext or the reserve): that block may
 *	be released meanwhile, and every path that puts the node back in
 *	the tree sets it.
 */
struct vmm_extent {
	struct rb_node node;
	union {
		struct rb_node size_node;
		struct vmm_extent *next;
	};
	u64 start;
	u64 size;
	u64 subtree_max;
	struct vmm_block *prev_blk;
};

/**
 * enum vmm_block_state - where a block is in its life
 * @VMM_BLOCK_NEW: allocated, being zeroed; invisible to lookups
 * @VMM_BLOCK_LIVE: visible by ID
 * @VMM_BLOCK_DEAD: freed while pinned or mapped; the last unpin or unmap
 *	releases its range
 */
enum vmm_block_state {
	VMM_BLOCK_NEW,
	VMM_BLOCK_LIVE,
	VMM_BLOCK_DEAD,
};

/**
 * struct vmm_usage - what one uid holds, for the per-uid quotas
 * @node: in @parent's @children, or in &vmm_arena.users for a top-level
 *	record, ordered by @uid
 * @children: the records of ids acting inside user namespaces @uid owns
 * @parent: the record of the owner of the user namespace @uid acted in,
 *	or NULL when that namespace is the initial one
 * @uid: the owner
 * @blocks: blocks charged to @uid here or below (every block not yet
 *	free: live ones, ones an ALLOC is still zeroing, and freed ones a
 *	mapping, a copy's piece, a fault or a move still holds)
 * @bytes: their bytes
 * @own_blocks: of @blocks, those this record is the leaf of
 *
 * A block is charged to its owner's record and to every record above it,
 * up to a top-level one, as the kernel's ucounts charge RLIMIT_MEMLOCK:
 * the ids of a user namespace all count against its owner, so that
 * subordinate ids cannot multiply a quota.  Allocated before the lock by
 * whoever may need it (and charged to that task's memory cgroup), freed
 * under the lock (kfree() does not sleep) when @blocks drops to 0, and at
 * unload.
 */
struct vmm_usage {
	struct rb_node node;
	struct rb_root children;
	struct vmm_usage *parent;
	kuid_t uid;
	u64 blocks;
	u64 bytes;
	u64 own_blocks;
};

/*
 * User namespaces nest at most 33 levels below the initial one
 * (create_user_ns() refuses a parent whose level exceeds 32), each with an
 * owner; one more entry for the caller's own id.
 */
#define VMM_CHARGE_LEVELS	34

/**
 * struct vmm_cred - who is asking, computed before the lock is taken
 * @uid: the caller's effective uid
 * @gid: the caller's effective gid
 * @groups: the caller's supplementary groups, borrowed from its
 *	credentials for the call (a task's credentials change only by its own
 *	hand, so not during its own ioctl), or NULL for none
 * @admin: passes every permission check.  The ioctl layer sets it only
 *	after a check without it failed and capable(CAP_SYS_ADMIN) said
 *	yes, so that privilege is asked for (and audited) only when used;
 *	or, for SELECT, when the mode granted part of r and w and
 *	ns_capable_noaudit() says the caller may have both.
 * @privileged: exempt from the limits of unprivileged callers (the
 *	defragmentation budget, &vmm_arena.max_blocks_unprivileged); set by
 *	the ioctl layer after ns_capable_noaudit(), again only when needed
 * @nr_charge: entries in @charge
 * @charge: whom a block the caller allocates is charged to: the owner of
 *	each user namespace from the initial one's child down to the
 *	caller's, then @uid; consecutive repeats dropped
 *
 * The arena tests group membership under the lock against @gid and
 * @groups, an immutable list, never against the running task's: it
 * neither sleeps nor faults, and the arena asks no task who it is.  A NULL
 * &struct vmm_cred means the kernel itself (KUnit, undo paths): no check,
 * and blocks charged to root.
 */
struct vmm_cred {
	kuid_t uid;
	kgid_t gid;
	const struct group_info *groups;
	bool admin;
	bool privileged;
	unsigned int nr_charge;
	kuid_t charge[VMM_CHARGE_LEVELS];
};

/**
 * struct vmm_block - an allocated range of the arena
 * @id_node: in &vmm_arena.ids, ordered by @id
 * @addr_node: in &vmm_arena.addrs, ordered by @start
 * @id: stable name, never reused while the module is loaded
 * @start: current offset; changes only under the lock, and never while
 *	@pins is non-zero
 * @size: bytes; fixed for the block's life
 * @pins: copies of the block's data in flight outside the lock, and page
 *	faults inserting one of its pages
 * @maps: user mappings (VMAs) of the block; they keep a freed block's
 *	range, but unlike pins never stop the compactor, which removes
 *	their page table entries before it moves the block
 * @map_slot: for a mappable block, its slot in &vmm_arena.map_ida: which
 *	range of page offsets its mappings use (see vmm_map_base())
 * @state: see &enum vmm_block_state
 * @uid: owner, charged for the block in @usage
 * @gid: group
 * @mode: permission bits, within %VMM_MODE_MASK
 * @mappable: allocated with %VMM_ALLOC_MAPPABLE: whole pages, and
 *	@start stays page-aligned wherever the block moves
 * @moving: the compactor is copying the block's bytes on their own (a
 *	block in a gather of runs is moving by its offset instead: see
 *	vmm_block_moving()); pinning and faulting wait for the end of the
 *	move (&vmm_arena.move_seq), and a free leaves the release to it
 * @usage: the usage record the block is charged to, with its parents;
 *	the block holds them alive
 * @scope_node: in the owning file's list of scoped blocks, or empty (also
 *	once the block is freed)
 *
 * Ordered so that it packs into 128 bytes on 64-bit, two cache lines at
 * the slab's stride when objects carry no debugging red zones.
 */
struct vmm_block {
	struct rb_node id_node;
	struct rb_node addr_node;
	u64 id;
	u64 start;
	u64 size;
	unsigned int pins;
	unsigned int maps;
	unsigned int map_slot;
	enum vmm_block_state state;
	kuid_t uid;
	kgid_t gid;
	umode_t mode;
	bool mappable;
	bool moving;
	struct vmm_usage *usage;
	struct list_head scope_node;
};

/**
 * struct vmm_idc - a direct-mapped cache of blocks by ID (see vmm_idc.c)
 * @rcu: where kvfree_rcu() keeps its link once the table is dropped: the
 *	slots are dead by then, and the table stays an exact power of two
 *	bytes
 * @slot: the block last stored or found with an ID equal to the index
 *	modulo the slots (a power of two), or NULL; never a block that has
 *	left the ID tree
 */
struct vmm_idc {
	union {
		struct rcu_head rcu;
		DECLARE_FLEX_ARRAY(struct vmm_block *, slot);
	};
};

/**
 * struct vmm_idc_new - a table allocated before the lock, for install
 * @idc: the table, or NULL
 * @mask: its slots - 1
 * @want: the blocks it was sized for
 * @claimed: this task holds &vmm_arena.idc_claim until the install
 */
struct vmm_idc_new {
	struct vmm_idc *idc;
	unsigned long mask;
	u64 want;
	bool claimed;
};

/**
 * struct vmm_arena - the arena and its metadata
 * @lock: protects every field below except @base's contents, @size,
 *	@compact_lock and @gather.  Never held across anything that can
 *	sleep or fault.
 * @base: the arena's memory.  A block's bytes may be copied without @lock
 *	only while the block is pinned.
 * @size: arena size in bytes; fixed after init
 * @mapping: the one address space every user mapping of a block is
 *	linked in, at the block's own range of page offsets (see
 *	vmm_map_base()), so that a move can remove exactly that block's
 *	page table entries in every process; NULL (set once, before the
 *	device is registered) when nothing can map blocks, as in KUnit
 * @ids: blocks by ID
 * @ids_last: the rightmost node of @ids, the highest ID, where the next
 *	block goes (IDs only grow), or NULL when @ids is empty
 * @idc: the cache in front of @ids, or NULL
 * @idc_mask: @idc's slots - 1
 * @idc_old: the table @idc replaced, whose entries are still moving into
 *	it, or NULL
 * @idc_old_mask: @idc_old's slots - 1
 * @idc_moved: the slots of @idc_old already moved
 * @idc_grow_at: blocks at which an allocation brings a bigger table
 *	(ULONG_MAX while @idc_old is moving or at the largest size; higher
 *	after a failed allocation); read without the lock
 * @idc_claim: bit 0 is set, without the lock, by the one task that
 *	allocates the next table, and cleared under it when that task
 *	installs it or gives up
 * @idc_drop_below: blocks under which a release drops the table, 0 for a
 *	table of the smallest size
 * @addrs: blocks by offset
 * @free: free extents by offset, augmented with &vmm_extent.subtree_max
 * @by_size: the same extents by (size, offset), kept for %VMM_POLICY_BEST
 * @moving_ext: the free space a move leaves, out of @free while the
 *	compactor copies without the lock, linked by &vmm_extent.next: the
 *	extent a block slides into on its own, or the one range a gather's
 *	runs leave above them; NULL otherwise
 * @gather_lo: where the blocks of a gather of runs start once moved,
 *	which their &vmm_block.start already says while their bytes are
 *	copied: a block that starts in [@gather_lo, @gather_hi) is moving
 * @gather_hi: see @gather_lo; equal to it when no gather is moving
 * @gather_freed: blocks freed in that range while it moved, which the
 *	compactor releases once their bytes are in place
 * @policy: placement; fixed after init
 * @self_check: after every change, compare the index against a linear
 *	walk (debugging; O(n) under the lock)
 * @nr_extents: extents in @free, plus those on @moving_ext
 * @reserve: extent nodes kept for the releases of blocks, linked by
 *	&vmm_extent.next: with @nr_extents, there are always at least
 *	@nr_blocks + 1 nodes, as many as the most extents the blocks can
 *	leave, so freeing a block never allocates and never fails (see
 *	vmm_ext_reserve())
 * @nr_reserve: nodes in @reserve
 * @auto_compact: an allocation that fails for lack of contiguous space
 *	defragments and retries, as with %VMM_ALLOC_COMPACT
 * @lock_start: local_clock() when @lock was last taken while holds are
 *	timed, 0 when the hold under way is not timed
 * @max_lock_hold_ns: the longest time @lock was held while holds were
 *	timed (see &vmm_hold_timing)
 * @next_id: the ID the next allocation gets
 * @used: bytes covered by blocks (including NEW and DEAD ones)
 * @nr_blocks: blocks in @ids
 * @nr_dead: blocks in @ids that are %VMM_BLOCK_DEAD
 * @nr_pinned: blocks with a non-zero pin count
 * @nr_mappable: blocks in @ids that are &vmm_block.mappable
 * @map_ida: the slots of mappable blocks; a slot is freed with its block's
 *	range, which happens only once no mapping of it is left
 * @nr_mapped: blocks in @ids with a non-zero &vmm_block.maps
 * @move_seq: moves ended so far; a task waiting for a block that is
 *	moving (vmm_block_moving()) waits on @move_wq for this to change
 * @allocs: successful allocations
 * @frees: successful frees
 * @alloc_failures: allocations refused with -ENOSPC
 * @defrags: completed defragmentations
 * @bytes_moved: bytes copied by defragmentation
 * @users: top-level &struct vmm_usage records by uid
 * @nr_users: &struct vmm_usage records at every level
 * @max_blocks_per_uid: quota, 0 for none; written and read without the
 *	lock, hence an unsigned long, which no 32-bit kernel stores in two
 *	halves (a larger parameter is clamped: no count or size reaches it)
 * @max_bytes_per_uid: quota, 0 for none; as @max_blocks_per_uid
 * @max_blocks_unprivileged: quota for blocks allocated by callers without
 *	CAP_SYS_ADMIN, 0 for none; as @max_blocks_per_uid
 * @fit_visits: extents the last placement search looked at, for the
 *	KUnit bound on the search
 * @move_wq: woken when a move ends, for pinners waiting on @move_seq
 * @compact_lock: serialises the steps of defragmentations: one holds it
 *	from its first step until it yields its CPU, allocates or ends;
 *	taken before @lock
 * @gather: the runs the compactor moves now, under @compact_lock
 */
struct vmm_arena {
	/* protects the metadata: see above */
	spinlock_t lock;
	u8 *base;
	u64 size;
	struct address_space *mapping;
	struct rb_root ids;
	struct rb_node *ids_last;
	struct vmm_idc *idc;
	unsigned long idc_mask;
	struct vmm_idc *idc_old;
	unsigned long idc_old_mask;
	unsigned long idc_moved;
	unsigned long idc_grow_at;
	unsigned long idc_claim;
	unsigned long idc_drop_below;
	struct rb_root addrs;
	struct rb_root free;
	struct rb_root by_size;
	struct vmm_extent *moving_ext;
	u64 gather_lo;
	u64 gather_hi;
	u64 gather_freed;
	enum vmm_policy policy;
	bool self_check;
	bool auto_compact;
	u64 nr_extents;
	struct vmm_extent *reserve;
	u64 nr_reserve;
	u64 lock_start;
	u64 max_lock_hold_ns;
	u64 next_id;
	u64 used;
	u64 nr_blocks;
	u64 nr_dead;
	u64 nr_pinned;
	u64 nr_mappable;
	u64 nr_mapped;
	struct ida map_ida;
	unsigned long move_seq;
	u64 allocs;
	u64 frees;
	u64 alloc_failures;
	u64 defrags;
	u64 bytes_moved;
	struct rb_root users;
	u64 nr_users;
	unsigned long max_blocks_per_uid;
	unsigned long max_bytes_per_uid;
	unsigned long max_blocks_unprivileged;
	u64 fit_visits;
	wait_queue_head_t move_wq;
	/* one defragmentation at a time, and its @gather */
	struct mutex compact_lock;
	struct vmm_gather gather;
};

struct vmm_batch_bufs;

/**
 * struct vmm_device - the one /dev/vmm instance
 * @misc: the registered misc device
 * @arena: the arena it manages
 * @inode: an inode of vmm's own pseudo filesystem, whose address space
 *	every open file uses as its f_mapping, whatever device node it was
 *	opened through, so that a block's mappings are all in one place
 * @batch_bufs: room for the largest VMM_IOC_BATCH call, lent to one call
 *	at a time (vmm_batch.c)
 * @batch_lent: bit 0 is set while @batch_bufs is lent
 */
struct vmm_device {
	struct miscdevice misc;
	struct vmm_arena arena;
	struct inode *inode;
	struct vmm_batch_bufs *batch_bufs;
	unsigned long batch_lent;
};

/*
 * Holds of &vmm_arena.lock are timed, for max_lock_hold_ns, only while this
 * key is on (the lock_hold_timing parameter): two clock reads per hold
 * cost more than some of the operations they time.
 */
DECLARE_STATIC_KEY_FALSE(vmm_hold_timing);

/*
 * Take and drop &vmm_arena.lock, timing the hold when asked to.  The lock
 * keeps the task on its CPU (preemption off; on PREEMPT_RT, migration), so
 * local_clock() reads one CPU's clock at both ends; on PREEMPT_RT a hold
 * may include time preempted.  Only the taking looks at the key: the
 * inlined sites are patched one by one when it changes, so a hold is timed
 * exactly when its start was read, and one that began untimed is not
 * counted.
 */
static inline void vmm_lock(struct vmm_arena *arena)
	__acquires(&arena->lock)
{
	spin_lock(&arena->lock);
	if (static_branch_unlikely(&vmm_hold_timing))
		arena->lock_start = local_clock();
}

static inline void vmm_unlock(struct vmm_arena *arena)
	__releases(&arena->lock)
{
	if (arena->lock_start) {
		u64 held = local_clock() - arena->lock_start;

		if (held > arena->max_lock_hold_ns)
			arena->max_lock_hold_ns = held;
		arena->lock_start = 0;
	}
	spin_unlock(&arena->lock);
}

/**
 * struct vmm_block_view - a copy of a block's fields, for debugfs
 * @id: &vmm_block.id
 * @start: &vmm_block.start
 * @size: &vmm_block.size
 * @uid: &vmm_block.uid
 * @gid: &vmm_block.gid
 * @mode: &vmm_block.mode
 * @pins: &vmm_block.pins
 * @maps: &vmm_block.maps
 * @mappable: &vmm_block.mappable
 * @state: &vmm_block.state
 * @moving: the compactor is copying the block
 */
struct vmm_block_view {
	u64 id;
	u64 start;
	u64 size;
	kuid_t uid;
	kgid_t gid;
	umode_t mode;
	unsigned int pins;
	unsigned int maps;
	bool mappable;
	enum vmm_block_state state;
	bool moving;
};

/**
 * struct vmm_range - a free extent, for debugfs
 * @start: first free byte
 * @size: free bytes
 */
struct vmm_range {
	u64 start;
	u64 size;
};

int vmm_arena_init(struct vmm_arena *arena, u64 size, enum vmm_policy policy);
void vmm_arena_destroy(struct vmm_arena *arena);

/**
 * struct vmm_alloc_req - who allocates, and how the block is owned
 * @cred: the caller, or NULL for the kernel (owned by root, mode 0600)
 * @mode: permission bits
 * @scope: the list of the file that owns the block, or NULL for a block
 *	that lives until freed; protected by &vmm_arena.lock
 * @mappable: whole pages, page-aligned, for mmap (%VMM_ALLOC_MAPPABLE)
 * @ask_limits: the caller has yet to learn whether @cred is privileged,
 *	which sets a compaction's budget and lifts the unprivileged block
 *	limit: rather than compact, or fail where that limit alone refuses,
 *	the arena returns -EAGAIN (never seen by users), and the caller asks
 *	and calls again, so that privilege is asked for only when it decides
 */
struct vmm_alloc_req {
	const struct vmm_cred *cred;
	umode_t mode;
	struct list_head *scope;
	bool mappable;
	bool ask_limits;
};

/* What VMM_IOC_INFO and VMM_IOC_LIST report, before namespace mapping. */
struct vmm_block_attrs {
	u64 start;
	u64 size;
	kuid_t uid;
	kgid_t gid;
	umode_t mode;
	bool scoped;
	bool mappable;
	unsigned int maps;
};

/* Permission bits of vmm_arena_pin_perm() and vmm_arena_attrs(). */
#define VMM_MAY_READ	04
#define VMM_MAY_WRITE	02

/**
 * struct vmm_meta_op - an ALLOC, FREE or INFO entry of a batch
 * @op: %VMM_BATCH_ALLOC, %VMM_BATCH_FREE or %VMM_BATCH_INFO
 * @result: out: 0, or the negative errno that stopped the run here
 * @size: ALLOC in: bytes; FREE out: the freed block's
 * @align: ALLOC in: alignment, 0 or 1 for none
 * @compact: ALLOC in: %VMM_ALLOC_COMPACT
 * @req: ALLOC in: owner, mode, scope and mappability, as for
 *	vmm_arena_alloc_owned(); not read for other ops
 * @id: FREE and INFO in: the block; ALLOC out: the new block
 * @start: ALLOC and FREE out: the block's offset
 * @attrs: INFO out; not read
 */
struct vmm_meta_op {
	u32 op;
	int result;
	u64 size;
	u64 align;
	bool compact;
	struct vmm_alloc_req req;
	u64 id;
	u64 start;
	struct vmm_block_attrs attrs;
};

unsigned int vmm_arena_meta_run(struct vmm_arena *arena,
				const struct vmm_cred *cred,
				struct vmm_meta_op *ops, unsigned int n);

int vmm_arena_alloc_owned(struct vmm_arena *arena, u64 size, u64 align,
			  bool compact, const struct vmm_alloc_req *req,
			  u64 *id, u64 *start);
int vmm_arena_free_perm(struct vmm_arena *arena, u64 id,
			const struct vmm_cred *cred);
void vmm_arena_free_scope(struct vmm_arena *arena, struct list_head *scope);
int vmm_arena_attrs(struct vmm_arena *arena, u64 id,
		    const struct vmm_cred *cred, int may,
		    struct vmm_block_attrs *out);
struct vmm_block *vmm_arena_pin_perm(struct vmm_arena *arena, u64 id,
				     const struct vmm_cred *cred, int may);
int vmm_arena_select(struct vmm_arena *arena, u64 id,
		     const struct vmm_cred *cred, u64 *selected,
		     int *selected_may, int *granted);
int vmm_arena_chmod(struct vmm_arena *arena, u64 id,
		    const struct vmm_cred *cred, umode_t mode);
int vmm_arena_chown(struct vmm_arena *arena, u64 id,
		    const struct vmm_cred *cred, kuid_t uid, kgid_t gid);
u32 vmm_arena_usage(struct vmm_arena *arena, u32 start_uid,
		    struct vmm_user_usage *out, u32 capacity, u32 *next_uid);
void vmm_arena_unpin(struct vmm_arena *arena, struct vmm_block *blk);
int vmm_arena_defrag(struct vmm_arena *arena, const struct vmm_cred *cred,
		     u64 budget, bool nowait, u64 *bytes, u64 *blocks,
		     bool *compact);
void vmm_arena_stats(struct vmm_arena *arena, struct vmm_stats_args *st);
void vmm_arena_reset_lock_hold(struct vmm_arena *arena);
void vmm_arena_time_holds(bool on);
u32 vmm_arena_list(struct vmm_arena *arena, u64 start_id,
		   struct vmm_block_info *out, u32 capacity, u64 *next_id);
u32 vmm_arena_blocks_from(struct vmm_arena *arena, u64 offset,
			  struct vmm_block_view *out, u32 capacity);
u32 vmm_arena_holes_from(struct vmm_arena *arena, u64 offset,
			 struct vmm_range *out, u32 capacity);

int vmm_arena_map(struct vmm_arena *arena, u64 id,
		  const struct vmm_cred *cred, int need, pgoff_t pgoff,
		  pgoff_t pages, struct vmm_block **blkp, int *granted);
void vmm_arena_map_dup(struct vmm_arena *arena, struct vmm_block *blk);
void vmm_arena_unmap(struct vmm_arena *arena, struct vmm_block *blk);
int vmm_arena_pin_mapped(struct vmm_arena *arena, struct vmm_block *blk,
			 unsigned long *seq);

/* Whether a move has ended since @seq was read from &vmm_arena.move_seq. */
static inline bool vmm_arena_moved_since(struct vmm_arena *arena,
					 unsigned long seq)
{
	return READ_ONCE(arena->move_seq) != seq;
}

/*
 * Each mappable block has its own range of page offsets in
 * &vmm_arena.mapping, one arena's worth of pages long, at its slot times
 * that length, so no zap of one block's range reaches another block's
 * mappings.  A slot is reused only after its block's last mapping is gone.
 * The ranges stay below MAX_LFS_FILESIZE, which the i_mmap tree's offsets
 * in bytes assume: vmm_map_slots() bounds the slots.
 */
static inline pgoff_t vmm_map_window(const struct vmm_arena *arena)
{
	return DIV_ROUND_UP_ULL(arena->size, PAGE_SIZE);
}

static inline unsigned int vmm_map_slots(const struct vmm_arena *arena)
{
	u64 n = div64_u64(MAX_LFS_FILESIZE >> PAGE_SHIFT,
			  vmm_map_window(arena));

	return min_t(u64, n, INT_MAX);
}

static inline pgoff_t vmm_map_base(const struct vmm_arena *arena,
				   const struct vmm_block *blk)
{
	return (pgoff_t)blk->map_slot * vmm_map_window(arena);
}

extern const struct file_operations vmm_fops;
long vmm_ioctl(struct file *file, unsigned int cmd, unsigned long arg);

/**
 * struct vmm_file - per-open-file state
 * @vmm: the device
 * @selected: the block read(2)/write(2)/lseek(2) act on, 0 for none;
 *	written under &vmm_arena.lock
 * @selected_may: the %VMM_MAY_READ and %VMM_MAY_WRITE bits the task that
 *	selected @selected held on it then; read(2) and write(2) need them
 *	as well as the caller's own, so that a descriptor passed to a more
 *	privileged program (a setuid one, say) grants no more than its
 *	selector had; written with @selected
 * @scoped: the blocks allocated with %VMM_ALLOC_SCOPED through this file,
 *	freed when it is released; protected by &vmm_arena.lock
 */
struct vmm_file {
	struct vmm_device *vmm;
	u64 selected;
	int selected_may;
	struct list_head scoped;
};

/*
 * Unknown flags, padding and reserved fields must be zero so they can gain
 * a meaning.
 */
static inline bool vmm_args_clean(u32 flags, u32 known, u32 pad,
				  const void *reserved, size_t len)
{
	return !(flags & ~known) && !pad && !memchr_inv(reserved, 0, len);
}

/* vmm_cmd.c: what the ioctls, the batch, read(2) and mmap(2) share. */
void vmm_cred_current(struct vmm_cred *cred);
bool vmm_cred_escalate(struct vmm_cred *cred, int err);
void vmm_cred_limits(struct vmm_cred *cred);
struct vmm_block *vmm_pin_caller(struct vmm_arena *arena, u64 id, int may);
long vmm_copy_block(struct vmm_arena *arena, struct vmm_block **blkp,
		    u64 offset, void __user *ubuf, size_t len, bool to_block,
		    int *err);

/**
 * struct vmm_caller - who makes one ioctl call, and through which file
 * @vf: the open file
 * @arena: its arena
 * @cred: the caller's credentials, taken once per call, before any lock;
 *	vmm_cred_escalate() and the limits check update them, so that a
 *	batch asks for privilege at most once
 * @limits: whether @cred.privileged has been asked of the limits check
 */
struct vmm_caller {
	struct vmm_file *vf;
	struct vmm_arena *arena;
	struct vmm_cred cred;
	bool limits;
};

/*
 * The single commands that VMM_IOC_BATCH also runs, split into their
 * checks and their actions, so that both paths share them.
 */
void vmm_caller_init(struct vmm_caller *c, struct file *file);
int vmm_args_writable(void __user *argp, const void *args, size_t len);
int vmm_alloc_check(const struct vmm_alloc_args *args);
void vmm_alloc_req_fill(struct vmm_caller *c, const struct vmm_alloc_args *args,
			struct vmm_alloc_req *req);
int vmm_do_alloc(struct vmm_caller *c, struct vmm_alloc_args *args);
int vmm_free_check(const struct vmm_free_args *args);
int vmm_do_free(struct vmm_caller *c, const struct vmm_free_args *args);
int vmm_info_check(const struct vmm_info_args *args);
void vmm_info_fill(struct vmm_info_args *args,
		   const struct vmm_block_attrs *attrs);
int vmm_do_info(struct vmm_caller *c, struct vmm_info_args *args);
int vmm_rw_check_args(const struct vmm_rw_args *args, bool write);
int vmm_do_rw(struct vmm_caller *c, const struct vmm_rw_args *args,
	      bool write);
/* vmm_batch.c: VMM_IOC_BATCH. */
int vmm_batch_init(struct vmm_device *vmm);
void vmm_batch_exit(struct vmm_device *vmm);
int vmm_ioctl_batch(struct file *file, void __user *argp);

extern const struct attribute_group *vmm_groups[];
void vmm_sysfs_init(void);

int vmm_mapping_init(struct vmm_device *vmm);
void vmm_mapping_exit(struct vmm_device *vmm);
int vmm_mmap(struct file *file, struct vm_area_struct *vma);

void vmm_debugfs_init(struct vmm_arena *arena);
void vmm_debugfs_exit(void);

#endif /* _VMM_H */
