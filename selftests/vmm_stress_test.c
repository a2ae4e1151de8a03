// SPDX-License-Identifier: GPL-2.0
/*
 * vmm_stress_test: many tasks share one arena for a while, and then every
 * byte, every block and every counter is accounted for; and the module
 * stays loaded while anyone holds /dev/vmm open.
 *
 * Usage: vmm_stress_test [--seed N] [--ops M] [--threads T] [--procs P]
 *   --seed N     seed of the pseudo-random choices (default 1; decimal or
 *                0x hex); each worker draws from its own stream of it
 *   --ops M      operations per worker (default 4000, a quarter of that
 *                on the debug kernel, whose release ends in "-vmm-debug")
 *   --threads T  worker threads in the test process (default 4)
 *   --procs P    forked worker processes (default 4)
 * VMM_STRESS_SEED, VMM_STRESS_OPS, VMM_STRESS_THREADS and VMM_STRESS_PROCS
 * set the same values; the command line wins.  The 6.1 harness takes no
 * options of its own.  The test prints the values and the command line
 * that replays them.  A replay repeats each worker's random draws, but not
 * the interleaving of the tasks, so once an outcome depends on timing (an
 * ENOSPC, the offset a block lands at) the runs drift apart: a failure
 * that needs a particular interleaving may take a few replays.
 *
 * stress_keeps_every_block_intact
 *	T threads and P processes, each with its own file, run a random mix
 *	of ALLOC (a quarter with VMM_ALLOC_COMPACT, a fifth aligned), FREE,
 *	WRITE and READ (whole blocks or ranges, through the ioctls or SELECT
 *	plus pwrite/pread), INFO, STATS, DEFRAG (budgeted or not, waiting or
 *	VMM_DEFRAG_NOWAIT), and now and then close their file and open a new
 *	one.  Each worker only touches blocks it allocated, so it knows what
 *	each holds: bytes derived from the block's ID and a generation that
 *	every rewrite bumps (generation 0 is a new block's zeros).  Every read
 *	is checked against that, and every block once more at the end.  All
 *	the while a separate thread defragments with budgets of 64 KiB to
 *	1 MiB, calling again until the arena is compact and then starting
 *	over, sometimes with VMM_DEFRAG_NOWAIT; and the test's own thread
 *	checks STATS snapshots and paged LISTs.  ENOSPC is an expected outcome
 *	of ALLOC (counted), EBUSY of a DEFRAG with VMM_DEFRAG_NOWAIT; any other
 *	failure fails the test.  At the end: no corrupted byte; LIST holds
 *	exactly the blocks the workers hold, with their sizes, in disjoint
 *	ranges; STATS agrees (used, blocks, allocs - frees, and the exact
 *	numbers of allocations, frees and ENOSPC failures); budgeted DEFRAG
 *	calls pack the arena within one call per block, and the data is still
 *	there; freeing everything leaves an empty arena.
 * unload_is_refused_while_device_open
 *	Another process holds /dev/vmm open and keeps using it: every
 *	delete_module() fails with EWOULDBLOCK (what the kernel returns for a
 *	module in use; EBUSY would mean a module not live), `modprobe -r` fails,
 *	and the holder's blocks and data are unharmed.  Once it has closed its
 *	files, the module unloads, and loads again with a fresh arena.
 * unload_succeeds_after_holder_is_killed
 *	The same, but the holder is killed with SIGKILL in the middle of its
 *	work: its files are released, and the module unloads.
 * unload_races_open_safely
 *	Processes open, use and close /dev/vmm in a loop while the test
 *	unloads and reloads the module: every open either works (and then the
 *	file is usable) or fails with ENOENT (no node) or ENODEV (no driver).
 *
 * Helper tasks only record what they see (counts and the first few
 * failures, in shared memory); the test thread asserts on it afterwards
 * and prints the recorded failures.  To see that the test can fail, break
 * an expectation, e.g. check reads against generation b->gen + 1 in
 * prepare_read().
 *
 * Like the other vmm selftests it reloads the module with its own arena
 * size (ARENA_STR) and puts back what it found when it exits.
 */
#include <getopt.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <time.h>

#include "vmm_util.h"

#define ARENA		(4 * MiB)
#define ARENA_STR	"4M"
#define DEFAULT_SEED	1ULL
#define DEFAULT_OPS	4000ULL
#define DEBUG_OPS_DIV	4	/* the debug kernel under TCG is that slow */
#define DEFAULT_THREADS	4
#define DEFAULT_PROCS	4
#define MAX_WORKERS	32
#define MAX_LIVE	40	/* blocks one worker holds at most */
/* Some blocks are larger than the module's 256 KiB copy pieces. */
#define MAX_BLOCK	(320 * KiB)
#define DEFRAG_MIN	(64 * KiB)
#define DEFRAG_MAX	(1 * MiB)
#define LIST_PAGE	100	/* small, so that LIST takes several pages */
#define MAX_MSGS	6	/* failures recorded per task */
#define MSG_LEN		240
#define STOP_AFTER	20	/* failures after which a worker gives up */
#define GEN_UNKNOWN	UINT32_MAX	/* after a failed write */

#ifndef __printf
#define __printf(a, b)	__attribute__((format(printf, a, b)))
#endif

/* ---- what the tasks record, in memory shared with forked workers */

/* Counts of one task; written by that task only. */
struct tally {
	__u64 ops;
	__u64 allocs;
	__u64 compact_allocs;
	__u64 enospc;
	__u64 frees;
	__u64 writes;
	__u64 reads;
	__u64 file_rws;
	__u64 defrags;
	__u64 busy;		/* EBUSY from VMM_DEFRAG_NOWAIT */
	__u64 reopens;
	__u64 verified;		/* bytes read back and compared */
	__u64 corrupt;		/* of those, bytes that differed */
	__u64 errors;
	char msg[MAX_MSGS][MSG_LEN];
};

/* A block and what it holds: pattern(id, gen) over its size. */
struct blk {
	__u64 id;
	__u64 size;
	__u32 gen;
	__u32 pad;
};

struct worker {
	struct tally t;
	__u32 nblocks;
	struct blk blocks[MAX_LIVE];
};

struct defragger {
	struct tally t;
	__u64 calls;
	__u64 rounds;		/* loops that reached a compact arena */
	__u64 max_calls;	/* calls the longest such loop took */
	__u64 bytes;
	__u64 longest_ns;	/* the longest single call */
	__u64 longest_nowait_ns;	/* ... with VMM_DEFRAG_NOWAIT */
};

struct shared {
	pthread_barrier_t start;
	atomic_int stop;	/* tells the defragger and holders to finish */
	atomic_int done;	/* workers that have finished */
	struct worker w[MAX_WORKERS];
	struct defragger d;
	struct tally observer;
	__u64 snapshots;
	__u64 lists;
};

static struct shared *shared_map(unsigned int parties)
{
	pthread_barrierattr_t attr;
	struct shared *sh;

	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		return NULL;
	pthread_barrierattr_init(&attr);
	pthread_barrierattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
	pthread_barrier_init(&sh->start, &attr, parties);
	pthread_barrierattr_destroy(&attr);
	return sh;
}

