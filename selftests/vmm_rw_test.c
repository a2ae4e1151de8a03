// SPDX-License-Identifier: GPL-2.0
/*
 * VMM_IOC_READ and VMM_IOC_WRITE: data round trips and the all-or-nothing
 * bounds at the block's edges.  Every test has block 1 (BLK bytes at 0)
 * under test and block 2 (BLK bytes right after it) filled with a guard
 * pattern that must survive whatever is done to block 1.
 */
#include "vmm_util.h"

#define ARENA_STR	"64K"
#define BLK		4096ULL
#define GUARD		0x5a

FIXTURE(rw) {
	int fd;
	unsigned char pat[BLK];		/* what block 1 holds */
	unsigned char buf[2 * BLK];
};

FIXTURE_SETUP(rw)
{
	VMM_SETUP_RELOAD(ARENA_STR, &self->fd);
	ALLOC_AT(self->fd, BLK, 0, 1, 0);
	ALLOC_AT(self->fd, BLK, 0, 2, BLK);
	vmm_fill(self->pat, BLK, 1);
	ASSERT_OK(vmm_write(self->fd, 1, 0, self->pat, BLK));
	memset(self->buf, GUARD, BLK);
	ASSERT_OK(vmm_write(self->fd, 2, 0, self->buf, BLK));
}

FIXTURE_TEARDOWN(rw)
{
	if (self->fd >= 0)
		close(self->fd);
}

/* Block 1 still holds self->pat and block 2 its guard bytes. */
#define ASSERT_UNCHANGED() do { \
	static unsigned char __b[BLK]; \
	ASSERT_OK(vmm_read(self->fd, 1, 0, __b, BLK)); \
	ASSERT_EQ(0, memcmp(__b, self->pat, BLK)) TH_LOG("block 1 changed"); \
	ASSERT_OK(vmm_read(self->fd, 2, 0, __b, BLK)); \
	ASSERT_TRUE(vmm_all(__b, BLK, GUARD)) TH_LOG("block 2 changed"); \
} while (0)

TEST_F(rw, read_returns_written_data)
{
	memset(self->buf, 0, sizeof(self->buf));
	ASSERT_OK(vmm_read(self->fd, 1, 0, self->buf, BLK));
	EXPECT_EQ(0, memcmp(self->buf, self->pat, BLK));
}

TEST_F(rw, read_returns_bytes_at_offset)
{
	memset(self->buf, 0, sizeof(self->buf));
	ASSERT_OK(vmm_read(self->fd, 1, 1000, self->buf, 10));
	EXPECT_EQ(0, memcmp(self->buf, self->pat + 1000, 10));
	/* Nothing beyond the length is stored. */
	EXPECT_TRUE(vmm_all(self->buf + 10, 100, 0));
}

TEST_F(rw, read_accepts_range_ending_at_block_end)
{
	ASSERT_OK(vmm_read(self->fd, 1, BLK - 1, self->buf, 1));
	EXPECT_EQ(self->pat[BLK - 1], self->buf[0]);
	ASSERT_OK(vmm_read(self->fd, 1, BLK - 100, self->buf, 100));
	EXPECT_EQ(0, memcmp(self->buf, self->pat + BLK - 100, 100));
}

TEST_F(rw, read_rejects_zero_length)
{
	EXPECT_ERR(EINVAL, vmm_read(self->fd, 1, 0, self->buf, 0));
	EXPECT_ERR(EINVAL, vmm_read(self->fd, 1, 100, self->buf, 0));
}

TEST_F(rw, read_rejects_range_past_end)
{
	memset(self->buf, 0xee, sizeof(self->buf));
	EXPECT_ERR(ERANGE, vmm_read(self->fd, 1, 0, self->buf, BLK + 1));
	EXPECT_ERR(ERANGE, vmm_read(self->fd, 1, BLK - 1, self->buf, 2));
	EXPECT_ERR(ERANGE, vmm_read(self->fd, 1, BLK, self->buf, 1));
	EXPECT_ERR(ERANGE, vmm_read(self->fd, 1, BLK + 100, self->buf, 1));
	/* All or nothing: the buffer was not written. */
	EXPECT_TRUE(vmm_all(self->buf, sizeof(self->buf), 0xee));
}

