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
 *   list_and_usage_lock_holds_are_bounded: a LIST of 4096 blocks holds
 *	the spinlock over all of them
 *   defrag_does_not_wait_for_stalled_copy: one copy stalled on a
 *	userfaultfd page stalls every defragmentation and compacting
 *	allocation; later, keeps its block from moving while it waits
 *   stalled_copy_keeps_no_freed_block: a copy stalled on its own page
 *	keeps a block its owner freed, its range and its owner's quota
 *   stalled_read_of_freed_block_returns_what_it_copied: the same through
 *	read(2)
 *   slow_reader_holds_block_a_piece_at_a_time: a copy that its own thread
 *	makes slow holds its block, freed or not, for as long as it lasts
 *   defrag_ends_under_churn: churn that leaves each pass a block to move
 *	keeps a DEFRAG (and the defragmentation mutex) going, for as long
 *	as the churn lasts in some runs
 *   memcg_limits_metadata: block metadata escapes the memory cgroup
 *   unprivileged_default_block_limit: no limit without configuration
 *   userns_ids_share_owner_quota: each id of a user namespace has a quota
 *   unprivileged_defrag_skips_large_foreign_block: a user makes the kernel
 *	copy someone else's 8 MiB block in one call
 *   usage_is_readable_by_unprivileged_users_and_matches_list
 *   capability_used_only_when_dac_denies
 */
#define _GNU_SOURCE
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <time.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/statfs.h>

#include <linux/magic.h>
#include <linux/userfaultfd.h>

#include "vmm_util.h"

#define PARAM_DIR	VMM_MOD_DIR "/parameters/"
#define MAX_HOLD	VMM_SYSFS_DIR "max_lock_hold_ns"
#define PF_SUPERPRIV	0x00000100	/* include/linux/sched.h, 6.1 to 7.2 */

/* The unprivileged ids; each one's gid equals its uid. */
#define UID_A		1000
#define UID_B		1001
#define UID_C		1002

/* Seconds a child may spend in a call that must not block. */
#define STALL_DEADLINE	3
/* Seconds for a child's long loop of allocations (TCG is slow). */
#define LOOP_DEADLINE	150

FIXTURE(hostile) {
	int fd;
	char cg[128];		/* the test's cgroup, "" if none */
	char cg_mnt[64];	/* where the test mounted cgroup2, "" if not */
};

FIXTURE_SETUP(hostile)
{
	const char *why = vmm_skip_reason();

	self->fd = -1;
	if (why)
		VMM_SETUP_SKIP("%s", why);
}

static void cgroup_cleanup(char *cg, char *mnt);

