// SPDX-License-Identifier: GPL-2.0
/*
 * VMM_IOC_SELECT and the file operations it enables: read(2), write(2),
 * pread(2), pwrite(2) and lseek(2) against the selected block's bounds.
 * Every test has block 1 (B1 bytes at 0) and block 2 (B2 bytes right after
 * it), each filled with its own pattern, and a file with nothing selected.
 */
#define _GNU_SOURCE		/* SEEK_DATA, SEEK_HOLE */
#include "vmm_util.h"

#define ARENA_STR	"64K"
#define B1		4096
#define B2		1000

FIXTURE(file) {
	int fd;
	unsigned char p1[B1];
	unsigned char p2[B2];
	unsigned char buf[2 * B1];
};

FIXTURE_SETUP(file)
{
	VMM_SETUP_RELOAD(ARENA_STR, &self->fd);
	ALLOC_AT(self->fd, B1, 0, 1, 0);
	ALLOC_AT(self->fd, B2, 0, 2, B1);
	vmm_fill(self->p1, B1, 1);
	vmm_fill(self->p2, B2, 2);
	ASSERT_OK(vmm_write(self->fd, 1, 0, self->p1, B1));
	ASSERT_OK(vmm_write(self->fd, 2, 0, self->p2, B2));
}

FIXTURE_TEARDOWN(file)
{
	if (self->fd >= 0)
		close(self->fd);
}

/* Blocks 1 and 2 still hold p1 and p2. */
#define ASSERT_UNCHANGED() do { \
	static unsigned char __b[B1]; \
	ASSERT_OK(vmm_read(self->fd, 1, 0, __b, B1)); \
	ASSERT_EQ(0, memcmp(__b, self->p1, B1)) TH_LOG("block 1 changed"); \
	ASSERT_OK(vmm_read(self->fd, 2, 0, __b, B2)); \
	ASSERT_EQ(0, memcmp(__b, self->p2, B2)) TH_LOG("block 2 changed"); \
} while (0)

#define ASSERT_POS(fd, want) \
	ASSERT_EQ((off_t)(want), lseek(fd, 0, SEEK_CUR))

TEST_F(file, file_ops_fail_enxio_without_selection)
{
	EXPECT_ERR(ENXIO, (int)read(self->fd, self->buf, 1));
	EXPECT_ERR(ENXIO, (int)write(self->fd, self->buf, 1));
	EXPECT_ERR(ENXIO, (int)pread(self->fd, self->buf, 1, 0));
	EXPECT_ERR(ENXIO, (int)pwrite(self->fd, self->buf, 1, 0));
	EXPECT_ERR(ENXIO, (int)lseek(self->fd, 0, SEEK_SET));
	EXPECT_ERR(ENXIO, (int)lseek(self->fd, 0, SEEK_CUR));
	EXPECT_ERR(ENXIO, (int)lseek(self->fd, 0, SEEK_END));
	ASSERT_UNCHANGED();
}

TEST_F(file, select_rejects_unknown_id)
{
	EXPECT_ERR(ENOENT, vmm_select(self->fd, 3));
	EXPECT_ERR(ENOENT, vmm_select(self->fd, UINT64_MAX));
	ASSERT_OK(vmm_free(self->fd, 1));
	EXPECT_ERR(ENOENT, vmm_select(self->fd, 1));
	/* Still nothing selected. */
	EXPECT_ERR(ENXIO, (int)read(self->fd, self->buf, 1));
}

TEST_F(file, select_rejected_keeps_previous_selection)
{
	ASSERT_OK(vmm_select(self->fd, 1));
	ASSERT_EQ(10, read(self->fd, self->buf, 10));
	EXPECT_ERR(ENOENT, vmm_select(self->fd, 99));
	ASSERT_POS(self->fd, 10);
	ASSERT_EQ(10, read(self->fd, self->buf, 10));
	EXPECT_EQ(0, memcmp(self->buf, self->p1 + 10, 10));
}

