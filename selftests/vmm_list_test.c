// SPDX-License-Identifier: GPL-2.0
/*
 * VMM_IOC_LIST: ID order, pagination through start_id/next_id, capacity
 * limits and bad buffers.
 */
#include "vmm_util.h"

#define ARENA_STR	"64K"
#define CAP		16

FIXTURE(list) {
	int fd;
	struct vmm_block_info e[CAP];
};

FIXTURE_SETUP(list)
{
	VMM_SETUP_RELOAD(ARENA_STR, &self->fd);
	memset(self->e, 0xff, sizeof(self->e));
}

FIXTURE_TEARDOWN(list)
{
	if (self->fd >= 0)
		close(self->fd);
}

/* Blocks 1..n of 10 * ID bytes, back to back. */
#define MAKE_BLOCKS(n) do { \
	__u64 __i, __off = 0; \
	for (__i = 1; __i <= (n); __i++) { \
		ALLOC_AT(self->fd, 10 * __i, 0, __i, __off); \
		__off += 10 * __i; \
	} \
} while (0)

/*
 * Entry @e is block @id at @off, @size bytes, root's with mode 0600, not
 * scoped, reserved words zeroed.
 */
#define ASSERT_ENTRY(e, want_id, want_off, want_size) do { \
	const struct vmm_block_info *__e = &(e); \
	int __r; \
	ASSERT_EQ((__u64)(want_id), __e->id); \
	ASSERT_EQ((__u64)(want_off), __e->offset); \
	ASSERT_EQ((__u64)(want_size), __e->size); \
	ASSERT_EQ(0U, __e->uid); \
	ASSERT_EQ(0U, __e->gid); \
	ASSERT_EQ(0600U, __e->mode); \
	ASSERT_EQ(0U, __e->attrs); \
	ASSERT_EQ(0ULL, __e->mapped); \
	for (__r = 0; __r < 2; __r++) \
		ASSERT_EQ(0ULL, __e->reserved[__r]); \
} while (0)

TEST_F(list, list_reports_empty_arena)
{
	__u32 count = 1;
	__u64 next = 1;

	ASSERT_OK(vmm_list(self->fd, 0, self->e, CAP, &count, &next));
	EXPECT_EQ(0U, count);
	EXPECT_EQ(0ULL, next);
}

TEST_F(list, list_returns_live_blocks_in_id_order)
{
	__u32 count = 0;
	__u64 next = 1;

	MAKE_BLOCKS(5);
	ASSERT_OK(vmm_free(self->fd, 3));
	ASSERT_OK(vmm_list(self->fd, 0, self->e, CAP, &count, &next));
	ASSERT_EQ(4U, count);
	EXPECT_EQ(0ULL, next);
	ASSERT_ENTRY(self->e[0], 1, 0, 10);
	ASSERT_ENTRY(self->e[1], 2, 10, 20);
	ASSERT_ENTRY(self->e[2], 4, 60, 40);
	ASSERT_ENTRY(self->e[3], 5, 100, 50);
}

TEST_F(list, list_orders_by_id_not_offset)
{
	__u32 count = 0;
	__u64 next = 1;

	ALLOC_AT(self->fd, 100, 0, 1, 0);
	ALLOC_AT(self->fd, 100, 0, 2, 100);
	ASSERT_OK(vmm_free(self->fd, 1));
	ALLOC_AT(self->fd, 50, 0, 3, 0);
	ASSERT_OK(vmm_list(self->fd, 0, self->e, CAP, &count, &next));
	ASSERT_EQ(2U, count);
	EXPECT_EQ(0ULL, next);
	ASSERT_ENTRY(self->e[0], 2, 100, 100);
	ASSERT_ENTRY(self->e[1], 3, 0, 50);
}

TEST_F(list, list_reports_offsets_after_defrag)
{
	__u32 count = 0;

	MAKE_BLOCKS(3);
	ASSERT_OK(vmm_free(self->fd, 1));
	ASSERT_OK(vmm_defrag(self->fd, NULL, NULL));
	ASSERT_OK(vmm_list(self->fd, 0, self->e, CAP, &count, NULL));
	ASSERT_EQ(2U, count);
	ASSERT_ENTRY(self->e[0], 2, 0, 20);
	ASSERT_ENTRY(self->e[1], 3, 20, 30);
}

TEST_F(list, list_paginates_with_small_capacity)
{
	__u32 count = 0;
	__u64 next = 0;

	MAKE_BLOCKS(5);
	ASSERT_OK(vmm_list(self->fd, 0, self->e, 2, &count, &next));
	ASSERT_EQ(2U, count);
	ASSERT_EQ(3ULL, next);
	ASSERT_ENTRY(self->e[0], 1, 0, 10);
	ASSERT_ENTRY(self->e[1], 2, 10, 20);
	ASSERT_OK(vmm_list(self->fd, next, self->e, 2, &count, &next));
	ASSERT_EQ(2U, count);
	ASSERT_EQ(5ULL, next);
	ASSERT_ENTRY(self->e[0], 3, 30, 30);
	ASSERT_ENTRY(self->e[1], 4, 60, 40);
	ASSERT_OK(vmm_list(self->fd, next, self->e, 2, &count, &next));
	ASSERT_EQ(1U, count);
	ASSERT_EQ(0ULL, next);
	ASSERT_ENTRY(self->e[0], 5, 100, 50);
}

