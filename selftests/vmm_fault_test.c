// SPDX-License-Identifier: GPL-2.0
/*
 * vmm under allocation failures, injected with the kernel's fault
 * injection (Documentation/fault-injection/fault-injection.rst): failslab
 * for kmalloc/kmem_cache_alloc, fail_page_alloc for the page allocator.
 * task-filter=Y limits failures to tasks with make-it-fail=1, and the test
 * sets /proc/thread-self/make-it-fail only around the one call under test
 * (FI() below), so nothing else in the system, not even the test's own
 * printing, sees a failure.
 *
 * What must hold whatever allocation fails: the call either succeeds or
 * fails with ENOMEM; a failed call changes nothing (no ID consumed, no
 * counter moved, no block lost or left behind, every block's bytes
 * intact); calls that allocate nothing (FREE, INFO, STATS, SELECT, READ,
 * WRITE, read(2)/write(2), and DEFRAG but for the free-range record a
 * mappable block's move may need) succeed; and a module load either works
 * completely or fails with ENOMEM leaving nothing loaded.  The kernel log
 * must stay free of reports; the debug runner of scripts/vm checks that,
 * unloads vmm and runs kmemleak afterwards, and the module-load tests also
 * scan /dev/kmsg after every attempt so that a report names the attempt.
 *
 * "The N-th allocation fails" is interval=N, times=1.  The kernel's
 * interval counter is global and never reset, so fi_arm_nth() first lets
 * one failure happen on throw-away allocations, which leaves the counter
 * at a multiple of N; from then on the N-th allocation the task makes is
 * the one that fails.  On the debug kernel kmemleak allocates its own
 * tracking object after every slab allocation, in the same task; failing
 * that one is harmless (kmemleak falls back to a reserve pool), so every
 * other position is a kmemleak one and the call simply succeeds.
 *
 * Module loads use init_module(2) on the vmm.ko that scripts/vm installs
 * in /lib/modules/$(uname -r)/extra, read into memory beforehand.  Where
 * the failures go is calibrated per kernel: /proc/thread-self/fail-nth
 * counts the allocations a load makes (the "space" knob, what they
 * consume), once with an arena larger than RAM, where vmm_init() gives up
 * right after its first kzalloc, once in full.  The sweep covers the
 * positions from just before the first count to past the second, i.e.
 * vmm_init() and what follows it (misc_register(), the uevent).  Earlier
 * positions belong to the module loader itself, whose module_alloc()
 * reports a failed vmalloc with a call trace by design (no __GFP_NOWARN),
 * which the runner would count as a kernel report.  One page allocation
 * failing is mostly absorbed (vmalloc falls back from bulk to single
 * pages), so fail_page_alloc also runs with every allocation past a budget
 * failing (space=B, interval=1), which does make the arena's vmalloc fail.
 * VMM_FAULT_FULL=1 sweeps every position of the calibrated ranges instead
 * of a sample (slower: one module load per position); VMM_FAULT_VERBOSE=1
 * logs every attempt.
 *
 * Tests:
 *   alloc_fails_enomem_when_every_slab_alloc_fails
 *   alloc_fails_enomem_at_each_of_its_slab_allocs
 *   alloc_of_new_owner_fails_enomem_at_each_of_its_slab_allocs
 *   chown_to_new_owner_fails_enomem_and_changes_nothing
 *   alloc_with_padding_fails_enomem_only_at_its_block_alloc
 *   free_succeeds_under_failslab
 *   list_fails_enomem
 *   usage_fails_enomem
 *   batch_fails_enomem_at_each_of_its_slab_allocs
 *   batch_alloc_entry_fails_enomem_when_its_records_cannot_be_had
 *   defrag_of_mappable_block_fails_enomem_and_moves_nothing
 *   defrag_succeeds_under_failslab_and_keeps_order_and_data
 *   nonallocating_calls_succeed_under_failslab
 *   open_fails_enomem_or_succeeds_at_each_slab_alloc
 *   alloc_and_defrag_check_args_before_allocating
 *   alloc_undo_leaves_no_block_under_failslab (a race: SKIPs if the
 *     window is never hit)
 *   sweep_survives_nth_slab_alloc_failure
 *   load_module_survives_nth_slab_alloc_failure
 *   load_module_survives_page_alloc_failures
 *
 * Needs CONFIG_FAILSLAB, CONFIG_FAIL_PAGE_ALLOC, CONFIG_FAULT_INJECTION_
 * DEBUG_FS (the debug kernel of `scripts/vm --kernel debug`), debugfs at
 * /sys/kernel/debug and root; every test SKIPs otherwise.  Failures are
 * injected silently (verbose=0: verbose=2 would print a call trace per
 * failure).  Every knob touched is put back in FIXTURE_TEARDOWN, and again
 * when the program exits.  Like the other vmm selftests it reloads the
 * module with its own arena size and puts back what it found when it
 * exits (vmm_util.h's destructor).
 */
#define _GNU_SOURCE
#include <limits.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <time.h>

#include "vmm_util.h"
#include "vmm_uffd.h"

#define ARENA		(1 * MiB)
#define ARENA_STR	"1M"

#define DEBUGFS		"/sys/kernel/debug/"
#define FAILSLAB	"failslab"
#define FAILPAGE	"fail_page_alloc"
#define MIF_PATH	"/proc/thread-self/make-it-fail"
#define FAIL_NTH_PATH	"/proc/thread-self/fail-nth"

/* ---- fault-injection knobs */

struct fi_knob {
	const char *dir;
	const char *name;
	char saved[32];
	bool have;
};

/* Every knob any test writes; saved at program start. */
static struct fi_knob fi_knobs[] = {
	{ .dir = FAILSLAB, .name = "probability" },
	{ .dir = FAILSLAB, .name = "interval" },
	{ .dir = FAILSLAB, .name = "times" },
	{ .dir = FAILSLAB, .name = "space" },
	{ .dir = FAILSLAB, .name = "verbose" },
	{ .dir = FAILSLAB, .name = "task-filter" },
	{ .dir = FAILSLAB, .name = "ignore-gfp-wait" },
	{ .dir = FAILSLAB, .name = "cache-filter" },
	{ .dir = FAILPAGE, .name = "probability" },
	{ .dir = FAILPAGE, .name = "interval" },
	{ .dir = FAILPAGE, .name = "times" },
	{ .dir = FAILPAGE, .name = "space" },
	{ .dir = FAILPAGE, .name = "verbose" },
	{ .dir = FAILPAGE, .name = "task-filter" },
	{ .dir = FAILPAGE, .name = "ignore-gfp-wait" },
	{ .dir = FAILPAGE, .name = "ignore-gfp-highmem" },
	{ .dir = FAILPAGE, .name = "min-order" },
};

static int fi_write(const char *dir, const char *name, const char *val)
{
	char path[128];
	size_t len = strlen(val);
	int fd, ret = 0;

	snprintf(path, sizeof(path), DEBUGFS "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (write(fd, val, len) != (ssize_t)len)
		ret = -1;
	close(fd);
	return ret;
}

static int fi_writel(const char *dir, const char *name, long val)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%ld", val);
	return fi_write(dir, name, buf);
}

/* The knob's value without the newline; 0 or -1. */
static int fi_read(const char *dir, const char *name, char *buf, size_t size)
{
	char path[128];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), DEBUGFS "%s/%s", dir, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

/* A numeric knob, or LONG_MIN if it cannot be read. */
static long fi_readl(const char *dir, const char *name)
{
	char buf[32], *end;
	long v;

	if (fi_read(dir, name, buf, sizeof(buf)))
		return LONG_MIN;
	errno = 0;
	v = strtol(buf, &end, 10);
	if (errno || end == buf || *end)
		return LONG_MIN;
	return v;
}

static bool fi_available(void)
{
	return vmm_path_exists(DEBUGFS FAILSLAB "/probability") &&
	       vmm_path_exists(DEBUGFS FAILPAGE "/probability") &&
	       vmm_path_exists("/proc/self/make-it-fail");
}

/* Why the tests cannot run: NULL if they can. */
static const char *fi_skip_reason(void)
{
	if (geteuid() != 0)
		return "must run as root to use fault injection";
	if (!fi_available())
		return "no fault injection in debugfs (" DEBUGFS FAILSLAB
		       ", " FAILPAGE ")";
	return NULL;
}

static void __attribute__((constructor)) fi_save_knobs(void)
{
	size_t i;

	if (geteuid() != 0 || !fi_available())
		return;
	for (i = 0; i < ARRAY_SIZE(fi_knobs); i++)
		fi_knobs[i].have = !fi_read(fi_knobs[i].dir, fi_knobs[i].name,
					    fi_knobs[i].saved,
					    sizeof(fi_knobs[i].saved));
}

/*
 * Put every knob back as the program found it: injection off first, the
 * probabilities last.  Returns the number of knobs that could not be
 * written.
 */
static int fi_restore_knobs(void)
{
	int bad = 0, pass;
	size_t i;

	fi_write(FAILSLAB, "probability", "0");
	fi_write(FAILPAGE, "probability", "0");
	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < ARRAY_SIZE(fi_knobs); i++) {
			struct fi_knob *k = &fi_knobs[i];
			bool prob = !strcmp(k->name, "probability");

			if (!k->have || prob != (pass == 1))
				continue;
			if (fi_write(k->dir, k->name, k->saved))
				bad++;
		}
	}
	return bad;
}

/* Runs in the harness's parent only: the test children leave with _exit(). */
static void __attribute__((destructor)) fi_restore_at_exit(void)
{
	if (geteuid() == 0 && fi_available())
		fi_restore_knobs();
}

/*
 * Point @dir at this task alone: task-filter, no space budget, silent, and
 * counting the allocations the module makes (GFP_KERNEL can sleep, so
 * ignore-gfp-wait=N; vmalloc's pages are order 0 and __GFP_HIGHMEM).  The
 * other capability is set so that it neither injects nor, for fail-nth,
 * counts anything.  Injection stays off until fi_arm().
 */
static int fi_setup(const char *dir)
{
	bool slab = !strcmp(dir, FAILSLAB);
	int bad = 0;

	bad |= fi_write(FAILSLAB, "probability", "0");
	bad |= fi_write(FAILPAGE, "probability", "0");
	bad |= fi_write(FAILSLAB, "verbose", "0");
	bad |= fi_write(FAILPAGE, "verbose", "0");
	bad |= fi_write(FAILSLAB, "task-filter", "Y");
	bad |= fi_write(FAILPAGE, "task-filter", "Y");
	bad |= fi_write(FAILSLAB, "space", "0");
	bad |= fi_write(FAILPAGE, "space", "0");
	bad |= fi_write(FAILSLAB, "ignore-gfp-wait", "N");
	bad |= fi_write(FAILPAGE, "ignore-gfp-wait", "N");
	bad |= fi_write(FAILPAGE, "ignore-gfp-highmem", "N");
	/* The one not under test filters everything before should_fail(). */
	bad |= fi_write(FAILSLAB, "cache-filter", slab ? "N" : "Y");
	bad |= fi_write(FAILPAGE, "min-order", slab ? "99" : "0");
	return bad;
}

/* Inject into @dir's counted allocations: every @interval-th, @times times. */
static int fi_arm(const char *dir, unsigned long interval, long times)
{
	int bad = 0;

	bad |= fi_write(dir, "probability", "0");
	bad |= fi_writel(dir, "interval", (long)interval);
	bad |= fi_writel(dir, "times", times);
	bad |= fi_write(dir, "probability", "100");
	return bad;
}