TEST_F(rw, read_rejects_overflowing_range)
{
	memset(self->buf, 0xee, sizeof(self->buf));
	EXPECT_ERR(ERANGE, vmm_read(self->fd, 1, 1, self->buf, UINT64_MAX));
	EXPECT_ERR(ERANGE, vmm_read(self->fd, 1, UINT64_MAX, self->buf, 1));
	/* Wraps around to a small end offset inside the block. */
	EXPECT_ERR(ERANGE, vmm_read(self->fd, 1, UINT64_MAX - 9, self->buf,
				    20));
	EXPECT_ERR(ERANGE, vmm_read(self->fd, 1, 0, self->buf, UINT64_MAX));
	EXPECT_TRUE(vmm_all(self->buf, sizeof(self->buf), 0xee));
}

TEST_F(rw, read_rejects_unknown_id)
{
	EXPECT_ERR(ENOENT, vmm_read(self->fd, 0, 0, self->buf, 1));
	EXPECT_ERR(ENOENT, vmm_read(self->fd, 3, 0, self->buf, 1));
	EXPECT_ERR(ENOENT, vmm_read(self->fd, UINT64_MAX, 0, self->buf, 1));
	ASSERT_OK(vmm_free(self->fd, 1));
	EXPECT_ERR(ENOENT, vmm_read(self->fd, 1, 0, self->buf, 1));
}

TEST_F(rw, read_rejects_bad_buffer)
{
	void *ro = mmap(NULL, BLK, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS,
			-1, 0);

	ASSERT_NE(MAP_FAILED, ro);
	EXPECT_ERR(EFAULT, vmm_read(self->fd, 1, 0, NULL, 16));
	EXPECT_ERR(EFAULT, vmm_read(self->fd, 1, 0, vmm_unmapped_addr(), 16));
	/* Readable but not writable memory cannot receive the data. */
	EXPECT_ERR(EFAULT, vmm_read(self->fd, 1, 0, ro, 16));
	/* A kernel address. */
	EXPECT_ERR(EFAULT, vmm_read(self->fd, 1, 0,
				    (void *)0xffffffff81000000ULL, 16));
	munmap(ro, BLK);
	ASSERT_UNCHANGED();
}

TEST_F(rw, read_rejects_nonzero_flags_pad_reserved)
{
	struct vmm_rw_args base = {
		.id = 1, .length = 16, .buffer = (__u64)(uintptr_t)self->buf,
	};
	struct vmm_rw_args a;

	memset(self->buf, 0xee, sizeof(self->buf));
	a = base;
	a.flags = 1;
	EXPECT_ERR(EINVAL, ioctl(self->fd, VMM_IOC_READ, &a));
	a = base;
	a.flags = 0x80000000u;
	EXPECT_ERR(EINVAL, ioctl(self->fd, VMM_IOC_READ, &a));
	a = base;
	a.pad = 1;
	EXPECT_ERR(EINVAL, ioctl(self->fd, VMM_IOC_READ, &a));
	a = base;
	a.reserved[0] = 1;
	EXPECT_ERR(EINVAL, ioctl(self->fd, VMM_IOC_READ, &a));
	a = base;
	a.reserved[1] = 1;
	EXPECT_ERR(EINVAL, ioctl(self->fd, VMM_IOC_READ, &a));
	EXPECT_TRUE(vmm_all(self->buf, sizeof(self->buf), 0xee));
}

TEST_F(rw, read_rejects_bad_argument_pointer)
{
	EXPECT_ERR(EFAULT, ioctl(self->fd, VMM_IOC_READ, NULL));
	EXPECT_ERR(EFAULT, ioctl(self->fd, VMM_IOC_READ, vmm_unmapped_addr()));
}

TEST_F(rw, write_stores_bytes_at_offset)
{
	unsigned char b[10];

	memset(b, 0x11, sizeof(b));
	ASSERT_OK(vmm_write(self->fd, 1, 500, b, sizeof(b)));
	memcpy(self->pat + 500, b, sizeof(b));
	ASSERT_UNCHANGED();
}

TEST_F(rw, write_accepts_range_ending_at_block_end)
{
	unsigned char b[10];

	memset(b, 0x22, sizeof(b));
	ASSERT_OK(vmm_write(self->fd, 1, BLK - 10, b, 10));
	memcpy(self->pat + BLK - 10, b, 10);
	ASSERT_OK(vmm_write(self->fd, 1, BLK - 1, b, 1));
	ASSERT_UNCHANGED();
}

TEST_F(rw, write_accepts_zero_length_inside_block)
{
	ASSERT_OK(vmm_write(self->fd, 1, 0, self->buf, 0));
	ASSERT_OK(vmm_write(self->fd, 1, 100, self->buf, 0));
	ASSERT_OK(vmm_write(self->fd, 1, BLK - 1, self->buf, 0));
	ASSERT_UNCHANGED();
}