FIXTURE_TEARDOWN(hostile)
{
	if (self->fd >= 0)
		close(self->fd);
	cgroup_cleanup(self->cg, self->cg_mnt);
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

/* Set the module parameter @name; 0, or the errno. */
static int write_param(const char *name, unsigned long long v)
{
	char path[128], text[32];

	snprintf(path, sizeof(path), PARAM_DIR "%s", name);
	snprintf(text, sizeof(text), "%llu\n", v);
	return vmm_write_file(path, text);
}

static __u64 read_param(const char *name)
{
	char path[128];

	snprintf(path, sizeof(path), PARAM_DIR "%s", name);
	return vmm_read_u64_file(path);
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

/*
 * The smallest non-zero of @n values, or 0 if all are 0.  A maximum hold
 * of 0 ns over a whole round means the clock did not advance inside any
 * hold (seen under TCG while the host is loaded), not that the work was
 * free: such a round says nothing.
 */
static __u64 lowest(const __u64 *v, int n)
{
	__u64 low = 0;
	int i;

	for (i = 0; i < n; i++)
		if (v[i] && (!low || v[i] < low))
			low = v[i];
	return low;
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

/* arg: the most blocks; 1-byte blocks until a failure or that many. */
static void do_alloc_until_failure(int fd, void *arg, struct report *r)
{
	__u64 cap = *(__u64 *)arg, n;

	r->ret = 0;
	for (n = 0; n < cap; n++) {
		if (vmm_alloc(fd, 1, 0, NULL, NULL)) {
			note(r, -1);
			break;
		}
	}
	r->v[0] = n;
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

/* ---- listing and usage */

/*
 * struct vmm_user_usage with the field the kernel renames: "reserved"
 * becomes ns_blocks, the blocks charged to the uid through user
 * namespaces it owns.  A copy of the layout, so that this builds against
 * the header before and after the rename.
 */
struct usage_entry {
	__u32 uid;
	__u32 pad;
	__u64 blocks;
	__u64 bytes;
	__u64 ns_blocks;
};

_Static_assert(sizeof(struct usage_entry) == sizeof(struct vmm_user_usage),
	       "struct usage_entry must match struct vmm_user_usage");

/* Every uid's usage, paging through VMM_IOC_USAGE; the count or -1. */
static int usage_all(int fd, struct usage_entry *out, unsigned int max)
{
	unsigned int n = 0;
	__u32 start = 0;

	for (;;) {
		struct vmm_usage_args a = {
			.buffer = (__u64)(uintptr_t)(out + n),
			.capacity = max - n < VMM_USAGE_MAX ? max - n :
							      VMM_USAGE_MAX,
			.start_uid = start,
		};

		if (!a.capacity) {
			errno = ENOBUFS;
			return -1;
		}
		if (ioctl(fd, VMM_IOC_USAGE, &a))
			return -1;
		n += a.count;
		if (!a.next_uid)
			return n;
		start = a.next_uid;
	}
}

static const struct usage_entry *usage_of(const struct usage_entry *u,
					  int n, __u32 uid)
{
	int i;

	for (i = 0; i < n; i++)
		if (u[i].uid == uid)
			return &u[i];
	return NULL;
}

/* Per-uid blocks and bytes, summed over VMM_IOC_LIST. */
struct uid_total {
	__u64 uid, blocks, bytes;
};

/* The per-uid totals of every listed block: how many uids, or -1. */
static int list_totals(int fd, struct uid_total *t, unsigned int max)
{
	struct vmm_block_info e[64];
	unsigned int n = 0, i, k;
	__u64 start = 0, next;
	__u32 count;

	do {
		if (vmm_list(fd, start, e, ARRAY_SIZE(e), &count, &next))
			return -1;
		for (i = 0; i < count; i++) {
			for (k = 0; k < n && t[k].uid != e[i].uid; k++)
				;
			if (k == n) {
				if (n == max) {
					errno = ENOBUFS;
					return -1;
				}
				t[n++] = (struct uid_total){ .uid = e[i].uid };
			}
			t[k].blocks++;
			t[k].bytes += e[i].size;
		}
		start = next;
	} while (next);
	return n;
}

/* ---- 1: a request that cannot fit is refused cheaply */

#define HOLD_N		100000	/* 1-byte holes, all at odd offsets */
#define HOLD_N_MIN	10000	/* the fewest, on a slow kernel */
#define HOLD_SETUP_NS	(30ULL * 1000000000ULL)	/* to make the layout */
#define HOLD_PROBE	1000	/* allocations timed to choose N */
#define HOLD_ROUNDS	7
#define HOLD_LIMIT	10	/* aligned over its yardstick, at most */
#define HOLD_TRIES	100

/*
 * Time lock holds (off by default) and reset max_lock_hold_ns (root may
 * write 0 to it); 0, or the errno.
 */
static int reset_max_hold(void)
{
	return vmm_write_file(VMM_PARAM_TIMING, "1\n") ?:
	       vmm_write_file(MAX_HOLD, "0\n");
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

/*
 * HOLD_TRIES one-byte unaligned allocations, each freed at once: a search
 * down the whole tree (the lowest extent), then a free that merges it
 * back, both O(log n).  How many did not succeed.
 */
static int logn_allocs(int fd)
{
	int i, wrong = 0;
	__u64 id, off;

	for (i = 0; i < HOLD_TRIES; i++) {
		if (vmm_alloc(fd, 1, 0, &id, &off) || off != 1 ||
		    vmm_free(fd, id))
			wrong++;
	}
	return wrong;
}

/* The longest lock hold of @fn's work, after a reset. */
#define HOLD_OF(expr) ({ ASSERT_EQ(0, reset_max_hold()); (expr); \
			 vmm_max_hold(_metadata); })

/*
 * How many holes to make: HOLD_N, unless this kernel would take more than
 * HOLD_SETUP_NS to make them (the debug kernel: KASAN, kmemleak and
 * lockdep under TCG make a call take hundreds of microseconds, and 300000
 * of them took 250 s of the program's 600 in each of two tests); then as
 * many as fit in that time, but at least HOLD_N_MIN, where a walk over the
 * extents still costs hundreds of times a descent of the tree.  Timed on
 * HOLD_PROBE allocations and frees in an arena loaded with @extra; calls
 * cost about twice as much once the arena is full (208 us probed, 437 us
 * while making 96064 holes, on the debug kernel), so the layout takes
 * about twice HOLD_SETUP_NS there.
 */
static int hold_n(struct __test_metadata *_metadata, int *fdp,
		  const char *extra)
{
	__u64 ids[HOLD_PROBE], t0, per_op, n;
	char load[40];
	int i;

	snprintf(load, sizeof(load), "%d%s", 2 * HOLD_N, extra);
	if (*fdp >= 0)
		close(*fdp);
	*fdp = -1;
	VMM_SETUP_RELOAD(load, fdp);
	no_self_check();
	t0 = now_ns();
	for (i = 0; i < HOLD_PROBE; i++)
		ASSERT_OK(vmm_alloc(*fdp, 1, 0, &ids[i], NULL));
	for (i = 0; i < HOLD_PROBE; i++)
		ASSERT_OK(vmm_free(*fdp, ids[i]));
	per_op = (now_ns() - t0) / (2 * HOLD_PROBE) ?: 1;
	/* The layout is 2N allocations and N frees. */
	n = HOLD_SETUP_NS / (3 * per_op);
	n = n > HOLD_N ? HOLD_N : n < HOLD_N_MIN ? HOLD_N_MIN : n;
	ksft_print_msg("an allocation or free takes %llu ns here: %llu holes\n",
		       per_op, n);
	return (int)n;
}

/*
 * The adversarial layout of the review: a 2N-byte arena full of one-byte
 * blocks, every odd offset freed: N one-byte extents, none aligned to 2.
 * Then HOLD_ROUNDS rounds of HOLD_TRIES attempts of each kind, each
 * round's figure the longest hold, and the lowest (non-zero) kept: a
 * timer interrupt that lands inside a hold (the spinlock leaves
 * interrupts on) adds tens of microseconds under TCG to that round,
 * whichever search ran, and the lowest round is one without.  A search
 * that walks the extents is slow in every round.
 *   hold[0]  ALLOC size 1 align 2, refused: the aligned search
 *   hold[1]  ALLOC size 2, refused
 *   hold[2]  ALLOC size 1 and its FREE: O(log n) unaligned work
 * The caller judges hold[0] against HOLD_LIMIT times hold[@judge].  When
 * the lowest rounds are over that, HOLD_ROUNDS more rounds run, once, and
 * the lowest of all are kept: a debug guest beside another once read
 * 8.45 times (377484 ns against 44623 under best fit), its other rounds
 * up to 5 and 16 times those lowest; a walk stays over the limit however
 * many rounds run.
 */
static void hold_figures(struct __test_metadata *_metadata, int *fdp,
			 const char *extra, int judge, __u64 *hold)
{
	__u64 r[3][2 * HOLD_ROUNDS], i, id, off, misplaced = 0, t0, n;
	int round, rounds = HOLD_ROUNDS, k, wrong[3] = { 0 }, reset_err;
	char load[40];

	n = hold_n(_metadata, fdp, extra);
	snprintf(load, sizeof(load), "%llu%s", 2 * n, extra);
	close(*fdp);
	*fdp = -1;
	VMM_SETUP_RELOAD(load, fdp);
	no_self_check();
	t0 = now_ns();
	for (i = 0; i < 2 * n; i++) {
		ASSERT_OK(vmm_alloc(*fdp, 1, 0, &id, &off));
		misplaced += id != i + 1 || off != i;
	}
	ASSERT_EQ(0ULL, misplaced);
	for (i = 1; i < 2 * n; i += 2)
		ASSERT_OK(vmm_free(*fdp, i + 1));
	ASSERT_EQ(n, vmm_sysfs("free"));
	ASSERT_EQ(1ULL, vmm_sysfs("largest_free"));
	ksft_print_msg("size=%s: %llu one-byte holes at odd offsets made in %llu ms\n",
		       load, n, (now_ns() - t0) / 1000000);

	reset_err = reset_max_hold();
	ASSERT_EQ(0, reset_err)
		TH_LOG("writing 0 to %s as root: %s; the maximum must be resettable",
		       MAX_HOLD, strerror(reset_err));
	for (round = 0; round < rounds; round++) {
		__u64 ns;

		r[0][round] = HOLD_OF(wrong[0] += refused_allocs(*fdp, 1, 2,
								 &ns));
		r[1][round] = HOLD_OF(wrong[1] += refused_allocs(*fdp, 2, 0,
								 &ns));
		r[2][round] = HOLD_OF(wrong[2] += logn_allocs(*fdp));
		ksft_print_msg("round %d: max hold %llu ns aligned, %llu ns size 2, %llu ns size 1 and free\n",
			       round, r[0][round], r[1][round], r[2][round]);
		if (round + 1 < HOLD_ROUNDS || rounds > HOLD_ROUNDS)
			continue;
		for (k = 0; k < 3; k++)
			hold[k] = lowest(r[k], HOLD_ROUNDS);
		if (hold[judge] && hold[0] > HOLD_LIMIT * hold[judge]) {
			ksft_print_msg("aligned %llu ns is over %d times %llu ns: %d more rounds\n",
				       hold[0], HOLD_LIMIT, hold[judge],
				       HOLD_ROUNDS);
			rounds = 2 * HOLD_ROUNDS;
		}
	}
	EXPECT_EQ(0, wrong[0]) TH_LOG("size 1 align 2: calls not -1/ENOSPC");
	EXPECT_EQ(0, wrong[1]) TH_LOG("size 2: calls not -1/ENOSPC");
	EXPECT_EQ(0, wrong[2]) TH_LOG("size 1: not placed at 1, or not freed");
	for (k = 0; k < 3; k++)
		hold[k] = lowest(r[k], rounds);
	ksft_print_msg("size=%s: max hold, lowest non-zero of %d rounds: aligned %llu ns, size 2 %llu ns (x%llu.%02llu), size 1 and free %llu ns (x%llu.%02llu)\n",
		       load, rounds, hold[0], hold[1],
		       hold[0] / (hold[1] ?: 1), hold[0] * 100 / (hold[1] ?: 1) % 100,
		       hold[2], hold[0] / (hold[2] ?: 1),
		       hold[0] * 100 / (hold[2] ?: 1) % 100);
	if (!hold[1] || !hold[2]) {
		/* The callers judge nothing after a skip: no figure is left. */
		memset(hold, 0, 3 * sizeof(*hold));
		VMM_SKIP(return,
		     "the clock did not advance inside any hold of any round: nothing to judge");
	}
	/*
	 * All three on the tick clock's grid (VMM_TICK_GRID_NS): aligned
	 * 4000000 ns against size 2 250 ns failed debug-1 once.  On a clock
	 * that reads nanoseconds that happens once in 15 million runs.
	 */
	if (hold[0] % VMM_TICK_GRID_NS == 0 && hold[1] % VMM_TICK_GRID_NS == 0 &&
	    hold[2] % VMM_TICK_GRID_NS == 0) {
		ksft_print_msg("every figure is a multiple of 250 ns: a tick clock\n");
		memset(hold, 0, 3 * sizeof(*hold));
		VMM_SKIP(return,
		     "the clock did not advance inside any hold but by whole ticks: too coarse to judge");
	}
}

/*
 * Under best fit a refused unaligned request searches the size tree down
 * to its end, O(log n): the review's yardstick, as it stands.
 */
TEST_F_TIMEOUT(hostile, aligned_search_lock_hold_is_bounded_best_fit, 300)
{
	__u64 hold[3] = { 0 };

	hold_figures(_metadata, &self->fd, " policy=best", 1, hold);
	if (!hold[1])
		return;
	EXPECT_LE(hold[0], HOLD_LIMIT * hold[1])
		TH_LOG("a refused aligned request held the lock %llu.%02llu times as long as a refused size-2 one",
		       hold[0] / hold[1], hold[0] * 100 / hold[1] % 100);
}

/*
 * Under first fit a refused unaligned request costs O(1): the root's
 * subtree maximum (1 byte here) refuses it without a descent.  The
 * yardstick of O(log n) work is then an unaligned request that does
 * descend the whole tree (and its free).  The size-2 figure is printed.
 */
TEST_F_TIMEOUT(hostile, aligned_search_lock_hold_is_bounded_first_fit, 300)
{
	__u64 hold[3] = { 0 };

	hold_figures(_metadata, &self->fd, "", 2, hold);
	if (!hold[2])
		return;
	EXPECT_LE(hold[0], HOLD_LIMIT * hold[2])
		TH_LOG("a refused aligned request held the lock %llu.%02llu times as long as an unaligned allocation and its free",
		       hold[0] / hold[2], hold[0] * 100 / hold[2] % 100);
}

/* ---- 1b: a long listing lets others have the lock */

#define LIST_BLOCKS	(2 * VMM_LIST_MAX)	/* the first USAGE_MAX chowned */
#define LIST_STEP	64			/* entries per short call */
#define LIST_ROUNDS	15

/*
 * The longest hold, after a reset, over @calls calls of LIST (@usage
 * false) or USAGE of @capacity entries each, paging from the start, as
 * each call's next ID or uid says; calls that failed or did not return
 * @capacity entries in *@wrong, the first one's errno (0 for a short
 * count) in *@err.
 */
static __u64 listing_hold(struct __test_metadata *_metadata, int fd,
			  bool usage, __u32 capacity, int calls, int *wrong,
			  int *err)
{
	static struct vmm_user_usage u[VMM_USAGE_MAX];
	static struct vmm_block_info b[VMM_LIST_MAX];
	struct vmm_usage_args a = { 0 };
	__u64 next = 1;
	__u32 count;
	int i, ret;

	ASSERT_EQ(0, reset_max_hold());
	for (i = 0; i < calls; i++) {
		errno = 0;
		if (usage) {
			a = (struct vmm_usage_args){
				.buffer = (__u64)(uintptr_t)u,
				.capacity = capacity,
				.start_uid = a.next_uid,
			};
			ret = ioctl(fd, VMM_IOC_USAGE, &a);
			count = a.count;
		} else {
			ret = vmm_list(fd, next, b, capacity, &count, &next);
		}
		if (ret || count != capacity) {
			if (!(*wrong)++)
				*err = ret ? errno : 0;
		}
	}
	return vmm_max_hold(_metadata);
}

/*
 * A LIST of VMM_LIST_MAX blocks, or a USAGE of VMM_USAGE_MAX uids, that
 * any user may ask for, lets others have the lock every 64 entries: its
 * longest hold is about that of a call of 64 entries, not 64 (or 16)
 * times it.  The short calls page through the same entries as the long
 * call, in as many holds, so that they touch as much cold memory and a
 * timer interrupt is as likely to land in one of theirs; LIST_ROUNDS
 * rounds, the lowest of each kept, as in hold_figures() (the debug
 * kernel's rounds vary tenfold).  A USAGE entry costs little beside the
 * call's own work under the lock, so a whole-call hold of 1024 read 4.9
 * to 10 times one of 64 (two runs on the stock kernel), and a LIST of
 * 4096 37 to 65 times: hence limits of 3 and 8.
 */
TEST_F_TIMEOUT(hostile, list_and_usage_lock_holds_are_bounded, 300)
{
	__u64 r[4][LIST_ROUNDS], hold[4], id, i;
	int round, k, wrong = 0, err = 0, grid = 0;

	RELOAD("16384");
	no_self_check();
	for (i = 0; i < LIST_BLOCKS; i++) {
		ASSERT_OK(vmm_alloc(self->fd, 1, 0, &id, NULL));
		if (i >= VMM_USAGE_MAX)
			continue;
		ASSERT_OK(ioctl(self->fd, VMM_IOC_CHOWN,
				&(struct vmm_chown_args){
					.id = id, .uid = 10000 + i,
					.gid = VMM_ID_UNCHANGED,
				}));
	}
	ASSERT_EQ(0, reset_max_hold());
	for (round = 0; round < LIST_ROUNDS; round++) {
		r[0][round] = listing_hold(_metadata, self->fd, false,
					   LIST_STEP, VMM_LIST_MAX / LIST_STEP,
					   &wrong, &err);
		r[1][round] = listing_hold(_metadata, self->fd, false,
					   VMM_LIST_MAX, 1, &wrong, &err);
		r[2][round] = listing_hold(_metadata, self->fd, true,
					   LIST_STEP, VMM_USAGE_MAX / LIST_STEP,
					   &wrong, &err);
		r[3][round] = listing_hold(_metadata, self->fd, true,
					   VMM_USAGE_MAX, 1, &wrong, &err);
		ksft_print_msg("round %d: max hold %llu ns LIST of %d, %llu ns of %d; USAGE %llu ns of %d, %llu ns of %d\n",
			       round, r[0][round], LIST_STEP, r[1][round],
			       VMM_LIST_MAX, r[2][round], LIST_STEP,
			       r[3][round], VMM_USAGE_MAX);
	}
	ASSERT_EQ(0, wrong)
		TH_LOG("calls that failed or returned too few entries; the first: %s",
		       err ? strerror(err) : "too few entries");
	for (k = 0; k < 4; k++) {
		hold[k] = lowest(r[k], LIST_ROUNDS);
		grid += hold[k] % VMM_TICK_GRID_NS == 0;
	}
	if (!hold[0] || !hold[2])
		VMM_SKIP(return,
		     "the clock did not advance inside any hold of any round: nothing to judge");
	if (grid == 4)
		VMM_SKIP(return,
		     "the clock did not advance inside any hold but by whole ticks: too coarse to judge");
	EXPECT_LE(hold[1], 8 * hold[0])
		TH_LOG("a LIST of %d held the lock %llu.%02llu times as long as one of %d",
		       VMM_LIST_MAX, hold[1] / hold[0],
		       hold[1] * 100 / hold[0] % 100, LIST_STEP);
	EXPECT_LE(hold[3], 3 * hold[2])
		TH_LOG("a USAGE of %d held the lock %llu.%02llu times as long as one of %d",
		       VMM_USAGE_MAX, hold[3] / hold[2],
		       hold[3] * 100 / hold[2] % 100, LIST_STEP);
}

/*
 * One-byte blocks over one-byte holes make every run one block long, the
 * most runs, and so the most free extents erased, per hold of a DEFRAG:
 * the layout a user with little quota can make.  The kernel closes at
 * most 64 runs per hold, so a DEFRAG over GATHER_MANY such runs should
 * hold the lock no longer at a time than DEFRAGs over GATHER_FEW (one
 * hold's worth) each, not GATHER_MANY / GATHER_FEW times as long.  Both
 * sides make as many heavy holds (GATHER_MANY / GATHER_FEW DEFRAGs of
 * GATHER_FEW runs against one of GATHER_MANY), so that an interrupt is
 * as likely to land in one of theirs, and the lowest round is kept, as
 * above: with another guest beside it, two rounds in three read five to
 * ten times the lowest, on either side, hence 15 rounds.  The lowest read
 * 0.9 to 1.5 times that of 64 runs on every kernel of make check, 3.8
 * to 3.9 times (two runs on the stock kernel) with the kernel's bound
 * raised to 256 runs a hold, and 14 times with it at 4096: hence a limit
 * of 2.5, which catches a bound four times the kernel's, not one twice
 * it.
 */
#define GATHER_FEW	64
#define GATHER_MANY	1024
#define GATHER_ROUNDS	15

/*
 * In an empty arena, 2 * @n one-byte blocks, those at even offsets freed:
 * @n runs of one block, each over a one-byte hole.  The IDs of those left
 * in @keep; @tmp holds 2 * @n IDs.
 */
static void gather_layout(struct __test_metadata *_metadata, int fd,
			  __u64 n, __u64 *keep, __u64 *tmp)
{
	__u64 i, off;

	for (i = 0; i < 2 * n; i++) {
		ASSERT_OK(vmm_alloc(fd, 1, 0, &tmp[i], &off));
		ASSERT_EQ(i, off);
	}
	for (i = 0; i < n; i++) {
		ASSERT_OK(vmm_free(fd, tmp[2 * i]));
		keep[i] = tmp[2 * i + 1];
	}
}

/*
 * @reps times a DEFRAG over gather_layout(@n), each followed by freeing
 * its blocks: the longest hold of the DEFRAGs (only theirs: the layout's
 * thousands of calls would give a loaded host more holds to preempt).
 */
static __u64 gather_hold(struct __test_metadata *_metadata, int fd, __u64 n,
			 int reps, __u64 *keep, __u64 *tmp)
{
	struct vmm_defrag_args a;
	__u64 i, hold, max = 0;
	int rep;

	for (rep = 0; rep < reps; rep++) {
		gather_layout(_metadata, fd, n, keep, tmp);
		memset(&a, 0, sizeof(a));
		ASSERT_EQ(0, reset_max_hold());
		ASSERT_OK(ioctl(fd, VMM_IOC_DEFRAG, &a));
		hold = vmm_max_hold(_metadata);
		max = hold > max ? hold : max;
		EXPECT_EQ(1ULL, a.compact);
		EXPECT_EQ(n, a.blocks_moved);
		for (i = 0; i < n; i++)
			ASSERT_OK(vmm_free(fd, keep[i]));
	}
	return max;
}

TEST_F_TIMEOUT(hostile, defrag_lock_hold_does_not_grow_with_runs, 300)
{
	__u64 r[2][GATHER_ROUNDS], hold[2], *keep, *tmp;
	int round;

	RELOAD("2048");
	no_self_check();
	keep = calloc(GATHER_MANY, sizeof(*keep));
	tmp = calloc(2 * GATHER_MANY, sizeof(*tmp));
	ASSERT_TRUE(keep && tmp);
	for (round = 0; round < GATHER_ROUNDS; round++) {
		r[0][round] = gather_hold(_metadata, self->fd, GATHER_FEW,
					  GATHER_MANY / GATHER_FEW, keep, tmp);
		r[1][round] = gather_hold(_metadata, self->fd, GATHER_MANY, 1,
					  keep, tmp);
		ksft_print_msg("round %d: max hold %llu ns DEFRAGs of %d runs, %llu ns one of %d\n",
			       round, r[0][round], GATHER_FEW, r[1][round],
			       GATHER_MANY);
	}
	free(keep);
	free(tmp);
	hold[0] = lowest(r[0], GATHER_ROUNDS);
	hold[1] = lowest(r[1], GATHER_ROUNDS);
	if (!hold[0] || !hold[1])
		VMM_SKIP(return,
		     "the clock did not advance inside any hold of any round: nothing to judge");
	if (hold[0] % VMM_TICK_GRID_NS == 0 && hold[1] % VMM_TICK_GRID_NS == 0)
		VMM_SKIP(return,
		     "the clock did not advance inside any hold but by whole ticks: too coarse to judge");
	EXPECT_LE(2 * hold[1], 5 * hold[0])
		TH_LOG("a DEFRAG of %d one-block runs held the lock %llu.%02llu times as long as one of %d",
		       GATHER_MANY, hold[1] / hold[0],
		       hold[1] * 100 / hold[0] % 100, GATHER_FEW);
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

/* A WRITE of a page to a block, stalled on a userfaultfd page. */
struct stall {
	struct stalled_write w;
	pthread_t writer;
	size_t pg;
	void *area;
	int uffd;
};

/*
 * Start a one-page WRITE to block @id from a page that is missing on a
 * userfaultfd, and wait until it stalls there, until stall_end().  False
 * (nothing started) if this kernel has no userfaultfd.
 */
static bool stall_start(struct __test_metadata *_metadata, struct stall *st,
			int fd, __u64 id)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg = { .mode = UFFDIO_REGISTER_MODE_MISSING };
	struct uffd_msg msg;

	st->pg = sysconf(_SC_PAGESIZE);
	st->uffd = syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (st->uffd < 0 && errno == ENOSYS)
		return false;
	ASSERT_LE(0, st->uffd) TH_LOG("userfaultfd: %s", strerror(errno));
	ASSERT_OK(ioctl(st->uffd, UFFDIO_API, &api));
	st->area = mmap(NULL, st->pg, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, st->area);
	reg.range.start = (uintptr_t)st->area;
	reg.range.len = st->pg;
	ASSERT_OK(ioctl(st->uffd, UFFDIO_REGISTER, &reg));

	st->w = (struct stalled_write){ .fd = fd, .id = id, .buf = st->area,
					.len = st->pg };
	ASSERT_EQ(0, pthread_create(&st->writer, NULL, stalled_writer, &st->w));
	ASSERT_EQ(0, read_within(st->uffd, &msg, sizeof(msg), 5000))
		TH_LOG("no page fault on the userfaultfd in 5 s");
	ASSERT_EQ(UFFD_EVENT_PAGEFAULT, msg.event);
	ASSERT_TRUE(msg.arg.pagefault.address - (uintptr_t)st->area < st->pg)
		TH_LOG("the fault is at %#llx, not in the page at %p",
		       (unsigned long long)msg.arg.pagefault.address, st->area);
	return true;
}

/*
 * Give the stalled WRITE its page (@data) and see it end: with success, or
 * failing with @want_err.
 */
static void stall_end(struct __test_metadata *_metadata, struct stall *st,
		      void *data, int want_err)
{
	struct uffdio_copy cp = { .dst = (uintptr_t)st->area,
				  .src = (uintptr_t)data, .len = st->pg };
	struct timespec until;

	ASSERT_OK(ioctl(st->uffd, UFFDIO_COPY, &cp));
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 5;
	ASSERT_EQ(0, pthread_timedjoin_np(st->writer, NULL, &until))
		TH_LOG("the WRITE did not end within 5 s of the page arriving");
	EXPECT_EQ(want_err ? -1 : 0, st->w.ret);
	EXPECT_EQ(want_err, st->w.err) TH_LOG("the stalled WRITE: %s",
					      strerror(st->w.err));
	close(st->uffd);
	munmap(st->area, st->pg);
}

/*
 * A WRITE stalled on its own page keeps nobody waiting and nothing in
 * place: the copy lets its block go while the page is faulted in, so a
 * DEFRAG (a) or a compacting allocation (b) neither waits for it nor goes
 * around it, and the WRITE, given its page, lands where the block went.
 */
TEST_F_TIMEOUT(hostile, defrag_does_not_wait_for_stalled_copy, 60)
{
	size_t pg = sysconf(_SC_PAGESIZE);
	struct stall st;
	struct report r;
	__u64 x, p, y, c, w, v, v_off, big, filled[2] = { pg, 2 };
	unsigned char *p_data, *c_data, *v_data;

	RELOAD("16M");
	p_data = pattern(pg, 1);
	c_data = pattern(pg, 2);
	v_data = pattern(pg, 5);
	ASSERT_NE(NULL, p_data);
	ASSERT_NE(NULL, c_data);
	ASSERT_NE(NULL, v_data);
	/* X, P, Y as root, then C as uid 1001: 4 KiB each, back to back. */
	ASSERT_OK(vmm_alloc(self->fd, pg, 0, &x, NULL));
	ASSERT_OK(vmm_alloc(self->fd, pg, 0, &p, NULL));
	ASSERT_OK(vmm_alloc(self->fd, pg, 0, &y, NULL));
	AS(UID_B, do_alloc_filled, filled, &r, STALL_DEADLINE);
	ASSERT_EQ(0, r.ret) TH_LOG("uid 1001's block: %s", strerror(r.err));
	c = r.v[0];
	ASSERT_EQ(3 * pg, r.v[1]);
	/* Holes below P and below C: both could slide. */
	ASSERT_OK(vmm_free(self->fd, x));
	ASSERT_OK(vmm_free(self->fd, y));

	/* A WRITE to P from a missing page. */
	if (!stall_start(_metadata, &st, self->fd, p))
		VMM_SKIP(return, "userfaultfd is not in this kernel (ENOSYS)");

	/* (a) Uid 1001 defragments: P slides down to 0, C to P's end. */
	AS(UID_B, do_defrag_timed, NULL, &r, STALL_DEADLINE);
	ksft_print_msg("DEFRAG as uid 1001 beside a stalled copy: %d (%s) after %llu ms, %llu bytes in %llu blocks moved, compact %llu\n",
		       r.ret, strerror(r.err), r.ns / 1000000, r.v[0], r.v[1],
		       r.v[2]);
	EXPECT_EQ(0, r.ret) TH_LOG("DEFRAG: %s", strerror(r.err));
	EXPECT_GT(1000000000ULL, r.ns)
		TH_LOG("DEFRAG took %llu ms: it waited for the stalled copy",
		       r.ns / 1000000);
	EXPECT_EQ(1ULL, r.v[2]) TH_LOG("compact: P stayed for its stalled copy");
	EXPECT_EQ(2ULL, r.v[1]) TH_LOG("blocks_moved");
	EXPECT_EQ(0ULL, offset_of(self->fd, p)) TH_LOG("P stayed for its copy");
	EXPECT_EQ((__u64)pg, offset_of(self->fd, c));
	EXPECT_TRUE(holds(self->fd, c, c_data, pg));

	/* Release the stall: the page arrives, the WRITE lands in P. */
	stall_end(_metadata, &st, p_data, 0);
	EXPECT_EQ(0ULL, offset_of(self->fd, p));
	EXPECT_TRUE(holds(self->fd, p, p_data, pg));

	/*
	 * (b) W and V above C, W freed, a WRITE to V stalled: a compacting
	 * allocation of all the rest fits only with V moved down, at once.
	 */
	ASSERT_OK(vmm_alloc(self->fd, pg, 0, &w, NULL));
	ASSERT_OK(vmm_alloc(self->fd, pg, 0, &v, &v_off));
	ASSERT_EQ((__u64)(3 * pg), v_off);
	ASSERT_OK(vmm_free(self->fd, w));
	ASSERT_TRUE(stall_start(_metadata, &st, self->fd, v));
	big = 16 * MiB - 3 * pg;
	AS(UID_B, do_alloc_compact_timed, &big, &r, STALL_DEADLINE);
	ksft_print_msg("ALLOC COMPACT of %llu bytes as uid 1001 beside a stalled copy: %s after %llu ms\n",
		       big, r.ret ? strerror(r.err) : "allocated",
		       r.ns / 1000000);
	EXPECT_GT(1000000000ULL, r.ns)
		TH_LOG("ALLOC COMPACT took %llu ms: it waited for the stalled copy",
		       r.ns / 1000000);
	EXPECT_EQ(0, r.ret) TH_LOG("ALLOC COMPACT: %s", strerror(r.err));
	EXPECT_EQ((__u64)(2 * pg), offset_of(self->fd, v))
		TH_LOG("V stayed for its copy");
	if (!r.ret)
		EXPECT_OK(vmm_free(self->fd, r.v[0]));
	stall_end(_metadata, &st, v_data, 0);
	EXPECT_EQ((__u64)(2 * pg), offset_of(self->fd, v));
	EXPECT_TRUE(holds(self->fd, p, p_data, pg));
	EXPECT_TRUE(holds(self->fd, c, c_data, pg));
	EXPECT_TRUE(holds(self->fd, v, v_data, pg));
	free(p_data);
	free(c_data);
	free(v_data);
}

/*
 * A copy stalled on its own page holds no freed block: P, freed while a
 * WRITE to it waits for its page, gives its range back at once (an
 * allocation of the whole arena fits), and the WRITE then fails with
 * ENOENT, storing nothing in the block that took the range.  A reader with
 * r on someone else's block could otherwise keep that block's range, and
 * its owner's quota, for as long as its own page took (a FUSE file's, say).
 */
TEST_F_TIMEOUT(hostile, stalled_copy_keeps_no_freed_block, 60)
{
	size_t pg = sysconf(_SC_PAGESIZE);
	struct vmm_stats_args sa;
	unsigned char *data, *zero;
	struct stall st;
	__u64 p, all = 0;

	RELOAD("16M");
	data = pattern(pg, 4);
	zero = calloc(1, pg);
	ASSERT_NE(NULL, data);
	ASSERT_NE(NULL, zero);
	ASSERT_OK(vmm_alloc(self->fd, pg, 0, &p, NULL));
	if (!stall_start(_metadata, &st, self->fd, p))
		VMM_SKIP(return, "userfaultfd is not in this kernel (ENOSYS)");

	ASSERT_OK(vmm_free(self->fd, p));
	ASSERT_OK(vmm_stats(self->fd, &sa));
	EXPECT_EQ(0ULL, sa.used) TH_LOG("the freed P still counts as used");
	EXPECT_EQ(0, vmm_alloc(self->fd, 16 * MiB, 0, &all, NULL))
		TH_LOG("the whole arena does not fit (%s): the freed P keeps its range",
		       strerror(errno));
	stall_end(_metadata, &st, data, ENOENT);
	if (all) {
		EXPECT_TRUE(holds(self->fd, all, zero, pg))
			TH_LOG("the stalled WRITE stored into the block that took P's range");
		EXPECT_OK(vmm_free(self->fd, all));
	}
	free(data);
	free(zero);
}

struct stalled_pread {
	int fd;
	void *buf;
	size_t len;
	ssize_t ret;
	int err;
};

static void *stalled_preader(void *arg)
{
	struct stalled_pread *s = arg;

	s->ret = pread(s->fd, s->buf, s->len, 0);
	s->err = s->ret < 0 ? errno : 0;
	return NULL;
}

/*
 * pread(2) a two-page block, selected on a file of its own, into two pages
 * of which the first @present are there and the rest missing on a
 * userfaultfd; free the block while the read waits for the missing page,
 * then supply it.  The read's result in *@s; *@first is the first byte
 * the read left in the buffer.  False if this kernel has no userfaultfd.
 */
static bool pread_freed_midway(struct __test_metadata *_metadata, int fd,
			       int present, struct stalled_pread *s,
			       unsigned char *first)
{
	size_t pg = sysconf(_SC_PAGESIZE);
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg = { .mode = UFFDIO_REGISTER_MODE_MISSING };
	struct uffdio_zeropage zero = { 0 };
	struct timespec until;
	struct uffd_msg msg;
	unsigned char *buf;
	int uffd, sfd;
	pthread_t t;
	__u64 id;

	uffd = syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (uffd < 0 && errno == ENOSYS)
		return false;
	ASSERT_LE(0, uffd) TH_LOG("userfaultfd: %s", strerror(errno));
	ASSERT_OK(ioctl(uffd, UFFDIO_API, &api));
	ASSERT_OK(vmm_alloc(fd, 2 * pg, 0, &id, NULL));
	sfd = open(VMM_DEV, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, sfd);
	ASSERT_OK(vmm_select(sfd, id));
	buf = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, buf);
	memset(buf, 0xaa, present * pg);
	reg.range.start = (uintptr_t)buf + present * pg;
	reg.range.len = (2 - present) * pg;
	ASSERT_OK(ioctl(uffd, UFFDIO_REGISTER, &reg));

	*s = (struct stalled_pread){ .fd = sfd, .buf = buf, .len = 2 * pg };
	ASSERT_EQ(0, pthread_create(&t, NULL, stalled_preader, s));
	ASSERT_EQ(0, read_within(uffd, &msg, sizeof(msg), 5000))
		TH_LOG("no page fault on the userfaultfd in 5 s");
	ASSERT_EQ(UFFD_EVENT_PAGEFAULT, msg.event);
	ASSERT_OK(vmm_free(fd, id));
	zero.range = reg.range;
	ASSERT_OK(ioctl(uffd, UFFDIO_ZEROPAGE, &zero));
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 5;
	ASSERT_EQ(0, pthread_timedjoin_np(t, NULL, &until))
		TH_LOG("the read did not end within 5 s of the page arriving");
	*first = buf[0];
	munmap(buf, 2 * pg);
	close(sfd);
	close(uffd);
	return true;
}

/*
 * read(2) lets its block go while its buffer faults, as VMM_IOC_READ does:
 * freed meanwhile, the read returns the bytes it copied before the fault
 * (the first page, the block's zeros), or fails with ENOENT if there were
 * none.
 */
TEST_F_TIMEOUT(hostile, stalled_read_of_freed_block_returns_what_it_copied, 60)
{
	size_t pg = sysconf(_SC_PAGESIZE);
	struct stalled_pread s;
	unsigned char first;

	RELOAD("16M");
	if (!pread_freed_midway(_metadata, self->fd, 1, &s, &first))
		VMM_SKIP(return, "userfaultfd is not in this kernel (ENOSYS)");
	EXPECT_EQ((ssize_t)pg, s.ret) TH_LOG("pread: %s", strerror(s.err));
	EXPECT_EQ(0, s.err);
	EXPECT_EQ(0, first) TH_LOG("the first page was not copied");

	ASSERT_TRUE(pread_freed_midway(_metadata, self->fd, 0, &s, &first));
	EXPECT_EQ(-1, s.ret);
	EXPECT_EQ(ENOENT, s.err) TH_LOG("pread: %s", strerror(s.err));
}

/* A busy thread on CPU 0, beside which a SCHED_IDLE one hardly ever runs. */
struct cpu0_spin {
	atomic_int spinning;	/* the spinner is on CPU 0 */
	atomic_int stop;	/* for the spinner */
};

/* A READ of a large block by a thread that hardly ever runs. */
struct slow_read {
	int fd;
	__u64 id;
	void *buf;
	size_t len;
	struct cpu0_spin spin;
	atomic_int tid;		/* the reader's, once known; -1: no SCHED_IDLE */
	atomic_int done;	/* the reader's READ returned */
	int ret, err;
};

static void on_cpu(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

/*
 * Make the calling thread one that hardly ever runs: SCHED_IDLE, on CPU 0
 * (beside cpu0_spinner()).  False, with *@ret -2 and *@err the errno, if
 * the policy cannot be set.
 */
static bool idle_on_cpu0(int *ret, int *err)
{
	struct sched_param sp = { 0 };

	on_cpu(0);
	if (!sched_setscheduler(0, SCHED_IDLE, &sp))
		return true;
	*ret = -2;
	*err = errno;
	return false;
}

static void *slow_reader(void *arg)
{
	struct slow_read *s = arg;

	if (!idle_on_cpu0(&s->ret, &s->err)) {
		atomic_store(&s->tid, -1);
		return NULL;
	}
	atomic_store(&s->tid, (int)syscall(SYS_gettid));
	s->ret = vmm_read(s->fd, s->id, 0, s->buf, s->len);
	s->err = s->ret ? errno : 0;
	atomic_store(&s->done, 1);
	return NULL;
}

static void *cpu0_spinner(void *arg)
{
	struct cpu0_spin *s = arg;

	on_cpu(0);
	atomic_store(&s->spinning, 1);
	while (!atomic_load(&s->stop))
		;
	return NULL;
}

/*
 * One try of slow_reader_holds_block_a_piece_at_a_time: free the block
 * while the reader is in its READ.  False if the READ ended before the
 * free, so that the try shows nothing.
 */
static bool free_during_slow_read(struct __test_metadata *_metadata, int fd,
				  struct slow_read *s)
{
	volatile unsigned char *mark = s->buf;
	struct timespec until;
	pthread_t reader, spinner;
	bool during;
	int i;

	ASSERT_OK(vmm_alloc(fd, s->len, 0, &s->id, NULL));
	s->fd = fd;
	s->ret = 0;
	s->err = 0;
	atomic_store(&s->spin.spinning, 0);
	atomic_store(&s->spin.stop, 0);
	atomic_store(&s->tid, 0);
	atomic_store(&s->done, 0);
	ASSERT_EQ(0, pthread_create(&spinner, NULL, cpu0_spinner, &s->spin));
	while (!atomic_load(&s->spin.spinning))
		usleep(1000);
	memset(s->buf, 1, s->len);
	ASSERT_EQ(0, pthread_create(&reader, NULL, slow_reader, s));
	/*
	 * Until the READ has copied its first MiB (the block reads as
	 * zeros), four pieces in: 30 s at most.
	 */
	for (i = 0; i < 30000 && atomic_load(&s->tid) >= 0 &&
	     !atomic_load(&s->done) && mark[MiB]; i++)
		usleep(1000);
	ASSERT_OK(vmm_free(fd, s->id));
	during = !atomic_load(&s->done);
	atomic_store(&s->spin.stop, 1);
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 60;
	ASSERT_EQ(0, pthread_timedjoin_np(reader, NULL, &until))
		TH_LOG("the READ did not end within 60 s of the spinner stopping");
	ASSERT_EQ(0, pthread_join(spinner, NULL));
	ASSERT_NE(-2, s->ret) TH_LOG("SCHED_IDLE: %s", strerror(s->err));
	return during;
}

/*
 * A READ holds its block one piece (256 KiB) at a time even when nothing
 * faults: a reader that makes a 64 MiB copy last (SCHED_IDLE, beside a
 * spinner on its CPU) does not keep the block's range and its owner's
 * quota after the owner frees it, nor the block in place, for as long as
 * the copy lasts; its READ fails with ENOENT at the next piece.  A try in
 * which the READ ended before the free is made again, three times at most.
 */
TEST_F_TIMEOUT(hostile, slow_reader_holds_block_a_piece_at_a_time, 240)
{
	struct slow_read s = { 0 };
	int tries;

	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		VMM_SKIP(return, "one CPU: the reader and the test need two");
	RELOAD("128M");
	s.len = 64 * MiB;
	s.buf = malloc(s.len);
	ASSERT_NE(NULL, s.buf);
	on_cpu(1);
	for (tries = 1; !free_during_slow_read(_metadata, self->fd, &s);
	     tries++) {
		ksft_print_msg("try %d: the READ ended (%d, %s) before the block was freed\n",
			       tries, s.ret, strerror(s.err));
		ASSERT_GT(3, tries)
			TH_LOG("in three tries the READ never ran long enough to be freed during it");
	}
	EXPECT_EQ(-1, s.ret)
		TH_LOG("the READ copied all 64 MiB of a block freed during it");
	EXPECT_EQ(ENOENT, s.err) TH_LOG("READ: %s", strerror(s.err));
	free(s.buf);
}

/* A DEFRAG by a thread that hardly ever runs. */
struct slow_defrag {
	int fd;
	struct cpu0_spin spin;
	atomic_int started;	/* 1: in its call; -1: no SCHED_IDLE */
	atomic_int done;	/* its DEFRAG returned */
	struct vmm_defrag_args a;
	int ret, err;
	pthread_t spinner, thread;
};

static void *slow_defragger(void *arg)
{
	struct slow_defrag *s = arg;

	if (!idle_on_cpu0(&s->ret, &s->err)) {
		atomic_store(&s->started, -1);
		return NULL;
	}
	atomic_store(&s->started, 1);
	s->ret = ioctl(s->fd, VMM_IOC_DEFRAG, &s->a);
	s->err = s->ret ? errno : 0;
	atomic_store(&s->done, 1);
	return NULL;
}

/*
 * 1 KiB blocks, every other one freed: 32768 blocks to move, in 512 steps
 * of 64, far more than a thread does in one turn on a CPU under emulation.
 */
#define SLOW_BLOCKS	65536
#define SLOW_BSIZE	1024

/*
 * Why a slow-DEFRAG test cannot run here, or NULL.  On PREEMPT_RT a
 * compaction's steps are preemptible (its spinlock sleeps there).
 */
static const char *slow_defrag_skip(void)
{
	FILE *f;
	int rt = 0;

	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		return "one CPU: the slow caller and the test need two";
	f = fopen("/sys/kernel/realtime", "r");
	if (f) {
		if (fscanf(f, "%d", &rt) != 1)
			rt = 0;
		fclose(f);
	}
	return rt ? "PREEMPT_RT: compaction steps are preemptible" : NULL;
}

/*
 * The layout: SLOW_BLOCKS blocks, every other one freed, each live one
 * holding its ID in its first bytes.  Return: the IDs (to free()).
 */
static __u64 *slow_layout(struct __test_metadata *_metadata, int fd)
{
	__u64 *ids = calloc(SLOW_BLOCKS, sizeof(*ids));
	int i;

	ASSERT_NE(NULL, ids);
	for (i = 0; i < SLOW_BLOCKS; i++)
		ASSERT_OK(vmm_alloc(fd, SLOW_BSIZE, 0, &ids[i], NULL));
	for (i = 0; i < SLOW_BLOCKS; i++) {
		if (i % 2 == 0)
			ASSERT_OK(vmm_free(fd, ids[i]));
		else
			ASSERT_OK(vmm_write(fd, ids[i], 0, &ids[i],
					    sizeof(ids[i])));
	}
	return ids;
}

/* Every live block of slow_layout() in order, packed, with its data. */
static void slow_layout_check(struct __test_metadata *_metadata, int fd,
			      const __u64 *ids)
{
	__u64 off, size, v;
	int i;

	for (i = 1; i < SLOW_BLOCKS; i += 2) {
		ASSERT_OK(vmm_read(fd, ids[i], 0, &v, sizeof(v)));
		ASSERT_EQ(ids[i], v) TH_LOG("block %llu lost its data",
					    (unsigned long long)ids[i]);
		ASSERT_OK(vmm_info(fd, ids[i], &off, &size));
		ASSERT_EQ((__u64)(i / 2) * SLOW_BSIZE, off);
	}
}

/*
 * Lay out slow_layout() (its IDs in *@ids), start a spinner on CPU 0 and,
 * beside it, a SCHED_IDLE DEFRAG, from CPU 1; wait (60 s at most) until
 * that call has moved block 1.  Return: whether it is still in its call
 * then (if not, the machine is too fast for the test to catch it midway).
 */
static bool slow_defrag_start(struct __test_metadata *_metadata, int fd,
			      __u64 **ids, struct slow_defrag *s)
{
	__u64 off = ~0ULL, size;
	int i;

	no_self_check();
	*ids = slow_layout(_metadata, fd);
	on_cpu(1);
	s->fd = fd;
	ASSERT_EQ(0, pthread_create(&s->spinner, NULL, cpu0_spinner,
				    &s->spin));
	while (!atomic_load(&s->spin.spinning))
		usleep(1000);
	ASSERT_EQ(0, pthread_create(&s->thread, NULL, slow_defragger, s));
	for (i = 0; i < 60000 && atomic_load(&s->started) >= 0 &&
	     !atomic_load(&s->done) && off; i++) {
		ASSERT_OK(vmm_info(fd, (*ids)[1], &off, &size));
		if (off)
			usleep(1000);
	}
	return atomic_load(&s->started) >= 0 && !atomic_load(&s->done) &&
	       !off;
}

/* Stop the spinner; the slow DEFRAG must then end, and pack the arena. */
static void slow_defrag_end(struct __test_metadata *_metadata,
			    struct slow_defrag *s)
{
	struct timespec until;

	atomic_store(&s->spin.stop, 1);
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 60;
	ASSERT_EQ(0, pthread_timedjoin_np(s->thread, NULL, &until))
		TH_LOG("the slow DEFRAG did not end within 60 s of the spinner stopping");
	ASSERT_EQ(0, pthread_join(s->spinner, NULL));
	ASSERT_NE(-2, s->ret) TH_LOG("SCHED_IDLE: %s", strerror(s->err));
	EXPECT_EQ(0, s->ret) TH_LOG("slow DEFRAG: %s", strerror(s->err));
	EXPECT_EQ(1ULL, s->a.compact);
	EXPECT_LT(0ULL, s->a.blocks_moved);
}

/*
 * A DEFRAG by a thread that seldom gets a CPU (SCHED_IDLE, beside a
 * spinner on its CPU) does not keep the defragmentation mutex while it
 * waits for one: another caller's VMM_DEFRAG_NOWAIT gets its turn, and
 * packs the arena, while the slow call is still in progress.  The slow
 * call then ends as soon as it runs again, and every block keeps its data
 * and order.
 */
TEST_F_TIMEOUT(hostile, slow_defrag_lets_another_defrag_meanwhile, 300)
{
	struct slow_defrag s = { 0 };
	struct vmm_defrag_args a;
	const char *why = slow_defrag_skip();
	bool in_call, running = false, got = false;
	__u64 moved = 0, *ids;
	int i, ret = -1, busy = 0;

	if (why)
		VMM_SKIP(return, "%s", why);
	RELOAD("128M");
	in_call = slow_defrag_start(_metadata, self->fd, &ids, &s);
	/*
	 * NOWAIT calls until one packs the arena: 30 s at most.  One that
	 * loses its turn midway returns what it moved; go on.
	 */
	for (i = 0; in_call && !got && i < 30000; i++) {
		memset(&a, 0, sizeof(a));
		a.flags = VMM_DEFRAG_NOWAIT;
		running = !atomic_load(&s.done);
		ret = ioctl(self->fd, VMM_IOC_DEFRAG, &a);
		if (ret && errno != EBUSY)
			break;
		moved += a.blocks_moved;
		got = !ret && a.compact;
		busy += !!ret;
		if (!got)
			usleep(1000);
	}
	slow_defrag_end(_metadata, &s);
	if (!in_call)
		VMM_SKIP(goto out, "the slow DEFRAG ended before it could be seen at work: this machine is too fast for the test");
	ksft_print_msg("NOWAIT DEFRAG: %d EBUSY, %d calls, moved %llu blocks; the slow one moved %llu\n",
		       busy, i, (unsigned long long)moved,
		       (unsigned long long)s.a.blocks_moved);
	EXPECT_TRUE(got) TH_LOG("no NOWAIT DEFRAG packed the arena: %s after %d EBUSY",
				ret ? strerror(errno) : "compact 0", busy);
	EXPECT_TRUE(running)
		TH_LOG("the NOWAIT DEFRAG got its turn only when the slow one had ended");
	EXPECT_LT(0ULL, moved);
	slow_layout_check(_metadata, self->fd, ids);
out:
	free(ids);
}

/*
 * Nor does it keep the blocks of its step from readers while it waits
 * for a CPU: a READ of every block, each timed, while the slow call is in
 * progress, waits for none (1 s at most, against the slow thread's wait
 * of a second or more for its next turn on the CPU).
 */
TEST_F_TIMEOUT(hostile, slow_defrag_keeps_no_block_from_readers, 300)
{
	struct slow_defrag s = { 0 };
	const char *why = slow_defrag_skip();
	__u64 t, worst = 0, worst_id = 0, v, *ids;
	bool in_call, still;
	int i;

	if (why)
		VMM_SKIP(return, "%s", why);
	RELOAD("128M");
	in_call = slow_defrag_start(_metadata, self->fd, &ids, &s);
	for (i = 1; in_call && i < SLOW_BLOCKS; i += 2) {
		t = now_ns();
		if (vmm_read(self->fd, ids[i], 0, &v, sizeof(v)))
			break;
		t = now_ns() - t;
		if (t > worst) {
			worst = t;
			worst_id = ids[i];
		}
	}
	still = !atomic_load(&s.done);
	slow_defrag_end(_metadata, &s);
	if (!in_call)
		VMM_SKIP(goto out, "the slow DEFRAG ended before it could be seen at work: this machine is too fast for the test");
	ksft_print_msg("slowest READ %.1f ms (block %llu); the slow DEFRAG %s\n",
		       worst / 1e6, (unsigned long long)worst_id,
		       still ? "was still in its call after them" :
			       "ended during them");
	EXPECT_LT(SLOW_BLOCKS, i) TH_LOG("READ of block %llu: %s",
					 (unsigned long long)ids[i],
					 strerror(errno));
	EXPECT_GT(1000000000ULL, worst)
		TH_LOG("a READ waited %.1f ms for the slow DEFRAG", worst / 1e6);
	slow_layout_check(_metadata, self->fd, ids);
out:
	free(ids);
}

/*
 * A churner for defrag_ends_under_churn: until told to stop, or for at
 * most CHURN_CYCLES cycles (or CHURN_SECONDS), allocate H and then B (64
 * bytes) right above it, then free H: B has a hole below it.  H's size
 * steps through 16 values, so a hole is refilled only 16 cycles later, if
 * the defragmentation has not closed it by then: at any moment holes wait
 * above the pass's cursor, and every pass of a running defragmentation
 * finds something to move, however the two interleave.
 */
/*
 * A cycle budget, not a time: a DEFRAG that ends as it should sees at most
 * a few hundred cycles (stock and debug, alone or beside another guest),
 * whatever the host does to both threads; one that goes on while the churn
 * does lasts all of them.  10000 cycles are about 3 s on a stock guest.
 * CHURN_SECONDS only keeps a slow guest's test within its time.
 */
#define CHURN_CYCLES	10000
#define CHURN_SECONDS	60
/* Blocks a pass walks over, so that many churn cycles fall in each pass. */
#define CHURN_FILL	50000

struct churn {
	int fd;
	/*
	 * Its blocks' alignment, if any: two pages keep every one of them
	 * out of a one-page hole at offset one page.
	 */
	__u64 align;
	volatile int stop;	/* set by the test */
	volatile int ended;	/* 1: deadline, 2: an ioctl failed */
	volatile unsigned long cycles;
	int err;
};

static void *churner(void *arg)
{
	struct churn *c = arg;
	__u64 end = now_ns() + CHURN_SECONDS * 1000000000ULL, h;
	int ret;

	while (!c->stop) {
		if (c->cycles >= CHURN_CYCLES || now_ns() >= end) {
			c->ended = 1;
			break;
		}
		ret = vmm_alloc(c->fd, 32 + 8 * (c->cycles % 16), c->align,
				&h, NULL);
		if (!ret)
			ret = vmm_alloc(c->fd, 64, c->align, NULL, NULL);
		if (!ret)
			ret = vmm_free(c->fd, h);
		if (ret) {
			c->err = -ret;
			c->ended = 2;
			break;
		}
		c->cycles++;
	}
	return NULL;
}

/*
 * Others' churn that leaves each pass of a defragmentation a little to
 * move cannot keep the call (and the defragmentation mutex) going.  Root's
 * mapped block P sits above a one-page hole that no block of the churn
 * fits in, and that uid 1001's DEFRAG may not close (it never moves
 * another user's mapped block), so the arena is never compact; above P,
 * CHURN_FILL packed blocks that nothing moves; above those, a churner
 * keeps making 64-byte blocks with holes below them.  The DEFRAG must
 * still end, once it has walked twice over the blocks, while the churn
 * goes on.
 * Its budget (VMM_DEFRAG_USER_BUDGET) lasts longer than the churn.
 * Without the walk limit a DEFRAG here ends only at a pass that finds
 * nothing to move, which depends on how the churn and the passes
 * interleave.  (A copy stalled on a userfaultfd page used to hold P in
 * place; no copy holds its block while its page is faulted in now.)
 */
TEST_F_TIMEOUT(hostile, defrag_ends_under_churn, 180)
{
	size_t pg = sysconf(_SC_PAGESIZE);
	struct vmm_alloc_args pa = { .size = pg, .flags = VMM_ALLOC_MAPPABLE };
	struct churn c = { 0 };
	unsigned long before;
	struct report r;
	__u64 a, x, i;
	pthread_t thread;
	void *map;
	int mfd;

	RELOAD("64M");
	no_self_check();
	/* A and X, a page each, then P on the next page boundary. */
	ASSERT_OK(vmm_alloc(self->fd, pg, 0, &a, NULL));
	ASSERT_OK(vmm_alloc(self->fd, pg, 0, &x, NULL));
	ASSERT_OK(ioctl(self->fd, VMM_IOC_ALLOC, &pa));
	ASSERT_EQ((__u64)(2 * pg), pa.offset);
	mfd = open(VMM_DEV, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, mfd);
	ASSERT_OK(vmm_select(mfd, pa.id));
	map = mmap(NULL, pg, PROT_READ, MAP_SHARED, mfd, 0);
	ASSERT_NE(MAP_FAILED, map);
	for (i = 0; i < CHURN_FILL; i++)
		ASSERT_OK(vmm_alloc(self->fd, 64, 0, NULL, NULL));
	ASSERT_OK(vmm_free(self->fd, x));

	c.fd = self->fd;
	c.align = 2 * pg;
	ASSERT_EQ(0, pthread_create(&thread, NULL, churner, &c));
	while (!c.cycles && !c.ended)
		usleep(1000);
	before = c.cycles;
	AS(UID_B, do_defrag_timed, NULL, &r, CHURN_SECONDS);
	ksft_print_msg("DEFRAG as uid 1001 beside churn: %d after %llu ms, %llu bytes in %llu blocks moved, compact %llu; %lu churn cycles meanwhile, churn %s\n",
		       r.ret, r.ns / 1000000, r.v[0], r.v[1], r.v[2],
		       c.cycles - before,
		       c.ended == 1 ? "ran out of cycles or time" :
		       c.ended == 2 ? "failed" : "still going");
	EXPECT_EQ(0, r.ret) TH_LOG("DEFRAG: %s", strerror(r.err));
	EXPECT_EQ(0, c.ended)
		TH_LOG("the DEFRAG ended only after the churn did (%s): churn kept it going",
		       c.ended == 2 ? strerror(c.err) : "it ran out");
	EXPECT_EQ(0ULL, r.v[2]) TH_LOG("compact, with P mapped above a hole");
	EXPECT_LE(1ULL, r.v[1]);
	c.stop = 1;
	ASSERT_EQ(0, pthread_join(thread, NULL));
	EXPECT_NE(2, c.ended) TH_LOG("the churn's ioctls: %s", strerror(c.err));
	EXPECT_EQ((__u64)(2 * pg), offset_of(self->fd, pa.id));
	munmap(map, pg);
	close(mfd);
}

/* ---- 3: block metadata is charged to the memory cgroup */

#define CG_LIMIT	(16 * MiB)
#define CG_ALLOCS	200000
/* Seconds the child may allocate, within the test's 300. */
#define CG_DEADLINE	240

static bool is_cgroup2(const char *path)
{
	struct statfs sf;

	return !statfs(path, &sf) && sf.f_type == CGROUP2_SUPER_MAGIC;
}

/* @name's value in a "key value" file (memory.events); 0 if absent. */
static __u64 keyed_value(const char *path, const char *name)
{
	unsigned long long v = 0, x;
	char key[64];
	FILE *f = fopen(path, "re");

	if (!f)
		return 0;
	while (fscanf(f, "%63s %llu", key, &x) == 2)
		if (!strcmp(key, name))
			v = x;
	fclose(f);
	return v;
}

static __u64 cg_value(const char *cg, const char *file)
{
	char path[192];

	snprintf(path, sizeof(path), "%s/%s", cg, file);
	return vmm_read_u64_file(path);
}

static void cgroup_cleanup(char *cg, char *mnt)
{
	int i;

	/* The child may still be leaving it. */
	for (i = 0; cg[0] && i < 100; i++) {
		if (!rmdir(cg) || errno == ENOENT)
			break;
		usleep(20000);
	}
	cg[0] = '\0';
	if (mnt[0]) {
		umount2(mnt, MNT_DETACH);
		rmdir(mnt);
		mnt[0] = '\0';
	}
}

/*
 * What the child in the cgroup reports, in a shared page that both touched
 * before the child joined: once the cgroup is full, anything that needs
 * a new charge (a pipe's buffer page, a page table) would bring on the
 * cgroup's OOM killer, and the report must not.
 */
struct cg_report {
	atomic_int step;	/* CG_*: where the child is, or stopped */
	int ret;		/* what the call that stopped it returned */
	int err;		/* the errno that stopped it */
	__u64 allocated;
};

enum { CG_STARTED = 1, CG_LOCK, CG_JOIN, CG_DROP, CG_READY, CG_GO, CG_DONE };

/*
 * Wait for @pid to exit while *@progress keeps growing: give up once it
 * has stood still for @stall_ms, or after @ms in all.  Its status, or -1
 * (then killed).
 */
static int wait_exit_progressing(pid_t pid, const __u64 *progress,
				 int stall_ms, int ms)
{
	__u64 seen = __atomic_load_n(progress, __ATOMIC_RELAXED), now;
	int status, i, still = 0;

	for (i = 0; i < ms / 20 && still < stall_ms / 20; i++) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return status;
		usleep(20000);
		now = __atomic_load_n(progress, __ATOMIC_RELAXED);
		still = now == seen ? still + 1 : 0;
		seen = now;
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return -1;
}

/*
 * Write to the stack below this frame and to errno, so that their
 * copy-on-write pages are copied (and charged) before the child joins
 * the cgroup, not when a refused allocation first sets errno.
 */
static __attribute__((noinline)) void prefault_stack_and_errno(void)
{
	char buf[64 * 1024];

	memset(buf, 0, sizeof(buf));
	/* Keep the stores: the buffer is "used" here. */
	asm volatile("" : : "r"(buf) : "memory");
	errno = 0;
}

/* In the child: join @cg, become uid 1000, allocate until refused. */
static void cg_child(int fd, const char *cg, struct cg_report *rep, int go)
{
	char procs[192], byte;

	rep->step = CG_STARTED;
	prefault_stack_and_errno();
	/*
	 * Fault in and lock every page this process has (its text, libc's,
	 * the copies of its written pages) while it is still charged to the
	 * parent's cgroup.  Otherwise a text page first touched inside the
	 * cgroup is charged there, the cgroup's reclaim evicts it when the
	 * metadata reaches the limit, and its refault (which may not fail)
	 * calls the OOM killer: 6.12 does so in most runs.
	 */
	if (mlockall(MCL_CURRENT)) {
		rep->err = errno;
		rep->step = CG_LOCK;
		_exit(0);
	}
	snprintf(procs, sizeof(procs), "%s/cgroup.procs", cg);
	rep->err = vmm_write_file(procs, "0");
	if (rep->err) {
		rep->step = CG_JOIN;
		_exit(0);
	}
	if (drop_to(UID_A)) {
		rep->err = errno;
		rep->step = CG_DROP;
		_exit(0);
	}
	/* Charged from here on; the parent takes the baseline now. */
	rep->step = CG_READY;
	if (read_within(go, &byte, 1, 10000)) {
		rep->step = CG_GO;
		_exit(0);
	}
	while (rep->allocated < CG_ALLOCS) {
		rep->ret = vmm_alloc(fd, 1, 0, NULL, NULL);
		if (rep->ret) {
			rep->err = errno;
			break;
		}
		rep->allocated++;
	}
	rep->step = CG_DONE;
	_exit(0);
}

TEST_F_TIMEOUT(hostile, memcg_limits_metadata, 300)
{
	char root[64] = "/sys/fs/cgroup", path[192];
	struct cg_report *rep;
	__u64 base, peak, after, oom, t0, ms;
	int go[2], status, err, step, i;
	char byte = 1;
	pid_t pid;

	RELOAD("16M");
	no_self_check();
	/* No per-uid limit: the cgroup alone must stop the allocations. */
	ASSERT_EQ(0, write_param("max_blocks_per_uid", 0));
	ASSERT_EQ(0, write_param("max_bytes_per_uid", 0));
	ASSERT_EQ(0, write_param("max_blocks_unprivileged", 0));

	if (!is_cgroup2(root)) {
		strcpy(self->cg_mnt, "/tmp/vmm_hostile_cg.XXXXXX");
		ASSERT_NE(NULL, mkdtemp(self->cg_mnt));
		if (mount("none", self->cg_mnt, "cgroup2", 0, NULL)) {
			err = errno;
			rmdir(self->cg_mnt);
			self->cg_mnt[0] = '\0';
			if (err == ENODEV)
				VMM_SKIP(return, "no cgroup2 in this kernel");
			ASSERT_EQ(0, err) TH_LOG("mount cgroup2: %s",
						 strerror(err));
		}
		snprintf(root, sizeof(root), "%s", self->cg_mnt);
	}
	snprintf(path, sizeof(path), "%s/cgroup.controllers", root);
	{
		char ctl[256] = "";
		FILE *f = fopen(path, "re");

		ASSERT_NE(NULL, f) TH_LOG("%s: %s", path, strerror(errno));
		if (!fgets(ctl, sizeof(ctl), f))
			ctl[0] = '\0';
		fclose(f);
		if (!strstr(ctl, "memory"))
			VMM_SKIP(return, "no memory controller in %s: %s", path,
			     ctl);
	}
	snprintf(path, sizeof(path), "%s/cgroup.subtree_control", root);
	err = vmm_write_file(path, "+memory");
	ASSERT_EQ(0, err) TH_LOG("%s: %s", path, strerror(err));
	snprintf(self->cg, sizeof(self->cg), "%s/vmm_hostile_test", root);
	rmdir(self->cg);	/* a leftover of an earlier run */
	ASSERT_EQ(0, mkdir(self->cg, 0755))
		TH_LOG("mkdir %s: %s", self->cg, strerror(errno));
	snprintf(path, sizeof(path), "%s/memory.max", self->cg);
	err = vmm_write_file(path, "16777216");
	ASSERT_EQ(0, err) TH_LOG("%s: %s", path, strerror(err));

	rep = mmap(NULL, sizeof(*rep), PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, rep);
	memset(rep, 0, sizeof(*rep));
	ASSERT_EQ(0, pipe(go));
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		close(go[1]);
		cg_child(self->fd, self->cg, rep, go[0]);
	}
	close(go[0]);
	for (i = 0; i < 500 && (step = rep->step) < CG_READY &&
	     waitpid(pid, &status, WNOHANG) != pid; i++)
		usleep(20000);
	step = rep->step;
	if (step != CG_READY)
		close(go[1]);
	ASSERT_EQ(CG_READY, step)
		TH_LOG("the child stopped at step %d: %s", step,
		       strerror(rep->err));
	base = cg_value(self->cg, "memory.current");
	ASSERT_NE(UINT64_MAX, base);
	ASSERT_EQ(1, write(go[1], &byte, 1));
	close(go[1]);
	/*
	 * How long the child takes depends on the kernel (the debug kernel
	 * checks every slab allocation) and on the host's load; it is logged
	 * below.  A child still allocating is not stuck.
	 */
	t0 = now_ns();
	status = wait_exit_progressing(pid, &rep->allocated, 30000,
				       CG_DEADLINE * 1000);
	ms = (now_ns() - t0) / 1000000;

	snprintf(path, sizeof(path), "%s/memory.events", self->cg);
	oom = keyed_value(path, "oom_kill");
	peak = cg_value(self->cg, "memory.peak");
	if (peak == UINT64_MAX)	/* before 5.19: the usage at the end */
		peak = cg_value(self->cg, "memory.current");
	ksft_print_msg("uid 1000 in a cgroup of memory.max 16 MiB: %llu of %d one-byte blocks in %llu ms, stopped by %s; memory.current %llu KiB before, peak %llu KiB, oom_kill %llu\n",
		       (unsigned long long)rep->allocated, CG_ALLOCS,
		       (unsigned long long)ms,
		       rep->err ? strerror(rep->err) : "nothing",
		       base / 1024, peak / 1024, oom);
	EXPECT_NE(-1, status)
		TH_LOG("the child did not end: no new block in 30 s, or no refusal in %d s",
		       CG_DEADLINE);
	EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status))
		TH_LOG("the child did not exit normally (status %#x)", status);
	step = rep->step;
	EXPECT_EQ(CG_DONE, step);
	EXPECT_GT((__u64)CG_ALLOCS, rep->allocated)
		TH_LOG("every allocation succeeded: metadata is not charged");
	/* Every quota is off: only the cgroup can refuse. */
	EXPECT_EQ(-1, rep->ret);
	EXPECT_EQ(ENOMEM, rep->err) TH_LOG("stopped by errno %d (%s)",
					   rep->err, strerror(rep->err));
	EXPECT_EQ(0ULL, oom);
	EXPECT_GE(CG_LIMIT, peak);
	munmap(rep, sizeof(*rep));

	/*
	 * Freeing every block (by reloading) returns the charge.  Some of
	 * it comes back only later (frees after a grace period, such as the
	 * ID table's kvfree_rcu()): 13 of 45 runs read 1 MiB at once
	 * against 256 KiB before, and a planted one-byte limit saw 128 KiB
	 * 11 s on.  Up to 10 s for the rest; a leak stays.
	 */
	RELOAD("16M");
	t0 = now_ns();
	after = cg_value(self->cg, "memory.current");
	for (i = 0; i < 1000 && after >= base + 1 * MiB; i++) {
		usleep(10000);
		after = cg_value(self->cg, "memory.current");
	}
	ksft_print_msg("memory.current after the blocks are freed: %llu KiB (%llu ms after the reload)\n",
		       after / 1024, (now_ns() - t0) / 1000000);
	EXPECT_GT(base + 1 * MiB, after);
	cgroup_cleanup(self->cg, self->cg_mnt);
}

