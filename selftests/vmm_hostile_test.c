// SPDX-License-Identifier: GPL-2.0
/*
 * vmm_hostile_test: a hostile member of group vmm can neither stall the
 * machine nor exhaust it.
 *
 * Each test reloads the module with its own arena.  The program runs as
 * root; the attacker is a child that drops to uid 1000, 1001 or 1002
 * (setgroups, setresgid, setresuid) and acts through the inherited
 * descriptor.  A child reports through a pipe (or a shared page) and
 * never asserts; the parent asserts on the report.  Every child that may
 * block in the module runs under an alarm whose handler only interrupts
 * the call, and the parent stops waiting for it (and kills it) a little
 * after that, so a module that blocks makes a test fail, never hang.
 *
 * The tests, and what today's module lets the attacker do:
 *   aligned_search_lock_hold_is_bounded: an aligned request that cannot
 *	fit walks every free extent under the spinlock
 *   defrag_does_not_wait_for_stalled_copy: one copy stalled on a
 *	userfaultfd page stalls every defragmentation and compacting
 *	allocation
 */
#define _GNU_SOURCE
#include <grp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <time.h>
#include <sys/prctl.h>

#include <linux/userfaultfd.h>

#include "vmm_util.h"

#define PARAM_DIR	VMM_MOD_DIR "/parameters/"
#define MAX_HOLD	VMM_SYSFS_DIR "max_lock_hold_ns"

/* The unprivileged ids; each one's gid equals its uid. */
#define UID_B		1001

/* Seconds a child may spend in a call that must not block. */
#define STALL_DEADLINE	3

FIXTURE(hostile) {
	int fd;
};

FIXTURE_SETUP(hostile)
{
	const char *why = vmm_skip_reason();

	self->fd = -1;
	if (why)
		VMM_SETUP_SKIP("%s", why);
}

FIXTURE_TEARDOWN(hostile)
{
	if (self->fd >= 0)
		close(self->fd);
}

/* Reload vmm with an arena of @size (NULL: every parameter's default). */
#define RELOAD(size) do { \
	if (self->fd >= 0) \
		close(self->fd); \
	self->fd = -1; \
	VMM_SETUP_RELOAD(size, &self->fd); \
} while (0)

/* ---- helpers */

static __u64 now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* Write @s to @path in one write(2); 0, or the errno (EIO if short). */
static int write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), err = 0;
	ssize_t n;

	if (fd < 0)
		return errno;
	n = write(fd, s, strlen(s));
	if (n < 0)
		err = errno;
	else if (n != (ssize_t)strlen(s))
		err = EIO;
	close(fd);
	return err;
}

/* Set the module parameter @name; 0, or the errno. */
static int write_param(const char *name, unsigned long long v)
{
	char path[128], text[32];

	snprintf(path, sizeof(path), PARAM_DIR "%s", name);
	snprintf(text, sizeof(text), "%llu\n", v);
	return write_file(path, text);
}

/*
 * The allocator's self-check (on in the debug tier) walks every block
 * after every change: O(n^2) for the tens of thousands of blocks these
 * tests allocate.  They turn it off after their load; KASAN and lockdep
 * still watch.
 */
static void no_self_check(void)
{
	if (vmm_path_exists(PARAM_DIR "self_check"))
		write_param("self_check", 0);
}

/* The median of @n values (sorts them). */
static __u64 median(__u64 *v, int n)
{
	int i, j;

	for (i = 1; i < n; i++)
		for (j = i; j > 0 && v[j - 1] > v[j]; j--) {
			__u64 t = v[j];

			v[j] = v[j - 1];
			v[j - 1] = t;
		}
	return v[n / 2];
}

/* ---- children */

/* What a child sends back. */
struct report {
	int ret;		/* the (last) call's return value */
	int err;		/* its errno, 0 if it succeeded */
	__u64 ns;		/* how long the timed call took */
	__u64 v[32];		/* anything else the child reports */
};

typedef void (*child_fn)(int fd, void *arg, struct report *r);

/* Record a call's return value and errno. */
static void note(struct report *r, int ret)
{
	r->ret = ret;
	r->err = ret ? errno : 0;
}