/* ---- options */

static struct {
	__u64 seed;
	__u64 ops;
	__u64 threads;
	__u64 procs;
	bool ops_given;
} opt = {
	.seed = DEFAULT_SEED,
	.ops = DEFAULT_OPS,
	.threads = DEFAULT_THREADS,
	.procs = DEFAULT_PROCS,
};

static bool debug_kernel(void)
{
	static const char tag[] = "-vmm-debug";
	struct utsname u;
	size_t n;

	if (uname(&u))
		return false;
	n = strlen(u.release);
	return n >= sizeof(tag) - 1 &&
	       !strcmp(u.release + n - (sizeof(tag) - 1), tag);
}

/* Operations per worker in this run. */
static __u64 ops_per_worker(void)
{
	if (!opt.ops_given && debug_kernel())
		return opt.ops / DEBUG_OPS_DIV;
	return opt.ops;
}

/* ---- per-task context: private to the task */

struct ctx {
	struct tally *t;
	char who[24];
	int fd;
	__u64 rng;
	__u64 op;
	__u64 last_id;
	unsigned char *buf;	/* what the kernel returned, or is given */
	unsigned char *want;	/* what a read must return */
};

/* splitmix64: a stream per task, all derived from the seed. */
static __u64 rnd(struct ctx *c)
{
	__u64 z = (c->rng += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static __u64 rnd_below(struct ctx *c, __u64 n)
{
	return n ? rnd(c) % n : 0;
}

/* @who names the task in failure messages. */
static void ctx_init(struct ctx *c, struct tally *t, unsigned int stream,
		     const char *who)
{
	memset(c, 0, sizeof(*c));
	c->t = t;
	c->fd = -1;
	c->rng = opt.seed + (stream + 1) * 0xd1b54a32d192ed03ULL;
	snprintf(c->who, sizeof(c->who), "%s", who);
	c->buf = malloc(MAX_BLOCK);
	c->want = malloc(MAX_BLOCK);
}

static void ctx_fini(struct ctx *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	free(c->buf);
	free(c->want);
}

/* Record a failure; the test thread prints the first MAX_MSGS. */
static void __printf(2, 3) fail(struct ctx *c, const char *fmt, ...)
{
	struct tally *t = c->t;
	va_list ap;
	char *m;
	int n;

	if (t->errors++ >= MAX_MSGS)
		return;
	m = t->msg[t->errors - 1];
	n = snprintf(m, MSG_LEN, "%s, op %llu: ", c->who,
		     (unsigned long long)c->op);
	if (n < 0 || n >= MSG_LEN)
		return;
	va_start(ap, fmt);
	vsnprintf(m + n, MSG_LEN - n, fmt, ap);
	va_end(ap);
}

/* " of block @id", or "" for calls that name no block. */
static const char *of_block(char *buf, size_t len, __u64 id)
{
	buf[0] = '\0';
	if (id)
		snprintf(buf, len, " of block %llu", (unsigned long long)id);
	return buf;
}

/* A result that must be @want (0 for the ioctls). */
static bool expect_ret(struct ctx *c, long ret, int err, long want,
		       const char *what, __u64 id)
{
	char blk[32];

	if (ret == want)
		return true;
	fail(c, "%s%s: returned %ld, errno %d (%s); want %ld", what,
	     of_block(blk, sizeof(blk), id), ret, err, strerror(err), want);
	return false;
}

/* A failure that must be -1 with errno @want_err. */
static bool expect_err(struct ctx *c, long ret, int err, int want_err,
		       const char *what, __u64 id)
{
	char blk[32];

	if (ret == -1 && err == want_err)
		return true;
	fail(c, "%s%s: returned %ld, errno %d (%s); want -1, errno %d (%s)",
	     what, of_block(blk, sizeof(blk), id), ret, err, strerror(err),
	     want_err, strerror(want_err));
	return false;
}

/* Run @call once and check its result and errno. */
#define CALL_OK(c, call, want, what, id) ({ \
	long __ret; \
	int __err; \
	errno = 0; \
	__ret = (call); \
	__err = errno; \
	expect_ret(c, __ret, __err, want, what, id); \
})

#define CALL_ERR(c, call, want_err, what, id) ({ \
	long __ret; \
	int __err; \
	errno = 0; \
	__ret = (call); \
	__err = errno; \
	expect_err(c, __ret, __err, want_err, what, id); \
})

/* ---- block contents */

static __u32 pattern_word(__u64 id, __u32 gen, __u64 word)
{
	__u64 x = id * 0x9e3779b97f4a7c15ULL + gen * 0xc2b2ae3d27d4eb4fULL +
		  word * 0x165667b19e3779f9ULL;

	x ^= x >> 29;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 32;
	return (__u32)x;
}

/*
 * Bytes @off..@off + @len - 1 of block @id at generation @gen: zeros for
 * generation 0 (a new block), else bytes that differ per block, per
 * generation and per position, so that data moved to the wrong place, a
 * lost write or another block's bytes all show.
 */
static void pattern(unsigned char *buf, __u64 id, __u32 gen, __u64 off,
		    __u64 len)
{
	__u32 v = 0;
	__u64 i;

	if (!gen) {
		memset(buf, 0, len);
		return;
	}
	for (i = 0; i < len; i++) {
		__u64 pos = off + i;

		if (!i || !(pos & 3))
			v = pattern_word(id, gen, pos >> 2);
		buf[i] = (unsigned char)(v >> (8 * (pos & 3)));
	}
}

static __u32 next_gen(__u32 gen)
{
	return gen >= GEN_UNKNOWN - 1 ? 1 : gen + 1;
}

/* Expect bytes @off.. of @b in c->want, and fill c->buf with others. */
static void prepare_read(struct ctx *c, const struct blk *b, __u64 off,
			 __u64 len)
{
	__u64 i;

	pattern(c->want, b->id, b->gen, off, len);
	for (i = 0; i < len; i++)
		c->buf[i] = (unsigned char)~c->want[i];
}

/* Compare what a read put in c->buf with c->want. */
static bool verify(struct ctx *c, const struct blk *b, __u64 off, __u64 len,
		   const char *what)
{
	__u64 i, bad = 0, first = 0;
	unsigned char prev = 0;
	const char *hint = "";

	if (b->gen == GEN_UNKNOWN)
		return true;
	c->t->verified += len;
	if (!memcmp(c->buf, c->want, len))
		return true;
	for (i = 0; i < len; i++) {
		if (c->buf[i] != c->want[i] && !bad++)
			first = i;
	}
	c->t->corrupt += bad;
	if (b->gen > 1)
		pattern(&prev, b->id, b->gen - 1, off + first, 1);
	if (!c->buf[first])
		hint = " (zero)";
	else if (b->gen > 1 && c->buf[first] == prev)
		hint = " (the previous generation's byte)";
	fail(c, "%s: block %llu (%llu bytes, generation %u), bytes %llu..%llu: %llu differ; first at %llu: 0x%02x%s, want 0x%02x",
	     what, (unsigned long long)b->id, (unsigned long long)b->size,
	     b->gen, (unsigned long long)off,
	     (unsigned long long)(off + len - 1), (unsigned long long)bad,
	     (unsigned long long)(off + first), c->buf[first], hint,
	     c->want[first]);
	return false;
}

