// SPDX-License-Identifier: GPL-2.0
/*
 * VMM_IOC_ALLOC, VMM_IOC_FREE and VMM_IOC_INFO: placement, alignment,
 * sizes, IDs, zeroing and every rejection, each checked for "no state
 * change" afterwards.
 */
#include "vmm_util.h"

#define ARENA		(64 * KiB)
#define ARENA_STR	"64K"

FIXTURE(alloc) {
	int fd;
};

FIXTURE_SETUP(alloc)
{
	VMM_SETUP_RELOAD(ARENA_STR, &self->fd);
}

FIXTURE_TEARDOWN(alloc)
{
	if (self->fd >= 0)
		close(self->fd);
}

/* The next successful alloc of 1 byte gets @id: no ID was consumed. */
#define ASSERT_NEXT_ID(fd, want) do { \
	__u64 __nid = 0; \
	ASSERT_OK(vmm_alloc(fd, 1, 0, &__nid, NULL)); \
	ASSERT_EQ((__u64)(want), __nid); \
} while (0)

TEST_F(alloc, alloc_returns_ids_from_one)
{
	ALLOC_AT(self->fd, 10, 0, 1, 0);
	ALLOC_AT(self->fd, 10, 0, 2, 10);
	ALLOC_AT(self->fd, 10, 0, 3, 20);
}

TEST_F(alloc, alloc_places_blocks_back_to_back)
{
	ALLOC_AT(self->fd, 100, 0, 1, 0);
	ALLOC_AT(self->fd, 200, 0, 2, 100);
	ALLOC_AT(self->fd, 300, 0, 3, 300);
	ASSERT_BLOCK(self->fd, 1, 0, 100);
	ASSERT_BLOCK(self->fd, 2, 100, 200);
	ASSERT_BLOCK(self->fd, 3, 300, 300);
}

TEST_F(alloc, alloc_refills_freed_slot_at_same_offset)
{
	ALLOC_AT(self->fd, 100, 0, 1, 0);
	ALLOC_AT(self->fd, 100, 0, 2, 100);
	ALLOC_AT(self->fd, 100, 0, 3, 200);
	ASSERT_OK(vmm_free(self->fd, 2));
	ALLOC_AT(self->fd, 100, 0, 4, 100);
	ALLOC_AT(self->fd, 100, 0, 5, 300);
}

TEST_F(alloc, alloc_splits_freed_slot_from_its_start)
{
	ALLOC_AT(self->fd, 100, 0, 1, 0);
	ALLOC_AT(self->fd, 100, 0, 2, 100);
	ALLOC_AT(self->fd, 100, 0, 3, 200);
	ASSERT_OK(vmm_free(self->fd, 2));
	ALLOC_AT(self->fd, 40, 0, 4, 100);
	ALLOC_AT(self->fd, 60, 0, 5, 140);
	/* The hole is exactly used up: the next block goes after block 3. */
	ALLOC_AT(self->fd, 1, 0, 6, 300);
}

TEST_F(alloc, alloc_picks_lowest_fitting_hole_not_best_fit)
{
	/* A 300-byte hole at 0, a 100-byte hole at 400. */
	ALLOC_AT(self->fd, 300, 0, 1, 0);
	ALLOC_AT(self->fd, 100, 0, 2, 300);
	ALLOC_AT(self->fd, 100, 0, 3, 400);
	ALLOC_AT(self->fd, 100, 0, 4, 500);
	ASSERT_OK(vmm_free(self->fd, 1));
	ASSERT_OK(vmm_free(self->fd, 3));
	ALLOC_AT(self->fd, 100, 0, 5, 0);
}

TEST_F(alloc, alloc_skips_holes_too_small)
{
	/* A 50-byte hole at 0, a 100-byte hole at 150, the tail at 350. */
	ALLOC_AT(self->fd, 50, 0, 1, 0);
	ALLOC_AT(self->fd, 100, 0, 2, 50);
	ALLOC_AT(self->fd, 100, 0, 3, 150);
	ALLOC_AT(self->fd, 100, 0, 4, 250);
	ASSERT_OK(vmm_free(self->fd, 1));
	ASSERT_OK(vmm_free(self->fd, 3));
	ALLOC_AT(self->fd, 101, 0, 5, 350);
	ALLOC_AT(self->fd, 51, 0, 6, 150);
	ALLOC_AT(self->fd, 50, 0, 7, 0);
}

