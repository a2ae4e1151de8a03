// SPDX-License-Identifier: GPL-2.0
/*
 * The sysfs counters in /sys/class/misc/vmm/ and VMM_IOC_STATS, checked
 * against exactly known states, on a power-of-two and an odd-sized arena.
 *
 * The cases of a variant share one load (VMM_SETUP_SHARED), so they count
 * IDs and event counters from where the case before left them: ID(n) is
 * the case's n-th block, and ASSERT_COUNTERS checks what changed since
 * the setup.  The one case about a fresh module's counters reloads.
 */
#include "vmm_util.h"

FIXTURE(sysfs) {
	int fd;
	__u64 id0;			/* the last ID before the case's */
	struct vmm_stats_args base;	/* the counters before the case */
};

#define ID(n)	(self->id0 + (n))

FIXTURE_VARIANT(sysfs) {
	const char *param;	/* the size= module parameter */
	__u64 size;		/* what it means in bytes */
	__u64 frag_4x10000;	/* fragmentation in frag_matches_formula */
};

/* Free 45536 of which 25536 in one piece: 1000 * 20000 / 45536 = 439.2 */
FIXTURE_VARIANT_ADD(sysfs, arena_64k) {
	.param = "64K",
	.size = 64 * KiB,
	.frag_4x10000 = 439,
};

/* Free 80000 of which 60000 in one piece: 1000 * 20000 / 80000 = 250 */
FIXTURE_VARIANT_ADD(sysfs, arena_100000) {
	.param = "100000",
	.size = 100000,
	.frag_4x10000 = 250,
};

FIXTURE_SETUP(sysfs)
{
	self->fd = -1;
	VMM_SETUP_SHARED(variant->param, &self->fd);
	ASSERT_EQ(0, vmm_last_id(self->fd, &self->id0));
	ASSERT_OK(vmm_stats(self->fd, &self->base));
}

FIXTURE_TEARDOWN(sysfs)
{
	VMM_TEARDOWN_SHARED();
	if (self->fd >= 0)
		close(self->fd);
}

static const char *const sysfs_files[] = {
	"size", "used", "free", "largest_free", "blocks", "fragmentation",
	"allocs", "frees", "alloc_failures", "defrags", "bytes_moved",
	"metadata_bytes", "max_lock_hold_ns", "mapped_blocks",
};

/* Every sysfs file equals its VMM_IOC_STATS field. */
#define ASSERT_STATS_MATCH_SYSFS() do { \
	struct vmm_stats_args __st; \
	ASSERT_OK(vmm_stats(self->fd, &__st)); \
	ASSERT_EQ(__st.size, vmm_sysfs("size")); \
	ASSERT_EQ(__st.used, vmm_sysfs("used")); \
	ASSERT_EQ(__st.free, vmm_sysfs("free")); \
	ASSERT_EQ(__st.largest_free, vmm_sysfs("largest_free")); \
	ASSERT_EQ(__st.blocks, vmm_sysfs("blocks")); \
	ASSERT_EQ(__st.fragmentation, vmm_sysfs("fragmentation")); \
	ASSERT_EQ(__st.allocs, vmm_sysfs("allocs")); \
	ASSERT_EQ(__st.frees, vmm_sysfs("frees")); \
	ASSERT_EQ(__st.alloc_failures, vmm_sysfs("alloc_failures")); \
	ASSERT_EQ(__st.defrags, vmm_sysfs("defrags")); \
	ASSERT_EQ(__st.bytes_moved, vmm_sysfs("bytes_moved")); \
	ASSERT_EQ(__st.metadata_bytes, vmm_sysfs("metadata_bytes")); \
	ASSERT_EQ(__st.mapped_blocks, vmm_sysfs("mapped_blocks")); \
	ASSERT_EQ(__st.size, __st.used + __st.free); \
	ASSERT_EQ(vmm_frag(__st.free, __st.largest_free), \
		  __st.fragmentation); \
} while (0)