static int fi_disarm(const char *dir)
{
	return fi_write(dir, "probability", "0");
}

/* ---- make-it-fail of the calling task */

static int mif_fd = -1;

static void mif_set(bool on)
{
	if (write(mif_fd, on ? "1" : "0", 1) != 1)
		abort();
}

/* Evaluate @call with this task's allocations subject to injection. */
#define FI(call) ({ \
	long __fi_ret; \
	int __fi_err; \
	mif_set(true); \
	errno = 0; \
	__fi_ret = (long)(call); \
	__fi_err = errno; \
	mif_set(false); \
	errno = __fi_err; \
	__fi_ret; \
})

/* Allocations that @dir counts and that may fail harmlessly. */
static void fi_burn(const char *dir)
{
	int p[2], fd;

	if (!strcmp(dir, FAILSLAB)) {
		/* getname() and the struct file, and their kmemleak objects */
		fd = FI(open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
		if (fd >= 0)
			close(fd);
		return;
	}
	/* The first write to a new pipe allocates its buffer page. */
	if (pipe2(p, O_CLOEXEC))
		return;
	(void)FI(write(p[1], "x", 1));
	close(p[0]);
	close(p[1]);
}

/*
 * Make the @n-th allocation that @dir counts in this task, from now on,
 * fail, and only that one (see the top of the file).  0, or -1 if the
 * knobs cannot be written or no failure came.
 */
static int fi_arm_nth(const char *dir, unsigned long n)
{
	unsigned long i;

	if (fi_arm(dir, n, 1))
		return -1;
	for (i = 0; i < 4 * n + 64; i++) {
		if (fi_readl(dir, "times") == 0)
			return fi_write(dir, "times", "1");
		fi_burn(dir);
	}
	return -1;
}

/* Did the failure fi_arm_nth() set up happen? */
static bool fi_injected(const char *dir)
{
	return fi_readl(dir, "times") == 0;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- fixture for the ioctl tests */

/*
 * No page fault may happen inside FI(): it would allocate (page tables, an
 * anon_vma, a 9p read of the test program's text) and take the failure
 * meant for the call under test, or turn it into SIGBUS.  The fixtures
 * mlockall() every mapping, present and future, and the buffers below are
 * touched before any FI() (in the test child, where fork() made them
 * copy-on-write).
 */
static unsigned char wbuf[64 * KiB], rbuf[64 * KiB];
static struct vmm_block_info lbuf[64];

FIXTURE(fault) {
	int fd;
};

FIXTURE_SETUP(fault)
{
	const char *why = fi_skip_reason();

	if (why)
		VMM_SETUP_SKIP("%s", why);
	self->fd = -1;
	memset(wbuf, 0, sizeof(wbuf));
	memset(rbuf, 0, sizeof(rbuf));
	memset(lbuf, 0, sizeof(lbuf));
	ASSERT_OK(mlockall(MCL_CURRENT | MCL_FUTURE));
	mif_fd = open(MIF_PATH, O_WRONLY | O_CLOEXEC);
	ASSERT_LE(0, mif_fd) TH_LOG("open %s: %s", MIF_PATH, strerror(errno));
	ASSERT_EQ(0, fi_setup(FAILSLAB)) TH_LOG("cannot write the failslab knobs");
	VMM_SETUP_RELOAD(ARENA_STR, &self->fd);
}

FIXTURE_TEARDOWN(fault)
{
	if (mif_fd >= 0) {
		mif_set(false);
		close(mif_fd);
		mif_fd = -1;
	}
	EXPECT_EQ(0, fi_restore_knobs());
	if (self->fd >= 0)
		close(self->fd);
}

/* Allocate a block of @size filled with pattern @seed; assert its ID/offset. */
#define MAKE_BLOCK(fd, size, seed, want_id, want_off) do { \
	__u64 __msz = (size); \
	ALLOC_AT(fd, __msz, 0, want_id, want_off); \
	vmm_fill(wbuf, __msz, (seed)); \
	ASSERT_OK(vmm_write(fd, want_id, 0, wbuf, __msz)); \
} while (0)

/* Block @id is at @off, @size bytes, holding pattern @seed. */
#define ASSERT_INTACT(fd, id, off, size, seed) do { \
	__u64 __isz = (size); \
	ASSERT_BLOCK(fd, id, off, __isz); \
	memset(rbuf, 0, __isz); \
	ASSERT_OK(vmm_read(fd, id, 0, rbuf, __isz)); \
	vmm_fill(wbuf, __isz, (seed)); \
	ASSERT_EQ(0, memcmp(rbuf, wbuf, __isz)) \
		TH_LOG("block %llu lost its data", (unsigned long long)(id)); \
} while (0)

/* Every field of two STATS snapshots is equal. */
#define ASSERT_STATS_EQ(a, b) do { \
	ASSERT_EQ((a).size, (b).size); \
	ASSERT_EQ((a).used, (b).used); \
	ASSERT_EQ((a).free, (b).free); \
	ASSERT_EQ((a).largest_free, (b).largest_free); \
	ASSERT_EQ((a).blocks, (b).blocks); \
	ASSERT_EQ((a).fragmentation, (b).fragmentation); \
	ASSERT_EQ((a).allocs, (b).allocs); \
	ASSERT_EQ((a).frees, (b).frees); \
	ASSERT_EQ((a).alloc_failures, (b).alloc_failures); \
	ASSERT_EQ((a).defrags, (b).defrags); \
	ASSERT_EQ((a).bytes_moved, (b).bytes_moved); \
} while (0)

TEST_F(fault, alloc_fails_enomem_when_every_slab_alloc_fails)
{
	struct vmm_stats_args before, after;
	__u64 id = 0, off = 0;

	MAKE_BLOCK(self->fd, 4096, 1, 1, 0);
	MAKE_BLOCK(self->fd, 8192, 2, 2, 4096);
	ASSERT_OK(vmm_stats(self->fd, &before));

	ASSERT_EQ(0, fi_arm(FAILSLAB, 1, -1));
	ASSERT_ERR(ENOMEM, FI(vmm_alloc(self->fd, 100, 0, &id, &off)));
	ASSERT_ERR(ENOMEM, FI(vmm_alloc(self->fd, 4096, 4096, &id, &off)));
	ASSERT_ERR(ENOMEM, FI(vmm_alloc(self->fd, ARENA - 12288, 0, &id,
					 &off)));
	ASSERT_EQ(0, fi_disarm(FAILSLAB));

	/* Nothing moved: not even alloc_failures, which counts ENOSPC. */
	ASSERT_OK(vmm_stats(self->fd, &after));
	ASSERT_STATS_EQ(before, after);
	ASSERT_INTACT(self->fd, 1, 0, 4096, 1);
	ASSERT_INTACT(self->fd, 2, 4096, 8192, 2);
	/* No ID consumed, and the space is still free. */
	ALLOC_AT(self->fd, 100, 0, 3, 12288);
}

/*
 * Fail the k-th allocation of ALLOC (100 bytes at @align) for k = 1, 2,
 * ... until ALLOC makes fewer than k allocations.  Each failure must be
 * ENOMEM and leave everything as it was; each success must be an ordinary
 * allocation (the next ID, at @want_off).  Returns the number of positions
 * that made ALLOC fail, and in *past the first k beyond ALLOC's
 * allocations.
 */
static int alloc_sweep_positions(struct __test_metadata *_metadata, int fd,
				 __u64 align, __u64 want_off,
				 unsigned long *past)
{
	__u64 id = 0, off = 0, next_id;
	struct vmm_stats_args before, after;
	unsigned long k;
	int failed = 0;
	long ret;
	int err;

	ASSERT_OK(vmm_stats(fd, &before));
	next_id = before.allocs + 1;
	for (k = 1; k <= 16; k++) {
		ASSERT_OK(vmm_stats(fd, &before));
		ASSERT_EQ(0, fi_arm_nth(FAILSLAB, k)) TH_LOG("arming k=%lu", k);
		ret = FI(vmm_alloc(fd, 100, align, &id, &off));
		err = errno;
		ASSERT_EQ(0, fi_disarm(FAILSLAB));
		if (!fi_injected(FAILSLAB)) {
			ASSERT_EQ(0, ret) TH_LOG("k=%lu: %s", k, strerror(err));
			ASSERT_OK(vmm_free(fd, id));
			break;
		}
		if (ret == -1) {
			ASSERT_EQ(ENOMEM, err) TH_LOG("k=%lu: %s", k, strerror(err));
			ASSERT_OK(vmm_stats(fd, &after));
			ASSERT_STATS_EQ(before, after);
			failed++;
			continue;
		}
		/* A position that is not ALLOC's (kmemleak's own tracking). */
		ASSERT_EQ(0, ret);
		ASSERT_EQ(next_id, id);
		ASSERT_EQ(want_off, off);
		ASSERT_OK(vmm_free(fd, id));
		next_id++;
	}
	ASSERT_GE(16UL, k) TH_LOG("ALLOC made more than 16 allocations");
	*past = k;
	return failed;
}

TEST_F(fault, alloc_fails_enomem_at_each_of_its_slab_allocs)
{
	struct vmm_stats_args st;
	unsigned long past;
	int failed;

	MAKE_BLOCK(self->fd, 4096, 1, 1, 0);
	failed = alloc_sweep_positions(_metadata, self->fd, 0, 4096, &past);
	/*
	 * The block only: the extent node its release may need comes from
	 * the arena's reserve, refilled from this CPU's preload, which is
	 * filled before the lock when empty; a failure there is tried
	 * again once the allocation finds the reserve short.
	 */
	ASSERT_EQ(1, failed) TH_LOG("ALLOC failed at %d of its first %lu allocations",
				    failed, past - 1);
	TH_LOG("ALLOC makes %lu counted allocations, 2 of them its own",
	       past - 1);
	ASSERT_INTACT(self->fd, 1, 0, 4096, 1);
	/* Failed attempts consumed no ID: the next one follows the last. */
	ASSERT_OK(vmm_stats(self->fd, &st));
	ASSERT_EQ(1ULL + past - failed, st.allocs);
	ALLOC_AT(self->fd, 100, 0, st.allocs + 1, 4096);
}

TEST_F(fault, alloc_of_new_owner_fails_enomem_at_each_of_its_slab_allocs)
{
	struct vmm_stats_args st;
	unsigned long past;
	int failed;

	/*
	 * In an empty arena, root owns nothing: each attempt also allocates
	 * root's usage record (freed again with the block).  The block and
	 * that record, but not the preloaded extent node (above).
	 */
	failed = alloc_sweep_positions(_metadata, self->fd, 0, 0, &past);
	ASSERT_EQ(2, failed) TH_LOG("ALLOC failed at %d of its first %lu allocations",
				    failed, past - 1);
	ASSERT_OK(vmm_stats(self->fd, &st));
	ASSERT_EQ(0ULL, st.blocks);
	ASSERT_EQ(0ULL + past - failed, st.allocs);
	ALLOC_AT(self->fd, 100, 0, st.allocs + 1, 0);
}