TEST_F(rw, write_rejects_zero_length_at_or_past_end)
{
	EXPECT_ERR(ERANGE, vmm_write(self->fd, 1, BLK, self->buf, 0));
	EXPECT_ERR(ERANGE, vmm_write(self->fd, 1, BLK + 1, self->buf, 0));
	EXPECT_ERR(ERANGE, vmm_write(self->fd, 1, UINT64_MAX, self->buf, 0));
}

TEST_F(rw, write_rejects_offset_at_or_past_end)
{
	EXPECT_ERR(ERANGE, vmm_write(self->fd, 1, BLK, self->buf, 1));
	EXPECT_ERR(ERANGE, vmm_write(self->fd, 1, BLK, self->buf, BLK));
	EXPECT_ERR(ERANGE, vmm_write(self->fd, 1, BLK + 1, self->buf, 1));
	EXPECT_ERR(ERANGE, vmm_write(self->fd, 1, 2 * BLK, self->buf, 1));
	ASSERT_UNCHANGED();
}

TEST_F(rw, write_rejects_crossing_end_and_writes_nothing)
{
	memset(self->buf, 0x33, sizeof(self->buf));
	EXPECT_ERR(EFBIG, vmm_write(self->fd, 1, BLK - 10, self->buf, 11));
	EXPECT_ERR(EFBIG, vmm_write(self->fd, 1, BLK - 1, self->buf, 2));
	EXPECT_ERR(EFBIG, vmm_write(self->fd, 1, 0, self->buf, BLK + 1));
	EXPECT_ERR(EFBIG, vmm_write(self->fd, 1, 1, self->buf, BLK));
	ASSERT_UNCHANGED();
}

TEST_F(rw, write_rejects_overflowing_range)
{
	memset(self->buf, 0x44, sizeof(self->buf));
	EXPECT_ERR(EFBIG, vmm_write(self->fd, 1, 1, self->buf, UINT64_MAX));
	EXPECT_ERR(EFBIG, vmm_write(self->fd, 1, BLK - 1, self->buf,
				    UINT64_MAX));
	EXPECT_ERR(EFBIG, vmm_write(self->fd, 1, 0, self->buf, UINT64_MAX));
	EXPECT_ERR(EFBIG, vmm_write(self->fd, 1, 100, self->buf,
				    UINT64_MAX - 50));
	ASSERT_UNCHANGED();
}

TEST_F(rw, write_rejects_unknown_id)
{
	EXPECT_ERR(ENOENT, vmm_write(self->fd, 0, 0, self->buf, 1));
	EXPECT_ERR(ENOENT, vmm_write(self->fd, 3, 0, self->buf, 1));
	EXPECT_ERR(ENOENT, vmm_write(self->fd, UINT64_MAX, 0, self->buf, 1));
	ASSERT_OK(vmm_free(self->fd, 1));
	EXPECT_ERR(ENOENT, vmm_write(self->fd, 1, 0, self->buf, 1));
	/* Block 1's old range is free again, block 2 untouched. */
	ASSERT_OK(vmm_read(self->fd, 2, 0, self->buf, BLK));
	EXPECT_TRUE(vmm_all(self->buf, BLK, GUARD));
}

TEST_F(rw, write_rejects_bad_buffer)
{
	void *none = mmap(NULL, BLK, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
			  -1, 0);

	ASSERT_NE(MAP_FAILED, none);
	EXPECT_ERR(EFAULT, vmm_write(self->fd, 1, 0, NULL, 16));
	EXPECT_ERR(EFAULT, vmm_write(self->fd, 1, 0, vmm_unmapped_addr(), 16));
	EXPECT_ERR(EFAULT, vmm_write(self->fd, 1, 0, none, 16));
	EXPECT_ERR(EFAULT, vmm_write(self->fd, 1, 0,
				     (void *)0xffffffff81000000ULL, 16));
	munmap(none, BLK);
	/* A failed WRITE may have stored part of the data: only block 2. */
	ASSERT_OK(vmm_read(self->fd, 2, 0, self->buf, BLK));
	EXPECT_TRUE(vmm_all(self->buf, BLK, GUARD));
}