/* The space and block counters, exactly. */
#define ASSERT_SPACE(used, free, largest, blocks, frag) do { \
	EXPECT_EQ((__u64)(used), vmm_sysfs("used")); \
	EXPECT_EQ((__u64)(free), vmm_sysfs("free")); \
	EXPECT_EQ((__u64)(largest), vmm_sysfs("largest_free")); \
	EXPECT_EQ((__u64)(blocks), vmm_sysfs("blocks")); \
	EXPECT_EQ((__u64)(frag), vmm_sysfs("fragmentation")); \
	ASSERT_STATS_MATCH_SYSFS(); \
} while (0)

/* The event counters, exactly: how much each grew since the setup. */
#define ASSERT_COUNTERS(n_allocs, n_frees, n_failures, n_defrags, n_moved) \
do { \
	EXPECT_EQ(self->base.allocs + (n_allocs), vmm_sysfs("allocs")); \
	EXPECT_EQ(self->base.frees + (n_frees), vmm_sysfs("frees")); \
	EXPECT_EQ(self->base.alloc_failures + (n_failures), \
		  vmm_sysfs("alloc_failures")); \
	EXPECT_EQ(self->base.defrags + (n_defrags), vmm_sysfs("defrags")); \
	EXPECT_EQ(self->base.bytes_moved + (n_moved), \
		  vmm_sysfs("bytes_moved")); \
} while (0)

TEST_F(sysfs, sysfs_files_hold_one_decimal_value)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(sysfs_files); i++) {
		const char *name = sysfs_files[i];

		EXPECT_NE(UINT64_MAX, vmm_sysfs(name))
			TH_LOG("file %u (%s) is not one decimal value and a newline",
			       i, name);
	}
}

/* A fresh module: every counter from zero. */
TEST_F(sysfs, sysfs_reports_empty_arena)
{
	close(self->fd);
	VMM_SETUP_RELOAD(variant->param, &self->fd);
	EXPECT_EQ(variant->size, vmm_sysfs("size"));
	ASSERT_SPACE(0, variant->size, variant->size, 0, 0);
	EXPECT_EQ(0ULL, vmm_sysfs("allocs"));
	EXPECT_EQ(0ULL, vmm_sysfs("frees"));
	EXPECT_EQ(0ULL, vmm_sysfs("alloc_failures"));
	EXPECT_EQ(0ULL, vmm_sysfs("defrags"));
	EXPECT_EQ(0ULL, vmm_sysfs("bytes_moved"));
}

TEST_F(sysfs, param_shows_arena_size_in_bytes)
{
	EXPECT_EQ(variant->size, vmm_read_u64_file(VMM_PARAM_SIZE));
}

TEST_F(sysfs, sysfs_reports_allocations)
{
	const __u64 s = variant->size;

	ALLOC_AT(self->fd, 1000, 0, ID(1), 0);
	ASSERT_SPACE(1000, s - 1000, s - 1000, 1, 0);
	ALLOC_AT(self->fd, 2000, 0, ID(2), 1000);
	ASSERT_SPACE(3000, s - 3000, s - 3000, 2, 0);
	ASSERT_COUNTERS(2, 0, 0, 0, 0);
}

TEST_F(sysfs, sysfs_reports_frees)
{
	const __u64 s = variant->size;

	ALLOC_AT(self->fd, 1000, 0, ID(1), 0);
	ALLOC_AT(self->fd, 2000, 0, ID(2), 1000);
	ASSERT_OK(vmm_free(self->fd, ID(2)));
	/* The freed tail block merges with the free tail. */
	ASSERT_SPACE(1000, s - 1000, s - 1000, 1, 0);
	ASSERT_OK(vmm_free(self->fd, ID(1)));
	ASSERT_SPACE(0, s, s, 0, 0);
	/* allocs counts allocations made, not blocks alive. */
	ASSERT_COUNTERS(2, 2, 0, 0, 0);
}