/* Read all of @b and check it. */
static bool check_block(struct ctx *c, const struct blk *b, const char *what)
{
	prepare_read(c, b, 0, b->size);
	if (!CALL_OK(c, vmm_read(c->fd, b->id, 0, c->buf, b->size), 0, what,
		     b->id))
		return false;
	return verify(c, b, 0, b->size, what);
}

/* ---- checks shared by the workers, the observer and the test */

/*
 * What one STATS snapshot must satisfy whatever else is going on: blocks
 * is exactly allocs - frees (a block freed while DEFRAG is moving it is
 * gone by ID at once; only its range, in used, waits for the move).
 */
static void check_snapshot(struct ctx *c, const struct vmm_stats_args *st)
{
	if (st->size != ARENA || st->used + st->free != st->size ||
	    st->largest_free > st->free ||
	    st->fragmentation != vmm_frag(st->free, st->largest_free) ||
	    st->allocs < st->frees || st->blocks != st->allocs - st->frees ||
	    st->reserved)
		fail(c, "STATS: size %llu used %llu free %llu largest_free %llu fragmentation %llu blocks %llu allocs %llu frees %llu: inconsistent",
		     (unsigned long long)st->size,
		     (unsigned long long)st->used,
		     (unsigned long long)st->free,
		     (unsigned long long)st->largest_free,
		     (unsigned long long)st->fragmentation,
		     (unsigned long long)st->blocks,
		     (unsigned long long)st->allocs,
		     (unsigned long long)st->frees);
}

/*
 * One DEFRAG call and the header's promises about its result.  Returns 1
 * when it ran, 0 for EBUSY (only allowed with VMM_DEFRAG_NOWAIT), -1 on
 * any failure.
 */
static int defrag_once(struct ctx *c, __u32 flags, __u64 budget,
		       struct vmm_defrag_args *a)
{
	int ret, err;

	memset(a, 0, sizeof(*a));
	a->flags = flags;
	a->budget = budget;
	errno = 0;
	ret = ioctl(c->fd, VMM_IOC_DEFRAG, a);
	err = errno;
	if (ret == -1 && err == EBUSY && (flags & VMM_DEFRAG_NOWAIT)) {
		c->t->busy++;
		return 0;
	}
	if (!expect_ret(c, ret, err, 0, flags ? "DEFRAG NOWAIT" : "DEFRAG",
			0))
		return -1;
	c->t->defrags++;
	if (a->compact > 1 || !a->bytes_moved != !a->blocks_moved ||
	    a->blocks_moved > a->bytes_moved || a->pad ||
	    a->reserved[0] || a->reserved[1]) {
		fail(c, "DEFRAG budget %llu: compact %llu, %llu bytes in %llu blocks, pad %u: impossible",
		     (unsigned long long)budget,
		     (unsigned long long)a->compact,
		     (unsigned long long)a->bytes_moved,
		     (unsigned long long)a->blocks_moved, a->pad);
		return -1;
	}
	/* Past the budget only with the single block a call always moves. */
	if (budget && a->bytes_moved > budget && a->blocks_moved != 1) {
		fail(c, "DEFRAG budget %llu moved %llu bytes in %llu blocks",
		     (unsigned long long)budget,
		     (unsigned long long)a->bytes_moved,
		     (unsigned long long)a->blocks_moved);
		return -1;
	}
	/*
	 * Without a budget, compact 0 only means a block was pinned by a
	 * copy in flight, which the call goes around instead of waiting.
	 */
	return 1;
}

/* ---- the workers' operations */

/* Sizes from 1 byte to past a copy piece, with 2^n - 1, 2^n, 2^n + 1. */
static __u64 pick_size(struct ctx *c)
{
	unsigned int r = rnd_below(c, 100);

	if (r < 55)
		return 1 + rnd_below(c, 2048);
	if (r < 75)
		return (1ULL << (2 + rnd_below(c, 15))) + rnd_below(c, 3) - 1;
	if (r < 95)
		return 2048 + rnd_below(c, 62 * KiB);
	return 64 * KiB + rnd_below(c, MAX_BLOCK - 64 * KiB + 1);
}

static void op_alloc(struct ctx *c, struct worker *w)
{
	struct vmm_alloc_args a = { 0 };
	const char *what;
	int ret, err;

	a.size = pick_size(c);
	a.align = rnd_below(c, 5) ? 0 : 1ULL << rnd_below(c, 13);
	a.flags = rnd_below(c, 4) ? 0 : VMM_ALLOC_COMPACT;
	what = a.flags ? "ALLOC COMPACT" : "ALLOC";
	errno = 0;
	ret = ioctl(c->fd, VMM_IOC_ALLOC, &a);
	err = errno;
	if (ret == -1 && err == ENOSPC) {
		c->t->enospc++;
		return;
	}
	if (!expect_ret(c, ret, err, 0, what, 0))
		return;
	c->t->allocs++;
	if (a.flags)
		c->t->compact_allocs++;
	/* IDs are global and never reused: each one is new, so larger. */
	if (a.id <= c->last_id)
		fail(c, "%s returned ID %llu after ID %llu", what,
		     (unsigned long long)a.id,
		     (unsigned long long)c->last_id);
	if (a.offset > ARENA - a.size || (a.align > 1 && a.offset % a.align))
		fail(c, "%s of %llu bytes aligned to %llu at offset %llu",
		     what, (unsigned long long)a.size,
		     (unsigned long long)a.align,
		     (unsigned long long)a.offset);
	c->last_id = a.id;
	w->blocks[w->nblocks++] = (struct blk){ .id = a.id, .size = a.size };
}

static void op_free(struct ctx *c, struct worker *w)
{
	__u32 i = rnd_below(c, w->nblocks);
	__u64 id = w->blocks[i].id;
	unsigned char byte;

	if (!CALL_OK(c, vmm_free(c->fd, id), 0, "FREE", id))
		return;
	c->t->frees++;
	w->blocks[i] = w->blocks[--w->nblocks];
	if (rnd_below(c, 4))
		return;
	/* Nobody else knew the ID, and IDs are never reused: gone for good. */
	CALL_ERR(c, vmm_info(c->fd, id, NULL, NULL), ENOENT, "INFO freed", id);
	CALL_ERR(c, vmm_read(c->fd, id, 0, &byte, 1), ENOENT, "READ freed", id);
	CALL_ERR(c, vmm_free(c->fd, id), ENOENT, "FREE freed", id);
}

/* A new generation, written by one to three WRITEs that cover the block. */
static void op_write(struct ctx *c, struct blk *b)
{
	unsigned int p, pieces = 1 + rnd_below(c, 3);
	__u32 gen = next_gen(b->gen);
	__u64 off = 0, len;

	pattern(c->buf, b->id, gen, 0, b->size);
	for (p = 0; p < pieces && off < b->size; p++) {
		len = p == pieces - 1 ? b->size - off :
			1 + rnd_below(c, b->size - off);
		if (!CALL_OK(c, vmm_write(c->fd, b->id, off, c->buf + off, len),
			     0, "WRITE", b->id)) {
			b->gen = GEN_UNKNOWN;
			return;
		}
		off += len;
	}
	b->gen = gen;
	c->t->writes++;
}