TEST_F(file, select_rejects_nonzero_flags_pad_reserved)
{
	struct vmm_select_args a;

	ASSERT_OK(vmm_select(self->fd, 1));
	ASSERT_EQ(10, read(self->fd, self->buf, 10));

	a = (struct vmm_select_args){ .id = 2, .flags = 1 };
	EXPECT_ERR(EINVAL, ioctl(self->fd, VMM_IOC_SELECT, &a));
	a = (struct vmm_select_args){ .id = 2, .flags = 0x80000000u };
	EXPECT_ERR(EINVAL, ioctl(self->fd, VMM_IOC_SELECT, &a));
	a = (struct vmm_select_args){ .id = 2, .pad = 1 };
	EXPECT_ERR(EINVAL, ioctl(self->fd, VMM_IOC_SELECT, &a));
	a = (struct vmm_select_args){ .id = 2, .reserved = { 1, 0 } };
	EXPECT_ERR(EINVAL, ioctl(self->fd, VMM_IOC_SELECT, &a));
	a = (struct vmm_select_args){ .id = 2, .reserved = { 0, 1 } };
	EXPECT_ERR(EINVAL, ioctl(self->fd, VMM_IOC_SELECT, &a));
	/* Unbinding with a bad field is rejected too. */
	a = (struct vmm_select_args){ .id = 0, .pad = 1 };
	EXPECT_ERR(EINVAL, ioctl(self->fd, VMM_IOC_SELECT, &a));

	/* Block 1 is still selected, at the same position. */
	ASSERT_POS(self->fd, 10);
	ASSERT_EQ(10, read(self->fd, self->buf, 10));
	EXPECT_EQ(0, memcmp(self->buf, self->p1 + 10, 10));
}

TEST_F(file, select_rejects_bad_argument_pointer)
{
	EXPECT_ERR(EFAULT, ioctl(self->fd, VMM_IOC_SELECT, NULL));
	EXPECT_ERR(EFAULT, ioctl(self->fd, VMM_IOC_SELECT,
				 vmm_unmapped_addr()));
	EXPECT_ERR(ENXIO, (int)read(self->fd, self->buf, 1));
}

TEST_F(file, read_returns_block_bytes_and_advances)
{
	ASSERT_OK(vmm_select(self->fd, 1));
	ASSERT_EQ(100, read(self->fd, self->buf, 100));
	EXPECT_EQ(0, memcmp(self->buf, self->p1, 100));
	ASSERT_POS(self->fd, 100);
	ASSERT_EQ(100, read(self->fd, self->buf, 100));
	EXPECT_EQ(0, memcmp(self->buf, self->p1 + 100, 100));
	ASSERT_POS(self->fd, 200);
}

TEST_F(file, read_stops_at_block_end)
{
	/* Block 2 is followed by free space: a large read must stop. */
	ASSERT_OK(vmm_select(self->fd, 2));
	memset(self->buf, 0xee, sizeof(self->buf));
	ASSERT_EQ(B2, read(self->fd, self->buf, sizeof(self->buf)));
	EXPECT_EQ(0, memcmp(self->buf, self->p2, B2));
	EXPECT_TRUE(vmm_all(self->buf + B2, sizeof(self->buf) - B2, 0xee));
	ASSERT_POS(self->fd, B2);
	/* Block 1 is followed by block 2: the read must not run into it. */
	ASSERT_OK(vmm_select(self->fd, 1));
	ASSERT_EQ(B1, read(self->fd, self->buf, sizeof(self->buf)));
	EXPECT_EQ(0, memcmp(self->buf, self->p1, B1));
}

TEST_F(file, read_at_end_returns_zero)
{
	ASSERT_OK(vmm_select(self->fd, 1));
	ASSERT_EQ(B1, lseek(self->fd, 0, SEEK_END));
	EXPECT_EQ(0, read(self->fd, self->buf, 1));
	EXPECT_EQ(0, read(self->fd, self->buf, 100));
	ASSERT_POS(self->fd, B1);
}

