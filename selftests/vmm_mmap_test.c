// SPDX-License-Identifier: GPL-2.0
/*
 * vmm_mmap_test: mmap(2) of VMM_ALLOC_MAPPABLE blocks, which stay valid
 * while compaction moves them ("Mapping a block" in uapi/linux/vmm.h).
 *
 * What is checked: the data path both ways (mapping against pread/pwrite
 * and VMM_IOC_READ), the rounding and alignment of a mappable block and
 * the mapped counts of INFO, LIST, STATS and sysfs, every mmap(2) error,
 * the r and w rules for the caller and the selector, the hammer (10,000
 * moves of a block that a thread keeps writing through a mapping, no byte
 * lost), fork, free while mapped (the System V IPC_RMID rule), what
 * VM_PFNMAP refuses (page pinning) and allows (/proc/PID/mem), mremap and
 * split mappings, DEFRAG's page-aligned packing around mapped blocks, and
 * a mapping that outlives its file.
 *
 * Every case reloads the module.  The program runs as root; the cases
 * about another uid fork a child that drops to OTHER_UID and writes what
 * it saw into a shared page, which the parent asserts on.  Children never
 * use the harness's macros.
 */
#define _GNU_SOURCE
#include <grp.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/personality.h>
#include <sys/resource.h>
#include <sys/statvfs.h>
#include <sys/uio.h>
#include <time.h>

#include "vmm_util.h"

#define ARENA		(1 * MiB)
#define ARENA_STR	"1M"

/* The uid and gid of the unprivileged child (no group shared with root). */
#define OTHER_UID	1002

/* The hammer: one-page fillers below the mapped block, one freed per move. */
#define HAMMER_ARENA_STR	"48M"
#define HAMMER_FILLERS		10000
#define HAMMER_PAGES		4

static size_t pg;

static void __attribute__((constructor)) init_page_size(void)
{
	pg = (size_t)sysconf(_SC_PAGESIZE);
}

/* ---- helpers */

/* ALLOC with @flags (and VMM_ALLOC_MODE when @mode is not 0). */
static int alloc_ex(int fd, __u64 size, __u32 flags, __u32 mode, __u64 *id,
		    __u64 *off)
{
	struct vmm_alloc_args a = { .size = size, .flags = flags, .mode = mode };
	int ret;

	if (mode)
		a.flags |= VMM_ALLOC_MODE;
	ret = ioctl(fd, VMM_IOC_ALLOC, &a);
	if (!ret) {
		if (id)
			*id = a.id;
		if (off)
			*off = a.offset;
	}
	return ret;
}

static int info_get(int fd, __u64 id, struct vmm_info_args *a)
{
	memset(a, 0, sizeof(*a));
	a->id = id;
	return ioctl(fd, VMM_IOC_INFO, a);
}

/* INFO's mapped count, or UINT64_MAX if INFO fails. */
static __u64 mapped_of(int fd, __u64 id)
{
	struct vmm_info_args a;

	return info_get(fd, id, &a) ? UINT64_MAX : a.mapped;
}

/* A block to read INFO's mapped count of, for vmm_settles(). */
struct mapped_arg {
	int fd;
	__u64 id;
};

static __u64 mapped_read(const void *arg)
{
	const struct mapped_arg *m = arg;

	return mapped_of(m->fd, m->id);
}

/*
 * INFO's mapped count of @id once it is @n, or what it is after 10 s: a
 * process's mappings can outlast it for a moment (vmm_settles()).
 */
static __u64 mapped_settles(int fd, __u64 id, __u64 n)
{
	const struct mapped_arg m = { .fd = fd, .id = id };

	return vmm_settles(mapped_read, &m, n);
}

/* INFO's offset, or UINT64_MAX if INFO fails. */
static __u64 offset_of(int fd, __u64 id)
{
	struct vmm_info_args a;

	return info_get(fd, id, &a) ? UINT64_MAX : a.offset;
}

/* Every live block, paging through LIST; the count, or -1. */
static int list_all(int fd, struct vmm_block_info *out, unsigned int max)
{
	__u64 next = 1;
	unsigned int n = 0;
	__u32 count;

	while (next && n < max) {
		__u32 cap = max - n > VMM_LIST_MAX ? VMM_LIST_MAX : max - n;

		if (vmm_list(fd, next, out + n, cap, &count, &next))
			return -1;
		n += count;
		if (!count)
			break;
	}
	return (int)n;
}

/* LIST's entry of @id: 0, or -1 with errno ENOENT if LIST has none. */
static int list_entry(int fd, __u64 id, struct vmm_block_info *e)
{
	__u32 count = 0;

	memset(e, 0, sizeof(*e));
	if (vmm_list(fd, id, e, 1, &count, NULL))
		return -1;
	if (count != 1 || e->id != id) {
		errno = ENOENT;
		return -1;
	}
	return 0;
}

/* VMM_IOC_USAGE's entry for @uid; 0 and 0 if it has none. */
static int usage_of(int fd, __u32 uid, __u64 *blocks, __u64 *bytes)
{
	struct vmm_user_usage u[8];
	struct vmm_usage_args a = {
		.buffer = (__u64)(uintptr_t)u, .capacity = 8,
	};
	__u32 i;

	*blocks = 0;
	*bytes = 0;
	if (ioctl(fd, VMM_IOC_USAGE, &a))
		return -1;
	for (i = 0; i < a.count; i++) {
		if (u[i].uid == uid) {
			*blocks = u[i].blocks;
			*bytes = u[i].bytes;
		}
	}
	return 0;
}

static int defrag_full(int fd, struct vmm_defrag_args *d)
{
	memset(d, 0, sizeof(*d));
	return ioctl(fd, VMM_IOC_DEFRAG, d);
}

/* Lines of /proc/self/maps that map /dev/vmm: this process's VMAs of it. */
static int vmm_vmas(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	int n = 0;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, " " VMM_DEV "\n"))
			n++;
	fclose(f);
	return n;
}

/* Word @i of generation @gen: differs from every other generation's. */
static inline __u32 pat(__u32 gen, size_t i)
{
	return (gen * 0x9e3779b1u) ^ ((__u32)i * 0x85ebca77u + 0x27d4eb2fu);
}

/* Generation @gen of the bytes from @base (a multiple of 4) on, at @w. */
static void fill_gen_at(volatile __u32 *w, size_t bytes, __u32 gen,
			size_t base)
{
	size_t i;

	for (i = 0; i < bytes / 4; i++)
		w[i] = pat(gen, base / 4 + i);
}

static void fill_gen(volatile __u32 *w, size_t bytes, __u32 gen)
{
	fill_gen_at(w, bytes, gen, 0);
}

/*
 * Bytes of @buf (@bytes long, byte @base of the pattern on) that differ
 * from generation @gen; the first such byte's index in *@first.
 */
static size_t bad_bytes_at(const volatile void *buf, size_t bytes,
			   __u32 gen, size_t base, size_t *first)
{
	const volatile unsigned char *p = buf;
	size_t i = 0, bad = 0;

	/* Whole words first, the common case, then byte by byte. */
	if (!(base % 4) && !((uintptr_t)buf % 4)) {
		const volatile __u32 *w = buf;

		while (i + 4 <= bytes && w[i / 4] == pat(gen, (base + i) / 4))
			i += 4;
	}
	for (; i < bytes; i++) {
		__u32 w = pat(gen, (base + i) / 4);
		unsigned char want = (unsigned char)(w >> (8 * ((base + i) % 4)));

		if (p[i] != want && !bad++ && first)
			*first = i;
	}
	return bad;
}

static size_t bad_bytes(const volatile void *buf, size_t bytes, __u32 gen,
			size_t *first)
{
	return bad_bytes_at(buf, bytes, gen, 0, first);
}

/* The pattern is little-endian words; x86 (the only target) is too. */
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "little-endian");

static int wait_exit(pid_t pid)
{
	int st;

	if (waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Become OTHER_UID for good (no capability left). */
static int become_other(void)
{
	gid_t g = OTHER_UID;

	if (setgroups(1, &g) || setresgid(g, g, g) ||
	    setresuid(OTHER_UID, OTHER_UID, OTHER_UID))
		return -1;
	return geteuid() == OTHER_UID ? 0 : -1;
}

/* What a child reports: errnos (0 for success) and some bytes. */
struct report {
	int err[17];
	unsigned char data[64];
};

static struct report *report_new(void)
{
	void *p = mmap(NULL, sizeof(struct report), PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	memset(p, 0x55, sizeof(struct report));
	return p;
}

/* 0 if @ret is not -1, else errno. */
#define ERRNO_OF(ret) ((ret) == -1 ? errno : 0)

/* mmap(2) that must work; the address into @p. */
#define MAP_OK(p, fd, len, prot, off) do { \
	(p) = mmap(NULL, (len), (prot), MAP_SHARED, (fd), (off)); \
	ASSERT_TRUE((p) != MAP_FAILED) \
		TH_LOG("mmap len=%zu prot=%d off=%lld: %s", (size_t)(len), \
		       (int)(prot), (long long)(off), strerror(errno)); \
} while (0)

/* mmap(2) that must fail with @err; unmaps if it did not. */
#define EXPECT_MAP_ERR(err, fd, len, prot, flags, off) do { \
	errno = 0; \
	void *__p = mmap(NULL, (len), (prot), (flags), (fd), (off)); \
	int __e = errno; \
	if (__p != MAP_FAILED) \
		munmap(__p, (len)); \
	EXPECT_TRUE(__p == MAP_FAILED) \
		TH_LOG("mmap len=%zu prot=%d flags=%#x off=%lld worked", \
		       (size_t)(len), (int)(prot), (unsigned int)(flags), \
		       (long long)(off)); \
	if (__p == MAP_FAILED) \
		EXPECT_EQ((err), __e) \
			TH_LOG("mmap len=%zu prot=%d flags=%#x off=%lld: errno %d (%s)", \
			       (size_t)(len), (int)(prot), \
			       (unsigned int)(flags), (long long)(off), __e, \
			       strerror(__e)); \
} while (0)

/* @len bytes at @p equal generation @gen, from byte @base of it on. */
#define ASSERT_GEN_AT(p, len, gen, base, what) do { \
	size_t __first = 0, __bad; \
	__bad = bad_bytes_at((p), (len), (gen), (base), &__first); \
	ASSERT_EQ((size_t)0, __bad) \
		TH_LOG("%s: %zu bytes differ from generation %u, the first at %zu", \
		       (what), __bad, (unsigned int)(gen), __first); \
} while (0)

#define ASSERT_GEN(p, len, gen, what) ASSERT_GEN_AT(p, len, gen, 0, what)

/* pread(2) of the selected block's first @len bytes equals @gen. */
#define ASSERT_PREAD_GEN(fd, len, gen, what) do { \
	static unsigned char __b[16 * 4096]; \
	size_t __l = (len); \
	ASSERT_GE(sizeof(__b), __l); \
	ASSERT_EQ((ssize_t)__l, pread((fd), __b, __l, 0)) \
		TH_LOG("pread: %s", strerror(errno)); \
	ASSERT_GEN(__b, __l, (gen), (what)); \
} while (0)

/* Block @id's INFO mapped count. */
#define ASSERT_MAPPED(fd, id, n) do { \
	__u64 __m = mapped_of((fd), (id)); \
	ASSERT_EQ((__u64)(n), __m) \
		TH_LOG("block %llu: INFO mapped %llu, want %llu", \
		       (unsigned long long)(id), (unsigned long long)__m, \
		       (unsigned long long)(n)); \
} while (0)

/*
 * The same, after a process that mapped the block exited: the count may
 * take a moment to drop (mapped_settles()), up to 10 s.  Counts after this
 * process's own calls are checked at once, with ASSERT_MAPPED.
 */
#define ASSERT_MAPPED_SETTLES(fd, id, n) do { \
	__u64 __m = mapped_settles((fd), (id), (n)); \
	ASSERT_EQ((__u64)(n), __m) \
		TH_LOG("block %llu: INFO mapped %llu after 10 s, want %llu", \
		       (unsigned long long)(id), (unsigned long long)__m, \
		       (unsigned long long)(n)); \
} while (0)

/* STATS mapped_blocks and the sysfs file both equal @n. */
#define ASSERT_MAPPED_BLOCKS(fd, n) do { \
	struct vmm_stats_args __st; \
	ASSERT_OK(vmm_stats((fd), &__st)); \
	ASSERT_EQ((__u64)(n), __st.mapped_blocks); \
	ASSERT_EQ((__u64)(n), vmm_sysfs("mapped_blocks")); \
} while (0)

/* The same, after a process that mapped a block exited: up to 10 s. */
#define ASSERT_MAPPED_BLOCKS_SETTLES(fd, n) do { \
	vmm_sysfs_settles("mapped_blocks", (n)); \
	ASSERT_MAPPED_BLOCKS((fd), (n)); \
} while (0)