/* The whole block or a random range of it. */
static void pick_range(struct ctx *c, const struct blk *b, __u64 *off,
		       __u64 *len)
{
	if (rnd_below(c, 2)) {
		*off = 0;
		*len = b->size;
		return;
	}
	*off = rnd_below(c, b->size);
	*len = 1 + rnd_below(c, b->size - *off);
}

static void op_read(struct ctx *c, struct blk *b)
{
	__u64 off, len;

	pick_range(c, b, &off, &len);
	prepare_read(c, b, off, len);
	if (!CALL_OK(c, vmm_read(c->fd, b->id, off, c->buf, len), 0, "READ",
		     b->id))
		return;
	c->t->reads++;
	verify(c, b, off, len, "READ");
}

/* The same through the file: SELECT, then pwrite or pread. */
static void op_file_rw(struct ctx *c, struct blk *b)
{
	__u64 off, len;
	__u32 gen;

	if (!CALL_OK(c, vmm_select(c->fd, b->id), 0, "SELECT", b->id))
		return;
	c->t->file_rws++;
	if (rnd_below(c, 2)) {
		gen = next_gen(b->gen);
		pattern(c->buf, b->id, gen, 0, b->size);
		b->gen = CALL_OK(c, pwrite(c->fd, c->buf, b->size, 0),
				 (long)b->size, "pwrite", b->id) ?
			gen : GEN_UNKNOWN;
		return;
	}
	pick_range(c, b, &off, &len);
	prepare_read(c, b, off, len);
	if (CALL_OK(c, pread(c->fd, c->buf, len, (off_t)off), (long)len,
		    "pread", b->id))
		verify(c, b, off, len, "pread");
}

static void op_info(struct ctx *c, const struct blk *b)
{
	__u64 off = 0, size = 0;

	if (!CALL_OK(c, vmm_info(c->fd, b->id, &off, &size), 0, "INFO", b->id))
		return;
	if (size != b->size || off > ARENA - size)
		fail(c, "INFO block %llu: offset %llu size %llu, want size %llu",
		     (unsigned long long)b->id, (unsigned long long)off,
		     (unsigned long long)size, (unsigned long long)b->size);
}

static void op_stats(struct ctx *c, const struct worker *w)
{
	struct vmm_stats_args st;
	__u64 mine = 0;
	__u32 i;

	if (!CALL_OK(c, vmm_stats(c->fd, &st), 0, "STATS", 0))
		return;
	check_snapshot(c, &st);
	for (i = 0; i < w->nblocks; i++)
		mine += w->blocks[i].size;
	/* This worker's blocks are live, whatever the others do. */
	if (st.blocks < w->nblocks || st.used < mine)
		fail(c, "STATS: %llu blocks of %llu bytes, but this worker alone holds %u of %llu",
		     (unsigned long long)st.blocks,
		     (unsigned long long)st.used, w->nblocks,
		     (unsigned long long)mine);
}

static void op_defrag(struct ctx *c)
{
	struct vmm_defrag_args a;
	__u64 budget = 0;

	if (rnd_below(c, 3))
		budget = DEFRAG_MIN + rnd_below(c, DEFRAG_MAX - DEFRAG_MIN + 1);
	defrag_once(c, rnd_below(c, 2) ? VMM_DEFRAG_NOWAIT : 0, budget, &a);
}

/* Close the file and open another: blocks belong to the device. */
static void op_reopen(struct ctx *c, struct worker *w)
{
	CALL_OK(c, close(c->fd), 0, "close", 0);
	errno = 0;
	c->fd = open(VMM_DEV, O_RDWR | O_CLOEXEC);
	if (c->fd < 0) {
		fail(c, "reopen %s: %s", VMM_DEV, strerror(errno));
		return;
	}
	c->t->reopens++;
	if (w->nblocks)
		check_block(c, &w->blocks[rnd_below(c, w->nblocks)],
			    "READ after reopen");
}

static void worker_step(struct ctx *c, struct worker *w)
{
	unsigned int r = rnd_below(c, 1000);
	struct blk *b;

	if (!w->nblocks || (r < 300 && w->nblocks < MAX_LIVE)) {
		op_alloc(c, w);
		return;
	}
	if (r < 470) {
		op_free(c, w);
		return;
	}
	b = &w->blocks[rnd_below(c, w->nblocks)];
	if (r < 650)
		op_write(c, b);
	else if (r < 880)
		op_read(c, b);
	else if (r < 940)
		op_file_rw(c, b);
	else if (r < 955)
		op_info(c, b);
	else if (r < 965)
		op_stats(c, w);
	else if (r < 985)
		op_defrag(c);
	else
		op_reopen(c, w);
}

/*
 * Worker @index: @nops operations, or with @nops 0 until sh->stop; then
 * every block it holds is read back once more.  Its blocks stay allocated
 * for the test to compare with LIST.  With @hold, one more file stays
 * open all the while, even when the worker reopens its own.
 */
static void worker_run(struct shared *sh, unsigned int index, bool process,
		       __u64 nops, bool hold)
{
	struct worker *w = &sh->w[index];
	char who[24];
	int hold_fd = -1;
	struct ctx c;
	__u32 i;

	snprintf(who, sizeof(who), "%s %u", process ? "process" : "thread",
		 index);
	ctx_init(&c, &w->t, index, who);
	errno = 0;
	c.fd = open(VMM_DEV, O_RDWR | O_CLOEXEC);
	if (hold && c.fd >= 0)
		hold_fd = open(VMM_DEV, O_RDWR | O_CLOEXEC);
	if (c.fd < 0 || (hold && hold_fd < 0) || !c.buf || !c.want)
		fail(&c, "open %s: %s", VMM_DEV, strerror(errno));
	pthread_barrier_wait(&sh->start);
	for (c.op = 0; nops ? c.op < nops : !atomic_load(&sh->stop); c.op++) {
		if (c.fd < 0 || w->t.errors >= STOP_AFTER)
			break;
		worker_step(&c, w);
		w->t.ops++;
	}
	for (i = 0; i < w->nblocks && c.fd >= 0; i++)
		check_block(&c, &w->blocks[i], "final READ");
	ctx_fini(&c);
	if (hold_fd >= 0)
		close(hold_fd);
	atomic_fetch_add(&sh->done, 1);
}

struct thread_arg {
	struct shared *sh;
	unsigned int index;
	__u64 nops;
};

static void *worker_thread(void *arg)
{
	struct thread_arg *ta = arg;

	worker_run(ta->sh, ta->index, false, ta->nops, false);
	return NULL;
}

/* Fork a worker process; it dies with the test. */
static pid_t worker_fork(struct shared *sh, unsigned int index, __u64 nops,
			 bool hold)
{
	pid_t pid;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid)
		return pid;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	worker_run(sh, index, true, nops, hold);
	_exit(0);
}

/* ---- the defragmenter and the observer */

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/*
 * Budgeted DEFRAG calls until the arena is compact, then a short pause and
 * again, until sh->stop.  One call in eight is VMM_DEFRAG_NOWAIT.
 */