TEST_F(fault, chown_to_new_owner_fails_enomem_and_changes_nothing)
{
	struct vmm_chown_args a = { .id = 1, .uid = 4242, .gid = 4243 };
	struct vmm_info_args info = { .id = 1 };

	MAKE_BLOCK(self->fd, 4096, 1, 1, 0);
	ASSERT_EQ(0, fi_arm(FAILSLAB, 1, -1));
	ASSERT_ERR(ENOMEM, FI(ioctl(self->fd, VMM_IOC_CHOWN, &a)));
	ASSERT_EQ(0, fi_disarm(FAILSLAB));
	ASSERT_OK(ioctl(self->fd, VMM_IOC_INFO, &info));
	ASSERT_EQ(0U, info.uid);
	ASSERT_EQ(0U, info.gid);
	ASSERT_OK(ioctl(self->fd, VMM_IOC_CHOWN, &a));
	info = (struct vmm_info_args){ .id = 1 };
	ASSERT_OK(ioctl(self->fd, VMM_IOC_INFO, &info));
	ASSERT_EQ(4242U, info.uid);
	ASSERT_EQ(4243U, info.gid);
	ASSERT_INTACT(self->fd, 1, 0, 4096, 1);
}

TEST_F(fault, alloc_with_padding_fails_enomem_only_at_its_block_alloc)
{
	struct vmm_stats_args st;
	unsigned long past;
	int failed;

	MAKE_BLOCK(self->fd, 4096, 1, 1, 0);
	/*
	 * At 8192, free space stays on both sides of the block: the tail
	 * needs an extent node of its own, which the arena's reserve holds
	 * (it always has one then), so nothing more is allocated.
	 */
	failed = alloc_sweep_positions(_metadata, self->fd, 8192, 8192,
				       &past);
	ASSERT_EQ(1, failed) TH_LOG("ALLOC failed at %d of its first %lu allocations",
				    failed, past - 1);
	ASSERT_INTACT(self->fd, 1, 0, 4096, 1);
	ASSERT_OK(vmm_stats(self->fd, &st));
	ASSERT_EQ(1ULL + past - failed, st.allocs);
	/* The padding below it is still free. */
	ALLOC_AT(self->fd, 4096, 0, st.allocs + 1, 4096);
}

TEST_F(fault, free_succeeds_under_failslab)
{
	struct vmm_stats_args before, after;
	__u32 count = 0;
	__u64 next = 1;

	MAKE_BLOCK(self->fd, 4096, 1, 1, 0);
	MAKE_BLOCK(self->fd, 3000, 2, 2, 4096);
	MAKE_BLOCK(self->fd, 5000, 3, 3, 7096);
	ASSERT_OK(vmm_stats(self->fd, &before));

	/* Every allocation fails: FREE makes none, so it cannot fail. */
	ASSERT_EQ(0, fi_arm(FAILSLAB, 1, -1));
	ASSERT_OK(FI(vmm_free(self->fd, 2)));
	ASSERT_ERR(ENOENT, FI(vmm_free(self->fd, 2)));
	ASSERT_ERR(ENOENT, FI(vmm_free(self->fd, 99)));
	ASSERT_OK(FI(vmm_free(self->fd, 3)));
	ASSERT_EQ(0, fi_disarm(FAILSLAB));
	ASSERT_FALSE(fi_injected(FAILSLAB));

	ASSERT_OK(vmm_stats(self->fd, &after));
	ASSERT_EQ(before.frees + 2, after.frees);
	ASSERT_EQ(1ULL, after.blocks);
	ASSERT_EQ(4096ULL, after.used);
	/* The two ranges merged with the free tail: one hole. */
	ASSERT_EQ(ARENA - 4096, after.largest_free);
	ASSERT_INTACT(self->fd, 1, 0, 4096, 1);
	ASSERT_OK(vmm_list(self->fd, 0, lbuf, 64, &count, &next));
	ASSERT_EQ(1U, count);
	ASSERT_EQ(1ULL, lbuf[0].id);
	ASSERT_EQ(0ULL, next);
	/* The space is reused first-fit; IDs are not. */
	ALLOC_AT(self->fd, 3000, 0, 4, 4096);
}

TEST_F(fault, list_fails_enomem)
{
	__u32 count = 0;
	__u64 next = 0;

	MAKE_BLOCK(self->fd, 4096, 1, 1, 0);
	MAKE_BLOCK(self->fd, 4096, 2, 2, 4096);

	ASSERT_EQ(0, fi_arm(FAILSLAB, 1, -1));
	/* 16 and 64 entries: a kmalloc; 64 is exactly a page. */
	ASSERT_ERR(ENOMEM, FI(vmm_list(self->fd, 0, lbuf, 16, &count, &next)));
	ASSERT_ERR(ENOMEM, FI(vmm_list(self->fd, 0, lbuf, 64, &count, &next)));
	ASSERT_ERR(ENOMEM, FI(vmm_list(self->fd, 2, lbuf, 1, &count, &next)));
	ASSERT_EQ(0, fi_disarm(FAILSLAB));

	ASSERT_OK(vmm_list(self->fd, 0, lbuf, 16, &count, &next));
	ASSERT_EQ(2U, count);
	ASSERT_EQ(1ULL, lbuf[0].id);
	ASSERT_EQ(2ULL, lbuf[1].id);
	ASSERT_EQ(4096ULL, lbuf[1].offset);
	ASSERT_EQ(0ULL, next);
	ASSERT_INTACT(self->fd, 1, 0, 4096, 1);
	ASSERT_INTACT(self->fd, 2, 4096, 4096, 2);
}

TEST_F(fault, usage_fails_enomem)
{
	static struct vmm_user_usage u[4];
	struct vmm_usage_args a;

	MAKE_BLOCK(self->fd, 4096, 1, 1, 0);
	memset(u, 0, sizeof(u));
	a = (struct vmm_usage_args){
		.buffer = (__u64)(uintptr_t)u, .capacity = 4,
	};
	ASSERT_EQ(0, fi_arm(FAILSLAB, 1, -1));
	ASSERT_ERR(ENOMEM, FI(ioctl(self->fd, VMM_IOC_USAGE, &a)));
	ASSERT_EQ(0, fi_disarm(FAILSLAB));

	ASSERT_OK(ioctl(self->fd, VMM_IOC_USAGE, &a));
	ASSERT_EQ(1U, a.count);
	ASSERT_EQ(0U, u[0].uid);
	ASSERT_EQ(1ULL, u[0].blocks);
	ASSERT_EQ(4096ULL, u[0].bytes);
	ASSERT_INTACT(self->fd, 1, 0, 4096, 1);
}

/*
 * A batch held on a userfaultfd page (one READ of block @id into it), in a
 * thread of its own: it keeps the device's batch buffers, so that the
 * batches of the test allocate their own, the path whose failures these
 * tests inject.  Uncontended, a batch allocates nothing of its own.
 */
struct bufs_holder {
	int fd, uffd, ret;
	void *area;
	size_t pg;
	pthread_t t;
	struct vmm_batch_entry e;
	struct vmm_batch_args b;
};

static void *bufs_holder_run(void *arg)
{
	struct bufs_holder *h = arg;

	h->ret = ioctl(h->fd, VMM_IOC_BATCH, &h->b);
	return NULL;
}

/* 0 once the holder waits on its page; -errno, or -1 if it never does. */
static int bufs_hold(struct bufs_holder *h, int fd, __u64 id)
{
	memset(h, 0, sizeof(*h));
	h->fd = fd;
	h->pg = sysconf(_SC_PAGESIZE);
	h->uffd = vmm_uffd_page(&h->area, h->pg);
	if (h->uffd < 0)
		return h->uffd;
	h->e.op = VMM_BATCH_READ;
	h->e.rw.id = id;
	h->e.rw.buffer = (__u64)(uintptr_t)h->area;
	h->e.rw.length = h->pg;
	h->b.entries = (__u64)(uintptr_t)&h->e;
	h->b.count = 1;
	if (pthread_create(&h->t, NULL, bufs_holder_run, h)) {
		munmap(h->area, h->pg);
		close(h->uffd);
		return -1;
	}
	return vmm_uffd_wait_fault(h->uffd);
}

/* Let the holder go; its batch's result (0 when its READ succeeded). */
static int bufs_release(struct bufs_holder *h)
{
	int ret = vmm_uffd_zero(h->uffd, h->area, h->pg);

	pthread_join(h->t, NULL);
	munmap(h->area, h->pg);
	close(h->uffd);
	if (ret)
		return ret;
	if (h->ret)
		return h->ret;
	return h->e.result;
}

/*
 * A batch of three INFOs of block @id while every slab allocation of this
 * task fails: it runs (0) only on the device's buffers, and fails with
 * ENOMEM (-1) when it has to allocate its own, as when they are lent.
 */
static long batch_without_allocating(int fd, __u64 id, struct vmm_batch_args *b)
{
	static struct vmm_batch_entry e[3];
	int i, err;
	long ret;

	memset(e, 0, sizeof(e));
	for (i = 0; i < 3; i++) {
		e[i].op = VMM_BATCH_INFO;
		e[i].info.id = id;
	}
	/* Output fields: a call that fails leaves them as they are. */
	*b = (struct vmm_batch_args){
		.entries = (__u64)(uintptr_t)e, .count = 3, .done = 77,
		.failed = 77,
	};
	if (fi_arm(FAILSLAB, 1, -1))
		return -2;
	ret = FI(ioctl(fd, VMM_IOC_BATCH, b));
	err = errno;
	if (fi_disarm(FAILSLAB))
		return -2;
	errno = err;
	return ret;
}

/*
 * Fail the k-th allocation of a batch (ALLOC, INFO and FREE of one
 * block), k = 1, 2, ... until the batch makes fewer than k, while another
 * batch holds the device's buffers (bufs_hold()).  The call's
 * own copies of the entries and of its lock-sharing table fail it with
 * ENOMEM, nothing run.  Any other position leaves the batch whole: a
 * block record that the shared hold could not preallocate is allocated
 * again by the single command's path, and kmemleak's tracking may fail
 * harmlessly.  An ALLOC entry failing with -ENOMEM (both tries failing)
 * is allowed too, with nothing changed; the next test makes it happen.
 */
TEST_F(fault, batch_fails_enomem_at_each_of_its_slab_allocs)
{
	static struct vmm_batch_entry e[3];
	struct vmm_stats_args before, after;
	static struct bufs_holder h;
	struct vmm_batch_args b;
	int call_failed = 0, entry_failed = 0, err;
	unsigned long k;
	long ret;

	/* Root already owns a block, so no usage record is allocated. */
	MAKE_BLOCK(self->fd, 4096, 1, 1, 0);
	ASSERT_EQ(0, bufs_hold(&h, self->fd, 1));
	for (k = 1; k <= 32; k++) {
		ASSERT_OK(vmm_stats(self->fd, &before));
		memset(e, 0, sizeof(e));
		e[0].op = VMM_BATCH_ALLOC;
		e[0].alloc.size = 100;
		e[1].op = VMM_BATCH_INFO;
		e[1].info.id = before.allocs + 1;
		e[2].op = VMM_BATCH_FREE;
		e[2].free.id = before.allocs + 1;
		b = (struct vmm_batch_args){
			.entries = (__u64)(uintptr_t)e, .count = 3,
		};
		ASSERT_EQ(0, fi_arm_nth(FAILSLAB, k)) TH_LOG("arming k=%lu", k);
		ret = FI(ioctl(self->fd, VMM_IOC_BATCH, &b));
		err = errno;
		ASSERT_EQ(0, fi_disarm(FAILSLAB));
		ASSERT_OK(vmm_stats(self->fd, &after));
		if (!fi_injected(FAILSLAB)) {
			ASSERT_EQ(0, ret) TH_LOG("k=%lu: %s", k, strerror(err));
			ASSERT_EQ(3U, b.done);
			ASSERT_EQ(0U, b.failed);
			break;
		}
		if (ret == -1) {
			ASSERT_EQ(ENOMEM, err) TH_LOG("k=%lu: %s", k,
						      strerror(err));
			ASSERT_EQ(0U, b.done);
			ASSERT_STATS_EQ(before, after);
			call_failed++;
			continue;
		}
		ASSERT_EQ(0, ret) TH_LOG("k=%lu: %s", k, strerror(err));
		if (b.failed) {
			ASSERT_EQ(1U, b.done);
			ASSERT_EQ(1U, b.failed);
			ASSERT_EQ(-ENOMEM, e[0].result);
			ASSERT_STATS_EQ(before, after);
			entry_failed++;
			continue;
		}
		ASSERT_EQ(3U, b.done);
		ASSERT_EQ(before.allocs + 1, after.allocs);
		ASSERT_EQ(before.frees + 1, after.frees);
		ASSERT_EQ(before.blocks, after.blocks);
	}
	ASSERT_GE(32UL, k) TH_LOG("the batch made more than 32 allocations");
	TH_LOG("the batch makes %lu counted allocations", k - 1);
	TH_LOG("%d failed the call, %d the ALLOC entry", call_failed,
	       entry_failed);
	EXPECT_EQ(2, call_failed);
	EXPECT_EQ(0, bufs_release(&h));
	ASSERT_INTACT(self->fd, 1, 0, 4096, 1);
	ASSERT_EQ(1ULL, after.blocks);
}