/*
 * A child process holding the parent's mappings (fork copies them), that
 * on command checks or writes a mapping and answers through a pipe.  It
 * leaves when the parent closes the command pipe, so a parent that fails
 * an assertion does not leave it behind.
 */
struct agent {
	pid_t pid;
	int to, from;
};

enum agent_op { AGENT_VERIFY, AGENT_WRITE };

struct agent_cmd {
	int op;
	__u32 gen;
	__u64 addr;	/* the mapping, in both processes */
	__u64 len;
};

static void agent_loop(int in, int out)
{
	struct agent_cmd c;
	long reply;

	while (read(in, &c, sizeof(c)) == sizeof(c)) {
		volatile __u32 *p = (volatile __u32 *)(uintptr_t)c.addr;

		if (c.op == AGENT_WRITE) {
			fill_gen(p, c.len, c.gen);
			reply = 0;
		} else {
			reply = (long)bad_bytes(p, c.len, c.gen, NULL);
		}
		if (write(out, &reply, sizeof(reply)) != sizeof(reply))
			break;
	}
	_exit(0);
}

static int agent_start(struct agent *a)
{
	int cmd[2], ans[2];

	if (pipe(cmd))
		return -1;
	if (pipe(ans)) {
		close(cmd[0]);
		close(cmd[1]);
		return -1;
	}
	a->pid = fork();
	if (a->pid < 0)
		return -1;
	if (!a->pid) {
		close(cmd[1]);
		close(ans[0]);
		agent_loop(cmd[0], ans[1]);
	}
	close(cmd[0]);
	close(ans[1]);
	a->to = cmd[1];
	a->from = ans[0];
	return 0;
}

/* The agent's answer (bad bytes for VERIFY, 0 for WRITE), or -1. */
static long agent_call(struct agent *a, int op, const volatile void *addr,
		       size_t len, __u32 gen)
{
	struct agent_cmd c = {
		.op = op, .gen = gen, .addr = (__u64)(uintptr_t)addr, .len = len,
	};
	long reply;

	if (write(a->to, &c, sizeof(c)) != sizeof(c) ||
	    read(a->from, &reply, sizeof(reply)) != sizeof(reply))
		return -1;
	return reply;
}

/* Close the command pipe and reap; the exit status, or -1. */
static int agent_stop(struct agent *a)
{
	int st;

	if (a->pid <= 0)
		return -1;
	close(a->to);
	close(a->from);
	st = wait_exit(a->pid);
	a->pid = 0;
	return st;
}

/* ---- the fixture: a fresh 1 MiB arena per case */

FIXTURE(mmap) {
	int fd;
	pid_t child;	/* killed and reaped by the teardown if still there */
};

FIXTURE_SETUP(mmap)
{
	self->fd = -1;
	self->child = 0;
	VMM_SETUP_RELOAD(ARENA_STR, &self->fd);
}

FIXTURE_TEARDOWN(mmap)
{
	if (self->child > 0) {
		kill(self->child, SIGKILL);
		waitpid(self->child, NULL, 0);
	}
	if (self->fd >= 0)
		close(self->fd);
}

/* Allocate a mappable block of @size; assert its ID and offset. */
#define ALLOC_MAPPABLE_AT(fd, size, want_id, want_off) do { \
	__u64 __id = 0, __off = 0; \
	ASSERT_OK(alloc_ex((fd), (size), VMM_ALLOC_MAPPABLE, 0, &__id, &__off)); \
	ASSERT_EQ((__u64)(want_id), __id); \
	ASSERT_EQ((__u64)(want_off), __off); \
} while (0)

/* ---- 1: the data path, both ways */

TEST_F(mmap, map_shares_bytes_with_pread_and_pwrite)
{
	size_t len = 3 * pg;
	unsigned char *buf = malloc(len), *p, *q, *r;

	ASSERT_NE(NULL, buf);
	ALLOC_MAPPABLE_AT(self->fd, len, 1, 0);
	ASSERT_OK(vmm_select(self->fd, 1));
	MAP_OK(p, self->fd, len, PROT_READ | PROT_WRITE, 0);
	/* A new block reads as zeros through the mapping too. */
	ASSERT_TRUE(vmm_all(p, len, 0));

	/* Stores through the mapping are the block's bytes. */
	fill_gen((__u32 *)p, len, 1);
	memset(buf, 0, len);
	ASSERT_EQ((ssize_t)len, pread(self->fd, buf, len, 0));
	ASSERT_GEN(buf, len, 1, "pread after stores through the mapping");
	memset(buf, 0, len);
	ASSERT_OK(vmm_read(self->fd, 1, 0, buf, len));
	ASSERT_GEN(buf, len, 1, "VMM_IOC_READ after stores through the mapping");

	/* pwrite(2) is seen through the mapping, at once. */
	vmm_fill(buf, 5000, 7);
	ASSERT_EQ(5000, pwrite(self->fd, buf, 5000, 100));
	ASSERT_EQ(0, memcmp(p + 100, buf, 5000));
	ASSERT_GEN(p, 100, 1, "bytes before the pwrite");
	vmm_fill(buf, 64, 8);
	ASSERT_OK(vmm_write(self->fd, 1, len - 64, buf, 64));
	ASSERT_EQ(0, memcmp(p + len - 64, buf, 64));

	/* The mmap offset is a byte offset inside the block. */
	MAP_OK(q, self->fd, pg, PROT_READ, (off_t)pg);
	ASSERT_EQ(0, memcmp(q, p + pg, pg));
	p[pg + 5] ^= 0xff;
	ASSERT_EQ(p[pg + 5], q[5]);

	/*
	 * A mapping stays with the block it was made of: selecting another
	 * block on the file changes what a new mmap(2) maps, not it.
	 */
	ALLOC_MAPPABLE_AT(self->fd, pg, 2, len);
	ASSERT_OK(vmm_write(self->fd, 2, 0, "second block", 12));
	ASSERT_OK(vmm_select(self->fd, 2));
	ASSERT_EQ(0, memcmp(q, p + pg, pg));
	MAP_OK(r, self->fd, pg, PROT_READ, 0);
	ASSERT_EQ(0, memcmp(r, "second block", 12));
	ASSERT_MAPPED(self->fd, 1, 2);
	ASSERT_MAPPED(self->fd, 2, 1);

	ASSERT_OK(munmap(r, pg));
	ASSERT_OK(munmap(q, pg));
	ASSERT_OK(munmap(p, len));
	ASSERT_MAPPED(self->fd, 1, 0);
	ASSERT_MAPPED(self->fd, 2, 0);
	free(buf);
}

/* ---- 2: rounding, alignment, attrs and the mapped counts */

TEST_F(mmap, mappable_block_is_rounded_aligned_and_counts_mappings)
{
	struct vmm_block_info e;
	struct vmm_info_args info;
	struct vmm_stats_args st;
	__u64 blocks, bytes;
	int go[2], ready[2], in[2], execd[2];
	unsigned char *p;
	char c;

	/* A small block, then a mappable one: it starts at the next page. */
	ALLOC_AT(self->fd, 100, 0, 1, 0);
	ALLOC_MAPPABLE_AT(self->fd, 5000, 2, pg);
	ASSERT_OK(info_get(self->fd, 2, &info));
	EXPECT_EQ(2 * pg, info.size);
	EXPECT_EQ(VMM_BLOCK_MAPPABLE, info.attrs);
	EXPECT_EQ(0ULL, info.mapped);
	ASSERT_OK(info_get(self->fd, 1, &info));
	EXPECT_EQ(0U, info.attrs);
	EXPECT_EQ(0ULL, info.mapped);
	/* The rounding counts: used and the quota usage. */
	ASSERT_OK(vmm_stats(self->fd, &st));
	EXPECT_EQ(100 + 2 * pg, st.used);
	ASSERT_OK(usage_of(self->fd, 0, &blocks, &bytes));
	EXPECT_EQ(2ULL, blocks);
	EXPECT_EQ(100 + 2 * pg, bytes);
	/* The gap below it is free space like any other. */
	ALLOC_AT(self->fd, pg - 100, 0, 3, 100);
	/* A page-sized request is not rounded further. */
	ALLOC_MAPPABLE_AT(self->fd, pg, 4, 3 * pg);
	ASSERT_BLOCK(self->fd, 4, 3 * pg, pg);
	ASSERT_OK(list_entry(self->fd, 2, &e));
	EXPECT_EQ(VMM_BLOCK_MAPPABLE, e.attrs);
	EXPECT_EQ(2 * pg, e.size);
	EXPECT_EQ(0ULL, e.mapped);
	ASSERT_MAPPED_BLOCKS(self->fd, 0);

	/* mmap: 1. */
	ASSERT_OK(vmm_select(self->fd, 2));
	MAP_OK(p, self->fd, 2 * pg, PROT_READ | PROT_WRITE, 0);
	ASSERT_MAPPED(self->fd, 2, 1);
	ASSERT_OK(list_entry(self->fd, 2, &e));
	EXPECT_EQ(1ULL, e.mapped);
	ASSERT_OK(list_entry(self->fd, 1, &e));
	EXPECT_EQ(0ULL, e.mapped);
	ASSERT_MAPPED_BLOCKS(self->fd, 1);
	p[0] = 1;	/* faulted in or not, the count is the same */
	ASSERT_MAPPED(self->fd, 2, 1);

	/* fork: the child's copy is a second mapping, of the same block. */
	ASSERT_OK(pipe(go));
	ASSERT_OK(pipe(ready));
	self->child = fork();
	ASSERT_LE(0, self->child);
	if (!self->child) {
		close(go[1]);
		close(ready[0]);
		if (write(ready[1], "r", 1) != 1)
			_exit(1);
		if (read(go[0], &c, 1) < 0)
			_exit(1);
		_exit(p[0] == 1 ? 0 : 2);
	}
	close(go[0]);
	close(ready[1]);
	ASSERT_EQ(1, read(ready[0], &c, 1));
	ASSERT_MAPPED(self->fd, 2, 2);
	ASSERT_OK(list_entry(self->fd, 2, &e));
	EXPECT_EQ(2ULL, e.mapped);
	/* Blocks, not mappings. */
	ASSERT_MAPPED_BLOCKS(self->fd, 1);
	/* exit drops the child's. */
	ASSERT_EQ(1, write(go[1], "g", 1));
	ASSERT_EQ(0, wait_exit(self->child));
	self->child = 0;
	close(go[1]);
	close(ready[0]);
	ASSERT_EQ(1ULL, mapped_settles(self->fd, 2, 1));

	/*
	 * exec drops it too.  The child's write end of @execd is close-on-
	 * exec, and exec lets go of the old memory before it closes those,
	 * so after EOF on @execd the copy is gone as soon as no one else
	 * holds that memory (mapped_settles()); cat then waits on @in.
	 */
	ASSERT_OK(pipe2(in, O_CLOEXEC));
	ASSERT_OK(pipe2(execd, O_CLOEXEC));
	self->child = fork();
	ASSERT_LE(0, self->child);
	if (!self->child) {
		int err;

		close(execd[0]);
		if (dup2(in[0], 0) != 0)
			_exit(1);
		execlp("cat", "cat", (char *)NULL);
		err = errno;
		if (write(execd[1], &err, 1) != 1)
			_exit(1);
		_exit(127);
	}
	close(in[0]);
	close(execd[1]);
	ASSERT_EQ(0, read(execd[0], &c, 1)) TH_LOG("exec of cat failed");
	ASSERT_EQ(1ULL, mapped_settles(self->fd, 2, 1));
	close(in[1]);
	ASSERT_EQ(0, wait_exit(self->child));
	self->child = 0;
	close(execd[0]);

	/* munmap: 0, and no mapped block left. */
	ASSERT_OK(munmap(p, 2 * pg));
	ASSERT_MAPPED(self->fd, 2, 0);
	ASSERT_OK(list_entry(self->fd, 2, &e));
	EXPECT_EQ(0ULL, e.mapped);
	ASSERT_MAPPED_BLOCKS(self->fd, 0);
}

/* ---- 3: the errors of mmap(2) */