/* ---- 4: unprivileged users are limited by default */

#define DEFAULT_LIMIT	16384
#define LIMIT_CAP	20000

TEST_F_TIMEOUT(hostile, unprivileged_default_block_limit, 180)
{
	__u64 limit, cap = LIMIT_CAP, i, failed = 0;
	struct report r;

	RELOAD(NULL);
	no_self_check();
	limit = read_param("max_blocks_unprivileged");
	EXPECT_NE(UINT64_MAX, limit)
		TH_LOG("%smax_blocks_unprivileged is missing: unprivileged users have no default limit",
		       PARAM_DIR);
	if (limit == UINT64_MAX)
		limit = DEFAULT_LIMIT;
	EXPECT_EQ((__u64)DEFAULT_LIMIT, limit);
	ASSERT_GT((__u64)LIMIT_CAP, limit);

	AS(UID_A, do_alloc_until_failure, &cap, &r, LOOP_DEADLINE);
	ksft_print_msg("uid 1000 allocated %llu one-byte blocks, stopped by %s (limit %llu)\n",
		       r.v[0], r.ret ? strerror(r.err) : "nothing", limit);
	EXPECT_EQ(limit, r.v[0]);
	EXPECT_EQ(-1, r.ret);
	EXPECT_EQ(EDQUOT, r.err) TH_LOG("errno %d (%s)", r.err,
					strerror(r.err));
	/* Root is not limited. */
	for (i = 0; i <= limit; i++)
		failed += vmm_alloc(self->fd, 1, 0, NULL, NULL) != 0;
	EXPECT_EQ(0ULL, failed) TH_LOG("root's allocations that failed");
}

