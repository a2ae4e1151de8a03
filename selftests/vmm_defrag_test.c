// SPDX-License-Identifier: GPL-2.0
/*
 * VMM_IOC_DEFRAG: order, data, exact bytes/blocks moved, the counters it
 * feeds, and its rejections.
 */
#include <pthread.h>
#include <signal.h>

#include "vmm_util.h"

#define ARENA		(64 * KiB)
#define ARENA_STR	"64K"
#define NBLK		8

FIXTURE(defrag) {
	int fd;
	__u64 size[NBLK + 1];		/* by ID; 0 once freed */
	unsigned char *data[NBLK + 1];	/* expected contents by ID */
};

FIXTURE_SETUP(defrag)
{
	VMM_SETUP_RELOAD(ARENA_STR, &self->fd);
}

FIXTURE_TEARDOWN(defrag)
{
	int i;

	for (i = 0; i <= NBLK; i++)
		free(self->data[i]);
	if (self->fd >= 0)
		close(self->fd);
}

/*
 * Blocks 1..NBLK of sizes 1000 + 111 * i, back to back from 0, each
 * filled with its own pattern.
 */
#define MAKE_BLOCKS() do { \
	__u64 __off = 0; \
	int __i; \
	for (__i = 1; __i <= NBLK; __i++) { \
		self->size[__i] = 1000 + 111 * __i; \
		self->data[__i] = malloc(self->size[__i]); \
		ASSERT_NE(NULL, self->data[__i]); \
		vmm_fill(self->data[__i], self->size[__i], __i); \
		ALLOC_AT(self->fd, self->size[__i], 0, __i, __off); \
		ASSERT_OK(vmm_write(self->fd, __i, 0, self->data[__i], \
				    self->size[__i])); \
		__off += self->size[__i]; \
	} \
} while (0)

#define FREE_BLOCK(id) do { \
	int __fid = (id); \
	ASSERT_OK(vmm_free(self->fd, __fid)); \
	self->size[__fid] = 0; \
} while (0)

/* Live blocks sit back to back from 0 in ID order, holding their data. */
#define ASSERT_COMPACT_AND_INTACT() do { \
	static unsigned char __b[ARENA]; \
	__u64 __off = 0; \
	int __i; \
	for (__i = 1; __i <= NBLK; __i++) { \
		if (!self->size[__i]) \
			continue; \
		ASSERT_BLOCK(self->fd, __i, __off, self->size[__i]); \
		ASSERT_OK(vmm_read(self->fd, __i, 0, __b, self->size[__i])); \
		ASSERT_EQ(0, memcmp(__b, self->data[__i], self->size[__i])) \
			TH_LOG("block %d data", __i); \
		__off += self->size[__i]; \
	} \
	EXPECT_EQ(__off, vmm_sysfs("used")); \
	EXPECT_EQ(ARENA - __off, vmm_sysfs("free")); \
	EXPECT_EQ(ARENA - __off, vmm_sysfs("largest_free")); \
	EXPECT_EQ(0ULL, vmm_sysfs("fragmentation")); \
} while (0)

TEST_F(defrag, defrag_preserves_order_and_data_when_odd_ids_freed)
{
	__u64 bytes = 1, blocks = 1, want = 0;
	int i;

	MAKE_BLOCKS();
	for (i = 1; i <= NBLK; i += 2)
		FREE_BLOCK(i);
	/* Every even block moves down. */
	for (i = 2; i <= NBLK; i += 2)
		want += self->size[i];
	ASSERT_OK(vmm_defrag(self->fd, &bytes, &blocks));
	EXPECT_EQ(want, bytes);
	EXPECT_EQ((__u64)NBLK / 2, blocks);
	ASSERT_COMPACT_AND_INTACT();
	EXPECT_EQ(1ULL, vmm_sysfs("defrags"));
	EXPECT_EQ(want, vmm_sysfs("bytes_moved"));
}

TEST_F(defrag, defrag_preserves_order_and_data_when_even_ids_freed)
{
	__u64 bytes = 1, blocks = 1, want = 0;
	int i;

	MAKE_BLOCKS();
	for (i = 2; i <= NBLK; i += 2)
		FREE_BLOCK(i);
	/* Block 1 stays at 0; 3, 5 and 7 move down. */
	for (i = 3; i <= NBLK; i += 2)
		want += self->size[i];
	ASSERT_OK(vmm_defrag(self->fd, &bytes, &blocks));
	EXPECT_EQ(want, bytes);
	EXPECT_EQ((__u64)(NBLK / 2 - 1), blocks);
	ASSERT_COMPACT_AND_INTACT();
	EXPECT_EQ(want, vmm_sysfs("bytes_moved"));
}

TEST_F(defrag, defrag_moves_only_blocks_after_first_hole)
{
	__u64 bytes = 0, blocks = 0, want = 0;
	int i;

	MAKE_BLOCKS();
	FREE_BLOCK(5);
	for (i = 6; i <= NBLK; i++)
		want += self->size[i];
	ASSERT_OK(vmm_defrag(self->fd, &bytes, &blocks));
	EXPECT_EQ(want, bytes);
	EXPECT_EQ(3ULL, blocks);
	ASSERT_COMPACT_AND_INTACT();
}

TEST_F(defrag, defrag_moves_block_onto_overlapping_range)
{
	__u64 bytes = 0, blocks = 0;

	/* Block 2 (8000 bytes) slides down by 100: source and target overlap. */
	self->size[1] = 100;
	self->size[2] = 8000;
	self->data[2] = malloc(8000);
	ASSERT_NE(NULL, self->data[2]);
	vmm_fill(self->data[2], 8000, 42);
	ALLOC_AT(self->fd, 100, 0, 1, 0);
	ALLOC_AT(self->fd, 8000, 0, 2, 100);
	ASSERT_OK(vmm_write(self->fd, 2, 0, self->data[2], 8000));
	FREE_BLOCK(1);
	ASSERT_OK(vmm_defrag(self->fd, &bytes, &blocks));
	EXPECT_EQ(8000ULL, bytes);
	EXPECT_EQ(1ULL, blocks);
	ASSERT_COMPACT_AND_INTACT();
}

TEST_F(defrag, defrag_on_compact_arena_moves_nothing)
{
	__u64 bytes = 1, blocks = 1;

	MAKE_BLOCKS();
	ASSERT_OK(vmm_defrag(self->fd, &bytes, &blocks));
	EXPECT_EQ(0ULL, bytes);
	EXPECT_EQ(0ULL, blocks);
	ASSERT_COMPACT_AND_INTACT();
	EXPECT_EQ(1ULL, vmm_sysfs("defrags"));
	EXPECT_EQ(0ULL, vmm_sysfs("bytes_moved"));
}

TEST_F(defrag, defrag_on_empty_arena_moves_nothing)
{
	__u64 bytes = 1, blocks = 1;

	ASSERT_OK(vmm_defrag(self->fd, &bytes, &blocks));
	EXPECT_EQ(0ULL, bytes);
	EXPECT_EQ(0ULL, blocks);
	EXPECT_EQ(1ULL, vmm_sysfs("defrags"));
	EXPECT_EQ(ARENA, vmm_sysfs("largest_free"));
}

TEST_F(defrag, defrag_with_only_trailing_free_space_moves_nothing)
{
	__u64 bytes = 1, blocks = 1;

	MAKE_BLOCKS();
	FREE_BLOCK(NBLK);
	ASSERT_OK(vmm_defrag(self->fd, &bytes, &blocks));
	EXPECT_EQ(0ULL, bytes);
	EXPECT_EQ(0ULL, blocks);
	ASSERT_COMPACT_AND_INTACT();
}

TEST_F(defrag, defrag_twice_moves_nothing_the_second_time)
{
	__u64 bytes = 0, blocks = 0, want = 0;
	int i;

	MAKE_BLOCKS();
	FREE_BLOCK(1);
	for (i = 2; i <= NBLK; i++)
		want += self->size[i];
	ASSERT_OK(vmm_defrag(self->fd, &bytes, &blocks));
	EXPECT_EQ(want, bytes);
	EXPECT_EQ((__u64)(NBLK - 1), blocks);
	ASSERT_OK(vmm_defrag(self->fd, &bytes, &blocks));
	EXPECT_EQ(0ULL, bytes);
	EXPECT_EQ(0ULL, blocks);
	EXPECT_EQ(2ULL, vmm_sysfs("defrags"));
	EXPECT_EQ(want, vmm_sysfs("bytes_moved"));
	ASSERT_COMPACT_AND_INTACT();
}