TEST_F(rw, write_partly_unmapped_buffer_touches_no_other_block)
{
	long pg = sysconf(_SC_PAGESIZE);
	unsigned char *p = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(0, munmap(p + pg, pg));
	memset(p, 0x66, pg);
	/* 100 readable bytes, then a hole. */
	EXPECT_ERR(EFAULT, vmm_write(self->fd, 1, 0, p + pg - 100, BLK));
	munmap(p, pg);
	ASSERT_OK(vmm_read(self->fd, 2, 0, self->buf, BLK));
	EXPECT_TRUE(vmm_all(self->buf, BLK, GUARD));
	EXPECT_EQ(2ULL, vmm_sysfs("blocks"));
}

TEST_F(rw, write_rejects_nonzero_flags_pad_reserved)
{
	struct vmm_rw_args base = {
		.id = 1, .length = 16, .buffer = (__u64)(uintptr_t)self->buf,
	};
	struct vmm_rw_args a;

	memset(self->buf, 0x77, sizeof(self->buf));
	a = base;
	a.flags = 1;
	EXPECT_ERR(EINVAL, ioctl(self->fd, VMM_IOC_WRITE, &a));
	a = base;
	a.flags = 0x80000000u;
	EXPECT_ERR(EINVAL, ioctl(self->fd, VMM_IOC_WRITE, &a));
	a = base;
	a.pad = 1;
	EXPECT_ERR(EINVAL, ioctl(self->fd, VMM_IOC_WRITE, &a));
	a = base;
	a.reserved[0] = 1;
	EXPECT_ERR(EINVAL, ioctl(self->fd, VMM_IOC_WRITE, &a));
	a = base;
	a.reserved[1] = 1;
	EXPECT_ERR(EINVAL, ioctl(self->fd, VMM_IOC_WRITE, &a));
	ASSERT_UNCHANGED();
}

TEST_F(rw, write_rejects_bad_argument_pointer)
{
	EXPECT_ERR(EFAULT, ioctl(self->fd, VMM_IOC_WRITE, NULL));
	EXPECT_ERR(EFAULT, ioctl(self->fd, VMM_IOC_WRITE, vmm_unmapped_addr()));
	ASSERT_UNCHANGED();
}

TEST_F(rw, write_whole_block_does_not_spill_into_neighbours)
{
	/* Block 3 sits right after block 2; rewrite 2 completely. */
	ALLOC_AT(self->fd, BLK, 0, 3, 2 * BLK);
	memset(self->buf, 0x99, BLK);
	ASSERT_OK(vmm_write(self->fd, 3, 0, self->buf, BLK));
	memset(self->buf, 0x12, BLK);
	ASSERT_OK(vmm_write(self->fd, 2, 0, self->buf, BLK));
	memset(self->buf, 0, BLK);
	ASSERT_OK(vmm_read(self->fd, 3, 0, self->buf, BLK));
	EXPECT_TRUE(vmm_all(self->buf, BLK, 0x99));
	ASSERT_OK(vmm_read(self->fd, 2, 0, self->buf, BLK));
	EXPECT_TRUE(vmm_all(self->buf, BLK, 0x12));
	ASSERT_OK(vmm_read(self->fd, 1, 0, self->buf, BLK));
	EXPECT_EQ(0, memcmp(self->buf, self->pat, BLK));
}

TEST_F(rw, rw_round_trips_single_bytes_at_every_edge)
{
	static const __u64 offs[] = { 0, 1, BLK / 2, BLK - 2, BLK - 1 };
	unsigned int i;
	unsigned char c;

	for (i = 0; i < ARRAY_SIZE(offs); i++) {
		c = (unsigned char)(0xc0 + i);
		ASSERT_OK(vmm_write(self->fd, 1, offs[i], &c, 1));
		self->pat[offs[i]] = c;
		c = 0;
		ASSERT_OK(vmm_read(self->fd, 1, offs[i], &c, 1));
		EXPECT_EQ(0xc0 + i, c);
	}
	ASSERT_UNCHANGED();
}

TEST_F(rw, rw_round_trips_large_block)
{
	const __u64 sz = 48 * KiB;	/* the largest that fits after 1 and 2 */
	unsigned char *in = malloc(sz), *out = malloc(sz);

	ASSERT_NE(NULL, in);
	ASSERT_NE(NULL, out);
	ALLOC_AT(self->fd, sz, 0, 3, 2 * BLK);
	vmm_fill(in, sz, 3);
	ASSERT_OK(vmm_write(self->fd, 3, 0, in, sz));
	ASSERT_OK(vmm_read(self->fd, 3, 0, out, sz));
	EXPECT_EQ(0, memcmp(in, out, sz));
	free(in);
	free(out);
	ASSERT_UNCHANGED();
}

TEST_HARNESS_MAIN