/* arg: the most to try; as root without CAP_SYS_ADMIN, 1-byte blocks. */
static void do_alloc_without_cap(int fd, void *arg, struct report *r)
{
	if (vmm_drop_cap(CAP_SYS_ADMIN)) {
		r->v[1] = errno;
		note(r, -1);
		return;
	}
	do_alloc_until_failure(fd, arg, r);
}

/*
 * What runs in the child of ns_child_start(): it unshares a user
 * namespace, writes unshare()'s errno to @ready, waits for a non-zero byte
 * on @go (its maps are written), and reports on @res.
 */
typedef void (*ns_child_fn)(int fd, void *arg, int ready, int go, int res);

/*
 * Fork a child running @fn, and once it has its namespace map the
 * namespace's ids 0 to @count - 1 to @base on, for uids (and gids if
 * @gids), as newuidmap would (root of the parent namespace needs no
 * "deny" in setgroups).  Return: the child's pid with its report's read
 * end in *@res, or 0 if user namespaces are unavailable (the child has
 * ended; *@err is unshare()'s errno).
 */
static pid_t ns_child_start(struct __test_metadata *_metadata, int fd,
			    ns_child_fn fn, void *arg, int base, int count,
			    bool gids, int *res, int *err)
{
	int ready[2], go[2], rep[2], status, ret;
	char path[64], map[32], byte;
	pid_t pid;

	*err = 0;
	ASSERT_EQ(0, pipe(ready));
	ASSERT_EQ(0, pipe(go));
	ASSERT_EQ(0, pipe(rep));
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		close(ready[0]);
		close(go[1]);
		close(rep[0]);
		fn(fd, arg, ready[1], go[0], rep[1]);
		_exit(9);
	}
	close(ready[1]);
	close(go[0]);
	close(rep[1]);
	ASSERT_EQ(0, read_within(ready[0], err, sizeof(*err), 10000))
		TH_LOG("the child did not report its unshare()");
	close(ready[0]);
	if (*err == EINVAL || *err == ENOSPC || *err == EPERM) {
		waitpid(pid, &status, 0);
		close(go[1]);
		close(rep[0]);
		return 0;
	}
	ASSERT_EQ(0, *err) TH_LOG("unshare(CLONE_NEWUSER): %s", strerror(*err));
	snprintf(map, sizeof(map), "0 %d %d", base, count);
	snprintf(path, sizeof(path), "/proc/%d/uid_map", pid);
	ret = vmm_write_file(path, map);
	if (!ret && gids) {
		snprintf(path, sizeof(path), "/proc/%d/gid_map", pid);
		ret = vmm_write_file(path, map);
	}
	byte = !ret;
	ASSERT_EQ(1, write(go[1], &byte, 1));
	close(go[1]);
	ASSERT_EQ(0, ret) TH_LOG("writing %s: %s", path, strerror(ret));
	*res = rep[0];
	return pid;
}