/*
 * Everything the batch allocates past a budget of B bytes fails (the
 * "space" knob, every allocation after it failing), while another batch
 * holds the device's buffers (bufs_hold()), for B = 0, 32, 64,
 * ... until the batch (an ALLOC, then an INFO of another block, with
 * VMM_BATCH_CONTINUE) goes through.  A budget that runs out in the
 * call's own copies fails it with ENOMEM; one that runs out after them
 * fails the ALLOC entry with -ENOMEM, in the shared hold and in the
 * single command's path alike, and the INFO still runs.  Either way
 * nothing changes and no ID is consumed.  Both must happen on the way.
 */
TEST_F(fault, batch_alloc_entry_fails_enomem_when_its_records_cannot_be_had)
{
	static struct vmm_batch_entry e[2];
	struct vmm_stats_args before, after;
	int call_failed = 0, entry_failed = 0, err;
	static struct bufs_holder h;
	struct vmm_batch_args b;
	long space, ret;

	MAKE_BLOCK(self->fd, 4096, 1, 1, 0);
	ASSERT_EQ(0, bufs_hold(&h, self->fd, 1));
	for (space = 0; space <= 16384; space += 32) {
		ASSERT_OK(vmm_stats(self->fd, &before));
		memset(e, 0, sizeof(e));
		e[0].op = VMM_BATCH_ALLOC;
		e[0].alloc.size = 100;
		e[1].op = VMM_BATCH_INFO;
		e[1].info.id = 1;
		b = (struct vmm_batch_args){
			.entries = (__u64)(uintptr_t)e, .count = 2,
			.flags = VMM_BATCH_CONTINUE,
		};
		ASSERT_EQ(0, fi_arm(FAILSLAB, 1, -1));
		ASSERT_EQ(0, fi_writel(FAILSLAB, "space", space));
		ret = FI(ioctl(self->fd, VMM_IOC_BATCH, &b));
		err = errno;
		ASSERT_EQ(0, fi_disarm(FAILSLAB));
		ASSERT_EQ(0, fi_write(FAILSLAB, "space", "0"));
		ASSERT_OK(vmm_stats(self->fd, &after));
		if (ret == -1) {
			ASSERT_EQ(ENOMEM, err) TH_LOG("space %ld: %s", space,
						      strerror(err));
			ASSERT_EQ(0U, b.done);
			ASSERT_STATS_EQ(before, after);
			call_failed++;
			continue;
		}
		ASSERT_EQ(0, ret) TH_LOG("space %ld: %s", space, strerror(err));
		ASSERT_EQ(2U, b.done);
		ASSERT_EQ(0, e[1].result);
		ASSERT_EQ(4096ULL, e[1].info.size);
		if (!b.failed)
			break;
		ASSERT_EQ(1U, b.failed);
		ASSERT_EQ(-ENOMEM, e[0].result);
		ASSERT_STATS_EQ(before, after);
		entry_failed++;
	}
	ASSERT_GE(16384L, space) TH_LOG("the batch never went through");
	TH_LOG("budgets under %ld bytes: %d failed the call, %d the ALLOC entry",
	       space, call_failed, entry_failed);
	EXPECT_LT(0, call_failed);
	EXPECT_LT(0, entry_failed);
	EXPECT_EQ(0, bufs_release(&h));
	/* The one that went through took the next ID. */
	ASSERT_EQ(0, e[0].result);
	ASSERT_EQ(before.allocs + 1, e[0].alloc.id);
	ASSERT_EQ(4096ULL, e[0].alloc.offset);
	ASSERT_INTACT(self->fd, 1, 0, 4096, 1);
}

/*
 * A batch gives the device's buffers back, and only the call they were
 * lent to does: after a call whose entries cannot be read, one whose
 * entries or header cannot be stored, one stopped by an entry's error and
 * one that ran whole, a batch that cannot allocate still runs
 * (batch_without_allocating()); while another batch holds them, it fails
 * with ENOMEM, even after a batch that ran on buffers of its own.  (A
 * call whose results cannot be stored after it ran gives them back where
 * the unstorable entries here do; vmm_batch_test makes that happen.)
 */
TEST_F(fault, batch_gives_the_device_buffers_back_after_faults_errors_and_success)
{
	static struct vmm_batch_entry e[1];
	size_t pg = sysconf(_SC_PAGESIZE);
	static struct bufs_holder h;
	struct vmm_batch_args b, *ro;
	char *page;

	MAKE_BLOCK(self->fd, 4096, 1, 1, 0);
	ASSERT_EQ(0, batch_without_allocating(self->fd, 1, &b))
		TH_LOG("the first batch: %s", strerror(errno));
	ASSERT_EQ(3U, b.done);

	/* Entries that cannot be read. */
	b = (struct vmm_batch_args){ .entries = 8, .count = 1 };
	ASSERT_ERR(EFAULT, ioctl(self->fd, VMM_IOC_BATCH, &b));
	ASSERT_EQ(0, batch_without_allocating(self->fd, 1, &b))
		TH_LOG("after unreadable entries: %s", strerror(errno));

	/* Entries, then the header, that cannot be stored. */
	page = mmap(NULL, pg, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, page);
	memset(page, 0, pg);
	((struct vmm_batch_entry *)page)->op = VMM_BATCH_INFO;
	((struct vmm_batch_entry *)page)->info.id = 1;
	ASSERT_OK(mprotect(page, pg, PROT_READ));
	b = (struct vmm_batch_args){
		.entries = (__u64)(uintptr_t)page, .count = 1,
	};
	ASSERT_ERR(EFAULT, ioctl(self->fd, VMM_IOC_BATCH, &b));
	ASSERT_EQ(0, batch_without_allocating(self->fd, 1, &b))
		TH_LOG("after unstorable entries: %s", strerror(errno));
	ASSERT_OK(mprotect(page, pg, PROT_READ | PROT_WRITE));
	memset(e, 0, sizeof(e));
	e[0].op = VMM_BATCH_INFO;
	e[0].info.id = 1;
	ro = (struct vmm_batch_args *)page;
	*ro = (struct vmm_batch_args){
		.entries = (__u64)(uintptr_t)e, .count = 1,
	};
	ASSERT_OK(mprotect(page, pg, PROT_READ));
	ASSERT_ERR(EFAULT, ioctl(self->fd, VMM_IOC_BATCH, ro));
	ASSERT_EQ(0, batch_without_allocating(self->fd, 1, &b))
		TH_LOG("after an unstorable header: %s", strerror(errno));
	ASSERT_OK(munmap(page, pg));

	/* An entry's error stops the call, which still succeeds. */
	e[0].info.id = 99;
	b = (struct vmm_batch_args){
		.entries = (__u64)(uintptr_t)e, .count = 1,
	};
	ASSERT_OK(ioctl(self->fd, VMM_IOC_BATCH, &b));
	ASSERT_EQ(1U, b.failed);
	ASSERT_EQ(-ENOENT, e[0].result);
	ASSERT_EQ(0, batch_without_allocating(self->fd, 1, &b))
		TH_LOG("after an entry's error: %s", strerror(errno));
	ASSERT_EQ(0, batch_without_allocating(self->fd, 1, &b))
		TH_LOG("after a whole batch: %s", strerror(errno));

	/* Lent: a batch must allocate, even after one that had to. */
	ASSERT_EQ(0, bufs_hold(&h, self->fd, 1));
	e[0].info.id = 1;
	b = (struct vmm_batch_args){
		.entries = (__u64)(uintptr_t)e, .count = 1,
	};
	ASSERT_OK(ioctl(self->fd, VMM_IOC_BATCH, &b));
	ASSERT_EQ(0, e[0].result);
	ASSERT_ERR(ENOMEM, batch_without_allocating(self->fd, 1, &b));
	EXPECT_EQ(77U, b.done);
	EXPECT_EQ(77U, b.failed);
	EXPECT_EQ(0, bufs_release(&h));
	ASSERT_EQ(0, batch_without_allocating(self->fd, 1, &b))
		TH_LOG("after the holder: %s", strerror(errno));
	ASSERT_EQ(3U, b.done);
	ASSERT_INTACT(self->fd, 1, 0, 4096, 1);
}

/*
 * A mappable block moves to the first page boundary above the block
 * below it, leaving a gap under a page there: a free range of its own,
 * whose record DEFRAG must allocate.  When it cannot, nothing moves and
 * the call fails with ENOMEM; afterwards the same call moves the block.
 */
TEST_F(fault, defrag_of_mappable_block_fails_enomem_and_moves_nothing)
{
	struct vmm_alloc_args m = {
		.size = 4096, .flags = VMM_ALLOC_MAPPABLE,
	};
	struct vmm_stats_args before, after;
	__u64 bytes = 0, blocks = 0;

	/* 0:100 100:5000 8192:4096 (mappable) */
	MAKE_BLOCK(self->fd, 100, 1, 1, 0);
	MAKE_BLOCK(self->fd, 5000, 2, 2, 100);
	ASSERT_OK(ioctl(self->fd, VMM_IOC_ALLOC, &m));
	ASSERT_EQ(3ULL, m.id);
	ASSERT_EQ(8192ULL, m.offset);
	vmm_fill(wbuf, 4096, 3);
	ASSERT_OK(vmm_write(self->fd, 3, 0, wbuf, 4096));
	ASSERT_OK(vmm_free(self->fd, 2));
	ASSERT_OK(vmm_stats(self->fd, &before));

	ASSERT_EQ(0, fi_arm(FAILSLAB, 1, -1));
	ASSERT_ERR(ENOMEM, FI(vmm_defrag(self->fd, &bytes, &blocks)));
	ASSERT_EQ(0, fi_disarm(FAILSLAB));
	ASSERT_OK(vmm_stats(self->fd, &after));
	ASSERT_STATS_EQ(before, after);
	ASSERT_INTACT(self->fd, 1, 0, 100, 1);
	ASSERT_INTACT(self->fd, 3, 8192, 4096, 3);

	ASSERT_OK(vmm_defrag(self->fd, &bytes, &blocks));
	ASSERT_EQ(4096ULL, bytes);
	ASSERT_EQ(1ULL, blocks);
	ASSERT_INTACT(self->fd, 1, 0, 100, 1);
	ASSERT_INTACT(self->fd, 3, 4096, 4096, 3);
}