TEST_F(alloc, alloc_merges_adjacent_freed_holes)
{
	ALLOC_AT(self->fd, 100, 0, 1, 0);
	ALLOC_AT(self->fd, 100, 0, 2, 100);
	ALLOC_AT(self->fd, 100, 0, 3, 200);
	ALLOC_AT(self->fd, 100, 0, 4, 300);
	/* Free the outer two first, then the middle: one 300-byte hole. */
	ASSERT_OK(vmm_free(self->fd, 1));
	ASSERT_OK(vmm_free(self->fd, 3));
	ASSERT_OK(vmm_free(self->fd, 2));
	ALLOC_AT(self->fd, 300, 0, 5, 0);
}

TEST_F(alloc, alloc_merges_hole_with_free_tail)
{
	ALLOC_AT(self->fd, 100, 0, 1, 0);
	ALLOC_AT(self->fd, ARENA - 200, 0, 2, 100);
	ASSERT_OK(vmm_free(self->fd, 2));
	/* [100, ARENA) is free again, in one piece. */
	ALLOC_AT(self->fd, ARENA - 100, 0, 3, 100);
}

TEST_F(alloc, alloc_never_reuses_freed_ids)
{
	ALLOC_AT(self->fd, 10, 0, 1, 0);
	ASSERT_OK(vmm_free(self->fd, 1));
	ALLOC_AT(self->fd, 10, 0, 2, 0);
	ALLOC_AT(self->fd, 10, 0, 3, 10);
	ASSERT_OK(vmm_free(self->fd, 2));
	ASSERT_OK(vmm_free(self->fd, 3));
	ALLOC_AT(self->fd, 10, 0, 4, 0);
	EXPECT_ERR(ENOENT, vmm_info(self->fd, 1, NULL, NULL));
	EXPECT_ERR(ENOENT, vmm_info(self->fd, 2, NULL, NULL));
	EXPECT_ERR(ENOENT, vmm_info(self->fd, 3, NULL, NULL));
}

TEST_F(alloc, alloc_accepts_align_zero_and_one)
{
	ALLOC_AT(self->fd, 1, 0, 1, 0);
	ALLOC_AT(self->fd, 3, 1, 2, 1);
	ALLOC_AT(self->fd, 5, 0, 3, 4);
	ALLOC_AT(self->fd, 1, 1, 4, 9);
}

TEST_F(alloc, alloc_honors_power_of_two_align)
{
	__u64 align, id = 1;

	ALLOC_AT(self->fd, 1, 0, 1, 0);
	/* Each 1-byte block lands on the next multiple of its alignment. */
	for (align = 2; align <= 4096; align *= 2) {
		id++;
		ALLOC_AT(self->fd, 1, align, id, align);
	}
	/* The gaps the alignment left are still free, lowest first. */
	ALLOC_AT(self->fd, 1, 0, id + 1, 1);
	ALLOC_AT(self->fd, 1, 0, id + 2, 3);
	ALLOC_AT(self->fd, 2, 0, id + 3, 5);
}

TEST_F(alloc, alloc_aligns_inside_a_hole)
{
	/* Hole [10, 300): an 8-aligned 100-byte block goes at 16. */
	ALLOC_AT(self->fd, 10, 0, 1, 0);
	ALLOC_AT(self->fd, 290, 0, 2, 10);
	ALLOC_AT(self->fd, 10, 0, 3, 300);
	ASSERT_OK(vmm_free(self->fd, 2));
	ALLOC_AT(self->fd, 100, 8, 4, 16);
	/* 200 aligned to 256 does not fit before 300: it goes to 512. */
	ALLOC_AT(self->fd, 200, 256, 5, 512);
	/* The 6-byte gap [10, 16) is usable. */
	ALLOC_AT(self->fd, 6, 2, 6, 10);
}

