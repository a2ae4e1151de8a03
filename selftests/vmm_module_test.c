// SPDX-License-Identifier: GPL-2.0
/*
 * The module's life: the size parameter and its suffixes, tiny and huge
 * arenas, unloading with live blocks, and the reference an open file
 * holds.  Each test loads the module itself.
 */
#include <time.h>

#include "vmm_util.h"

FIXTURE(module) {
	int fd;
};

FIXTURE_SETUP(module)
{
	const char *why = vmm_skip_reason();

	if (why)
		VMM_SETUP_SKIP("%s", why);
	self->fd = -1;
}

FIXTURE_TEARDOWN(module)
{
	if (self->fd >= 0)
		close(self->fd);
}

/* Reload with @param and open the device into self->fd. */
#define RELOAD_OPEN(param) do { \
	const char *__param = (param); \
	if (self->fd >= 0) \
		close(self->fd); \
	self->fd = -1; \
	vmm_unload_for_reload(); \
	ASSERT_EQ(0, vmm_load(__param)) \
		TH_LOG("modprobe vmm size=%s", \
		       __param ? __param : "(default)"); \
	self->fd = open(VMM_DEV, O_RDWR); \
	ASSERT_LE(0, self->fd) TH_LOG("open: %s", strerror(errno)); \
} while (0)

/* The parameter, sysfs and STATS all report an arena of @bytes. */
#define ASSERT_ARENA_SIZE(bytes) do { \
	struct vmm_stats_args __st; \
	__u64 __bytes = (bytes); \
	ASSERT_EQ(__bytes, vmm_read_u64_file(VMM_PARAM_SIZE)); \
	ASSERT_EQ(__bytes, vmm_sysfs("size")); \
	ASSERT_EQ(__bytes, vmm_sysfs("free")); \
	ASSERT_EQ(__bytes, vmm_sysfs("largest_free")); \
	ASSERT_OK(vmm_stats(self->fd, &__st)); \
	ASSERT_EQ(__bytes, __st.size); \
} while (0)

TEST_F(module, module_defaults_to_16m_arena)
{
	RELOAD_OPEN(NULL);
	ASSERT_ARENA_SIZE(16 * MiB);
}

TEST_F(module, module_param_accepts_plain_bytes)
{
	RELOAD_OPEN("12345");
	ASSERT_ARENA_SIZE(12345);
	ALLOC_AT(self->fd, 12345, 0, 1, 0);
}

TEST_F(module, module_param_accepts_k_suffix)
{
	RELOAD_OPEN("4K");
	ASSERT_ARENA_SIZE(4096);
	ALLOC_AT(self->fd, 4096, 0, 1, 0);
	EXPECT_ERR(ENOSPC, vmm_alloc(self->fd, 1, 0, NULL, NULL));
}

TEST_F(module, module_param_accepts_m_suffix)
{
	RELOAD_OPEN("3M");
	ASSERT_ARENA_SIZE(3 * MiB);
}

TEST_F(module, module_param_accepts_g_suffix)
{
	RELOAD_OPEN("1G");
	ASSERT_ARENA_SIZE(GiB);
}

/*
 * A refused load: it fails, and where finit_module(2) did the loading
 * (always in the guest), with the module's EINVAL; modprobe's exit status
 * carries no errno.
 */
#define EXPECT_LOAD_EINVAL(call) do { \
	errno = 0; \
	int __ret = (call); \
	int __err = errno; \
	EXPECT_NE(0, __ret); \
	if (vmm_ko_path()) \
		EXPECT_EQ(EINVAL, __err) \
			TH_LOG("errno %d (%s)", __err, strerror(__err)); \
} while (0)

TEST_F(module, module_rejects_zero_size)
{
	vmm_unload_for_reload();
	EXPECT_LOAD_EINVAL(vmm_load("0"));
	EXPECT_FALSE(vmm_module_loaded());
	EXPECT_FALSE(vmm_path_exists(VMM_DEV));
	/* And loads again afterwards. */
	RELOAD_OPEN("4K");
	ASSERT_ARENA_SIZE(4096);
}