TEST_F(file, read_past_end_returns_zero)
{
	ASSERT_OK(vmm_select(self->fd, 1));
	ASSERT_EQ(B1 + 100, lseek(self->fd, B1 + 100, SEEK_SET));
	EXPECT_EQ(0, read(self->fd, self->buf, 1));
	ASSERT_POS(self->fd, B1 + 100);
}

TEST_F(file, read_crossing_end_is_short)
{
	ASSERT_OK(vmm_select(self->fd, 1));
	ASSERT_EQ(B1 - 6, lseek(self->fd, -6, SEEK_END));
	memset(self->buf, 0xee, sizeof(self->buf));
	ASSERT_EQ(6, read(self->fd, self->buf, 100));
	EXPECT_EQ(0, memcmp(self->buf, self->p1 + B1 - 6, 6));
	EXPECT_TRUE(vmm_all(self->buf + 6, 94, 0xee));
	ASSERT_POS(self->fd, B1);
	EXPECT_EQ(0, read(self->fd, self->buf, 100));
}

TEST_F(file, read_into_bad_buffer_fails_efault)
{
	ASSERT_OK(vmm_select(self->fd, 1));
	EXPECT_ERR(EFAULT, (int)read(self->fd, vmm_null(), 16));
	EXPECT_ERR(EFAULT, (int)read(self->fd, vmm_unmapped_addr(), 16));
	ASSERT_UNCHANGED();
}

TEST_F(file, write_stores_bytes_and_advances)
{
	unsigned char b[100];

	ASSERT_OK(vmm_select(self->fd, 1));
	memset(b, 0x11, sizeof(b));
	ASSERT_EQ(100, write(self->fd, b, 100));
	ASSERT_POS(self->fd, 100);
	memset(b, 0x22, sizeof(b));
	ASSERT_EQ(100, write(self->fd, b, 100));
	ASSERT_POS(self->fd, 200);
	memset(self->p1, 0x11, 100);
	memset(self->p1 + 100, 0x22, 100);
	ASSERT_UNCHANGED();
}

TEST_F(file, write_ending_at_block_end_succeeds)
{
	unsigned char b[10];

	ASSERT_OK(vmm_select(self->fd, 1));
	memset(b, 0x33, sizeof(b));
	ASSERT_EQ(B1 - 10, lseek(self->fd, B1 - 10, SEEK_SET));
	ASSERT_EQ(10, write(self->fd, b, 10));
	ASSERT_POS(self->fd, B1);
	memset(self->p1 + B1 - 10, 0x33, 10);
	ASSERT_UNCHANGED();
}

TEST_F(file, write_crossing_end_fails_efbig_and_writes_nothing)
{
	unsigned char b[100];

	ASSERT_OK(vmm_select(self->fd, 1));
	memset(b, 0x44, sizeof(b));
	ASSERT_EQ(B1 - 10, lseek(self->fd, B1 - 10, SEEK_SET));
	EXPECT_ERR(EFBIG, (int)write(self->fd, b, 11));
	ASSERT_POS(self->fd, B1 - 10);
	ASSERT_EQ(0, lseek(self->fd, 0, SEEK_SET));
	EXPECT_ERR(EFBIG, (int)write(self->fd, self->buf, B1 + 1));
	ASSERT_POS(self->fd, 0);
	ASSERT_UNCHANGED();
}

TEST_F(file, write_at_or_past_end_fails_erange)
{
	ASSERT_OK(vmm_select(self->fd, 1));
	ASSERT_EQ(B1, lseek(self->fd, 0, SEEK_END));
	EXPECT_ERR(ERANGE, (int)write(self->fd, self->buf, 1));
	ASSERT_POS(self->fd, B1);
	ASSERT_EQ(B1 + 5, lseek(self->fd, 5, SEEK_END));
	EXPECT_ERR(ERANGE, (int)write(self->fd, self->buf, 1));
	ASSERT_UNCHANGED();
}