TEST_F(sysfs, sysfs_reports_hole_before_tail)
{
	const __u64 s = variant->size;

	/* Holes of 1000 at 0 and s - 3000 at 3000. */
	ALLOC_AT(self->fd, 1000, 0, ID(1), 0);
	ALLOC_AT(self->fd, 2000, 0, ID(2), 1000);
	ASSERT_OK(vmm_free(self->fd, ID(1)));
	ASSERT_SPACE(2000, s - 2000, s - 3000, 1,
		     1000 * 1000 / (s - 2000));
}

TEST_F(sysfs, sysfs_frag_matches_formula)
{
	const __u64 s = variant->size;
	__u64 i;

	for (i = 1; i <= 4; i++)
		ALLOC_AT(self->fd, 10000, 0, ID(i), (i - 1) * 10000);
	ASSERT_OK(vmm_free(self->fd, ID(1)));
	ASSERT_OK(vmm_free(self->fd, ID(3)));
	ASSERT_SPACE(20000, s - 20000, s - 40000, 2, variant->frag_4x10000);
	EXPECT_EQ(variant->frag_4x10000, vmm_frag(s - 20000, s - 40000));
}

TEST_F(sysfs, sysfs_frag_rounds_down)
{
	const __u64 s = variant->size;

	/* Holes [0,1), [2,3) and [s-1,s): 1000 * 2 / 3 = 666.67 -> 666. */
	ALLOC_AT(self->fd, 1, 0, ID(1), 0);
	ALLOC_AT(self->fd, 1, 0, ID(2), 1);
	ALLOC_AT(self->fd, 1, 0, ID(3), 2);
	ALLOC_AT(self->fd, 1, 0, ID(4), 3);
	ALLOC_AT(self->fd, s - 5, 0, ID(5), 4);
	ASSERT_OK(vmm_free(self->fd, ID(1)));
	ASSERT_OK(vmm_free(self->fd, ID(3)));
	ASSERT_SPACE(s - 3, 3, 1, 3, 666);
	/* Holes [0,1), [2,4) and [s-1,s): 1000 * 2 / 4 = 500. */
	ASSERT_OK(vmm_free(self->fd, ID(4)));
	ASSERT_SPACE(s - 4, 4, 2, 2, 500);
	/* Holes [0,4) and [s-1,s): 1000 * 1 / 5 = 200. */
	ASSERT_OK(vmm_free(self->fd, ID(2)));
	ASSERT_SPACE(s - 5, 5, 4, 1, 200);
	/* Holes [1,4) and [s-1,s): 1000 * 1 / 4 = 250. */
	ALLOC_AT(self->fd, 1, 0, ID(6), 0);
	ASSERT_SPACE(s - 4, 4, 3, 2, 250);
	/* Holes [3,4) and [s-1,s): 1000 * 1 / 2 = 500. */
	ALLOC_AT(self->fd, 2, 0, ID(7), 1);
	ASSERT_SPACE(s - 2, 2, 1, 3, 500);
	/* Freeing 7 and 5 leaves block 6 and one hole [1,s). */
	ASSERT_OK(vmm_free(self->fd, ID(7)));
	ASSERT_OK(vmm_free(self->fd, ID(5)));
	ASSERT_SPACE(1, s - 1, s - 1, 1, 0);
}

TEST_F(sysfs, sysfs_frag_is_zero_when_arena_full)
{
	ALLOC_AT(self->fd, variant->size, 0, ID(1), 0);
	ASSERT_SPACE(variant->size, 0, 0, 1, 0);
}

TEST_F(sysfs, sysfs_frag_is_zero_with_one_inner_hole)
{
	const __u64 s = variant->size;

	ALLOC_AT(self->fd, 100, 0, ID(1), 0);
	ALLOC_AT(self->fd, s - 100, 0, ID(2), 100);
	ASSERT_OK(vmm_free(self->fd, ID(1)));
	ASSERT_SPACE(s - 100, 100, 100, 1, 0);
}