TEST_F(defrag, defrag_accumulates_bytes_moved)
{
	__u64 bytes = 0, total = 0;

	MAKE_BLOCKS();
	FREE_BLOCK(7);
	ASSERT_OK(vmm_defrag(self->fd, &bytes, NULL));
	EXPECT_EQ(self->size[8], bytes);
	total += bytes;
	FREE_BLOCK(2);
	ASSERT_OK(vmm_defrag(self->fd, &bytes, NULL));
	EXPECT_EQ(self->size[3] + self->size[4] + self->size[5] +
		  self->size[6] + self->size[8], bytes);
	total += bytes;
	EXPECT_EQ(total, vmm_sysfs("bytes_moved"));
	EXPECT_EQ(2ULL, vmm_sysfs("defrags"));
	ASSERT_COMPACT_AND_INTACT();
}

TEST_F(defrag, defrag_ignores_original_alignment)
{
	__u64 bytes = 0, blocks = 0;

	/* A 4096-aligned block after a 1-byte one slides down to offset 1. */
	self->size[1] = 1;
	self->size[2] = 10;
	self->data[1] = calloc(1, 1);
	self->data[2] = malloc(10);
	ASSERT_NE(NULL, self->data[1]);
	ASSERT_NE(NULL, self->data[2]);
	vmm_fill(self->data[2], 10, 2);
	ALLOC_AT(self->fd, 1, 0, 1, 0);
	ALLOC_AT(self->fd, 10, 4096, 2, 4096);
	ASSERT_OK(vmm_write(self->fd, 2, 0, self->data[2], 10));
	ASSERT_OK(vmm_defrag(self->fd, &bytes, &blocks));
	EXPECT_EQ(10ULL, bytes);
	EXPECT_EQ(1ULL, blocks);
	ASSERT_COMPACT_AND_INTACT();
}

TEST_F(defrag, defrag_keeps_ids_for_new_allocations)
{
	__u64 used;

	MAKE_BLOCKS();
	FREE_BLOCK(1);
	ASSERT_OK(vmm_defrag(self->fd, NULL, NULL));
	/* The next ID is still NBLK + 1; the block goes right after the rest. */
	used = vmm_sysfs("used");
	ALLOC_AT(self->fd, 1, 0, NBLK + 1, used);
	ASSERT_BLOCK(self->fd, 2, 0, self->size[2]);
}

TEST_F(defrag, alloc_after_defrag_reads_zeros_where_data_was)
{
	static unsigned char buf[ARENA];
	__u64 used;

	MAKE_BLOCKS();
	FREE_BLOCK(1);
	ASSERT_OK(vmm_defrag(self->fd, NULL, NULL));
	/* The tail that blocks 2..8 vacated held their old copies. */
	used = vmm_sysfs("used");
	ALLOC_AT(self->fd, ARENA - used, 0, NBLK + 1, used);
	memset(buf, 0xee, sizeof(buf));
	ASSERT_OK(vmm_read(self->fd, NBLK + 1, 0, buf, ARENA - used));
	EXPECT_TRUE(vmm_all(buf, ARENA - used, 0));
}

TEST_F(defrag, defrag_fills_arena_to_allow_big_alloc)
{
	MAKE_BLOCKS();
	FREE_BLOCK(2);
	FREE_BLOCK(4);
	FREE_BLOCK(6);
	/* Fill the tail so that only the holes remain free. */
	ALLOC_AT(self->fd, ARENA - 1000 * NBLK - 111 * NBLK * (NBLK + 1) / 2,
		 0, NBLK + 1, 1000 * NBLK + 111 * NBLK * (NBLK + 1) / 2);
	EXPECT_ERR(ENOSPC, vmm_alloc(self->fd, self->size[1] * 3, 0, NULL,
				     NULL));
	ASSERT_OK(vmm_defrag(self->fd, NULL, NULL));
	EXPECT_OK(vmm_alloc(self->fd, vmm_sysfs("free"), 0, NULL, NULL));
	EXPECT_EQ(0ULL, vmm_sysfs("free"));
}

TEST_F(defrag, defrag_rejects_nonzero_flags_pad_reserved)
{
	struct vmm_defrag_args a;
	unsigned int i;

	MAKE_BLOCKS();
	FREE_BLOCK(1);
	/* Bit 0 is VMM_DEFRAG_NOWAIT; every other bit is unknown. */
	a = (struct vmm_defrag_args){ .flags = 2 };
	EXPECT_ERR(EINVAL, ioctl(self->fd, VMM_IOC_DEFRAG, &a));
	a = (struct vmm_defrag_args){ .flags = UINT32_MAX };
	EXPECT_ERR(EINVAL, ioctl(self->fd, VMM_IOC_DEFRAG, &a));
	a = (struct vmm_defrag_args){ .flags = 0x80000000u };
	EXPECT_ERR(EINVAL, ioctl(self->fd, VMM_IOC_DEFRAG, &a));
	a = (struct vmm_defrag_args){ .pad = 1 };
	EXPECT_ERR(EINVAL, ioctl(self->fd, VMM_IOC_DEFRAG, &a));
	for (i = 0; i < ARRAY_SIZE(a.reserved); i++) {
		a = (struct vmm_defrag_args){ 0 };
		a.reserved[i] = 1;
		EXPECT_ERR(EINVAL, ioctl(self->fd, VMM_IOC_DEFRAG, &a));
	}
	EXPECT_EQ(0ULL, vmm_sysfs("defrags"));
	EXPECT_EQ(0ULL, vmm_sysfs("bytes_moved"));
	/* Nothing moved: block 2 is still right after block 1's hole. */
	ASSERT_BLOCK(self->fd, 2, 1111, 1222);
}

TEST_F(defrag, defrag_ignores_output_fields_on_input)
{
	struct vmm_defrag_args a = { .bytes_moved = 5, .blocks_moved = 5 };

	MAKE_BLOCKS();
	ASSERT_OK(ioctl(self->fd, VMM_IOC_DEFRAG, &a));
	EXPECT_EQ(0ULL, a.bytes_moved);
	EXPECT_EQ(0ULL, a.blocks_moved);
	EXPECT_EQ(0U, a.flags);
	EXPECT_EQ(0U, a.pad);
	EXPECT_EQ(0ULL, a.reserved[0]);
}

TEST_F(defrag, defrag_rejects_bad_argument_pointer)
{
	MAKE_BLOCKS();
	FREE_BLOCK(1);
	EXPECT_ERR(EFAULT, ioctl(self->fd, VMM_IOC_DEFRAG, NULL));
	EXPECT_ERR(EFAULT, ioctl(self->fd, VMM_IOC_DEFRAG,
				 vmm_unmapped_addr()));
	/* A bad pointer is found before anything moves. */
	EXPECT_EQ(0ULL, vmm_sysfs("defrags"));
	ASSERT_BLOCK(self->fd, 2, 1111, 1222);
}

/* One VMM_IOC_DEFRAG with @budget and @flags; fills *@a. */
static int defrag_step(int fd, __u64 budget, __u32 flags,
		       struct vmm_defrag_args *a)
{
	memset(a, 0, sizeof(*a));
	a->budget = budget;
	a->flags = flags;
	return ioctl(fd, VMM_IOC_DEFRAG, a);
}

TEST_F(defrag, defrag_budget_stops_before_the_block_that_exceeds_it)
{
	struct vmm_defrag_args a;

	MAKE_BLOCKS();
	FREE_BLOCK(1);
	/* Blocks 2 and 3 are 1222 and 1333 bytes: 2500 covers only 2. */
	ASSERT_OK(defrag_step(self->fd, 2500, 0, &a));
	EXPECT_EQ(1222ULL, a.bytes_moved);
	EXPECT_EQ(1ULL, a.blocks_moved);
	EXPECT_EQ(0ULL, a.compact);
	ASSERT_BLOCK(self->fd, 2, 0, 1222);
	ASSERT_BLOCK(self->fd, 3, 1111 + 1222, 1333);
	/* Not compact yet: no completed defragmentation. */
	EXPECT_EQ(0ULL, vmm_sysfs("defrags"));
	EXPECT_EQ(1222ULL, vmm_sysfs("bytes_moved"));
	/* Exactly the next two blocks. */
	ASSERT_OK(defrag_step(self->fd, 1333 + 1444, 0, &a));
	EXPECT_EQ(1333ULL + 1444, a.bytes_moved);
	EXPECT_EQ(2ULL, a.blocks_moved);
	EXPECT_EQ(0ULL, a.compact);
}

TEST_F(defrag, defrag_budget_smaller_than_a_block_still_moves_one)
{
	struct vmm_defrag_args a;
	int steps = 0;

	MAKE_BLOCKS();
	FREE_BLOCK(1);
	FREE_BLOCK(5);
	/* One block per call, then a call that finds everything in place. */
	do {
		ASSERT_OK(defrag_step(self->fd, 1, 0, &a));
		ASSERT_GE(1ULL, a.blocks_moved);
		steps++;
		ASSERT_GT(20, steps);
	} while (!a.compact);
	/* Blocks 2-4 and 6-8 moved, one per call. */
	EXPECT_EQ(6, steps);
	EXPECT_EQ(1ULL, vmm_sysfs("defrags"));
	ASSERT_COMPACT_AND_INTACT();
}