TEST_F(module, module_supports_one_byte_arena)
{
	unsigned char c = 0xab;

	RELOAD_OPEN("1");
	ASSERT_ARENA_SIZE(1);
	EXPECT_ERR(EINVAL, vmm_alloc(self->fd, 2, 0, NULL, NULL));
	EXPECT_ERR(EINVAL, vmm_alloc(self->fd, 1, 2, NULL, NULL));
	ALLOC_AT(self->fd, 1, 1, 1, 0);
	EXPECT_ERR(ENOSPC, vmm_alloc(self->fd, 1, 0, NULL, NULL));
	EXPECT_EQ(0ULL, vmm_sysfs("free"));
	EXPECT_EQ(0ULL, vmm_sysfs("fragmentation"));
	EXPECT_EQ(1ULL, vmm_sysfs("alloc_failures"));
	ASSERT_OK(vmm_write(self->fd, 1, 0, &c, 1));
	c = 0;
	ASSERT_OK(vmm_read(self->fd, 1, 0, &c, 1));
	EXPECT_EQ(0xab, c);
	ASSERT_OK(vmm_free(self->fd, 1));
	ALLOC_AT(self->fd, 1, 0, 2, 0);
	ASSERT_OK(vmm_read(self->fd, 2, 0, &c, 1));
	EXPECT_EQ(0, c);
}

TEST_F_TIMEOUT(module, module_supports_1g_arena, 180)
{
	const __u64 half = GiB / 2, quarter = GiB / 4;
	__u64 bytes = 0, blocks = 0;
	unsigned char c;

	RELOAD_OPEN("1G");
	ASSERT_ARENA_SIZE(GiB);
	ALLOC_AT(self->fd, half, 0, 1, 0);
	ALLOC_AT(self->fd, quarter, quarter, 2, half);
	EXPECT_ERR(ENOSPC, vmm_alloc(self->fd, quarter + 1, 0, NULL, NULL));
	/* The last byte of the arena belongs to block 3. */
	ALLOC_AT(self->fd, quarter, 0, 3, half + quarter);
	c = 0x5c;
	ASSERT_OK(vmm_write(self->fd, 3, quarter - 1, &c, 1));
	c = 0xc5;
	ASSERT_OK(vmm_write(self->fd, 2, 0, &c, 1));
	EXPECT_EQ(0ULL, vmm_sysfs("free"));
	ASSERT_OK(vmm_free(self->fd, 1));
	ASSERT_OK(vmm_defrag(self->fd, &bytes, &blocks));
	EXPECT_EQ(half, bytes);
	EXPECT_EQ(2ULL, blocks);
	ASSERT_BLOCK(self->fd, 2, 0, quarter);
	ASSERT_BLOCK(self->fd, 3, quarter, quarter);
	ASSERT_OK(vmm_read(self->fd, 3, quarter - 1, &c, 1));
	EXPECT_EQ(0x5c, c);
	ASSERT_OK(vmm_read(self->fd, 2, 0, &c, 1));
	EXPECT_EQ(0xc5, c);
	EXPECT_EQ(half, vmm_sysfs("largest_free"));
	EXPECT_EQ(half, vmm_sysfs("bytes_moved"));
	/* The tail the blocks left is zeroed for the next owner. */
	ALLOC_AT(self->fd, half, 0, 4, half);
	ASSERT_OK(vmm_read(self->fd, 4, half - 1, &c, 1));
	EXPECT_EQ(0, c);
}

TEST_F(module, module_unloads_with_live_blocks)
{
	unsigned char buf[64];

	RELOAD_OPEN("64K");
	ALLOC_AT(self->fd, 64, 0, 1, 0);
	ALLOC_AT(self->fd, 64, 0, 2, 64);
	ALLOC_AT(self->fd, 64, 0, 3, 128);
	ASSERT_OK(vmm_free(self->fd, 2));
	memset(buf, 0x11, sizeof(buf));
	ASSERT_OK(vmm_write(self->fd, 1, 0, buf, sizeof(buf)));
	ASSERT_OK(vmm_select(self->fd, 3));
	close(self->fd);
	self->fd = -1;

	ASSERT_EQ(0, vmm_unload());
	EXPECT_FALSE(vmm_module_loaded());
	EXPECT_FALSE(vmm_path_exists(VMM_DEV));

	/* A fresh arena: IDs restart at 1, nothing counted, zeros. */
	ASSERT_EQ(0, vmm_load("64K"));
	self->fd = open(VMM_DEV, O_RDWR);
	ASSERT_LE(0, self->fd);
	EXPECT_EQ(0ULL, vmm_sysfs("blocks"));
	EXPECT_EQ(0ULL, vmm_sysfs("used"));
	EXPECT_EQ(0ULL, vmm_sysfs("allocs"));
	EXPECT_EQ(0ULL, vmm_sysfs("frees"));
	EXPECT_ERR(ENOENT, vmm_info(self->fd, 1, NULL, NULL));
	EXPECT_ERR(ENOENT, vmm_info(self->fd, 3, NULL, NULL));
	ALLOC_AT(self->fd, 64, 0, 1, 0);
	memset(buf, 0xee, sizeof(buf));
	ASSERT_OK(vmm_read(self->fd, 1, 0, buf, sizeof(buf)));
	EXPECT_TRUE(vmm_all(buf, sizeof(buf), 0));
}