TEST_F(fault, defrag_succeeds_under_failslab_and_keeps_order_and_data)
{
	struct vmm_stats_args before, after;
	__u64 bytes = 0, blocks = 0;

	/* 0:4096 4096:3000 7096:8192 15288:100 15388:20000 35388:512 */
	MAKE_BLOCK(self->fd, 4096, 1, 1, 0);
	MAKE_BLOCK(self->fd, 3000, 2, 2, 4096);
	MAKE_BLOCK(self->fd, 8192, 3, 3, 7096);
	MAKE_BLOCK(self->fd, 100, 4, 4, 15288);
	MAKE_BLOCK(self->fd, 20000, 5, 5, 15388);
	MAKE_BLOCK(self->fd, 512, 6, 6, 35388);
	ASSERT_OK(vmm_free(self->fd, 2));
	ASSERT_OK(vmm_free(self->fd, 4));
	ASSERT_OK(vmm_stats(self->fd, &before));

	/*
	 * Every allocation fails, but only one may: times still 1 afterwards
	 * proves DEFRAG did not even try to allocate.
	 */
	ASSERT_EQ(0, fi_arm(FAILSLAB, 1, 1));
	ASSERT_OK(FI(vmm_defrag(self->fd, &bytes, &blocks)));
	ASSERT_EQ(1, fi_readl(FAILSLAB, "times"))
		TH_LOG("DEFRAG allocated memory");
	/* A second pass, already compact, under the same regime. */
	ASSERT_OK(FI(vmm_defrag(self->fd, NULL, NULL)));
	ASSERT_EQ(1, fi_readl(FAILSLAB, "times"));
	ASSERT_EQ(0, fi_disarm(FAILSLAB));

	ASSERT_EQ(8192ULL + 20000 + 512, bytes);
	ASSERT_EQ(3ULL, blocks);
	ASSERT_INTACT(self->fd, 1, 0, 4096, 1);
	ASSERT_INTACT(self->fd, 3, 4096, 8192, 3);
	ASSERT_INTACT(self->fd, 5, 12288, 20000, 5);
	ASSERT_INTACT(self->fd, 6, 32288, 512, 6);
	ASSERT_OK(vmm_stats(self->fd, &after));
	ASSERT_EQ(32800ULL, after.used);
	ASSERT_EQ(ARENA - 32800, after.free);
	ASSERT_EQ(ARENA - 32800, after.largest_free);
	ASSERT_EQ(0ULL, after.fragmentation);
	ASSERT_EQ(4ULL, after.blocks);
	ASSERT_EQ(before.defrags + 2, after.defrags);
	ASSERT_EQ(before.bytes_moved + 28704, after.bytes_moved);
	ASSERT_EQ(before.allocs, after.allocs);
	ASSERT_EQ(before.frees, after.frees);
	/* The free space is one range at the end. */
	ALLOC_AT(self->fd, ARENA - 32800, 0, 7, 32800);
}

TEST_F(fault, nonallocating_calls_succeed_under_failslab)
{
	struct vmm_stats_args st;
	__u64 off = 1, size = 1;
	int fd2;

	MAKE_BLOCK(self->fd, 4096, 1, 1, 0);
	MAKE_BLOCK(self->fd, 4096, 2, 2, 4096);
	fd2 = open(VMM_DEV, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, fd2);

	ASSERT_EQ(0, fi_arm(FAILSLAB, 1, 1));
	ASSERT_OK(FI(vmm_info(self->fd, 2, &off, &size)));
	ASSERT_OK(FI(vmm_stats(self->fd, &st)));
	vmm_fill(wbuf, 4096, 7);
	ASSERT_OK(FI(vmm_write(self->fd, 2, 0, wbuf, 4096)));
	ASSERT_OK(FI(vmm_read(self->fd, 2, 0, rbuf, 4096)));
	ASSERT_EQ(0, memcmp(rbuf, wbuf, 4096));
	ASSERT_OK(FI(vmm_select(fd2, 1)));
	ASSERT_EQ(100, FI(pwrite(fd2, wbuf, 100, 10)));
	ASSERT_EQ(4096, FI(pread(fd2, rbuf, 4096, 0)));
	ASSERT_EQ(4000, FI(lseek(fd2, 4000, SEEK_SET)));
	ASSERT_EQ(96, FI(read(fd2, rbuf + 4096, 200)));
	/* Changing a mode, or the owner to one who owns a block already. */
	ASSERT_OK(FI(ioctl(self->fd, VMM_IOC_CHMOD,
			   &(struct vmm_chmod_args){ .id = 1, .mode = 0600 })));
	ASSERT_OK(FI(ioctl(self->fd, VMM_IOC_CHOWN,
			   &(struct vmm_chown_args){ .id = 2, .uid = 0,
						     .gid = 5 })));
	ASSERT_EQ(1, fi_readl(FAILSLAB, "times"))
		TH_LOG("a call that allocates nothing allocated");
	ASSERT_EQ(0, fi_disarm(FAILSLAB));
	close(fd2);

	ASSERT_EQ(4096ULL, off);
	ASSERT_EQ(4096ULL, size);
	ASSERT_EQ(2ULL, st.blocks);
	ASSERT_EQ(8192ULL, st.used);
	/* Block 1: pattern 1 with wbuf[0..100) at 10. */
	vmm_fill(wbuf, 4096, 1);
	vmm_fill(rbuf, 100, 7);
	memcpy(wbuf + 10, rbuf, 100);
	ASSERT_OK(vmm_read(self->fd, 1, 0, rbuf, 4096));
	ASSERT_EQ(0, memcmp(rbuf, wbuf, 4096));
	ASSERT_INTACT(self->fd, 2, 4096, 4096, 7);
}

TEST_F(fault, open_fails_enomem_or_succeeds_at_each_slab_alloc)
{
	struct vmm_stats_args st;
	int fd2, enomem = 0;
	unsigned long k;

	for (k = 1; k <= 12; k++) {
		ASSERT_EQ(0, fi_arm_nth(FAILSLAB, k));
		fd2 = FI(open(VMM_DEV, O_RDWR | O_CLOEXEC));
		if (fd2 < 0) {
			ASSERT_EQ(ENOMEM, errno) TH_LOG("k=%lu: %s", k,
							strerror(errno));
			enomem++;
			continue;
		}
		ASSERT_EQ(0, fi_disarm(FAILSLAB));
		ASSERT_OK(vmm_stats(fd2, &st));
		ASSERT_EQ(ARENA, st.size);
		close(fd2);
	}
	ASSERT_EQ(0, fi_disarm(FAILSLAB));
	ASSERT_LT(0, enomem);
}

/*
 * ALLOC and DEFRAG check that their argument struct can be written back
 * before doing anything: with a read-only struct they fail with EFAULT,
 * not ENOMEM, even with every allocation failing, and allocate nothing.
 */
TEST_F(fault, alloc_and_defrag_check_args_before_allocating)
{
	long pg = sysconf(_SC_PAGESIZE);
	struct vmm_stats_args before, after;
	struct vmm_defrag_args *dro;
	struct vmm_alloc_args *ro;
	char *page;

	MAKE_BLOCK(self->fd, 4096, 1, 1, 0);
	MAKE_BLOCK(self->fd, 4096, 2, 2, 4096);
	ASSERT_OK(vmm_free(self->fd, 1));
	page = mmap(NULL, pg, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, page);
	memset(page, 0, pg);
	ro = (struct vmm_alloc_args *)page;
	ro->size = 4096;
	dro = (struct vmm_defrag_args *)(page + pg / 2);
	ASSERT_OK(mprotect(page, pg, PROT_READ));
	ASSERT_OK(vmm_stats(self->fd, &before));

	ASSERT_EQ(0, fi_arm(FAILSLAB, 1, 1));
	ASSERT_ERR(EFAULT, FI(ioctl(self->fd, VMM_IOC_ALLOC, ro)));
	ASSERT_ERR(EFAULT, FI(ioctl(self->fd, VMM_IOC_DEFRAG, dro)));
	ASSERT_EQ(1, fi_readl(FAILSLAB, "times"))
		TH_LOG("a call with a read-only argument allocated");
	ASSERT_EQ(0, fi_disarm(FAILSLAB));

	ASSERT_OK(vmm_stats(self->fd, &after));
	ASSERT_STATS_EQ(before, after);
	ASSERT_INTACT(self->fd, 2, 4096, 4096, 2);
	munmap(page, pg);
	/* IDs 3... were not consumed. */
	ALLOC_AT(self->fd, 100, 0, 3, 0);
}

/*
 * The one ALLOC path that frees: the result could not be copied out
 * because another thread made the argument struct read-only after ALLOC
 * checked it.  Nobody learnt the ID, so ALLOC frees the block, and that
 * free allocates.  With that allocation failing the block must still not
 * stay behind.  A second thread write-protects the struct after an
 * adaptive delay; attempts go on until the window is hit a few times
 * (SKIP if it never is).
 */
struct race {
	struct vmm_alloc_args *args;	/* alone in its page */
	long pg;
	unsigned long delay;		/* spins before mprotect() */
	int go;				/* 1: protect after the delay */
	int done;			/* 1: protected */
	int stop;
};

static void *race_protector(void *p)
{
	struct race *r = p;
	unsigned long i;

	for (;;) {
		while (!__atomic_load_n(&r->go, __ATOMIC_ACQUIRE))
			if (__atomic_load_n(&r->stop, __ATOMIC_ACQUIRE))
				return NULL;
		for (i = 0; i < r->delay; i++)
			__asm__ volatile("" ::: "memory");
		mprotect(r->args, r->pg, PROT_READ);
		__atomic_store_n(&r->go, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&r->done, 1, __ATOMIC_RELEASE);
	}
}