static void *defrag_thread(void *arg)
{
	struct shared *sh = arg;
	struct defragger *d = &sh->d;
	struct vmm_defrag_args a;
	struct ctx c;

	ctx_init(&c, &d->t, MAX_WORKERS, "defragmenter");
	errno = 0;
	c.fd = open(VMM_DEV, O_RDWR | O_CLOEXEC);
	if (c.fd < 0)
		fail(&c, "open %s: %s", VMM_DEV, strerror(errno));
	pthread_barrier_wait(&sh->start);
	while (c.fd >= 0 && !atomic_load(&sh->stop) &&
	       d->t.errors < STOP_AFTER) {
		__u64 calls = 0;
		long long t0, t;
		int ret = 0;

		do {
			__u64 budget = DEFRAG_MIN +
				rnd_below(&c, DEFRAG_MAX - DEFRAG_MIN + 1);
			__u32 flags = rnd_below(&c, 8) ? 0 : VMM_DEFRAG_NOWAIT;

			t0 = now_ns();
			ret = defrag_once(&c, flags, budget, &a);
			t = now_ns() - t0;
			c.op++;
			if (ret < 0)
				break;
			if (!ret) {
				sched_yield();
				continue;
			}
			if ((__u64)t > d->longest_ns)
				d->longest_ns = t;
			if (flags && (__u64)t > d->longest_nowait_ns)
				d->longest_nowait_ns = t;
			calls++;
			d->calls++;
			d->bytes += a.bytes_moved;
		} while (!a.compact && !atomic_load(&sh->stop));
		if (ret > 0 && a.compact) {
			d->rounds++;
			if (calls > d->max_calls)
				d->max_calls = calls;
		}
		usleep(rnd_below(&c, 2000));
	}
	ctx_fini(&c);
	return NULL;
}

/*
 * Until every worker is done: STATS snapshots and paged LISTs, each of
 * which must be consistent in itself.  Reaps worker processes that die
 * without finishing, so that a crash cannot hang the loop.
 */
static void observe(struct shared *sh, int fd, unsigned int nworkers,
		    pid_t *pids, int *status, unsigned int nprocs)
{
	struct vmm_block_info *e = calloc(LIST_PAGE, sizeof(*e));
	unsigned int died = 0, i;
	struct vmm_stats_args st;
	struct ctx c;

	ctx_init(&c, &sh->observer, MAX_WORKERS + 1, "observer");
	c.fd = fd;
	while (e && atomic_load(&sh->done) + died < nworkers &&
	       sh->observer.errors < STOP_AFTER) {
		__u64 start = 0, prev = 0, next;
		__u32 count, k;

		for (i = 0; i < nprocs; i++) {
			if (pids[i] > 0 && waitpid(pids[i], &status[i],
						   WNOHANG) == pids[i]) {
				pids[i] = -pids[i];
				if (!WIFEXITED(status[i]))
					died++;
			}
		}
		if (CALL_OK(&c, vmm_stats(fd, &st), 0, "STATS", 0)) {
			check_snapshot(&c, &st);
			sh->snapshots++;
		}
		do {
			if (!CALL_OK(&c, vmm_list(fd, start, e, LIST_PAGE,
						  &count, &next), 0, "LIST", 0))
				break;
			for (k = 0; k < count; k++) {
				if (e[k].id <= prev || e[k].id < start ||
				    !e[k].size || e[k].offset > ARENA - e[k].size)
					fail(&c, "LIST from %llu: entry %u is ID %llu at %llu, %llu bytes (previous ID %llu)",
					     (unsigned long long)start, k,
					     (unsigned long long)e[k].id,
					     (unsigned long long)e[k].offset,
					     (unsigned long long)e[k].size,
					     (unsigned long long)prev);
				prev = e[k].id;
			}
			if (next && (count != LIST_PAGE || next <= prev))
				fail(&c, "LIST from %llu: %u entries, next_id %llu after ID %llu",
				     (unsigned long long)start, count,
				     (unsigned long long)next,
				     (unsigned long long)prev);
			start = next;
		} while (start && sh->observer.errors < STOP_AFTER);
		sh->lists++;
		c.op++;
		usleep(2000);
	}
	if (!e)
		fail(&c, "out of memory");
	c.fd = -1;
	ctx_fini(&c);
	free(e);
}

/* ---- the test thread's side */

/* Print the failures a task recorded. */
static void log_tally(struct __test_metadata *_metadata, const struct tally *t)
{
	__u64 i;

	for (i = 0; i < t->errors && i < MAX_MSGS; i++)
		TH_LOG("%s", t->msg[i]);
	if (t->errors > MAX_MSGS)
		TH_LOG("... and %llu more failures",
		       (unsigned long long)(t->errors - MAX_MSGS));
}

static void tally_add(struct tally *sum, const struct tally *t)
{
	sum->ops += t->ops;
	sum->allocs += t->allocs;
	sum->compact_allocs += t->compact_allocs;
	sum->enospc += t->enospc;
	sum->frees += t->frees;
	sum->writes += t->writes;
	sum->reads += t->reads;
	sum->file_rws += t->file_rws;
	sum->defrags += t->defrags;
	sum->busy += t->busy;
	sum->reopens += t->reopens;
	sum->verified += t->verified;
	sum->corrupt += t->corrupt;
	sum->errors += t->errors;
}

static int cmp_blk_id(const void *x, const void *y)
{
	const struct blk *a = x, *b = y;

	return a->id < b->id ? -1 : a->id > b->id;
}

static int cmp_info_offset(const void *x, const void *y)
{
	const struct vmm_block_info *a = x, *b = y;

	return a->offset < b->offset ? -1 : a->offset > b->offset;
}

/* Every live block, in pages of LIST_PAGE; returns the count, or -1. */
static int list_all(int fd, struct vmm_block_info *e, unsigned int max)
{
	__u64 start = 0, next;
	unsigned int n = 0;
	__u32 count;

	do {
		if (n + LIST_PAGE > max ||
		    vmm_list(fd, start, e + n, LIST_PAGE, &count, &next))
			return -1;
		n += count;
		start = next;
	} while (start);
	return n;
}

FIXTURE(stress) {
	int fd;
};

FIXTURE_SETUP(stress)
{
	VMM_SETUP_RELOAD(ARENA_STR, &self->fd);
}

FIXTURE_TEARDOWN(stress)
{
	if (self->fd >= 0)
		close(self->fd);
}

