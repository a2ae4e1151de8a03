// SPDX-License-Identifier: GPL-2.0
/*
 * /sys/kernel/debug/vmm/: blocks, holes and map against known layouts.
 * The files are not ABI; blocks and holes are read by their header's
 * column names, so that columns can be added without breaking this test.
 * SKIPs where debugfs cannot be found or mounted.
 */
#include <sys/mount.h>

#include "vmm_util.h"

#define DEBUGFS		"/sys/kernel/debug"
#define VMM_DEBUGFS	DEBUGFS "/vmm"
#define ARENA		(256 * KiB)
#define ARENA_STR	"256K"
#define MAX_ROWS	512
#define MAX_COLS	16

/* Whether /sys/kernel/debug/vmm exists, mounting debugfs if needed. */
static bool vmm_debugfs(void)
{
	if (vmm_path_exists(VMM_DEBUGFS))
		return true;
	mount("debugfs", DEBUGFS, "debugfs", 0, NULL);
	return vmm_path_exists(VMM_DEBUGFS);
}

/* The whole of a debugfs file, NUL-terminated, in a malloc()ed buffer. */
static char *read_all(const char *name)
{
	size_t len = 0, cap = 4096;
	char path[128], *buf = malloc(cap);
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", VMM_DEBUGFS, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || !buf) {
		free(buf);
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	/* Small reads, to exercise seq_file's resumption between them. */
	while ((n = read(fd, buf + len, 100)) > 0) {
		len += n;
		if (cap - len < 101) {
			cap *= 2;
			buf = realloc(buf, cap);
			if (!buf)
				break;
		}
	}
	close(fd);
	if (!buf || n < 0) {
		free(buf);
		return NULL;
	}
	buf[len] = '\0';
	return buf;
}

/*
 * A table file: rows[i] becomes the values of the columns named in @cols
 * (e.g. "id start size"), separated by single spaces.  Returns the number
 * of rows, or -1 if a column is missing from the header or a row is short.
 */
static int read_table(const char *name, const char *cols, char rows[][128])
{
	char *buf = read_all(name), *line, *save = NULL, *tok, *s2;
	char want[128], *wtok, *hdr[MAX_COLS];
	int idx[MAX_COLS], nidx = 0, nhdr = 0, n = -1, i, j;

	if (!buf)
		return -1;
	line = strtok_r(buf, "\n", &save);
	if (!line)
		goto out;
	for (tok = strtok_r(line, " ", &s2); tok && nhdr < MAX_COLS;
	     tok = strtok_r(NULL, " ", &s2))
		hdr[nhdr++] = tok;
	snprintf(want, sizeof(want), "%s", cols);
	for (wtok = strtok_r(want, " ", &s2); wtok;
	     wtok = strtok_r(NULL, " ", &s2)) {
		for (j = 0; j < nhdr && strcmp(hdr[j], wtok); j++)
			;
		if (j == nhdr) {
			fprintf(stderr, "# %s: no column '%s'\n", name, wtok);
			goto out;
		}
		idx[nidx++] = j;
	}
	n = 0;
	while ((line = strtok_r(NULL, "\n", &save)) && n < MAX_ROWS) {
		char *val[MAX_COLS];
		int nval = 0;

		for (tok = strtok_r(line, " ", &s2); tok && nval < MAX_COLS;
		     tok = strtok_r(NULL, " ", &s2))
			val[nval++] = tok;
		rows[n][0] = '\0';
		for (i = 0; i < nidx; i++) {
			if (idx[i] >= nval) {
				n = -1;
				goto out;
			}
			if (i)
				strcat(rows[n], " ");
			strcat(rows[n], val[idx[i]]);
		}
		n++;
	}
out:
	free(buf);
	return n;
}

FIXTURE(debugfs) {
	int fd;
	char rows[MAX_ROWS][128];
};

FIXTURE_SETUP(debugfs)
{
	self->fd = -1;
	VMM_SETUP_RELOAD(ARENA_STR, &self->fd);
	if (!vmm_debugfs())
		VMM_SETUP_SKIP("no %s: debugfs is missing or cannot be mounted",
			       VMM_DEBUGFS);
}

FIXTURE_TEARDOWN(debugfs)
{
	if (self->fd >= 0)
		close(self->fd);
}