/*
 * In a user namespace of root's, as its uid 0 (NS_ROOT_BASE outside): up
 * to @n 1-byte blocks, charged to root's record and, below it, to
 * NS_ROOT_BASE's.  The child's exit status is 0 once it wrote how many.
 */
#define NS_ROOT_BASE	200000

static void ns_root_child(int fd, void *arg, int ready, int go, int res)
{
	__u64 k = 0, n = *(__u64 *)arg;
	char byte = 0;
	int err = unshare(CLONE_NEWUSER) ? errno : 0;

	if (write(ready, &err, sizeof(err)) != sizeof(err) || err)
		_exit(1);
	if (read_within(go, &byte, 1, 10000) || !byte || setresuid(0, 0, 0))
		_exit(2);
	while (k < n && !vmm_alloc(fd, 1, 0, NULL, NULL))
		k++;
	_exit(write(res, &k, sizeof(k)) == sizeof(k) ? 0 : 3);
}

/*
 * Root without CAP_SYS_ADMIN (a container that drops it) is bound by the
 * unprivileged limit like any uid, on root's own blocks: those charged to
 * root's record through a namespace root made do not count.
 */
TEST_F(hostile, unprivileged_limit_binds_root_without_cap)
{
	__u64 limit = 4, try = 2 * limit + 2, ns_blocks = 0;
	int res, status, err;
	struct report r;
	pid_t pid;

	RELOAD(NULL);
	ASSERT_EQ(0, write_param("max_blocks_unprivileged", limit));
	pid = ns_child_start(_metadata, self->fd, ns_root_child, &limit,
			     NS_ROOT_BASE, 1, false, &res, &err);
	if (!pid)
		VMM_SKIP(return, "user namespaces unavailable: unshare(CLONE_NEWUSER): %s",
		     strerror(err));
	ASSERT_EQ(0, read_within(res, &ns_blocks, sizeof(ns_blocks), 10000));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status));
	close(res);
	EXPECT_EQ(limit, ns_blocks);

	AS(0, do_alloc_without_cap, &try, &r, LOOP_DEADLINE);
	ksft_print_msg("root without CAP_SYS_ADMIN allocated %llu one-byte blocks, stopped by %s (limit %llu; %llu more through root's namespace)\n",
		       r.v[0], r.ret ? strerror(r.err) : "nothing", limit,
		       ns_blocks);
	EXPECT_EQ(0ULL, r.v[1]) TH_LOG("capset: %s", strerror((int)r.v[1]));
	EXPECT_EQ(limit, r.v[0]);
	EXPECT_EQ(-1, r.ret);
	EXPECT_EQ(EDQUOT, r.err) TH_LOG("errno %d (%s)", r.err,
					strerror(r.err));
	/* With the capability, root rises above the limit. */
	EXPECT_EQ(0, vmm_alloc(self->fd, 1, 0, NULL, NULL))
		TH_LOG("root: %s", strerror(errno));
}