TEST_F(alloc, alloc_accepts_align_equal_to_arena)
{
	ALLOC_AT(self->fd, 1, ARENA, 1, 0);
	/* Offset 0 is the only multiple of the arena size: now taken. */
	EXPECT_ERR(ENOSPC, vmm_alloc(self->fd, 1, ARENA, NULL, NULL));
	EXPECT_EQ(1ULL, vmm_sysfs("alloc_failures"));
	ALLOC_AT(self->fd, 1, ARENA / 2, 2, ARENA / 2);
}

TEST_F(alloc, alloc_rejects_non_power_of_two_align)
{
	static const __u64 bad[] = { 3, 5, 6, 12, 100, 4097, ARENA - 1,
				     UINT64_MAX };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(bad); i++)
		EXPECT_ERR(EINVAL, vmm_alloc(self->fd, 1, bad[i], NULL, NULL));
	EXPECT_EQ(0ULL, vmm_sysfs("alloc_failures"));
	EXPECT_EQ(0ULL, vmm_sysfs("allocs"));
	ASSERT_NEXT_ID(self->fd, 1);
}

TEST_F(alloc, alloc_rejects_align_larger_than_arena)
{
	EXPECT_ERR(EINVAL, vmm_alloc(self->fd, 1, ARENA * 2, NULL, NULL));
	EXPECT_ERR(EINVAL, vmm_alloc(self->fd, 1, 1ULL << 32, NULL, NULL));
	EXPECT_ERR(EINVAL, vmm_alloc(self->fd, 1, 1ULL << 63, NULL, NULL));
	EXPECT_EQ(0ULL, vmm_sysfs("alloc_failures"));
	ASSERT_NEXT_ID(self->fd, 1);
}

TEST_F(alloc, alloc_rejects_zero_size)
{
	EXPECT_ERR(EINVAL, vmm_alloc(self->fd, 0, 0, NULL, NULL));
	EXPECT_ERR(EINVAL, vmm_alloc(self->fd, 0, 8, NULL, NULL));
	EXPECT_EQ(0ULL, vmm_sysfs("alloc_failures"));
	ASSERT_NEXT_ID(self->fd, 1);
}

TEST_F(alloc, alloc_rejects_size_larger_than_arena)
{
	EXPECT_ERR(EINVAL, vmm_alloc(self->fd, ARENA + 1, 0, NULL, NULL));
	EXPECT_ERR(EINVAL, vmm_alloc(self->fd, ARENA * 2, 0, NULL, NULL));
	EXPECT_ERR(EINVAL, vmm_alloc(self->fd, UINT64_MAX, 0, NULL, NULL));
	/* Still EINVAL, not ENOSPC, when the arena is partly used. */
	ALLOC_AT(self->fd, 1, 0, 1, 0);
	EXPECT_ERR(EINVAL, vmm_alloc(self->fd, ARENA + 1, 0, NULL, NULL));
	EXPECT_EQ(0ULL, vmm_sysfs("alloc_failures"));
	ASSERT_NEXT_ID(self->fd, 2);
}

TEST_F(alloc, alloc_accepts_size_equal_to_arena)
{
	ALLOC_AT(self->fd, ARENA, 0, 1, 0);
	ASSERT_BLOCK(self->fd, 1, 0, ARENA);
	EXPECT_EQ(0ULL, vmm_sysfs("free"));
}

TEST_F(alloc, alloc_fails_enospc_when_arena_full)
{
	ALLOC_AT(self->fd, ARENA, 0, 1, 0);
	EXPECT_ERR(ENOSPC, vmm_alloc(self->fd, 1, 0, NULL, NULL));
	EXPECT_EQ(1ULL, vmm_sysfs("alloc_failures"));
	EXPECT_ERR(ENOSPC, vmm_alloc(self->fd, ARENA, 0, NULL, NULL));
	EXPECT_EQ(2ULL, vmm_sysfs("alloc_failures"));
	EXPECT_EQ(1ULL, vmm_sysfs("allocs"));
	EXPECT_EQ(1ULL, vmm_sysfs("blocks"));
}