/* Compare a table file's rows with @want, a list ending in NULL. */
#define ASSERT_TABLE(name, cols, ...) do { \
	const char *__want[] = { __VA_ARGS__, NULL }; \
	int __n = read_table(name, cols, self->rows), __i; \
	ASSERT_LE(0, __n) TH_LOG("%s: unreadable or malformed", name); \
	for (__i = 0; __want[__i]; __i++) { \
		ASSERT_LT(__i, __n) TH_LOG("%s: missing '%s'", name, \
					   __want[__i]); \
		EXPECT_STREQ(__want[__i], self->rows[__i]); \
	} \
	EXPECT_EQ(__i, __n); \
} while (0)

/*
 * Blocks 1 (4 KiB at 0), 3 (16 KiB at 12 KiB), 4 (4 KiB at 28 KiB) and
 * 5 (100 bytes at 32 KiB), with block 2's 8 KiB at 4 KiB freed.
 */
#define MAKE_LAYOUT() do { \
	ALLOC_AT(self->fd, 4096, 0, 1, 0); \
	ALLOC_AT(self->fd, 8192, 0, 2, 4096); \
	ALLOC_AT(self->fd, 16384, 0, 3, 12288); \
	ALLOC_AT(self->fd, 4096, 0, 4, 28672); \
	ALLOC_AT(self->fd, 100, 0, 5, 32768); \
	ASSERT_OK(vmm_free(self->fd, 2)); \
} while (0)

TEST_F(debugfs, debugfs_blocks_lists_blocks_by_offset)
{
	MAKE_LAYOUT();
	ASSERT_TABLE("blocks", "id start size pins state",
		     "1 0 4096 0 live", "3 12288 16384 0 live",
		     "4 28672 4096 0 live", "5 32768 100 0 live");
}

/* maps: "-" for a block that cannot be mapped, else its mappings. */
TEST_F(debugfs, debugfs_blocks_show_mapping_counts)
{
	struct vmm_alloc_args a = { .size = 4096, .flags = VMM_ALLOC_MAPPABLE };
	struct vmm_select_args sel = { .id = 2 };
	char *p;

	ALLOC_AT(self->fd, 4096, 0, 1, 0);
	ASSERT_EQ(0, ioctl(self->fd, VMM_IOC_ALLOC, &a));
	ASSERT_EQ(2ULL, a.id);
	ASSERT_TABLE("blocks", "id maps", "1 -", "2 0");
	ASSERT_EQ(0, ioctl(self->fd, VMM_IOC_SELECT, &sel));
	p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, self->fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	ASSERT_TABLE("blocks", "id maps", "1 -", "2 1");
	ASSERT_EQ(0, munmap(p, 4096));
	ASSERT_TABLE("blocks", "id maps", "1 -", "2 0");
}

/* Owners are shown in the initial namespace; the mode in octal. */
TEST_F(debugfs, debugfs_blocks_show_owner_group_and_mode)
{
	struct vmm_chmod_args cm = { .id = 2, .mode = 0640 };
	struct vmm_chown_args co = { .id = 2, .uid = 1000, .gid = 2000 };

	ALLOC_AT(self->fd, 4096, 0, 1, 0);
	ALLOC_AT(self->fd, 4096, 0, 2, 4096);
	ASSERT_EQ(0, ioctl(self->fd, VMM_IOC_CHMOD, &cm));
	ASSERT_EQ(0, ioctl(self->fd, VMM_IOC_CHOWN, &co));
	ASSERT_TABLE("blocks", "id uid gid mode", "1 0 0 0600",
		     "2 1000 2000 0640");
}

TEST_F(debugfs, debugfs_holes_lists_free_extents)
{
	MAKE_LAYOUT();
	ASSERT_TABLE("holes", "start size", "4096 8192", "32868 229276");
}

TEST_F(debugfs, debugfs_empty_arena_is_one_hole_and_no_block)
{
	int n;

	ASSERT_TABLE("holes", "start size", "0 262144");
	n = read_table("blocks", "id start size pins state", self->rows);
	EXPECT_EQ(0, n);
}