TEST_F(defrag, defrag_reports_compact_without_budget)
{
	struct vmm_defrag_args a;

	MAKE_BLOCKS();
	FREE_BLOCK(4);
	ASSERT_OK(defrag_step(self->fd, 0, 0, &a));
	EXPECT_EQ(1ULL, a.compact);
	EXPECT_EQ(4ULL, a.blocks_moved);
	/* Already compact: nothing to do, and it says so. */
	ASSERT_OK(defrag_step(self->fd, 1, 0, &a));
	EXPECT_EQ(1ULL, a.compact);
	EXPECT_EQ(0ULL, a.bytes_moved);
	ASSERT_COMPACT_AND_INTACT();
}

struct long_defrag {
	int fd;
	int ret;
	int err;
};

static void *run_long_defrag(void *p)
{
	struct long_defrag *ld = p;
	struct vmm_defrag_args a = { 0 };

	ld->ret = ioctl(ld->fd, VMM_IOC_DEFRAG, &a);
	ld->err = errno;
	return NULL;
}

TEST_F_TIMEOUT(defrag, defrag_nowait_fails_ebusy_while_another_runs, 300)
{
	const char *why = vmm_skip_reason();
	struct vmm_defrag_args a;
	int fd, attempt, busy = 0, i;
	__u64 ids[16];

	if (why)
		VMM_SKIP(return, "%s", why);
	/* The fixture's file would keep the module loaded. */
	close(self->fd);
	self->fd = -1;
	vmm_unload_for_reload();
	ASSERT_EQ(0, vmm_load("64M"));
	fd = open(VMM_DEV, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, fd);
	for (i = 0; i < 16; i++)
		ASSERT_OK(vmm_alloc(fd, 4 * MiB, 0, &ids[i], NULL));
	/*
	 * Each attempt frees the lowest block: the defragmentation that
	 * follows copies every block above it, up to 60 MiB, long enough
	 * (under emulation, a good fraction of a second) for a second
	 * caller to find it running.
	 */
	for (attempt = 0; attempt < 12 && !busy; attempt++) {
		struct long_defrag ld = { .fd = fd };
		pthread_t t;

		ASSERT_OK(vmm_free(fd, ids[attempt]));
		ASSERT_EQ(0, pthread_create(&t, NULL, run_long_defrag, &ld));
		/* Let it take the defrag lock; a NOWAIT call first would do
		 * the whole job itself and leave it nothing to do. */
		usleep(2000 << attempt % 4);
		for (i = 0; i < 100000 && !busy; i++) {
			int ret = defrag_step(fd, 0, VMM_DEFRAG_NOWAIT, &a);

			if (ret == 0) {
				/* Ran before or after it: moved nothing or all. */
				if (a.compact)
					break;
				continue;
			}
			ASSERT_EQ(-1, ret);
			ASSERT_EQ(EBUSY, errno);
			busy = 1;
		}
		ASSERT_EQ(0, pthread_join(t, NULL));
		ASSERT_EQ(0, ld.ret) TH_LOG("%s", strerror(ld.err));
	}
	EXPECT_EQ(1, busy) TH_LOG("never overlapped a running defrag");
	/* Alone, NOWAIT simply runs. */
	ASSERT_OK(defrag_step(fd, 0, VMM_DEFRAG_NOWAIT, &a));
	EXPECT_EQ(1ULL, a.compact);
	close(fd);
}

TEST_F(defrag, alloc_compact_defragments_and_retries)
{
	struct vmm_alloc_args a = { 0 };
	__u64 used, free_b;

	MAKE_BLOCKS();
	FREE_BLOCK(2);
	FREE_BLOCK(4);
	FREE_BLOCK(6);
	used = vmm_sysfs("used");
	free_b = ARENA - used;
	/* More than the largest hole (the tail), less than all free bytes. */
	a.size = vmm_sysfs("largest_free") + 1;
	ASSERT_LT(a.size, free_b);
	EXPECT_ERR(ENOSPC, ioctl(self->fd, VMM_IOC_ALLOC, &a));
	EXPECT_EQ(1ULL, vmm_sysfs("alloc_failures"));
	EXPECT_EQ(0ULL, vmm_sysfs("defrags"));
	a.flags = VMM_ALLOC_COMPACT;
	ASSERT_OK(ioctl(self->fd, VMM_IOC_ALLOC, &a));
	EXPECT_EQ(NBLK + 1ULL, a.id);
	/* Placed right after the packed blocks. */
	EXPECT_EQ(used, a.offset);
	EXPECT_EQ(1ULL, vmm_sysfs("defrags"));
	EXPECT_EQ(1ULL, vmm_sysfs("alloc_failures"));
	a.id = 0;
	ASSERT_OK(vmm_free(self->fd, NBLK + 1));
	ASSERT_COMPACT_AND_INTACT();
}

TEST_F(defrag, alloc_compact_fails_enospc_when_too_few_bytes_free)
{
	struct vmm_alloc_args a = { .flags = VMM_ALLOC_COMPACT };

	MAKE_BLOCKS();
	FREE_BLOCK(3);
	a.size = ARENA - vmm_sysfs("used") + 1;
	EXPECT_ERR(ENOSPC, ioctl(self->fd, VMM_IOC_ALLOC, &a));
	/* Hopeless from the counts: nothing was moved. */
	EXPECT_EQ(0ULL, vmm_sysfs("defrags"));
	EXPECT_EQ(0ULL, vmm_sysfs("bytes_moved"));
	EXPECT_EQ(1ULL, vmm_sysfs("alloc_failures"));
	ASSERT_BLOCK(self->fd, 4, 1111 + 1222 + 1333, 1444);
}

TEST_F(defrag, auto_compact_makes_every_alloc_compact)
{
	const char *why = vmm_skip_reason();
	const char *param = VMM_MOD_DIR "/parameters/auto_compact";
	__u64 id;
	int fd;

	if (why)
		VMM_SKIP(return, "%s", why);
	close(self->fd);
	self->fd = -1;
	vmm_unload_for_reload();
	ASSERT_EQ(0, vmm_load_args("size=10 auto_compact=1"));
	fd = open(VMM_DEV, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, fd);
	ALLOC_AT(fd, 3, 0, 1, 0);
	ALLOC_AT(fd, 3, 0, 2, 3);
	ALLOC_AT(fd, 3, 0, 3, 6);
	ASSERT_OK(vmm_free(fd, 2));
	/* 4 bytes free in two pieces: compacted without being asked. */
	ALLOC_AT(fd, 4, 0, 4, 6);
	EXPECT_EQ(1ULL, vmm_sysfs("defrags"));
	EXPECT_EQ(0ULL, vmm_sysfs("alloc_failures"));
	/* Off at run time: the simulator's MemoryError again. */
	ASSERT_EQ(0, vmm_sh("echo 0 > %s", param));
	ASSERT_OK(vmm_free(fd, 1));
	ASSERT_OK(vmm_free(fd, 4));
	EXPECT_ERR(ENOSPC, vmm_alloc(fd, 7, 0, &id, NULL));
	EXPECT_EQ(1ULL, vmm_sysfs("alloc_failures"));
	close(fd);
}

/*
 * A signal to a call waiting for another task's defragmentation.  A
 * thread ("the holder") defragments a 64 MiB arena whose lowest 4 MiB
 * block was just freed, holding the defragmentation mutex while it
 * copies up to 56 MiB; once a VMM_DEFRAG_NOWAIT probe fails with EBUSY,
 * a second thread ("the waiter") makes the call under test, and the
 * signal goes only once the kernel shows the waiter asleep
 * (interruptibly) in that call, which only the wait for the mutex does
 * (or, in the WAIT_MOVE layout below, the wait for a block's move).
 * The holder may still let go between that look and the signal, and
 * the waiter then runs its call to the end: an attempt where the waiter
 * finished before the signal could be shown to reach its wait is not
 * counted, and the next attempt makes a new hole.
 */
#define WAIT_ARENA_STR	"64M"
#define WAIT_BLOCKS	15		/* of 4 MiB, so 4 MiB free at the top */
#define WAIT_ATTEMPTS	12
/* A failure of the setup, reported where it happened. */
#define WAIT_FAIL(fmt, ...) do { \
	EXPECT_TRUE(false) TH_LOG(fmt, ##__VA_ARGS__); \
} while (0)

static volatile sig_atomic_t wait_signals;

static void count_signal(int sig)
{
	(void)sig;
	wait_signals++;
}

enum wait_for {
	WAIT_MUTEX,	/* 15 blocks of 4 MiB, the lowest freed each time */
	WAIT_MOVE,	/* one 56 MiB block over a 4 MiB hole: one copy */
	WAIT_MOVE_MAPPED,	/* the same block mappable, and mapped */
};

