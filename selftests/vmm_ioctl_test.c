// SPDX-License-Identifier: GPL-2.0
/*
 * ioctl dispatch: unknown commands, known numbers with the wrong size or
 * magic, and that none of them changes any state.
 */
#include "vmm_util.h"

#include <termios.h>

#define ARENA_STR	"64K"

FIXTURE(ioctl) {
	int fd;
	/* Large and zeroed, so that no rejection can be blamed on EFAULT. */
	__u64 arg[64];
	struct vmm_stats_args before;
};

FIXTURE_SETUP(ioctl)
{
	VMM_SETUP_RELOAD(ARENA_STR, &self->fd);
	ALLOC_AT(self->fd, 100, 0, 1, 0);
	ALLOC_AT(self->fd, 100, 0, 2, 100);
	ASSERT_OK(vmm_free(self->fd, 1));
	ASSERT_OK(vmm_stats(self->fd, &self->before));
}

FIXTURE_TEARDOWN(ioctl)
{
	if (self->fd >= 0)
		close(self->fd);
}

/* No counter or block moved, and the next ID is still 3. */
#define ASSERT_NO_STATE_CHANGE() do { \
	struct vmm_stats_args __now; \
	ASSERT_OK(vmm_stats(self->fd, &__now)); \
	/* Every hold of the lock, reads included, may raise it. */ \
	__now.max_lock_hold_ns = self->before.max_lock_hold_ns; \
	ASSERT_EQ(0, memcmp(&self->before, &__now, sizeof(__now))); \
	ASSERT_BLOCK(self->fd, 2, 100, 100); \
	ALLOC_AT(self->fd, 1, 0, 3, 0); \
} while (0)

/* ioctl() fails with ENOTTY; names the command number if not. */
#define EXPECT_ENOTTY(cmd, arg) do { \
	unsigned long __cmd = (cmd); \
	int __r, __e; \
	errno = 0; \
	__r = ioctl(self->fd, __cmd, arg); \
	__e = errno; \
	EXPECT_EQ(-1, __r) TH_LOG("cmd %#lx (nr %lu size %lu)", __cmd, \
				  (unsigned long)_IOC_NR(__cmd), \
				  (unsigned long)_IOC_SIZE(__cmd)); \
	EXPECT_EQ(ENOTTY, __e) TH_LOG("cmd %#lx: errno %d", __cmd, __e); \
} while (0)

static const unsigned long vmm_cmds[] = {
	VMM_IOC_ALLOC, VMM_IOC_FREE, VMM_IOC_DEFRAG, VMM_IOC_INFO,
	VMM_IOC_STATS, VMM_IOC_SELECT, VMM_IOC_READ, VMM_IOC_WRITE,
	VMM_IOC_LIST, VMM_IOC_CHMOD, VMM_IOC_CHOWN, VMM_IOC_USAGE,
	VMM_IOC_BATCH,
};

#define NCMDS ARRAY_SIZE(vmm_cmds)

/* @cmd with its size field replaced by @size. */
static unsigned long with_size(unsigned long cmd, unsigned int size)
{
	return _IOC(_IOC_DIR(cmd), _IOC_TYPE(cmd), _IOC_NR(cmd), size);
}

TEST_F(ioctl, ioctl_commands_have_expected_numbers)
{
	unsigned int i;

	/* The ABI: magic 0xBA, numbers 0..12 in this order. */
	for (i = 0; i < NCMDS; i++) {
		EXPECT_EQ(0xBAU, _IOC_TYPE(vmm_cmds[i]));
		EXPECT_EQ(i, _IOC_NR(vmm_cmds[i]));
	}
	EXPECT_EQ(72U, _IOC_SIZE(VMM_IOC_ALLOC));
	EXPECT_EQ(32U, _IOC_SIZE(VMM_IOC_FREE));
	EXPECT_EQ(56U, _IOC_SIZE(VMM_IOC_DEFRAG));
	EXPECT_EQ(64U, _IOC_SIZE(VMM_IOC_INFO));
	EXPECT_EQ(128U, _IOC_SIZE(VMM_IOC_STATS));
	EXPECT_EQ(32U, _IOC_SIZE(VMM_IOC_SELECT));
	EXPECT_EQ(56U, _IOC_SIZE(VMM_IOC_READ));
	EXPECT_EQ(56U, _IOC_SIZE(VMM_IOC_WRITE));
	EXPECT_EQ(56U, _IOC_SIZE(VMM_IOC_LIST));
	EXPECT_EQ(32U, _IOC_SIZE(VMM_IOC_CHMOD));
	EXPECT_EQ(40U, _IOC_SIZE(VMM_IOC_CHOWN));
	EXPECT_EQ(48U, _IOC_SIZE(VMM_IOC_USAGE));
	EXPECT_EQ(40U, _IOC_SIZE(VMM_IOC_BATCH));
	EXPECT_EQ(64U, sizeof(struct vmm_block_info));
	EXPECT_EQ(32U, sizeof(struct vmm_user_usage));
	EXPECT_EQ(80U, sizeof(struct vmm_batch_entry));
}