TEST_F(mmap, mmap_errors_have_their_errno)
{
	int prot = PROT_READ | PROT_WRITE, fd2, exec_err;
	struct statvfs sv;
	void *p;

	/* Nothing selected: ENXIO; nor after unbinding. */
	EXPECT_MAP_ERR(ENXIO, self->fd, pg, prot, MAP_SHARED, 0);
	ALLOC_AT(self->fd, pg, 0, 1, 0);	/* not mappable */
	ASSERT_OK(vmm_select(self->fd, 1));
	ASSERT_OK(vmm_select(self->fd, 0));
	EXPECT_MAP_ERR(ENXIO, self->fd, pg, prot, MAP_SHARED, 0);

	/* A block allocated without VMM_ALLOC_MAPPABLE: ENODEV. */
	ASSERT_OK(vmm_select(self->fd, 1));
	EXPECT_MAP_ERR(ENODEV, self->fd, pg, prot, MAP_SHARED, 0);
	EXPECT_MAP_ERR(ENODEV, self->fd, pg, PROT_READ, MAP_SHARED, 0);

	ALLOC_MAPPABLE_AT(self->fd, 2 * pg, 2, pg);
	ASSERT_OK(vmm_select(self->fd, 2));
	/* MAP_PRIVATE: EINVAL, readable or not. */
	EXPECT_MAP_ERR(EINVAL, self->fd, pg, prot, MAP_PRIVATE, 0);
	EXPECT_MAP_ERR(EINVAL, self->fd, pg, PROT_READ, MAP_PRIVATE, 0);
	/* Offset at or past the end, or offset + length past it: EINVAL. */
	EXPECT_MAP_ERR(EINVAL, self->fd, pg, prot, MAP_SHARED, (off_t)(2 * pg));
	EXPECT_MAP_ERR(EINVAL, self->fd, pg, prot, MAP_SHARED,
		       (off_t)(1000 * pg));
	EXPECT_MAP_ERR(EINVAL, self->fd, 2 * pg, prot, MAP_SHARED, (off_t)pg);
	EXPECT_MAP_ERR(EINVAL, self->fd, 3 * pg, prot, MAP_SHARED, 0);
	/* A length that rounds up past the end: EINVAL; to the end: fine. */
	EXPECT_MAP_ERR(EINVAL, self->fd, 2 * pg + 1, prot, MAP_SHARED, 0);
	MAP_OK(p, self->fd, pg + 1, prot, 0);
	ASSERT_OK(munmap(p, 2 * pg));
	MAP_OK(p, self->fd, pg, prot, (off_t)pg);
	ASSERT_OK(munmap(p, pg));
	/*
	 * An offset that is not a page multiple never reaches the module:
	 * mmap(2) refuses it with EINVAL (x86-64's syscall; for i386, the
	 * C library's mmap64 before mmap2), as it does a zero length.
	 */
	EXPECT_MAP_ERR(EINVAL, self->fd, pg, prot, MAP_SHARED, 100);
	EXPECT_MAP_ERR(EINVAL, self->fd, pg, prot, MAP_SHARED, (off_t)pg / 2);
	EXPECT_MAP_ERR(EINVAL, self->fd, 0, prot, MAP_SHARED, 0);
	/*
	 * PROT_EXEC: EACCES from the module.  On a /dev mounted noexec the
	 * VFS refuses it first, with EPERM (the guest's devtmpfs is not).
	 */
	ASSERT_OK(statvfs(VMM_DEV, &sv));
	exec_err = (sv.f_flag & ST_NOEXEC) ? EPERM : EACCES;
	EXPECT_MAP_ERR(exec_err, self->fd, pg, PROT_READ | PROT_EXEC,
		       MAP_SHARED, 0);
	EXPECT_MAP_ERR(exec_err, self->fd, pg, PROT_EXEC, MAP_SHARED, 0);
	EXPECT_MAP_ERR(exec_err, self->fd, pg, prot | PROT_EXEC, MAP_SHARED,
		       0);
	/* Nor can mprotect(2) add it later. */
	MAP_OK(p, self->fd, pg, PROT_READ, 0);
	EXPECT_ERR(EACCES, mprotect(p, pg, PROT_READ | PROT_EXEC));
	ASSERT_OK(munmap(p, pg));

	/* Freed after SELECT: ENOENT (and the ID is gone for a new SELECT). */
	fd2 = open(VMM_DEV, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, fd2);
	ALLOC_MAPPABLE_AT(self->fd, pg, 3, 3 * pg);
	ASSERT_OK(vmm_select(fd2, 3));
	ASSERT_OK(vmm_free(self->fd, 3));
	EXPECT_MAP_ERR(ENOENT, fd2, pg, prot, MAP_SHARED, 0);
	EXPECT_MAP_ERR(ENOENT, fd2, pg, PROT_READ, MAP_SHARED, 0);
	EXPECT_ERR(ENOENT, vmm_select(fd2, 3));

	/*
	 * The order the header gives: MAP_PRIVATE, PROT_EXEC, nothing
	 * selected, (the selector's rights,) freed, (the caller's rights,)
	 * not mappable, outside the block.  Each pair below has two faults;
	 * the earlier one wins.
	 */
	EXPECT_MAP_ERR(ENOENT, fd2, 4 * pg, prot, MAP_SHARED, (off_t)(8 * pg));
	EXPECT_MAP_ERR(EINVAL, fd2, pg, prot, MAP_PRIVATE, 0);
	ASSERT_OK(vmm_select(fd2, 0));
	EXPECT_MAP_ERR(EINVAL, fd2, pg, prot, MAP_PRIVATE, 0);
	EXPECT_MAP_ERR(exec_err, fd2, pg, PROT_READ | PROT_EXEC, MAP_SHARED, 0);
	/* A noexec /dev refuses PROT_EXEC before vmm sees MAP_PRIVATE. */
	EXPECT_MAP_ERR(exec_err == EPERM ? EPERM : EINVAL, fd2, pg,
		       PROT_READ | PROT_EXEC, MAP_PRIVATE, 0);
	ASSERT_OK(vmm_select(fd2, 1));
	EXPECT_MAP_ERR(ENODEV, fd2, 4 * pg, prot, MAP_SHARED, (off_t)(8 * pg));
	EXPECT_MAP_ERR(exec_err, fd2, pg, PROT_READ | PROT_EXEC, MAP_SHARED, 0);
	close(fd2);

	/* None of the failures left a mapping behind. */
	ASSERT_MAPPED(self->fd, 2, 0);
	ASSERT_MAPPED_BLOCKS(self->fd, 0);
	ASSERT_EQ(0, vmm_vmas());
}

/*
 * What mmap(2) itself refuses before vmm is asked, as the uapi header
 * lists it, and the READ_IMPLIES_EXEC personality, under which every
 * mapping asks for PROT_EXEC.  A failure here means the header is wrong,
 * or the module took a flag (FMODE_UNSIGNED_OFFSET, mmap_supported_flags)
 * that lets such a request through to it.
 */
TEST_F(mmap, kernel_refusals_and_read_implies_exec_have_their_errno)
{
	int prot = PROT_READ | PROT_WRITE, wfd, status;
	struct statvfs sv;
	pid_t pid;
	void *p;

	ALLOC_MAPPABLE_AT(self->fd, 2 * pg, 1, 0);
	ASSERT_OK(vmm_select(self->fd, 1));
	/* MAP_SHARED_VALIDATE maps as MAP_SHARED; with MAP_SYNC, EOPNOTSUPP. */
	p = mmap(NULL, pg, prot, MAP_SHARED_VALIDATE, self->fd, 0);
	ASSERT_NE(MAP_FAILED, p) TH_LOG("MAP_SHARED_VALIDATE: %s",
					strerror(errno));
	ASSERT_OK(munmap(p, pg));
	EXPECT_MAP_ERR(EOPNOTSUPP, self->fd, pg, prot,
		       MAP_SHARED_VALIDATE | MAP_SYNC, 0);
	/*
	 * An offset that wraps with the length: EOVERFLOW from x86-64's
	 * syscall.  A 32-bit program cannot ask for one: mmap2's offset is
	 * a 32-bit page number, and i386's C library refuses a negative
	 * offset (EINVAL) before calling it.
	 */
	if (sizeof(long) == 8)
		EXPECT_MAP_ERR(EOVERFLOW, self->fd, pg, prot, MAP_SHARED,
			       -(off_t)pg);
	/* A file opened O_WRONLY cannot be mapped, even writable: EACCES. */
	wfd = open(VMM_DEV, O_WRONLY | O_CLOEXEC);
	ASSERT_LE(0, wfd);
	ASSERT_OK(vmm_select(wfd, 1));
	EXPECT_MAP_ERR(EACCES, wfd, pg, prot, MAP_SHARED, 0);
	EXPECT_MAP_ERR(EACCES, wfd, pg, PROT_WRITE, MAP_SHARED, 0);
	EXPECT_MAP_ERR(EACCES, wfd, pg, PROT_READ, MAP_SHARED, 0);
	close(wfd);
	/*
	 * READ_IMPLIES_EXEC: a PROT_READ mapping asks for PROT_EXEC too, so
	 * vmm refuses it (EACCES), unless /dev is noexec and the kernel
	 * leaves PROT_EXEC off.  In a child: the personality stays.
	 */
	ASSERT_OK(statvfs(VMM_DEV, &sv));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		if (personality(READ_IMPLIES_EXEC) < 0)
			_exit(100);
		p = mmap(NULL, pg, PROT_READ, MAP_SHARED, self->fd, 0);
		_exit(p == MAP_FAILED ? errno : 0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_NE(100, WEXITSTATUS(status)) TH_LOG("personality() failed");
	EXPECT_EQ((sv.f_flag & ST_NOEXEC) ? 0 : EACCES, WEXITSTATUS(status))
		TH_LOG("PROT_READ under READ_IMPLIES_EXEC: %s",
		       strerror(WEXITSTATUS(status)));
	/* Without it, the same mapping works. */
	MAP_OK(p, self->fd, pg, PROT_READ, 0);
	ASSERT_OK(munmap(p, pg));
	/* The child's mapping, where it could map, went with the child. */
	ASSERT_MAPPED_SETTLES(self->fd, 1, 0);
	ASSERT_EQ(0, vmm_vmas());
}

/* ---- 4: r and w, for the caller and for the selector */

TEST_F(mmap, mapping_needs_r_and_w_of_caller_and_selector)
{
	struct report *rep = report_new();
	int fds[6], i, rofd;
	unsigned char want[64];
	void *p;

	ASSERT_NE(NULL, rep);
	/* Root's blocks: 0644 (others read), 0604 likewise, 0602 (w only). */
	ASSERT_OK(alloc_ex(self->fd, pg, VMM_ALLOC_MAPPABLE, 0644, NULL, NULL));
	ASSERT_OK(alloc_ex(self->fd, pg, VMM_ALLOC_MAPPABLE, 0604, NULL, NULL));
	ASSERT_OK(alloc_ex(self->fd, pg, VMM_ALLOC_MAPPABLE, 0602, NULL, NULL));
	/* 4: not mappable, 0602; 5: mappable, 0604 (both for the order). */
	ASSERT_OK(alloc_ex(self->fd, pg, 0, 0602, NULL, NULL));
	ASSERT_OK(alloc_ex(self->fd, pg, VMM_ALLOC_MAPPABLE, 0604, NULL, NULL));
	vmm_fill(want, sizeof(want), 44);
	ASSERT_OK(vmm_write(self->fd, 1, 0, want, sizeof(want)));
	ASSERT_OK(vmm_write(self->fd, 2, 0, want, sizeof(want)));
	for (i = 0; i < 6; i++) {
		fds[i] = open(VMM_DEV, O_RDWR | O_CLOEXEC);
		ASSERT_LE(0, fds[i]);
	}
	/* fds[2] is selected by root, on behalf of the child. */
	ASSERT_OK(vmm_select(fds[2], 3));

	self->child = fork();
	ASSERT_LE(0, self->child);
	if (!self->child) {
		unsigned char *q;

		if (become_other())
			_exit(2);
		/* 0644: the child selects and maps it read-only. */
		rep->err[0] = ERRNO_OF(vmm_select(fds[0], 1));
		q = mmap(NULL, pg, PROT_READ, MAP_SHARED, fds[0], 0);
		rep->err[1] = q == MAP_FAILED ? errno : 0;
		if (q != MAP_FAILED) {
			memcpy(rep->data, q, sizeof(rep->data));
			/* No w: mprotect cannot make it writable. */
			rep->err[2] = ERRNO_OF(mprotect(q, pg, PROT_READ | PROT_WRITE));
		}
		p = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_SHARED, fds[0], 0);
		rep->err[3] = p == MAP_FAILED ? errno : 0;
		p = mmap(NULL, pg, PROT_WRITE, MAP_SHARED, fds[0], 0);
		rep->err[4] = p == MAP_FAILED ? errno : 0;
		/* 0604: the child selects it, for root to use (below). */
		rep->err[5] = ERRNO_OF(vmm_select(fds[1], 2));
		/* 0602, selected by root: the child may write but not read. */
		p = mmap(NULL, pg, PROT_READ, MAP_SHARED, fds[2], 0);
		rep->err[6] = p == MAP_FAILED ? errno : 0;
		p = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_SHARED, fds[2], 0);
		rep->err[7] = p == MAP_FAILED ? errno : 0;
		p = mmap(NULL, pg, PROT_WRITE, MAP_SHARED, fds[2], 0);
		rep->err[8] = p == MAP_FAILED ? errno : 0;
		/* And yet pwrite(2) works: only mapping needs r. */
		rep->err[9] = pwrite(fds[2], "w", 1, 0) == 1 ? 0 : errno;
		/*
		 * A mapping is not revoked by a later CHMOD (as for files):
		 * tell the parent, wait for its chmod 0600, read again.
		 */
		rep->err[10] = 1;
		while (__atomic_load_n(&rep->err[10], __ATOMIC_SEQ_CST) == 1)
			usleep(1000);
		if (q != MAP_FAILED)
			rep->err[11] = memcmp(q, rep->data, sizeof(rep->data)) ? EIO : 0;
		p = mmap(NULL, pg, PROT_READ, MAP_SHARED, fds[0], 0);
		rep->err[12] = p == MAP_FAILED ? errno : 0;
		/* Not mappable and no r: the rights are checked first. */
		rep->err[13] = ERRNO_OF(vmm_select(fds[3], 4));
		p = mmap(NULL, pg, PROT_READ, MAP_SHARED, fds[3], 0);
		rep->err[14] = p == MAP_FAILED ? errno : 0;
		/* 0604: the child selects it; root frees it (below). */
		rep->err[15] = ERRNO_OF(vmm_select(fds[4], 5));
		/* 0602: the child selects it, w only, for root (below). */
		rep->err[16] = ERRNO_OF(vmm_select(fds[5], 3));
		_exit(0);
	}
	for (i = 0; i < 3000 && __atomic_load_n(&rep->err[10], __ATOMIC_SEQ_CST) != 1; i++)
		usleep(10000);
	ASSERT_EQ(1, rep->err[10]) TH_LOG("the child did not get as far as the chmod");
	ASSERT_MAPPED(self->fd, 1, 1);
	{
		struct vmm_chmod_args ch = { .id = 1, .mode = 0600 };

		ASSERT_OK(ioctl(self->fd, VMM_IOC_CHMOD, &ch));
	}
	__atomic_store_n(&rep->err[10], 2, __ATOMIC_SEQ_CST);
	ASSERT_EQ(0, wait_exit(self->child));
	self->child = 0;

	EXPECT_EQ(0, rep->err[0]);
	EXPECT_EQ(0, rep->err[1]);
	EXPECT_EQ(0, memcmp(rep->data, want, sizeof(want)))
		TH_LOG("the read-only mapping of another uid reads other bytes");
	EXPECT_EQ(EACCES, rep->err[2]) TH_LOG("mprotect to PROT_WRITE without w");
	EXPECT_EQ(EACCES, rep->err[3]) TH_LOG("PROT_READ|PROT_WRITE without w");
	EXPECT_EQ(EACCES, rep->err[4]) TH_LOG("PROT_WRITE without w");
	EXPECT_EQ(0, rep->err[5]);
	EXPECT_EQ(EACCES, rep->err[6]) TH_LOG("PROT_READ without r");
	EXPECT_EQ(EACCES, rep->err[7]) TH_LOG("PROT_READ|PROT_WRITE without r");
	EXPECT_EQ(EACCES, rep->err[8]) TH_LOG("PROT_WRITE without r");
	EXPECT_EQ(0, rep->err[9]) TH_LOG("pwrite with w only");
	EXPECT_EQ(0, rep->err[11]) TH_LOG("the mapping after CHMOD 0600");
	EXPECT_EQ(EACCES, rep->err[12]) TH_LOG("a new mapping after CHMOD 0600");
	EXPECT_EQ(0, rep->err[13]);
	EXPECT_EQ(EACCES, rep->err[14]) TH_LOG("not mappable and no r");
	EXPECT_EQ(0, rep->err[15]);
	EXPECT_EQ(0, rep->err[16]);
	/*
	 * Freed, on a file whose selector had only r: root asking for
	 * PROT_WRITE hears of the selector first (EACCES), then of the free.
	 */
	ASSERT_OK(vmm_free(self->fd, 5));
	EXPECT_MAP_ERR(EACCES, fds[4], pg, PROT_READ | PROT_WRITE, MAP_SHARED, 0);
	EXPECT_MAP_ERR(ENOENT, fds[4], pg, PROT_READ, MAP_SHARED, 0);
	/* The child's mapping went with it. */
	ASSERT_MAPPED_SETTLES(self->fd, 1, 0);

	/*
	 * Root, on a file the child selected: the child had only r, so root
	 * may map it read-only, not writable (as read(2) and write(2)).
	 */
	EXPECT_MAP_ERR(EACCES, fds[1], pg, PROT_READ | PROT_WRITE, MAP_SHARED, 0);
	EXPECT_MAP_ERR(EACCES, fds[1], pg, PROT_WRITE, MAP_SHARED, 0);
	MAP_OK(p, fds[1], pg, PROT_READ, 0);
	EXPECT_EQ(0, memcmp(p, want, sizeof(want)));
	EXPECT_ERR(EACCES, mprotect(p, pg, PROT_READ | PROT_WRITE));
	ASSERT_OK(munmap(p, pg));
	/* Root's own selection of the same block maps writable. */
	ASSERT_OK(vmm_select(fds[1], 2));
	MAP_OK(p, fds[1], pg, PROT_READ | PROT_WRITE, 0);
	ASSERT_OK(munmap(p, pg));
	/*
	 * And on a file the child selected with w only: every mapping needs
	 * r, which the selector lacked, however root asks.
	 */
	EXPECT_MAP_ERR(EACCES, fds[5], pg, PROT_READ, MAP_SHARED, 0);
	EXPECT_MAP_ERR(EACCES, fds[5], pg, PROT_READ | PROT_WRITE, MAP_SHARED,
		       0);
	ASSERT_OK(vmm_select(fds[5], 3));
	MAP_OK(p, fds[5], pg, PROT_READ | PROT_WRITE, 0);
	ASSERT_OK(munmap(p, pg));

	/*
	 * A file opened O_RDONLY: the VFS refuses a shared writable mapping
	 * (EACCES) before the module sees it, and mprotect cannot add it.
	 */
	rofd = open(VMM_DEV, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, rofd);
	ASSERT_OK(vmm_select(rofd, 1));
	EXPECT_MAP_ERR(EACCES, rofd, pg, PROT_READ | PROT_WRITE, MAP_SHARED, 0);
	MAP_OK(p, rofd, pg, PROT_READ, 0);
	EXPECT_EQ(0, memcmp(p, want, sizeof(want)));
	EXPECT_ERR(EACCES, mprotect(p, pg, PROT_READ | PROT_WRITE));
	ASSERT_OK(munmap(p, pg));
	close(rofd);
	for (i = 0; i < 6; i++)
		close(fds[i]);
	munmap(rep, sizeof(*rep));
}