/*
 * One case: the call a thread makes, and what counts as a miss.  @cmd and
 * @arg make an ioctl; with @io set, that call is made instead, of @len
 * bytes, and is seen waiting as system call @nr with @key for its second
 * argument.
 */
struct waiter {
	int fd;
	unsigned long cmd;
	void *arg;
	ssize_t (*io)(struct waiter *w);
	size_t len;
	long nr;		/* -1: a fault, not a system call */
	unsigned long key;
	char state;		/* the waiting thread's, if not 'S' */
	bool went_on;		/* WAIT_MOVE_MAPPED: still waiting after it */
	bool restart;		/* SA_RESTART */
	/* In a child process, killed with SIGKILL, not a thread. */
	bool process;
	/*
	 * Sets the call up, once the holder runs (NULL: nothing to do);
	 * may set @fd, the descriptor the call is seen waiting on.
	 */
	void (*before)(struct waiter *w, int fd, int attempt);
	/* Whether the call ended before the signal (NULL: see saw_restart()). */
	bool (*missed)(const struct waiter *w);
	enum wait_for wait;
	volatile pid_t tid;
	ssize_t ret;
	int err;
	volatile int done;
	__u64 blocks;		/* live blocks when the call began */
	int status;		/* @process: as waitpid(2) reported it */
	__u64 moved;		/* @process: bytes_moved before the holder */
};

/* Free every block from ID @start on: 0, or -1 and errno. */
static int free_ids_from(int fd, __u64 start)
{
	struct vmm_block_info e[8];
	__u32 n, i;

	do {
		if (vmm_list(fd, start, e, 8, &n, &start))
			return -1;
		for (i = 0; i < n; i++)
			if (vmm_free(fd, e[i].id))
				return -1;
	} while (start);
	return 0;
}

static void *run_waiter(void *p)
{
	struct waiter *w = p;

	w->tid = syscall(SYS_gettid);
	w->ret = w->io ? w->io(w) : ioctl(w->fd, w->cmd, w->arg);
	w->err = errno;
	w->done = 1;
	return NULL;
}

/*
 * Start @w's call in a thread, or with @w->process in a child process
 * (which only reads memory and exits, as a fork of a threaded process
 * may).  0, or -1.
 */
static int start_waiter(struct waiter *w, pthread_t *tw)
{
	pid_t pid;

	if (!w->process)
		return pthread_create(tw, NULL, run_waiter, w) ? -1 : 0;
	pid = fork();
	if (pid == 0) {
		w->io(w);
		_exit(0);
	}
	w->tid = pid;
	return pid < 0 ? -1 : 0;
}

/* Whether @w's call has ended; a child process is reaped. */
static bool waiter_done(struct waiter *w)
{
	if (w->process && !w->done &&
	    waitpid(w->tid, &w->status, WNOHANG) == w->tid)
		w->done = 1;
	return w->done;
}

/*
 * SIGKILL @w's child, reap it, and note whether the move it waited for
 * was still under way once it was gone (the bytes are counted when the
 * copy ends, under the lock that ends the move).
 */
static void kill_waiter(struct waiter *w)
{
	kill(w->tid, SIGKILL);
	waitpid(w->tid, &w->status, 0);
	w->done = 1;
	w->went_on = vmm_sysfs("bytes_moved") == w->moved;
}

/* Whether @w's thread sleeps interruptibly inside its call. */
static bool asleep_in_call(const struct waiter *w)
{
	long want_nr = w->io ? w->nr : __NR_ioctl;
	char path[64], buf[256], *p;
	unsigned long long nr, fd, arg;
	bool sleeping = false;
	FILE *f;

	/* /proc/TID: a thread of this process, or another process. */
	snprintf(path, sizeof(path), "/proc/%d/stat", w->tid);
	f = fopen(path, "r");
	if (!f)
		return false;
	/* The state follows the command name's closing parenthesis. */
	if (fgets(buf, sizeof(buf), f)) {
		p = strrchr(buf, ')');
		sleeping = p && p[1] == ' ' &&
			   p[2] == (w->state ? w->state : 'S');
	}
	fclose(f);
	if (!sleeping)
		return false;
	snprintf(path, sizeof(path), "/proc/%d/syscall", w->tid);
	f = fopen(path, "r");
	if (!f)
		return false;
	/*
	 * The kernel takes an fd and an ioctl command as 32 bits (a 32-bit
	 * task's registers may hold more); a pointer whole.  Outside a
	 * system call (in a fault) the line is "-1 SP PC".
	 */
	sleeping = fscanf(f, "%llu %llx %llx", &nr, &fd, &arg) == 3 &&
		   nr == (unsigned long long)want_nr &&
		   (want_nr < 0 ||
		    ((__u32)fd == (__u32)w->fd &&
		     (w->io ? (unsigned long)arg == w->key :
			      (__u32)arg == (__u32)w->cmd)));
	fclose(f);
	return sleeping;
}

/*
 * Whether @w's call did all it was asked: an ioctl returns 0, read(2)
 * and pwrite(2) all @len bytes (a short count is no miss: it is wrong).
 */
static bool call_ok(const struct waiter *w)
{
	return w->io ? w->ret == (ssize_t)w->len : w->ret == 0;
}

/*
 * Under SA_RESTART: whether the call went back to sleep in its wait after
 * the handler ran (the restarted call waiting again), or ended otherwise
 * than in full (not restarted).  False if it succeeded without being
 * seen again: then it may have found the mutex free, or the move over,
 * before the signal.
 */
static bool saw_restart(struct waiter *w)
{
	while (!w->done) {
		if (wait_signals && asleep_in_call(w))
			return true;
		usleep(200);
	}
	return !call_ok(w);
}

/* The block WAIT_MOVE's holder moves in the attempt under way. */
static __u64 moving_id;
/* WAIT_MOVE_MAPPED: a read-only mapping of all of it. */
static const volatile char *moving_map;

/*
 * From an arena of 64 MiB: a 56 MiB block (moving_id), allocated with
 * @flags, holding "head" and "tail" at its ends, over a free 4 MiB at 0.
 * 0, or -1 and errno.
 */
static int make_big_move(int fd, __u32 flags)
{
	struct vmm_alloc_args a = { .size = 56 * MiB, .flags = flags };
	__u64 low;

	if (free_ids_from(fd, 1) || vmm_alloc(fd, 4 * MiB, 0, &low, NULL) ||
	    ioctl(fd, VMM_IOC_ALLOC, &a))
		return -1;
	moving_id = a.id;
	if (vmm_write(fd, moving_id, 0, "head", 4) ||
	    vmm_write(fd, moving_id, 56 * MiB - 4, "tail", 4))
		return -1;
	return vmm_free(fd, low);
}

static void unmap_moving(void)
{
	if (moving_map)
		munmap((void *)moving_map, 56 * MiB);
	moving_map = NULL;
}

/*
 * make_big_move() with the 56 MiB block mappable, and moving_map a
 * mapping of it of which only the last page is in (so the move must take
 * its entry away), the first not.  0, or -1 and errno.
 */
static int make_big_mapped_move(int fd)
{
	void *p;
	int mfd;

	/* A freed block keeps its range while mapped: unmap it first. */
	unmap_moving();
	if (make_big_move(fd, VMM_ALLOC_MAPPABLE))
		return -1;
	mfd = open(VMM_DEV, O_RDWR | O_CLOEXEC);
	if (mfd < 0)
		return -1;
	p = vmm_select(mfd, moving_id) ? MAP_FAILED :
		mmap(NULL, 56 * MiB, PROT_READ, MAP_SHARED, mfd, 0);
	close(mfd);	/* the mapping keeps the file */
	if (p == MAP_FAILED)
		return -1;
	moving_map = p;
	if (moving_map[56 * MiB - 1] != 'l') {
		errno = EIO;	/* the mapping does not show the block */
		return -1;
	}
	return 0;
}

/*
 * FREE of the block a DEFRAG is copying: its ID goes at once, its range
 * (STATS used) only once the copy is over, and the DEFRAG then leaves the
 * whole arena free.  The FREE goes as soon as a VMM_DEFRAG_NOWAIT probe
 * finds the holder running; an attempt where it came before the copy or
 * after it (used dropped at once) is not counted.
 */