TEST_F(sysfs, sysfs_reports_state_after_defrag)
{
	const __u64 s = variant->size;
	__u64 i;

	for (i = 1; i <= 4; i++)
		ALLOC_AT(self->fd, 10000, 0, ID(i), (i - 1) * 10000);
	ASSERT_OK(vmm_free(self->fd, ID(1)));
	ASSERT_OK(vmm_free(self->fd, ID(3)));
	ASSERT_OK(vmm_defrag(self->fd, NULL, NULL));
	ASSERT_SPACE(20000, s - 20000, s - 20000, 2, 0);
	/* Blocks 2 and 4 both moved. */
	ASSERT_COUNTERS(4, 2, 0, 1, 20000);
}

TEST_F(sysfs, sysfs_counts_enospc_only_as_alloc_failure)
{
	const __u64 s = variant->size;

	ALLOC_AT(self->fd, s - 10, 0, ID(1), 0);
	EXPECT_ERR(ENOSPC, vmm_alloc(self->fd, 11, 0, NULL, NULL));
	EXPECT_ERR(ENOSPC, vmm_alloc(self->fd, 20, 0, NULL, NULL));
	EXPECT_ERR(EINVAL, vmm_alloc(self->fd, 0, 0, NULL, NULL));
	EXPECT_ERR(EINVAL, vmm_alloc(self->fd, 1, 3, NULL, NULL));
	EXPECT_ERR(EINVAL, vmm_alloc(self->fd, s + 1, 0, NULL, NULL));
	ASSERT_COUNTERS(1, 0, 2, 0, 0);
	ASSERT_SPACE(s - 10, 10, 10, 1, 0);
}

TEST_F(sysfs, sysfs_counts_only_successful_frees)
{
	ALLOC_AT(self->fd, 10, 0, ID(1), 0);
	ASSERT_OK(vmm_free(self->fd, ID(1)));
	EXPECT_ERR(ENOENT, vmm_free(self->fd, ID(1)));
	EXPECT_ERR(ENOENT, vmm_free(self->fd, 0));
	ASSERT_COUNTERS(1, 1, 0, 0, 0);
}

TEST_F(sysfs, sysfs_counts_defrags_and_bytes_moved)
{
	ALLOC_AT(self->fd, 100, 0, ID(1), 0);
	ALLOC_AT(self->fd, 200, 0, ID(2), 100);
	ALLOC_AT(self->fd, 300, 0, ID(3), 300);
	ASSERT_OK(vmm_defrag(self->fd, NULL, NULL));
	ASSERT_COUNTERS(3, 0, 0, 1, 0);
	ASSERT_OK(vmm_free(self->fd, ID(2)));
	ASSERT_OK(vmm_defrag(self->fd, NULL, NULL));
	ASSERT_COUNTERS(3, 1, 0, 2, 300);
	ASSERT_OK(vmm_free(self->fd, ID(1)));
	ASSERT_OK(vmm_defrag(self->fd, NULL, NULL));
	ASSERT_COUNTERS(3, 2, 0, 3, 600);
	ASSERT_BLOCK(self->fd, ID(3), 0, 300);
	ASSERT_STATS_MATCH_SYSFS();
}

TEST_F(sysfs, stats_blocks_matches_list)
{
	struct vmm_block_info e[8];
	struct vmm_stats_args st;
	__u32 count = 0;
	__u64 i, used = 0;

	for (i = 1; i <= 6; i++) {
		ALLOC_AT(self->fd, i * 7, 0, ID(i), used);
		used += i * 7;
	}
	ASSERT_OK(vmm_free(self->fd, ID(2)));
	ASSERT_OK(vmm_free(self->fd, ID(5)));
	ASSERT_OK(vmm_stats(self->fd, &st));
	ASSERT_OK(vmm_list(self->fd, 0, e, 8, &count, NULL));
	EXPECT_EQ((__u64)count, st.blocks);
	EXPECT_EQ(4ULL, st.blocks);
	used = 0;
	for (i = 0; i < count; i++)
		used += e[i].size;
	EXPECT_EQ(used, st.used);
	EXPECT_EQ(st.size, st.used + st.free);
}