/* 256 KiB at 4096 chars: 64 bytes a char, 4 KiB a line of 64. */
TEST_F(debugfs, debugfs_map_draws_used_partial_and_free_slices)
{
	char *map, *line, *save = NULL, want[128];
	int i = 0;

	MAKE_LAYOUT();
	map = read_all("map");
	ASSERT_NE(NULL, map);
	line = strtok_r(map, "\n", &save);
	ASSERT_NE(NULL, line);
	EXPECT_EQ(0, strncmp(line, "# 262144 bytes, 64 bytes per char, 64 chars per line",
			     strlen("# 262144 bytes, 64 bytes per char, 64 chars per line")))
		TH_LOG("header: %s", line);
	while ((line = strtok_r(NULL, "\n", &save))) {
		unsigned long long off;
		char chars[80];
		const char *fill;

		ASSERT_EQ(2, sscanf(line, "%llu %79s", &off, chars))
			TH_LOG("line %d: %s", i, line);
		EXPECT_EQ(i * 4096ULL, off);
		/* Lines 0, 3-7 are used; 8 holds block 5's 100 bytes. */
		if (i == 0 || (i >= 3 && i <= 7)) {
			fill = "#";
		} else if (i == 8) {
			fill = NULL;
			memset(want, '.', 64);
			want[0] = '#';
			want[1] = '+';
		} else {
			fill = ".";
		}
		if (fill)
			memset(want, fill[0], 64);
		want[64] = '\0';
		EXPECT_STREQ(want, chars) TH_LOG("line %d", i);
		i++;
	}
	EXPECT_EQ(64, i);
	free(map);
}

/* More blocks and holes than one batch of the lock (64): all are listed. */
TEST_F(debugfs, debugfs_lists_more_than_a_batch)
{
	char want[128];
	int i, n;

	for (i = 1; i <= 300; i++)
		ALLOC_AT(self->fd, 512, 0, i, (i - 1) * 512ULL);
	for (i = 1; i <= 300; i += 2)
		ASSERT_OK(vmm_free(self->fd, i));
	n = read_table("blocks", "id start size", self->rows);
	ASSERT_EQ(150, n);
	for (i = 0; i < n; i++) {
		snprintf(want, sizeof(want), "%d %d 512", 2 * i + 2,
			 (2 * i + 1) * 512);
		EXPECT_STREQ(want, self->rows[i]);
	}
	n = read_table("holes", "start size", self->rows);
	ASSERT_EQ(151, n);
	for (i = 0; i < 150; i++) {
		snprintf(want, sizeof(want), "%d 512", 2 * i * 512);
		EXPECT_STREQ(want, self->rows[i]);
	}
	snprintf(want, sizeof(want), "%d %llu", 300 * 512,
		 ARENA - 300 * 512);
	EXPECT_STREQ(want, self->rows[150]);
}

/* pread() until @len bytes or the end: seq_file ends reads at a line. */
static ssize_t pread_full(int fd, char *buf, size_t len, off_t off)
{
	size_t got = 0;
	ssize_t n;

	while (got < len) {
		n = pread(fd, buf + got, len - got, off + got);
		if (n < 0)
			return -1;
		if (!n)
			break;
		got += n;
	}
	return got;
}

/*
 * Reads at any position, back or forth, match the whole file: blocks and
 * holes keep one batch of 64 entries between calls and must start again
 * from the arena's start for a position before it.  Lines here are 75 and
 * 26 bytes, so the positions land inside lines of various batches.
 */