TEST_F(list, list_paginates_one_entry_at_a_time)
{
	__u32 count = 0;
	__u64 next = 0, want;

	MAKE_BLOCKS(4);
	for (want = 1; want <= 4; want++) {
		ASSERT_OK(vmm_list(self->fd, next, self->e, 1, &count, &next));
		ASSERT_EQ(1U, count);
		ASSERT_ENTRY(self->e[0], want, 10 * want * (want - 1) / 2,
			     10 * want);
	}
	EXPECT_EQ(0ULL, next);
}

TEST_F(list, list_returns_next_id_zero_when_page_ends_at_last_block)
{
	__u32 count = 0;
	__u64 next = 1;

	MAKE_BLOCKS(4);
	ASSERT_OK(vmm_list(self->fd, 3, self->e, 2, &count, &next));
	ASSERT_EQ(2U, count);
	EXPECT_EQ(0ULL, next);
	ASSERT_OK(vmm_list(self->fd, 0, self->e, 4, &count, &next));
	ASSERT_EQ(4U, count);
	EXPECT_EQ(0ULL, next);
}

TEST_F(list, list_pagination_skips_freed_ids)
{
	__u32 count = 0;
	__u64 next = 0;

	MAKE_BLOCKS(6);
	ASSERT_OK(vmm_free(self->fd, 3));
	ASSERT_OK(vmm_free(self->fd, 4));
	ASSERT_OK(vmm_list(self->fd, 0, self->e, 2, &count, &next));
	ASSERT_EQ(2U, count);
	ASSERT_ENTRY(self->e[1], 2, 10, 20);
	/* Either 3 or 5 is a correct place to resume. */
	ASSERT_LE(3ULL, next);
	ASSERT_GE(5ULL, next);
	ASSERT_OK(vmm_list(self->fd, next, self->e, 2, &count, &next));
	ASSERT_EQ(2U, count);
	ASSERT_ENTRY(self->e[0], 5, 100, 50);
	ASSERT_ENTRY(self->e[1], 6, 150, 60);
	EXPECT_EQ(0ULL, next);
}

TEST_F(list, list_start_id_skips_lower_ids)
{
	__u32 count = 0;
	__u64 next = 1;

	MAKE_BLOCKS(5);
	ASSERT_OK(vmm_list(self->fd, 4, self->e, CAP, &count, &next));
	ASSERT_EQ(2U, count);
	EXPECT_EQ(0ULL, next);
	ASSERT_ENTRY(self->e[0], 4, 60, 40);
	ASSERT_ENTRY(self->e[1], 5, 100, 50);
	/* Starting at a freed ID begins with the next live one. */
	ASSERT_OK(vmm_free(self->fd, 2));
	ASSERT_OK(vmm_list(self->fd, 2, self->e, CAP, &count, &next));
	ASSERT_EQ(3U, count);
	ASSERT_ENTRY(self->e[0], 3, 30, 30);
}

TEST_F(list, list_start_id_zero_and_one_are_the_same)
{
	__u32 c0 = 0, c1 = 0;
	struct vmm_block_info e1[CAP];

	MAKE_BLOCKS(3);
	ASSERT_OK(vmm_list(self->fd, 0, self->e, CAP, &c0, NULL));
	ASSERT_OK(vmm_list(self->fd, 1, e1, CAP, &c1, NULL));
	ASSERT_EQ(3U, c0);
	ASSERT_EQ(3U, c1);
	EXPECT_EQ(0, memcmp(self->e, e1, 3 * sizeof(e1[0])));
}

TEST_F(list, list_start_id_past_last_returns_nothing)
{
	__u32 count = 1;
	__u64 next = 1;

	MAKE_BLOCKS(3);
	ASSERT_OK(vmm_list(self->fd, 4, self->e, CAP, &count, &next));
	EXPECT_EQ(0U, count);
	EXPECT_EQ(0ULL, next);
	count = 1;
	next = 1;
	ASSERT_OK(vmm_list(self->fd, UINT64_MAX, self->e, CAP, &count, &next));
	EXPECT_EQ(0U, count);
	EXPECT_EQ(0ULL, next);
}

TEST_F(list, list_rejects_zero_capacity)
{
	MAKE_BLOCKS(2);
	EXPECT_ERR(EINVAL, vmm_list(self->fd, 0, self->e, 0, NULL, NULL));
}