TEST_F_TIMEOUT(defrag, free_of_a_moving_block_releases_its_range_after_the_move,
	       300)
{
	const char *why = vmm_skip_reason();
	struct vmm_stats_args st;
	struct vmm_defrag_args a;
	int attempt, hit = 0, at_once = 0, i;
	__u64 off, size;

	if (why)
		VMM_SKIP(return, "%s", why);
	close(self->fd);
	self->fd = -1;
	vmm_unload_for_reload();
	ASSERT_EQ(0, vmm_load(WAIT_ARENA_STR));
	self->fd = open(VMM_DEV, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->fd);
	for (attempt = 0; attempt < WAIT_ATTEMPTS && !hit; attempt++) {
		struct long_defrag ld = { .fd = self->fd };
		bool busy = false;
		pthread_t t;

		ASSERT_OK(make_big_move(self->fd, 0));
		ASSERT_EQ(0, pthread_create(&t, NULL, run_long_defrag, &ld));
		usleep(2000 << attempt % 4);
		for (i = 0; i < 100000 && !busy; i++) {
			int ret = defrag_step(self->fd, 0, VMM_DEFRAG_NOWAIT,
					      &a);

			if (ret == 0) {
				if (a.compact)
					break;	/* it moved the block itself */
				continue;
			}
			ASSERT_EQ(-1, ret);
			ASSERT_EQ(EBUSY, errno);
			busy = true;
		}
		if (busy) {
			ASSERT_OK(vmm_free(self->fd, moving_id));
			ASSERT_OK(vmm_stats(self->fd, &st));
			hit = st.used == 56 * MiB;
			at_once += !hit;
			if (hit) {
				EXPECT_EQ(0ULL, st.blocks);
				EXPECT_EQ(-1, vmm_info(self->fd, moving_id,
						       &off, &size));
				EXPECT_EQ(ENOENT, errno);
			}
		}
		ASSERT_EQ(0, pthread_join(t, NULL));
		ASSERT_EQ(0, ld.ret) TH_LOG("%s", strerror(ld.err));
	}
	/*
	 * Many frees released at once while the probe saw DEFRAG running
	 * would point at a release during the copy, not at timing.
	 */
	ASSERT_TRUE(hit)
		TH_LOG("no FREE came while the block was copied; %d of %d released its range at once while DEFRAG ran",
		       at_once, WAIT_ATTEMPTS);
	TH_LOG("freed the moving block in attempt %d", attempt);
	ASSERT_OK(vmm_stats(self->fd, &st));
	EXPECT_EQ(0ULL, st.used);
	EXPECT_EQ(0ULL, st.blocks);
	EXPECT_EQ(64 * MiB, st.largest_free);
	EXPECT_EQ(-1, vmm_info(self->fd, moving_id, &off, &size));
	EXPECT_EQ(ENOENT, errno);
}

/*
 * Run @w's call while another defragmentation holds the mutex, and send
 * its thread SIGUSR1 (with @w->restart, under SA_RESTART) while it waits.
 * Returns true once the signal reached a waiting call, leaving the outcome
 * in @w (after the holder finished); false if no attempt did.  *@fd is
 * reloaded with a 64 MiB arena, laid out as @w->wait says.
 */
static bool signal_waiting_call(struct __test_metadata *_metadata, int *fd,
				struct waiter *w)
{
	enum wait_for wait = w->wait;
	struct sigaction sa = { .sa_handler = count_signal };
	__u64 ids[WAIT_BLOCKS];
	int attempt, i;

	if (*fd >= 0)
		close(*fd);
	*fd = -1;
	vmm_unload_for_reload();
	if (vmm_load(WAIT_ARENA_STR)) {
		WAIT_FAIL("loading vmm size=%s: %s", WAIT_ARENA_STR,
			  strerror(errno));
		return false;
	}
	*fd = open(VMM_DEV, O_RDWR | O_CLOEXEC);
	if (*fd < 0) {
		WAIT_FAIL("open: %s", strerror(errno));
		return false;
	}
	for (i = 0; wait == WAIT_MUTEX && i < WAIT_BLOCKS; i++)
		if (vmm_alloc(*fd, 4 * MiB, 0, &ids[i], NULL)) {
			WAIT_FAIL("alloc: %s", strerror(errno));
			return false;
		}
	sa.sa_flags = w->restart ? SA_RESTART : 0;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGUSR1, &sa, NULL)) {
		WAIT_FAIL("sigaction: %s", strerror(errno));
		return false;
	}
	for (attempt = 0; attempt < WAIT_ATTEMPTS; attempt++) {
		struct long_defrag holder = { .fd = *fd };
		struct vmm_defrag_args a;
		pthread_t th, tw;
		bool busy = false, hit = false;

		if (wait == WAIT_MOVE	     ? make_big_move(*fd, 0) :
		    wait == WAIT_MOVE_MAPPED ? make_big_mapped_move(*fd) :
					       vmm_free(*fd, ids[attempt])) {
			WAIT_FAIL("layout: %s", strerror(errno));
			return false;
		}
		w->moved = vmm_sysfs("bytes_moved");
		if (pthread_create(&th, NULL, run_long_defrag, &holder)) {
			WAIT_FAIL("pthread_create");
			return false;
		}
		/* Let it take the mutex, or the probe does its job. */
		usleep(2000 << attempt % 4);
		while (!busy) {
			if (defrag_step(*fd, 0, VMM_DEFRAG_NOWAIT, &a) == 0) {
				if (a.compact)
					break;	/* too late: it is done */
				continue;
			}
			if (errno != EBUSY) {
				WAIT_FAIL("probe: %s", strerror(errno));
				break;
			}
			busy = true;
		}
		if (busy) {
			/* @before may call on another descriptor. */
			w->fd = *fd;
			if (w->before)
				w->before(w, *fd, attempt);
			wait_signals = 0;
			w->tid = 0;
			w->done = 0;
			w->blocks = vmm_sysfs("blocks");
			if (start_waiter(w, &tw)) {
				WAIT_FAIL("starting the waiter: %s",
					  strerror(errno));
				busy = false;
			}
		}
		if (busy) {
			/* Until it waits, or finds the mutex free. */
			while (!waiter_done(w) &&
			       !(w->tid && asleep_in_call(w)))
				usleep(200);
			if (!w->done && w->process) {
				kill_waiter(w);
				hit = true;
			} else if (!w->done) {
				pthread_kill(tw, SIGUSR1);
				/*
				 * SIGUSR1 does not wake a killable wait:
				 * still in it, the call had the signal
				 * pending while it waited.
				 */
				if (wait == WAIT_MOVE_MAPPED)
					w->went_on = asleep_in_call(w);
				hit = w->missed || saw_restart(w);
			}
			if (!w->process)
				pthread_join(tw, NULL);
			if (hit && w->missed && w->missed(w))
				hit = false;
		}
		pthread_join(th, NULL);
		if (holder.ret)
			WAIT_FAIL("holder: %s", strerror(holder.err));
		if (hit) {
			if (!w->process)
				EXPECT_EQ(1, wait_signals);
			TH_LOG("%s a waiting call in attempt %d",
			       w->process ? "killed" : "signalled",
			       attempt + 1);
			return true;
		}
		/* What the waiter allocated without waiting goes again. */
		if (busy && wait == WAIT_MUTEX &&
		    free_ids_from(*fd, ids[WAIT_BLOCKS - 1] + 1)) {
			WAIT_FAIL("freeing the waiter's block: %s",
				  strerror(errno));
			return false;
		}
	}
	return false;
}

/* The call succeeded: it found the mutex free or the move over first. */
static bool call_succeeded(const struct waiter *w)
{
	return call_ok(w);
}

/*
 * A compacting ALLOC that must wait for the holder: one byte more than
 * the larger of the two free ranges while the holder runs (the 4 MiB
 * it slides up and the free space at the top), no more than both.
 */
static void compacting_alloc(struct waiter *w, int fd, int attempt)
{
	struct vmm_alloc_args *a = w->arg;
	__u64 top = (__u64)(attempt + 1) * 4 * MiB;

	(void)fd;
	memset(a, 0, sizeof(*a));
	a->size = (top > 4 * MiB ? top : 4 * MiB) + 1;
	a->flags = VMM_ALLOC_COMPACT;
}

TEST_F_TIMEOUT(defrag, defrag_waiting_for_another_fails_eintr_on_a_signal,
	       300)
{
	struct vmm_defrag_args a = { 0 };
	struct waiter w = {
		.cmd = VMM_IOC_DEFRAG, .arg = &a,
		.missed = call_succeeded,
		.wait = WAIT_MUTEX,
	};

	ASSERT_TRUE(signal_waiting_call(_metadata, &self->fd, &w))
		TH_LOG("no signal reached a waiting DEFRAG");
	EXPECT_EQ(-1, w.ret);
	EXPECT_EQ(EINTR, w.err) TH_LOG("%s", strerror(w.err));
}