/* As on a regular file: 0 bytes are written anywhere, the end included. */
TEST_F(file, write_of_zero_bytes_returns_zero_anywhere)
{
	static const off_t at[] = { 0, B1 - 1, B1, B1 + 5, 1LL << 40 };
	unsigned int i;

	ASSERT_OK(vmm_select(self->fd, 1));
	for (i = 0; i < ARRAY_SIZE(at); i++) {
		ASSERT_EQ(at[i], lseek(self->fd, at[i], SEEK_SET));
		errno = 0;
		EXPECT_EQ(0, write(self->fd, self->buf, 0)) TH_LOG("at %lld",
							   (long long)at[i]);
		EXPECT_EQ(0, errno);
		ASSERT_POS(self->fd, at[i]);
		errno = 0;
		EXPECT_EQ(0, pwrite(self->fd, self->buf, 0, at[i]));
		EXPECT_EQ(0, errno);
	}
	ASSERT_UNCHANGED();
}

TEST_F(file, write_from_bad_buffer_fails_efault)
{
	ASSERT_OK(vmm_select(self->fd, 1));
	EXPECT_ERR(EFAULT, (int)write(self->fd, vmm_null(), 16));
	EXPECT_ERR(EFAULT, (int)write(self->fd, vmm_unmapped_addr(), 16));
	/* Block 1 may hold part of the data; block 2 must not. */
	ASSERT_OK(vmm_read(self->fd, 2, 0, self->buf, B2));
	EXPECT_EQ(0, memcmp(self->buf, self->p2, B2));
}

TEST_F(file, pread_reads_at_offset_without_moving)
{
	ASSERT_OK(vmm_select(self->fd, 1));
	ASSERT_EQ(50, lseek(self->fd, 50, SEEK_SET));
	ASSERT_EQ(10, pread(self->fd, self->buf, 10, 1000));
	EXPECT_EQ(0, memcmp(self->buf, self->p1 + 1000, 10));
	ASSERT_POS(self->fd, 50);
}

TEST_F(file, pread_at_or_past_end_returns_zero)
{
	ASSERT_OK(vmm_select(self->fd, 1));
	EXPECT_EQ(0, pread(self->fd, self->buf, 10, B1));
	EXPECT_EQ(0, pread(self->fd, self->buf, 10, B1 + 1));
	EXPECT_EQ(0, pread(self->fd, self->buf, 10, 1LL << 40));
	ASSERT_POS(self->fd, 0);
}

TEST_F(file, pread_crossing_end_is_short)
{
	ASSERT_OK(vmm_select(self->fd, 2));
	ASSERT_EQ(1, pread(self->fd, self->buf, 10, B2 - 1));
	EXPECT_EQ(self->p2[B2 - 1], self->buf[0]);
	ASSERT_EQ(B2, pread(self->fd, self->buf, B2 + 1, 0));
	EXPECT_EQ(0, memcmp(self->buf, self->p2, B2));
}

TEST_F(file, pwrite_writes_at_offset_without_moving)
{
	unsigned char b[10];

	ASSERT_OK(vmm_select(self->fd, 2));
	ASSERT_EQ(7, lseek(self->fd, 7, SEEK_SET));
	memset(b, 0x55, sizeof(b));
	ASSERT_EQ(10, pwrite(self->fd, b, 10, B2 - 10));
	ASSERT_POS(self->fd, 7);
	memset(self->p2 + B2 - 10, 0x55, 10);
	ASSERT_UNCHANGED();
}