/* delete_module(2) as rmmod calls it: 0, or -1 and errno. */
static int unload_nonblock(void)
{
	return (int)syscall(SYS_delete_module, "vmm", O_NONBLOCK);
}

TEST_F(module, module_unload_fails_while_device_open)
{
	RELOAD_OPEN("64K");
	ALLOC_AT(self->fd, 64, 0, 1, 0);
	EXPECT_ERR(EWOULDBLOCK, unload_nonblock());
	ASSERT_TRUE(vmm_module_loaded());
	ASSERT_TRUE(vmm_path_exists(VMM_DEV));
	/* The open file still works and the arena is intact. */
	ASSERT_BLOCK(self->fd, 1, 0, 64);
	ALLOC_AT(self->fd, 64, 0, 2, 64);
	close(self->fd);
	self->fd = -1;
	EXPECT_EQ(0, vmm_unload());
	EXPECT_FALSE(vmm_module_loaded());
}

TEST_F(module, module_unload_fails_while_any_of_several_files_open)
{
	int fd2;

	RELOAD_OPEN("64K");
	fd2 = open(VMM_DEV, O_RDONLY);
	ASSERT_LE(0, fd2);
	close(self->fd);
	self->fd = -1;
	EXPECT_ERR(EWOULDBLOCK, unload_nonblock());
	EXPECT_TRUE(vmm_module_loaded());
	close(fd2);
	EXPECT_EQ(0, vmm_unload());
}

TEST_F(module, module_reload_resets_counters)
{
	RELOAD_OPEN("4K");
	ALLOC_AT(self->fd, 4096, 0, 1, 0);
	EXPECT_ERR(ENOSPC, vmm_alloc(self->fd, 1, 0, NULL, NULL));
	ASSERT_OK(vmm_free(self->fd, 1));
	ASSERT_OK(vmm_defrag(self->fd, NULL, NULL));
	RELOAD_OPEN("4K");
	EXPECT_EQ(0ULL, vmm_sysfs("allocs"));
	EXPECT_EQ(0ULL, vmm_sysfs("frees"));
	EXPECT_EQ(0ULL, vmm_sysfs("alloc_failures"));
	EXPECT_EQ(0ULL, vmm_sysfs("defrags"));
	EXPECT_EQ(0ULL, vmm_sysfs("bytes_moved"));
	ALLOC_AT(self->fd, 1, 0, 1, 0);
}

/* Reload with the module parameters @args and open the device. */
#define RELOAD_ARGS_OPEN(args) do { \
	const char *__args = (args); \
	if (self->fd >= 0) \
		close(self->fd); \
	self->fd = -1; \
	vmm_unload_for_reload(); \
	ASSERT_EQ(0, vmm_load_args(__args)) TH_LOG("modprobe vmm %s", __args); \
	self->fd = open(VMM_DEV, O_RDWR); \
	ASSERT_LE(0, self->fd) TH_LOG("open: %s", strerror(errno)); \
} while (0)