TEST_F_TIMEOUT(stress, stress_keeps_every_block_intact, 540)
{
	unsigned int nthreads = opt.threads, nprocs = opt.procs;
	unsigned int nworkers = nthreads + nprocs, i, j, n, max;
	struct tally sum = { 0 }, final = { 0 };
	struct thread_arg ta[MAX_WORKERS];
	pthread_t th[MAX_WORKERS], dth;
	pid_t pids[MAX_WORKERS];
	int status[MAX_WORKERS];
	__u64 nops = ops_per_worker(), used = 0, calls, end;
	struct vmm_block_info *e;
	struct vmm_defrag_args a;
	struct vmm_stats_args st;
	long long t0, t1;
	struct shared *sh;
	struct blk *model;
	struct ctx c;
	int got;

	TH_LOG("seed %llu, %llu ops per worker, %u threads + %u processes (replay: vmm_stress_test --seed %llu --ops %llu --threads %u --procs %u)",
	       (unsigned long long)opt.seed, (unsigned long long)nops,
	       nthreads, nprocs, (unsigned long long)opt.seed,
	       (unsigned long long)nops, nthreads, nprocs);
	sh = shared_map(nworkers + 2);
	ASSERT_NE(NULL, sh);

	/* Processes first: fork() before this process has threads. */
	for (i = 0; i < nprocs; i++) {
		pids[i] = worker_fork(sh, nthreads + i, nops, false);
		ASSERT_LT(0, pids[i]) TH_LOG("fork: %s", strerror(errno));
	}
	for (i = 0; i < nthreads; i++) {
		ta[i] = (struct thread_arg){ .sh = sh, .index = i, .nops = nops };
		ASSERT_EQ(0, pthread_create(&th[i], NULL, worker_thread, &ta[i]));
	}
	ASSERT_EQ(0, pthread_create(&dth, NULL, defrag_thread, sh));
	pthread_barrier_wait(&sh->start);
	t0 = now_ns();
	observe(sh, self->fd, nworkers, pids, status, nprocs);
	for (i = 0; i < nthreads; i++)
		pthread_join(th[i], NULL);
	for (i = 0; i < nprocs; i++) {
		if (pids[i] > 0)
			waitpid(pids[i], &status[i], 0);
		EXPECT_TRUE(WIFEXITED(status[i]) && !WEXITSTATUS(status[i]))
			TH_LOG("worker process %u: status 0x%x", nthreads + i,
			       status[i]);
	}
	atomic_store(&sh->stop, 1);
	pthread_join(dth, NULL);
	t1 = now_ns();

	/* What everyone did, and whether anything went wrong. */
	for (i = 0; i < nworkers; i++) {
		log_tally(_metadata, &sh->w[i].t);
		tally_add(&sum, &sh->w[i].t);
		EXPECT_EQ(nops, sh->w[i].t.ops) TH_LOG("worker %u stopped early", i);
	}
	log_tally(_metadata, &sh->d.t);
	log_tally(_metadata, &sh->observer);
	TH_LOG("%.1f s: %llu ops: %llu allocs (%llu with COMPACT), %llu ENOSPC, %llu frees, %llu writes, %llu reads, %llu file rw, %llu defrags (%llu EBUSY), %llu reopens; %llu MiB verified",
	       (t1 - t0) / 1e9, (unsigned long long)sum.ops,
	       (unsigned long long)sum.allocs,
	       (unsigned long long)sum.compact_allocs,
	       (unsigned long long)sum.enospc, (unsigned long long)sum.frees,
	       (unsigned long long)sum.writes, (unsigned long long)sum.reads,
	       (unsigned long long)sum.file_rws,
	       (unsigned long long)sum.defrags, (unsigned long long)sum.busy,
	       (unsigned long long)sum.reopens,
	       (unsigned long long)(sum.verified / MiB));
	TH_LOG("defragmenter: %llu calls (%llu EBUSY), %llu MiB moved, %llu rounds to compact (longest %llu calls), longest call %.1f ms (NOWAIT %.1f ms); observer: %llu STATS, %llu LISTs",
	       (unsigned long long)sh->d.calls,
	       (unsigned long long)sh->d.t.busy,
	       (unsigned long long)(sh->d.bytes / MiB),
	       (unsigned long long)sh->d.rounds,
	       (unsigned long long)sh->d.max_calls, sh->d.longest_ns / 1e6,
	       sh->d.longest_nowait_ns / 1e6,
	       (unsigned long long)sh->snapshots,
	       (unsigned long long)sh->lists);
	EXPECT_EQ(0ULL, sum.corrupt);
	EXPECT_EQ(0ULL, sum.errors);
	EXPECT_EQ(0ULL, sh->d.t.errors);
	EXPECT_EQ(0ULL, sh->observer.errors);

	/* LIST holds exactly the blocks the workers hold, with their sizes. */
	max = nworkers * MAX_LIVE;
	model = calloc(max, sizeof(*model));
	e = calloc(VMM_LIST_MAX, sizeof(*e));
	ASSERT_NE(NULL, model);
	ASSERT_NE(NULL, e);
	for (i = 0, n = 0; i < nworkers; i++) {
		for (j = 0; j < sh->w[i].nblocks; j++) {
			model[n] = sh->w[i].blocks[j];
			used += model[n++].size;
		}
	}
	qsort(model, n, sizeof(*model), cmp_blk_id);
	got = list_all(self->fd, e, VMM_LIST_MAX);
	ASSERT_LE(0, got) TH_LOG("LIST: %s", strerror(errno));
	{
		__u64 lost = 0, extra = 0, wrong = 0;
		unsigned int k = 0, m = 0;

		while (k < n || m < (unsigned int)got) {
			if (m == (unsigned int)got ||
			    (k < n && model[k].id < e[m].id)) {
				if (!lost++)
					TH_LOG("block %llu (%llu bytes) is missing from LIST",
					       (unsigned long long)model[k].id,
					       (unsigned long long)model[k].size);
				k++;
			} else if (k == n || e[m].id < model[k].id) {
				if (!extra++)
					TH_LOG("LIST has block %llu that no worker holds",
					       (unsigned long long)e[m].id);
				m++;
			} else {
				if (e[m].size != model[k].size && !wrong++)
					TH_LOG("block %llu: LIST says %llu bytes, want %llu",
					       (unsigned long long)e[m].id,
					       (unsigned long long)e[m].size,
					       (unsigned long long)model[k].size);
				k++;
				m++;
			}
		}
		EXPECT_EQ(0ULL, lost);
		EXPECT_EQ(0ULL, extra);
		EXPECT_EQ(0ULL, wrong);
	}

	/* The counters agree with the blocks and with what the workers did. */
	ASSERT_OK(vmm_stats(self->fd, &st));
	EXPECT_EQ(used, st.used);
	EXPECT_EQ(ARENA - used, st.free);
	EXPECT_EQ((__u64)n, st.blocks);
	EXPECT_EQ(st.blocks, st.allocs - st.frees);
	EXPECT_EQ(sum.allocs, st.allocs);
	EXPECT_EQ(sum.frees, st.frees);
	EXPECT_EQ(sum.enospc, st.alloc_failures);
	EXPECT_LE(sh->d.rounds, st.defrags);
	EXPECT_LE(sh->d.bytes, st.bytes_moved);

	/* In disjoint ranges inside the arena. */
	ASSERT_EQ(n, (unsigned int)got);
	qsort(e, n, sizeof(*e), cmp_info_offset);
	for (i = 0; i < n; i++) {
		ASSERT_GE(ARENA - e[i].size, e[i].offset);
		if (i)
			ASSERT_LE(e[i - 1].offset + e[i - 1].size, e[i].offset)
				TH_LOG("blocks %llu and %llu overlap",
				       (unsigned long long)e[i - 1].id,
				       (unsigned long long)e[i].id);
	}

	/* Budgeted calls pack the arena, at worst one block per call. */
	ctx_init(&c, &final, MAX_WORKERS + 2, "final check");
	ASSERT_NE(NULL, c.buf);
	ASSERT_NE(NULL, c.want);
	c.fd = self->fd;
	calls = 0;
	do {
		ASSERT_EQ(1, defrag_once(&c, 0, DEFRAG_MIN, &a))
			log_tally(_metadata, &final);
		calls++;
	} while (!a.compact && calls <= n + 1);
	EXPECT_EQ(1ULL, a.compact) TH_LOG("not compact after %llu calls",
				       (unsigned long long)calls);
	/* Nothing pinned now: a call without a budget says compact. */
	ASSERT_EQ(1, defrag_once(&c, 0, 0, &a)) log_tally(_metadata, &final);
	EXPECT_EQ(1ULL, a.compact);
	ASSERT_OK(vmm_list(self->fd, 0, e, VMM_LIST_MAX, NULL, NULL));
	qsort(e, n, sizeof(*e), cmp_info_offset);
	for (i = 0, end = 0; i < n; i++) {
		EXPECT_EQ(end, e[i].offset);
		end = e[i].offset + e[i].size;
	}
	ASSERT_OK(vmm_stats(self->fd, &st));
	EXPECT_EQ(0ULL, st.fragmentation);
	EXPECT_EQ(st.free, st.largest_free);

	/* The data survived all of it; then the arena empties. */
	for (i = 0; i < n; i++)
		check_block(&c, &model[i], "READ after the run");
	for (i = 0; i < n; i++)
		CALL_OK(&c, vmm_free(self->fd, model[i].id), 0, "FREE",
			model[i].id);
	log_tally(_metadata, &final);
	EXPECT_EQ(0ULL, final.corrupt);
	EXPECT_EQ(0ULL, final.errors);
	ASSERT_OK(vmm_stats(self->fd, &st));
	EXPECT_EQ(0ULL, st.used);
	EXPECT_EQ(0ULL, st.blocks);
	EXPECT_EQ(st.allocs, st.frees);
	EXPECT_EQ((__u64)ARENA, st.largest_free);
	c.fd = -1;
	ctx_fini(&c);
	free(e);
	free(model);
	munmap(sh, sizeof(*sh));
}

