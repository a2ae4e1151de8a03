// SPDX-License-Identifier: GPL-2.0
/*
 * Races between files and threads: the header's promises that hold while
 * other tasks allocate, free, copy and defragment at the same time.  Each
 * test runs for a bounded time; helper threads only record what they saw
 * and the test thread asserts on it after joining them.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <time.h>

#include "vmm_util.h"

#define ARENA		(4 * MiB)
#define ARENA_STR	"4M"
#define RUN_MS		1500

FIXTURE(race) {
	int fd;
};

FIXTURE_SETUP(race)
{
	VMM_SETUP_RELOAD(ARENA_STR, &self->fd);
}

FIXTURE_TEARDOWN(race)
{
	if (self->fd >= 0)
		close(self->fd);
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* ---- LIST while other threads allocate and free */

struct churn {
	int fd;
	atomic_bool stop;
	atomic_long errors;	/* unexpected ioctl failures */
	atomic_long rounds;
};

static void *churn_thread(void *arg)
{
	struct churn *c = arg;
	__u64 ids[32] = { 0 };
	unsigned int i = 0;

	while (!atomic_load(&c->stop)) {
		unsigned int slot = i++ % 32;

		if (ids[slot] && vmm_free(c->fd, ids[slot]))
			atomic_fetch_add(&c->errors, 1);
		ids[slot] = 0;
		if (vmm_alloc(c->fd, 1 + i % 512, 0, &ids[slot], NULL))
			atomic_fetch_add(&c->errors, 1);
		atomic_fetch_add(&c->rounds, 1);
	}
	for (i = 0; i < 32; i++)
		if (ids[i])
			vmm_free(c->fd, ids[i]);
	return NULL;
}

TEST_F(race, list_sees_stable_blocks_during_alloc_free_churn)
{
	enum { STABLE = 64 };
	struct vmm_block_info *e = calloc(VMM_LIST_MAX, sizeof(*e));
	struct churn c = { .fd = self->fd };
	pthread_t th;
	long long end;
	long lists = 0, bad = 0;
	__u64 i;

	ASSERT_NE(NULL, e);
	for (i = 1; i <= STABLE; i++)
		ALLOC_AT(self->fd, 100, 0, i, (i - 1) * 100);
	ASSERT_EQ(0, pthread_create(&th, NULL, churn_thread, &c));
	end = now_ms() + RUN_MS;
	/* Past RUN_MS (by up to 10 s) only until both sides have run. */
	while (now_ms() < end ||
	       ((!lists || !atomic_load(&c.rounds)) &&
		now_ms() < end + 10000)) {
		__u32 count = 0;

		if (vmm_list(self->fd, 0, e, VMM_LIST_MAX, &count, NULL)) {
			bad++;
			continue;
		}
		lists++;
		/* IDs 1..STABLE are the lowest live ones: always first. */
		if (count < STABLE) {
			bad++;
			continue;
		}
		for (i = 0; i < STABLE; i++)
			if (e[i].id != i + 1 || e[i].offset != i * 100 ||
			    e[i].size != 100)
				break;
		if (i != STABLE)
			bad++;
	}
	atomic_store(&c.stop, true);
	pthread_join(th, NULL);
	free(e);
	TH_LOG("%ld lists against %ld alloc/free rounds", lists,
	       atomic_load(&c.rounds));
	EXPECT_EQ(0, bad) TH_LOG("%ld lists missed or garbled stable blocks",
				 bad);
	EXPECT_EQ(0, atomic_load(&c.errors));
	/* Both sides ran (RUN_MS is long enough for them to overlap). */
	EXPECT_LT(0, lists);
	EXPECT_LT(0, atomic_load(&c.rounds));
	EXPECT_EQ((__u64)STABLE, vmm_sysfs("blocks"));
}

/* ---- ALLOC from several threads at once */

#define ALLOCERS	4
#define PER_THREAD	400

struct allocer {
	int fd;
	unsigned int seed;
	__u64 ids[PER_THREAD];
	__u64 sizes[PER_THREAD];
	int errors;
};