TEST_F(fault, alloc_undo_leaves_no_block_under_failslab)
{
	struct vmm_stats_args before, after;
	int early = 0, late = 0, hits = 0, attempt;
	__u64 size;
	unsigned long k_undo;
	struct race r = { 0 };
	double t0 = now_s();
	pthread_t thr;
	long ret;
	int err;

	/*
	 * Fail the first allocation after ALLOC's own: if undoing an ALLOC
	 * whose result cannot be copied out allocated anything, that
	 * allocation fails, and the block must not stay behind regardless.
	 */
	alloc_sweep_positions(_metadata, self->fd, 0, 0, &k_undo);

	r.pg = sysconf(_SC_PAGESIZE);
	r.args = mmap(NULL, r.pg, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, r.args);
	ASSERT_EQ(0, pthread_create(&thr, NULL, race_protector, &r));
	size = ARENA / 2;	/* zeroed inside the window: make it long */

	for (attempt = 0; attempt < 400 && hits < 3 && now_s() - t0 < 20;
	     attempt++) {
		ASSERT_OK(mprotect(r.args, r.pg, PROT_READ | PROT_WRITE));
		memset(r.args, 0, sizeof(*r.args));
		r.args->size = size;
		ASSERT_OK(vmm_stats(self->fd, &before));
		ASSERT_EQ(0, fi_arm_nth(FAILSLAB, k_undo));
		__atomic_store_n(&r.done, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&r.go, 1, __ATOMIC_RELEASE);
		ret = FI(ioctl(self->fd, VMM_IOC_ALLOC, r.args));
		err = errno;
		while (!__atomic_load_n(&r.done, __ATOMIC_ACQUIRE))
			;
		ASSERT_EQ(0, fi_disarm(FAILSLAB));
		ASSERT_OK(vmm_stats(self->fd, &after));
		if (ret == 0) {
			/* Protected too late: a normal allocation. */
			late++;
			r.delay /= 2;
			ASSERT_OK(vmm_free(self->fd, r.args->id));
			continue;
		}
		ASSERT_TRUE(err == EFAULT || err == ENOMEM)
			TH_LOG("attempt %d: %s", attempt, strerror(err));
		if (err == EFAULT && after.allocs == before.allocs) {
			/* Protected before ALLOC's check: nothing done. */
			early++;
			r.delay = r.delay * 2 + 64;
			continue;
		}
		if (err != EFAULT)
			continue;
		hits++;
		EXPECT_EQ(before.blocks, after.blocks)
			TH_LOG("attempt %d: ALLOC failed with EFAULT after allocating, its undo FREE %s, and %llu more block(s) stayed behind (%llu bytes)",
			       attempt, fi_injected(FAILSLAB) ?
			       "had an allocation failed" : "was not injected",
			       (unsigned long long)(after.blocks - before.blocks),
			       (unsigned long long)(after.used - before.used));
		EXPECT_EQ(before.used, after.used);
		if (after.blocks != before.blocks) {
			attempt++;
			break;
		}
	}
	__atomic_store_n(&r.stop, 1, __ATOMIC_RELEASE);
	pthread_join(thr, NULL);
	munmap(r.args, r.pg);
	TH_LOG("%d attempts: %d too early, %d too late, %d in the window (%.1fs)",
	       attempt, early, late, hits, now_s() - t0);
	if (!hits)
		VMM_SKIP(return, "the window between ALLOC's check and its copy-out was never hit");
}

/* ---- the sweep: a cycle of calls with the N-th allocation failing */

#define SWEEP_N		16
#define MAX_BLOCKS	48

struct mblock {
	__u64 id;
	__u64 size;
	unsigned int seed;
	bool written;		/* else all zeros */
};

struct model {
	struct mblock b[MAX_BLOCKS];	/* live blocks by increasing ID */
	int n;
	__u64 next_id;
	__u64 used;
	__u64 allocs;
	__u64 frees;
};

static void model_add(struct model *m, __u64 id, __u64 size,
		      unsigned int seed)
{
	m->b[m->n].id = id;
	m->b[m->n].size = size;
	m->b[m->n].seed = seed;
	m->b[m->n].written = false;
	m->n++;
	m->used += size;
	m->allocs++;
}

static void model_del(struct model *m, int i)
{
	m->used -= m->b[i].size;
	m->frees++;
	memmove(&m->b[i], &m->b[i + 1], (m->n - i - 1) * sizeof(m->b[0]));
	m->n--;
}

/* What block @b must hold, into wbuf. */
static void model_bytes(const struct mblock *b)
{
	if (b->written)
		vmm_fill(wbuf, b->size, b->seed);
	else
		memset(wbuf, 0, b->size);
}

/*
 * The kernel agrees with @m: LIST reports exactly its blocks, each has
 * its size and bytes, the blocks are packed from 0 (a DEFRAG ended the
 * cycle) and the counters match.
 */
static void check_model(struct __test_metadata *_metadata, int fd,
			const struct model *m, __u64 base_allocs,
			__u64 base_frees, unsigned long n)
{
	struct vmm_stats_args st;
	__u64 next = 1, end = 0, off, size;
	__u32 count = 0;
	int i;

	ASSERT_OK(vmm_list(fd, 0, lbuf, 64, &count, &next));
	ASSERT_EQ((__u32)m->n, count) TH_LOG("N=%lu: block count", n);
	ASSERT_EQ(0ULL, next);
	for (i = 0; i < m->n; i++) {
		const struct mblock *b = &m->b[i];

		ASSERT_EQ(b->id, lbuf[i].id) TH_LOG("N=%lu: LIST entry %d", n, i);
		ASSERT_EQ(b->size, lbuf[i].size);
		ASSERT_OK(vmm_info(fd, b->id, &off, &size));
		ASSERT_EQ(b->size, size);
		ASSERT_EQ(lbuf[i].offset, off);
		if (off + size > end)
			end = off + size;
		memset(rbuf, 0xa5, b->size);
		ASSERT_OK(vmm_read(fd, b->id, 0, rbuf, b->size));
		model_bytes(b);
		ASSERT_EQ(0, memcmp(rbuf, wbuf, b->size))
			TH_LOG("N=%lu: block %llu lost its data", n,
			       (unsigned long long)b->id);
	}
	ASSERT_OK(vmm_stats(fd, &st));
	ASSERT_EQ((__u64)m->n, st.blocks);
	ASSERT_EQ(m->used, st.used);
	ASSERT_EQ(m->used, end) TH_LOG("N=%lu: blocks not packed after DEFRAG", n);
	ASSERT_EQ(ARENA - m->used, st.largest_free);
	ASSERT_EQ(base_allocs + m->allocs, st.allocs);
	ASSERT_EQ(base_frees + m->frees, st.frees);
	ASSERT_EQ(0ULL, st.alloc_failures);
}

/* Record one call of the cycle: success, or ENOMEM (counted). */
#define SWEEP_CALL(what, call) ({ \
	long __sr = FI(call); \
	int __se = errno; \
	if (__sr < 0) { \
		ASSERT_EQ(ENOMEM, __se) \
			TH_LOG("N=%lu: %s: %s", n, what, strerror(__se)); \
		enomem++; \
		strncat(failed, " " what, sizeof(failed) - strlen(failed) - 1); \
	} \
	__sr; \
})

TEST_F(fault, sweep_survives_nth_slab_alloc_failure)
{
	struct vmm_stats_args st0;
	int seen_alloc = 0, seen_list = 0, clean = 0;
	struct model *m;
	unsigned long n;

	m = calloc(1, sizeof(*m));
	ASSERT_NE(NULL, m);
	m->next_id = 1;
	ASSERT_OK(vmm_stats(self->fd, &st0));

	for (n = 1; n <= SWEEP_N; n++) {
		char failed[128] = "";
		__u64 id, off, next;
		int enomem = 0, i;
		__u32 count;
		bool injected;
		long r;

		ASSERT_EQ(0, fi_arm_nth(FAILSLAB, n)) TH_LOG("arming N=%lu", n);

		/* Two allocations, each written and read back. */
		for (i = 0; i < 2; i++) {
			__u64 size = 256 + 97 * n + 1000 * i;
			unsigned int seed = 100 * n + i;

			r = SWEEP_CALL("alloc", vmm_alloc(self->fd, size,
							  i ? 64 : 0, &id, &off));
			if (r)
				continue;
			ASSERT_EQ(m->next_id, id) TH_LOG("N=%lu: an ID was consumed", n);
			m->next_id++;
			ASSERT_LT(m->n, MAX_BLOCKS);
			model_add(m, id, size, seed);
			vmm_fill(wbuf, size, seed);
			if (!SWEEP_CALL("write", vmm_write(self->fd, id, 0,
							    wbuf, size)))
				m->b[m->n - 1].written = true;
			memset(rbuf, 0xa5, size);
			if (!SWEEP_CALL("read", vmm_read(self->fd, id, 0,
							  rbuf, size))) {
				model_bytes(&m->b[m->n - 1]);
				ASSERT_EQ(0, memcmp(rbuf, wbuf, size));
			}
		}

		/* A listing of the first few. */
		count = 0;
		next = 0;
		if (!SWEEP_CALL("list", vmm_list(self->fd, 0, lbuf, 8, &count,
						 &next))) {
			ASSERT_EQ((__u32)(m->n < 8 ? m->n : 8), count);
			for (i = 0; i < (int)count; i++) {
				ASSERT_EQ(m->b[i].id, lbuf[i].id);
			}
		}

		/* Free the oldest block, then compact. */
		if (m->n > 0 &&
		    !SWEEP_CALL("free", vmm_free(self->fd, m->b[0].id)))
			model_del(m, 0);
		SWEEP_CALL("defrag", vmm_defrag(self->fd, NULL, NULL));

		injected = fi_injected(FAILSLAB);
		ASSERT_EQ(0, fi_disarm(FAILSLAB));
		if (getenv("VMM_FAULT_VERBOSE"))
			TH_LOG("N=%lu: %s%s", n, injected ? "injected" : "not reached",
			       enomem ? failed : "");
		ASSERT_GE(1, enomem) TH_LOG("N=%lu: one failure, several ENOMEM:%s",
					    n, failed);
		if (enomem) {
			ASSERT_TRUE(injected);
		}
		ASSERT_FALSE(strstr(failed, "defrag") || strstr(failed, "read") ||
			     strstr(failed, "write") || strstr(failed, "free"))
			TH_LOG("N=%lu: a call that allocates nothing failed:%s",
			       n, failed);
		seen_alloc += !!strstr(failed, "alloc");
		seen_list += !!strstr(failed, "list");
		clean += !injected;

		check_model(_metadata, self->fd, m, st0.allocs, st0.frees, n);
	}
	/* Every allocating call was hit, and the sweep ran past the cycle. */
	EXPECT_LT(0, seen_alloc);
	EXPECT_LT(0, seen_list);
	EXPECT_LT(0, clean) TH_LOG("N=%d did not cover the whole cycle", SWEEP_N);
	free(m);
}

/* ---- module loads */

struct load_result {
	int status;	/* of the child, from waitpid() */
	int ret;	/* init_module()'s */
	int err;	/* its errno */
	long counted;	/* count mode: allocations seen by fail-nth */
	long times;	/* inject mode: the knob afterwards; 0 = injected */
};

/* What the kernel log said during one attempt. */
struct kmsg_scan {
	int reports;
	bool arena_failed;	/* vmm: cannot allocate a ...-byte arena */
	bool register_failed;	/* vmm: cannot register /dev/vmm */
	bool mapping_failed;	/* vmm: cannot create the address space */
	bool batch_failed;	/* vmm: cannot allocate the batch buffers */
	bool cache_failed;	/* kmem_cache_create(vmm_...) failed */
	char first_report[200];
};

/* Kernel report headers, as in scripts/vm. */
static const char *const kmsg_report_patterns[] = {
	"BUG: ", "kernel BUG at ", "WARNING: ", "Oops", "general protection",
	"Kernel panic", "Call Trace:", "UBSAN: ", "KASAN: ",
	"possible recursive locking", "circular locking dependency",
	"inconsistent lock state", "suspicious RCU usage",
	"sleeping function called from invalid context",
	"scheduling while atomic", "suspected memory leak", "refcount_t: ",
	"list_add corruption", "list_del corruption",
};