TEST_F(debugfs, debugfs_positioned_reads_match_the_whole_file)
{
	static const char *const files[] = { "blocks", "holes" };
	static const size_t lens[] = { 1, 100, 4096, 20000 };
	char path[128], *buf;
	int f, i, fd;

	for (i = 1; i <= 300; i++)
		ALLOC_AT(self->fd, 512, 0, i, (i - 1) * 512ULL);
	for (i = 1; i <= 300; i += 2)
		ASSERT_OK(vmm_free(self->fd, i));
	buf = malloc(20000);
	ASSERT_NE(NULL, buf);
	for (f = 0; f < 2; f++) {
		char *whole = read_all(files[f]);
		size_t size, offs[8];
		int o;

		ASSERT_NE(NULL, whole);
		size = strlen(whole);
		/* 150 or 151 lines after the header: past three batches. */
		ASSERT_LT(150 * 26UL, size);
		offs[0] = size - 1;
		offs[1] = 0;
		offs[2] = size / 2;
		offs[3] = 1;
		offs[4] = size * 9 / 10;
		offs[5] = size / 3 + 7;
		offs[6] = size;
		offs[7] = size / 5;
		snprintf(path, sizeof(path), "%s/%s", VMM_DEBUGFS, files[f]);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		ASSERT_LE(0, fd);
		for (o = 0; o < 8; o++) {
			for (i = 0; i < 4; i++) {
				size_t want = offs[o] + lens[i] > size ?
					      size - offs[o] : lens[i];
				ssize_t n = pread_full(fd, buf, lens[i],
						       offs[o]);

				ASSERT_EQ((ssize_t)want, n)
					TH_LOG("%s at %zu, %zu bytes",
					       files[f], offs[o], lens[i]);
				EXPECT_EQ(0, memcmp(whole + offs[o], buf, want))
					TH_LOG("%s at %zu, %zu bytes",
					       files[f], offs[o], lens[i]);
			}
		}
		/* read() after an lseek() back to the start: the header. */
		ASSERT_EQ(0, lseek(fd, 0, SEEK_SET));
		ASSERT_EQ(50, read(fd, buf, 50));
		EXPECT_EQ(0, memcmp(whole, buf, 50));
		close(fd);
		free(whole);
	}
	free(buf);
}

/* The whole of an open debugfs file from @off on, NUL-terminated. */
static ssize_t read_fd_from(int fd, off_t off, char *buf, size_t cap)
{
	ssize_t n = pread_full(fd, buf, cap - 1, off);

	if (n >= 0)
		buf[n] = '\0';
	return n;
}

/*
 * Reading an open file again from the start, by lseek() and read() or by
 * pread(), shows the arena as it is then, as a file opened anew would:
 * blocks allocated after the first read, into an empty arena and then
 * past one batch (64), and a block freed after it.
 */
TEST_F(debugfs, debugfs_rereads_from_the_start_see_changes)
{
	static const char *const files[] = { "blocks", "holes" };
	char path[128], *buf;
	int f, fd[2], i;

	buf = malloc(65536);
	ASSERT_NE(NULL, buf);
	for (f = 0; f < 2; f++) {
		snprintf(path, sizeof(path), "%s/%s", VMM_DEBUGFS, files[f]);
		fd[f] = open(path, O_RDONLY | O_CLOEXEC);
		ASSERT_LE(0, fd[f]);
		ASSERT_LT(0, read_fd_from(fd[f], 0, buf, 65536));
	}
	EXPECT_NE(NULL, strstr(buf, "           0       262144\n"));
	ALLOC_AT(self->fd, 512, 0, 1, 0);
	ASSERT_EQ(0, lseek(fd[0], 0, SEEK_SET));
	ASSERT_LT(0, read(fd[0], buf, 65535));
	EXPECT_NE(NULL, strstr(buf, "         1            0          512 "));
	ASSERT_LT(0, read_fd_from(fd[1], 0, buf, 65536));
	EXPECT_NE(NULL, strstr(buf, "         512       261632\n"));
	for (i = 2; i <= 100; i++)
		ALLOC_AT(self->fd, 512, 0, i, (i - 1) * 512ULL);
	ASSERT_LT(0, read_fd_from(fd[0], 0, buf, 65536));
	EXPECT_NE(NULL, strstr(buf, "       100        50688          512 "));
	ASSERT_LT(0, read_fd_from(fd[1], 0, buf, 65536));
	EXPECT_NE(NULL, strstr(buf, "       51200       210944\n"));
	ASSERT_OK(vmm_free(self->fd, 1));
	ASSERT_LT(0, read_fd_from(fd[0], 0, buf, 65536));
	EXPECT_EQ(NULL, strstr(buf, "         1            0 "));
	EXPECT_NE(NULL, strstr(buf, "         2          512 "));
	ASSERT_LT(0, read_fd_from(fd[1], 0, buf, 65536));
	EXPECT_NE(NULL, strstr(buf, "           0          512\n"));
	close(fd[0]);
	close(fd[1]);
	free(buf);
}