TEST_F(ioctl, ioctl_rejects_unknown_command_number)
{
	unsigned int nr;

	for (nr = NCMDS; nr < 256; nr++) {
		EXPECT_ENOTTY(_IO(VMM_IOC_MAGIC, nr), self->arg);
		EXPECT_ENOTTY(_IOWR(VMM_IOC_MAGIC, nr, struct vmm_alloc_args),
			      self->arg);
	}
	ASSERT_NO_STATE_CHANGE();
}

TEST_F(ioctl, ioctl_rejects_other_magic)
{
	EXPECT_ENOTTY(0, self->arg);
	EXPECT_ENOTTY(_IOWR(0xBB, 0x00, struct vmm_alloc_args), self->arg);
	EXPECT_ENOTTY(_IOR(0xB9, 0x04, struct vmm_stats_args), self->arg);
	EXPECT_ENOTTY(TCGETS, self->arg);
	ASSERT_NO_STATE_CHANGE();
}

TEST_F(ioctl, ioctl_rejects_smaller_size)
{
	unsigned int i;

	for (i = 0; i < NCMDS; i++) {
		unsigned int sz = _IOC_SIZE(vmm_cmds[i]);

		EXPECT_ENOTTY(with_size(vmm_cmds[i], sz - 8), self->arg);
		EXPECT_ENOTTY(with_size(vmm_cmds[i], sz - 1), self->arg);
		EXPECT_ENOTTY(with_size(vmm_cmds[i], 8), self->arg);
		EXPECT_ENOTTY(with_size(vmm_cmds[i], 0), self->arg);
	}
	ASSERT_NO_STATE_CHANGE();
}

TEST_F(ioctl, ioctl_rejects_larger_size)
{
	unsigned int i;

	for (i = 0; i < NCMDS; i++) {
		unsigned int sz = _IOC_SIZE(vmm_cmds[i]);

		EXPECT_ENOTTY(with_size(vmm_cmds[i], sz + 8), self->arg);
		EXPECT_ENOTTY(with_size(vmm_cmds[i], sz + 1), self->arg);
		EXPECT_ENOTTY(with_size(vmm_cmds[i], sizeof(self->arg)),
			      self->arg);
	}
	ASSERT_NO_STATE_CHANGE();
}

TEST_F(ioctl, ioctl_rejects_wrong_size_before_reading_argument)
{
	unsigned int i;

	/* The size is checked first: ENOTTY, not EFAULT, for a bad pointer. */
	for (i = 0; i < NCMDS; i++) {
		unsigned int sz = _IOC_SIZE(vmm_cmds[i]);

		EXPECT_ENOTTY(with_size(vmm_cmds[i], sz + 8), NULL);
	}
	EXPECT_ENOTTY(_IO(VMM_IOC_MAGIC, 0x20), NULL);
	ASSERT_NO_STATE_CHANGE();
}

/*
 * A readable but read-only argument struct: the input is fine, the output
 * cannot be stored.  Every command that writes its struct back must fail
 * with EFAULT; an ALLOC whose ID nobody could learn must not leave a block
 * behind.
 */