TEST_F(list, list_rejects_capacity_above_max)
{
	MAKE_BLOCKS(2);
	EXPECT_ERR(EINVAL, vmm_list(self->fd, 0, self->e, VMM_LIST_MAX + 1,
				    NULL, NULL));
	EXPECT_ERR(EINVAL, vmm_list(self->fd, 0, self->e, UINT32_MAX, NULL,
				    NULL));
	EXPECT_ERR(EINVAL, vmm_list(self->fd, 0, self->e, 0x80000000u, NULL,
				    NULL));
}

TEST_F(list, list_returns_at_most_list_max_entries)
{
	const __u64 n = VMM_LIST_MAX + 904;
	struct vmm_block_info *e = calloc(VMM_LIST_MAX, sizeof(*e));
	__u32 count = 0;
	__u64 next = 0, i;

	ASSERT_NE(NULL, e);
	for (i = 1; i <= n; i++)
		ASSERT_OK(vmm_alloc(self->fd, 1, 0, NULL, NULL));
	ASSERT_OK(vmm_list(self->fd, 0, e, VMM_LIST_MAX, &count, &next));
	ASSERT_EQ((__u32)VMM_LIST_MAX, count);
	ASSERT_EQ((__u64)VMM_LIST_MAX + 1, next);
	for (i = 0; i < VMM_LIST_MAX; i++) {
		ASSERT_EQ(i + 1, e[i].id);
		ASSERT_EQ(i, e[i].offset);
		ASSERT_EQ(1ULL, e[i].size);
	}
	ASSERT_OK(vmm_list(self->fd, next, e, VMM_LIST_MAX, &count, &next));
	ASSERT_EQ(904U, count);
	EXPECT_EQ(0ULL, next);
	EXPECT_EQ(n, e[903].id);
	free(e);
}

TEST_F(list, list_rejects_bad_buffer)
{
	void *ro = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS,
			-1, 0);

	ASSERT_NE(MAP_FAILED, ro);
	MAKE_BLOCKS(2);
	EXPECT_ERR(EFAULT, vmm_list(self->fd, 0, NULL, CAP, NULL, NULL));
	EXPECT_ERR(EFAULT, vmm_list(self->fd, 0, vmm_unmapped_addr(), CAP,
				    NULL, NULL));
	EXPECT_ERR(EFAULT, vmm_list(self->fd, 0, ro, CAP, NULL, NULL));
	munmap(ro, 4096);
	EXPECT_EQ(2ULL, vmm_sysfs("blocks"));
}

TEST_F(list, list_rejects_nonzero_flags_pad_reserved)
{
	struct vmm_list_args base = {
		.buffer = (__u64)(uintptr_t)self->e, .capacity = CAP,
	};
	struct vmm_list_args a;

	MAKE_BLOCKS(2);
	a = base;
	a.flags = 1;
	EXPECT_ERR(EINVAL, ioctl(self->fd, VMM_IOC_LIST, &a));
	a = base;
	a.flags = 0x80000000u;
	EXPECT_ERR(EINVAL, ioctl(self->fd, VMM_IOC_LIST, &a));
	a = base;
	a.pad = 1;
	EXPECT_ERR(EINVAL, ioctl(self->fd, VMM_IOC_LIST, &a));
	a = base;
	a.reserved[0] = 1;
	EXPECT_ERR(EINVAL, ioctl(self->fd, VMM_IOC_LIST, &a));
	a = base;
	a.reserved[1] = 1;
	EXPECT_ERR(EINVAL, ioctl(self->fd, VMM_IOC_LIST, &a));
	/* The buffer was not written. */
	EXPECT_EQ(UINT64_MAX, self->e[0].id);
}

TEST_F(list, list_ignores_output_fields_on_input)
{
	struct vmm_list_args a = {
		.buffer = (__u64)(uintptr_t)self->e, .capacity = CAP,
		.count = 77, .next_id = 99,
	};

	MAKE_BLOCKS(2);
	ASSERT_OK(ioctl(self->fd, VMM_IOC_LIST, &a));
	EXPECT_EQ(2U, a.count);
	EXPECT_EQ(0ULL, a.next_id);
	EXPECT_EQ((__u32)CAP, a.capacity);
	EXPECT_EQ(0U, a.flags);
	EXPECT_EQ(0U, a.pad);
	EXPECT_EQ(0ULL, a.reserved[0]);
	ASSERT_ENTRY(self->e[0], 1, 0, 10);
	ASSERT_ENTRY(self->e[1], 2, 10, 20);
}

TEST_F(list, list_rejects_bad_argument_pointer)
{
	MAKE_BLOCKS(1);
	EXPECT_ERR(EFAULT, ioctl(self->fd, VMM_IOC_LIST, NULL));
	EXPECT_ERR(EFAULT, ioctl(self->fd, VMM_IOC_LIST, vmm_unmapped_addr()));
}

TEST_HARNESS_MAIN