TEST_F_TIMEOUT(defrag, defrag_waiting_for_another_restarts_after_sa_restart,
	       300)
{
	struct vmm_defrag_args a = { 0 };
	int blocks, part;
	struct waiter w = {
		.cmd = VMM_IOC_DEFRAG, .arg = &a,
		.restart = true,
		.wait = WAIT_MUTEX,
	};

	ASSERT_TRUE(signal_waiting_call(_metadata, &self->fd, &w))
		TH_LOG("no signal reached a waiting DEFRAG");
	/*
	 * Restarted, it waited for the holder's turn to end (with its call,
	 * or where the holder yielded its CPU between two moves) and packed
	 * what was left, if anything: whole 4 MiB blocks, no more than the
	 * 14 above the hole.
	 */
	blocks = a.bytes_moved / (4 * MiB);
	part = (int)(a.bytes_moved % (4 * MiB));
	EXPECT_EQ(0, w.ret) TH_LOG("%s", strerror(w.err));
	EXPECT_EQ(1ULL, a.compact);
	EXPECT_EQ(0, part) TH_LOG("bytes_moved %llu",
				  (unsigned long long)a.bytes_moved);
	EXPECT_GE(14, blocks);
}

TEST_F_TIMEOUT(defrag, alloc_compact_waiting_fails_eintr_and_allocates_nothing,
	       300)
{
	struct vmm_alloc_args a;
	struct waiter w = {
		.cmd = VMM_IOC_ALLOC, .arg = &a,
		.before = compacting_alloc,
		.missed = call_succeeded,
		.wait = WAIT_MUTEX,
	};

	ASSERT_TRUE(signal_waiting_call(_metadata, &self->fd, &w))
		TH_LOG("no signal reached a waiting ALLOC");
	EXPECT_EQ(-1, w.ret);
	EXPECT_EQ(EINTR, w.err) TH_LOG("%s", strerror(w.err));
	EXPECT_EQ(w.blocks, vmm_sysfs("blocks"));
	/* Asked again, it fits in the space the holder closed up. */
	a.id = 0;
	EXPECT_OK(ioctl(self->fd, VMM_IOC_ALLOC, &a));
	EXPECT_NE(0ULL, a.id);
}

TEST_F_TIMEOUT(defrag, alloc_compact_waiting_restarts_after_sa_restart, 300)
{
	struct vmm_alloc_args a;
	struct waiter w = {
		.cmd = VMM_IOC_ALLOC, .arg = &a,
		.restart = true,
		.before = compacting_alloc,
		.wait = WAIT_MUTEX,
	};

	ASSERT_TRUE(signal_waiting_call(_metadata, &self->fd, &w))
		TH_LOG("no signal reached a waiting ALLOC");
	EXPECT_EQ(0, w.ret) TH_LOG("%s", strerror(w.err));
	EXPECT_EQ(w.blocks + 1, vmm_sysfs("blocks"));
	EXPECT_OK(vmm_info(self->fd, a.id, NULL, NULL));
}

/*
 * A signal to a compacting ALLOC during its own compaction: 16 blocks of
 * 4 MiB fill the 64 MiB arena, every other one from the lowest is freed,
 * and the ALLOC asks for all 32 MiB that are free, which fit only once the
 * compaction has moved all 8 live blocks.  The signal goes once
 * bytes_moved shows the first move over and the call still running.  The
 * pass looks for a signal before each move after the first, so a call that
 * succeeded anyway had moved everything before the signal came: that
 * attempt is not counted, and the next lays the arena out again.
 */
#define SELF_BLOCKS	16

static bool signal_compacting_alloc(struct __test_metadata *_metadata,
				    int *fd, struct waiter *w)
{
	struct sigaction sa = { .sa_handler = count_signal };
	struct vmm_alloc_args *a = w->arg;
	__u64 ids[SELF_BLOCKS];
	int attempt, i;
	pthread_t tw;

	if (*fd >= 0)
		close(*fd);
	*fd = -1;
	vmm_unload_for_reload();
	if (vmm_load(WAIT_ARENA_STR)) {
		WAIT_FAIL("loading vmm size=%s: %s", WAIT_ARENA_STR,
			  strerror(errno));
		return false;
	}
	*fd = open(VMM_DEV, O_RDWR | O_CLOEXEC);
	if (*fd < 0) {
		WAIT_FAIL("open: %s", strerror(errno));
		return false;
	}
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGUSR1, &sa, NULL)) {
		WAIT_FAIL("sigaction: %s", strerror(errno));
		return false;
	}
	for (attempt = 0; attempt < WAIT_ATTEMPTS; attempt++) {
		if (free_ids_from(*fd, 1)) {
			WAIT_FAIL("free: %s", strerror(errno));
			return false;
		}
		for (i = 0; i < SELF_BLOCKS; i++)
			if (vmm_alloc(*fd, 4 * MiB, 0, &ids[i], NULL) ||
			    (i % 2 && vmm_free(*fd, ids[i - 1]))) {
				WAIT_FAIL("layout: %s", strerror(errno));
				return false;
			}
		*a = (struct vmm_alloc_args){
			.size = SELF_BLOCKS / 2 * 4 * MiB,
			.flags = VMM_ALLOC_COMPACT,
		};
		w->fd = *fd;
		w->tid = 0;
		w->done = 0;
		w->blocks = vmm_sysfs("blocks");
		w->moved = vmm_sysfs("bytes_moved");
		wait_signals = 0;
		if (start_waiter(w, &tw)) {
			WAIT_FAIL("starting the call: %s", strerror(errno));
			return false;
		}
		while (!w->done && vmm_sysfs("bytes_moved") == w->moved)
			usleep(100);
		if (!w->done)
			pthread_kill(tw, SIGUSR1);
		pthread_join(tw, NULL);
		if (wait_signals && w->ret) {
			TH_LOG("signalled a compacting ALLOC in attempt %d",
			       attempt + 1);
			return true;
		}
	}
	return false;
}

TEST_F_TIMEOUT(defrag, alloc_compact_stopped_by_a_signal_fails_eintr, 300)
{
	struct vmm_alloc_args a;
	struct waiter w = { .cmd = VMM_IOC_ALLOC, .arg = &a };

	ASSERT_TRUE(signal_compacting_alloc(_metadata, &self->fd, &w))
		TH_LOG("no signal stopped a compacting ALLOC");
	EXPECT_EQ(-1, w.ret);
	EXPECT_EQ(EINTR, w.err) TH_LOG("%s", strerror(w.err));
	/* Nothing allocated; what moved stays moved. */
	EXPECT_EQ(w.blocks, vmm_sysfs("blocks"));
	EXPECT_LT(w.moved, vmm_sysfs("bytes_moved"));
	EXPECT_EQ(1, wait_signals);
}

static struct vmm_batch_entry wait_entry;

static void batched_compacting_alloc(struct waiter *w, int fd, int attempt)
{
	struct vmm_batch_args *b = w->arg;
	struct vmm_alloc_args a;

	compacting_alloc(&(struct waiter){ .arg = &a }, fd, attempt);
	memset(&wait_entry, 0, sizeof(wait_entry));
	wait_entry.op = VMM_BATCH_ALLOC;
	wait_entry.alloc = a;
	wait_entry.result = 1;
	memset(b, 0, sizeof(*b));
	b->entries = (__u64)(uintptr_t)&wait_entry;
	b->count = 1;
}

/* The batch's ALLOC found the mutex free before the signal. */
static bool entry_succeeded(const struct waiter *w)
{
	return w->ret == 0 && wait_entry.result == 0;
}

TEST_F_TIMEOUT(defrag, batch_alloc_waiting_fails_eintr_even_with_sa_restart,
	       300)
{
	struct vmm_batch_args b;
	struct waiter w = {
		.cmd = VMM_IOC_BATCH, .arg = &b,
		.restart = true,
		.before = batched_compacting_alloc,
		.missed = entry_succeeded,
		.wait = WAIT_MUTEX,
	};

	ASSERT_TRUE(signal_waiting_call(_metadata, &self->fd, &w))
		TH_LOG("no signal reached a waiting batch entry");
	/* One entry cannot be restarted: it fails, the call does not. */
	EXPECT_EQ(0, w.ret) TH_LOG("%s", strerror(w.err));
	EXPECT_EQ(1U, b.done);
	EXPECT_EQ(1U, b.failed);
	EXPECT_EQ(-EINTR, wait_entry.result);
	EXPECT_EQ(w.blocks, vmm_sysfs("blocks"));
}

/* A READ or WRITE of @len bytes at @off of the block being moved. */
static unsigned char move_buf[4096];

static void rw_moving(struct waiter *w, __u64 off, __u64 len)
{
	struct vmm_rw_args *a = w->arg;

	*a = (struct vmm_rw_args){
		.id = moving_id, .offset = off, .length = len,
		.buffer = (__u64)(uintptr_t)move_buf,
	};
}

static void read_moving(struct waiter *w, int fd, int attempt)
{
	(void)fd, (void)attempt;
	memset(move_buf, 0, sizeof(move_buf));
	rw_moving(w, 0, sizeof(move_buf));
}

static void write_moving(struct waiter *w, int fd, int attempt)
{
	(void)fd, (void)attempt;
	memcpy(move_buf, "new!", 4);
	rw_moving(w, 100, 4);
}