/* The whole content of a sysfs file, or "" if unreadable. */
static const char *read_text(const char *path)
{
	static char buf[64];
	ssize_t n;
	int fd;

	buf[0] = '\0';
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return buf;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

/* 0, or -1 and the errno of the open or write (EIO for a short one). */
static int write_text(const char *path, const char *text)
{
	ssize_t n;
	int fd, err;

	fd = open(path, O_WRONLY);
	if (fd < 0)
		return -1;
	n = write(fd, text, strlen(text));
	err = n < 0 ? errno : EIO;
	close(fd);
	if (n == (ssize_t)strlen(text))
		return 0;
	errno = err;
	return -1;
}

TEST_F(module, module_policy_best_takes_smallest_hole)
{
	struct vmm_stats_args st;
	int i;

	RELOAD_ARGS_OPEN("size=1000 policy=best");
	EXPECT_STREQ("best\n", read_text(VMM_SYSFS_DIR "policy"));
	EXPECT_STREQ("best\n", read_text(VMM_MOD_DIR "/parameters/policy"));
	ASSERT_OK(vmm_stats(self->fd, &st));
	EXPECT_EQ((__u64)VMM_STATS_POLICY_BEST, st.policy);

	/* Blocks 1-7 of 100 bytes; freeing 2, 4 and 6 to 7 leaves holes
	 * [100, 200), [300, 400) and [500, 1000). */
	for (i = 1; i <= 7; i++)
		ALLOC_AT(self->fd, 100, 0, i, (i - 1) * 100);
	ASSERT_OK(vmm_free(self->fd, 2));
	ASSERT_OK(vmm_free(self->fd, 4));
	ASSERT_OK(vmm_free(self->fd, 6));
	ASSERT_OK(vmm_free(self->fd, 7));
	/* First fit would give 60 bytes offset 100 as well; 150 goes to
	 * the tail; then 40 bytes take the 40-byte leftover, not [300, 400). */
	ALLOC_AT(self->fd, 60, 0, 8, 100);
	ALLOC_AT(self->fd, 150, 0, 9, 500);
	ALLOC_AT(self->fd, 40, 0, 10, 160);
	ALLOC_AT(self->fd, 100, 0, 11, 300);
	/* Aligned: the only 256-aligned place left is in the tail. */
	ALLOC_AT(self->fd, 10, 256, 12, 768);
}

TEST_F(module, module_policy_first_is_the_default)
{
	RELOAD_OPEN("1000");
	EXPECT_STREQ("first\n", read_text(VMM_SYSFS_DIR "policy"));
	ALLOC_AT(self->fd, 200, 0, 1, 0);
	ALLOC_AT(self->fd, 100, 0, 2, 200);
	ALLOC_AT(self->fd, 50, 0, 3, 300);
	ALLOC_AT(self->fd, 100, 0, 4, 350);
	ASSERT_OK(vmm_free(self->fd, 1));
	ASSERT_OK(vmm_free(self->fd, 3));
	/* The lowest hole, [0, 200), not the smallest, [300, 350). */
	ALLOC_AT(self->fd, 40, 0, 5, 0);
}

TEST_F(module, module_rejects_unknown_policy)
{
	vmm_unload_for_reload();
	EXPECT_LOAD_EINVAL(vmm_load_args("policy=worst"));
	EXPECT_FALSE(vmm_module_loaded());
	EXPECT_FALSE(vmm_path_exists(VMM_DEV));
	EXPECT_LOAD_EINVAL(vmm_load_args("policy="));
	EXPECT_FALSE(vmm_module_loaded());
}

TEST_F(module, module_self_check_can_be_toggled_at_runtime)
{
	const char *param = VMM_MOD_DIR "/parameters/self_check";
	int i;

	RELOAD_ARGS_OPEN("size=64K self_check=1");
	EXPECT_STREQ("Y\n", read_text(param));
	/* Every change is checked; a mismatch would WARN (the runner fails
	 * the run on it). */
	for (i = 1; i <= 32; i++)
		ALLOC_AT(self->fd, 100 + i, 0, i, (__u64)(i - 1) * 100 +
			 (__u64)i * (i - 1) / 2);
	for (i = 1; i <= 32; i += 3)
		ASSERT_OK(vmm_free(self->fd, i));
	ASSERT_OK(vmm_defrag(self->fd, NULL, NULL));
	ASSERT_OK(write_text(param, "0"));
	EXPECT_STREQ("N\n", read_text(param));
	ASSERT_OK(write_text(param, "1"));
	EXPECT_STREQ("Y\n", read_text(param));
	EXPECT_ERR(EINVAL, write_text(param, "maybe"));
	EXPECT_STREQ("Y\n", read_text(param));
	ASSERT_OK(vmm_free(self->fd, 2));
}

/*
 * 60,000 ioctls: about 10 s in the debug guest, KASAN and the self-check
 * on, and three times that with other guests on the host; the harness's
 * default of 30 s ended it there once.  Then, with the timing on again,
 * up to 120 s of the same calls until a hold is timed (at once where the
 * clock reads nanoseconds).
 */
TEST_F_TIMEOUT(module, module_lock_hold_timing_can_be_toggled_at_runtime, 300)
{
	const char *param = VMM_PARAM_TIMING;
	const char *max = VMM_SYSFS_DIR "max_lock_hold_ns";
	struct vmm_stats_args st;
	time_t deadline;
	__u64 id;
	int i;

	RELOAD_ARGS_OPEN("size=64K lock_hold_timing=1");
	EXPECT_STREQ("Y\n", read_text(param));
	ASSERT_OK(write_text(param, "0"));
	EXPECT_STREQ("N\n", read_text(param));
	ASSERT_OK(write_text(max, "0"));
	/*
	 * Off, no hold is timed: enough of them that some would span a tick
	 * even where the clock is jiffies.
	 */
	for (i = 0; i < 20000; i++) {
		ASSERT_OK(vmm_alloc(self->fd, 1, 0, &id, NULL));
		ASSERT_OK(vmm_stats(self->fd, &st));
		ASSERT_OK(vmm_free(self->fd, id));
	}
	EXPECT_EQ(0ULL, st.max_lock_hold_ns);
	EXPECT_STREQ("0\n", read_text(max));
	EXPECT_ERR(EINVAL, write_text(param, "maybe"));
	EXPECT_STREQ("N\n", read_text(param));
	ASSERT_OK(write_text(param, "1"));
	EXPECT_STREQ("Y\n", read_text(param));
	/*
	 * On again, holds are timed: the same calls until one reads above
	 * 0, at once with a fine clock, within some ticks with jiffies.
	 */
	deadline = time(NULL) + 120;
	do {
		for (i = 0; i < 1000; i++) {
			ASSERT_OK(vmm_alloc(self->fd, 1, 0, &id, NULL));
			ASSERT_OK(vmm_stats(self->fd, &st));
			ASSERT_OK(vmm_free(self->fd, id));
		}
	} while (!st.max_lock_hold_ns && time(NULL) < deadline);
	EXPECT_LT(0ULL, st.max_lock_hold_ns)
		TH_LOG("no hold was timed in 120 s with the timing on");
	EXPECT_LT(0ULL, strtoull(read_text(max), NULL, 10))
		TH_LOG("%s reads '%s'", max, read_text(max));
}

/* Whether /proc/slabinfo has a cache named @name. */
static bool slabinfo_has(const char *name)
{
	char line[512];
	size_t n = strlen(name);
	bool found = false;
	FILE *f = fopen("/proc/slabinfo", "r");

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f))
		found = !strncmp(line, name, n) && line[n] == ' ';
	fclose(f);
	return found;
}

/*
 * Block and extent records come from slab caches of their own, named
 * after the module.  /sys/kernel/slab lists both: a directory, or a link
 * to the cache the allocator merged them into, which 6.1 may do.  From
 * 6.5 (SLAB_NO_MERGE) they are never merged, and /proc/slabinfo names
 * them.
 */
TEST_F(module, module_caches_are_named_in_sysfs_and_slabinfo)
{
	struct utsname u;
	int major = 0, minor = 0;

	RELOAD_ARGS_OPEN("size=64K");
	ASSERT_OK(vmm_alloc(self->fd, 100, 0, NULL, NULL));
	EXPECT_TRUE(vmm_path_exists("/sys/kernel/slab/vmm_block"));
	EXPECT_TRUE(vmm_path_exists("/sys/kernel/slab/vmm_extent"));
	ASSERT_EQ(0, uname(&u));
	ASSERT_EQ(2, sscanf(u.release, "%d.%d", &major, &minor));
	if (major > 6 || (major == 6 && minor >= 5)) {
		EXPECT_TRUE(slabinfo_has("vmm_block"));
		EXPECT_TRUE(slabinfo_has("vmm_extent"));
	}
}

TEST_HARNESS_MAIN