/* ---- unloading */

static long delete_module(const char *name, unsigned int flags)
{
	return syscall(SYS_delete_module, name, flags);
}

/* Start a holder: a process that keeps /dev/vmm open and busy. */
static pid_t start_holder(struct __test_metadata *_metadata,
			  struct shared *sh)
{
	pid_t pid = worker_fork(sh, 0, 0, true);
	long long deadline;

	if (pid <= 0)
		return pid;
	pthread_barrier_wait(&sh->start);
	/* Let it fill the arena a little. */
	deadline = now_ns() + 10 * 1000000000LL;
	while (sh->w[0].t.ops < 200 && !sh->w[0].t.errors &&
	       now_ns() < deadline)
		usleep(1000);
	TH_LOG("holder: %llu ops, %u blocks",
	       (unsigned long long)sh->w[0].t.ops, sh->w[0].nblocks);
	return pid;
}

/* The module is gone; load it again and check that the arena is new. */
#define ASSERT_RELOADS_FRESH() do { \
	struct vmm_stats_args __st; \
	EXPECT_FALSE(vmm_module_loaded()); \
	EXPECT_FALSE(vmm_path_exists(VMM_DEV)); \
	ASSERT_EQ(0, vmm_load(ARENA_STR)); \
	self->fd = open(VMM_DEV, O_RDWR | O_CLOEXEC); \
	ASSERT_LE(0, self->fd) TH_LOG("open: %s", strerror(errno)); \
	ASSERT_OK(vmm_stats(self->fd, &__st)); \
	EXPECT_EQ(0ULL, __st.allocs); \
	EXPECT_EQ(0ULL, __st.blocks); \
	EXPECT_EQ(0ULL, __st.used); \
} while (0)

TEST_F_TIMEOUT(stress, unload_is_refused_while_device_open, 180)
{
	struct shared *sh = shared_map(2);
	int i, err = 0, status = 0;
	long ret = -1;
	pid_t pid;

	ASSERT_NE(NULL, sh);
	/* Only the holder has the device open. */
	close(self->fd);
	self->fd = -1;
	pid = start_holder(_metadata, sh);
	ASSERT_LT(0, pid);
	/* Without O_NONBLOCK too: 6.1 never waits for the users to go. */
	for (i = 0; i < 100; i++) {
		errno = 0;
		ret = delete_module("vmm", i % 2 ? O_NONBLOCK : 0);
		err = errno;
		if (ret != -1 || err != EWOULDBLOCK)
			break;
		if (i % 10 == 0)
			usleep(5000);
	}
	EXPECT_EQ(-1, ret) TH_LOG("delete_module %d worked", i);
	EXPECT_EQ(EWOULDBLOCK, err) TH_LOG("delete_module %d: errno %d (%s)",
					   i, err, strerror(err));
	ASSERT_TRUE(vmm_module_loaded());
	EXPECT_NE(0, vmm_unload());
	ASSERT_TRUE(vmm_module_loaded());
	ASSERT_TRUE(vmm_path_exists(VMM_DEV));

	/* The holder saw nothing of it; it stops, checks and closes. */
	atomic_store(&sh->stop, 1);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	log_tally(_metadata, &sh->w[0].t);
	EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status))
		TH_LOG("holder: status 0x%x", status);
	EXPECT_EQ(0ULL, sh->w[0].t.errors);
	EXPECT_EQ(0ULL, sh->w[0].t.corrupt);
	EXPECT_LT(0ULL, sh->w[0].t.ops);
	TH_LOG("holder: %llu ops, left %u blocks",
	       (unsigned long long)sh->w[0].t.ops, sh->w[0].nblocks);

	/* Nothing holds it now: it unloads, blocks and all. */
	ASSERT_EQ(0, vmm_unload());
	ASSERT_RELOADS_FRESH();
	munmap(sh, sizeof(*sh));
}

TEST_F_TIMEOUT(stress, unload_succeeds_after_holder_is_killed, 180)
{
	struct shared *sh = shared_map(2);
	int status = 0;
	pid_t pid;

	ASSERT_NE(NULL, sh);
	close(self->fd);
	self->fd = -1;
	pid = start_holder(_metadata, sh);
	ASSERT_LT(0, pid);
	EXPECT_ERR(EWOULDBLOCK, delete_module("vmm", O_NONBLOCK));
	/* Killed in the middle of whatever it is doing. */
	ASSERT_EQ(0, kill(pid, SIGKILL));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
		TH_LOG("holder: status 0x%x", status);
	log_tally(_metadata, &sh->w[0].t);
	EXPECT_EQ(0ULL, sh->w[0].t.errors);
	/* Its files were released when it died. */
	ASSERT_EQ(0, delete_module("vmm", O_NONBLOCK))
		TH_LOG("delete_module: %s", strerror(errno));
	ASSERT_RELOADS_FRESH();
	munmap(sh, sizeof(*sh));
}

#define OPENERS		2
#define CYCLES		6