/* The block moved to 0 with its bytes, and "new!" at 100 if @written. */
#define ASSERT_MOVED_INTACT(fd, written) do { \
	unsigned char mi_b[4]; \
	ASSERT_BLOCK(fd, moving_id, 0, 56 * MiB); \
	ASSERT_OK(vmm_read(fd, moving_id, 0, mi_b, 4)); \
	ASSERT_EQ(0, memcmp(mi_b, "head", 4)); \
	ASSERT_OK(vmm_read(fd, moving_id, 56 * MiB - 4, mi_b, 4)); \
	ASSERT_EQ(0, memcmp(mi_b, "tail", 4)); \
	ASSERT_OK(vmm_read(fd, moving_id, 100, mi_b, 4)); \
	ASSERT_EQ(0, memcmp(mi_b, (written) ? "new!" : "\0\0\0\0", 4)); \
} while (0)

TEST_F_TIMEOUT(defrag, read_of_a_moving_block_fails_eintr_on_a_signal, 300)
{
	struct vmm_rw_args a;
	struct waiter w = {
		.cmd = VMM_IOC_READ, .arg = &a,
		.before = read_moving,
		.missed = call_succeeded,
		.wait = WAIT_MOVE,
	};

	ASSERT_TRUE(signal_waiting_call(_metadata, &self->fd, &w))
		TH_LOG("no signal reached a READ waiting for a move");
	EXPECT_EQ(-1, w.ret);
	EXPECT_EQ(EINTR, w.err) TH_LOG("%s", strerror(w.err));
	ASSERT_MOVED_INTACT(self->fd, false);
}

TEST_F_TIMEOUT(defrag, write_to_a_moving_block_restarts_after_sa_restart,
	       300)
{
	struct vmm_rw_args a;
	struct waiter w = {
		.cmd = VMM_IOC_WRITE, .arg = &a,
		.restart = true,
		.before = write_moving,
		.wait = WAIT_MOVE,
	};

	ASSERT_TRUE(signal_waiting_call(_metadata, &self->fd, &w))
		TH_LOG("no signal reached a WRITE waiting for a move");
	EXPECT_EQ(0, w.ret) TH_LOG("%s", strerror(w.err));
	ASSERT_MOVED_INTACT(self->fd, true);
}

TEST_F_TIMEOUT(defrag, write_to_a_moving_block_fails_eintr_on_a_signal, 300)
{
	struct vmm_rw_args a;
	struct waiter w = {
		.cmd = VMM_IOC_WRITE, .arg = &a,
		.before = write_moving,
		.missed = call_succeeded,
		.wait = WAIT_MOVE,
	};

	ASSERT_TRUE(signal_waiting_call(_metadata, &self->fd, &w))
		TH_LOG("no signal reached a WRITE waiting for a move");
	EXPECT_EQ(-1, w.ret);
	EXPECT_EQ(EINTR, w.err) TH_LOG("%s", strerror(w.err));
	/* Nothing written. */
	ASSERT_MOVED_INTACT(self->fd, false);
}

/* A batch of one READ of the block being moved. */
static void batched_read_moving(struct waiter *w, int fd, int attempt)
{
	struct vmm_batch_args *b = w->arg;
	struct vmm_rw_args a;

	read_moving(&(struct waiter){ .arg = &a }, fd, attempt);
	memset(&wait_entry, 0, sizeof(wait_entry));
	wait_entry.op = VMM_BATCH_READ;
	wait_entry.rw = a;
	wait_entry.result = 1;
	memset(b, 0, sizeof(*b));
	b->entries = (__u64)(uintptr_t)&wait_entry;
	b->count = 1;
}

TEST_F_TIMEOUT(defrag,
	       batch_read_of_a_moving_block_fails_eintr_even_with_sa_restart,
	       300)
{
	struct vmm_batch_args b;
	struct waiter w = {
		.cmd = VMM_IOC_BATCH, .arg = &b,
		.restart = true,
		.before = batched_read_moving,
		.missed = entry_succeeded,
		.wait = WAIT_MOVE,
	};

	ASSERT_TRUE(signal_waiting_call(_metadata, &self->fd, &w))
		TH_LOG("no signal reached a batch READ waiting for a move");
	/* One entry cannot be restarted: it fails, the call does not. */
	EXPECT_EQ(0, w.ret) TH_LOG("%s", strerror(w.err));
	EXPECT_EQ(1U, b.done);
	EXPECT_EQ(1U, b.failed);
	EXPECT_EQ(-EINTR, wait_entry.result);
	/* Nothing read. */
	EXPECT_EQ(0, move_buf[0]);
	ASSERT_MOVED_INTACT(self->fd, false);
}

/*
 * read(2) and pwrite(2) on a descriptor that selected the moving block
 * wait for its move as VMM_IOC_READ and VMM_IOC_WRITE do, and a signal
 * ends or restarts them the same way.  (pwrite(2): an lseek(2) to the
 * offset would itself wait for the move.)
 */
static ssize_t read_selected(struct waiter *w)
{
	return read(w->fd, move_buf, w->len);
}

static ssize_t pwrite_selected(struct waiter *w)
{
	return pwrite(w->fd, move_buf, w->len, 100);
}

/*
 * The errno of the last attempt's VMM_IOC_SELECT, 0 if it worked (if not,
 * the call fails before it waits, and no attempt counts).
 */
static int select_err;

/* Select the moving block; the file position goes to 0. */
static void select_moving(struct waiter *w, int fd, int attempt)
{
	(void)attempt;
	memset(move_buf, 0, sizeof(move_buf));
	w->key = (unsigned long)move_buf;
	w->len = sizeof(move_buf);
	select_err = vmm_select(fd, moving_id) ? errno : 0;
}

static void select_moving_to_write(struct waiter *w, int fd, int attempt)
{
	select_moving(w, fd, attempt);
	memcpy(move_buf, "new!", 4);
	w->len = 4;
}

TEST_F_TIMEOUT(defrag, read_2_of_a_moving_block_fails_eintr_on_a_signal, 300)
{
	struct waiter w = {
		.io = read_selected, .nr = __NR_read,
		.before = select_moving,
		.missed = call_succeeded,
		.wait = WAIT_MOVE,
	};

	ASSERT_TRUE(signal_waiting_call(_metadata, &self->fd, &w))
		TH_LOG("no signal reached a read(2) waiting for a move (select: %s)",
		       strerror(select_err));
	EXPECT_EQ(-1, w.ret);
	EXPECT_EQ(EINTR, w.err) TH_LOG("%s", strerror(w.err));
	/* Nothing read, the position where it was. */
	EXPECT_EQ(0, move_buf[0]);
	EXPECT_EQ(0, lseek(self->fd, 0, SEEK_CUR));
	ASSERT_MOVED_INTACT(self->fd, false);
}

TEST_F_TIMEOUT(defrag, read_2_of_a_moving_block_restarts_after_sa_restart,
	       300)
{
	struct waiter w = {
		.io = read_selected, .nr = __NR_read,
		.restart = true,
		.before = select_moving,
		.wait = WAIT_MOVE,
	};

	ASSERT_TRUE(signal_waiting_call(_metadata, &self->fd, &w))
		TH_LOG("no signal reached a read(2) waiting for a move (select: %s)",
		       strerror(select_err));
	EXPECT_EQ((ssize_t)sizeof(move_buf), w.ret)
		TH_LOG("%s", strerror(w.err));
	EXPECT_EQ(0, memcmp(move_buf, "head", 4));
	EXPECT_EQ((off_t)sizeof(move_buf), lseek(self->fd, 0, SEEK_CUR));
	ASSERT_MOVED_INTACT(self->fd, false);
}

TEST_F_TIMEOUT(defrag, pwrite_to_a_moving_block_fails_eintr_on_a_signal, 300)
{
	struct waiter w = {
		.io = pwrite_selected, .nr = __NR_pwrite64,
		.before = select_moving_to_write,
		.missed = call_succeeded,
		.wait = WAIT_MOVE,
	};

	ASSERT_TRUE(signal_waiting_call(_metadata, &self->fd, &w))
		TH_LOG("no signal reached a pwrite(2) waiting for a move (select: %s)",
		       strerror(select_err));
	EXPECT_EQ(-1, w.ret);
	EXPECT_EQ(EINTR, w.err) TH_LOG("%s", strerror(w.err));
	ASSERT_MOVED_INTACT(self->fd, false);
}

TEST_F_TIMEOUT(defrag, pwrite_to_a_moving_block_restarts_after_sa_restart,
	       300)
{
	struct waiter w = {
		.io = pwrite_selected, .nr = __NR_pwrite64,
		.restart = true,
		.before = select_moving_to_write,
		.wait = WAIT_MOVE,
	};

	ASSERT_TRUE(signal_waiting_call(_metadata, &self->fd, &w))
		TH_LOG("no signal reached a pwrite(2) waiting for a move (select: %s)",
		       strerror(select_err));
	EXPECT_EQ(4, w.ret) TH_LOG("%s", strerror(w.err));
	/* pwrite(2) leaves the position alone. */
	EXPECT_EQ(0, lseek(self->fd, 0, SEEK_CUR));
	ASSERT_MOVED_INTACT(self->fd, true);
}