static void *alloc_thread(void *arg)
{
	struct allocer *a = arg;
	int i;

	for (i = 0; i < PER_THREAD; i++) {
		a->sizes[i] = 1 + rand_r(&a->seed) % 1000;
		if (vmm_alloc(a->fd, a->sizes[i], 0, &a->ids[i], NULL))
			a->errors++;
	}
	return NULL;
}

static int cmp_offset(const void *x, const void *y)
{
	const struct vmm_block_info *a = x, *b = y;

	return a->offset < b->offset ? -1 : a->offset > b->offset;
}

TEST_F(race, concurrent_allocs_get_unique_ids_and_disjoint_ranges)
{
	static struct allocer a[ALLOCERS];
	struct vmm_block_info *e = calloc(VMM_LIST_MAX, sizeof(*e));
	pthread_t th[ALLOCERS];
	__u64 used = 0, i;
	__u32 count = 0;
	int t;

	ASSERT_NE(NULL, e);
	for (t = 0; t < ALLOCERS; t++) {
		a[t].fd = open(VMM_DEV, O_RDWR);
		ASSERT_LE(0, a[t].fd);
		a[t].seed = t + 1;
		ASSERT_EQ(0, pthread_create(&th[t], NULL, alloc_thread, &a[t]));
	}
	for (t = 0; t < ALLOCERS; t++) {
		pthread_join(th[t], NULL);
		close(a[t].fd);
		EXPECT_EQ(0, a[t].errors);
		for (i = 0; i < PER_THREAD; i++)
			used += a[t].sizes[i];
	}
	ASSERT_OK(vmm_list(self->fd, 0, e, VMM_LIST_MAX, &count, NULL));
	ASSERT_EQ((__u32)(ALLOCERS * PER_THREAD), count);
	/* IDs are exactly 1..N: unique, none skipped. */
	for (i = 0; i < count; i++)
		ASSERT_EQ(i + 1, e[i].id);
	EXPECT_EQ(used, vmm_sysfs("used"));
	/* Nothing overlaps, and first fit left no gap. */
	qsort(e, count, sizeof(*e), cmp_offset);
	for (i = 1; i < count; i++)
		ASSERT_EQ(e[i - 1].offset + e[i - 1].size, e[i].offset);
	ASSERT_EQ(0ULL, e[0].offset);
	free(e);
}

/* ---- READ racing with FREE and reuse of the range */

#define BIG	(512 * KiB)
#define ROUNDS	400

struct reader {
	int fd;
	atomic_ullong id;	/* block to read; 0 to stop */
	atomic_long reads;	/* successful reads */
	atomic_long torn;	/* successful reads that saw other bytes */
	atomic_long errors;	/* failures other than ENOENT */
	unsigned char want;	/* the byte the current block holds */
	atomic_bool go;
	unsigned char *buf;
};

static void *read_thread(void *arg)
{
	struct reader *r = arg;

	while (1) {
		unsigned char want;
		__u64 id;

		if (!atomic_load(&r->go)) {
			if (!atomic_load(&r->id))
				break;
			sched_yield();
			continue;
		}
		/*
		 * The ID only after go: the main thread stores the new block's
		 * ID before go, so a round never starts on the last one's.
		 */
		id = atomic_load(&r->id);
		want = r->want;
		if (vmm_read(r->fd, id, 0, r->buf, BIG) == 0) {
			atomic_fetch_add(&r->reads, 1);
			/* A read that succeeded saw only this block's bytes. */
			if (!vmm_all(r->buf, BIG, want))
				atomic_fetch_add(&r->torn, 1);
		} else if (errno == ENOENT) {
			/* Freed: wait for the next block. */
			atomic_store(&r->go, false);
		} else {
			atomic_fetch_add(&r->errors, 1);
		}
	}
	return NULL;
}