/* Become @uid (0: stay root) for good: groups, then gids, then uids. */
static int drop_to(uid_t uid)
{
	gid_t gid = uid;

	if (!uid)
		return 0;
	/* Dumpable again, so that /proc/PID stays the task's own. */
	if (setgroups(1, &gid) || setresgid(gid, gid, gid) ||
	    setresuid(uid, uid, uid) || prctl(PR_SET_DUMPABLE, 1, 0, 0, 0))
		return -1;
	return geteuid() == uid ? 0 : -1;
}

/* Does nothing: its only job is to end a blocking call with EINTR. */
static void on_alarm(int sig)
{
	(void)sig;
}

/* Arm an alarm that interrupts (EINTR) rather than kills or restarts. */
static void interrupt_after(unsigned int seconds)
{
	struct sigaction sa = { .sa_handler = on_alarm };	/* no SA_RESTART */

	sigaction(SIGALRM, &sa, NULL);
	alarm(seconds);
}

/*
 * Wait up to @ms for a @len-byte message on @rfd; 0, or -1 if none came
 * whole in time.
 */
static int read_within(int rfd, void *buf, size_t len, int ms)
{
	struct pollfd pfd = { .fd = rfd, .events = POLLIN };
	size_t got = 0;
	ssize_t n;
	__u64 end = now_ns() + ms * 1000000ULL;

	while (got < len) {
		__u64 now = now_ns();

		if (now >= end || poll(&pfd, 1, (end - now) / 1000000 + 1) <= 0)
			return -1;
		n = read(rfd, (char *)buf + got, len - got);
		if (n <= 0)
			return -1;
		got += n;
	}
	return 0;
}

/*
 * Run @fn as @uid in a child that shares @fd, under an alarm of @deadline
 * seconds; its report in *@r.  The parent waits two seconds more, then
 * kills it.  0, or -1 if the child did not report (could not drop its ids,
 * crashed, or was killed).
 */
static int run_as(uid_t uid, int fd, child_fn fn, void *arg,
		  struct report *r, unsigned int deadline)
{
	int p[2], status, ok;
	pid_t pid;

	memset(r, 0, sizeof(*r));
	if (pipe(p))
		return -1;
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (!pid) {
		struct report c = { 0 };

		close(p[0]);
		if (drop_to(uid))
			_exit(2);
		interrupt_after(deadline);
		fn(fd, arg, &c);
		alarm(0);
		if (write(p[1], &c, sizeof(c)) != sizeof(c))
			_exit(3);
		_exit(0);
	}
	close(p[1]);
	ok = !read_within(p[0], r, sizeof(*r), (deadline + 2) * 1000);
	close(p[0]);
	if (!ok)
		kill(pid, SIGKILL);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status))
		ok = 0;
	return ok ? 0 : -1;
}

/* Run @fn as @uid, asserting that it reported. */
#define AS(uid, fn, arg, r, deadline) \
	ASSERT_EQ(0, run_as((uid), self->fd, (fn), (arg), (r), (deadline))) \
		TH_LOG("the child as uid %d did not report in %d s", (uid), \
		       (deadline) + 2)

/* arg: { size, seed }; a block of @size holding vmm_fill(@seed). */
static void do_alloc_filled(int fd, void *arg, struct report *r)
{
	const __u64 *a = arg;
	void *buf = malloc(a[0]);
	__u64 id = 0, off = 0;

	if (!buf) {
		r->ret = -1;
		r->err = ENOMEM;
		return;
	}
	vmm_fill(buf, a[0], a[1]);
	note(r, vmm_alloc(fd, a[0], 0, &id, &off));
	if (!r->ret)
		note(r, vmm_write(fd, id, 0, buf, a[0]));
	r->v[0] = id;
	r->v[1] = off;
	free(buf);
}

/* A defragmentation with flags 0 and budget 0, timed. */
static void do_defrag_timed(int fd, void *arg, struct report *r)
{
	struct vmm_defrag_args a = { 0 };
	__u64 t0 = now_ns();

	(void)arg;
	note(r, ioctl(fd, VMM_IOC_DEFRAG, &a));
	r->ns = now_ns() - t0;
	r->v[0] = a.bytes_moved;
	r->v[1] = a.blocks_moved;
	r->v[2] = a.compact;
}