TEST_F(file, pwrite_crossing_end_fails_efbig)
{
	unsigned char b[10];

	ASSERT_OK(vmm_select(self->fd, 2));
	memset(b, 0x66, sizeof(b));
	EXPECT_ERR(EFBIG, (int)pwrite(self->fd, b, 10, B2 - 9));
	EXPECT_ERR(EFBIG, (int)pwrite(self->fd, self->buf, B2 + 1, 0));
	ASSERT_POS(self->fd, 0);
	ASSERT_UNCHANGED();
}

TEST_F(file, pwrite_at_or_past_end_fails_erange)
{
	ASSERT_OK(vmm_select(self->fd, 2));
	EXPECT_ERR(ERANGE, (int)pwrite(self->fd, self->buf, 1, B2));
	EXPECT_ERR(ERANGE, (int)pwrite(self->fd, self->buf, 1, B2 + 1));
	EXPECT_ERR(ERANGE, (int)pwrite(self->fd, self->buf, 1, 1LL << 40));
	ASSERT_UNCHANGED();
}

TEST_F(file, lseek_set_moves_to_absolute_offset)
{
	ASSERT_OK(vmm_select(self->fd, 1));
	EXPECT_EQ(100, lseek(self->fd, 100, SEEK_SET));
	EXPECT_EQ(0, lseek(self->fd, 0, SEEK_SET));
	EXPECT_EQ(B1 - 1, lseek(self->fd, B1 - 1, SEEK_SET));
	EXPECT_EQ(B1, lseek(self->fd, B1, SEEK_SET));
	EXPECT_EQ(B1 + 10, lseek(self->fd, B1 + 10, SEEK_SET));
}

TEST_F(file, lseek_cur_moves_relative)
{
	ASSERT_OK(vmm_select(self->fd, 1));
	ASSERT_EQ(100, lseek(self->fd, 100, SEEK_SET));
	EXPECT_EQ(150, lseek(self->fd, 50, SEEK_CUR));
	EXPECT_EQ(150, lseek(self->fd, 0, SEEK_CUR));
	EXPECT_EQ(0, lseek(self->fd, -150, SEEK_CUR));
	ASSERT_EQ(10, read(self->fd, self->buf, 10));
	EXPECT_EQ(20, lseek(self->fd, 10, SEEK_CUR));
}

TEST_F(file, lseek_end_is_relative_to_block_size)
{
	ASSERT_OK(vmm_select(self->fd, 1));
	EXPECT_EQ(B1, lseek(self->fd, 0, SEEK_END));
	EXPECT_EQ(B1 - 96, lseek(self->fd, -96, SEEK_END));
	EXPECT_EQ(0, lseek(self->fd, -B1, SEEK_END));
	ASSERT_OK(vmm_select(self->fd, 2));
	EXPECT_EQ(B2, lseek(self->fd, 0, SEEK_END));
	EXPECT_EQ(B2 - 1, lseek(self->fd, -1, SEEK_END));
	ASSERT_EQ(1, read(self->fd, self->buf, 10));
	EXPECT_EQ(self->p2[B2 - 1], self->buf[0]);
}

TEST_F(file, lseek_rejects_negative_result)
{
	ASSERT_OK(vmm_select(self->fd, 1));
	ASSERT_EQ(100, lseek(self->fd, 100, SEEK_SET));
	EXPECT_ERR(EINVAL, (int)lseek(self->fd, -1, SEEK_SET));
	ASSERT_POS(self->fd, 100);
	EXPECT_ERR(EINVAL, (int)lseek(self->fd, -101, SEEK_CUR));
	ASSERT_POS(self->fd, 100);
	EXPECT_ERR(EINVAL, (int)lseek(self->fd, -(B1 + 1), SEEK_END));
	ASSERT_POS(self->fd, 100);
}

/*
 * The open mode binds read(2) and write(2) (EBADF, from the VFS), not the
 * ioctls, which check the caller against the block: an O_RDONLY file
 * writes with VMM_IOC_WRITE, and an O_WRONLY one reads with VMM_IOC_READ.
 */