/* ---- 5: the ids of a user namespace share their owner's quota */

#define NS_QUOTA	10
#define NS_IDS		1000
#define NS_BASE		100000	/* where the namespace's ids map */

struct ns_report {
	int unshare_err;	/* errno of unshare(CLONE_NEWUSER), or 0 */
	int go;			/* 1 once the parent wrote the maps */
	int first_err;		/* errno of the first failed allocation */
	int setuid_err;		/* errno of the first failed setresuid */
	__u64 ids;		/* ids that reported */
	__u64 total;		/* blocks they allocated in all */
	__u64 most;		/* the most one id allocated */
	__u64 failed_other;	/* ids whose failure was not first_err */
	__u64 bad_ret;		/* ids whose failing call did not return -1 */
};

struct ns_id_report {
	int setuid_err;
	int ret;		/* what the failing call returned */
	int err;
	__u64 allocated;
};

/* In the namespace, as id @k: 1-byte blocks until the first failure. */
static void ns_id_child(int fd, uid_t k, int wfd)
{
	struct ns_id_report g = { 0 };

	if (setresuid(k, k, k)) {
		g.setuid_err = errno;
	} else {
		while (g.allocated < 100 &&
		       !(g.ret = vmm_alloc(fd, 1, 0, NULL, NULL)))
			g.allocated++;
		g.err = g.allocated < 100 ? errno : 0;
	}
	_exit(write(wfd, &g, sizeof(g)) == sizeof(g) ? 0 : 3);
}

/* As uid 1000 in a new user namespace: every id's allocations. */
static void ns_owner_child(int fd, void *arg, int ready, int go, int res)
{
	struct ns_report r = { 0 };
	int p[2], status;
	char byte = 0;
	uid_t k;

	(void)arg;
	if (drop_to(UID_A))
		_exit(2);
	if (unshare(CLONE_NEWUSER))
		r.unshare_err = errno;
	if (write(ready, &r.unshare_err, sizeof(int)) != sizeof(int) ||
	    r.unshare_err)
		_exit(r.unshare_err ? 0 : 3);
	if (read_within(go, &byte, 1, 10000) || !byte)
		_exit(4);
	r.go = 1;
	if (pipe(p))
		_exit(5);
	for (k = 0; k < NS_IDS; k++) {
		struct ns_id_report g = { .setuid_err = ECHILD };
		pid_t pid = fork();

		if (pid < 0)
			_exit(6);
		if (!pid)
			ns_id_child(fd, k, p[1]);
		if (waitpid(pid, &status, 0) != pid ||
		    read_within(p[0], &g, sizeof(g), 1000))
			g.setuid_err = ECHILD;
		if (g.setuid_err) {
			if (!r.setuid_err)
				r.setuid_err = g.setuid_err;
			continue;
		}
		r.ids++;
		r.total += g.allocated;
		if (g.allocated > r.most)
			r.most = g.allocated;
		if (!r.first_err)
			r.first_err = g.err;
		else if (g.err != r.first_err)
			r.failed_other++;
		if (g.allocated < 100 && g.ret != -1)
			r.bad_ret++;
	}
	_exit(write(res, &r, sizeof(r)) == sizeof(r) ? 0 : 7);
}