/* arg: size; an allocation with VMM_ALLOC_COMPACT, timed. */
static void do_alloc_compact_timed(int fd, void *arg, struct report *r)
{
	struct vmm_alloc_args a = { .size = *(__u64 *)arg,
				    .flags = VMM_ALLOC_COMPACT };
	__u64 t0 = now_ns();

	note(r, ioctl(fd, VMM_IOC_ALLOC, &a));
	r->ns = now_ns() - t0;
	r->v[0] = a.id;
	r->v[1] = a.offset;
}

/* ---- 1: a request that cannot fit is refused cheaply */

#define HOLD_N		100000	/* 1-byte holes, all at odd offsets */
#define HOLD_ROUNDS	5
#define HOLD_TRIES	100

/* Reset max_lock_hold_ns (root may write 0 to it); 0, or the errno. */
static int reset_max_hold(void)
{
	return write_file(MAX_HOLD, "0\n");
}

/*
 * HOLD_TRIES allocations of @size at @align, each to be refused: how many
 * were not -1 with ENOSPC; their time in *@ns.
 */
static int refused_allocs(int fd, __u64 size, __u64 align, __u64 *ns)
{
	__u64 t0 = now_ns();
	int i, wrong = 0;

	for (i = 0; i < HOLD_TRIES; i++) {
		errno = 0;
		if (vmm_alloc(fd, size, align, NULL, NULL) != -1 ||
		    errno != ENOSPC)
			wrong++;
	}
	*ns = now_ns() - t0;
	return wrong;
}

TEST_F_TIMEOUT(hostile, aligned_search_lock_hold_is_bounded, 300)
{
	__u64 a[HOLD_ROUNDS], b[HOLD_ROUNDS], ta, tb, ta_sum = 0, tb_sum = 0;
	__u64 i, id, off, misplaced = 0, med_a, med_b, t0;
	int round, wrong_a = 0, wrong_b = 0, reset_err;

	RELOAD("200000");
	no_self_check();
	/* The arena full of 1-byte blocks, then every odd offset freed. */
	t0 = now_ns();
	for (i = 0; i < 2 * HOLD_N; i++) {
		ASSERT_OK(vmm_alloc(self->fd, 1, 0, &id, &off));
		misplaced += id != i + 1 || off != i;
	}
	ASSERT_EQ(0ULL, misplaced);
	for (i = 1; i < 2 * HOLD_N; i += 2)
		ASSERT_OK(vmm_free(self->fd, i + 1));
	ASSERT_EQ((__u64)HOLD_N, vmm_sysfs("free"));
	ASSERT_EQ(1ULL, vmm_sysfs("largest_free"));
	ksft_print_msg("%d one-byte holes at odd offsets made in %llu ms\n",
		       HOLD_N, (now_ns() - t0) / 1000000);

	reset_err = reset_max_hold();
	EXPECT_EQ(0, reset_err)
		TH_LOG("writing 0 to %s as root: %s; the maximum must be resettable",
		       MAX_HOLD, strerror(reset_err));
	/*
	 * Each round's figure is the longest of 100 holds; the medians over
	 * five rounds damp the timer interrupts that TCG lets land inside a
	 * hold and inflate one round's maximum.
	 */
	for (round = 0; round < HOLD_ROUNDS; round++) {
		reset_max_hold();
		wrong_a += refused_allocs(self->fd, 1, 2, &ta);
		a[round] = vmm_sysfs("max_lock_hold_ns");
		reset_max_hold();
		wrong_b += refused_allocs(self->fd, 2, 0, &tb);
		b[round] = vmm_sysfs("max_lock_hold_ns");
		ta_sum += ta;
		tb_sum += tb;
		ksft_print_msg("round %d: max hold %llu ns (size 1, align 2), %llu ns (size 2); %llu / %llu us per call\n",
			       round, a[round], b[round],
			       ta / HOLD_TRIES / 1000, tb / HOLD_TRIES / 1000);
	}
	EXPECT_EQ(0, wrong_a) TH_LOG("size 1 align 2: calls not -1/ENOSPC");
	EXPECT_EQ(0, wrong_b) TH_LOG("size 2: calls not -1/ENOSPC");
	med_a = median(a, HOLD_ROUNDS);
	med_b = median(b, HOLD_ROUNDS);
	ksft_print_msg("median max hold: aligned %llu ns, unaligned %llu ns, ratio %llu.%02llu; per call %llu / %llu us\n",
		       med_a, med_b, med_a / (med_b ?: 1),
		       med_a * 100 / (med_b ?: 1) % 100,
		       ta_sum / (HOLD_ROUNDS * HOLD_TRIES) / 1000,
		       tb_sum / (HOLD_ROUNDS * HOLD_TRIES) / 1000);
	ASSERT_EQ(0, reset_err)
		TH_LOG("without a reset the figures are maxima since load");
	ASSERT_NE(UINT64_MAX, med_a);
	ASSERT_NE(UINT64_MAX, med_b);
	if (!med_b)
		SKIP(return,
		     "clock too coarse to judge: median max holds %llu ns aligned, 0 ns unaligned",
		     med_a);
	EXPECT_LE(med_a, 10 * med_b)
		TH_LOG("a refused aligned request held the lock %llu.%02llu times as long as a refused unaligned one",
		       med_a / med_b, med_a * 100 / med_b % 100);
}