/*
 * lseek(2) pins the selected block for its size, whatever the whence, so
 * it too waits for the block's move, and a signal ends or restarts it as
 * it does read(2).  i386's lseek() (64-bit off_t) is _llseek(fd, high,
 * low, result, whence): seen with the offset's high half.
 */
#define SEEK_TO		100
#ifdef __NR__llseek
#define LSEEK_NR	__NR__llseek
#define LSEEK_KEY	0UL
#else
#define LSEEK_NR	__NR_lseek
#define LSEEK_KEY	((unsigned long)SEEK_TO)
#endif

static ssize_t lseek_selected(struct waiter *w)
{
	return lseek(w->fd, SEEK_TO, SEEK_SET);
}

static void select_moving_to_seek(struct waiter *w, int fd, int attempt)
{
	select_moving(w, fd, attempt);
	w->key = LSEEK_KEY;
	w->len = SEEK_TO;
}

TEST_F_TIMEOUT(defrag, lseek_of_a_moving_block_fails_eintr_on_a_signal, 300)
{
	struct waiter w = {
		.io = lseek_selected, .nr = LSEEK_NR,
		.before = select_moving_to_seek,
		.missed = call_succeeded,
		.wait = WAIT_MOVE,
	};

	ASSERT_TRUE(signal_waiting_call(_metadata, &self->fd, &w))
		TH_LOG("no signal reached an lseek(2) waiting for a move (select: %s)",
		       strerror(select_err));
	EXPECT_EQ(-1, w.ret);
	EXPECT_EQ(EINTR, w.err) TH_LOG("%s", strerror(w.err));
	/* The position where SELECT put it. */
	EXPECT_EQ(0, lseek(self->fd, 0, SEEK_CUR));
	ASSERT_MOVED_INTACT(self->fd, false);
}

TEST_F_TIMEOUT(defrag, lseek_of_a_moving_block_restarts_after_sa_restart, 300)
{
	struct waiter w = {
		.io = lseek_selected, .nr = LSEEK_NR,
		.restart = true,
		.before = select_moving_to_seek,
		.wait = WAIT_MOVE,
	};

	ASSERT_TRUE(signal_waiting_call(_metadata, &self->fd, &w))
		TH_LOG("no signal reached an lseek(2) waiting for a move (select: %s)",
		       strerror(select_err));
	EXPECT_EQ(SEEK_TO, w.ret) TH_LOG("%s", strerror(w.err));
	EXPECT_EQ(SEEK_TO, lseek(self->fd, 0, SEEK_CUR));
	ASSERT_MOVED_INTACT(self->fd, false);
}

/*
 * A fault on a mapping of the moving block waits for the move, killably
 * (vmm_fault_wait()): a signal that is not fatal does not end the access,
 * which completes with the moved bytes once the move is over, its handler
 * having run once (the core retries the fault after delivering it).
 */
static ssize_t fault_read(struct waiter *w)
{
	size_t i;

	for (i = 0; i < w->len; i++)
		move_buf[i] = moving_map[i];
	return w->len;
}

static void fault_setup(struct waiter *w, int fd, int attempt)
{
	(void)fd, (void)attempt;
	memset(move_buf, 0, sizeof(move_buf));
	w->len = 4;
}

/* The fault no longer waited once the signal was sent. */
static bool move_was_over(const struct waiter *w)
{
	return !w->went_on;
}

TEST_F_TIMEOUT(defrag, fault_waiting_for_a_move_completes_after_a_signal, 300)
{
	struct waiter w = {
		.io = fault_read, .nr = -1, .state = 'D',
		.before = fault_setup,
		.missed = move_was_over,
		.wait = WAIT_MOVE_MAPPED,
	};

	ASSERT_TRUE(signal_waiting_call(_metadata, &self->fd, &w))
		TH_LOG("no signal reached a fault waiting for a move");
	/* No SIGBUS (that would have ended this test), the moved bytes. */
	EXPECT_EQ(4, w.ret);
	EXPECT_EQ(0, memcmp(move_buf, "head", 4));
	ASSERT_MOVED_INTACT(self->fd, false);
	/*
	 * The last page's entry, in before the move, went: the mapping
	 * shows bytes written at the block's new place, not the old ones.
	 */
	ASSERT_OK(vmm_write(self->fd, moving_id, 56 * MiB - 4, "TAIL", 4));
	EXPECT_EQ(0, memcmp((const void *)(moving_map + 56 * MiB - 4),
			    "TAIL", 4));
	unmap_moving();
}

/*
 * The wait is killable: SIGKILL to a process whose fault waits for the
 * block's move ends it before the move does, and the move completes for
 * the mapping that stays.  A child process, since SIGKILL ends them all.
 */
TEST_F_TIMEOUT(defrag, fault_waiting_for_a_move_ends_on_sigkill, 300)
{
	struct waiter w = {
		.io = fault_read, .nr = -1, .state = 'D',
		.process = true,
		.before = fault_setup,
		.missed = move_was_over,
		.wait = WAIT_MOVE_MAPPED,
	};

	ASSERT_TRUE(signal_waiting_call(_metadata, &self->fd, &w))
		TH_LOG("no child was killed waiting in a fault for a move");
	EXPECT_TRUE(WIFSIGNALED(w.status)) TH_LOG("status %#x", w.status);
	EXPECT_EQ(SIGKILL, WTERMSIG(w.status));
	ASSERT_MOVED_INTACT(self->fd, false);
	/* This process's mapping still works; the child's went with it. */
	EXPECT_EQ(0, memcmp((const void *)moving_map, "head", 4));
	unmap_moving();
	/* The killed child's mapping goes with its mm: maybe a moment later. */
	EXPECT_EQ(0ULL, vmm_sysfs_settles("mapped_blocks", 0));
}

/*
 * ptrace(2) and /proc/PID/mem reach a mapping through its ->access, which
 * waits for a move as a fault does: killably.  A read of /proc/self/mem
 * at the mapping's first page, seen in state D in pread(2) on that file.
 */
static int mem_fd = -1;

static ssize_t mem_read(struct waiter *w)
{
	return pread(w->fd, move_buf, w->len, (off_t)(uintptr_t)moving_map);
}

static void mem_setup(struct waiter *w, int fd, int attempt)
{
	fault_setup(w, fd, attempt);
	w->fd = mem_fd;
	w->key = (unsigned long)move_buf;
}

TEST_F_TIMEOUT(defrag, mem_read_of_a_moving_mapping_completes_after_a_signal,
	       300)
{
	struct waiter w = {
		.io = mem_read, .nr = __NR_pread64, .state = 'D',
		.before = mem_setup,
		.missed = move_was_over,
		.wait = WAIT_MOVE_MAPPED,
	};

	mem_fd = open("/proc/self/mem", O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, mem_fd) TH_LOG("/proc/self/mem: %s", strerror(errno));
	ASSERT_TRUE(signal_waiting_call(_metadata, &self->fd, &w))
		TH_LOG("no signal reached a /proc/self/mem read waiting for a move");
	EXPECT_EQ(4, w.ret) TH_LOG("%s", strerror(w.err));
	EXPECT_EQ(0, memcmp(move_buf, "head", 4));
	ASSERT_MOVED_INTACT(self->fd, false);
	unmap_moving();
}

/* A child reading this process's memory, as a debugger would. */
TEST_F_TIMEOUT(defrag, mem_read_of_a_moving_mapping_ends_on_sigkill, 300)
{
	struct waiter w = {
		.io = mem_read, .nr = __NR_pread64, .state = 'D',
		.process = true,
		.before = mem_setup,
		.missed = move_was_over,
		.wait = WAIT_MOVE_MAPPED,
	};

	mem_fd = open("/proc/self/mem", O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, mem_fd) TH_LOG("/proc/self/mem: %s", strerror(errno));
	ASSERT_TRUE(signal_waiting_call(_metadata, &self->fd, &w))
		TH_LOG("no child was killed reading /proc/PID/mem for a move");
	EXPECT_TRUE(WIFSIGNALED(w.status)) TH_LOG("status %#x", w.status);
	EXPECT_EQ(SIGKILL, WTERMSIG(w.status));
	ASSERT_MOVED_INTACT(self->fd, false);
	EXPECT_EQ(0, memcmp((const void *)moving_map, "head", 4));
	unmap_moving();
	/* The killed child's mapping goes with its mm: maybe a moment later. */
	EXPECT_EQ(0ULL, vmm_sysfs_settles("mapped_blocks", 0));
}

TEST_HARNESS_MAIN