TEST_F(file, open_mode_binds_read_and_write_not_ioctls)
{
	unsigned char b[16];
	int ro, wo;
	__u64 id;

	ro = open(VMM_DEV, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, ro) TH_LOG("open O_RDONLY: %s", strerror(errno));
	wo = open(VMM_DEV, O_WRONLY | O_CLOEXEC);
	ASSERT_LE(0, wo) TH_LOG("open O_WRONLY: %s", strerror(errno));
	ASSERT_OK(vmm_select(ro, 1));
	ASSERT_OK(vmm_select(wo, 1));
	EXPECT_ERR(EBADF, (int)write(ro, "x", 1));
	EXPECT_ERR(EBADF, (int)read(wo, b, sizeof(b)));
	ASSERT_UNCHANGED();
	EXPECT_OK(vmm_write(ro, 1, 0, "written-via-ro", 14));
	EXPECT_OK(vmm_read(wo, 1, 0, b, 14));
	EXPECT_EQ(0, memcmp(b, "written-via-ro", 14));
	EXPECT_EQ(14, read(ro, b, 14));
	EXPECT_EQ(0, memcmp(b, "written-via-ro", 14));
	ASSERT_OK(vmm_alloc(wo, 10, 0, &id, NULL));
	EXPECT_OK(vmm_free(ro, id));
	close(ro);
	close(wo);
}

/* A block is all data: one hole, at its end; ENXIO from the end on. */
TEST_F(file, lseek_data_and_hole_see_the_block_as_data)
{
	ASSERT_OK(vmm_select(self->fd, 1));
	EXPECT_EQ(0, lseek(self->fd, 0, SEEK_DATA));
	EXPECT_EQ(100, lseek(self->fd, 100, SEEK_DATA));
	EXPECT_EQ(B1 - 1, lseek(self->fd, B1 - 1, SEEK_DATA));
	EXPECT_EQ(B1, lseek(self->fd, 0, SEEK_HOLE));
	EXPECT_EQ(B1, lseek(self->fd, B1 - 1, SEEK_HOLE));
	ASSERT_EQ(100, lseek(self->fd, 100, SEEK_SET));
	EXPECT_ERR(ENXIO, (int)lseek(self->fd, B1, SEEK_DATA));
	EXPECT_ERR(ENXIO, (int)lseek(self->fd, B1, SEEK_HOLE));
	EXPECT_ERR(ENXIO, (int)lseek(self->fd, B1 + 10, SEEK_DATA));
	EXPECT_ERR(ENXIO, (int)lseek(self->fd, -1, SEEK_DATA));
	ASSERT_POS(self->fd, 100);
	ASSERT_OK(vmm_select(self->fd, 2));
	EXPECT_EQ(B2, lseek(self->fd, 10, SEEK_HOLE));
	EXPECT_ERR(ENXIO, (int)lseek(self->fd, B2, SEEK_DATA));
}

/*
 * Positions may go past the block's end up to the largest file offset
 * (MAX_LFS_FILESIZE, LLONG_MAX on 64-bit kernels), not beyond.
 */
TEST_F(file, lseek_rejects_result_past_largest_offset)
{
	ASSERT_OK(vmm_select(self->fd, 1));
	EXPECT_EQ(INT64_MAX, lseek(self->fd, INT64_MAX, SEEK_SET));
	EXPECT_ERR(EINVAL, (int)lseek(self->fd, 1, SEEK_CUR));
	ASSERT_POS(self->fd, INT64_MAX);
	EXPECT_ERR(EINVAL, (int)lseek(self->fd, INT64_MAX - B1 + 1, SEEK_END));
	ASSERT_POS(self->fd, INT64_MAX);
	EXPECT_EQ(INT64_MAX, lseek(self->fd, INT64_MAX - B1, SEEK_END));
	/* A byte there would end past the largest offset: refused. */
	EXPECT_ERR(EINVAL, (int)read(self->fd, self->buf, 1));
	EXPECT_ERR(EINVAL, (int)write(self->fd, "x", 1));
	ASSERT_POS(self->fd, INT64_MAX);
	ASSERT_UNCHANGED();
}