/* ---- 2: compaction goes around a stalled copy */

struct stalled_write {
	int fd;
	__u64 id;
	void *buf;
	size_t len;
	int ret, err;
};

static void *stalled_writer(void *arg)
{
	struct stalled_write *w = arg;

	w->ret = vmm_write(w->fd, w->id, 0, w->buf, w->len);
	w->err = w->ret ? errno : 0;
	return NULL;
}

/*
 * A page-aligned buffer (UFFDIO_COPY wants its source so) of @len bytes of
 * vmm_fill(@seed); NULL if out of memory.
 */
static void *pattern(size_t len, unsigned int seed)
{
	void *p;

	if (posix_memalign(&p, 4096, len))
		return NULL;
	vmm_fill(p, len, seed);
	return p;
}

/* Whether block @id holds @len bytes of @want (read as root). */
static bool holds(int fd, __u64 id, const void *want, size_t len)
{
	void *got = malloc(len);
	bool same;

	if (!got)
		return false;
	same = !vmm_read(fd, id, 0, got, len) && !memcmp(got, want, len);
	free(got);
	return same;
}

static __u64 offset_of(int fd, __u64 id)
{
	__u64 off = UINT64_MAX;

	if (vmm_info(fd, id, &off, NULL))
		return UINT64_MAX;
	return off;
}