/* An arena smaller than the map's 4096 chars: one byte a char. */
TEST_F(debugfs, debugfs_map_covers_small_odd_arena)
{
	char *map, *line, *save = NULL;
	int lines = 0, chars = 0;

	close(self->fd);
	self->fd = -1;
	vmm_unload_for_reload();
	ASSERT_EQ(0, vmm_load("1000"));
	self->fd = open(VMM_DEV, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->fd);
	ALLOC_AT(self->fd, 10, 0, 1, 0);
	map = read_all("map");
	ASSERT_NE(NULL, map);
	line = strtok_r(map, "\n", &save);
	EXPECT_EQ(0, strncmp(line, "# 1000 bytes, 1 bytes per char",
			     strlen("# 1000 bytes, 1 bytes per char")));
	while ((line = strtok_r(NULL, "\n", &save))) {
		unsigned long long off;
		char c[80];

		ASSERT_EQ(2, sscanf(line, "%llu %79s", &off, c));
		EXPECT_EQ(lines * 64ULL, off);
		if (lines == 0) {
			EXPECT_STREQ("##########......................................................",
				     c);
		} else {
			EXPECT_EQ(strspn(c, "."), strlen(c));
		}
		chars += strlen(c);
		lines++;
	}
	EXPECT_EQ(16, lines);
	EXPECT_EQ(1000, chars);
	free(map);
}

/*
 * Reads racing allocations, frees and defragmentations (under the debug
 * kernel: KASAN and lockdep watch the batched walks) stay well-formed:
 * every table row has all its columns, and the map keeps its shape.
 */
TEST_F(debugfs, debugfs_reads_race_changes_safely)
{
	__u64 ids[64] = { 0 }, bytes, blocks;
	int i, round, status;
	pid_t pid;

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		for (i = 0; i < 200; i++) {
			char rows[MAX_ROWS][128], *map = read_all("map");
			int lines = 0;

			if (read_table("blocks", "id start size pins state",
				       rows) < 0 ||
			    read_table("holes", "start size", rows) < 0 || !map)
				_exit(1);
			for (char *p = map; *p; p++)
				lines += *p == '\n';
			free(map);
			if (lines != 65)
				_exit(2);
		}
		_exit(0);
	}
	for (round = 0; round < 100; round++) {
		for (i = 0; i < 64; i++) {
			if (ids[i] && (i + round) % 3 == 0) {
				ASSERT_OK(vmm_free(self->fd, ids[i]));
				ids[i] = 0;
			} else if (!ids[i]) {
				ASSERT_OK(vmm_alloc(self->fd, 512 + 64 * i, 0,
						    &ids[i], NULL));
			}
		}
		ASSERT_OK(vmm_defrag(self->fd, &bytes, &blocks));
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
}

/*
 * Root only, whatever mode debugfs is mounted with: the files show every
 * block's owner, mode and place, which the device's group reads through
 * LIST and nobody else may.
 */
TEST_F(debugfs, debugfs_files_are_root_only)
{
	static const char *const files[] = { "blocks", "holes", "map" };
	char path[128];
	struct stat st;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(files); i++) {
		snprintf(path, sizeof(path), VMM_DEBUGFS "/%s", files[i]);
		ASSERT_EQ(0, stat(path, &st)) TH_LOG("%s: %s", path,
						     strerror(errno));
		EXPECT_EQ(0400U, st.st_mode & 0777U) TH_LOG("%s: mode %o",
							    path,
							    st.st_mode & 0777U);
		EXPECT_EQ(0U, st.st_uid);
	}
}

/* The directory goes with the module, and comes back with it. */
TEST_F(debugfs, debugfs_dir_removed_on_unload)
{
	close(self->fd);
	self->fd = -1;
	ASSERT_EQ(0, vmm_unload());
	EXPECT_FALSE(vmm_path_exists(VMM_DEBUGFS));
	ASSERT_EQ(0, vmm_load(ARENA_STR));
	EXPECT_TRUE(vmm_path_exists(VMM_DEBUGFS "/blocks"));
	EXPECT_TRUE(vmm_path_exists(VMM_DEBUGFS "/holes"));
	EXPECT_TRUE(vmm_path_exists(VMM_DEBUGFS "/map"));
}

TEST_HARNESS_MAIN