/* Read the records logged since the last call (or the open). */
static void kmsg_scan(int fd, struct kmsg_scan *s)
{
	char rec[2048], *msg;
	int dump_left = 0;
	ssize_t n;
	size_t i;

	memset(s, 0, sizeof(*s));
	if (fd < 0)
		return;
	for (;;) {
		n = read(fd, rec, sizeof(rec) - 1);
		if (n < 0 && errno == EPIPE)
			continue;	/* overwritten records */
		if (n <= 0)
			break;
		rec[n] = '\0';
		msg = strchr(rec, ';');
		if (!msg)
			continue;
		msg++;
		msg[strcspn(msg, "\n")] = '\0';
		if (strstr(msg, "vmm: cannot allocate a"))
			s->arena_failed = true;
		if (strstr(msg, "vmm: cannot register /dev/vmm"))
			s->register_failed = true;
		if (strstr(msg, "vmm: cannot create the address space"))
			s->mapping_failed = true;
		if (strstr(msg, "vmm: cannot allocate the batch buffers"))
			s->batch_failed = true;
		/*
		 * The slab allocator dumps the stack after a failed cache
		 * creation, by design; scripts/vm passes the dump after
		 * vmm's own caches' too (KERNEL_CACHE_FAILED).
		 */
		if (strstr(msg, "kmem_cache_create") &&
		    (strstr(msg, "(vmm_block) failed with error -12") ||
		     strstr(msg, "(vmm_block) failed with error -22") ||
		     strstr(msg, "(vmm_extent) failed with error -12") ||
		     strstr(msg, "(vmm_extent) failed with error -22"))) {
			s->cache_failed = true;
			dump_left = 6;
			continue;
		}
		if (dump_left > 0 && dump_left-- && strstr(msg, "Call Trace:")) {
			dump_left = 0;
			continue;
		}
		for (i = 0; i < ARRAY_SIZE(kmsg_report_patterns); i++) {
			if (!strstr(msg, kmsg_report_patterns[i]))
				continue;
			if (!s->reports++)
				snprintf(s->first_report,
					 sizeof(s->first_report), "%s", msg);
			break;
		}
	}
}

#define NTH_BUDGET	1000000UL
#define TIMES_MANY	1000000L

enum load_mode {
	LOAD_COUNT,	/* fail-nth counts @dir's allocations; none fails */
	LOAD_NTH,	/* interval=@arg, times=1: the @arg-th one fails */
	LOAD_SPACE,	/* space=INT_MAX: what the load consumes; none fails */
	LOAD_PAST,	/* space=@arg, interval=1: every one past it fails */
};

/*
 * The child of one load attempt: init_module(@img, "size=@size") in
 * @mode.  Reports through @res, which is shared with the parent; never
 * returns, and never uses the harness (an ASSERT would longjmp into the
 * parent's test in this process).
 */
static void __attribute__((noreturn))
load_child(struct load_result *res, const void *img, size_t len,
	   const char *size, const char *dir, enum load_mode mode,
	   unsigned long arg)
{
	volatile char stack[64 * 1024];
	char params[64], buf[32];
	unsigned long left;
	size_t i;
	ssize_t n;
	long r;
	int nfd, e;

	/*
	 * fork() left every page copy-on-write and the program's text
	 * unmapped: fault it all in now, so that nothing allocates (or
	 * fails) for a page fault inside the load.
	 */
	for (i = 0; i < sizeof(stack); i += 256)
		stack[i] = 0;
	res->ret = -1;
	res->err = 0;
	res->counted = -1;
	res->times = -1;
	if (mlockall(MCL_CURRENT))
		_exit(9);
	snprintf(params, sizeof(params), "size=%s", size);
	mif_fd = open(MIF_PATH, O_WRONLY | O_CLOEXEC);
	if (mif_fd < 0)
		_exit(10);

	switch (mode) {
	case LOAD_COUNT:
		nfd = open(FAIL_NTH_PATH, O_RDWR | O_CLOEXEC);
		if (nfd < 0)
			_exit(11);
		snprintf(buf, sizeof(buf), "%lu", NTH_BUDGET);
		if (write(nfd, buf, strlen(buf)) < 0)
			_exit(12);
		r = syscall(SYS_init_module, img, len, params);
		e = errno;
		n = pread(nfd, buf, sizeof(buf) - 1, 0);
		if (n <= 0 || write(nfd, "0", 1) != 1)
			_exit(13);
		buf[n] = '\0';
		left = strtoul(buf, NULL, 10);
		res->counted = left ? (long)(NTH_BUDGET - left) : -1;
		break;
	case LOAD_NTH:
		if (fi_arm_nth(dir, arg))
			_exit(14);
		mif_set(true);
		r = syscall(SYS_init_module, img, len, params);
		e = errno;
		mif_set(false);
		res->times = fi_readl(dir, "times");
		fi_disarm(dir);
		break;
	case LOAD_SPACE:
	case LOAD_PAST:
		if (fi_disarm(dir) ||
		    fi_writel(dir, "space", mode == LOAD_SPACE ? INT_MAX :
			      (long)arg) ||
		    fi_arm(dir, 1, mode == LOAD_SPACE ? 1 : TIMES_MANY))
			_exit(15);
		mif_set(true);
		r = syscall(SYS_init_module, img, len, params);
		e = errno;
		mif_set(false);
		fi_disarm(dir);
		res->counted = INT_MAX - fi_readl(dir, "space");
		res->times = fi_readl(dir, "times");
		if (fi_write(dir, "space", "0"))
			_exit(16);
		break;
	default:
		_exit(17);
	}
	res->ret = (int)r;
	res->err = r ? e : 0;
	_exit(0);
}

FIXTURE(load) {
	const char *arena_str;		/* size= of the loads */
	__u64 arena;
	void *img;
	size_t len;
	int kmsg;
	struct load_result *res;
};

FIXTURE_SETUP(load)
{
	const char *why = fi_skip_reason();
	char path[256];
	struct utsname u;
	struct stat sb;
	ssize_t n;
	size_t got;
	int fd;

	if (!why)
		why = vmm_skip_reason();
	if (why)
		VMM_SETUP_SKIP("%s", why);
	self->arena_str = ARENA_STR;
	self->arena = ARENA;
	self->kmsg = -1;
	self->img = NULL;
	self->res = MAP_FAILED;
	ASSERT_EQ(0, uname(&u));
	snprintf(path, sizeof(path), "/lib/modules/%s/extra/vmm.ko", u.release);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		VMM_SETUP_SKIP("%s: %s", path, strerror(errno));
	ASSERT_EQ(0, fstat(fd, &sb));
	self->len = sb.st_size;
	self->img = malloc(self->len);
	ASSERT_NE(NULL, self->img);
	for (got = 0; got < self->len; got += n) {
		n = read(fd, (char *)self->img + got, self->len - got);
		ASSERT_LT(0, n) TH_LOG("read %s: %s", path, strerror(errno));
	}
	close(fd);
	self->res = mmap(NULL, sizeof(*self->res), PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->res);
	memset(self->res, 0, sizeof(*self->res));
	self->kmsg = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (self->kmsg >= 0)
		lseek(self->kmsg, 0, SEEK_END);
	ASSERT_OK(mlockall(MCL_CURRENT | MCL_FUTURE));
	vmm_unload_for_reload();
	ASSERT_FALSE(vmm_module_loaded()) TH_LOG("cannot unload vmm");
}

FIXTURE_TEARDOWN(load)
{
	EXPECT_EQ(0, fi_restore_knobs());
	if (self->kmsg >= 0)
		close(self->kmsg);
	if (self->res != MAP_FAILED)
		munmap(self->res, sizeof(*self->res));
	free(self->img);
	/* The module is loaded again as the program found it at exit. */
}

/* A module that just loaded works from a fresh state; then unload it. */
static void check_fresh_module(struct __test_metadata *_metadata,
			       const char *what, __u64 arena)
{
	struct vmm_stats_args st;
	__u64 id = 0, off = 1;
	int fd;

	ASSERT_TRUE(vmm_module_loaded());
	fd = open(VMM_DEV, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, fd) TH_LOG("%s: loaded, but open %s: %s", what, VMM_DEV,
				strerror(errno));
	ASSERT_OK(vmm_stats(fd, &st));
	ASSERT_EQ(arena, st.size) TH_LOG("%s", what);
	ASSERT_EQ(0ULL, st.blocks);
	ASSERT_EQ(arena, st.largest_free);
	ASSERT_EQ(arena, vmm_sysfs("free"));
	ASSERT_OK(vmm_alloc(fd, arena, 0, &id, &off));
	ASSERT_EQ(1ULL, id);
	ASSERT_EQ(0ULL, off);
	ASSERT_OK(vmm_read(fd, id, arena - 4096, rbuf, 4096));
	ASSERT_TRUE(vmm_all(rbuf, 4096, 0));
	vmm_fill(wbuf, 4096, 9);
	ASSERT_OK(vmm_write(fd, id, arena - 4096, wbuf, 4096));
	ASSERT_OK(vmm_read(fd, id, arena - 4096, rbuf, 4096));
	ASSERT_EQ(0, memcmp(rbuf, wbuf, 4096));
	ASSERT_OK(vmm_free(fd, id));
	close(fd);
	ASSERT_EQ(0, syscall(SYS_delete_module, "vmm", O_NONBLOCK))
		TH_LOG("%s: unload: %s", what, strerror(errno));
	ASSERT_FALSE(vmm_module_loaded());
}

struct sweep_stats {
	int attempts;
	int loaded;
	int failed;
	int arena_failed;
	int register_failed;
	int mapping_failed;
	int batch_failed;
	int injected;
};

/*
 * One attempt (see load_child()) and its checks: loaded and working, or
 * failed with ENOMEM and gone; no kernel report either way.
 */
static void load_once(struct __test_metadata *_metadata,
		      FIXTURE_DATA(load) *self, const char *dir,
		      enum load_mode mode, unsigned long arg,
		      const char *size, struct sweep_stats *ss)
{
	static const char *const how[] = {
		[LOAD_COUNT] = "count", [LOAD_NTH] = "N",
		[LOAD_SPACE] = "space", [LOAD_PAST] = "past",
	};
	struct load_result *res = self->res;
	struct kmsg_scan ks;
	bool injected;
	char what[80];
	double t0 = now_s();
	pid_t pid;

	snprintf(what, sizeof(what), "%s %s=%lu size=%s", dir, how[mode], arg,
		 size);
	memset(res, 0, sizeof(*res));
	kmsg_scan(self->kmsg, &ks);	/* skip what came before */
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0)
		load_child(res, self->img, self->len, size, dir, mode, arg);
	ASSERT_EQ(pid, waitpid(pid, &res->status, 0));
	ASSERT_TRUE(WIFEXITED(res->status) && !WEXITSTATUS(res->status))
		TH_LOG("%s: child status %#x", what, res->status);
	kmsg_scan(self->kmsg, &ks);

	injected = (mode == LOAD_NTH && res->times == 0) ||
		   (mode == LOAD_PAST && res->times != TIMES_MANY);
	ss->attempts++;
	ss->injected += injected;
	if (res->ret == 0) {
		ss->loaded++;
		check_fresh_module(_metadata, what, self->arena);
	} else {
		ss->failed++;
		ss->arena_failed += ks.arena_failed;
		ss->register_failed += ks.register_failed;
		ss->mapping_failed += ks.mapping_failed;
		ss->batch_failed += ks.batch_failed;
		/* An arena size of 0 is refused (count_before_caches()). */
		ASSERT_EQ(strcmp(size, "0") ? ENOMEM : EINVAL, res->err)
			TH_LOG("%s: init_module: %s", what, strerror(res->err));
		ASSERT_FALSE(vmm_module_loaded()) TH_LOG("%s", what);
		ASSERT_FALSE(vmm_path_exists(VMM_DEV)) TH_LOG("%s", what);
	}
	if (getenv("VMM_FAULT_VERBOSE") || ks.reports)
		TH_LOG("%s: %s%s%s%s%s (%.2fs)", what,
		       res->ret ? "ENOMEM" : "loaded",
		       ks.arena_failed ? ", arena failed" : "",
		       ks.register_failed ? ", misc_register failed" : "",
		       ks.batch_failed ? ", batch buffers failed" : "",
		       mode == LOAD_NTH || mode == LOAD_PAST ?
		       (injected ? ", injected" : ", not injected") : "",
		       now_s() - t0);
	EXPECT_EQ(0, ks.reports)
		TH_LOG("%s: kernel report: %s", what, ks.first_report);
}