TEST_F(alloc, alloc_fails_enospc_when_free_space_is_split)
{
	ALLOC_AT(self->fd, 16 * KiB, 0, 1, 0);
	ALLOC_AT(self->fd, 16 * KiB, 0, 2, 16 * KiB);
	ALLOC_AT(self->fd, 16 * KiB, 0, 3, 32 * KiB);
	ALLOC_AT(self->fd, 16 * KiB, 0, 4, 48 * KiB);
	ASSERT_OK(vmm_free(self->fd, 1));
	ASSERT_OK(vmm_free(self->fd, 3));
	/* 32K free in total, but no 16K+1 range. */
	EXPECT_ERR(ENOSPC, vmm_alloc(self->fd, 16 * KiB + 1, 0, NULL, NULL));
	EXPECT_EQ(1ULL, vmm_sysfs("alloc_failures"));
	ALLOC_AT(self->fd, 16 * KiB, 0, 5, 0);
}

TEST_F(alloc, alloc_fails_enospc_when_alignment_does_not_fit)
{
	/* 48K free from 16K, but no 32K-aligned 32K range in it. */
	ALLOC_AT(self->fd, 16 * KiB, 0, 1, 0);
	EXPECT_ERR(ENOSPC, vmm_alloc(self->fd, 32 * KiB + 1, 32 * KiB, NULL,
				     NULL));
	EXPECT_EQ(1ULL, vmm_sysfs("alloc_failures"));
	ALLOC_AT(self->fd, 32 * KiB, 32 * KiB, 2, 32 * KiB);
}

TEST_F(alloc, alloc_enospc_does_not_consume_id)
{
	ALLOC_AT(self->fd, ARENA - 10, 0, 1, 0);
	EXPECT_ERR(ENOSPC, vmm_alloc(self->fd, 11, 0, NULL, NULL));
	ALLOC_AT(self->fd, 10, 0, 2, ARENA - 10);
}

TEST_F(alloc, alloc_handles_sizes_around_powers_of_two)
{
	static unsigned char buf[4097];
	__u64 id = 1, off = 0, size;
	int n, d;

	for (n = 0; n <= 12; n++) {
		for (d = -1; d <= 1; d++) {
			size = (1ULL << n) + d;
			if (size == 0)
				continue;
			ALLOC_AT(self->fd, size, 0, id, off);
			ASSERT_BLOCK(self->fd, id, off, size);
			/* The whole block reads back as zeros, no further. */
			memset(buf, 0xee, sizeof(buf));
			ASSERT_OK(vmm_read(self->fd, id, 0, buf, size));
			ASSERT_TRUE(vmm_all(buf, size, 0));
			ASSERT_ERR(ERANGE, vmm_read(self->fd, id, 0, buf,
						    size + 1));
			off += size;
			id++;
		}
	}
	EXPECT_EQ(off, vmm_sysfs("used"));
}

TEST_F(alloc, alloc_returns_zeroed_block)
{
	static unsigned char buf[ARENA];

	ALLOC_AT(self->fd, ARENA, 0, 1, 0);
	memset(buf, 0xee, sizeof(buf));
	ASSERT_OK(vmm_read(self->fd, 1, 0, buf, ARENA));
	EXPECT_TRUE(vmm_all(buf, ARENA, 0));
}

TEST_F(alloc, alloc_zeroes_reused_slot)
{
	static unsigned char buf[8192];

	ALLOC_AT(self->fd, 4096, 0, 1, 0);
	ALLOC_AT(self->fd, 4096, 0, 2, 4096);
	memset(buf, 0xaa, sizeof(buf));
	ASSERT_OK(vmm_write(self->fd, 1, 0, buf, 4096));
	ASSERT_OK(vmm_write(self->fd, 2, 0, buf, 4096));
	ASSERT_OK(vmm_free(self->fd, 1));
	ALLOC_AT(self->fd, 4096, 0, 3, 0);
	memset(buf, 0xee, sizeof(buf));
	ASSERT_OK(vmm_read(self->fd, 3, 0, buf, 4096));
	EXPECT_TRUE(vmm_all(buf, 4096, 0));
	/* The neighbour keeps its data. */
	ASSERT_OK(vmm_read(self->fd, 2, 0, buf, 4096));
	EXPECT_TRUE(vmm_all(buf, 4096, 0xaa));
}