/*
 * The kernel refuses a negative position, or one whose end would pass the
 * largest offset, before vmm sees the call; nothing changes.
 */
TEST_F(file, pread_pwrite_reject_negative_and_overflowing_offsets)
{
	ASSERT_OK(vmm_select(self->fd, 1));
	EXPECT_ERR(EINVAL, (int)pread(self->fd, self->buf, 1, -1));
	EXPECT_ERR(EINVAL, (int)pwrite(self->fd, "x", 1, -1));
	EXPECT_ERR(EINVAL, (int)pread(self->fd, self->buf, 2, INT64_MAX));
	EXPECT_ERR(EINVAL, (int)pwrite(self->fd, "xy", 2, INT64_MAX));
	ASSERT_POS(self->fd, 0);
	ASSERT_UNCHANGED();
}

TEST_F(file, select_resets_position_to_zero)
{
	ASSERT_OK(vmm_select(self->fd, 1));
	ASSERT_EQ(100, lseek(self->fd, 100, SEEK_SET));
	ASSERT_OK(vmm_select(self->fd, 1));
	ASSERT_POS(self->fd, 0);
	ASSERT_EQ(100, lseek(self->fd, 100, SEEK_SET));
	ASSERT_OK(vmm_select(self->fd, 2));
	ASSERT_POS(self->fd, 0);
	ASSERT_EQ(10, read(self->fd, self->buf, 10));
	EXPECT_EQ(0, memcmp(self->buf, self->p2, 10));
}

TEST_F(file, select_zero_unbinds)
{
	/* Unbinding with nothing bound is fine. */
	ASSERT_OK(vmm_select(self->fd, 0));
	ASSERT_OK(vmm_select(self->fd, 1));
	ASSERT_EQ(10, read(self->fd, self->buf, 10));
	ASSERT_OK(vmm_select(self->fd, 0));
	EXPECT_ERR(ENXIO, (int)read(self->fd, self->buf, 1));
	EXPECT_ERR(ENXIO, (int)write(self->fd, self->buf, 1));
	EXPECT_ERR(ENXIO, (int)pread(self->fd, self->buf, 1, 0));
	EXPECT_ERR(ENXIO, (int)pwrite(self->fd, self->buf, 1, 0));
	EXPECT_ERR(ENXIO, (int)lseek(self->fd, 0, SEEK_SET));
	/* Unbinding does not free anything. */
	ASSERT_UNCHANGED();
}

TEST_F(file, file_ops_fail_enoent_after_selected_block_freed)
{
	ASSERT_OK(vmm_select(self->fd, 1));
	ASSERT_OK(vmm_free(self->fd, 1));
	EXPECT_ERR(ENOENT, (int)read(self->fd, self->buf, 1));
	EXPECT_ERR(ENOENT, (int)write(self->fd, self->buf, 1));
	EXPECT_ERR(ENOENT, (int)pread(self->fd, self->buf, 1, 0));
	EXPECT_ERR(ENOENT, (int)pwrite(self->fd, self->buf, 1, 0));
	EXPECT_ERR(ENOENT, (int)lseek(self->fd, 0, SEEK_SET));
	EXPECT_ERR(ENOENT, (int)lseek(self->fd, 0, SEEK_END));
	/* Selecting a live block recovers. */
	ASSERT_OK(vmm_select(self->fd, 2));
	ASSERT_EQ(10, read(self->fd, self->buf, 10));
	EXPECT_EQ(0, memcmp(self->buf, self->p2, 10));
}