/* ---- 5: the hammer */

/*
 * A thread writes generation after generation of a pattern through the
 * mapping and reads each back, while the main thread moves the block
 * 10,000 times.  Between moves the main thread pauses the writer at a
 * generation's end and checks every byte through pread(2).
 */
struct writer {
	volatile __u32 *map;
	size_t bytes;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool pause_req, paused;		/* under mu */
	__u32 paused_gen;		/* under mu */
	atomic_int pause_flag, stop;
	atomic_uint gen;		/* the generation being written */
	/* Only the writer writes these, read after pause or join. */
	unsigned long bad;		/* words read back wrong */
	__u32 bad_gen;
	size_t bad_word;
	__u32 bad_val;
};

static void *writer_main(void *arg)
{
	struct writer *w = arg;
	size_t i, words = w->bytes / 4;
	__u32 gen = 0, v;

	for (;;) {
		if (atomic_load(&w->pause_flag)) {
			pthread_mutex_lock(&w->mu);
			w->paused = true;
			w->paused_gen = gen;
			pthread_cond_broadcast(&w->cv);
			while (w->pause_req && !atomic_load(&w->stop))
				pthread_cond_wait(&w->cv, &w->mu);
			w->paused = false;
			pthread_mutex_unlock(&w->mu);
		}
		if (atomic_load(&w->stop))
			break;
		gen++;
		atomic_store(&w->gen, gen);
		for (i = 0; i < words; i++)
			w->map[i] = pat(gen, i);
		for (i = 0; i < words; i++) {
			v = w->map[i];
			if (v != pat(gen, i) && !w->bad++) {
				w->bad_gen = gen;
				w->bad_word = i;
				w->bad_val = v;
			}
		}
	}
	return NULL;
}

/* Stop the writer at the end of a generation; that generation. */
static __u32 writer_pause(struct writer *w)
{
	__u32 g;

	pthread_mutex_lock(&w->mu);
	w->pause_req = true;
	atomic_store(&w->pause_flag, 1);
	while (!w->paused)
		pthread_cond_wait(&w->cv, &w->mu);
	g = w->paused_gen;
	pthread_mutex_unlock(&w->mu);
	return g;
}