TEST_F(alloc, alloc_zeroes_block_spanning_several_old_blocks)
{
	static unsigned char buf[3000];
	__u64 i;

	for (i = 1; i <= 3; i++) {
		ALLOC_AT(self->fd, 1000, 0, i, (i - 1) * 1000);
		memset(buf, 0x10 + i, 1000);
		ASSERT_OK(vmm_write(self->fd, i, 0, buf, 1000));
	}
	for (i = 1; i <= 3; i++)
		ASSERT_OK(vmm_free(self->fd, i));
	ALLOC_AT(self->fd, 3000, 0, 4, 0);
	memset(buf, 0xee, sizeof(buf));
	ASSERT_OK(vmm_read(self->fd, 4, 0, buf, 3000));
	EXPECT_TRUE(vmm_all(buf, 3000, 0));
}

TEST_F(alloc, alloc_ignores_output_fields_on_input)
{
	struct vmm_alloc_args a = { .size = 8, .id = 77, .offset = 999 };

	ASSERT_OK(ioctl(self->fd, VMM_IOC_ALLOC, &a));
	EXPECT_EQ(1ULL, a.id);
	EXPECT_EQ(0ULL, a.offset);
	EXPECT_EQ(8ULL, a.size);
	EXPECT_EQ(0U, a.flags);
	EXPECT_EQ(0U, a.mode);
	EXPECT_EQ(0ULL, a.reserved[0]);
	EXPECT_EQ(0ULL, a.reserved[3]);
}

TEST_F(alloc, alloc_rejects_nonzero_flags)
{
	/*
	 * Bits 0-3 are VMM_ALLOC_COMPACT, _MODE, _SCOPED, _MAPPABLE; others
	 * unknown.
	 */
	static const __u32 bad[] = { 0x10, 0x20, 0x80000000u, UINT32_MAX };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		struct vmm_alloc_args a = { .size = 8, .flags = bad[i] };

		EXPECT_ERR(EINVAL, ioctl(self->fd, VMM_IOC_ALLOC, &a));
	}
	EXPECT_EQ(0ULL, vmm_sysfs("blocks"));
	EXPECT_EQ(0ULL, vmm_sysfs("allocs"));
	ASSERT_NEXT_ID(self->fd, 1);
}

/* Without VMM_ALLOC_MODE, mode is the old pad field: it must be 0. */
TEST_F(alloc, alloc_rejects_mode_without_mode_flag)
{
	struct vmm_alloc_args a = { .size = 8, .mode = 1 };

	EXPECT_ERR(EINVAL, ioctl(self->fd, VMM_IOC_ALLOC, &a));
	a.mode = 0x80000000u;
	EXPECT_ERR(EINVAL, ioctl(self->fd, VMM_IOC_ALLOC, &a));
	EXPECT_EQ(0ULL, vmm_sysfs("blocks"));
	ASSERT_NEXT_ID(self->fd, 1);
}

TEST_F(alloc, alloc_rejects_nonzero_reserved)
{
	unsigned int i;

	for (i = 0; i < 4; i++) {
		struct vmm_alloc_args a = { .size = 8 };

		a.reserved[i] = 1;
		EXPECT_ERR(EINVAL, ioctl(self->fd, VMM_IOC_ALLOC, &a));
		a.reserved[i] = 1ULL << 63;
		EXPECT_ERR(EINVAL, ioctl(self->fd, VMM_IOC_ALLOC, &a));
	}
	EXPECT_EQ(0ULL, vmm_sysfs("blocks"));
	EXPECT_EQ(0ULL, vmm_sysfs("used"));
	ASSERT_NEXT_ID(self->fd, 1);
}

TEST_F(alloc, alloc_rejects_bad_argument_pointer)
{
	EXPECT_ERR(EFAULT, ioctl(self->fd, VMM_IOC_ALLOC, NULL));
	EXPECT_ERR(EFAULT, ioctl(self->fd, VMM_IOC_ALLOC, vmm_unmapped_addr()));
	EXPECT_EQ(0ULL, vmm_sysfs("blocks"));
}