TEST_F_TIMEOUT(hostile, defrag_does_not_wait_for_stalled_copy, 60)
{
	size_t pg = sysconf(_SC_PAGESIZE);
	struct stalled_write w = { .len = pg };
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg = { .mode = UFFDIO_REGISTER_MODE_MISSING };
	struct uffdio_copy cp = { .len = pg };
	struct timespec until;
	struct uffd_msg msg;
	struct report r;
	__u64 x, p, y, c, p_off, c_off, big, filled[2] = { pg, 2 };
	unsigned char *p_data, *c_data;
	pthread_t writer;
	bool stalled = false;
	void *area;
	int uffd;

	RELOAD("16M");
	p_data = pattern(pg, 1);
	c_data = pattern(pg, 2);
	ASSERT_NE(NULL, p_data);
	ASSERT_NE(NULL, c_data);
	/* X, P, Y as root, then C as uid 1001: 4 KiB each, back to back. */
	ASSERT_OK(vmm_alloc(self->fd, pg, 0, &x, NULL));
	ASSERT_OK(vmm_alloc(self->fd, pg, 0, &p, &p_off));
	ASSERT_OK(vmm_alloc(self->fd, pg, 0, &y, NULL));
	AS(UID_B, do_alloc_filled, filled, &r, STALL_DEADLINE);
	ASSERT_EQ(0, r.ret) TH_LOG("uid 1001's block: %s", strerror(r.err));
	c = r.v[0];
	ASSERT_EQ(3 * pg, r.v[1]);
	/* Holes below P and below C: both could slide. */
	ASSERT_OK(vmm_free(self->fd, x));
	ASSERT_OK(vmm_free(self->fd, y));

	uffd = syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (uffd < 0 && errno == ENOSYS)
		SKIP(return, "userfaultfd is not in this kernel (ENOSYS)");
	ASSERT_LE(0, uffd) TH_LOG("userfaultfd: %s", strerror(errno));
	ASSERT_OK(ioctl(uffd, UFFDIO_API, &api));
	area = mmap(NULL, pg, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, area);
	reg.range.start = (uintptr_t)area;
	reg.range.len = pg;
	ASSERT_OK(ioctl(uffd, UFFDIO_REGISTER, &reg));

	/* A WRITE to P from the missing page: P stays pinned meanwhile. */
	w.fd = self->fd;
	w.id = p;
	w.buf = area;
	ASSERT_EQ(0, pthread_create(&writer, NULL, stalled_writer, &w));
	stalled = !read_within(uffd, &msg, sizeof(msg), 5000);
	ASSERT_TRUE(stalled) TH_LOG("no page fault on the userfaultfd in 5 s");
	ASSERT_EQ(UFFD_EVENT_PAGEFAULT, msg.event);
	ASSERT_TRUE(msg.arg.pagefault.address - (uintptr_t)area < pg)
		TH_LOG("the fault is at %#llx, not in the page at %p",
		       (unsigned long long)msg.arg.pagefault.address, area);

	/* (a) Uid 1001 defragments: C slides down to P, P stays. */
	AS(UID_B, do_defrag_timed, NULL, &r, STALL_DEADLINE);
	ksft_print_msg("DEFRAG as uid 1001 beside a stalled copy: %d (%s) after %llu ms, %llu bytes in %llu blocks moved, compact %llu\n",
		       r.ret, strerror(r.err), r.ns / 1000000, r.v[0], r.v[1],
		       r.v[2]);
	EXPECT_EQ(0, r.ret) TH_LOG("DEFRAG: %s", strerror(r.err));
	EXPECT_GT(1000000000ULL, r.ns)
		TH_LOG("DEFRAG took %llu ms: it waited for the stalled copy",
		       r.ns / 1000000);
	EXPECT_EQ(0ULL, r.v[2]) TH_LOG("compact");
	EXPECT_LE(1ULL, r.v[1]) TH_LOG("blocks_moved");
	EXPECT_EQ(p_off, offset_of(self->fd, p)) TH_LOG("P moved under its copy");
	c_off = offset_of(self->fd, c);
	EXPECT_EQ(p_off + pg, c_off) TH_LOG("C is at %llu", c_off);
	EXPECT_TRUE(holds(self->fd, c, c_data, pg));

	/* (b) A compacting allocation that fits only once packed. */
	big = 16 * MiB - 2 * pg;
	AS(UID_B, do_alloc_compact_timed, &big, &r, STALL_DEADLINE);
	ksft_print_msg("ALLOC COMPACT of %llu bytes as uid 1001 beside a stalled copy: %s after %llu ms\n",
		       big, r.ret ? strerror(r.err) : "allocated",
		       r.ns / 1000000);
	EXPECT_GT(1000000000ULL, r.ns)
		TH_LOG("ALLOC COMPACT took %llu ms: it waited for the stalled copy",
		       r.ns / 1000000);
	if (r.ret) {
		EXPECT_EQ(-1, r.ret);
		EXPECT_EQ(ENOSPC, r.err) TH_LOG("ALLOC COMPACT: %s",
						strerror(r.err));
	} else {
		EXPECT_OK(vmm_free(self->fd, r.v[0]));
	}

	/* Release the stall: the page arrives, the WRITE completes. */
	cp.dst = (uintptr_t)area;
	cp.src = (uintptr_t)p_data;
	ASSERT_OK(ioctl(uffd, UFFDIO_COPY, &cp));
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 5;
	ASSERT_EQ(0, pthread_timedjoin_np(writer, NULL, &until))
		TH_LOG("the WRITE did not end within 5 s of the page arriving");
	EXPECT_EQ(0, w.ret) TH_LOG("the stalled WRITE: %s", strerror(w.err));

	/* Now everything packs, with every byte in place. */
	{
		struct vmm_defrag_args d = { 0 };

		ASSERT_OK(ioctl(self->fd, VMM_IOC_DEFRAG, &d));
		EXPECT_EQ(1ULL, d.compact);
	}
	EXPECT_EQ(0ULL, offset_of(self->fd, p));
	EXPECT_EQ((__u64)pg, offset_of(self->fd, c));
	EXPECT_TRUE(holds(self->fd, p, p_data, pg));
	EXPECT_TRUE(holds(self->fd, c, c_data, pg));
	close(uffd);
	munmap(area, pg);
	free(p_data);
	free(c_data);
}

TEST_HARNESS_MAIN