static void writer_resume(struct writer *w)
{
	pthread_mutex_lock(&w->mu);
	w->pause_req = false;
	atomic_store(&w->pause_flag, 0);
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

FIXTURE(hammer) {
	int fd;
	void *map;
	struct writer w;
	pthread_t thread;
	bool running;
};

FIXTURE_SETUP(hammer)
{
	self->fd = -1;
	self->running = false;
	VMM_SETUP_RELOAD(HAMMER_ARENA_STR, &self->fd);
	/*
	 * The debug tier loads vmm with self_check=1, which walks all
	 * 10,000 blocks after every change: most of the hammer's time there,
	 * and none of what it tests.  The next fixture's load restores it.
	 */
	if (access("/sys/module/vmm/parameters/self_check", W_OK) == 0)
		ASSERT_EQ(0, vmm_write_file("/sys/module/vmm/parameters/self_check",
					    "0"));
}

FIXTURE_TEARDOWN(hammer)
{
	/* A failed assertion leaves the writer running: stop it first. */
	if (self->running) {
		atomic_store(&self->w.stop, 1);
		writer_resume(&self->w);
		pthread_join(self->thread, NULL);
	}
	if (self->map)
		munmap(self->map, HAMMER_PAGES * pg);
	if (self->fd >= 0)
		close(self->fd);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static long minor_faults(void)
{
	struct rusage ru;

	return getrusage(RUSAGE_SELF, &ru) ? -1 : ru.ru_minflt;
}

TEST_F_TIMEOUT(hammer, ten_thousand_moves_of_a_written_mapping_lose_no_byte, 540)
{
	const size_t len = HAMMER_PAGES * pg;
	const __u64 m = HAMMER_FILLERS + 1;	/* the mapped block's ID */
	struct writer *w = &self->w;
	unsigned long moves = 0, overlapped = 0, in_use = 0;
	double t_check = 0, t_start = 0, t_move = 0, t1;
	struct vmm_defrag_args d;
	__u64 off, prev, id, o;
	long faults0, faults;
	double t0, t_alloc, t;
	unsigned int r, tries;
	__u32 g, g_before;
	void *buf;

	/* Fillers 1..N, one page each, from offset 0; M on top of them. */
	t0 = now_s();
	for (id = 1; id <= HAMMER_FILLERS; id++) {
		ASSERT_OK(vmm_alloc(self->fd, pg, 0, NULL, &o));
		ASSERT_EQ((id - 1) * pg, o);
	}
	ALLOC_MAPPABLE_AT(self->fd, len, m, HAMMER_FILLERS * pg);
	t_alloc = now_s() - t0;
	ASSERT_OK(vmm_select(self->fd, m));
	buf = malloc(len);
	ASSERT_NE(NULL, buf);
	fill_gen(buf, len, 0);
	ASSERT_EQ((ssize_t)len, pwrite(self->fd, buf, len, 0));
	free(buf);
	MAP_OK(self->map, self->fd, len, PROT_READ | PROT_WRITE, 0);
	ASSERT_GEN(self->map, len, 0, "the mapping before any move");

	w->map = self->map;
	w->bytes = len;
	ASSERT_EQ(0, pthread_mutex_init(&w->mu, NULL));
	ASSERT_EQ(0, pthread_cond_init(&w->cv, NULL));
	ASSERT_EQ(0, pthread_create(&self->thread, NULL, writer_main, w));
	self->running = true;

	faults0 = minor_faults();
	t0 = now_s();
	prev = HAMMER_FILLERS * pg;
	for (r = 0; r < HAMMER_FILLERS; r++) {
		t1 = now_s();
		g = writer_pause(w);
		ASSERT_EQ(0UL, w->bad)
			TH_LOG("round %u: the writer read back %#x at word %zu in generation %u",
			       r, w->bad_val, w->bad_word, w->bad_gen);
		ASSERT_PREAD_GEN(self->fd, len, g, "pread between moves");
		t_check += now_s() - t1;
		t1 = now_s();
		writer_resume(w);
		/* Move while the writer is inside a generation. */
		while (atomic_load(&w->gen) == g)
			sched_yield();
		t_start += now_s() - t1;
		t1 = now_s();
		g_before = atomic_load(&w->gen);
		ASSERT_OK(vmm_free(self->fd, HAMMER_FILLERS - r));
		/*
		 * A fault of the block in flight (the writer refaulting a
		 * page the last move took away) pins it, and DEFRAG goes
		 * around a pinned block: blocks_moved and compact 0.  Then
		 * call again, as the header says.
		 */
		for (tries = 0;; tries++) {
			ASSERT_OK(defrag_full(self->fd, &d));
			if (d.compact || tries == 100000)
				break;
			ASSERT_EQ(0ULL, d.blocks_moved) TH_LOG("round %u", r);
			in_use++;
			sched_yield();
		}
		if (atomic_load(&w->gen) != g_before)
			overlapped++;
		ASSERT_EQ(1ULL, d.compact) TH_LOG("round %u, %u calls", r, tries);
		ASSERT_EQ(1ULL, d.blocks_moved) TH_LOG("round %u", r);
		ASSERT_EQ((__u64)len, d.bytes_moved) TH_LOG("round %u", r);
		t_move += now_s() - t1;
		off = offset_of(self->fd, m);
		ASSERT_EQ(prev - pg, off) TH_LOG("round %u", r);
		ASSERT_EQ(0ULL, off % pg);
		if (off != prev)
			moves++;
		prev = off;
	}
	g = writer_pause(w);
	ASSERT_EQ(0UL, w->bad)
		TH_LOG("the writer read back %#x at word %zu in generation %u",
		       w->bad_val, w->bad_word, w->bad_gen);
	ASSERT_PREAD_GEN(self->fd, len, g, "pread after the last move");
	ASSERT_GEN(self->map, len, g, "the mapping after the last move");
	t = now_s() - t0;
	faults = minor_faults() - faults0;
	atomic_store(&w->stop, 1);
	writer_resume(w);
	ASSERT_EQ(0, pthread_join(self->thread, NULL));
	self->running = false;

	ksft_print_msg("hammer: %lu moves, %u writer generations, %lu moves while a generation was being written, %lu DEFRAG calls that found the block pinned by a fault, %ld page faults, %.1f s (+%.1f s for %d allocations)\n",
		       moves, g, overlapped, in_use, faults, t, t_alloc,
		       HAMMER_FILLERS + 1);
	ksft_print_msg("hammer: of which %.1f s pausing and checking, %.1f s restarting the writer, %.1f s freeing and defragmenting\n",
		       t_check, t_start, t_move);
	ASSERT_EQ(0ULL, offset_of(self->fd, m));
	ASSERT_LE(10000UL, moves);
	/* Every move took the pages away: the writer faulted them again. */
	ASSERT_LE((long)moves, faults);
	ASSERT_MAPPED(self->fd, m, 1);
}

/* ---- 6: fork, then defragment */

TEST_F(mmap, forked_mappings_follow_moves_in_both_processes)
{
	size_t len = 2 * pg;
	struct agent a = { 0 };
	unsigned char *p;
	__u64 moved;

	ALLOC_AT(self->fd, pg, 0, 1, 0);
	ALLOC_AT(self->fd, pg, 0, 2, pg);
	ALLOC_MAPPABLE_AT(self->fd, len, 3, 2 * pg);
	ASSERT_OK(vmm_select(self->fd, 3));
	MAP_OK(p, self->fd, len, PROT_READ | PROT_WRITE, 0);
	fill_gen((__u32 *)p, len, 1);
	ASSERT_OK(agent_start(&a));
	self->child = a.pid;
	ASSERT_MAPPED(self->fd, 3, 2);
	ASSERT_EQ(0, agent_call(&a, AGENT_VERIFY, p, len, 1));

	/* Move it; the child, which had it faulted in, sees it moved. */
	ASSERT_OK(vmm_free(self->fd, 2));
	ASSERT_OK(vmm_defrag(self->fd, NULL, &moved));
	ASSERT_EQ(1ULL, moved);
	ASSERT_EQ(pg, offset_of(self->fd, 3));
	ASSERT_EQ(0, agent_call(&a, AGENT_VERIFY, p, len, 1));
	ASSERT_GEN(p, len, 1, "the parent's mapping after the first move");

	/* The child writes: the parent's mapping and pread(2) see it. */
	ASSERT_EQ(0, agent_call(&a, AGENT_WRITE, p, len, 2));
	ASSERT_GEN(p, len, 2, "the parent's mapping after the child wrote");
	ASSERT_PREAD_GEN(self->fd, len, 2, "pread after the child wrote");

	/* Again, and the parent writes. */
	ASSERT_OK(vmm_free(self->fd, 1));
	ASSERT_OK(vmm_defrag(self->fd, NULL, &moved));
	ASSERT_EQ(1ULL, moved);
	ASSERT_EQ(0ULL, offset_of(self->fd, 3));
	ASSERT_EQ(0, agent_call(&a, AGENT_VERIFY, p, len, 2));
	fill_gen((__u32 *)p, len, 3);
	ASSERT_EQ(0, agent_call(&a, AGENT_VERIFY, p, len, 3));
	ASSERT_PREAD_GEN(self->fd, len, 3, "pread after the parent wrote");

	/*
	 * Freed while both map it: both still share its bytes; the child's
	 * exit leaves the parent's mapping, which still holds the range.
	 */
	ASSERT_OK(vmm_free(self->fd, 3));
	ASSERT_EQ(0, agent_call(&a, AGENT_WRITE, p, len, 4));
	ASSERT_GEN(p, len, 4, "the parent's mapping of the freed block");
	ASSERT_EQ(0, agent_stop(&a));
	self->child = 0;
	ASSERT_MAPPED_BLOCKS(self->fd, 1);
	ASSERT_EQ(len, vmm_sysfs("used"));
	ASSERT_GEN(p, len, 4, "the parent's mapping after the child left");
	ASSERT_OK(munmap(p, len));
	/* The child's mapping may take a moment to go after it exited. */
	ASSERT_MAPPED_BLOCKS_SETTLES(self->fd, 0);
	ASSERT_EQ(0ULL, vmm_sysfs("used"));
}

/* ---- 7: free while mapped */

TEST_F(mmap, freed_mapped_block_keeps_bytes_range_and_quota_until_unmap)
{
	const __u64 rest = ARENA - 3 * pg;
	struct vmm_block_info list[8];
	struct vmm_stats_args st, st0;
	struct vmm_defrag_args d;
	__u64 blocks, bytes, off;
	unsigned char *p;

	/* M (2 pages) at 0, F (1 page), G the rest: the arena is full. */
	ALLOC_MAPPABLE_AT(self->fd, 2 * pg, 1, 0);
	ALLOC_AT(self->fd, pg, 0, 2, 2 * pg);
	ALLOC_AT(self->fd, rest, 0, 3, 3 * pg);
	ASSERT_OK(vmm_select(self->fd, 1));
	MAP_OK(p, self->fd, 2 * pg, PROT_READ | PROT_WRITE, 0);
	fill_gen((__u32 *)p, 2 * pg, 1);
	ASSERT_OK(vmm_stats(self->fd, &st0));
	ASSERT_EQ((__u64)ARENA, st0.used);

	/* Free: the ID is gone at once. */
	ASSERT_OK(vmm_free(self->fd, 1));
	EXPECT_ERR(ENOENT, vmm_info(self->fd, 1, NULL, NULL));
	EXPECT_ERR(ENOENT, vmm_select(self->fd, 1));
	EXPECT_ERR(ENOENT, vmm_free(self->fd, 1));
	EXPECT_ERR(ENOENT, vmm_read(self->fd, 1, 0, list, 8));
	ASSERT_EQ(2, list_all(self->fd, list, 8));
	EXPECT_EQ(2ULL, list[0].id);
	EXPECT_EQ(3ULL, list[1].id);
	/* pread on the file that selected it: ENOENT, as for any freed block. */
	EXPECT_ERR(ENOENT, (int)pread(self->fd, list, 8, 0));

	/* The mapping still reads and writes the bytes. */
	ASSERT_GEN(p, 2 * pg, 1, "the mapping right after the free");
	fill_gen((__u32 *)p, 2 * pg, 2);
	ASSERT_GEN(p, 2 * pg, 2, "the mapping after writing the freed block");

	/* Its range and quota are held: used, usage, no room. */
	ASSERT_OK(vmm_stats(self->fd, &st));
	EXPECT_EQ((__u64)ARENA, st.used);
	EXPECT_EQ(0ULL, st.free);
	EXPECT_EQ(st.allocs - st.frees, st.blocks);
	EXPECT_EQ(2ULL, st.blocks);
	EXPECT_EQ(1ULL, st.mapped_blocks);
	EXPECT_EQ(1ULL, vmm_sysfs("mapped_blocks"));
	EXPECT_EQ((__u64)ARENA, vmm_sysfs("used"));
	ASSERT_OK(usage_of(self->fd, 0, &blocks, &bytes));
	EXPECT_EQ(3ULL, blocks);
	EXPECT_EQ((__u64)ARENA, bytes);
	EXPECT_ERR(ENOSPC, vmm_alloc(self->fd, 1, 0, NULL, NULL));
	EXPECT_ERR(ENOSPC, vmm_alloc(self->fd, 2 * pg, 0, NULL, NULL));
	EXPECT_ERR(ENOSPC, alloc_ex(self->fd, 2 * pg,
				    VMM_ALLOC_MAPPABLE | VMM_ALLOC_COMPACT, 0,
				    NULL, NULL));

	/* DEFRAG does not hand the range out: F stays above it. */
	ASSERT_OK(defrag_full(self->fd, &d));
	EXPECT_EQ(0ULL, d.blocks_moved);
	EXPECT_EQ(2 * pg, offset_of(self->fd, 2));
	EXPECT_ERR(ENOSPC, vmm_alloc(self->fd, 1, 0, NULL, NULL));
	ASSERT_OK(vmm_free(self->fd, 3));
	ASSERT_OK(defrag_full(self->fd, &d));
	EXPECT_EQ(0ULL, d.blocks_moved);
	EXPECT_EQ(1ULL, d.compact) TH_LOG("free space is one range at the end");
	EXPECT_EQ(2 * pg, offset_of(self->fd, 2));
	/* First fit skips the held range. */
	ASSERT_OK(vmm_alloc(self->fd, 2 * pg, 0, NULL, &off));
	EXPECT_EQ(3 * pg, off);
	ASSERT_OK(vmm_alloc(self->fd, 1, 0, NULL, &off));
	EXPECT_EQ(5 * pg, off);
	ASSERT_OK(vmm_free(self->fd, 4));
	ASSERT_OK(vmm_free(self->fd, 5));
	ASSERT_GEN(p, 2 * pg, 2, "the mapping after the defragmentations");
	ASSERT_OK(vmm_stats(self->fd, &st));
	EXPECT_EQ(3 * pg, st.used);
	ASSERT_OK(usage_of(self->fd, 0, &blocks, &bytes));
	EXPECT_EQ(2ULL, blocks);
	EXPECT_EQ(3 * pg, bytes);

	/* The last unmap releases range and quota. */
	ASSERT_OK(munmap(p, 2 * pg));
	ASSERT_OK(vmm_stats(self->fd, &st));
	EXPECT_EQ(pg, st.used);
	EXPECT_EQ(0ULL, st.mapped_blocks);
	EXPECT_EQ(0ULL, vmm_sysfs("mapped_blocks"));
	EXPECT_EQ(1ULL, st.blocks);
	ASSERT_OK(usage_of(self->fd, 0, &blocks, &bytes));
	EXPECT_EQ(1ULL, blocks);
	EXPECT_EQ(pg, bytes);
	ASSERT_OK(vmm_alloc(self->fd, 2 * pg, 0, NULL, &off));
	EXPECT_EQ(0ULL, off) TH_LOG("the range was not released at munmap");
}

/* ---- 8: what VM_PFNMAP refuses: pinning the pages */

/*
 * O_DIRECT is not tried: the guest's only writable file system is tmpfs,
 * which (6.1) refuses O_DIRECT at open(2), and /repo is 9p.  vmsplice(2),
 * a shared futex and process_vm_readv(2) take the same get_user_pages()
 * path that O_DIRECT would.
 */
TEST_F(mmap, mapping_cannot_be_pinned_by_vmsplice_or_futex)
{
	unsigned char buf[64];
	struct iovec iov;
	unsigned char *p;
	int pfd[2];
	ssize_t n;

	ALLOC_MAPPABLE_AT(self->fd, 2 * pg, 1, 0);
	ASSERT_OK(vmm_select(self->fd, 1));
	MAP_OK(p, self->fd, 2 * pg, PROT_READ | PROT_WRITE, 0);
	memcpy(p, "mapped bytes", 12);
	ASSERT_OK(pipe(pfd));

	/* vmsplice(2) from the mapping gifts its pages to a pipe: EFAULT. */
	iov = (struct iovec){ .iov_base = p, .iov_len = pg };
	errno = 0;
	n = vmsplice(pfd[1], &iov, 1, 0);
	EXPECT_EQ(-1, n);
	EXPECT_EQ(EFAULT, errno) TH_LOG("vmsplice from the mapping: %s",
					strerror(errno));
	iov = (struct iovec){ .iov_base = p + pg, .iov_len = 10 };
	errno = 0;
	n = vmsplice(pfd[1], &iov, 1, SPLICE_F_GIFT);
	EXPECT_EQ(-1, n);
	EXPECT_EQ(EFAULT, errno) TH_LOG("vmsplice SPLICE_F_GIFT: %s",
					strerror(errno));
	/* write(2) from it copies, which works. */
	ASSERT_EQ(12, write(pfd[1], p, 12));
	ASSERT_EQ(12, read(pfd[0], buf, 12));
	ASSERT_EQ(0, memcmp(buf, "mapped bytes", 12));
	/*
	 * vmsplice(2) from a pipe into the mapping copies (no pinning), so
	 * it works, whatever the header's "from or into" suggests.
	 */
	ASSERT_EQ(5, write(pfd[1], "spliced", 5));
	iov = (struct iovec){ .iov_base = p + 100, .iov_len = 5 };
	ASSERT_EQ(5, vmsplice(pfd[0], &iov, 1, 0))
		TH_LOG("vmsplice into the mapping: %s", strerror(errno));
	ASSERT_EQ(0, memcmp(p + 100, "splic", 5));

	/*
	 * A shared futex needs the page (get_user_pages), so FUTEX_WAIT on
	 * a mapped word fails with EFAULT: no PTHREAD_PROCESS_SHARED lock
	 * can live in a block.  A private one only reads the word (EAGAIN:
	 * it is not 12345).
	 */
	errno = 0;
	EXPECT_EQ(-1, syscall(SYS_futex, (__u32 *)p, FUTEX_WAIT, 12345, NULL,
			      NULL, 0));
	EXPECT_EQ(EFAULT, errno) TH_LOG("shared FUTEX_WAIT: %s", strerror(errno));
	errno = 0;
	EXPECT_EQ(-1, syscall(SYS_futex, (__u32 *)p, FUTEX_WAIT_PRIVATE, 12345,
			      NULL, NULL, 0));
	EXPECT_EQ(EAGAIN, errno) TH_LOG("private FUTEX_WAIT: %s", strerror(errno));

	close(pfd[0]);
	close(pfd[1]);
	ASSERT_OK(munmap(p, 2 * pg));
}

static char probe_bytes[16] = "probe bytes";

/*
 * Another process's mapping, through process_vm_readv(2) and
 * process_vm_writev(2): EFAULT.  The child is the parent's descendant,
 * so no ptrace_scope stands in the way, and the same call on its ordinary
 * memory works.  Skips where the kernel has no such calls (ENOSYS:
 * CONFIG_CROSS_MEMORY_ATTACH, which the debug kernel's tinyconfig lacks).
 */
TEST_F(mmap, process_vm_readv_cannot_reach_another_process_mapping)
{
	struct agent a = { 0 };
	struct iovec local, remote;
	unsigned char buf[64];
	unsigned char *p;
	ssize_t n;

	ALLOC_MAPPABLE_AT(self->fd, 2 * pg, 1, 0);
	ASSERT_OK(vmm_select(self->fd, 1));
	MAP_OK(p, self->fd, 2 * pg, PROT_READ | PROT_WRITE, 0);
	memcpy(p, "mapped bytes", 12);
	ASSERT_OK(agent_start(&a));
	self->child = a.pid;

	local = (struct iovec){ .iov_base = buf, .iov_len = sizeof(probe_bytes) };
	remote = (struct iovec){ .iov_base = probe_bytes,
				 .iov_len = sizeof(probe_bytes) };
	errno = 0;
	n = process_vm_readv(a.pid, &local, 1, &remote, 1, 0);
	if (n == -1 && errno == ENOSYS)
		VMM_SKIP(return, "no process_vm_readv: CONFIG_CROSS_MEMORY_ATTACH is not set");
	ASSERT_EQ((ssize_t)sizeof(probe_bytes), n)
		TH_LOG("process_vm_readv of ordinary memory: %s", strerror(errno));
	ASSERT_EQ(0, memcmp(buf, probe_bytes, sizeof(probe_bytes)));

	remote = (struct iovec){ .iov_base = p, .iov_len = 16 };
	errno = 0;
	n = process_vm_readv(a.pid, &local, 1, &remote, 1, 0);
	EXPECT_EQ(-1, n);
	EXPECT_EQ(EFAULT, errno) TH_LOG("process_vm_readv: %s", strerror(errno));
	local = (struct iovec){ .iov_base = "overwritten!", .iov_len = 12 };
	errno = 0;
	n = process_vm_writev(a.pid, &local, 1, &remote, 1, 0);
	EXPECT_EQ(-1, n);
	EXPECT_EQ(EFAULT, errno) TH_LOG("process_vm_writev: %s", strerror(errno));
	ASSERT_EQ(0, memcmp(p, "mapped bytes", 12));
	/* Into one's own mapping, the local side is a plain copy: works. */
	local = (struct iovec){ .iov_base = p + 200, .iov_len = 16 };
	remote = (struct iovec){ .iov_base = probe_bytes, .iov_len = 16 };
	ASSERT_EQ(16, process_vm_readv(a.pid, &local, 1, &remote, 1, 0))
		TH_LOG("process_vm_readv into the mapping: %s", strerror(errno));
	ASSERT_EQ(0, memcmp(p + 200, probe_bytes, 16));
	ASSERT_EQ(0, agent_stop(&a));
	self->child = 0;
	ASSERT_OK(munmap(p, 2 * pg));
}

/* ---- 9: /proc/PID/mem reads and writes a mapping (vm_ops->access) */

TEST_F(mmap, proc_mem_reaches_mapping_before_and_after_moves)
{
	size_t len = 2 * pg;
	unsigned char *p, *buf = malloc(len);
	struct agent a = { 0 };
	char path[64];
	int mem, cmem;
	__u64 moved;

	ASSERT_NE(NULL, buf);
	ALLOC_AT(self->fd, pg, 0, 1, 0);
	ALLOC_AT(self->fd, pg, 0, 2, pg);
	ALLOC_MAPPABLE_AT(self->fd, len, 3, 2 * pg);
	ASSERT_OK(vmm_select(self->fd, 3));
	fill_gen((__u32 *)buf, len, 1);
	ASSERT_EQ((ssize_t)len, pwrite(self->fd, buf, len, 0));
	MAP_OK(p, self->fd, len, PROT_READ | PROT_WRITE, 0);
	mem = open("/proc/self/mem", O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, mem);

	/* No page faulted in yet: only the module's access can answer. */
	memset(buf, 0, len);
	ASSERT_EQ((ssize_t)len, pread(mem, buf, len, (off_t)(uintptr_t)p))
		TH_LOG("/proc/self/mem: %s", strerror(errno));
	ASSERT_GEN(buf, len, 1, "/proc/self/mem before any fault");
	ASSERT_GEN(p, len, 1, "the mapping");

	/* Moved: the same address reads the new place. */
	ASSERT_OK(vmm_free(self->fd, 2));
	ASSERT_OK(vmm_defrag(self->fd, NULL, &moved));
	ASSERT_EQ(1ULL, moved);
	ASSERT_EQ(pg, offset_of(self->fd, 3));
	memset(buf, 0, len);
	ASSERT_EQ((ssize_t)len, pread(mem, buf, len, (off_t)(uintptr_t)p));
	ASSERT_GEN(buf, len, 1, "/proc/self/mem after a move");

	/* A write through it is the block's. */
	fill_gen((__u32 *)buf, len, 2);
	ASSERT_EQ((ssize_t)len, pwrite(mem, buf, len, (off_t)(uintptr_t)p))
		TH_LOG("/proc/self/mem: %s", strerror(errno));
	ASSERT_PREAD_GEN(self->fd, len, 2, "pread after a /proc/self/mem write");
	ASSERT_GEN(p, len, 2, "the mapping after a /proc/self/mem write");
	/* Across a page boundary, at an odd address. */
	ASSERT_EQ(10, pwrite(mem, "0123456789", 10, (off_t)(uintptr_t)p + pg - 5));
	ASSERT_EQ(0, memcmp(p + pg - 5, "0123456789", 10));

	/* Another process's mapping, by its /proc/PID/mem, after a move. */
	fill_gen((__u32 *)p, len, 3);
	ASSERT_OK(agent_start(&a));
	self->child = a.pid;
	snprintf(path, sizeof(path), "/proc/%d/mem", (int)a.pid);
	cmem = open(path, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, cmem) TH_LOG("%s: %s", path, strerror(errno));
	ASSERT_OK(vmm_free(self->fd, 1));
	ASSERT_OK(vmm_defrag(self->fd, NULL, &moved));
	ASSERT_EQ(1ULL, moved);
	ASSERT_EQ(0ULL, offset_of(self->fd, 3));
	memset(buf, 0, len);
	ASSERT_EQ((ssize_t)len, pread(cmem, buf, len, (off_t)(uintptr_t)p));
	ASSERT_GEN(buf, len, 3, "the child's /proc/PID/mem");
	fill_gen((__u32 *)buf, len, 4);
	ASSERT_EQ((ssize_t)len, pwrite(cmem, buf, len, (off_t)(uintptr_t)p));
	ASSERT_GEN(p, len, 4, "the parent's mapping after the child's was written");
	ASSERT_EQ(0, agent_call(&a, AGENT_VERIFY, p, len, 4));
	close(cmem);
	ASSERT_EQ(0, agent_stop(&a));
	self->child = 0;
	close(mem);
	ASSERT_OK(munmap(p, len));
	free(buf);
}

/* ---- 10: mremap and split mappings */

/*
 * /proc/PID/mem (and ptrace) reach a mapping through the module, but no
 * further than the mapping itself allows: no write through a PROT_READ
 * mapping, and nothing past the end of the VMA, even inside the block.
 */
TEST_F(mmap, proc_mem_keeps_to_the_mapping_and_its_protection)
{
	unsigned char *p, *buf = malloc(2 * pg), *anon;
	int mem;

	ASSERT_NE(NULL, buf);
	ALLOC_MAPPABLE_AT(self->fd, 2 * pg, 1, 0);
	ASSERT_OK(vmm_select(self->fd, 1));
	fill_gen((__u32 *)buf, 2 * pg, 1);
	ASSERT_EQ((ssize_t)(2 * pg), pwrite(self->fd, buf, 2 * pg, 0));
	mem = open("/proc/self/mem", O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, mem);

	/*
	 * Two anonymous pages, the first then replaced by page 0 of the
	 * block: the mapping with an anonymous page right after it.
	 */
	anon = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, anon);
	p = anon;
	anon += pg;
	memset(anon, 0x5a, pg);

	/* Read-only: a forced write through /proc/self/mem is refused. */
	ASSERT_EQ(p, mmap(p, pg, PROT_READ, MAP_SHARED | MAP_FIXED, self->fd,
			  0));
	EXPECT_EQ(-1, pwrite(mem, "XXXX", 4, (off_t)(uintptr_t)p));
	EXPECT_EQ(EIO, errno);
	ASSERT_PREAD_GEN(self->fd, 2 * pg, 1, "the block after a refused write");

	/*
	 * A read across the end of the mapping must give the anonymous
	 * page's bytes, not the block's page 1.
	 */
	memset(buf, 0, 2 * pg);
	ASSERT_EQ((ssize_t)(2 * pg), pread(mem, buf, 2 * pg,
					   (off_t)(uintptr_t)p + 0));
	ASSERT_GEN(buf, pg, 1, "block page 0 by /proc/self/mem");
	EXPECT_EQ(0x5a, buf[pg]);
	EXPECT_EQ(0x5a, buf[2 * pg - 1]);
	/* And a write across it leaves the block's page 1 alone. */
	ASSERT_EQ(p, mmap(p, pg, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
			  self->fd, 0));
	memset(buf, 0x77, 2 * pg);
	ASSERT_EQ((ssize_t)(2 * pg), pwrite(mem, buf, 2 * pg,
					    (off_t)(uintptr_t)p));
	EXPECT_EQ(0x77, p[0]);
	EXPECT_EQ(0x77, anon[0]);
	ASSERT_EQ((ssize_t)pg, pread(self->fd, buf, pg, pg));
	ASSERT_GEN_AT(buf, pg, 1, pg,
		      "block page 1 after a write across the mapping's end");
	munmap(p, pg);
	munmap(anon, pg);
	close(mem);
	free(buf);
}

/*
 * An unprivileged DEFRAG leaves another user's mapped block where it is
 * (its owner's or root's moves it); its own blocks still move.
 */
TEST_F(mmap, unprivileged_defrag_leaves_others_mapped_blocks)
{
	struct vmm_defrag_args d = { 0 };
	struct report *r = report_new();
	unsigned char *p;
	pid_t pid;

	ASSERT_NE(NULL, r);
	ALLOC_AT(self->fd, pg, 0, 1, 0);
	ALLOC_MAPPABLE_AT(self->fd, pg, 2, pg);
	ASSERT_OK(vmm_select(self->fd, 2));
	MAP_OK(p, self->fd, pg, PROT_READ | PROT_WRITE, 0);
	p[0] = 42;
	ASSERT_OK(vmm_free(self->fd, 1));

	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		struct vmm_defrag_args cd = { 0 };

		r->err[0] = become_other() ? errno ?: EPERM : 0;
		r->err[1] = ioctl(self->fd, VMM_IOC_DEFRAG, &cd) ? errno : 0;
		r->err[2] = (int)cd.blocks_moved;
		r->err[3] = (int)cd.compact;
		_exit(0);
	}
	ASSERT_EQ(0, wait_exit(pid));
	EXPECT_EQ(0, r->err[0]);
	EXPECT_EQ(0, r->err[1]);
	EXPECT_EQ(0, r->err[2]);
	EXPECT_EQ(0, r->err[3]);
	EXPECT_EQ(pg, offset_of(self->fd, 2));

	/* Root's call moves it, and the mapping follows. */
	ASSERT_OK(defrag_full(self->fd, &d));
	EXPECT_EQ(1ULL, d.blocks_moved);
	EXPECT_EQ(0ULL, offset_of(self->fd, 2));
	EXPECT_EQ(42, p[0]);
	munmap(p, pg);
}