TEST_F(alloc, free_releases_block)
{
	ALLOC_AT(self->fd, 100, 0, 1, 0);
	ASSERT_OK(vmm_free(self->fd, 1));
	EXPECT_ERR(ENOENT, vmm_info(self->fd, 1, NULL, NULL));
	EXPECT_EQ(0ULL, vmm_sysfs("blocks"));
	EXPECT_EQ(0ULL, vmm_sysfs("used"));
	EXPECT_EQ(1ULL, vmm_sysfs("frees"));
}

TEST_F(alloc, free_rejects_unknown_id)
{
	ALLOC_AT(self->fd, 100, 0, 1, 0);
	EXPECT_ERR(ENOENT, vmm_free(self->fd, 2));
	EXPECT_ERR(ENOENT, vmm_free(self->fd, 1000));
	EXPECT_ERR(ENOENT, vmm_free(self->fd, UINT64_MAX));
	EXPECT_EQ(0ULL, vmm_sysfs("frees"));
	ASSERT_BLOCK(self->fd, 1, 0, 100);
}

TEST_F(alloc, free_rejects_id_zero)
{
	ALLOC_AT(self->fd, 100, 0, 1, 0);
	EXPECT_ERR(ENOENT, vmm_free(self->fd, 0));
	EXPECT_EQ(0ULL, vmm_sysfs("frees"));
	ASSERT_BLOCK(self->fd, 1, 0, 100);
}

TEST_F(alloc, free_rejects_already_freed_id)
{
	ALLOC_AT(self->fd, 100, 0, 1, 0);
	ALLOC_AT(self->fd, 100, 0, 2, 100);
	ASSERT_OK(vmm_free(self->fd, 1));
	EXPECT_ERR(ENOENT, vmm_free(self->fd, 1));
	EXPECT_EQ(1ULL, vmm_sysfs("frees"));
	EXPECT_EQ(1ULL, vmm_sysfs("blocks"));
	ASSERT_BLOCK(self->fd, 2, 100, 100);
}

TEST_F(alloc, free_rejects_nonzero_flags)
{
	struct vmm_free_args a = { .id = 1, .flags = 1 };

	ALLOC_AT(self->fd, 100, 0, 1, 0);
	EXPECT_ERR(EINVAL, ioctl(self->fd, VMM_IOC_FREE, &a));
	a.flags = 0x80000000u;
	EXPECT_ERR(EINVAL, ioctl(self->fd, VMM_IOC_FREE, &a));
	ASSERT_BLOCK(self->fd, 1, 0, 100);
	EXPECT_EQ(0ULL, vmm_sysfs("frees"));
}

TEST_F(alloc, free_rejects_nonzero_pad)
{
	struct vmm_free_args a = { .id = 1, .pad = 1 };

	ALLOC_AT(self->fd, 100, 0, 1, 0);
	EXPECT_ERR(EINVAL, ioctl(self->fd, VMM_IOC_FREE, &a));
	ASSERT_BLOCK(self->fd, 1, 0, 100);
	EXPECT_EQ(0ULL, vmm_sysfs("frees"));
}

TEST_F(alloc, free_rejects_nonzero_reserved)
{
	unsigned int i;

	ALLOC_AT(self->fd, 100, 0, 1, 0);
	for (i = 0; i < 2; i++) {
		struct vmm_free_args a = { .id = 1 };

		a.reserved[i] = 1;
		EXPECT_ERR(EINVAL, ioctl(self->fd, VMM_IOC_FREE, &a));
	}
	ASSERT_BLOCK(self->fd, 1, 0, 100);
	EXPECT_EQ(0ULL, vmm_sysfs("frees"));
}

TEST_F(alloc, free_rejects_bad_argument_pointer)
{
	ALLOC_AT(self->fd, 100, 0, 1, 0);
	EXPECT_ERR(EFAULT, ioctl(self->fd, VMM_IOC_FREE, NULL));
	EXPECT_ERR(EFAULT, ioctl(self->fd, VMM_IOC_FREE, vmm_unmapped_addr()));
	ASSERT_BLOCK(self->fd, 1, 0, 100);
}