TEST_F(ioctl, ioctl_fails_efault_when_result_cannot_be_stored)
{
	long pg = sysconf(_SC_PAGESIZE);
	struct vmm_block_info e[2];
	struct vmm_user_usage u[2];
	struct vmm_batch_entry b = { 0 };
	__u64 size = 0, allocs;
	void *p = mmap(NULL, pg, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	ASSERT_NE(MAP_FAILED, p);
	memset(p, 0, pg);
	((struct vmm_alloc_args *)p)->size = 100;
	ASSERT_EQ(0, mprotect(p, pg, PROT_READ));
	EXPECT_ERR(EFAULT, ioctl(self->fd, VMM_IOC_ALLOC, p));
	EXPECT_EQ(1ULL, vmm_sysfs("blocks"));
	EXPECT_EQ(100ULL, vmm_sysfs("used"));

	ASSERT_EQ(0, mprotect(p, pg, PROT_READ | PROT_WRITE));
	memset(p, 0, pg);
	((struct vmm_info_args *)p)->id = 2;
	ASSERT_EQ(0, mprotect(p, pg, PROT_READ));
	EXPECT_ERR(EFAULT, ioctl(self->fd, VMM_IOC_INFO, p));

	ASSERT_EQ(0, mprotect(p, pg, PROT_READ | PROT_WRITE));
	memset(p, 0, pg);
	((struct vmm_list_args *)p)->buffer = (__u64)(uintptr_t)e;
	((struct vmm_list_args *)p)->capacity = 2;
	ASSERT_EQ(0, mprotect(p, pg, PROT_READ));
	EXPECT_ERR(EFAULT, ioctl(self->fd, VMM_IOC_LIST, p));

	ASSERT_EQ(0, mprotect(p, pg, PROT_READ | PROT_WRITE));
	memset(p, 0, pg);
	ASSERT_EQ(0, mprotect(p, pg, PROT_READ));
	EXPECT_ERR(EFAULT, ioctl(self->fd, VMM_IOC_STATS, p));
	EXPECT_ERR(EFAULT, ioctl(self->fd, VMM_IOC_DEFRAG, p));

	ASSERT_EQ(0, mprotect(p, pg, PROT_READ | PROT_WRITE));
	memset(p, 0, pg);
	((struct vmm_usage_args *)p)->buffer = (__u64)(uintptr_t)u;
	((struct vmm_usage_args *)p)->capacity = 2;
	ASSERT_EQ(0, mprotect(p, pg, PROT_READ));
	EXPECT_ERR(EFAULT, ioctl(self->fd, VMM_IOC_USAGE, p));

	/* A batch whose header cannot be stored runs no entry. */
	ASSERT_EQ(0, mprotect(p, pg, PROT_READ | PROT_WRITE));
	memset(p, 0, pg);
	b.op = VMM_BATCH_ALLOC;
	b.alloc.size = 100;
	((struct vmm_batch_args *)p)->entries = (__u64)(uintptr_t)&b;
	((struct vmm_batch_args *)p)->count = 1;
	ASSERT_EQ(0, mprotect(p, pg, PROT_READ));
	allocs = vmm_sysfs("allocs");
	EXPECT_ERR(EFAULT, ioctl(self->fd, VMM_IOC_BATCH, p));
	EXPECT_EQ(allocs, vmm_sysfs("allocs"));
	munmap(p, pg);
	/* Whether that DEFRAG moved block 2 first is not specified. */
	EXPECT_EQ(1ULL, vmm_sysfs("blocks"));
	ASSERT_OK(vmm_info(self->fd, 2, NULL, &size));
	EXPECT_EQ(100ULL, size);
}

TEST_F(ioctl, ioctl_accepts_zeroed_known_commands)
{
	/*
	 * Control for the tests above: the same zeroed buffer passed with
	 * the real command numbers reaches each command's own checks.
	 */
	memset(self->arg, 0, sizeof(self->arg));
	EXPECT_ERR(EINVAL, ioctl(self->fd, VMM_IOC_ALLOC, self->arg));
	EXPECT_ERR(ENOENT, ioctl(self->fd, VMM_IOC_FREE, self->arg));
	EXPECT_ERR(ENOENT, ioctl(self->fd, VMM_IOC_INFO, self->arg));
	EXPECT_ERR(ENOENT, ioctl(self->fd, VMM_IOC_WRITE, self->arg));
	EXPECT_ERR(EINVAL, ioctl(self->fd, VMM_IOC_LIST, self->arg));
	ASSERT_OK(ioctl(self->fd, VMM_IOC_SELECT, self->arg));
	ASSERT_NO_STATE_CHANGE();
}

TEST_HARNESS_MAIN