TEST_F_TIMEOUT(hostile, userns_ids_share_owner_quota, 180)
{
	static struct usage_entry u[VMM_USAGE_MAX];
	struct vmm_chown_args c = { .uid = UID_A, .gid = VMM_ID_UNCHANGED };
	const struct usage_entry *owner;
	struct ns_report r = { 0 };
	struct vmm_block_info blk[2];
	int res, status, err, n, k;
	__u32 count;
	pid_t pid;

	RELOAD("16M");
	ASSERT_EQ(0, write_param("max_blocks_per_uid", NS_QUOTA));
	/* Ids 0-999 map to 100000-100999. */
	pid = ns_child_start(_metadata, self->fd, ns_owner_child, NULL,
			     NS_BASE, NS_IDS, true, &res, &err);
	if (!pid)
		VMM_SKIP(return, "user namespaces unavailable: unshare(CLONE_NEWUSER): %s",
		     strerror(err));
	ASSERT_EQ(0, read_within(res, &r, sizeof(r), LOOP_DEADLINE * 1000))
		TH_LOG("no report from the namespace's owner in %d s",
		       LOOP_DEADLINE);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status));
	close(res);

	ksft_print_msg("%llu ids of a namespace owned by uid 1000 allocated %llu blocks (quota %d per uid, at most %llu by one id); first failure %s\n",
		       r.ids, r.total, NS_QUOTA, r.most,
		       strerror(r.first_err));
	EXPECT_EQ(0, r.setuid_err) TH_LOG("setresuid inside: %s",
					  strerror(r.setuid_err));
	EXPECT_EQ((__u64)NS_IDS, r.ids);
	EXPECT_EQ((__u64)NS_QUOTA, r.total);
	EXPECT_EQ(EDQUOT, r.first_err) TH_LOG("errno %d (%s)", r.first_err,
					      strerror(r.first_err));
	EXPECT_EQ(0ULL, r.failed_other);
	EXPECT_EQ(0ULL, r.bad_ret);

	/* Root sees it all charged to uid 1000, through its namespace. */
	n = usage_all(self->fd, u, ARRAY_SIZE(u));
	ASSERT_LE(0, n) TH_LOG("USAGE: %s", strerror(errno));
	owner = usage_of(u, n, UID_A);
	ksft_print_msg("USAGE lists %d uids; uid 1000: %llu blocks, ns_blocks %llu\n",
		       n, owner ? owner->blocks : 0ULL,
		       owner ? owner->ns_blocks : 0ULL);
	ASSERT_NE(NULL, owner) TH_LOG("uid 1000 has no usage entry");
	EXPECT_EQ(r.total, owner->blocks);
	EXPECT_EQ(r.total, owner->ns_blocks);

	/*
	 * Root gives one to uid 1000, whose full quota already counts it:
	 * no total of 1000's changes, so no EDQUOT.
	 */
	ASSERT_EQ(0, vmm_list(self->fd, 0, blk, 2, &count, NULL));
	ASSERT_EQ(2U, count);
	EXPECT_EQ(NS_BASE, (int)blk[0].uid);
	EXPECT_EQ(NS_BASE, (int)blk[1].uid);
	c.id = blk[0].id;
	EXPECT_EQ(0, ioctl(self->fd, VMM_IOC_CHOWN, &c))
		TH_LOG("CHOWN to the namespace's owner: %s", strerror(errno));
	n = usage_all(self->fd, u, ARRAY_SIZE(u));
	ASSERT_LE(0, n) TH_LOG("USAGE: %s", strerror(errno));
	owner = usage_of(u, n, UID_A);
	ASSERT_NE(NULL, owner) TH_LOG("uid 1000 has no usage entry");
	EXPECT_EQ(r.total, owner->blocks);
	EXPECT_EQ(r.total - 1, owner->ns_blocks);
	ASSERT_EQ(0, vmm_list(self->fd, c.id, blk, 1, &count, NULL));
	EXPECT_EQ((__u32)UID_A, blk[0].uid);
	/*
	 * Anyone else's quota is checked, for a block still charged through
	 * the namespace: 1001 is given ten, then no more.
	 */
	c.uid = UID_A + 1;
	for (k = 0; k < NS_QUOTA; k++) {
		if (vmm_alloc(self->fd, 1, 0, &c.id, NULL) ||
		    ioctl(self->fd, VMM_IOC_CHOWN, &c))
			break;
	}
	EXPECT_EQ(NS_QUOTA, k) TH_LOG("gave uid 1001 %d: %s", k,
				      strerror(errno));
	c.id = blk[1].id;
	EXPECT_EQ(-1, ioctl(self->fd, VMM_IOC_CHOWN, &c));
	EXPECT_EQ(EDQUOT, errno) TH_LOG("errno %d (%s)", errno,
					strerror(errno));
}

/* ---- 6: an unprivileged defrag copies no large block of another user */

#define BIG	(8 * MiB)

/* As 1001: H (1 byte), D (8 MiB, pattern 6), free H, DEFRAG. */
static void do_own_big_defrag(int fd, void *arg, struct report *r)
{
	struct vmm_defrag_args d = { 0 };
	__u64 h = 0, dd = 0, off = 0;
	void *buf = pattern(BIG, 6);

	(void)arg;
	if (!buf) {
		r->ret = -1;
		r->err = ENOMEM;
		return;
	}
	note(r, vmm_alloc(fd, 1, 0, &h, NULL));
	if (!r->ret)
		note(r, vmm_alloc(fd, BIG, 0, &dd, &off));
	if (!r->ret)
		note(r, vmm_write(fd, dd, 0, buf, BIG));
	if (!r->ret)
		note(r, vmm_free(fd, h));
	if (!r->ret)
		note(r, ioctl(fd, VMM_IOC_DEFRAG, &d));
	r->v[0] = dd;
	r->v[1] = off;
	r->v[2] = d.bytes_moved;
	r->v[3] = d.compact;
	free(buf);
}

TEST_F_TIMEOUT(hostile, unprivileged_defrag_skips_large_foreign_block, 120)
{
	struct vmm_alloc_args a = { .size = BIG, .flags = VMM_ALLOC_MODE,
				    .mode = 0644 };
	struct vmm_defrag_args d = { 0 };
	unsigned char *data, *own;
	struct report r;
	__u64 h;

	RELOAD("16M");
	data = pattern(BIG, 5);
	own = pattern(BIG, 6);
	ASSERT_NE(NULL, data);
	ASSERT_NE(NULL, own);
	/* Root's B, readable by all, above a 1-byte hole. */
	ASSERT_OK(vmm_alloc(self->fd, 1, 0, &h, NULL));
	ASSERT_OK(ioctl(self->fd, VMM_IOC_ALLOC, &a));
	ASSERT_EQ(1ULL, a.offset);
	ASSERT_OK(vmm_write(self->fd, a.id, 0, data, BIG));
	ASSERT_OK(vmm_free(self->fd, h));

	AS(UID_B, do_defrag_timed, NULL, &r, 30);
	ksft_print_msg("DEFRAG as uid 1001 below root's 8 MiB block: %d (%s), %llu bytes moved, compact %llu\n",
		       r.ret, strerror(r.err), r.v[0], r.v[2]);
	EXPECT_EQ(0, r.ret) TH_LOG("DEFRAG: %s", strerror(r.err));
	EXPECT_EQ(0ULL, r.v[0]) TH_LOG("bytes_moved");
	EXPECT_EQ(0ULL, r.v[2]) TH_LOG("compact");
	EXPECT_EQ(1ULL, offset_of(self->fd, a.id));

	/* Root's own defragmentation has no such limit. */
	ASSERT_OK(ioctl(self->fd, VMM_IOC_DEFRAG, &d));
	EXPECT_EQ(BIG, d.bytes_moved);
	EXPECT_EQ(1ULL, d.compact);
	EXPECT_EQ(0ULL, offset_of(self->fd, a.id));
	EXPECT_TRUE(holds(self->fd, a.id, data, BIG));

	/* Uid 1001's defragmentation does move uid 1001's own 8 MiB. */
	ASSERT_OK(vmm_free(self->fd, a.id));
	AS(UID_B, do_own_big_defrag, NULL, &r, 30);
	ASSERT_EQ(0, r.ret) TH_LOG("uid 1001's own block: %s",
				   strerror(r.err));
	ksft_print_msg("DEFRAG as uid 1001 below its own 8 MiB block: %llu bytes moved, compact %llu\n",
		       r.v[2], r.v[3]);
	EXPECT_EQ(1ULL, r.v[1]);
	EXPECT_EQ(BIG, r.v[2]) TH_LOG("bytes_moved");
	EXPECT_EQ(0ULL, offset_of(self->fd, r.v[0]));
	EXPECT_TRUE(holds(self->fd, r.v[0], own, BIG));
	free(data);
	free(own);
}

/* ---- 7: VMM_IOC_USAGE is open to all, like VMM_IOC_LIST */

#define SEEN_MAX	4

/*
 * As 1002: USAGE (ret, err, then v[0] entries, triples from v[1]) and the
 * totals of LIST (v[16] uids, triples from v[17]).
 */
static void do_usage_and_list(int fd, void *arg, struct report *r)
{
	struct usage_entry u[SEEN_MAX];
	struct uid_total t[SEEN_MAX];
	int n, i;

	(void)arg;
	n = list_totals(fd, t, SEEN_MAX);
	if (n < 0) {
		note(r, -1);
		r->v[16] = UINT64_MAX;
		return;
	}
	r->v[16] = n;
	for (i = 0; i < n; i++) {
		r->v[17 + 3 * i] = t[i].uid;
		r->v[18 + 3 * i] = t[i].blocks;
		r->v[19 + 3 * i] = t[i].bytes;
	}
	n = usage_all(fd, u, SEEN_MAX);
	note(r, n < 0 ? -1 : 0);
	r->v[0] = n < 0 ? 0 : n;
	for (i = 0; i < n; i++) {
		r->v[1 + 3 * i] = u[i].uid;
		r->v[2 + 3 * i] = u[i].blocks;
		r->v[3 + 3 * i] = u[i].bytes;
	}
}

TEST_F(hostile, usage_is_readable_by_unprivileged_users_and_matches_list)
{
	static const struct { uid_t uid; __u64 size; } blocks[] = {
		{ UID_A, 100 }, { UID_A, 200 }, { UID_A, 300 },
		{ UID_B, 4096 }, { UID_B, 50 }, { 0, 7 },
	};
	struct report r;
	unsigned int i, k;
	__u64 n;

	RELOAD("16M");
	for (i = 0; i < ARRAY_SIZE(blocks); i++) {
		__u64 arg[2] = { blocks[i].size, i };

		AS(blocks[i].uid, do_alloc_filled, arg, &r, 10);
		ASSERT_EQ(0, r.ret) TH_LOG("block %u: %s", i, strerror(r.err));
	}
	AS(UID_C, do_usage_and_list, NULL, &r, 10);
	ASSERT_NE(UINT64_MAX, r.v[16]) TH_LOG("LIST as uid 1002: %s",
					      strerror(r.err));
	ASSERT_EQ(3ULL, r.v[16]) TH_LOG("uids seen through LIST");
	ksft_print_msg("USAGE as uid 1002: %d (%s), %llu entries\n", r.ret,
		       strerror(r.err), r.v[0]);
	ASSERT_EQ(0, r.ret) TH_LOG("USAGE as uid 1002: %s", strerror(r.err));
	n = r.v[0];
	EXPECT_EQ(r.v[16], n);
	/* Each uid's counts equal what LIST shows of it. */
	for (k = 0; k < r.v[16]; k++) {
		__u64 uid = r.v[17 + 3 * k], found = 0;

		for (i = 0; i < n && i < SEEN_MAX; i++) {
			if (r.v[1 + 3 * i] != uid)
				continue;
			found = 1;
			EXPECT_EQ(r.v[18 + 3 * k], r.v[2 + 3 * i])
				TH_LOG("uid %llu's blocks", uid);
			EXPECT_EQ(r.v[19 + 3 * k], r.v[3 + 3 * i])
				TH_LOG("uid %llu's bytes", uid);
		}
		EXPECT_EQ(1ULL, found) TH_LOG("uid %llu is not in USAGE", uid);
	}
	/* And what was allocated: 3 blocks of 600 bytes for uid 1000... */
	for (i = 0; i < n && i < SEEN_MAX; i++) {
		if (r.v[1 + 3 * i] == UID_A) {
			EXPECT_EQ(3ULL, r.v[2 + 3 * i]);
			EXPECT_EQ(600ULL, r.v[3 + 3 * i]);
		} else if (r.v[1 + 3 * i] == UID_B) {
			EXPECT_EQ(2ULL, r.v[2 + 3 * i]);
			EXPECT_EQ(4146ULL, r.v[3 + 3 * i]);
		}
	}
}

/* ---- 8: CAP_SYS_ADMIN is used only where the mode bits refuse */

/* This task's flags, field 9 of /proc/self/stat; UINT_MAX if unknown. */
static unsigned int task_flags(void)
{
	char buf[1024], *p;
	unsigned int flags;
	ssize_t n;
	int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return UINT_MAX;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return UINT_MAX;
	buf[n] = '\0';
	/* Field 2 is "(comm)", which may hold spaces and ')'. */
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %u", &flags) != 1)
		return UINT_MAX;
	return flags;
}

enum cap_step {
	CAP_FORKED, CAP_ALLOC, CAP_WRITE, CAP_READ, CAP_INFO, CAP_FREE,
	CAP_READ_FOREIGN, CAP_STEPS
};

static const char *const cap_step_names[] = {
	[CAP_FORKED] = "fork", [CAP_ALLOC] = "ALLOC", [CAP_WRITE] = "WRITE",
	[CAP_READ] = "READ", [CAP_INFO] = "INFO", [CAP_FREE] = "FREE",
	[CAP_READ_FOREIGN] = "READ of uid 1000's 0600 block",
};