TEST_F(sysfs, stats_zeroes_reserved)
{
	struct vmm_stats_args st;

	ALLOC_AT(self->fd, 10, 0, ID(1), 0);
	memset(&st, 0xff, sizeof(st));
	ASSERT_OK(ioctl(self->fd, VMM_IOC_STATS, &st));
	EXPECT_EQ(0ULL, st.reserved);
	EXPECT_EQ(0ULL, st.mapped_blocks);
	EXPECT_EQ((__u64)VMM_STATS_POLICY_FIRST, st.policy);
	EXPECT_LT(0ULL, st.metadata_bytes);
	EXPECT_EQ(variant->size, st.size);
	EXPECT_EQ(10ULL, st.used);
	EXPECT_EQ(self->base.allocs + 1, st.allocs);
	EXPECT_EQ(self->base.frees, st.frees);
}

TEST_F(sysfs, sysfs_shows_first_fit_policy_by_default)
{
	char buf[16] = "";
	ssize_t n;
	int fd;

	fd = open(VMM_SYSFS_DIR "policy", O_RDONLY);
	ASSERT_LE(0, fd) TH_LOG("policy: %s", strerror(errno));
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	ASSERT_EQ(6, n);
	EXPECT_STREQ("first\n", buf);
}

TEST_F(sysfs, metadata_bytes_grow_with_blocks_and_shrink_back)
{
	__u64 empty = vmm_sysfs("metadata_bytes"), two, one;

	ASSERT_NE(UINT64_MAX, empty);
	ASSERT_LT(0ULL, empty);
	ALLOC_AT(self->fd, 10, 0, ID(1), 0);
	ALLOC_AT(self->fd, 10, 0, ID(2), 10);
	two = vmm_sysfs("metadata_bytes");
	/* Two block records (with their spare extents) at least. */
	EXPECT_LE(empty + 2 * 64, two);
	ASSERT_OK(vmm_free(self->fd, ID(1)));
	/* A hole before block 2: one more extent, one block fewer. */
	one = vmm_sysfs("metadata_bytes");
	EXPECT_GT(two, one);
	EXPECT_LT(empty, one);
	ASSERT_OK(vmm_free(self->fd, ID(2)));
	EXPECT_EQ(empty, vmm_sysfs("metadata_bytes"));
	ASSERT_STATS_MATCH_SYSFS();
}

TEST_F(sysfs, max_lock_hold_ns_only_grows_and_stays_short)
{
	struct vmm_stats_args st;
	__u64 before;

	ASSERT_EQ(0, vmm_write_file(VMM_PARAM_TIMING, "1\n"));
	ALLOC_AT(self->fd, 10, 0, ID(1), 0);
	/*
	 * Holds are timed with local_clock(), whose resolution is the
	 * kernel's: where sched_clock() falls back to jiffies (the debug
	 * kernel under emulation, when scripts/vm passes it no TSC
	 * frequency) short holds read as 0.
	 */
	before = vmm_sysfs("max_lock_hold_ns");
	ASSERT_NE(UINT64_MAX, before);
	ASSERT_OK(vmm_stats(self->fd, &st));
	/* A maximum only grows. */
	EXPECT_LE(before, st.max_lock_hold_ns);
	EXPECT_LE(st.max_lock_hold_ns, vmm_sysfs("max_lock_hold_ns"));
	/* Well under a second: no hold covers a copy. */
	EXPECT_GT(1000000000ULL, st.max_lock_hold_ns);
}

TEST_F(sysfs, stats_rejects_bad_argument_pointer)
{
	EXPECT_ERR(EFAULT, ioctl(self->fd, VMM_IOC_STATS, NULL));
	EXPECT_ERR(EFAULT, ioctl(self->fd, VMM_IOC_STATS, vmm_unmapped_addr()));
}

TEST_HARNESS_MAIN