TEST_F(race, read_racing_free_never_sees_new_owner_data)
{
	static unsigned char fill[BIG];
	struct reader r = { 0 };
	pthread_t th;
	__u64 id;
	int round;

	r.fd = open(VMM_DEV, O_RDWR);
	ASSERT_LE(0, r.fd);
	r.buf = malloc(BIG);
	ASSERT_NE(NULL, r.buf);
	atomic_store(&r.id, UINT64_MAX);
	ASSERT_EQ(0, pthread_create(&th, NULL, read_thread, &r));
	for (round = 0; round < ROUNDS; round++) {
		unsigned char mine = (unsigned char)(1 + round % 254);

		ASSERT_OK(vmm_alloc(self->fd, BIG, 0, &id, NULL));
		memset(fill, mine, BIG);
		ASSERT_OK(vmm_write(self->fd, id, 0, fill, BIG));
		r.want = mine;
		atomic_store(&r.id, id);
		atomic_store(&r.go, true);
		/* 0 to 490 us: free before, during and after copies. */
		usleep(round % 50 * 10);
		/* Free while a copy is likely in flight; then reuse the range. */
		ASSERT_OK(vmm_free(self->fd, id));
		ASSERT_OK(vmm_alloc(self->fd, BIG, 0, &id, NULL));
		memset(fill, 0xff, BIG);
		ASSERT_OK(vmm_write(self->fd, id, 0, fill, BIG));
		ASSERT_OK(vmm_free(self->fd, id));
		while (atomic_load(&r.go))
			usleep(50);
	}
	atomic_store(&r.id, 0);
	pthread_join(th, NULL);
	close(r.fd);
	free(r.buf);
	TH_LOG("%ld successful reads in %d rounds", atomic_load(&r.reads),
	       ROUNDS);
	/*
	 * Something was read, or the race was never run.  (Each round ends
	 * on the reader's ENOENT: the main thread waits for it.)
	 */
	EXPECT_LT(0, atomic_load(&r.reads));
	EXPECT_EQ(0, atomic_load(&r.torn));
	EXPECT_EQ(0, atomic_load(&r.errors));
	EXPECT_EQ(0ULL, vmm_sysfs("blocks"));
	EXPECT_EQ(0ULL, vmm_sysfs("used"));
}

/* ---- WRITE racing with DEFRAG moving the block */

struct writer {
	int fd;
	__u64 id;
	atomic_bool stop;
	atomic_bool hold;	/* the test asks for a pause between writes */
	atomic_bool held;	/* the writer is paused, nothing in flight */
	atomic_int last;	/* last value fully written */
	atomic_long errors;
	unsigned char *buf;
};

static void *write_thread(void *arg)
{
	struct writer *w = arg;
	int v = 0;

	while (!atomic_load(&w->stop)) {
		if (atomic_load(&w->hold)) {
			atomic_store(&w->held, true);
			while (atomic_load(&w->hold) && !atomic_load(&w->stop))
				usleep(100);
			atomic_store(&w->held, false);
			continue;
		}
		v = v % 255 + 1;
		memset(w->buf, v, BIG);
		if (vmm_write(w->fd, w->id, 0, w->buf, BIG))
			atomic_fetch_add(&w->errors, 1);
		else
			atomic_store(&w->last, v);
	}
	return NULL;
}

/*
 * DEFRAG at least once and until it says compact or @deadline passes,
 * adding the bytes moved to *@round and the calls made to *@calls.
 * Return: whether it said compact, or -1 with errno if a call failed.
 */
static int defrag_until_compact(int fd, long long deadline, __u64 *round,
				int *calls)
{
	struct vmm_defrag_args a;

	do {
		memset(&a, 0, sizeof(a));
		if (ioctl(fd, VMM_IOC_DEFRAG, &a))
			return -1;
		*round += a.bytes_moved;
		++*calls;
	} while (!a.compact && now_ms() < deadline);
	return a.compact;
}