TEST_F(alloc, info_reports_offset_and_size)
{
	struct vmm_info_args a = { .id = 2, .offset = 5, .size = 5 };

	ALLOC_AT(self->fd, 123, 0, 1, 0);
	ALLOC_AT(self->fd, 456, 64, 2, 128);
	ASSERT_OK(ioctl(self->fd, VMM_IOC_INFO, &a));
	EXPECT_EQ(2ULL, a.id);
	EXPECT_EQ(128ULL, a.offset);
	EXPECT_EQ(456ULL, a.size);
	EXPECT_EQ(0U, a.flags);
	EXPECT_EQ(0U, a.pad);
	/* Allocated by root with the default mode, not scoped. */
	EXPECT_EQ(0U, a.uid);
	EXPECT_EQ(0U, a.gid);
	EXPECT_EQ(0600U, a.mode);
	EXPECT_EQ(0U, a.attrs);
	EXPECT_EQ(0ULL, a.mapped);
	EXPECT_EQ(0ULL, a.reserved);
	ASSERT_BLOCK(self->fd, 1, 0, 123);
}

TEST_F(alloc, info_rejects_unknown_id)
{
	ALLOC_AT(self->fd, 10, 0, 1, 0);
	EXPECT_ERR(ENOENT, vmm_info(self->fd, 0, NULL, NULL));
	EXPECT_ERR(ENOENT, vmm_info(self->fd, 2, NULL, NULL));
	EXPECT_ERR(ENOENT, vmm_info(self->fd, UINT64_MAX, NULL, NULL));
	ASSERT_OK(vmm_free(self->fd, 1));
	EXPECT_ERR(ENOENT, vmm_info(self->fd, 1, NULL, NULL));
}

TEST_F(alloc, info_rejects_nonzero_flags_pad_reserved)
{
	unsigned int i;

	ALLOC_AT(self->fd, 10, 0, 1, 0);
	{
		struct vmm_info_args a = { .id = 1, .flags = 1 };

		EXPECT_ERR(EINVAL, ioctl(self->fd, VMM_IOC_INFO, &a));
	}
	{
		struct vmm_info_args a = { .id = 1, .pad = 1 };

		EXPECT_ERR(EINVAL, ioctl(self->fd, VMM_IOC_INFO, &a));
	}
	for (i = 0; i < 64; i += 63) {
		struct vmm_info_args a = { .id = 1 };

		a.reserved = 1ULL << i;
		EXPECT_ERR(EINVAL, ioctl(self->fd, VMM_IOC_INFO, &a));
	}
}

TEST_F(alloc, info_rejects_bad_argument_pointer)
{
	EXPECT_ERR(EFAULT, ioctl(self->fd, VMM_IOC_INFO, NULL));
	EXPECT_ERR(EFAULT, ioctl(self->fd, VMM_IOC_INFO, vmm_unmapped_addr()));
}

TEST_F(alloc, blocks_outlive_the_file_that_allocated_them)
{
	unsigned char buf[16];
	int fd2;

	ALLOC_AT(self->fd, 16, 0, 1, 0);
	memset(buf, 0x42, sizeof(buf));
	ASSERT_OK(vmm_write(self->fd, 1, 0, buf, sizeof(buf)));
	close(self->fd);
	self->fd = -1;
	fd2 = open(VMM_DEV, O_RDWR);
	ASSERT_LE(0, fd2);
	memset(buf, 0, sizeof(buf));
	ASSERT_OK(vmm_read(fd2, 1, 0, buf, sizeof(buf)));
	EXPECT_TRUE(vmm_all(buf, sizeof(buf), 0x42));
	ALLOC_AT(fd2, 16, 0, 2, 16);
	close(fd2);
}

TEST_F(alloc, blocks_are_shared_between_files)
{
	int fd2 = open(VMM_DEV, O_RDWR);

	ASSERT_LE(0, fd2);
	ALLOC_AT(self->fd, 16, 0, 1, 0);
	ALLOC_AT(fd2, 16, 0, 2, 16);
	ASSERT_OK(vmm_free(fd2, 1));
	EXPECT_ERR(ENOENT, vmm_info(self->fd, 1, NULL, NULL));
	ASSERT_BLOCK(self->fd, 2, 16, 16);
	close(fd2);
}

TEST_HARNESS_MAIN