TEST_F(mmap, mremap_shrinks_moves_but_never_grows_and_splits_count)
{
	unsigned char *p, *q, *r, *s, *dst;
	__u64 moved;

	ALLOC_AT(self->fd, pg, 0, 1, 0);
	ALLOC_AT(self->fd, pg, 0, 2, pg);
	ALLOC_MAPPABLE_AT(self->fd, 4 * pg, 3, 2 * pg);
	ASSERT_OK(vmm_select(self->fd, 3));
	MAP_OK(p, self->fd, 4 * pg, PROT_READ | PROT_WRITE, 0);
	fill_gen((__u32 *)p, 4 * pg, 1);

	/* Growth: EFAULT (VM_DONTEXPAND), even inside the block. */
	MAP_OK(q, self->fd, 2 * pg, PROT_READ | PROT_WRITE, 0);
	ASSERT_MAPPED(self->fd, 3, 2);
	errno = 0;
	r = mremap(q, 2 * pg, 3 * pg, MREMAP_MAYMOVE);
	EXPECT_TRUE(r == MAP_FAILED);
	EXPECT_EQ(EFAULT, errno) TH_LOG("mremap growth: %s", strerror(errno));
	errno = 0;
	r = mremap(q, 2 * pg, 3 * pg, 0);
	EXPECT_TRUE(r == MAP_FAILED);
	EXPECT_EQ(EFAULT, errno) TH_LOG("mremap growth in place: %s",
					strerror(errno));
	ASSERT_MAPPED(self->fd, 3, 2);

	/* Shrinking works and leaves one mapping. */
	r = mremap(q, 2 * pg, pg, 0);
	ASSERT_TRUE(r == (void *)q) TH_LOG("mremap shrink: %s", strerror(errno));
	ASSERT_MAPPED(self->fd, 3, 2);
	ASSERT_EQ(2, vmm_vmas());
	ASSERT_GEN(q, pg, 1, "the shrunk mapping");

	/* Moving it (to a fixed address) leaves one mapping too. */
	dst = mmap(NULL, 2 * pg, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_TRUE(dst != MAP_FAILED);
	s = mremap(q, pg, pg, MREMAP_MAYMOVE | MREMAP_FIXED, dst + pg);
	ASSERT_TRUE(s == dst + pg) TH_LOG("mremap move: %s", strerror(errno));
	ASSERT_OK(munmap(dst, pg));
	ASSERT_MAPPED(self->fd, 3, 2);
	ASSERT_EQ(2, vmm_vmas());
	ASSERT_GEN(s, pg, 1, "the moved mapping");

	/* Both follow a move of the block. */
	ASSERT_OK(vmm_free(self->fd, 2));
	ASSERT_OK(vmm_defrag(self->fd, NULL, &moved));
	ASSERT_EQ(1ULL, moved);
	ASSERT_EQ(pg, offset_of(self->fd, 3));
	ASSERT_GEN(s, pg, 1, "the moved mapping after a block move");
	fill_gen((__u32 *)p, 4 * pg, 2);
	ASSERT_GEN(s, pg, 2, "the moved mapping after writing the other");
	ASSERT_OK(munmap(s, pg));
	ASSERT_MAPPED(self->fd, 3, 1);

	/* A hole punched in the middle: two mappings. */
	ASSERT_OK(munmap(p + pg, pg));
	ASSERT_MAPPED(self->fd, 3, 2);
	ASSERT_EQ(2, vmm_vmas());
	/* mprotect of the last page splits the second piece: three. */
	ASSERT_OK(mprotect(p + 3 * pg, pg, PROT_READ));
	ASSERT_MAPPED(self->fd, 3, 3);
	ASSERT_EQ(3, vmm_vmas());
	ASSERT_OK(mprotect(p + 3 * pg, pg, PROT_READ | PROT_WRITE));
	/* Whether the VMAs merged again or not, the count matches them. */
	ASSERT_MAPPED(self->fd, 3, (__u64)vmm_vmas());

	/* The pieces follow a move, and each reaches its own bytes. */
	ASSERT_OK(vmm_free(self->fd, 1));
	ASSERT_OK(vmm_defrag(self->fd, NULL, &moved));
	ASSERT_EQ(1ULL, moved);
	ASSERT_EQ(0ULL, offset_of(self->fd, 3));
	ASSERT_GEN(p, pg, 2, "the first piece after the move");
	ASSERT_GEN_AT(p + 2 * pg, 2 * pg, 2, 2 * pg,
		      "the last pieces after the move");
	fill_gen((__u32 *)p, pg, 3);
	fill_gen_at((__u32 *)(p + 2 * pg), 2 * pg, 3, 2 * pg);
	{
		unsigned char b[4 * 4096];

		ASSERT_GE(sizeof(b), 4 * pg);
		ASSERT_EQ((ssize_t)(4 * pg), pread(self->fd, b, 4 * pg, 0));
		ASSERT_GEN(b, pg, 3, "page 0 by pread");
		ASSERT_GEN_AT(b + pg, pg, 2, pg, "page 1 (not mapped) by pread");
		ASSERT_GEN_AT(b + 2 * pg, 2 * pg, 3, 2 * pg,
			      "pages 2-3 by pread");
	}
	ASSERT_OK(munmap(p, 4 * pg));
	ASSERT_MAPPED(self->fd, 3, 0);
	ASSERT_MAPPED_BLOCKS(self->fd, 0);
	ASSERT_EQ(0, vmm_vmas());
}

/* ---- 11: DEFRAG packs around mapped blocks, on page boundaries */

/*
 * Blocks by ID: size, mappable (M), freed before the DEFRAG (F).  The
 * non-mappable ones are larger than a page, so that none lands in the gap
 * below a mappable block, but for the last two, which do.
 */
static const struct {
	__u64 size;
	bool mappable, freed;
} layout[] = {
	{ 0 },
	{ 4196, false, true },
	{ 5000, true, false },
	{ 6000, false, false },
	{ 5555, false, true },
	{ 4096, true, false },
	{ 4100, false, true },
	{ 3 * 4096, true, false },
	{ 7000, false, false },
	{ 4097, false, true },
	{ 1, true, false },
	{ 100, false, false },
	{ 10, false, false },
};

#define NLAYOUT	((int)ARRAY_SIZE(layout) - 1)

TEST_F(mmap, defrag_moves_mapped_blocks_to_page_boundaries_without_waiting)
{
	struct vmm_block_info list[2 * ARRAY_SIZE(layout)];
	unsigned char *maps[ARRAY_SIZE(layout)] = { 0 };
	__u64 size[ARRAY_SIZE(layout)] = { 0 }, before[ARRAY_SIZE(layout)];
	int order[ARRAY_SIZE(layout)], fds[ARRAY_SIZE(layout)];
	unsigned char *buf = malloc(64 * 1024);
	int i, j, k, live = 0, mapped_moved = 0;
	struct vmm_defrag_args d;
	struct vmm_stats_args st;
	struct agent a = { 0 };
	__u64 pos, end;

	ASSERT_NE(NULL, buf);
	ASSERT_EQ(4096UL, (unsigned long)pg);	/* the layout assumes it */
	for (i = 1; i <= NLAYOUT; i++) {
		__u64 id;

		ASSERT_OK(alloc_ex(self->fd, layout[i].size,
				   layout[i].mappable ? VMM_ALLOC_MAPPABLE : 0,
				   0, &id, &before[i]));
		ASSERT_EQ((__u64)i, id);
		ASSERT_OK(vmm_info(self->fd, i, NULL, &size[i]));
		fill_gen((__u32 *)buf, size[i] + 3, i);
		ASSERT_OK(vmm_write(self->fd, i, 0, buf, size[i]));
		fds[i] = -1;
		if (!layout[i].mappable)
			continue;
		ASSERT_EQ(0ULL, before[i] % pg);
		ASSERT_EQ(0ULL, size[i] % pg);
		fds[i] = open(VMM_DEV, O_RDWR | O_CLOEXEC);
		ASSERT_LE(0, fds[i]);
		ASSERT_OK(vmm_select(fds[i], i));
		MAP_OK(maps[i], fds[i], size[i], PROT_READ | PROT_WRITE, 0);
	}
	/* Block 2 faulted in, 5 and 10 never touched, 7 one page of three. */
	(void)*(volatile unsigned char *)maps[2];
	(void)*(volatile unsigned char *)(maps[2] + pg);
	(void)*(volatile unsigned char *)(maps[7] + pg);
	/* A child holds every mapping too, and touches none. */
	ASSERT_OK(agent_start(&a));
	self->child = a.pid;
	for (i = 1; i <= NLAYOUT; i++)
		if (layout[i].freed)
			ASSERT_OK(vmm_free(self->fd, i));

	ASSERT_OK(defrag_full(self->fd, &d));
	EXPECT_EQ(1ULL, d.compact);
	EXPECT_LE(1ULL, d.blocks_moved);

	/*
	 * Where each live block must be: in the order of its old offset,
	 * slid down, a mappable one to the first page boundary at or above
	 * the end of the block below it.
	 */
	for (i = 1; i <= NLAYOUT; i++)
		if (!layout[i].freed)
			order[live++] = i;
	for (i = 1; i < live; i++)
		for (j = i; j > 0 && before[order[j - 1]] > before[order[j]]; j--) {
			k = order[j];
			order[j] = order[j - 1];
			order[j - 1] = k;
		}
	pos = 0;
	for (j = 0; j < live; j++) {
		__u64 off;

		i = order[j];
		if (layout[i].mappable)
			pos = (pos + pg - 1) / pg * pg;
		off = offset_of(self->fd, i);
		EXPECT_EQ(pos, off) TH_LOG("block %d, at %llu before", i,
					   (unsigned long long)before[i]);
		if (layout[i].mappable && off != before[i])
			mapped_moved++;
		pos += size[i];
	}
	EXPECT_LE(3, mapped_moved);

	/* From LIST: no free range but the last is a page or larger. */
	k = list_all(self->fd, list, ARRAY_SIZE(list));
	ASSERT_EQ(live, k);
	for (i = 1; i < k; i++)
		for (j = i; j > 0 && list[j - 1].offset > list[j].offset; j--) {
			struct vmm_block_info t = list[j];

			list[j] = list[j - 1];
			list[j - 1] = t;
		}
	end = 0;
	for (i = 0; i < k; i++) {
		__u64 gap;

		ASSERT_LE(end, list[i].offset);
		gap = list[i].offset - end;
		EXPECT_GT(pg, gap) TH_LOG("a gap of %llu below block %llu",
					  (unsigned long long)gap,
					  (unsigned long long)list[i].id);
		if (list[i].attrs & VMM_BLOCK_MAPPABLE) {
			EXPECT_EQ(0ULL, list[i].offset % pg);
			EXPECT_EQ(2ULL, list[i].mapped);
		} else {
			EXPECT_EQ(0ULL, gap) TH_LOG("block %llu",
						    (unsigned long long)list[i].id);
		}
		end = list[i].offset + list[i].size;
	}
	ASSERT_OK(vmm_stats(self->fd, &st));
	EXPECT_EQ(ARENA - end, st.largest_free);

	/* The bytes moved with them: mappings (both processes), READ. */
	for (i = 1; i <= NLAYOUT; i++) {
		if (layout[i].freed)
			continue;
		if (maps[i]) {
			ASSERT_GEN(maps[i], size[i], i, "a mapping after DEFRAG");
			EXPECT_EQ(0, agent_call(&a, AGENT_VERIFY, maps[i],
						size[i], i))
				TH_LOG("block %d in the child", i);
		}
		memset(buf, 0, size[i]);
		ASSERT_OK(vmm_read(self->fd, i, 0, buf, size[i]));
		ASSERT_GEN(buf, size[i], i, "VMM_IOC_READ after DEFRAG");
	}
	/* A second DEFRAG has nothing to do. */
	ASSERT_OK(defrag_full(self->fd, &d));
	EXPECT_EQ(0ULL, d.blocks_moved);
	EXPECT_EQ(1ULL, d.compact);
	ASSERT_EQ(0, agent_stop(&a));
	self->child = 0;
	for (i = 1; i <= NLAYOUT; i++) {
		if (maps[i])
			ASSERT_OK(munmap(maps[i], size[i]));
		if (fds[i] >= 0)
			close(fds[i]);
	}
	free(buf);
}

/* ---- 12: a mapping outlives its file */

TEST_F(mmap, mapping_outlives_closed_file)
{
	struct vmm_stats_args st;
	unsigned char *p, *q, *s;
	struct vmm_alloc_args a;
	__u64 moved, used;
	int fd2, fd3, fd4;
	char buf[8];

	ALLOC_AT(self->fd, pg, 0, 1, 0);
	ALLOC_MAPPABLE_AT(self->fd, 2 * pg, 2, pg);
	fd2 = open(VMM_DEV, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, fd2);
	ASSERT_OK(vmm_select(fd2, 2));
	MAP_OK(p, fd2, 2 * pg, PROT_READ | PROT_WRITE, 0);
	ASSERT_OK(close(fd2));
	ASSERT_MAPPED(self->fd, 2, 1);
	fill_gen((__u32 *)p, 2 * pg, 1);
	ASSERT_OK(vmm_free(self->fd, 1));
	ASSERT_OK(vmm_defrag(self->fd, NULL, &moved));
	ASSERT_EQ(1ULL, moved);
	ASSERT_EQ(0ULL, offset_of(self->fd, 2));
	ASSERT_GEN(p, 2 * pg, 1, "the mapping of a closed file after a move");
	ASSERT_OK(vmm_select(self->fd, 2));
	ASSERT_PREAD_GEN(self->fd, 2 * pg, 1, "pread of it");
	fill_gen((__u32 *)p, 2 * pg, 2);
	ASSERT_PREAD_GEN(self->fd, 2 * pg, 2, "pread after writing it");
	ASSERT_OK(munmap(p, 2 * pg));
	ASSERT_MAPPED(self->fd, 2, 0);

	/*
	 * A scoped block mapped through its own file: the mapping holds the
	 * file, so close(2) is not its release; munmap(2) is, and frees it.
	 */
	fd3 = open(VMM_DEV, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, fd3);
	a = (struct vmm_alloc_args){ .size = pg,
				     .flags = VMM_ALLOC_SCOPED | VMM_ALLOC_MAPPABLE };
	ASSERT_OK(ioctl(fd3, VMM_IOC_ALLOC, &a));
	ASSERT_EQ(3ULL, a.id);
	ASSERT_OK(vmm_select(fd3, 3));
	MAP_OK(q, fd3, pg, PROT_READ | PROT_WRITE, 0);
	ASSERT_OK(close(fd3));
	ASSERT_MAPPED(self->fd, 3, 1);
	memcpy(q, "scoped", 6);
	ASSERT_OK(vmm_read(self->fd, 3, 0, buf, 6));
	ASSERT_EQ(0, memcmp(buf, "scoped", 6));
	ASSERT_OK(vmm_stats(self->fd, &st));
	used = st.used;
	ASSERT_OK(munmap(q, pg));
	EXPECT_ERR(ENOENT, vmm_info(self->fd, 3, NULL, NULL));
	ASSERT_OK(vmm_stats(self->fd, &st));
	EXPECT_EQ(used - pg, st.used);

	/*
	 * A scoped block mapped through another file: closing its own file
	 * frees it, as VMM_IOC_FREE does: the ID goes, the mapping stays.
	 */
	fd3 = open(VMM_DEV, O_RDWR | O_CLOEXEC);
	fd4 = open(VMM_DEV, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, fd3);
	ASSERT_LE(0, fd4);
	a = (struct vmm_alloc_args){ .size = pg,
				     .flags = VMM_ALLOC_SCOPED | VMM_ALLOC_MAPPABLE };
	ASSERT_OK(ioctl(fd3, VMM_IOC_ALLOC, &a));
	ASSERT_OK(vmm_select(fd4, a.id));
	MAP_OK(s, fd4, pg, PROT_READ | PROT_WRITE, 0);
	memcpy(s, "outlives", 8);
	ASSERT_OK(close(fd4));
	ASSERT_OK(close(fd3));
	EXPECT_ERR(ENOENT, vmm_info(self->fd, a.id, NULL, NULL));
	ASSERT_EQ(0, memcmp(s, "outlives", 8));
	memcpy(s + 8, "!", 1);
	ASSERT_EQ(0, memcmp(s, "outlives!", 9));
	ASSERT_MAPPED_BLOCKS(self->fd, 1);
	ASSERT_OK(vmm_stats(self->fd, &st));
	EXPECT_EQ(used, st.used);
	ASSERT_OK(munmap(s, pg));
	ASSERT_MAPPED_BLOCKS(self->fd, 0);
	ASSERT_OK(vmm_stats(self->fd, &st));
	EXPECT_EQ(used - pg, st.used);
}

/* ---- 13: a block freed while mapped still moves, and is released where it went */

TEST_F(mmap, freed_mapped_block_moves_and_is_released_where_it_went)
{
	struct vmm_defrag_args d;
	struct vmm_stats_args st;
	struct agent a = { 0 };
	unsigned char *p;
	__u64 off;

	/* F (1 page), M (2 pages, mapped, then freed), G (1 page). */
	ALLOC_AT(self->fd, pg, 0, 1, 0);
	ALLOC_MAPPABLE_AT(self->fd, 2 * pg, 2, pg);
	ALLOC_AT(self->fd, pg, 0, 3, 3 * pg);
	ASSERT_OK(vmm_select(self->fd, 2));
	MAP_OK(p, self->fd, 2 * pg, PROT_READ | PROT_WRITE, 0);
	fill_gen((__u32 *)p, 2 * pg, 1);
	ASSERT_OK(agent_start(&a));
	self->child = a.pid;
	ASSERT_OK(vmm_free(self->fd, 2));

	/*
	 * Freeing F opens a hole below M: DEFRAG closes it, moving M (its
	 * bytes are still reachable, so they move with it) and G after it.
	 */
	ASSERT_OK(vmm_free(self->fd, 1));
	ASSERT_OK(defrag_full(self->fd, &d));
	EXPECT_EQ(1ULL, d.compact);
	EXPECT_EQ(3 * pg, d.bytes_moved);
	EXPECT_EQ(2ULL, d.blocks_moved);
	EXPECT_EQ(2 * pg, offset_of(self->fd, 3));
	ASSERT_GEN(p, 2 * pg, 1, "the freed block's mapping after it moved");
	ASSERT_EQ(0, agent_call(&a, AGENT_VERIFY, p, 2 * pg, 1));
	ASSERT_EQ(0, agent_call(&a, AGENT_WRITE, p, 2 * pg, 2));
	ASSERT_GEN(p, 2 * pg, 2, "the parent's mapping after the child wrote");
	ASSERT_OK(vmm_stats(self->fd, &st));
	EXPECT_EQ(3 * pg, st.used);
	EXPECT_EQ(1ULL, st.mapped_blocks);

	/*
	 * The range at its new place, [0, 2 pages), is held until both
	 * mappings go: first fit lands above G meanwhile.
	 */
	ASSERT_OK(vmm_alloc(self->fd, 1, 0, NULL, &off));
	EXPECT_EQ(3 * pg, off);
	ASSERT_OK(vmm_free(self->fd, 4));
	ASSERT_EQ(0, agent_stop(&a));
	self->child = 0;
	ASSERT_OK(vmm_alloc(self->fd, 1, 0, NULL, &off));
	EXPECT_EQ(3 * pg, off);
	ASSERT_OK(vmm_free(self->fd, 5));
	ASSERT_OK(munmap(p, 2 * pg));
	vmm_sysfs_settles("mapped_blocks", 0);
	ASSERT_OK(vmm_stats(self->fd, &st));
	EXPECT_EQ(pg, st.used);
	EXPECT_EQ(0ULL, st.mapped_blocks);
	ASSERT_OK(vmm_alloc(self->fd, 2 * pg, 0, NULL, &off));
	EXPECT_EQ(0ULL, off);
	ASSERT_OK(vmm_alloc(self->fd, ARENA - 3 * pg, 0, NULL, &off));
	EXPECT_EQ(3 * pg, off);
}

/* ---- 14: a compacting ALLOC moves a mapped block like DEFRAG */

TEST_F(mmap, compacting_alloc_moves_mapped_block)
{
	struct vmm_alloc_args big = {
		.size = ARENA - 2 * pg, .flags = VMM_ALLOC_COMPACT,
	};
	unsigned char *p;

	/* F (1 page) below M (2 pages, mapped), then F freed. */
	ALLOC_AT(self->fd, pg, 0, 1, 0);
	ALLOC_MAPPABLE_AT(self->fd, 2 * pg, 2, pg);
	ASSERT_OK(vmm_select(self->fd, 2));
	MAP_OK(p, self->fd, 2 * pg, PROT_READ | PROT_WRITE, 0);
	fill_gen((__u32 *)p, 2 * pg, 1);
	ASSERT_OK(vmm_free(self->fd, 1));
	/* ARENA - 2 pages are free, but in two ranges: only compaction fits it. */
	EXPECT_ERR(ENOSPC, vmm_alloc(self->fd, big.size, 0, NULL, NULL));
	ASSERT_OK(ioctl(self->fd, VMM_IOC_ALLOC, &big));
	EXPECT_EQ(2 * pg, big.offset);
	EXPECT_EQ(0ULL, offset_of(self->fd, 2));
	ASSERT_GEN(p, 2 * pg, 1, "the mapping after a compacting ALLOC");
	fill_gen((__u32 *)p, 2 * pg, 2);
	ASSERT_PREAD_GEN(self->fd, 2 * pg, 2, "pread after writing it");
	ASSERT_OK(munmap(p, 2 * pg));
}

/* ---- 15: the rounding counts against max_bytes_per_uid */

/*
 * A mappable block is whole pages: a size that fits the arena but whose
 * rounding does not is EINVAL, as a size past the arena is, not ENOSPC
 * (no defragmentation could make room).  Here the arena is 6000 bytes.
 */
TEST_F(mmap, mappable_size_rounded_past_the_arena_fails_einval)
{
	struct vmm_stats_args st;
	__u64 id;

	ASSERT_EQ(4096U, pg) TH_LOG("the arena below is sized for 4 KiB pages");
	close(self->fd);
	self->fd = -1;
	VMM_SETUP_RELOAD("6000", &self->fd);
	EXPECT_ERR(EINVAL, alloc_ex(self->fd, 5000, VMM_ALLOC_MAPPABLE, 0,
				    NULL, NULL));
	EXPECT_ERR(EINVAL, alloc_ex(self->fd, 4097, VMM_ALLOC_MAPPABLE |
				    VMM_ALLOC_COMPACT, 0, NULL, NULL));
	ASSERT_OK(vmm_stats(self->fd, &st));
	EXPECT_EQ(0ULL, st.blocks);
	EXPECT_EQ(0ULL, st.alloc_failures);
	/* One page fits; so do the 5000 bytes, not mappable. */
	ASSERT_OK(alloc_ex(self->fd, 4096, VMM_ALLOC_MAPPABLE, 0, &id, NULL));
	ASSERT_OK(vmm_free(self->fd, id));
	EXPECT_OK(vmm_alloc(self->fd, 5000, 0, NULL, NULL));
}

TEST_F(mmap, mappable_rounding_counts_against_byte_quota)
{
	__u64 blocks, bytes;

	ASSERT_EQ(0, vmm_write_file("/sys/module/vmm/parameters/max_bytes_per_uid",
				    "8192"));
	/* 1 byte asked, a page charged. */
	ASSERT_OK(alloc_ex(self->fd, 1, VMM_ALLOC_MAPPABLE, 0, NULL, NULL));
	ASSERT_OK(usage_of(self->fd, 0, &blocks, &bytes));
	EXPECT_EQ(pg, bytes);
	/* 4097 asked would be 2 pages more: past the quota, EDQUOT. */
	EXPECT_ERR(EDQUOT, alloc_ex(self->fd, pg + 1, VMM_ALLOC_MAPPABLE, 0,
				    NULL, NULL));
	/* The same bytes unrounded fit exactly... */
	ASSERT_OK(vmm_alloc(self->fd, 8192 - pg, 0, NULL, NULL));
	ASSERT_OK(usage_of(self->fd, 0, &blocks, &bytes));
	EXPECT_EQ(8192ULL, bytes);
	EXPECT_EQ(2ULL, blocks);
	/* ...and then even a 1-byte mappable block is a page too many. */
	EXPECT_ERR(EDQUOT, alloc_ex(self->fd, 1, VMM_ALLOC_MAPPABLE, 0, NULL,
				    NULL));
	ASSERT_EQ(0, vmm_write_file("/sys/module/vmm/parameters/max_bytes_per_uid",
				    "0"));
}

TEST_HARNESS_MAIN