TEST_F(race, defrag_keeps_writes_made_while_it_moves_blocks)
{
	enum { SMALL = 4096, NSMALL = 200, ROUND_MS = 500 };
	static unsigned char check[BIG];
	unsigned char b[SMALL];
	struct writer w = { 0 };
	pthread_t th;
	long long end;
	long retries = 0;
	int paused = 0, ret;
	__u64 i, freed = 0, moved = 0, off, last_off;

	/* Blocks 1..NSMALL of SMALL bytes, each holding its ID, then the
	 * big block NSMALL + 1 that a thread keeps rewriting.  Each round
	 * frees the lowest small block, so every defrag must move the big
	 * one down by SMALL while it is being written.
	 */
	for (i = 1; i <= NSMALL; i++) {
		ALLOC_AT(self->fd, SMALL, 0, i, (i - 1) * SMALL);
		memset(b, (int)i, SMALL);
		ASSERT_OK(vmm_write(self->fd, i, 0, b, SMALL));
	}
	ALLOC_AT(self->fd, BIG, 0, NSMALL + 1, NSMALL * SMALL);
	last_off = NSMALL * SMALL;
	w.fd = open(VMM_DEV, O_RDWR);
	ASSERT_LE(0, w.fd);
	w.id = NSMALL + 1;
	w.buf = malloc(BIG);
	ASSERT_NE(NULL, w.buf);
	ASSERT_EQ(0, pthread_create(&th, NULL, write_thread, &w));
	end = now_ms() + RUN_MS;
	/*
	 * Past RUN_MS (by up to 10 s) only while no round has caught the
	 * writer between two writes.
	 */
	while (freed < NSMALL &&
	       (now_ms() < end ||
		(paused == (int)freed && now_ms() < end + 10000))) {
		__u64 round = 0;
		int calls = 0;

		freed++;
		ASSERT_OK(vmm_free(self->fd, freed));
		/*
		 * DEFRAG never waits for the write in flight: it goes around
		 * the big block while it is pinned and says compact 0, and
		 * the caller calls again until it catches the block between
		 * two writes.  Whether it does within ROUND_MS is up to the
		 * schedulers (two guests share two host CPUs in make check),
		 * so after that the writer pauses between two writes, and
		 * then one more call must finish: a block that stays pinned
		 * with no copy in flight fails here.
		 */
		ret = defrag_until_compact(self->fd, now_ms() + ROUND_MS,
					   &round, &calls);
		ASSERT_LE(0, ret) TH_LOG("DEFRAG: %s", strerror(errno));
		if (!ret) {
			long long give_up = now_ms() + 10000;

			atomic_store(&w.hold, true);
			while (!atomic_load(&w.held) && now_ms() < give_up)
				usleep(100);
			ASSERT_TRUE(atomic_load(&w.held))
				TH_LOG("a 512 KiB WRITE took over 10 s");
			ret = defrag_until_compact(self->fd, 0, &round, &calls);
			ASSERT_EQ(1, ret)
				TH_LOG("round %llu: not compact after %d calls, the writer paused",
				       (unsigned long long)freed, calls);
			atomic_store(&w.hold, false);
			paused++;
		}
		ASSERT_OK(vmm_info(self->fd, NSMALL + 1, &off, NULL));
		ASSERT_EQ(last_off - SMALL, off);
		ASSERT_EQ((NSMALL - freed) * SMALL + BIG, round);
		moved += round;
		retries += calls - 1;
		last_off = off;
	}
	atomic_store(&w.stop, true);
	pthread_join(th, NULL);
	close(w.fd);
	free(w.buf);
	TH_LOG("%llu defrags moved %llu bytes; %ld more calls found the big block pinned",
	       (unsigned long long)freed, (unsigned long long)moved, retries);
	TH_LOG("%d of those rounds waited for the writer to pause", paused);
	/* Some rounds moved the big block with the writer running. */
	EXPECT_LT(paused, (int)freed);
	EXPECT_EQ(0, atomic_load(&w.errors));
	ASSERT_LT(0, atomic_load(&w.last));
	ASSERT_OK(vmm_read(self->fd, NSMALL + 1, 0, check, BIG));
	EXPECT_TRUE(vmm_all(check, BIG, (unsigned char)atomic_load(&w.last)))
		TH_LOG("the big block does not hold the last value written (%d)",
		       atomic_load(&w.last));
	for (i = freed + 1; i <= NSMALL; i++) {
		ASSERT_BLOCK(self->fd, i, (i - freed - 1) * SMALL, SMALL);
		ASSERT_OK(vmm_read(self->fd, i, 0, b, SMALL));
		ASSERT_TRUE(vmm_all(b, SMALL, (unsigned char)i));
	}
	EXPECT_EQ(moved, vmm_sysfs("bytes_moved"));
	EXPECT_EQ(freed, vmm_sysfs("defrags"));
	EXPECT_EQ(0ULL, vmm_sysfs("fragmentation"));
}

TEST_HARNESS_MAIN