/*
 * As root, freshly forked: root's own block, then uid 1000's (arg).  After
 * step i, v[i] is the task's flags and v[8 + i] the call's errno.
 */
static void do_cap_steps(int fd, void *arg, struct report *r)
{
	unsigned char buf[64] = { 0 };
	__u64 id = 0;
	int i, ret;

	for (i = 0; i < CAP_STEPS; i++) {
		errno = 0;
		switch (i) {
		case CAP_FORKED:
			ret = 0;
			break;
		case CAP_ALLOC:
			ret = vmm_alloc(fd, 64, 0, &id, NULL);
			break;
		case CAP_WRITE:
			ret = vmm_write(fd, id, 0, buf, sizeof(buf));
			break;
		case CAP_READ:
			ret = vmm_read(fd, id, 0, buf, sizeof(buf));
			break;
		case CAP_INFO:
			ret = vmm_info(fd, id, NULL, NULL);
			break;
		case CAP_FREE:
			ret = vmm_free(fd, id);
			break;
		default:
			ret = vmm_read(fd, *(__u64 *)arg, 0, buf, sizeof(buf));
			break;
		}
		r->v[8 + i] = ret ? errno : 0;
		r->v[i] = task_flags();
	}
	r->ret = 0;
}

TEST_F(hostile, capability_used_only_when_dac_denies)
{
	__u64 arg[2] = { 64, 8 }, foreign;
	struct vmm_info_args info;
	struct report r;
	bool superpriv;
	int i;

	RELOAD("16M");
	AS(UID_A, do_alloc_filled, arg, &r, 10);
	ASSERT_EQ(0, r.ret) TH_LOG("uid 1000's block: %s", strerror(r.err));
	foreign = r.v[0];
	info = (struct vmm_info_args){ .id = foreign };
	ASSERT_OK(ioctl(self->fd, VMM_IOC_INFO, &info));
	ASSERT_EQ((__u32)UID_A, info.uid);
	ASSERT_EQ(0600U, info.mode);

	AS(0, do_cap_steps, &foreign, &r, 10);
	for (i = 0; i < CAP_STEPS; i++) {
		ksft_print_msg("root, after %s: errno %llu, flags %#llx, PF_SUPERPRIV %s\n",
			       cap_step_names[i], r.v[8 + i], r.v[i],
			       r.v[i] & PF_SUPERPRIV ? "set" : "clear");
		EXPECT_EQ(0ULL, r.v[8 + i]) TH_LOG("%s: %s",
						   cap_step_names[i],
						   strerror(r.v[8 + i]));
		EXPECT_NE((__u64)UINT_MAX, r.v[i])
			TH_LOG("cannot read the flags in /proc/self/stat");
		superpriv = r.v[i] & PF_SUPERPRIV;
		if (i < CAP_READ_FOREIGN) {
			EXPECT_FALSE(superpriv)
				TH_LOG("%s on root's own block used CAP_SYS_ADMIN",
				       cap_step_names[i]);
		} else {
			EXPECT_TRUE(superpriv)
				TH_LOG("reading a 0600 block of uid 1000 did not use CAP_SYS_ADMIN");
		}
	}
}

/*
 * As root, in an arena of 4 * CAP_PIECE bytes: a compacting ALLOC that
 * fits without compacting, a plain ALLOC while auto_compact is on (arg),
 * then a compacting ALLOC that must compact.  v[i] is the task's flags
 * after step i, v[8 + i] the step's errno.
 */
#define CAP_PIECE	4096

static int alloc_flags(int fd, __u64 size, __u32 flags)
{
	struct vmm_alloc_args a = { .size = size, .flags = flags };

	return ioctl(fd, VMM_IOC_ALLOC, &a);
}

static void do_compact_steps(int fd, void *arg, struct report *r)
{
	__u64 id[4];
	int i, ret = 0;

	(void)arg;
	errno = 0;
	/* 0: fits as it is. */
	ret = alloc_flags(fd, CAP_PIECE, VMM_ALLOC_COMPACT);
	r->v[8] = ret ? errno : 0;
	r->v[0] = task_flags();
	/* 1: auto_compact is on, and this fits too. */
	ret = vmm_alloc(fd, CAP_PIECE, 0, NULL, NULL);
	r->v[9] = ret ? errno : 0;
	r->v[1] = task_flags();
	/* 2: two free pieces apart; two pieces in one must compact. */
	vmm_free_all(fd);
	for (i = 0; i < 4 && !ret; i++)
		ret = vmm_alloc(fd, CAP_PIECE, 0, &id[i], NULL);
	if (!ret)
		ret = vmm_free(fd, id[0]) || vmm_free(fd, id[2]);
	if (!ret)
		ret = alloc_flags(fd, 2 * CAP_PIECE, VMM_ALLOC_COMPACT);
	r->v[10] = ret ? errno : 0;
	r->v[2] = task_flags();
	r->ret = 0;
}

TEST_F(hostile, compaction_asks_for_capability_only_when_it_runs)
{
	static const char *const step[] = {
		"a compacting ALLOC that fits",
		"an ALLOC under auto_compact that fits",
		"a compacting ALLOC that compacts",
	};
	struct report r;
	bool superpriv;
	int i;

	RELOAD("16K");
	ASSERT_EQ(4ULL * CAP_PIECE, vmm_sysfs("size"));
	ASSERT_EQ(0, write_param("auto_compact", 1));
	AS(0, do_compact_steps, NULL, &r, 10);
	EXPECT_EQ(0, write_param("auto_compact", 0));
	for (i = 0; i < 3; i++) {
		ksft_print_msg("root, after %s: errno %llu, PF_SUPERPRIV %s\n",
			       step[i], r.v[8 + i],
			       r.v[i] & PF_SUPERPRIV ? "set" : "clear");
		EXPECT_EQ(0ULL, r.v[8 + i]) TH_LOG("%s: %s", step[i],
						   strerror((int)r.v[8 + i]));
		EXPECT_NE((__u64)UINT_MAX, r.v[i])
			TH_LOG("cannot read the flags in /proc/self/stat");
	}
	for (i = 0; i < 2; i++) {
		superpriv = r.v[i] & PF_SUPERPRIV;
		EXPECT_FALSE(superpriv) TH_LOG("%s used CAP_SYS_ADMIN",
					       step[i]);
	}
	/* Lifting the unprivileged budget is a use of the capability. */
	superpriv = r.v[2] & PF_SUPERPRIV;
	EXPECT_TRUE(superpriv) TH_LOG("%s did not use CAP_SYS_ADMIN", step[2]);
}

/*
 * As root, freshly forked: a DEFRAG with a budget no limit binds.  v[0] is
 * the task's flags before it, v[1] after, v[8] its errno.
 */
static void do_defrag_cap(int fd, void *arg, struct report *r)
{
	struct vmm_defrag_args a = { .budget = 4096 };

	(void)arg;
	r->v[0] = task_flags();
	r->v[8] = ioctl(fd, VMM_IOC_DEFRAG, &a) ? errno : 0;
	r->v[1] = task_flags();
	r->ret = 0;
}

/*
 * Which blocks a DEFRAG may move (other users' large or mapped ones) is
 * known only under the arena lock, where vmm asks nothing of the
 * security modules, so every DEFRAG asks, without auditing: root's task
 * is marked even when nothing needed the capability.
 */
TEST_F(hostile, defrag_asks_for_capability_on_every_call)
{
	struct report r;
	bool before, after;

	RELOAD("16M");
	AS(0, do_defrag_cap, NULL, &r, 10);
	EXPECT_EQ(0ULL, r.v[8]) TH_LOG("DEFRAG: %s", strerror((int)r.v[8]));
	EXPECT_NE((__u64)UINT_MAX, r.v[0]);
	EXPECT_NE((__u64)UINT_MAX, r.v[1]);
	before = r.v[0] & PF_SUPERPRIV;
	after = r.v[1] & PF_SUPERPRIV;
	EXPECT_FALSE(before) TH_LOG("set before the call");
	EXPECT_TRUE(after) TH_LOG("DEFRAG did not ask for CAP_SYS_ADMIN");
}

/*
 * As root, freshly forked, with max_bytes_per_uid at QUOTA_CAP_BYTES and
 * max_blocks_unprivileged at 1: an ALLOC of all the bytes, one more byte
 * (over both limits, and privilege lifts only the block limit), then,
 * max_bytes_per_uid lifted, one more byte again (over the block limit
 * alone).  v[i] is the task's flags after step i, v[8 + i] the step's
 * errno and v[16 + i] its return value.
 */
#define QUOTA_CAP_BYTES	4096

static void do_quota_cap_steps(int fd, void *arg, struct report *r)
{
	int i, ret;

	(void)arg;
	for (i = 0; i < 3; i++) {
		errno = 0;
		if (i == 2 && write_param("max_bytes_per_uid", 0))
			ret = -2;	/* errno tells */
		else
			ret = vmm_alloc(fd, i ? 1 : QUOTA_CAP_BYTES, 0, NULL,
					NULL);
		r->v[16 + i] = (__u64)(__s64)ret;
		r->v[8 + i] = ret ? errno : 0;
		r->v[i] = task_flags();
	}
	r->ret = 0;
}

TEST_F(hostile, quota_asks_for_capability_only_when_privilege_lifts_it)
{
	static const char *const step[] = {
		"an ALLOC within the quotas",
		"an ALLOC over the bytes quota and the unprivileged block limit",
		"an ALLOC over the unprivileged block limit alone",
	};
	struct report r;
	bool superpriv;
	__u64 limit;
	int i;

	RELOAD("16M");
	limit = read_param("max_blocks_unprivileged");
	ASSERT_EQ(0, write_param("max_bytes_per_uid", QUOTA_CAP_BYTES));
	ASSERT_EQ(0, write_param("max_blocks_unprivileged", 1));
	AS(0, do_quota_cap_steps, NULL, &r, 10);
	EXPECT_EQ(0, write_param("max_bytes_per_uid", 0));
	EXPECT_EQ(0, write_param("max_blocks_unprivileged", limit));
	for (i = 0; i < 3; i++) {
		ksft_print_msg("root, after %s: ret %lld, errno %llu, PF_SUPERPRIV %s\n",
			       step[i], (long long)r.v[16 + i], r.v[8 + i],
			       r.v[i] & PF_SUPERPRIV ? "set" : "clear");
		EXPECT_NE((__u64)UINT_MAX, r.v[i])
			TH_LOG("cannot read the flags in /proc/self/stat");
	}
	EXPECT_EQ(0ULL, r.v[16]);
	EXPECT_EQ(0ULL, r.v[8]);
	EXPECT_EQ((__u64)-1, r.v[17]);
	EXPECT_EQ((__u64)EDQUOT, r.v[9]);
	EXPECT_EQ(0ULL, r.v[18]) TH_LOG("%s", strerror((int)r.v[10]));
	EXPECT_EQ(0ULL, r.v[10]);
	for (i = 0; i < 2; i++) {
		superpriv = r.v[i] & PF_SUPERPRIV;
		EXPECT_FALSE(superpriv) TH_LOG("%s used CAP_SYS_ADMIN",
					       step[i]);
	}
	/* Lifting the unprivileged block limit is a use of the capability. */
	superpriv = r.v[2] & PF_SUPERPRIV;
	EXPECT_TRUE(superpriv) TH_LOG("%s did not use CAP_SYS_ADMIN", step[2]);
}

/*
 * As root, freshly forked: SELECT of a block of its own of mode 0600,
 * then of one of mode 0400, and a write(2) through the second selection.
 * v[i] is the task's flags after step i, v[8 + i] the step's errno and
 * v[16 + i] its return value.
 */
static void do_select_cap_steps(int fd, void *arg, struct report *r)
{
	static const __u32 mode[] = { 0600, 0400 };
	struct vmm_alloc_args a;
	int i, sfd = -1;
	long ret;

	(void)arg;
	for (i = 0; i < 3; i++) {
		errno = 0;
		if (i == 2) {
			ret = write(sfd, "root", 4);
		} else {
			a = (struct vmm_alloc_args){
				.size = 64, .flags = VMM_ALLOC_MODE,
				.mode = mode[i],
			};
			if (sfd >= 0)
				close(sfd);
			sfd = open(VMM_DEV, O_RDWR | O_CLOEXEC);
			ret = sfd < 0 ? -2 : ioctl(fd, VMM_IOC_ALLOC, &a);
			if (!ret)
				ret = vmm_select(sfd, a.id);
		}
		r->v[16 + i] = (__u64)(__s64)ret;
		r->v[8 + i] = ret < 0 ? errno : 0;
		r->v[i] = task_flags();
	}
	r->ret = 0;
}

TEST_F(hostile, select_asks_for_capability_for_rights_the_mode_withholds)
{
	static const char *const step[] = {
		"a SELECT of its own 0600 block",
		"a SELECT of its own 0400 block",
		"a write(2) through that selection",
	};
	struct report r;
	bool superpriv;
	int i;

	RELOAD("16M");
	AS(0, do_select_cap_steps, NULL, &r, 10);
	for (i = 0; i < 3; i++) {
		EXPECT_NE((__u64)UINT_MAX, r.v[i])
			TH_LOG("cannot read the flags in /proc/self/stat");
		EXPECT_EQ(0ULL, r.v[8 + i]) TH_LOG("%s: %s", step[i],
						   strerror((int)r.v[8 + i]));
	}
	EXPECT_EQ(0ULL, r.v[16]);
	EXPECT_EQ(0ULL, r.v[17]);
	/* The administrator's descriptor was given w, which the mode withholds. */
	EXPECT_EQ(4ULL, r.v[18]);
	superpriv = r.v[0] & PF_SUPERPRIV;
	EXPECT_FALSE(superpriv) TH_LOG("%s used CAP_SYS_ADMIN", step[0]);
	superpriv = r.v[1] & PF_SUPERPRIV;
	EXPECT_TRUE(superpriv) TH_LOG("%s did not use CAP_SYS_ADMIN", step[1]);
}

TEST_HARNESS_MAIN