/*
 * What @dir counts (LOAD_COUNT: allocations; LOAD_SPACE: their sizes, in
 * bytes for slabs and pages for pages) in a load that gives up right after
 * vmm_init()'s first kzalloc (an arena larger than RAM), and in a full
 * one.  Page allocations vary from load to load (slab refills, KASAN's
 * stack depot): the larger of two measurements is kept, which keeps the
 * sweep away from the module loader's own allocations.
 */
static void calibrate(struct __test_metadata *_metadata,
		      FIXTURE_DATA(load) *self, const char *dir,
		      enum load_mode mode, long *c_first, long *c_all)
{
	struct sweep_stats ss = { 0 };
	int i;

	*c_first = 0;
	*c_all = 0;
	for (i = 0; i < 2; i++) {
		load_once(_metadata, self, dir, mode, 0, "1T", &ss);
		ASSERT_NE(0, self->res->ret);
		ASSERT_LT(0, self->res->counted) TH_LOG("%s counted nothing", dir);
		if (self->res->counted > *c_first)
			*c_first = self->res->counted;
		load_once(_metadata, self, dir, mode, 0, self->arena_str, &ss);
		ASSERT_EQ(0, self->res->ret);
		ASSERT_LT(0, self->res->counted);
		if (self->res->counted > *c_all)
			*c_all = self->res->counted;
	}
	TH_LOG("%s: a load %s %ld, up to %ld when vmm_init() gives up after its first kzalloc",
	       dir, mode == LOAD_COUNT ? "makes allocations:" : "consumes space:",
	       *c_all, *c_first);
	if (*c_all < *c_first)
		*c_all = *c_first;
}

/*
 * Positions to try: every one from @lo to @lo + @dense - 1, then @sparse
 * more spread evenly up to @hi, then @hi + @beyond.  With
 * VMM_FAULT_FULL, every position from @lo to @hi + 2, then @hi + @beyond.
 */
static int positions(unsigned long *pos, int max, long lo, long hi,
		     int dense, int sparse, long beyond)
{
	long p, step;
	int n = 0, i;

	if (lo < 1)
		lo = 1;
	if (getenv("VMM_FAULT_FULL")) {
		dense = hi + 3 - lo;
		sparse = 0;
	}
	for (p = lo; p < lo + dense && p <= hi + 2 && n < max; p++)
		pos[n++] = p;
	if (p <= hi && sparse > 0) {
		/* Odd, so that kmemleak's positions do not take every sample. */
		step = (hi - p) / sparse + 1;
		step |= 1;
		for (i = 0; i < sparse && p <= hi && n < max; i++, p += step)
			pos[n++] = p;
	}
	if (n < max)
		pos[n++] = hi + beyond;
	return n;
}

static void log_sweep(struct __test_metadata *_metadata, const char *what,
		      const struct sweep_stats *ss, double t0)
{
	TH_LOG("%s: %d loads: %d loaded, %d ENOMEM (arena %d, misc_register %d, mapping %d, batch buffers %d), %d injected (%.1fs)",
	       what, ss->attempts, ss->loaded, ss->failed, ss->arena_failed,
	       ss->register_failed, ss->mapping_failed, ss->batch_failed,
	       ss->injected, now_s() - t0);
}

#define MAX_POSITIONS	512

/*
 * What failslab counts in a load that gives up before vmm_init() creates
 * its slab caches (an arena size of 0 is refused first).
 */
static long count_before_caches(struct __test_metadata *_metadata,
				FIXTURE_DATA(load) *self)
{
	struct sweep_stats ss = { 0 };
	long c = 0;
	int i;

	for (i = 0; i < 2; i++) {
		load_once(_metadata, self, FAILSLAB, LOAD_COUNT, 0, "0", &ss);
		if (self->res->counted > c)
			c = self->res->counted;
	}
	TH_LOG("failslab: up to %ld when vmm_init() gives up before its caches",
	       c);
	return c;
}

TEST_F_TIMEOUT(load, load_module_survives_nth_slab_alloc_failure, 300)
{
	unsigned long pos[MAX_POSITIONS];
	struct sweep_stats ss = { 0 };
	long c_first, c_all, c_pre;
	double t0 = now_s();
	int i, npos;

	ASSERT_EQ(0, fi_setup(FAILSLAB));
	calibrate(_metadata, self, FAILSLAB, LOAD_COUNT, &c_first, &c_all);
	c_pre = count_before_caches(_metadata, self);

	/*
	 * From do_init_module()'s kmalloc just before vmm_init() through
	 * vmm_init()'s first kzalloc into the creation of vmm's slab caches,
	 * then samples of it and of the arena's vmalloc (hundreds of
	 * allocations under SLUB's sysfs and the debug options); then, from
	 * where a load that cannot back its arena gives up, the rest of
	 * vmm_init() and the start of misc_register(), then samples of the
	 * rest, then past the end.  Each count includes the unwinding of the
	 * failed load, hence the margins before them.  A failed cache
	 * creation dumps the stack, and on 6.1 leaks the kobject's name (a
	 * SLUB bug): this test and scripts/vm pass exactly those.
	 */
	npos = positions(pos, MAX_POSITIONS, c_pre - 10, c_first, 24, 16, 0);
	npos += positions(pos + npos, MAX_POSITIONS - npos, c_first - 10, c_all,
			  24, 8, 32);
	for (i = 0; i < npos; i++)
		load_once(_metadata, self, FAILSLAB, LOAD_NTH, pos[i],
			  self->arena_str, &ss);
	log_sweep(_metadata, "failslab interval=N times=1", &ss, t0);

	/* The sweep reached vmm_init()'s allocations and both its error paths. */
	EXPECT_LT(0, ss.arena_failed);
	EXPECT_LT(0, ss.register_failed);
	/* The last position lies past the load: it cannot have failed. */
	EXPECT_EQ(0, self->res->ret);
	EXPECT_NE(0, self->res->times);
}

/*
 * The page allocations of a load vary by several from one load to the
 * next (slab refills, KASAN's stack depot), more than the slab ones, so
 * the arena is large here: its vmalloc() (a bulk call per 100 pages, page
 * tables, KASAN shadow) spans enough positions that the calibrated range
 * lands in it, while starting far enough from the module loader's own.
 */
#define PAGE_ARENA	(16 * MiB)
#define PAGE_ARENA_STR	"16M"

/*
 * How far past the calibrated count the last position of a page sweep
 * lies.  A bulk call that comes back short (its pcp trylock lost to a
 * drain on another CPU, or a zone near its watermark) sends the rest of
 * the arena to one page at a time: a load may then count one page
 * allocation per arena page more than either calibration did.  Twice the
 * arena's pages is past any load.
 */
#define PAGE_PAST(arena)	(2 * (arena) / 4096)

/*
 * Where the loader's pages end is known less well than that.  Under KASAN
 * every vmalloc() range needs shadow pages, which stay until a lazy purge,
 * so the module's own memory costs a load anything from no pages to
 * dozens: across 40 loads that give up right after vmm_init()'s first
 * kzalloc, space=INT_MAX consumed 16 to 89 pages, in two clusters.  A
 * calibration (the larger of two) can fall short of the load under test
 * by more than the 16M arena's whole vmalloc() spans, and a budget that
 * runs out in the loader fails everything after it there: the trace
 * events' module notifier WARNs when it cannot define an event's fields.
 * So the budget sweep starts LOADER_SLACK pages past its calibration, and
 * its arena is large enough that its vmalloc() (a bulk call per 100
 * pages, a page table per 2 MiB, shadow pages) runs several times that
 * far past even the earliest start of vmm_init().  A single failure (the
 * N-th sweep) in the loader's slab refills is absorbed (the slab
 * allocator tries again at its minimum order), so that sweep keeps its
 * start and its 16M arena.
 */
#define SPACE_ARENA	(128 * MiB)
#define SPACE_ARENA_STR	"128M"
#define LOADER_SLACK	128

TEST_F_TIMEOUT(load, load_module_survives_page_alloc_failures, 300)
{
	unsigned long pos[MAX_POSITIONS];
	struct sweep_stats ss = { 0 };
	long c_first, c_all;
	double t0 = now_s();
	int i, npos;

	ASSERT_EQ(0, fi_setup(FAILPAGE));
	self->arena_str = PAGE_ARENA_STR;
	self->arena = PAGE_ARENA;

	/*
	 * One failure, the N-th page allocation.  vmalloc() gets its pages
	 * in bulk and falls back to one page at a time, so one failure in
	 * the arena's pages is absorbed; one in its page tables or KASAN
	 * shadow is not.
	 */
	calibrate(_metadata, self, FAILPAGE, LOAD_COUNT, &c_first, &c_all);
	/* Past the slab caches' creation (see above): their pages too. */
	npos = positions(pos, MAX_POSITIONS, c_first + 1, c_all, 16, 6,
			 PAGE_PAST(PAGE_ARENA));
	for (i = 0; i < npos; i++)
		load_once(_metadata, self, FAILPAGE, LOAD_NTH, pos[i],
			  self->arena_str, &ss);
	log_sweep(_metadata, "fail_page_alloc interval=N times=1", &ss, t0);
	EXPECT_LT(0, ss.injected);
	/* The last position lies past the load: it cannot have failed. */
	EXPECT_EQ(0, self->res->ret)
		TH_LOG("N=%lu, past %ld: %s", pos[npos - 1], c_all,
		       strerror(self->res->err));
	EXPECT_NE(0, self->res->times) TH_LOG("N=%lu was reached", pos[npos - 1]);

	/*
	 * Every page allocation past a budget fails (space=B, interval=1,
	 * times large): from somewhere in vmm_init() on, so the arena's
	 * pages, bulk and one by one, cannot be had.  The budget is in
	 * pages, counted from the start of the load, and starts past the
	 * loader (LOADER_SLACK).
	 */
	memset(&ss, 0, sizeof(ss));
	t0 = now_s();
	self->arena_str = SPACE_ARENA_STR;
	self->arena = SPACE_ARENA;
	calibrate(_metadata, self, FAILPAGE, LOAD_SPACE, &c_first, &c_all);
	npos = positions(pos, MAX_POSITIONS, c_first + LOADER_SLACK, c_all, 12, 4,
			 PAGE_PAST(SPACE_ARENA));
	for (i = 0; i < npos; i++)
		load_once(_metadata, self, FAILPAGE, LOAD_PAST, pos[i],
			  self->arena_str, &ss);
	log_sweep(_metadata, "fail_page_alloc space=B interval=1", &ss, t0);
	/* The arena's vmalloc failed; every load that failed did in vmm_init(). */
	EXPECT_LT(0, ss.arena_failed);
	EXPECT_EQ(ss.failed,
		  ss.arena_failed + ss.mapping_failed + ss.register_failed +
		  ss.batch_failed);
	/* The last budget lies past the load: nothing failed. */
	EXPECT_EQ(0, self->res->ret)
		TH_LOG("space=%lu, past %ld: %s", pos[npos - 1], c_all,
		       strerror(self->res->err));
	EXPECT_EQ(TIMES_MANY, self->res->times)
		TH_LOG("space=%lu: consumed %ld", pos[npos - 1],
		       self->res->counted);
}

TEST_HARNESS_MAIN