/* Open, use, close, until sh->stop, while the module comes and goes. */
static void opener_run(struct shared *sh, unsigned int index)
{
	struct worker *w = &sh->w[index];
	struct vmm_stats_args st;
	char who[24];
	struct ctx c;

	snprintf(who, sizeof(who), "opener %u", index);
	ctx_init(&c, &w->t, index, who);
	while (!atomic_load(&sh->stop) && w->t.errors < STOP_AFTER) {
		errno = 0;
		c.fd = open(VMM_DEV, O_RDWR | O_CLOEXEC);
		if (c.fd < 0) {
			/* No node yet or any more, or a node but no driver. */
			if (errno != ENOENT && errno != ENODEV)
				fail(&c, "open %s: %s", VMM_DEV,
				     strerror(errno));
			else
				w->t.busy++;
		} else {
			/* An open file holds the module: it must work. */
			if (CALL_OK(&c, vmm_stats(c.fd, &st), 0, "STATS", 0))
				check_snapshot(&c, &st);
			w->t.reopens++;
			close(c.fd);
			c.fd = -1;
		}
		/* Sysfs may vanish under a read; it must not crash. */
		vmm_sysfs("used");
		c.op++;
		usleep(rnd_below(&c, 300));
	}
	ctx_fini(&c);
	_exit(0);
}

TEST_F_TIMEOUT(stress, unload_races_open_safely, 180)
{
	struct shared *sh = shared_map(1);
	unsigned long long opens = 0;
	pid_t pids[OPENERS];
	int i, cycle, status;
	long long deadline;
	__u64 attempts = 0;

	ASSERT_NE(NULL, sh);
	close(self->fd);
	self->fd = -1;
	for (i = 0; i < OPENERS; i++) {
		fflush(stdout);
		fflush(stderr);
		pids[i] = fork();
		ASSERT_LE(0, pids[i]);
		if (!pids[i]) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			opener_run(sh, i);
		}
	}
	for (cycle = 0; cycle < CYCLES; cycle++) {
		usleep(20000);
		deadline = now_ns() + 20 * 1000000000LL;
		for (;;) {
			errno = 0;
			attempts++;
			if (!delete_module("vmm", O_NONBLOCK))
				break;
			ASSERT_EQ(EWOULDBLOCK, errno)
				TH_LOG("delete_module: %s", strerror(errno));
			ASSERT_GT(deadline, now_ns())
				TH_LOG("the openers never let go of vmm");
			usleep(50);
		}
		EXPECT_FALSE(vmm_module_loaded());
		ASSERT_EQ(0, vmm_load(ARENA_STR));
	}
	atomic_store(&sh->stop, 1);
	for (i = 0; i < OPENERS; i++) {
		ASSERT_EQ(pids[i], waitpid(pids[i], &status, 0));
		EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status));
		log_tally(_metadata, &sh->w[i].t);
		EXPECT_EQ(0ULL, sh->w[i].t.errors);
		TH_LOG("opener %d: %llu opens, %llu refused", i,
		       (unsigned long long)sh->w[i].t.reopens,
		       (unsigned long long)sh->w[i].t.busy);
		opens += sh->w[i].t.reopens;
	}
	/* Else the race was never run: a device that refuses every open. */
	EXPECT_LT(0ULL, opens);
	TH_LOG("%d unloads in %llu attempts", CYCLES,
	       (unsigned long long)attempts);
	self->fd = open(VMM_DEV, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->fd);
	munmap(sh, sizeof(*sh));
}

/* ---- main: this program's options, then the harness */

static __u64 parse_u64(const char *what, const char *s, __u64 min, __u64 max)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || *end || *s == '-' || v < min || v > max) {
		fprintf(stderr, "vmm_stress_test: %s: '%s' is not a number from %llu to %llu\n",
			what, s, (unsigned long long)min,
			(unsigned long long)max);
		exit(KSFT_FAIL);
	}
	return v;
}

static void print_help(FILE *f)
{
	fprintf(f,
		"usage: vmm_stress_test [--seed N] [--ops M] [--threads T] [--procs P]\n"
		"  --seed N     pseudo-random seed (default %llu; env VMM_STRESS_SEED)\n"
		"  --ops M      operations per worker (default %llu, /%d on a -vmm-debug\n"
		"               kernel; env VMM_STRESS_OPS)\n"
		"  --threads T  worker threads (default %d; env VMM_STRESS_THREADS)\n"
		"  --procs P    worker processes (default %d; env VMM_STRESS_PROCS)\n"
		"  threads + procs: 1 to %d\n",
		DEFAULT_SEED, DEFAULT_OPS, DEBUG_OPS_DIV, DEFAULT_THREADS,
		DEFAULT_PROCS, MAX_WORKERS);
}

static void parse_env(void)
{
	const char *env;

	env = getenv("VMM_STRESS_SEED");
	if (env && *env)
		opt.seed = parse_u64("VMM_STRESS_SEED", env, 0, UINT64_MAX);
	env = getenv("VMM_STRESS_OPS");
	if (env && *env) {
		opt.ops = parse_u64("VMM_STRESS_OPS", env, 1, UINT64_MAX);
		opt.ops_given = true;
	}
	env = getenv("VMM_STRESS_THREADS");
	if (env && *env)
		opt.threads = parse_u64("VMM_STRESS_THREADS", env, 0,
					MAX_WORKERS);
	env = getenv("VMM_STRESS_PROCS");
	if (env && *env)
		opt.procs = parse_u64("VMM_STRESS_PROCS", env, 0, MAX_WORKERS);
}

/* TEST_HARNESS_MAIN, with this program's options parsed first. */
static void __attribute__((constructor)) __constructor_order_last(void)
{
	if (!__constructor_order)
		__constructor_order = _CONSTRUCTOR_ORDER_BACKWARD;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "seed", required_argument, NULL, 's' },
		{ "ops", required_argument, NULL, 'n' },
		{ "threads", required_argument, NULL, 't' },
		{ "procs", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	parse_env();
	while ((ch = getopt_long(argc, argv, "s:n:t:p:h", longopts,
				 NULL)) != -1) {
		switch (ch) {
		case 's':
			opt.seed = parse_u64("--seed", optarg, 0, UINT64_MAX);
			break;
		case 'n':
			opt.ops = parse_u64("--ops", optarg, 1, UINT64_MAX);
			opt.ops_given = true;
			break;
		case 't':
			opt.threads = parse_u64("--threads", optarg, 0,
						MAX_WORKERS);
			break;
		case 'p':
			opt.procs = parse_u64("--procs", optarg, 0,
					      MAX_WORKERS);
			break;
		case 'h':
			print_help(stdout);
			return KSFT_PASS;
		default:
			print_help(stderr);
			return KSFT_FAIL;
		}
	}
	if (optind < argc || opt.threads + opt.procs < 1 ||
	    opt.threads + opt.procs > MAX_WORKERS) {
		fprintf(stderr, "vmm_stress_test: %s\n", optind < argc ?
			"unexpected argument" : "threads + procs out of range");
		print_help(stderr);
		return KSFT_FAIL;
	}
	return test_harness_run(1, argv);
}