TEST_F(file, file_ops_fail_enoent_after_free_through_other_file)
{
	int fd2 = open(VMM_DEV, O_RDWR);

	ASSERT_LE(0, fd2);
	ASSERT_OK(vmm_select(self->fd, 2));
	ASSERT_OK(vmm_free(fd2, 2));
	close(fd2);
	EXPECT_ERR(ENOENT, (int)read(self->fd, self->buf, 1));
	EXPECT_ERR(ENOENT, (int)write(self->fd, self->buf, 1));
}

TEST_F(file, freed_selection_does_not_follow_reused_slot)
{
	ASSERT_OK(vmm_select(self->fd, 1));
	ASSERT_OK(vmm_free(self->fd, 1));
	/* A new block takes block 1's range; it is not the selected one. */
	ALLOC_AT(self->fd, B1, 0, 3, 0);
	EXPECT_ERR(ENOENT, (int)read(self->fd, self->buf, 1));
	EXPECT_ERR(ENOENT, (int)write(self->fd, self->buf, 1));
	ASSERT_OK(vmm_read(self->fd, 3, 0, self->buf, B1));
	EXPECT_TRUE(vmm_all(self->buf, B1, 0));
}

TEST_F(file, two_files_select_independently)
{
	unsigned char b[10];
	int fd2 = open(VMM_DEV, O_RDWR);

	ASSERT_LE(0, fd2);
	ASSERT_OK(vmm_select(self->fd, 1));
	ASSERT_OK(vmm_select(fd2, 2));
	ASSERT_EQ(10, read(self->fd, self->buf, 10));
	EXPECT_EQ(0, memcmp(self->buf, self->p1, 10));
	ASSERT_EQ(20, read(fd2, self->buf, 20));
	EXPECT_EQ(0, memcmp(self->buf, self->p2, 20));
	ASSERT_POS(self->fd, 10);
	ASSERT_POS(fd2, 20);
	EXPECT_EQ(B1, lseek(self->fd, 0, SEEK_END));
	EXPECT_EQ(B2, lseek(fd2, 0, SEEK_END));
	/* Writes through one land in its own block only. */
	memset(b, 0x77, sizeof(b));
	ASSERT_EQ(10, pwrite(fd2, b, 10, 0));
	memset(self->p2, 0x77, 10);
	/* Unbinding one leaves the other bound. */
	ASSERT_OK(vmm_select(fd2, 0));
	ASSERT_EQ(10, pread(self->fd, self->buf, 10, 0));
	EXPECT_EQ(0, memcmp(self->buf, self->p1, 10));
	close(fd2);
	ASSERT_UNCHANGED();
}

TEST_F(file, two_files_on_same_block_keep_own_positions)
{
	int fd2 = open(VMM_DEV, O_RDWR);

	ASSERT_LE(0, fd2);
	ASSERT_OK(vmm_select(self->fd, 1));
	ASSERT_OK(vmm_select(fd2, 1));
	ASSERT_EQ(100, read(self->fd, self->buf, 100));
	ASSERT_POS(fd2, 0);
	ASSERT_EQ(10, read(fd2, self->buf, 10));
	EXPECT_EQ(0, memcmp(self->buf, self->p1, 10));
	ASSERT_POS(self->fd, 100);
	close(fd2);
}

TEST_F(file, selection_follows_block_through_defrag)
{
	ASSERT_OK(vmm_select(self->fd, 2));
	ASSERT_EQ(100, read(self->fd, self->buf, 100));
	ASSERT_OK(vmm_free(self->fd, 1));
	ASSERT_OK(vmm_defrag(self->fd, NULL, NULL));
	ASSERT_BLOCK(self->fd, 2, 0, B2);
	ASSERT_POS(self->fd, 100);
	ASSERT_EQ(100, read(self->fd, self->buf, 100));
	EXPECT_EQ(0, memcmp(self->buf, self->p2 + 100, 100));
	EXPECT_EQ(B2, lseek(self->fd, 0, SEEK_END));
}

TEST_HARNESS_MAIN
