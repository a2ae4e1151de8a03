// SPDX-License-Identifier: GPL-2.0
/*
 * vmm_fuzz_test: seeded random ioctls, reads and writes against /dev/vmm,
 * every result checked against the errno uapi/linux/vmm.h documents for
 * that input and every block's bytes checked against a model.
 *
 * Usage: vmm_fuzz_test [--seed N] [--ops M] [--verbose]
 *   --seed N   seed of the pseudo-random sequence (default 1; decimal or
 *              0x hex); the same seed and op count replay the same calls,
 *              in the 64-bit and the 32-bit build alike
 *   --ops M    operations to run (default 20000)
 *   --verbose  print one line per operation
 * VMM_FUZZ_SEED and VMM_FUZZ_OPS set the same values; the command line
 * wins.  Both values are printed before the first operation, and a failed
 * run ends with the command line that replays it.
 *
 * The kselftest harness owns argv and runs each test in a child with a
 * 30 s default limit, so this program does not use it: it has its own
 * main and prints plain TAP through kselftest.h.  Each TAP test point is
 * one class of input, passing when none of its checks failed:
 *   reject_unknown_commands        random 32-bit numbers, and magic 0xBA
 *                                  with random direction/number/size: ENOTTY
 *   reject_nonzero_reserved_fields otherwise valid calls with a non-zero
 *                                  flags/pad/reserved field: EINVAL
 *   reject_out_of_range_values     huge, negative and wrapping offsets,
 *                                  lengths, sizes, alignments, capacities
 *   reject_inaccessible_pointers   NULL, unmapped, kernel, truncated and
 *                                  read-only argument structs and buffers
 *   reject_unknown_ids             IDs never allocated, freed, 0, and near
 *                                  2^64 and 2^63: ENOENT
 *   serve_valid_requests           alloc/free/write/read/defrag/info/list/
 *                                  stats/select+pread/pwrite, whose results
 *                                  (IDs, first-fit offsets, moved bytes,
 *                                  compact, list entries, mapped counts) are
 *                                  predicted by the model
 *   keep_state_after_errors        after every rejected call: the counters,
 *                                  every block's ID/offset/size and the
 *                                  file's selection are as before
 *   preserve_block_contents        every block read back equals the model,
 *                                  checked every CHECK_EVERY ops and at
 *                                  the end; so do the bytes seen through
 *                                  every mapping, after every DEFRAG too
 *   map_blocks                     mmap(2) of the block selected on a file
 *                                  (mappable, not mappable, freed, none,
 *                                  an O_RDONLY file) at random offsets and
 *                                  lengths, r/rw/exec, shared or private:
 *                                  the errno the header gives, else a
 *                                  mapping that is kept, written through,
 *                                  used as a read/write buffer, split by
 *                                  munmap and mprotect, moved and shrunk
 *                                  by mremap, across DEFRAG and FREE
 *
 * The model knows VMM_ALLOC_MAPPABLE blocks (whole pages on a page
 * boundary: an aligned request of pages), that DEFRAG moves them only to
 * page boundaries, and that a block freed while mapped keeps its range,
 * and moves with compaction, until its last mapping goes.  INFO and LIST
 * must count each block's mappings (VMAs: the pieces of a split count
 * each), STATS the blocks that have any.  Accesses to mappings run under a
 * SIGBUS/SIGSEGV handler, so that a fault there is a mismatch, not a crash.
 * A mismatch prints the op index, the call and what differs; the model
 * then adopts what the kernel holds so that one fault does not cascade.
 * At most MAX_DIAG mismatches are printed, all are counted.  Exit status:
 * KSFT_PASS, KSFT_FAIL on any mismatch, KSFT_SKIP when vmm cannot be
 * reloaded (not root, no module).  To see that it can fail, flip one
 * expectation (e.g. -ENOTTY to -EINVAL in do_unknown_cmd()).
 *
 * Where the header leaves an outcome open, either one is accepted, and the
 * model follows the kernel:
 *   - a WRITE (or pwrite) failing with EFAULT may have stored a prefix of
 *     the readable source bytes; every other byte must keep its old value
 *     (a short pwrite stores exactly the bytes it counts);
 *   - an ALLOC whose struct is read-only fails with EFAULT and leaves no
 *     block, but may have used up an ID and counted in allocs and frees;
 *   - a DEFRAG whose struct is read-only fails with EFAULT, with the blocks
 *     either all where they were or all packed;
 *   - a LIST that has nothing to store may refuse an inaccessible buffer;
 *   - a call with two faults (a non-zero reserved field and an unknown ID)
 *     may report either.
 * An mmap(2) refused for several reasons must give the first in the
 * header's order, after the VFS's own refusals, which come first: an
 * unaligned offset or a zero length (EINVAL), PROT_WRITE of a shared
 * mapping of an O_RDONLY file (EACCES), PROT_EXEC on a noexec mount
 * (EPERM).
 *
 * Generic VFS ioctls (FIOCLEX, FIFREEZE, FS_IOC_*, FIGETBSZ...) are handled
 * before the driver sees the call, so the random command numbers never use
 * their type bytes (0x00, 'T', 'X', 'f', 0x94).  pread/pwrite at negative
 * offsets expect the VFS's EINVAL.
 *
 * Like the other vmm selftests it reloads the module with its own arena
 * size (ARENA_STR) and puts back what it found when it exits
 * (vmm_util.h's destructor).  run_all.sh runs it with the others; the
 * 32-bit build (make m32, run_compat.sh) runs the very same calls through
 * the compat ioctl path, and the _Static_asserts below check that every
 * uapi struct has the same layout in both.
 */
#define _GNU_SOURCE
#define _FILE_OFFSET_BITS 64

#include <getopt.h>
#include <setjmp.h>
#include <signal.h>
#include <stddef.h>
#include <limits.h>
#include <time.h>
#include <sys/personality.h>
#include <sys/statvfs.h>

/*
 * vmm_util.h includes kselftest_harness.h for the other programs; this one
 * only uses its plain helpers and kselftest.h, so the harness's own
 * static test_harness_run() is never called.
 */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#include "vmm_util.h"
#pragma GCC diagnostic pop

#define ARENA_STR	"1M"
#define ARENA_SIZE	(1 * MiB)
#define DEFAULT_SEED	1ULL
#define DEFAULT_OPS	20000ULL
#define CHECK_EVERY	1000	/* full content check period, in ops */
#define MAX_BLOCKS	160	/* above this, frees are favoured */
#define MAX_DIAG	40	/* mismatch lines printed before muting */
#define RO_LEN		(64 * 1024)
#define EDGE_LEN	(64 * 1024)
#define FREED_KEEP	64
/* The module copies in 256 KiB pieces; some blocks are larger. */
#define PIECE		(256 * 1024)
/* Mappings (VMAs) of blocks the fuzzer keeps at most, pieces included. */
#define MAX_VMAS	12

/* A user address in the kernel half: access_ok() refuses it. */
#define KERNEL_U64	0xffff888000000000ULL

#ifndef __printf
#define __printf(a, b)	__attribute__((format(printf, a, b)))
#endif

/* A return value for "-1 without errno", which no check expects. */
#define RET_NO_ERRNO	(-100000L)

/*
 * The ABI is the same for 64-bit and 32-bit (i386) callers, which the
 * module serves through compat_ptr_ioctl() without any translation: every
 * field at the same offset with the same size, every struct the same size,
 * so every command number the same.  These are the x86-64 values; the
 * 32-bit build (make m32), where __u64 is only 4-byte aligned, compiles
 * them too.
 */
#define ABI_FIELD(s, f, off, size) \
	_Static_assert(offsetof(struct s, f) == (off) && \
		       sizeof(((struct s *)0)->f) == (size), \
		       "struct " #s "." #f " is not at " #off ", " #size " bytes")
#define ABI_SIZE(s, size) \
	_Static_assert(sizeof(struct s) == (size), \
		       "struct " #s " is not " #size " bytes")

ABI_FIELD(vmm_alloc_args, size, 0, 8);
ABI_FIELD(vmm_alloc_args, align, 8, 8);
ABI_FIELD(vmm_alloc_args, flags, 16, 4);
ABI_FIELD(vmm_alloc_args, mode, 20, 4);
ABI_FIELD(vmm_alloc_args, id, 24, 8);
ABI_FIELD(vmm_alloc_args, offset, 32, 8);
ABI_FIELD(vmm_alloc_args, reserved, 40, 32);
ABI_SIZE(vmm_alloc_args, 72);

ABI_FIELD(vmm_free_args, id, 0, 8);
ABI_FIELD(vmm_free_args, flags, 8, 4);
ABI_FIELD(vmm_free_args, pad, 12, 4);
ABI_FIELD(vmm_free_args, reserved, 16, 16);
ABI_SIZE(vmm_free_args, 32);

ABI_FIELD(vmm_defrag_args, flags, 0, 4);
ABI_FIELD(vmm_defrag_args, pad, 4, 4);
ABI_FIELD(vmm_defrag_args, bytes_moved, 8, 8);
ABI_FIELD(vmm_defrag_args, blocks_moved, 16, 8);
ABI_FIELD(vmm_defrag_args, budget, 24, 8);
ABI_FIELD(vmm_defrag_args, compact, 32, 8);
ABI_FIELD(vmm_defrag_args, reserved, 40, 16);
ABI_SIZE(vmm_defrag_args, 56);

ABI_FIELD(vmm_info_args, id, 0, 8);
ABI_FIELD(vmm_info_args, flags, 8, 4);
ABI_FIELD(vmm_info_args, pad, 12, 4);
ABI_FIELD(vmm_info_args, offset, 16, 8);
ABI_FIELD(vmm_info_args, size, 24, 8);
ABI_FIELD(vmm_info_args, uid, 32, 4);
ABI_FIELD(vmm_info_args, gid, 36, 4);
ABI_FIELD(vmm_info_args, mode, 40, 4);
ABI_FIELD(vmm_info_args, attrs, 44, 4);
ABI_FIELD(vmm_info_args, mapped, 48, 8);
ABI_FIELD(vmm_info_args, reserved, 56, 8);
ABI_SIZE(vmm_info_args, 64);

ABI_FIELD(vmm_stats_args, size, 0, 8);
ABI_FIELD(vmm_stats_args, used, 8, 8);
ABI_FIELD(vmm_stats_args, free, 16, 8);
ABI_FIELD(vmm_stats_args, largest_free, 24, 8);
ABI_FIELD(vmm_stats_args, blocks, 32, 8);
ABI_FIELD(vmm_stats_args, fragmentation, 40, 8);
ABI_FIELD(vmm_stats_args, allocs, 48, 8);
ABI_FIELD(vmm_stats_args, frees, 56, 8);
ABI_FIELD(vmm_stats_args, alloc_failures, 64, 8);
ABI_FIELD(vmm_stats_args, defrags, 72, 8);
ABI_FIELD(vmm_stats_args, bytes_moved, 80, 8);
ABI_FIELD(vmm_stats_args, metadata_bytes, 88, 8);
ABI_FIELD(vmm_stats_args, policy, 96, 8);
ABI_FIELD(vmm_stats_args, max_lock_hold_ns, 104, 8);
ABI_FIELD(vmm_stats_args, mapped_blocks, 112, 8);
ABI_FIELD(vmm_stats_args, reserved, 120, 8);
ABI_SIZE(vmm_stats_args, 128);

ABI_FIELD(vmm_select_args, id, 0, 8);
ABI_FIELD(vmm_select_args, flags, 8, 4);
ABI_FIELD(vmm_select_args, pad, 12, 4);
ABI_FIELD(vmm_select_args, reserved, 16, 16);
ABI_SIZE(vmm_select_args, 32);

ABI_FIELD(vmm_rw_args, id, 0, 8);
ABI_FIELD(vmm_rw_args, offset, 8, 8);
ABI_FIELD(vmm_rw_args, length, 16, 8);
ABI_FIELD(vmm_rw_args, buffer, 24, 8);
ABI_FIELD(vmm_rw_args, flags, 32, 4);
ABI_FIELD(vmm_rw_args, pad, 36, 4);
ABI_FIELD(vmm_rw_args, reserved, 40, 16);
ABI_SIZE(vmm_rw_args, 56);

ABI_FIELD(vmm_block_info, id, 0, 8);
ABI_FIELD(vmm_block_info, offset, 8, 8);
ABI_FIELD(vmm_block_info, size, 16, 8);
ABI_FIELD(vmm_block_info, uid, 24, 4);
ABI_FIELD(vmm_block_info, gid, 28, 4);
ABI_FIELD(vmm_block_info, mode, 32, 4);
ABI_FIELD(vmm_block_info, attrs, 36, 4);
ABI_FIELD(vmm_block_info, mapped, 40, 8);
ABI_FIELD(vmm_block_info, reserved, 48, 16);
ABI_SIZE(vmm_block_info, 64);

ABI_FIELD(vmm_list_args, buffer, 0, 8);
ABI_FIELD(vmm_list_args, capacity, 8, 4);
ABI_FIELD(vmm_list_args, count, 12, 4);
ABI_FIELD(vmm_list_args, start_id, 16, 8);
ABI_FIELD(vmm_list_args, next_id, 24, 8);
ABI_FIELD(vmm_list_args, flags, 32, 4);
ABI_FIELD(vmm_list_args, pad, 36, 4);
ABI_FIELD(vmm_list_args, reserved, 40, 16);
ABI_SIZE(vmm_list_args, 56);

/* Direction, size, magic and number, as a 64-bit build computes them. */
_Static_assert(VMM_IOC_ALLOC == 0xc048ba00U, "VMM_IOC_ALLOC");
_Static_assert(VMM_IOC_FREE == 0x4020ba01U, "VMM_IOC_FREE");
_Static_assert(VMM_IOC_DEFRAG == 0xc038ba02U, "VMM_IOC_DEFRAG");
_Static_assert(VMM_IOC_INFO == 0xc040ba03U, "VMM_IOC_INFO");
_Static_assert(VMM_IOC_STATS == 0x8080ba04U, "VMM_IOC_STATS");
_Static_assert(VMM_IOC_SELECT == 0x4020ba05U, "VMM_IOC_SELECT");
_Static_assert(VMM_IOC_READ == 0x4038ba06U, "VMM_IOC_READ");
_Static_assert(VMM_IOC_WRITE == 0x4038ba07U, "VMM_IOC_WRITE");
_Static_assert(VMM_IOC_LIST == 0xc038ba08U, "VMM_IOC_LIST");

/* ---- TAP test points */

enum cat {
	C_CMD, C_RESERVED, C_RANGE, C_POINTER, C_ID, C_VALID, C_STATE, C_DATA,
	C_MAP, C_BATCH, NCAT
};

static const char *const cat_name[NCAT] = {
	[C_CMD]		= "reject_unknown_commands",
	[C_RESERVED]	= "reject_nonzero_reserved_fields",
	[C_RANGE]	= "reject_out_of_range_values",
	[C_POINTER]	= "reject_inaccessible_pointers",
	[C_ID]		= "reject_unknown_ids",
	[C_VALID]	= "serve_valid_requests",
	[C_STATE]	= "keep_state_after_errors",
	[C_DATA]	= "preserve_block_contents",
	[C_MAP]		= "map_blocks",
	[C_BATCH]	= "run_batches",
};

static unsigned long cat_checks[NCAT], cat_fails[NCAT];
static unsigned long diag_lines, total_fails;
static bool need_resync;

static unsigned long long op_index;	/* the op being run, from 0 */
static char op_desc[256];		/* what it does, for diagnostics */
static bool verbose;

static int vfd = -1;	/* ioctls */
static int ffd = -1;	/* the file interface: SELECT + pread/pwrite */
static int gfd = -1;	/* selects blocks that are then freed */
static int nfd = -1;	/* never selects anything */
static int mfd = -1;	/* selects blocks to mmap(2) */
static int rofd = -1;	/* the same, opened O_RDONLY */
static long pgsz;
static bool dev_noexec;	/* VMM_DEV's mount is noexec: PROT_EXEC is EPERM */
static bool read_exec;	/* READ_IMPLIES_EXEC: every mapping asks for exec */

/* Describe the current op (printed with -v and with any mismatch). */
static void __printf(1, 2) op(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(op_desc, sizeof(op_desc), fmt, ap);
	va_end(ap);
	if (verbose)
		printf("# op %llu: %s\n", op_index, op_desc);
}

static void __printf(2, 3)
mismatch(enum cat c, const char *fmt, ...)
{
	va_list ap;

	cat_fails[c]++;
	total_fails++;
	/* Data mismatches adopt the kernel's bytes where they are found. */
	if (c != C_DATA)
		need_resync = true;
	if (diag_lines++ >= MAX_DIAG) {
		if (diag_lines == MAX_DIAG + 1)
			printf("# further mismatches are counted, not printed\n");
		return;
	}
	printf("# op %llu [%s] %s: ", op_index, cat_name[c], op_desc);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

/* True if @cond; otherwise a mismatch in @c described by @fmt. */
static bool __printf(3, 4)
check(enum cat c, bool cond, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	cat_checks[c]++;
	if (cond)
		return true;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	mismatch(c, "%s", msg);
	return false;
}

static const char *errname(long e)
{
	switch (e) {
	case EPERM: return "EPERM";
	case ENOENT: return "ENOENT";
	case EINTR: return "EINTR";
	case ENXIO: return "ENXIO";
	case ENODEV: return "ENODEV";
	case EBADF: return "EBADF";
	case ENOMEM: return "ENOMEM";
	case EACCES: return "EACCES";
	case EFAULT: return "EFAULT";
	case EINVAL: return "EINVAL";
	case ENOTTY: return "ENOTTY";
	case EFBIG: return "EFBIG";
	case ENOSPC: return "ENOSPC";
	case ESPIPE: return "ESPIPE";
	case ERANGE: return "ERANGE";
	case EOVERFLOW: return "EOVERFLOW";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	default:
		return "E?";
	}
}

/* A result as "N" or "-1/EFOO"; two rotating buffers. */
static const char *ret_str(long r)
{
	static char buf[2][40];
	static int i;

	i ^= 1;
	if (r == RET_NO_ERRNO)
		snprintf(buf[i], sizeof(buf[i]), "-1 with errno 0");
	else if (r < 0)
		snprintf(buf[i], sizeof(buf[i]), "-1/%s (%ld)", errname(-r), -r);
	else
		snprintf(buf[i], sizeof(buf[i]), "%ld", r);
	return buf[i];
}

/* Check a result encoded as a count or -errno against the expected one. */
static bool expect_ret(enum cat c, const char *call, long got, long want)
{
	return check(c, got == want, "%s returned %s, expected %s", call,
		     ret_str(got), ret_str(want));
}

/* ---- system calls, results as value or -errno */

static long enc(long r)
{
	if (r != -1)
		return r < 0 ? RET_NO_ERRNO : r;
	return errno > 0 ? -(long)errno : RET_NO_ERRNO;
}

static long xioctl(int fd, unsigned long cmd, void *arg)
{
	errno = 0;
	return enc(ioctl(fd, cmd, arg));
}

static long xpread(int fd, void *buf, size_t n, __u64 off)
{
	errno = 0;
	return enc(pread(fd, buf, n, (off_t)off));
}

static long xpwrite(int fd, const void *buf, size_t n, __u64 off)
{
	errno = 0;
	return enc(pwrite(fd, buf, n, (off_t)off));
}

static long xlseek(int fd, __u64 off, int whence)
{
	off_t r;

	errno = 0;
	r = lseek(fd, (off_t)off, whence);
	if (r == (off_t)-1)
		return errno > 0 ? -(long)errno : RET_NO_ERRNO;
	/* Positions here stay far below LONG_MAX, also in the 32-bit build. */
	return r > LONG_MAX ? RET_NO_ERRNO : (long)r;
}

/* ---- pseudo-random numbers: splitmix64, the same in every ABI */

static __u64 rng_state;

static __u64 rnd(void)
{
	__u64 z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static __u64 rnd_below(__u64 n)
{
	return n ? rnd() % n : 0;
}

static __u64 rnd_range(__u64 lo, __u64 hi)
{
	return lo + rnd_below(hi - lo + 1);
}

static bool chance(unsigned int percent)
{
	return rnd_below(100) < percent;
}

/* A non-zero value: one random bit or random bits, of @bits width. */
static __u64 rnd_nonzero(unsigned int bits)
{
	__u64 v;

	if (chance(50))
		return 1ULL << rnd_below(bits);
	v = rnd();
	if (bits < 64)
		v &= (1ULL << bits) - 1;
	return v ? v : 1;
}

/* ---- memory the calls point into */

static unsigned char *scratch;	/* RW user buffer, ARENA_SIZE + 2 pages */
static size_t scratch_len;
static unsigned char *rbuf;	/* verification reads, ARENA_SIZE */
static unsigned char *srcbuf;	/* data about to be written, ARENA_SIZE */
static unsigned char *ro;	/* RO_LEN read-only bytes, ro_pattern */
static unsigned char *ro_pattern;
/* EDGE_LEN RW bytes that end here, at a PROT_NONE page */
static unsigned char *edge_end;
static unsigned char *argpg;	/* one page, made read-only per call */

static void *map_or_die(size_t len, int prot)
{
	void *p = mmap(NULL, len, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		ksft_exit_fail_msg("mmap %zu bytes: %s\n", len, strerror(errno));
	return p;
}

static void setup_memory(void)
{
	unsigned char *edge;

	pgsz = sysconf(_SC_PAGESIZE);
	scratch_len = ARENA_SIZE + 2 * pgsz;
	scratch = map_or_die(scratch_len, PROT_READ | PROT_WRITE);
	rbuf = map_or_die(ARENA_SIZE, PROT_READ | PROT_WRITE);
	srcbuf = map_or_die(ARENA_SIZE, PROT_READ | PROT_WRITE);
	ro_pattern = map_or_die(RO_LEN, PROT_READ | PROT_WRITE);
	ro = map_or_die(RO_LEN, PROT_READ | PROT_WRITE);
	vmm_fill(ro_pattern, RO_LEN, 0x5eed);
	memcpy(ro, ro_pattern, RO_LEN);
	if (mprotect(ro, RO_LEN, PROT_READ))
		ksft_exit_fail_msg("mprotect: %s\n", strerror(errno));
	edge = map_or_die(EDGE_LEN + pgsz, PROT_READ | PROT_WRITE);
	edge_end = edge + EDGE_LEN;
	if (mprotect(edge_end, pgsz, PROT_NONE))
		ksft_exit_fail_msg("mprotect: %s\n", strerror(errno));
	argpg = map_or_die(pgsz, PROT_READ | PROT_WRITE);
}

/*
 * A page that was mapped and is unmapped again, made afresh for each call
 * so no later mapping can have reused it.
 */
static void *unmapped(void)
{
	void *p = vmm_unmapped_addr();

	if (!p)
		ksft_exit_fail_msg("mmap: %s\n", strerror(errno));
	return p;
}

/* ---- the model */

struct mblock {
	__u64 id;
	__u64 off;
	__u64 size;		/* rounded up to pages if mappable */
	unsigned int seed;	/* per-block seed of the data written to it */
	unsigned int writes;
	unsigned char *data;	/* what the block must hold */
	bool mappable;		/* allocated with VMM_ALLOC_MAPPABLE */
	bool dead;		/* freed while mapped: in zb[], not mb[] */
};

/* A freed ID, and what its block was. */
struct freed_id {
	__u64 id;
	__u64 size;
	bool mappable;
};

struct counter {
	__u64 lo, hi;		/* the kernel's value lies in [lo, hi] */
};

static struct mblock mb[4096];	/* live blocks, in increasing ID order */
static size_t mb_n;
/*
 * Blocks freed while mapped: their IDs are gone, but their ranges stay
 * held and their bytes reachable through the mappings until the last one
 * goes.  Each has at least one entry in vmas[], so there are at most
 * MAX_VMAS of them.
 */
static struct mblock zb[MAX_VMAS];
static size_t zb_n;
static __u64 last_id;		/* the highest ID the kernel handed out */
static __u64 id_slack;		/* IDs an EFAULTed ALLOC may have used */
static struct freed_id freed[FREED_KEEP];
static unsigned int freed_n;

/*
 * A mapping of a block: one VMA, as the kernel counts them.  @len bytes
 * at @addr show the block's bytes from @boff on.
 */
struct vma {
	unsigned char *addr;
	__u64 len;
	__u64 boff;
	__u64 id;		/* the block, in mb[] or (freed) in zb[] */
	int prot;
	bool rdonly;		/* made from an O_RDONLY file */
	bool broken;		/* an access faulted: never touched again */
};

static struct vma vmas[MAX_VMAS];
static size_t vma_n;

/* The selections of mfd, rofd and gfd (ffd's are sel_id and sel_live). */
struct fdsel {
	__u64 id;		/* 0: none */
	bool live;
};

static struct fdsel msel, rsel, gsel;

/* How much of the mapping life cycle a run went through, for the log. */
static struct {
	unsigned long made, moved, moved_dead, freed, released, split, remapped,
		copies;
} cov;
static struct counter c_allocs, c_frees, c_failures, c_defrags, c_moved;

/* The selection of ffd: block ID (0 none), whether it is live, position. */
static __u64 sel_id;
static bool sel_live;
static __u64 sel_pos;

/* Every block that holds a range, live or dead, by offset. */
static struct mblock *by_off[ARRAY_SIZE(mb) + ARRAY_SIZE(zb)];
static size_t by_off_n;
static bool by_off_valid;

/* Blocks were added, removed or moved: by_off must be rebuilt. */
static void mb_touch(void)
{
	by_off_valid = false;
}

static int cmp_off(const void *a, const void *b)
{
	__u64 x = (*(struct mblock *const *)a)->off;
	__u64 y = (*(struct mblock *const *)b)->off;

	return x < y ? -1 : x > y;
}

/* The live and the dead blocks in offset order (by_off_n entries). */
static struct mblock *const *mb_by_offset(void)
{
	size_t i;

	if (!by_off_valid) {
		by_off_n = 0;
		for (i = 0; i < mb_n; i++)
			by_off[by_off_n++] = &mb[i];
		for (i = 0; i < zb_n; i++)
			by_off[by_off_n++] = &zb[i];
		qsort(by_off, by_off_n, sizeof(by_off[0]), cmp_off);
		by_off_valid = true;
	}
	return by_off;
}

static void ctr_add(struct counter *c, __u64 n)
{
	c->lo += n;
	c->hi += n;
}

/* The kernel may or may not have counted @n more. */
static void ctr_maybe(struct counter *c, __u64 n)
{
	c->hi += n;
}

static long mb_find(__u64 id)
{
	size_t lo = 0, hi = mb_n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (mb[mid].id == id)
			return (long)mid;
		if (mb[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

static struct mblock *mb_add(__u64 id, __u64 off, __u64 size, bool mappable)
{
	struct mblock *b;
	size_t i = mb_n;

	if (mb_n == ARRAY_SIZE(mb))
		ksft_exit_fail_msg("model: more than %zu blocks\n",
				   ARRAY_SIZE(mb));
	/* Usually appended: IDs grow.  A resync may insert in the middle. */
	while (i > 0 && mb[i - 1].id > id) {
		mb[i] = mb[i - 1];
		i--;
	}
	b = &mb[i];
	b->id = id;
	b->off = off;
	b->size = size;
	b->seed = (unsigned int)rnd();
	b->writes = 0;
	b->mappable = mappable;
	b->dead = false;
	b->data = calloc(1, size);
	mb_touch();
	if (!b->data)
		ksft_exit_fail_msg("calloc %llu\n", (unsigned long long)size);
	mb_n++;
	if (id > last_id)
		last_id = id;
	return b;
}

/* The mappings of block @id: what INFO and LIST must say it has. */
static __u64 nmaps_of(__u64 id)
{
	__u64 n = 0;
	size_t i;

	for (i = 0; i < vma_n; i++)
		n += vmas[i].id == id;
	return n;
}

/*
 * Block @i is freed: its ID goes; if it is mapped, its range and bytes
 * stay, in zb[], until the last of its mappings goes (zombies_reap()).
 */
static void mb_remove(size_t i)
{
	__u64 id = mb[i].id;

	freed[freed_n++ % FREED_KEEP] = (struct freed_id){
		.id = id, .size = mb[i].size, .mappable = mb[i].mappable };
	if (nmaps_of(id)) {
		if (zb_n == ARRAY_SIZE(zb))
			ksft_exit_fail_msg("model: more than %zu dead blocks\n",
					   ARRAY_SIZE(zb));
		zb[zb_n] = mb[i];
		zb[zb_n++].dead = true;
		cov.freed++;
	} else {
		free(mb[i].data);
	}
	memmove(&mb[i], &mb[i + 1], (mb_n - i - 1) * sizeof(mb[0]));
	mb_n--;
	mb_touch();
	if (sel_id == id)
		sel_live = false;
	if (msel.id == id)
		msel.live = false;
	if (rsel.id == id)
		rsel.live = false;
	if (gsel.id == id)
		gsel.live = false;
}

/* Dead blocks whose last mapping went: their ranges are free now. */
static void zombies_reap(void)
{
	size_t i;

	for (i = zb_n; i-- > 0;) {
		if (nmaps_of(zb[i].id))
			continue;
		cov.released++;
		free(zb[i].data);
		zb[i] = zb[--zb_n];
		mb_touch();
	}
}

/* The block of ID @id, live or dead, or NULL. */
static struct mblock *block_of(__u64 id)
{
	long i = mb_find(id);
	size_t k;

	if (i >= 0)
		return &mb[i];
	for (k = 0; k < zb_n; k++)
		if (zb[k].id == id)
			return &zb[k];
	return NULL;
}

/* What a freed ID's block was: false if the model forgot it. */
static bool freed_attrs(__u64 id, __u64 *size, bool *mappable)
{
	unsigned int i, n = freed_n < FREED_KEEP ? freed_n : FREED_KEEP;

	for (i = 0; i < n; i++) {
		if (freed[i].id == id) {
			*size = freed[i].size;
			*mappable = freed[i].mappable;
			return true;
		}
	}
	return false;
}

static struct mblock *mb_random(void)
{
	return mb_n ? &mb[rnd_below(mb_n)] : NULL;
}

static __u64 round_up_pow2(__u64 v, __u64 align)
{
	return (v + align - 1) & ~(align - 1);
}

/* The lowest gap of at least @need bytes: sets *@start and *@end. */
static bool model_lowest_gap(__u64 need, __u64 *start, __u64 *end)
{
	struct mblock *const *order = mb_by_offset();
	__u64 cursor = 0;
	size_t i;

	for (i = 0; i <= by_off_n; i++) {
		__u64 limit = i < by_off_n ? order[i]->off : ARENA_SIZE;

		if (limit - cursor >= need) {
			*start = cursor;
			*end = limit;
			return true;
		}
		if (i < by_off_n)
			cursor = order[i]->off + order[i]->size;
	}
	return false;
}

/*
 * First fit as the header defines it: the lowest gap an unaligned request
 * of @size gets, if the aligned block fits there; else the lowest gap of
 * at least @size + @align - 1 bytes, which holds it at any alignment.
 */
static bool model_first_fit(__u64 size, __u64 align, __u64 *off)
{
	__u64 start, end;

	if (align <= 1)
		align = 1;
	if (!model_lowest_gap(size, &start, &end))
		return false;
	if (round_up_pow2(start, align) + size > end &&
	    (size + align - 1 < size ||
	     !model_lowest_gap(size + align - 1, &start, &end)))
		return false;
	*off = round_up_pow2(start, align);
	return true;
}

/* A mappable request: whole pages, on a page boundary at least. */
static void mappable_request(__u64 *size, __u64 *align)
{
	*size = round_up_pow2(*size, (__u64)pgsz);
	if (*align < (__u64)pgsz)
		*align = (__u64)pgsz;
}

/* Bytes in blocks, the dead ones' included: what is not free. */
static __u64 model_used(void)
{
	__u64 used = 0;
	size_t i;

	for (i = 0; i < mb_n; i++)
		used += mb[i].size;
	for (i = 0; i < zb_n; i++)
		used += zb[i].size;
	return used;
}

static __u64 model_largest_free(void)
{
	struct mblock *const *order = mb_by_offset();
	__u64 cursor = 0, best = 0;
	size_t i;

	for (i = 0; i < by_off_n; i++) {
		if (order[i]->off - cursor > best)
			best = order[i]->off - cursor;
		cursor = order[i]->off + order[i]->size;
	}
	if (ARENA_SIZE - cursor > best)
		best = ARENA_SIZE - cursor;
	return best;
}

/* Blocks that hold a range and have a mapping, dead ones included. */
static __u64 model_mapped_blocks(void)
{
	__u64 n = zb_n;
	size_t i;

	for (i = 0; i < mb_n; i++)
		n += nmaps_of(mb[i].id) != 0;
	return n;
}

/*
 * DEFRAG: every block slides down next to the one below it, in offset
 * order, a mappable one to the first page boundary there.  A block freed
 * while mapped still holds its range, and moves like the others (its
 * mappings follow).  Returns the bytes and blocks that move; @apply sets
 * the offsets.
 */
static void model_defrag(__u64 *bytes, __u64 *blocks, bool apply)
{
	struct mblock *const *order = mb_by_offset();
	__u64 cursor = 0, to;
	size_t i;

	*bytes = 0;
	*blocks = 0;
	for (i = 0; i < by_off_n; i++) {
		struct mblock *b = order[i];

		to = b->mappable ? round_up_pow2(cursor, (__u64)pgsz) : cursor;
		if (b->off != to) {
			*bytes += b->size;
			*blocks += 1;
			if (apply && nmaps_of(b->id)) {
				cov.moved++;
				cov.moved_dead += b->dead;
			}
			if (apply)
				b->off = to;	/* order kept */
		}
		cursor = to + b->size;
	}
}

/*
 * DEFRAG's @compact for the arena as the model holds it: no free range
 * but the last is a page or larger (the ranges below mappable blocks are
 * shorter than a page after a full pass).
 */
static bool model_compact(void)
{
	struct mblock *const *order = mb_by_offset();
	__u64 cursor = 0;
	bool big = false;
	size_t i;

	for (i = 0; i < by_off_n; i++) {
		big = big || order[i]->off - cursor >= (__u64)pgsz;
		cursor = order[i]->off + order[i]->size;
	}
	/* The last range, above the last block, may be of any size. */
	return !big;
}

/* ---- checks of the kernel's state against the model */

/* The kernel's counter @v must lie in @ctr's range; narrows it to @v. */
static void check_counter(enum cat c, const char *name, struct counter *ctr,
			  __u64 v)
{
	if (ctr->lo == ctr->hi)
		check(c, v == ctr->lo, "stats.%s = %llu, expected %llu", name,
		      (unsigned long long)v, (unsigned long long)ctr->lo);
	else
		check(c, v >= ctr->lo && v <= ctr->hi,
		      "stats.%s = %llu, expected %llu to %llu", name,
		      (unsigned long long)v, (unsigned long long)ctr->lo,
		      (unsigned long long)ctr->hi);
	ctr->lo = ctr->hi = v;
}

#define CHECK_FIELD(c, what, got, want) \
	check(c, (__u64)(got) == (__u64)(want), "%s = %llu, expected %llu", \
	      what, (unsigned long long)(got), (unsigned long long)(want))

/* VMM_IOC_STATS, with garbage in the output-only struct, against the model. */
static void check_stats(enum cat c)
{
	struct vmm_stats_args st;
	__u64 used = model_used(), largest = model_largest_free();
	__u64 free_b = ARENA_SIZE - used;
	unsigned int i;
	long r;

	for (i = 0; i < sizeof(st) / 8; i++)
		((__u64 *)&st)[i] = rnd();
	r = xioctl(vfd, VMM_IOC_STATS, &st);
	if (!expect_ret(c, "VMM_IOC_STATS", r, 0))
		return;
	CHECK_FIELD(c, "stats.size", st.size, ARENA_SIZE);
	CHECK_FIELD(c, "stats.used", st.used, used);
	CHECK_FIELD(c, "stats.free", st.free, free_b);
	CHECK_FIELD(c, "stats.largest_free", st.largest_free, largest);
	CHECK_FIELD(c, "stats.blocks", st.blocks, mb_n);
	CHECK_FIELD(c, "stats.fragmentation", st.fragmentation,
		    vmm_frag(free_b, largest));
	CHECK_FIELD(c, "stats.reserved", st.reserved, 0);
	CHECK_FIELD(c, "stats.policy", st.policy, VMM_STATS_POLICY_FIRST);
	CHECK_FIELD(c, "stats.mapped_blocks", st.mapped_blocks,
		    model_mapped_blocks());
	check(c, st.allocs - st.frees == st.blocks,
	      "stats: allocs %llu - frees %llu != blocks %llu",
	      (unsigned long long)st.allocs, (unsigned long long)st.frees,
	      (unsigned long long)st.blocks);
	check_counter(c, "allocs", &c_allocs, st.allocs);
	check_counter(c, "frees", &c_frees, st.frees);
	check_counter(c, "alloc_failures", &c_failures, st.alloc_failures);
	check_counter(c, "defrags", &c_defrags, st.defrags);
	check_counter(c, "bytes_moved", &c_moved, st.bytes_moved);
}

/*
 * What a LIST from @start_id with @cap entries must return.  The kernel
 * walks IDs upwards and passes over freed blocks that mappings still hold
 * (zb[]), at most @cap of them a call: one more ends the call there.
 */
static __u32 model_list(__u64 start_id, __u32 cap, size_t *first,
			__u64 *next_id)
{
	__u64 dead[MAX_VMAS];
	size_t i = 0, j, k, nd = 0;
	__u32 count = 0, skipped = 0;

	while (i < mb_n && mb[i].id < start_id)
		i++;
	*first = i;
	for (j = 0; j < zb_n; j++) {
		if (zb[j].id < start_id)
			continue;
		for (k = nd++; k > 0 && dead[k - 1] > zb[j].id; k--)
			dead[k] = dead[k - 1];
		dead[k] = zb[j].id;
	}
	*next_id = 0;
	for (j = 0; i < mb_n || j < nd;) {
		if (j < nd && (i == mb_n || dead[j] < mb[i].id)) {
			if (++skipped > cap) {
				*next_id = dead[j];
				break;
			}
			j++;
			continue;
		}
		if (count == cap) {
			*next_id = mb[i].id;
			break;
		}
		count++;
		i++;
	}
	return count;
}

/* @n entries at @e must describe model blocks @first.. exactly. */
static void check_list_entries(enum cat c, const struct vmm_block_info *e,
			       __u32 n, size_t first)
{
	__u32 i;
	unsigned int k;

	for (i = 0; i < n; i++) {
		const struct mblock *b = &mb[first + i];
		__u32 attrs = b->mappable ? VMM_BLOCK_MAPPABLE : 0;
		__u64 nmaps = nmaps_of(b->id);
		bool ok = e[i].id == b->id && e[i].offset == b->off &&
			  e[i].size == b->size && e[i].attrs == attrs &&
			  e[i].mapped == nmaps;

		for (k = 0; k < ARRAY_SIZE(e[i].reserved); k++)
			ok = ok && !e[i].reserved[k];
		if (!check(c, ok,
			   "list entry %u: id %llu offset %llu size %llu attrs %#x mapped %llu, expected id %llu offset %llu size %llu attrs %#x mapped %llu, reserved 0",
			   i, (unsigned long long)e[i].id,
			   (unsigned long long)e[i].offset,
			   (unsigned long long)e[i].size, e[i].attrs,
			   (unsigned long long)e[i].mapped,
			   (unsigned long long)b->id,
			   (unsigned long long)b->off,
			   (unsigned long long)b->size, attrs,
			   (unsigned long long)nmaps))
			return;
	}
}

/*
 * Every live block's ID, offset and size, through one LIST: room for
 * more entries than there are blocks, live or freed and still mapped
 * (which LIST passes over, up to its capacity), so the call sees all.
 */
static void check_list(enum cat c)
{
	struct vmm_list_args a = {
		.buffer = (__u64)(uintptr_t)scratch,
		.capacity = (__u32)(mb_n + zb_n + 1),
		.start_id = 0,
	};
	long r = xioctl(vfd, VMM_IOC_LIST, &a);

	if (!expect_ret(c, "VMM_IOC_LIST (all)", r, 0))
		return;
	if (!check(c, a.count == mb_n && a.next_id == 0,
		   "LIST: count %u next_id %llu, expected %zu blocks and 0",
		   a.count, (unsigned long long)a.next_id, mb_n))
		return;
	check_list_entries(c, (const struct vmm_block_info *)scratch, a.count,
			   0);
}

/* Read block @b whole into rbuf; false (and a mismatch) if that fails. */
static bool read_block(enum cat c, const struct mblock *b)
{
	struct vmm_rw_args a = {
		.id = b->id, .length = b->size,
		.buffer = (__u64)(uintptr_t)rbuf,
	};
	long r = xioctl(vfd, VMM_IOC_READ, &a);

	if (check(c, r == 0, "VMM_IOC_READ block %llu (%llu bytes) returned %s",
		  (unsigned long long)b->id, (unsigned long long)b->size,
		  ret_str(r)))
		return true;
	need_resync = true;
	return false;
}

/* Report the first byte of @b where rbuf differs from the model. */
static bool check_bytes(enum cat c, struct mblock *b, const char *what)
{
	__u64 i;

	if (!memcmp(rbuf, b->data, b->size)) {
		cat_checks[c]++;
		return true;
	}
	for (i = 0; i < b->size && rbuf[i] == b->data[i]; i++)
		;
	mismatch(c, "%s: block %llu (offset %llu, size %llu) byte %llu is 0x%02x, expected 0x%02x",
		 what, (unsigned long long)b->id, (unsigned long long)b->off,
		 (unsigned long long)b->size, (unsigned long long)i, rbuf[i],
		 b->data[i]);
	memcpy(b->data, rbuf, b->size);	/* adopt, so one fault reports once */
	return false;
}

static void check_block(enum cat c, struct mblock *b, const char *what)
{
	if (read_block(c, b))
		check_bytes(c, b, what);
}

static void check_all_blocks(const char *what)
{
	size_t i;

	for (i = 0; i < mb_n; i++)
		check_block(C_DATA, &mb[i], what);
}

/* What lseek(ffd, 0, SEEK_CUR) must return for the model's selection. */
static long sel_expected_pos(void)
{
	if (!sel_id)
		return -ENXIO;
	return sel_live ? (long)sel_pos : -ENOENT;
}

static void check_selection(enum cat c)
{
	expect_ret(c, "lseek(selected file, 0, SEEK_CUR)",
		   xlseek(ffd, 0, SEEK_CUR), sel_expected_pos());
}

/* After a rejected call: the counters and the block table are as before. */
static void check_unchanged(void)
{
	check_stats(C_STATE);
	check_list(C_STATE);
}

/*
 * Rebuild the model from the kernel after a mismatch: blocks from LIST,
 * their bytes from READ, the counters from STATS.  The mismatch has been
 * reported; this only keeps it from being reported again and again.
 */
static void model_resync(void)
{
	struct vmm_list_args a = {
		.buffer = (__u64)(uintptr_t)scratch, .capacity = VMM_LIST_MAX,
	};
	struct vmm_block_info *e = (struct vmm_block_info *)scratch;
	struct vmm_stats_args st;
	size_t i;
	__u32 k;

	need_resync = false;
	if (xioctl(vfd, VMM_IOC_LIST, &a) || a.next_id)
		ksft_exit_fail_msg("op %llu: resync: LIST failed\n", op_index);
	for (i = mb_n; i-- > 0;) {
		bool live = false;

		for (k = 0; k < a.count; k++)
			live = live || e[k].id == mb[i].id;
		if (!live)
			mb_remove(i);
	}
	for (k = 0; k < a.count; k++) {
		long j = mb_find(e[k].id);
		struct mblock *b;

		if (j >= 0 && mb[j].size != e[k].size) {
			mb_remove((size_t)j);
			j = -1;
		}
		b = j >= 0 ? &mb[j] : mb_add(e[k].id, e[k].offset, e[k].size,
					     e[k].attrs & VMM_BLOCK_MAPPABLE);
		b->off = e[k].offset;
		b->mappable = e[k].attrs & VMM_BLOCK_MAPPABLE;
	}
	mb_touch();
	for (i = 0; i < mb_n; i++) {
		struct vmm_rw_args r = {
			.id = mb[i].id, .length = mb[i].size,
			.buffer = (__u64)(uintptr_t)mb[i].data,
		};

		if (xioctl(vfd, VMM_IOC_READ, &r))
			ksft_exit_fail_msg("op %llu: resync: READ failed\n",
					   op_index);
	}
	if (xioctl(vfd, VMM_IOC_STATS, &st))
		ksft_exit_fail_msg("op %llu: resync: STATS failed\n", op_index);
	c_allocs.lo = c_allocs.hi = st.allocs;
	c_frees.lo = c_frees.hi = st.frees;
	c_failures.lo = c_failures.hi = st.alloc_failures;
	c_defrags.lo = c_defrags.hi = st.defrags;
	c_moved.lo = c_moved.hi = st.bytes_moved;
	id_slack += 1;
	sel_pos = 0;
	if (sel_id) {
		long p = xlseek(ffd, 0, SEEK_CUR);

		sel_live = p >= 0;
		sel_pos = p >= 0 ? (__u64)p : 0;
	}
	msel.live = msel.live && mb_find(msel.id) >= 0;
	rsel.live = rsel.live && mb_find(rsel.id) >= 0;
	gsel.live = gsel.live && mb_find(gsel.id) >= 0;
}

/* ---- the commands: layouts, for corrupting and placing argument structs */

enum {
	K_ALLOC, K_FREE, K_DEFRAG, K_INFO, K_STATS, K_SELECT, K_READ, K_WRITE,
	K_LIST, NKINDS
};

#define NONE ((size_t)-1)

static const struct kind {
	const char *name;
	unsigned long cmd;
	size_t size;
	size_t flags_off, pad_off, res_off;	/* NONE if absent */
	unsigned int nres;
} kinds[NKINDS] = {
#define K(k, c, s) \
	[k] = { #c, c, sizeof(struct s), \
	offsetof(struct s, flags), offsetof(struct s, pad), \
	offsetof(struct s, reserved), \
	sizeof(((struct s *)0)->reserved) / sizeof(__u64) }
	/* Without VMM_ALLOC_MODE, ALLOC's mode must be 0 like a pad. */
	[K_ALLOC] = { "VMM_IOC_ALLOC", VMM_IOC_ALLOC,
		      sizeof(struct vmm_alloc_args),
		      offsetof(struct vmm_alloc_args, flags),
		      offsetof(struct vmm_alloc_args, mode),
		      offsetof(struct vmm_alloc_args, reserved),
		      ARRAY_SIZE(((struct vmm_alloc_args *)0)->reserved) },
	K(K_FREE, VMM_IOC_FREE, vmm_free_args),
	K(K_DEFRAG, VMM_IOC_DEFRAG, vmm_defrag_args),
	K(K_INFO, VMM_IOC_INFO, vmm_info_args),
	/* Output only: no flags or pad, and nothing of it is read. */
	[K_STATS] = { "VMM_IOC_STATS", VMM_IOC_STATS,
		      sizeof(struct vmm_stats_args), NONE, NONE,
		      offsetof(struct vmm_stats_args, reserved), 1 },
	K(K_SELECT, VMM_IOC_SELECT, vmm_select_args),
	K(K_READ, VMM_IOC_READ, vmm_rw_args),
	K(K_WRITE, VMM_IOC_WRITE, vmm_rw_args),
	K(K_LIST, VMM_IOC_LIST, vmm_list_args),
#undef K
};

union args {
	struct vmm_alloc_args alloc;
	struct vmm_free_args free;
	struct vmm_defrag_args defrag;
	struct vmm_info_args info;
	struct vmm_stats_args stats;
	struct vmm_select_args select;
	struct vmm_rw_args rw;
	struct vmm_list_args list;
	unsigned char raw[256];
};

/* Where an argument struct is passed from. */
enum place { P_NORMAL, P_READONLY };

/* ioctl @k on @fd with @a passed from @pl; @a gets what the kernel wrote. */
static long call(int fd, int k, union args *a, enum place pl)
{
	long r;

	if (pl == P_NORMAL)
		return xioctl(fd, kinds[k].cmd, a);
	memcpy(argpg, a, kinds[k].size);
	if (mprotect(argpg, pgsz, PROT_READ))
		ksft_exit_fail_msg("mprotect: %s\n", strerror(errno));
	r = xioctl(fd, kinds[k].cmd, argpg);
	if (mprotect(argpg, pgsz, PROT_READ | PROT_WRITE))
		ksft_exit_fail_msg("mprotect: %s\n", strerror(errno));
	memcpy(a, argpg, kinds[k].size);
	return r;
}

/* ---- generators */

static __u64 rnd_block_size(void)
{
	unsigned int r = (unsigned int)rnd_below(100);

	if (r < 60)
		return rnd_range(1, 512);
	if (r < 88)
		return rnd_range(513, 8192);
	if (r < 98)
		return rnd_range(8193, 65536);
	/* Larger than one of the module's copy pieces. */
	return rnd_range(PIECE - 4096, PIECE + 44 * 1024);
}

static __u64 rnd_align(void)
{
	unsigned int r = (unsigned int)rnd_below(100);

	if (r < 55)
		return 0;
	if (r < 65)
		return 1;
	if (r < 97)
		return 1ULL << rnd_range(1, 12);
	return 1ULL << rnd_range(13, 20);	/* up to the arena size */
}

/* A sub-range of a block: offset and length, length >= @min_len. */
static void rnd_subrange(const struct mblock *b, __u64 min_len, __u64 *off,
			 __u64 *len)
{
	if (chance(15)) {
		*off = 0;
		*len = b->size;
		return;
	}
	/* Never at the end: a WRITE of 0 bytes there is ERANGE. */
	*off = rnd_below(b->size - (min_len ? min_len : 1) + 1);
	if (chance(70))
		*len = rnd_range(min_len, b->size - *off < 64 ?
					  b->size - *off : 64);
	else
		*len = rnd_range(min_len, b->size - *off);
}

/* New data for @len bytes of @b, in srcbuf. */
static void make_data(struct mblock *b, __u64 len)
{
	vmm_fill(srcbuf, (size_t)len, b->seed + 7919 * ++b->writes);
}

/* ---- mappings: the bytes behind them, and what unmapping leaves */

/*
 * An access to a mapping that raises SIGBUS or SIGSEGV (which a correct
 * module never causes: every mapping lies inside its block) becomes a
 * mismatch instead of the end of the run.
 */
static sigjmp_buf fault_env;
static volatile sig_atomic_t fault_armed, fault_signo;

static void on_fault(int sig)
{
	if (!fault_armed) {
		/* Not ours: die of it, as without the handler. */
		signal(sig, SIG_DFL);
		return;
	}
	fault_armed = 0;
	fault_signo = sig;
	siglongjmp(fault_env, 1);
}

static void setup_fault_guard(void)
{
	struct sigaction sa = { .sa_handler = on_fault };

	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGBUS, &sa, NULL) || sigaction(SIGSEGV, &sa, NULL))
		ksft_exit_fail_msg("sigaction: %s\n", strerror(errno));
}

/* memcpy() that survives a fault: 0, or the signal it raised. */
static int guarded_copy(void *dst, const void *src, size_t n)
{
	if (sigsetjmp(fault_env, 1))
		return fault_signo;
	fault_armed = 1;
	memcpy(dst, src, n);
	fault_armed = 0;
	return 0;
}

static const char *signame(int sig)
{
	return sig == SIGBUS ? "SIGBUS" : sig == SIGSEGV ? "SIGSEGV" : "a signal";
}

/* "block 5 (dead) [4096, +8192) at 0x..., prot rw" */
static const char *vma_str(const struct vma *v)
{
	static char buf[2][128];
	static int i;
	const struct mblock *b = block_of(v->id);

	i ^= 1;
	snprintf(buf[i], sizeof(buf[i]),
		 "block %llu%s [%llu, +%llu) at %p, prot %s%s%s",
		 (unsigned long long)v->id, b && b->dead ? " (freed)" : "",
		 (unsigned long long)v->boff, (unsigned long long)v->len,
		 (void *)v->addr, v->prot & PROT_READ ? "r" : "",
		 v->prot & PROT_WRITE ? "w" : "",
		 v->rdonly ? ", O_RDONLY file" : "");
	return buf[i];
}

static struct vma *vma_random(void)
{
	return vma_n ? &vmas[rnd_below(vma_n)] : NULL;
}

/* The bytes seen through @v must be its block's as the model has them. */
static bool vma_check(struct vma *v, const char *what)
{
	struct mblock *b = block_of(v->id);
	const unsigned char *want;
	__u64 i;
	int sig;

	if (v->broken || !b)
		return true;
	sig = guarded_copy(rbuf, v->addr, (size_t)v->len);
	if (sig) {
		v->broken = true;
		mismatch(C_MAP, "%s: reading the mapping of %s raised %s",
			 what, vma_str(v), signame(sig));
		return false;
	}
	want = b->data + v->boff;
	if (!memcmp(rbuf, want, (size_t)v->len)) {
		cat_checks[C_DATA]++;
		return true;
	}
	for (i = 0; rbuf[i] == want[i]; i++)
		;
	/* It shows other bytes, maybe another place: never use it again. */
	v->broken = true;
	mismatch(C_DATA, "%s: the mapping of %s (block at offset %llu) reads 0x%02x at byte %llu, the block holds 0x%02x",
		 what, vma_str(v), (unsigned long long)b->off, rbuf[i],
		 (unsigned long long)i, want[i]);
	return false;
}

static void check_mappings(const char *what)
{
	size_t i;

	for (i = 0; i < vma_n; i++)
		vma_check(&vmas[i], what);
}

/* Store new bytes through @v, if it is writable; the model follows. */
static bool vma_write(struct vma *v, const char *what)
{
	struct mblock *b = block_of(v->id);
	__u64 off, len;
	int sig;

	if (v->broken || !b || !(v->prot & PROT_WRITE))
		return false;
	off = rnd_below(v->len);
	len = v->len - off;
	len = rnd_range(1, len > 256 && chance(80) ? 256 : len);
	make_data(b, len);
	sig = guarded_copy(v->addr + off, srcbuf, (size_t)len);
	if (sig) {
		v->broken = true;
		mismatch(C_MAP, "%s: writing %llu bytes at %llu of the mapping of %s raised %s",
			 what, (unsigned long long)len, (unsigned long long)off,
			 vma_str(v), signame(sig));
		return false;
	}
	memcpy(b->data + v->boff + off, srcbuf, (size_t)len);
	return true;
}

/*
 * After a move (or anything that could have left a mapping pointing at
 * the block's old place): bytes written through @v must be what VMM_IOC_READ
 * returns, and bytes written with VMM_IOC_WRITE what @v shows.
 */
static void vma_probe(struct vma *v, const char *what)
{
	struct mblock *b = block_of(v->id);
	__u64 off, len;

	if (v->broken || !b)
		return;
	if (b->dead) {
		vma_write(v, what);
		vma_check(v, what);
		return;
	}
	if (vma_write(v, what))
		check_block(C_DATA, b, what);
	off = v->boff + rnd_below(v->len);
	len = rnd_range(1, v->boff + v->len - off < 64 ?
			   v->boff + v->len - off : 64);
	make_data(b, len);
	{
		union args a = { .rw = { .id = b->id, .offset = off,
					 .length = len,
					 .buffer = (__u64)(uintptr_t)srcbuf } };

		if (expect_ret(C_VALID, "VMM_IOC_WRITE",
			       call(vfd, K_WRITE, &a, P_NORMAL), 0))
			memcpy(b->data + off, srcbuf, (size_t)len);
	}
	vma_check(v, what);
}

static void vma_add(const struct vma *v)
{
	if (vma_n == ARRAY_SIZE(vmas))
		ksft_exit_fail_msg("model: more than %zu mappings\n",
				   ARRAY_SIZE(vmas));
	vmas[vma_n++] = *v;
}

/* Forget vmas[@i] (the kernel no longer has it). */
static void vma_forget(size_t i)
{
	vmas[i] = vmas[--vma_n];
}

/*
 * munmap(2) @len bytes from @from on of vmas[@i] (page multiples inside
 * it); the pieces either side stay as mappings of their own.  Last
 * mappings of freed blocks give their ranges back.
 */
static void vma_unmap(size_t i, __u64 from, __u64 len)
{
	struct vma v = vmas[i], head = v, tail = v;
	long r;

	errno = 0;
	r = enc(munmap(v.addr + from, (size_t)len));
	if (!expect_ret(C_MAP, "munmap", r, 0))
		return;
	vma_forget(i);
	cov.split += from && from + len < v.len;
	head.len = from;
	if (head.len)
		vma_add(&head);
	tail.addr = v.addr + from + len;
	tail.boff = v.boff + from + len;
	tail.len = v.len - from - len;
	if (tail.len)
		vma_add(&tail);
	zombies_reap();
}

/* Unmap every mapping; no check (the end of the run, or an early exit). */
static void unmap_all(void)
{
	while (vma_n) {
		munmap(vmas[vma_n - 1].addr, (size_t)vmas[vma_n - 1].len);
		vma_n--;
	}
	zombies_reap();
}

/* ---- valid requests (C_VALID) */

/*
 * The model's side of a successful ALLOC made with @flags (mode 0);
 * checks what it returned.
 */
static void alloc_succeeded(enum cat c, const struct vmm_alloc_args *a,
			    __u32 flags, __u64 want_off, bool verify_zero)
{
	bool mappable = flags & VMM_ALLOC_MAPPABLE;
	__u64 size = a->size, align = 0;
	struct mblock *b;
	unsigned int k;
	bool clean = a->flags == flags && !a->mode;

	if (mappable)
		mappable_request(&size, &align);

	for (k = 0; k < ARRAY_SIZE(a->reserved); k++)
		clean = clean && !a->reserved[k];
	check(c, a->id > last_id && a->id <= last_id + 1 + id_slack,
	      "ALLOC returned ID %llu, expected %llu%s", (unsigned long long)a->id,
	      (unsigned long long)last_id + 1, id_slack ? " or a little more" : "");
	check(c, mb_find(a->id) < 0, "ALLOC returned live ID %llu",
	      (unsigned long long)a->id);
	CHECK_FIELD(c, "ALLOC offset", a->offset, want_off);
	check(c, clean, "ALLOC: flags changed or mode/reserved not zero on output");
	id_slack = 0;
	ctr_add(&c_allocs, 1);
	b = mb_add(a->id, a->offset, size, mappable);
	if (verify_zero)
		check_block(C_DATA, b, "new block");
}

static void do_alloc(void)
{
	union args a = { .alloc = { .size = rnd_block_size(),
				    .align = rnd_align() } };
	__u64 off = 0, size = a.alloc.size, align = a.alloc.align;
	__u32 flags;
	bool fits;
	long r;

	/* Whole pages on a page boundary: an aligned request of pages. */
	if (chance(20)) {
		a.alloc.flags = VMM_ALLOC_MAPPABLE;
		/* Often several pages, to map, unmap and protect in parts. */
		if (chance(70))
			a.alloc.size = size = rnd_range(1, 12 * (__u64)pgsz);
		mappable_request(&size, &align);
	}
	fits = model_first_fit(size, align, &off);
	flags = a.alloc.flags;	/* the kernel writes the struct back */
	op("ALLOC size %llu align %llu%s (model: %s %llu)",
	   (unsigned long long)a.alloc.size, (unsigned long long)a.alloc.align,
	   a.alloc.flags ? " MAPPABLE" : "",
	   fits ? "offset" : "ENOSPC", (unsigned long long)off);
	r = call(vfd, K_ALLOC, &a, P_NORMAL);
	if (!expect_ret(C_VALID, "VMM_IOC_ALLOC", r, fits ? 0 : -ENOSPC))
		return;
	if (fits)
		alloc_succeeded(C_VALID, &a.alloc, flags, off, chance(50));
	else
		ctr_add(&c_failures, 1);
}

static void free_succeeded(size_t i)
{
	ctr_add(&c_frees, 1);
	mb_remove(i);
}

static void do_free(void)
{
	struct mblock *b = mb_random();
	struct vma *v = vma_random();
	union args a;
	size_t i;
	long r;

	/* Mapped blocks more often than their share. */
	if (v && mb_find(v->id) >= 0 && chance(25))
		b = &mb[mb_find(v->id)];
	if (!b)
		return;
	a = (union args){ .free = { .id = b->id } };
	op("FREE %llu%s", (unsigned long long)b->id,
	   nmaps_of(b->id) ? " (mapped)" : "");
	r = call(vfd, K_FREE, &a, P_NORMAL);
	if (!expect_ret(C_VALID, "VMM_IOC_FREE", r, 0))
		return;
	free_succeeded((size_t)(b - mb));
	if (!zb_n || zb[zb_n - 1].id != a.free.id)
		return;
	/* Gone by ID, yet its bytes stay behind its mappings. */
	for (i = 0; i < vma_n; i++)
		if (vmas[i].id == a.free.id)
			vma_probe(&vmas[i], "mapping of a freed block");
	check_stats(C_MAP);
}

/* WRITE @len bytes at @off of @b from @src; on success the model follows. */
static void rw_write(enum cat c, struct mblock *b, __u64 off, __u64 len,
		     const void *src, enum place pl)
{
	union args a = { .rw = { .id = b->id, .offset = off, .length = len,
				 .buffer = (__u64)(uintptr_t)src } };
	long r = call(vfd, K_WRITE, &a, pl);

	if (expect_ret(c, "VMM_IOC_WRITE", r, 0))
		memcpy(b->data + off, src, (size_t)len);
}

/* READ @len bytes at @off of @b into scratch and compare; canary after. */
static void rw_read(enum cat c, struct mblock *b, __u64 off, __u64 len,
		    enum place pl)
{
	union args a = { .rw = { .id = b->id, .offset = off, .length = len,
				 .buffer = (__u64)(uintptr_t)scratch } };
	long r;

	memset(scratch, 0xc5, (size_t)len + 16);
	r = call(vfd, K_READ, &a, pl);
	if (!expect_ret(c, "VMM_IOC_READ", r, 0))
		return;
	if (memcmp(scratch, b->data + off, (size_t)len)) {
		__u64 i = 0;

		while (scratch[i] == b->data[off + i])
			i++;
		mismatch(C_DATA, "READ block %llu at %llu: byte %llu is 0x%02x, expected 0x%02x",
			 (unsigned long long)b->id, (unsigned long long)off,
			 (unsigned long long)(off + i), scratch[i],
			 b->data[off + i]);
		memcpy(b->data + off, scratch, (size_t)len);
	} else {
		cat_checks[C_DATA]++;
	}
	check(c, vmm_all(scratch + len, 16, 0xc5),
	      "READ of %llu bytes stored past its length",
	      (unsigned long long)len);
}

static void do_write(void)
{
	struct mblock *b = mb_random();
	__u64 off, len;

	if (!b)
		return;
	rnd_subrange(b, 0, &off, &len);
	make_data(b, len);
	op("WRITE %llu at %llu len %llu", (unsigned long long)b->id,
	   (unsigned long long)off, (unsigned long long)len);
	rw_write(C_VALID, b, off, len, srcbuf, P_NORMAL);
}

static void do_read(void)
{
	struct mblock *b = mb_random();
	__u64 off, len;

	if (!b)
		return;
	rnd_subrange(b, 1, &off, &len);
	op("READ %llu at %llu len %llu", (unsigned long long)b->id,
	   (unsigned long long)off, (unsigned long long)len);
	rw_read(C_VALID, b, off, len, P_NORMAL);
}

static void do_defrag(void)
{
	union args a = { .defrag = { 0 } };
	__u64 bytes, blocks;
	size_t i;
	long r;

	model_defrag(&bytes, &blocks, false);
	op("DEFRAG (model: %llu bytes in %llu blocks)",
	   (unsigned long long)bytes, (unsigned long long)blocks);
	r = call(vfd, K_DEFRAG, &a, P_NORMAL);
	if (!expect_ret(C_VALID, "VMM_IOC_DEFRAG", r, 0))
		return;
	CHECK_FIELD(C_VALID, "DEFRAG bytes_moved", a.defrag.bytes_moved, bytes);
	CHECK_FIELD(C_VALID, "DEFRAG blocks_moved", a.defrag.blocks_moved,
		    blocks);
	model_defrag(&bytes, &blocks, true);
	CHECK_FIELD(C_VALID, "DEFRAG compact", a.defrag.compact,
		    model_compact());
	/* Only a call that ends compact counts as completed. */
	if (a.defrag.compact)
		ctr_add(&c_defrags, 1);
	ctr_add(&c_moved, bytes);
	/* Mapped blocks moved: each mapping must follow, none stay behind. */
	for (i = 0; i < vma_n; i++)
		vma_probe(&vmas[i], "mapping after DEFRAG");
}

static void info_check(enum cat c, const union args *a, const struct mblock *b)
{
	bool clean = !a->info.flags && !a->info.pad;

	clean = clean && !a->info.reserved;
	CHECK_FIELD(c, "INFO offset", a->info.offset, b->off);
	CHECK_FIELD(c, "INFO size", a->info.size, b->size);
	CHECK_FIELD(c, "INFO attrs", a->info.attrs,
		    b->mappable ? VMM_BLOCK_MAPPABLE : 0);
	CHECK_FIELD(c, "INFO mapped", a->info.mapped, nmaps_of(b->id));
	check(c, clean, "INFO: flags/pad/reserved not zero on output");
}

static void do_info(void)
{
	struct mblock *b = mb_random();
	union args a;
	long r;

	if (!b)
		return;
	a = (union args){ .info = { .id = b->id, .offset = rnd(),
				    .size = rnd(), .mapped = rnd() } };
	op("INFO %llu", (unsigned long long)b->id);
	r = call(vfd, K_INFO, &a, P_NORMAL);
	if (expect_ret(C_VALID, "VMM_IOC_INFO", r, 0))
		info_check(C_VALID, &a, b);
}

/*
 * A LIST whose result the model predicts, into the user address @buf of
 * which the first @accessible bytes can be stored to.
 */
static void list_into(enum cat c, __u64 start, __u32 cap, __u64 buf,
		      size_t accessible, enum place pl)
{
	union args a = { .list = { .buffer = buf,
				   .capacity = cap, .start_id = start,
				   .count = (__u32)rnd(),
				   .next_id = rnd() } };
	size_t first;
	__u64 next;
	__u32 n = model_list(start, cap, &first, &next);
	bool fits = (size_t)n * sizeof(struct vmm_block_info) <= accessible;
	long want = fits && pl == P_NORMAL ? 0 : -EFAULT;
	long r;

	op("LIST start %llu capacity %u into %zu accessible bytes%s (model: %u entries, next %llu)",
	   (unsigned long long)start, cap, accessible,
	   pl == P_READONLY ? ", struct read-only" : "", n,
	   (unsigned long long)next);
	r = call(vfd, K_LIST, &a, pl);
	/*
	 * With nothing to store the buffer need not be touched; whether an
	 * inaccessible one is refused all the same, the header does not say.
	 */
	if (!n && accessible < (size_t)cap * sizeof(struct vmm_block_info) &&
	    r == -EFAULT)
		want = -EFAULT;
	if (!expect_ret(c, "VMM_IOC_LIST", r, want) || want)
		return;
	if (!check(c, a.list.count == n && a.list.next_id == next &&
		      !a.list.flags && !a.list.pad && !a.list.reserved[0] &&
		      !a.list.reserved[1],
		   "LIST: count %u next_id %llu, expected %u and %llu, pad/reserved 0",
		   a.list.count, (unsigned long long)a.list.next_id, n,
		   (unsigned long long)next))
		return;
	check_list_entries(c, (const void *)(uintptr_t)buf, n, first);
}

static __u64 rnd_start_id(void)
{
	switch (rnd_below(5)) {
	case 0:
		return 0;
	case 1:
		return 1;
	case 2:
		return mb_n ? mb_random()->id : 1;
	case 3:
		return mb_n ? mb_random()->id + 1 : 2;
	default:
		return rnd_range(1, last_id + 2);
	}
}

static void do_list(void)
{
	__u32 cap = chance(80) ? (__u32)rnd_range(1, mb_n + 2) :
				 (__u32)rnd_range(1, VMM_LIST_MAX);
	__u64 start = rnd_start_id();
	size_t bytes = (size_t)cap * sizeof(struct vmm_block_info);

	memset(scratch, 0xa7, bytes + 64);
	list_into(C_VALID, start, cap, (uintptr_t)scratch, scratch_len, P_NORMAL);
	check(C_VALID, vmm_all(scratch + bytes, 64, 0xa7),
	      "LIST stored past its capacity");
}

static void do_stats(void)
{
	op("STATS");
	check_stats(C_VALID);
}

/* SELECT @id on ffd (0 unbinds); the model follows on success. */
static void select_on_ffd(enum cat c, __u64 id, enum place pl)
{
	union args a = { .select = { .id = id } };
	long r;

	r = call(ffd, K_SELECT, &a, pl);
	if (!expect_ret(c, "VMM_IOC_SELECT", r, 0))
		return;
	sel_id = id;
	sel_live = id != 0;
	sel_pos = 0;
	check_selection(c);
}

static void do_select(void)
{
	struct mblock *b = mb_random();
	__u64 id = b && chance(90) ? b->id : 0;

	op("SELECT %llu on the file", (unsigned long long)id);
	select_on_ffd(C_VALID, id, P_NORMAL);
}

/* Make ffd select a live block, if there is one; returns it. */
static struct mblock *selected_block(enum cat c)
{
	long i = sel_live ? mb_find(sel_id) : -1;
	struct mblock *b;

	if (i >= 0)
		return &mb[i];
	b = mb_random();
	if (!b)
		return NULL;
	select_on_ffd(c, b->id, P_NORMAL);
	return sel_live ? b : NULL;
}

static void do_pwrite(void)
{
	struct mblock *b = selected_block(C_VALID);
	__u64 off, len;
	long r;

	if (!b)
		return;
	rnd_subrange(b, 1, &off, &len);
	make_data(b, len);
	if (chance(30)) {
		/* write(2) at the file position, which then advances. */
		op("lseek+write %llu at %llu len %llu",
		   (unsigned long long)b->id, (unsigned long long)off,
		   (unsigned long long)len);
		if (!expect_ret(C_VALID, "lseek", xlseek(ffd, off, SEEK_SET),
				(long)off))
			return;
		sel_pos = off;
		errno = 0;
		r = enc(write(ffd, srcbuf, (size_t)len));
		if (expect_ret(C_VALID, "write", r, (long)len)) {
			memcpy(b->data + off, srcbuf, (size_t)len);
			sel_pos = off + len;
		}
		check_selection(C_VALID);
		return;
	}
	op("pwrite %llu at %llu len %llu", (unsigned long long)b->id,
	   (unsigned long long)off, (unsigned long long)len);
	r = xpwrite(ffd, srcbuf, (size_t)len, off);
	if (expect_ret(C_VALID, "pwrite", r, (long)len))
		memcpy(b->data + off, srcbuf, (size_t)len);
}

static void do_pread(void)
{
	struct mblock *b = selected_block(C_VALID);
	__u64 off, len, want;
	long r;

	if (!b)
		return;
	rnd_subrange(b, 1, &off, &len);
	if (chance(20))
		len += rnd_range(1, 100);	/* past the end: a short read */
	want = len < b->size - off ? len : b->size - off;
	op("pread %llu at %llu len %llu", (unsigned long long)b->id,
	   (unsigned long long)off, (unsigned long long)len);
	memset(scratch, 0xc5, (size_t)len + 16);
	r = xpread(ffd, scratch, (size_t)len, off);
	if (!expect_ret(C_VALID, "pread", r, (long)want))
		return;
	if (!check(C_DATA, !memcmp(scratch, b->data + off, (size_t)want),
		   "pread block %llu at %llu: data differs from the model",
		   (unsigned long long)b->id, (unsigned long long)off))
		memcpy(b->data + off, scratch, (size_t)want);
	check(C_VALID, vmm_all(scratch + want, 16, 0xc5),
	      "pread stored past the bytes it returned");
}

/* ---- mmap(2) of blocks (C_MAP) */

/* INFO of block @id, if live, must count the mappings the model has. */
static void check_mapped_count(enum cat c, __u64 id)
{
	long i = mb_find(id);
	union args a;

	if (i < 0)
		return;
	a = (union args){ .info = { .id = id, .mapped = rnd() } };
	if (expect_ret(c, "VMM_IOC_INFO", call(vfd, K_INFO, &a, P_NORMAL), 0))
		info_check(c, &a, &mb[i]);
}

/* A live block, preferring mappable ones; NULL if none. */
static struct mblock *rnd_mappable(void)
{
	size_t i, n = 0, k;

	for (i = 0; i < mb_n; i++)
		n += mb[i].mappable;
	if (!n)
		return mb_random();
	k = rnd_below(n);
	for (i = 0; i < mb_n; i++)
		if (mb[i].mappable && !k--)
			break;
	return &mb[i];
}

/* An ID for SELECT before mmap(2): mappable, any, freed, never used, 0. */
static __u64 rnd_map_target(void)
{
	unsigned int r = (unsigned int)rnd_below(100);
	unsigned int nf = freed_n < FREED_KEEP ? freed_n : FREED_KEEP;

	if (r < 60 && mb_n)
		return rnd_mappable()->id;
	if (r < 78 && mb_n)
		return mb_random()->id;
	if (r < 85 && zb_n)
		return zb[rnd_below(zb_n)].id;
	if (r < 92 && nf)
		return freed[rnd_below(nf)].id;
	if (r < 97)
		return last_id + 1 + id_slack + rnd_below(1000);
	return 0;
}

/* SELECT @id on @fd (mfd, rofd or ffd) for a mapping; the model follows. */
static void map_select(int fd, struct fdsel *fs, __u64 id)
{
	union args a = { .select = { .id = id } };
	bool ok = !id || mb_find(id) >= 0;
	long r;

	if (fd == ffd && ok) {
		select_on_ffd(C_VALID, id, P_NORMAL);
		return;
	}
	r = call(fd, K_SELECT, &a, P_NORMAL);
	if (!expect_ret(ok ? C_VALID : C_ID, "VMM_IOC_SELECT", r,
			ok ? 0 : -ENOENT) || !ok)
		return;
	fs->id = id;
	fs->live = id != 0;
}

static const char *prot_str(int prot)
{
	static char buf[4];

	buf[0] = prot & PROT_READ ? 'r' : '-';
	buf[1] = prot & PROT_WRITE ? 'w' : '-';
	buf[2] = prot & PROT_EXEC ? 'x' : '-';
	buf[3] = 0;
	return buf;
}

/*
 * SELECT a random ID (or keep the selection) on one of the files, then
 * mmap(2) it with a random offset, length, protection and sharing; the
 * header's verdict is checked, and a mapping made is checked, written and
 * kept (or unmapped at once).
 */
static void do_mmap(void)
{
	unsigned int r = (unsigned int)rnd_below(100);
	struct fdsel none = { 0 }, *fs = &none;
	const char *fdname;
	bool rdonly = false, live, known = true, mappable = false, shared;
	bool exec;
	__u64 id, size = 0, npages, off, len, elen, avail;
	int fd, prot, flags;
	long want, got;
	void *p;

	if (r < 60) {
		fd = mfd;
		fs = &msel;
		fdname = "a file";
	} else if (r < 75) {
		fd = ffd;
		fdname = "the read/write file";
	} else if (r < 88) {
		fd = rofd;
		fs = &rsel;
		rdonly = true;
		fdname = "an O_RDONLY file";
	} else if (r < 94) {
		fd = gfd;
		fs = &gsel;
		fdname = "a file whose block was freed";
	} else {
		fd = nfd;
		fdname = "a file that selected nothing";
	}
	if ((fd == mfd || fd == rofd || fd == ffd) && chance(75)) {
		id = rnd_map_target();
		op("SELECT %llu on %s, to map it", (unsigned long long)id,
		   fdname);
		map_select(fd, fs, id);
	}
	if (fd == ffd) {
		id = sel_id;
		live = sel_live;
	} else {
		id = fs->id;
		live = fs->live;
	}
	if (id && block_of(id)) {
		size = block_of(id)->size;
		mappable = block_of(id)->mappable;
	} else if (id) {
		known = freed_attrs(id, &size, &mappable);
	}
	if (!known || !size)
		size = (__u64)pgsz * rnd_range(1, 4);
	npages = (size + (__u64)pgsz - 1) / (__u64)pgsz;

	/* Offset: mostly a page inside, else at or past the end, unaligned. */
	r = (unsigned int)rnd_below(20);
	if (r < 16)
		off = rnd_below(npages) * (__u64)pgsz;
	else if (r < 17)
		off = npages * (__u64)pgsz;
	else if (r < 18)
		off = (npages + rnd_range(1, 1 << 20)) * (__u64)pgsz;
	else if (r < 19)
		off = 1ULL << rnd_range(30, 40);
	else
		off = rnd_below(npages) * (__u64)pgsz + rnd_range(1, pgsz - 1);
	/* Length: mostly inside (any length: mmap rounds it up to pages). */
	avail = npages * (__u64)pgsz > off ? npages * (__u64)pgsz - off : 0;
	r = (unsigned int)rnd_below(20);
	if (r < 9)
		len = avail ? rnd_range(1, avail) : rnd_range(1, 2 * pgsz);
	else if (r < 16)
		len = avail ? avail : (__u64)pgsz;
	else if (r < 18)
		len = avail + rnd_range(1, 2 * pgsz);
	else if (r < 19)
		len = 0;
	else
		len = rnd_range(1, pgsz);
	elen = round_up_pow2(len, (__u64)pgsz);
	/* Protection: r, rw, and now and then with exec. */
	r = (unsigned int)rnd_below(100);
	prot = r < 35 ? PROT_READ : r < 92 ? PROT_READ | PROT_WRITE :
	       r < 96 ? PROT_READ | PROT_EXEC :
			PROT_READ | PROT_WRITE | PROT_EXEC;
	r = (unsigned int)rnd_below(100);
	flags = r < 85 ? MAP_SHARED : r < 95 ? MAP_PRIVATE : MAP_SHARED_VALIDATE;
	shared = flags != MAP_PRIVATE;
	exec = (prot & PROT_EXEC) || read_exec;

	/* What the VFS and mm refuse before the driver sees the call. */
	if (off % (__u64)pgsz || !len)
		want = -EINVAL;
	else if (rdonly && shared && (prot & PROT_WRITE))
		want = -EACCES;
	else if (exec && dev_noexec)
		want = -EPERM;
	/* Then the driver's, in the header's order (root has r and w). */
	else if (!shared)
		want = -EINVAL;
	else if (exec)
		want = -EACCES;
	else if (!id)
		want = -ENXIO;
	else if (!live)
		want = -ENOENT;
	else if (!mappable)
		want = -ENODEV;
	else if (off > size || elen > size - off)
		want = -EINVAL;
	else
		want = 0;

	if (vma_n == ARRAY_SIZE(vmas)) {
		size_t i = rnd_below(vma_n);
		__u64 old = vmas[i].id;

		op("munmap the mapping of %s, to make room", vma_str(&vmas[i]));
		vma_unmap(i, 0, vmas[i].len);
		check_mapped_count(C_MAP, old);
	}
	op("mmap on %s selecting %llu%s (%s%s, %llu bytes) at %llu len %llu %s %s (expected %s)",
	   fdname, (unsigned long long)id, !id ? " (nothing)" : live ? "" : " (freed)",
	   mappable ? "mappable" : "not mappable", known ? "" : "?",
	   (unsigned long long)size, (unsigned long long)off,
	   (unsigned long long)len, prot_str(prot),
	   flags == MAP_PRIVATE ? "MAP_PRIVATE" :
	   flags == MAP_SHARED ? "MAP_SHARED" : "MAP_SHARED_VALIDATE",
	   ret_str(want));
	errno = 0;
	p = mmap(NULL, (size_t)len, prot, flags, fd, (off_t)off);
	got = p != MAP_FAILED ? 0 : errno > 0 ? -(long)errno : RET_NO_ERRNO;
	expect_ret(C_MAP, "mmap", got, want);
	if (got)
		return;
	if (want) {
		/* Refused by the header, granted by the kernel: drop it. */
		munmap(p, (size_t)elen);
		check_mapped_count(C_MAP, id);
		return;
	}
	{
		struct vma v = { .addr = p, .len = elen, .boff = off, .id = id,
				 .prot = prot, .rdonly = rdonly };

		vma_add(&v);
	}
	cov.made++;
	vma_check(&vmas[vma_n - 1], "new mapping");
	if (chance(60))
		vma_probe(&vmas[vma_n - 1], "new mapping");
	check_mapped_count(C_MAP, id);
	if (chance(15)) {
		op("munmap the new mapping of %s", vma_str(&vmas[vma_n - 1]));
		vma_unmap(vma_n - 1, 0, elen);
		check_mapped_count(C_MAP, id);
	}
}

/* A page-aligned piece [*from, *from + *len) of @v, not all of it. */
static bool rnd_piece(const struct vma *v, __u64 *from, __u64 *len)
{
	__u64 pages = v->len / (__u64)pgsz, a, b;

	if (pages < 2)
		return false;
	switch (rnd_below(3)) {
	case 0:		/* the head */
		a = 0;
		b = rnd_range(1, pages - 1);
		break;
	case 1:		/* the tail */
		a = rnd_range(1, pages - 1);
		b = pages;
		break;
	default:	/* the middle, if there is one */
		if (pages < 3)
			return false;
		a = rnd_range(1, pages - 2);
		b = rnd_range(a + 1, pages - 1);
		break;
	}
	*from = a * (__u64)pgsz;
	*len = (b - a) * (__u64)pgsz;
	return true;
}

/* mprotect(2) of all or part of vmas[@i]. */
static void vma_mprotect(size_t i)
{
	struct vma *v = &vmas[i], mid, tail;
	__u64 from = 0, len = v->len;
	int prot;
	long want, got;

	if (v->broken)
		return;
	/* Room for two more pieces, or the whole mapping. */
	if (vma_n + 2 <= ARRAY_SIZE(vmas) && chance(60))
		rnd_piece(v, &from, &len);
	if (chance(30)) {
		prot = v->prot | PROT_EXEC;
		want = -EACCES;		/* refused at mmap, so never added */
	} else if (v->prot & PROT_WRITE) {
		prot = PROT_READ;
		want = 0;
	} else {
		prot = PROT_READ | PROT_WRITE;
		/* An O_RDONLY file's shared mapping never gains write. */
		want = v->rdonly ? -EACCES : 0;
	}
	op("mprotect [%llu, +%llu) of the mapping of %s to %s",
	   (unsigned long long)from, (unsigned long long)len, vma_str(v),
	   prot_str(prot));
	errno = 0;
	got = enc(mprotect(v->addr + from, (size_t)len, prot));
	if (!expect_ret(C_MAP, "mprotect", got, want) || want)
		return;
	/* Split into up to three mappings, which never merge again. */
	mid = *v;
	mid.addr = v->addr + from;
	mid.boff = v->boff + from;
	mid.len = len;
	mid.prot = prot;
	tail = *v;
	tail.addr = v->addr + from + len;
	tail.boff = v->boff + from + len;
	tail.len = v->len - from - len;
	v->len = from;
	cov.split += from || tail.len;
	if (!v->len)
		*v = mid;
	else
		vma_add(&mid);
	if (tail.len)
		vma_add(&tail);
}

/* mremap(2) of vmas[@i]: shrink, move, or grow (EFAULT). */
static void vma_mremap(size_t i)
{
	struct vma *v = &vmas[i];
	__u64 new_len;
	void *p, *to;
	long got;

	if (v->broken)
		return;
	switch (rnd_below(3)) {
	case 0:
		if (v->len < 2 * (__u64)pgsz)
			return;
		new_len = rnd_range(1, v->len / pgsz - 1) * (__u64)pgsz;
		op("mremap the mapping of %s down to %llu bytes", vma_str(v),
		   (unsigned long long)new_len);
		errno = 0;
		p = mremap(v->addr, (size_t)v->len, (size_t)new_len, 0);
		got = p == MAP_FAILED ? enc(-1) : 0;
		if (!expect_ret(C_MAP, "mremap", got, 0))
			return;
		check(C_MAP, p == v->addr, "mremap moved a mapping it shrank");
		v->len = new_len;
		zombies_reap();
		return;
	case 1:
		to = mmap(NULL, (size_t)v->len, PROT_NONE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (to == MAP_FAILED)
			return;
		op("mremap the mapping of %s to %p", vma_str(v), to);
		errno = 0;
		p = mremap(v->addr, (size_t)v->len, (size_t)v->len,
			   MREMAP_MAYMOVE | MREMAP_FIXED, to);
		got = p == MAP_FAILED ? enc(-1) : 0;
		if (!expect_ret(C_MAP, "mremap", got, 0)) {
			munmap(to, (size_t)v->len);
			return;
		}
		check(C_MAP, p == to, "mremap moved a mapping elsewhere");
		v->addr = p;
		cov.remapped++;
		return;
	default:
		new_len = v->len + rnd_range(1, 4) * (__u64)pgsz;
		op("mremap the mapping of %s up to %llu bytes", vma_str(v),
		   (unsigned long long)new_len);
		errno = 0;
		p = mremap(v->addr, (size_t)v->len, (size_t)new_len,
			   chance(50) ? MREMAP_MAYMOVE : 0);
		got = p == MAP_FAILED ? enc(-1) : 0;
		if (!expect_ret(C_MAP, "mremap", got, -EFAULT) && !got) {
			/* Grown after all: put it back as it was. */
			munmap(p, (size_t)new_len);
			vma_forget(i);
			zombies_reap();
		}
		return;
	}
}

/*
 * One of the mappings kept: check it, write through it, unmap all or
 * part of it, mprotect or mremap it; or close the file that made it.
 */
static void do_mapping(void)
{
	unsigned int r = (unsigned int)rnd_below(100);
	size_t i;
	__u64 id, from, len;

	if (!vma_n) {
		do_mmap();
		return;
	}
	i = rnd_below(vma_n);
	if (r >= 62 && r < 96) {
		/* Parts need a mapping of several pages: prefer one. */
		size_t k, n = 0;

		for (k = 0; k < vma_n; k++)
			n += vmas[k].len >= 2 * (__u64)pgsz;
		for (k = 0, n = n ? rnd_below(n) + 1 : 0; n && k < vma_n; k++)
			if (vmas[k].len >= 2 * (__u64)pgsz && !--n)
				i = k;
	}
	id = vmas[i].id;
	if (r < 20) {
		op("check the mapping of %s", vma_str(&vmas[i]));
		vma_check(&vmas[i], "kept mapping");
	} else if (r < 40) {
		op("write and read through the mapping of %s",
		   vma_str(&vmas[i]));
		vma_probe(&vmas[i], "kept mapping");
	} else if (r < 62) {
		op("munmap the mapping of %s", vma_str(&vmas[i]));
		vma_unmap(i, 0, vmas[i].len);
	} else if (r < 74) {
		if (!rnd_piece(&vmas[i], &from, &len) ||
		    vma_n == ARRAY_SIZE(vmas))
			return;
		op("munmap [%llu, +%llu) of the mapping of %s",
		   (unsigned long long)from, (unsigned long long)len,
		   vma_str(&vmas[i]));
		vma_unmap(i, from, len);
	} else if (r < 86) {
		vma_mprotect(i);
	} else if (r < 96) {
		vma_mremap(i);
	} else {
		/* The mappings hold the file; a new one selects nothing. */
		op("close and reopen the file the mappings were made from");
		close(mfd);
		mfd = open(VMM_DEV, O_RDWR | O_CLOEXEC);
		if (mfd < 0)
			ksft_exit_fail_msg("open %s: %s\n", VMM_DEV,
					   strerror(errno));
		msel = (struct fdsel){ 0 };
		check_mappings("after closing the file");
		return;
	}
	check_mapped_count(C_MAP, id);
	if (!block_of(id) || block_of(id)->dead)
		check_stats(C_MAP);
}

/*
 * A new mapping of all of a mappable block, made on mfd, not yet touched
 * (no page is mapped); NULL if there is no such block or no room.
 */
static struct vma *fresh_mapping(void)
{
	struct mblock *b = rnd_mappable();
	struct vma v = { .prot = PROT_READ | PROT_WRITE };
	void *p;

	if (!b || !b->mappable || vma_n == ARRAY_SIZE(vmas))
		return NULL;
	op("SELECT %llu and map it whole, untouched", (unsigned long long)b->id);
	map_select(mfd, &msel, b->id);
	errno = 0;
	p = mmap(NULL, (size_t)b->size, v.prot, MAP_SHARED, mfd, 0);
	if (!expect_ret(C_MAP, "mmap", p == MAP_FAILED ? enc(-1) : 0, 0))
		return NULL;
	v.addr = p;
	v.len = b->size;
	v.id = b->id;
	vma_add(&v);
	cov.made++;
	return &vmas[vma_n - 1];
}

/*
 * A mapping as the buffer of VMM_IOC_READ/WRITE, pread(2) or pwrite(2):
 * the copy faults the mapping's pages in (when it is new, or its block
 * moved) while the kernel holds the other block (or the same one) for
 * the copy.
 */
static void do_mapped_buffer(void)
{
	struct vma *v = chance(50) ? fresh_mapping() : vma_random();
	bool file = chance(40), into = chance(50);
	struct mblock *b, *vb;
	__u64 off, len, voff;
	long r;

	if (!v || v->broken || (into && !(v->prot & PROT_WRITE)))
		return;
	vb = block_of(v->id);
	if (file && chance(30) && vb && !vb->dead)
		select_on_ffd(C_VALID, vb->id, P_NORMAL);
	b = file ? selected_block(C_VALID) : chance(30) && vb && !vb->dead ?
		   vb : mb_random();
	if (!b || !vb || v->broken)
		return;
	rnd_subrange(b, 1, &off, &len);
	if (len > v->len)
		len = v->len;
	voff = rnd_below(v->len - len + 1);
	/* Within one block the two ranges must not overlap. */
	if (vb == b && off < v->boff + voff + len && v->boff + voff < off + len)
		return;
	op("%s %llu at %llu len %llu %s the mapping of %s at %llu",
	   into ? (file ? "pread" : "READ") : (file ? "pwrite" : "WRITE"),
	   (unsigned long long)b->id, (unsigned long long)off,
	   (unsigned long long)len, into ? "into" : "from", vma_str(v),
	   (unsigned long long)voff);
	if (file) {
		r = into ? xpread(ffd, v->addr + voff, (size_t)len, off) :
			   xpwrite(ffd, v->addr + voff, (size_t)len, off);
		if (!expect_ret(C_MAP, into ? "pread" : "pwrite", r,
				(long)len)) {
			need_resync = true;
			return;
		}
	} else {
		union args a = { .rw = { .id = b->id, .offset = off,
					 .length = len,
					 .buffer = (__u64)(uintptr_t)(v->addr +
								   voff) } };

		r = call(vfd, into ? K_READ : K_WRITE, &a, P_NORMAL);
		if (!expect_ret(C_MAP, into ? "VMM_IOC_READ" : "VMM_IOC_WRITE",
				r, 0)) {
			need_resync = true;
			return;
		}
	}
	cov.copies++;
	if (into)
		memcpy(vb->data + v->boff + voff, b->data + off, (size_t)len);
	else
		memcpy(b->data + off, vb->data + v->boff + voff, (size_t)len);
	check_block(C_DATA, b, "after a copy to or from a mapping");
	vma_check(v, "after a copy to or from it");
}

/* ---- unknown commands (C_CMD) */

static bool is_vmm_cmd(unsigned long cmd)
{
	int k;

	for (k = 0; k < NKINDS; k++)
		if (kinds[k].cmd == cmd)
			return true;
	/* Real commands the fuzzer does not model (vmm_perm_test's). */
	return cmd == VMM_IOC_CHMOD || cmd == VMM_IOC_CHOWN ||
	       cmd == VMM_IOC_USAGE;
}

/* An argument for a command that must not look at it. */
static void *rnd_any_arg(void)
{
	switch (rnd_below(6)) {
	case 0:
		return NULL;
	case 1:
		return unmapped();
	case 2:
		return (void *)(uintptr_t)(0 - (uintptr_t)pgsz);
	case 3:
		return edge_end - rnd_range(1, 64);
	case 4:
		return (void *)(uintptr_t)rnd();
	default:
		vmm_fill(scratch, 256, (unsigned int)rnd());
		return scratch;
	}
}

static void do_unknown_cmd(void)
{
	unsigned long cmd;
	void *arg;

	for (;;) {
		if (chance(50)) {
			/* Any 32-bit number outside the VFS's own types. */
			cmd = (unsigned long)(uint32_t)rnd();
			switch (_IOC_TYPE(cmd)) {
			case 0x00: case 'T': case 'X': case 'f': case 0x94:
				continue;
			}
		} else {
			/* VMM's magic with random direction, number, size. */
			unsigned int nr = chance(60) ? (unsigned int)rnd_below(12)
						     : (unsigned int)rnd_below(256);
			unsigned int size;

			if (nr < NKINDS && chance(50))
				size = (unsigned int)kinds[nr].size +
				       (unsigned int)rnd_range(0, 16) - 8;
			else
				size = (unsigned int)rnd_below(1U << _IOC_SIZEBITS);
			size &= (1U << _IOC_SIZEBITS) - 1;
			cmd = _IOC((unsigned int)rnd_below(4), VMM_IOC_MAGIC,
				   nr, size);
		}
		if (!is_vmm_cmd(cmd))
			break;
	}
	arg = rnd_any_arg();
	op("ioctl %#lx (type %#lx nr %lu size %lu dir %lu) arg %p", cmd,
	   (unsigned long)_IOC_TYPE(cmd), (unsigned long)_IOC_NR(cmd),
	   (unsigned long)_IOC_SIZE(cmd), (unsigned long)_IOC_DIR(cmd), arg);
	expect_ret(C_CMD, "ioctl", xioctl(vfd, cmd, arg), -ENOTTY);
	check_unchanged();
}

/* ---- valid argument structs, to corrupt or to pass from odd places */

struct built {
	struct mblock *b;	/* the block it acts on, if any */
	__u64 off, len;		/* READ/WRITE range */
	__u64 alloc_off;	/* ALLOC: where the model places it */
	int fd;			/* the file it is issued on */
};

/*
 * A struct for command @k that the kernel would accept now, with every
 * fault-free field set.  False if the model has no block to name.
 */
static bool build_valid(int k, union args *a, struct built *x)
{
	memset(a, 0, sizeof(*a));
	memset(x, 0, sizeof(*x));
	x->fd = vfd;
	switch (k) {
	case K_ALLOC: {
		__u64 size, align;

		a->alloc.size = rnd_range(1, 256);
		a->alloc.align = chance(50) ? 0 : 1ULL << rnd_below(7);
		size = a->alloc.size;
		align = a->alloc.align;
		if (chance(20)) {
			a->alloc.flags = VMM_ALLOC_MAPPABLE;
			mappable_request(&size, &align);
		}
		return model_first_fit(size, align, &x->alloc_off);
	}
	case K_FREE:
	case K_INFO:
	case K_SELECT:
	case K_READ:
	case K_WRITE:
		x->b = mb_random();
		if (!x->b)
			return false;
		a->free.id = x->b->id;	/* id is first in all four */
		if (k == K_SELECT)
			x->fd = ffd;
		if (k == K_READ || k == K_WRITE) {
			rnd_subrange(x->b, 1, &x->off, &x->len);
			a->rw.offset = x->off;
			a->rw.length = x->len;
			if (k == K_WRITE) {
				make_data(x->b, x->len);
				a->rw.buffer = (__u64)(uintptr_t)srcbuf;
			} else {
				a->rw.buffer = (__u64)(uintptr_t)scratch;
			}
		}
		return true;
	case K_DEFRAG:
		return true;
	case K_STATS:
		return true;
	case K_LIST:
		a->list.buffer = (__u64)(uintptr_t)scratch;
		a->list.capacity = (__u32)rnd_range(1, 64);
		a->list.start_id = rnd_start_id();
		return true;
	}
	return false;
}

/* The model's state a rejected call @k must leave; checks it. */
static void check_rejected(int k, const struct built *x)
{
	if (k == K_WRITE)
		check_block(C_STATE, x->b, "rejected WRITE");
	if (k == K_SELECT)
		check_selection(C_STATE);
	check_unchanged();
}

/* The flags a command knows; any other bit is EINVAL. */
static __u32 known_flags(int k)
{
	return k == K_ALLOC ? VMM_ALLOC_COMPACT | VMM_ALLOC_MODE |
			      VMM_ALLOC_SCOPED | VMM_ALLOC_MAPPABLE :
	       k == K_DEFRAG ? VMM_DEFRAG_NOWAIT : 0;
}

/*
 * Set one field (or several) of flags/pad/reserved of @k in @a non-zero;
 * flags get at least one unknown bit.
 */
static const char *corrupt(int k, union args *a)
{
	const struct kind *d = &kinds[k];
	static char what[64];
	unsigned int n = 0, which;
	__u32 bits;

	do {
		which = (unsigned int)rnd_below(2 + d->nres);
		if (which == 0) {
			do
				bits = (__u32)rnd_nonzero(32);
			while (!(bits & ~known_flags(k)));
			*(__u32 *)(a->raw + d->flags_off) |= bits;
			snprintf(what, sizeof(what), "flags");
		} else if (which == 1) {
			*(__u32 *)(a->raw + d->pad_off) |= (__u32)rnd_nonzero(32);
			snprintf(what, sizeof(what), "pad");
		} else {
			*(__u64 *)(a->raw + d->res_off + 8 * (which - 2)) |=
				rnd_nonzero(64);
			snprintf(what, sizeof(what), "reserved[%u]", which - 2);
		}
		n++;
	} while (chance(25));
	if (n > 1)
		snprintf(what, sizeof(what), "%u fields", n);
	return what;
}

static const int corruptible[] = {
	K_ALLOC, K_FREE, K_DEFRAG, K_INFO, K_SELECT, K_READ, K_WRITE, K_LIST,
};

static void do_reserved(void)
{
	int k = corruptible[rnd_below(ARRAY_SIZE(corruptible))];
	bool unknown_id = false;
	struct built x;
	union args a;
	const char *what;
	long r, want = -EINVAL;

	if (chance(10)) {
		/* STATS is output-only: whatever its input holds, it works. */
		op("STATS with garbage in every field");
		check_stats(C_RESERVED);
		return;
	}
	if (!build_valid(k, &a, &x))
		return;
	what = corrupt(k, &a);
	if ((k == K_FREE || k == K_INFO || k == K_READ) && chance(10)) {
		/* Two faults at once: the header orders neither. */
		a.free.id = last_id + 1 + id_slack + rnd_below(100);
		unknown_id = true;
	}
	if (k == K_READ)
		memset(scratch, 0xc5, (size_t)x.len);
	if (k == K_LIST)
		memset(scratch, 0xc5, 64 * sizeof(struct vmm_block_info));
	op("%s with non-zero %s%s", kinds[k].name, what,
	   unknown_id ? " and an unknown ID" : "");
	r = call(x.fd, k, &a, P_NORMAL);
	if (unknown_id && r == -ENOENT)
		want = -ENOENT;
	expect_ret(C_RESERVED, kinds[k].name, r, want);
	if (k == K_READ)
		check(C_STATE, vmm_all(scratch, (size_t)x.len, 0xc5),
		      "rejected READ stored into its buffer");
	if (k == K_LIST)
		check(C_STATE, vmm_all(scratch, 64 * sizeof(struct vmm_block_info),
				       0xc5),
		      "rejected LIST stored into its buffer");
	check_rejected(k, &x);
}

/* ---- out-of-range values (C_RANGE) */

/* An offset or length at or around a limit, for a block of @size bytes. */
static __u64 rnd_edge_value(__u64 size, __u64 other)
{
	switch (rnd_below(14)) {
	case 0:
		return 0;
	case 1:
		return rnd_below(size);
	case 2:
		return size - 1;
	case 3:
		return size;
	case 4:
		return size + 1;
	case 5:
		return size + rnd_range(2, 1ULL << 40);
	case 6:
		return UINT64_MAX;
	case 7:
		return UINT64_MAX - rnd_below(size + 1);
	case 8:
		return 1ULL << 63;
	case 9:
		return (1ULL << 63) - 1;
	case 10:
		return 0 - other;	/* other + this == 2^64 */
	case 11:
		return 0 - other + rnd_range(1, size);	/* wraps, small end */
	case 12:
		return size > other ? size - other : 0;	/* exactly the end */
	default:
		return rnd();
	}
}

/* The header's verdict for a READ/WRITE of [off, off + len) in @size bytes. */
static long rw_verdict(bool write, __u64 off, __u64 len, __u64 size)
{
	__u64 end;
	bool wraps = __builtin_add_overflow(off, len, &end);

	if (!write) {
		if (!len)
			return -EINVAL;
		return wraps || end > size ? -ERANGE : 0;
	}
	if (off >= size)
		return -ERANGE;
	return wraps || end > size ? -EFBIG : 0;
}

static void do_range_rw(void)
{
	struct mblock *b = mb_random();
	bool write = chance(50);
	__u64 off, len;
	long want;

	if (!b)
		return;
	if (chance(50)) {
		off = rnd_edge_value(b->size, 0);
		len = rnd_edge_value(b->size, off);
	} else {
		len = rnd_edge_value(b->size, 0);
		off = rnd_edge_value(b->size, len);
	}
	want = rw_verdict(write, off, len, b->size);
	op("%s %llu (size %llu) at %llu len %llu (header: %s)",
	   write ? "WRITE" : "READ", (unsigned long long)b->id,
	   (unsigned long long)b->size, (unsigned long long)off,
	   (unsigned long long)len, ret_str(want));
	if (!want) {
		/* Inside after all: a plain valid call. */
		if (write) {
			make_data(b, len);
			rw_write(C_RANGE, b, off, len, srcbuf, P_NORMAL);
		} else {
			rw_read(C_RANGE, b, off, len, P_NORMAL);
		}
		return;
	}
	memset(scratch, 0xc5, 4096);
	if (write) {
		union args a = { .rw = { .id = b->id, .offset = off,
					 .length = len,
					 .buffer = (__u64)(uintptr_t)srcbuf } };

		vmm_fill(srcbuf, 4096, (unsigned int)rnd());
		expect_ret(C_RANGE, "VMM_IOC_WRITE",
			   call(vfd, K_WRITE, &a, P_NORMAL), want);
		check_block(C_STATE, b, "rejected WRITE");
	} else {
		union args a = { .rw = { .id = b->id, .offset = off,
					 .length = len,
					 .buffer = (__u64)(uintptr_t)scratch } };

		expect_ret(C_RANGE, "VMM_IOC_READ",
			   call(vfd, K_READ, &a, P_NORMAL), want);
		check(C_STATE, vmm_all(scratch, 4096, 0xc5),
		      "rejected READ stored into its buffer");
	}
	check_unchanged();
}

static void do_range_alloc(void)
{
	union args a = { .alloc = { .size = rnd_range(1, 4096) } };
	__u64 off = 0;
	__u32 flags;
	long want = -EINVAL;

	switch (rnd_below(8)) {
	case 0:
		a.alloc.size = 0;
		break;
	case 1:
		a.alloc.size = ARENA_SIZE + rnd_range(1, 4096);
		break;
	case 2:
		a.alloc.size = UINT64_MAX - rnd_below(4096);
		break;
	case 3:
		a.alloc.size = 1ULL << rnd_range(21, 63);
		break;
	case 4:
		a.alloc.align = 3 + 2 * rnd_below(1000);	/* odd */
		break;
	case 5:
		a.alloc.align = (1ULL << rnd_range(2, 63)) + 1 +
				rnd_below(3);
		break;
	case 6:
		a.alloc.align = 1ULL << rnd_range(21, 63);
		break;
	default: {
		/* Valid but large: the model says where, or ENOSPC. */
		__u64 size, align;

		a.alloc.size = rnd_range(ARENA_SIZE / 4, ARENA_SIZE);
		a.alloc.align = chance(50) ? ARENA_SIZE : 0;
		size = a.alloc.size;
		align = a.alloc.align;
		if (chance(25)) {
			/* Rounded up to pages: ARENA_SIZE at most. */
			a.alloc.flags = VMM_ALLOC_MAPPABLE;
			mappable_request(&size, &align);
		}
		want = model_first_fit(size, align, &off) ? 0 : -ENOSPC;
		break;
	}
	}
	if (want == -EINVAL && chance(20))
		a.alloc.flags = VMM_ALLOC_MAPPABLE;	/* still out of range */
	flags = a.alloc.flags;
	op("ALLOC size %llu align %llu%s (header: %s)",
	   (unsigned long long)a.alloc.size, (unsigned long long)a.alloc.align,
	   a.alloc.flags ? " MAPPABLE" : "", ret_str(want));
	if (!expect_ret(C_RANGE, "VMM_IOC_ALLOC",
			call(vfd, K_ALLOC, &a, P_NORMAL), want))
		return;
	if (!want) {
		alloc_succeeded(C_RANGE, &a.alloc, flags, off, true);
		return;
	}
	if (want == -ENOSPC)
		ctr_add(&c_failures, 1);
	check_unchanged();
}

static void do_range_list(void)
{
	union args a = { .list = { .buffer = (__u64)(uintptr_t)scratch,
				   .start_id = rnd() } };

	if (chance(40)) {
		/* Start IDs near the top: valid, nothing there. */
		static const __u64 tops[] = {
			UINT64_MAX, UINT64_MAX - 1, 1ULL << 63,
			(1ULL << 63) - 1, (1ULL << 32),
		};

		list_into(C_RANGE, tops[rnd_below(ARRAY_SIZE(tops))],
			  (__u32)rnd_range(1, VMM_LIST_MAX),
			  (uintptr_t)scratch, scratch_len, P_NORMAL);
		return;
	}
	switch (rnd_below(3)) {
	case 0:
		a.list.capacity = 0;
		break;
	case 1:
		a.list.capacity = VMM_LIST_MAX + 1;
		break;
	default:
		a.list.capacity = (__u32)rnd_range(VMM_LIST_MAX + 1,
						    UINT32_MAX);
	}
	op("LIST capacity %u", a.list.capacity);
	memset(scratch, 0xc5, 256);
	expect_ret(C_RANGE, "VMM_IOC_LIST", call(vfd, K_LIST, &a, P_NORMAL),
		   -EINVAL);
	check(C_STATE, vmm_all(scratch, 256, 0xc5),
	      "rejected LIST stored into its buffer");
	check_unchanged();
}

/* pread/pwrite/lseek at and past the end of the selected block. */
static void do_range_file(void)
{
	struct mblock *b = selected_block(C_RANGE);
	__u64 off, len;
	long r;

	if (!b)
		return;
	len = rnd_range(1, 64);
	switch (rnd_below(6)) {
	case 0:
		off = b->size + rnd_below(1ULL << 40);
		op("pread %llu (size %llu) at %llu len %llu: at or past the end",
		   (unsigned long long)b->id, (unsigned long long)b->size,
		   (unsigned long long)off, (unsigned long long)len);
		expect_ret(C_RANGE, "pread", xpread(ffd, scratch, len, off), 0);
		break;
	case 1:
		off = b->size + rnd_below(1ULL << 40);
		op("pwrite %llu (size %llu) at %llu len %llu: at or past the end",
		   (unsigned long long)b->id, (unsigned long long)b->size,
		   (unsigned long long)off, (unsigned long long)len);
		expect_ret(C_RANGE, "pwrite", xpwrite(ffd, srcbuf, len, off),
			   -ERANGE);
		break;
	case 2:
		off = b->size - rnd_range(1, b->size < len ? b->size : len);
		if (off + len <= b->size)
			len = b->size - off + 1;
		op("pwrite %llu (size %llu) at %llu len %llu: crosses the end",
		   (unsigned long long)b->id, (unsigned long long)b->size,
		   (unsigned long long)off, (unsigned long long)len);
		expect_ret(C_RANGE, "pwrite", xpwrite(ffd, srcbuf, len, off),
			   -EFBIG);
		break;
	case 3:
		off = 0 - rnd_range(1, 1ULL << 40);
		op("pread/pwrite %llu at negative offset %lld",
		   (unsigned long long)b->id, (long long)off);
		expect_ret(C_RANGE, "pread", xpread(ffd, scratch, len, off),
			   -EINVAL);
		expect_ret(C_RANGE, "pwrite", xpwrite(ffd, srcbuf, len, off),
			   -EINVAL);
		break;
	case 4:
		/* write(2) from a position past the end, set by lseek. */
		off = b->size + rnd_below(4096);
		op("lseek %llu (size %llu) to %llu, then write/read",
		   (unsigned long long)b->id, (unsigned long long)b->size,
		   (unsigned long long)off);
		if (!expect_ret(C_RANGE, "lseek", xlseek(ffd, off, SEEK_SET),
				(long)off))
			break;
		sel_pos = off;
		errno = 0;
		r = enc(write(ffd, srcbuf, (size_t)len));
		expect_ret(C_RANGE, "write", r, -ERANGE);
		errno = 0;
		r = enc(read(ffd, scratch, (size_t)len));
		expect_ret(C_RANGE, "read", r, 0);
		check_selection(C_STATE);
		break;
	default:
		op("lseek %llu (size %llu) SEEK_END", (unsigned long long)b->id,
		   (unsigned long long)b->size);
		if (expect_ret(C_RANGE, "lseek SEEK_END",
			       xlseek(ffd, 0, SEEK_END), (long)b->size))
			sel_pos = b->size;
		break;
	}
	check_block(C_STATE, b, "rejected file write");
}

/* ---- inaccessible pointers (C_POINTER) */

/* A struct argument that cannot be read whole. */
static void do_bad_struct(void)
{
	int k = (int)rnd_below(NKINDS);
	struct built x;
	union args a;
	size_t acc;
	void *p;

	if (!build_valid(k, &a, &x))
		return;
	switch (rnd_below(4)) {
	case 0:
		p = NULL;
		op("%s with a NULL struct", kinds[k].name);
		break;
	case 1:
		p = unmapped();
		op("%s with an unmapped struct", kinds[k].name);
		break;
	case 2:
		p = (void *)(uintptr_t)(0 - (uintptr_t)pgsz);
		op("%s with a struct at %p", kinds[k].name, p);
		break;
	default:
		/* Only its first bytes before an inaccessible page. */
		acc = (size_t)rnd_range(1, kinds[k].size - 1);
		p = edge_end - acc;
		memcpy(p, &a, acc);
		op("%s with a struct of which %zu of %zu bytes are accessible",
		   kinds[k].name, acc, kinds[k].size);
		break;
	}
	if (k == K_READ)
		memset(scratch, 0xc5, (size_t)x.len);
	expect_ret(C_POINTER, kinds[k].name, xioctl(x.fd, kinds[k].cmd, p),
		   -EFAULT);
	if (k == K_READ)
		check(C_STATE, vmm_all(scratch, (size_t)x.len, 0xc5),
		      "READ with an unreadable struct stored into its buffer");
	check_rejected(k, &x);
}

/* The model's view of the arena before an ambiguous DEFRAG. */
static __u64 saved_off[ARRAY_SIZE(mb)], saved_zoff[ARRAY_SIZE(zb)];

/*
 * After a DEFRAG whose outcome the header leaves open: the model holds the
 * packed offsets (moving @bytes), saved_off the previous ones.  Adopt
 * whichever the kernel shows, and fail if it shows neither.
 */
static void defrag_settle(__u64 bytes)
{
	struct vmm_list_args l = {
		.buffer = (__u64)(uintptr_t)scratch,
		.capacity = (__u32)(mb_n + zb_n + 1),	/* see check_list() */
	};
	const struct vmm_block_info *e = (const void *)scratch;
	bool packed = true, same = true;
	size_t i;

	if (!expect_ret(C_STATE, "VMM_IOC_LIST", xioctl(vfd, VMM_IOC_LIST, &l),
			0) ||
	    !check(C_STATE, l.count == mb_n, "LIST: %u blocks, expected %zu",
		   l.count, mb_n))
		return;
	for (i = 0; i < mb_n; i++) {
		packed = packed && e[i].id == mb[i].id &&
			 e[i].offset == mb[i].off;
		same = same && e[i].id == mb[i].id &&
		       e[i].offset == saved_off[i];
	}
	if (!check(C_STATE, packed || same,
		   "after a DEFRAG that failed with EFAULT the blocks are neither where they were nor packed"))
		return;
	if (packed && same && bytes) {
		/*
		 * Only freed, mapped blocks would move, which LIST does not
		 * show: bytes_moved tells.
		 */
		struct vmm_stats_args st;

		if (!expect_ret(C_STATE, "VMM_IOC_STATS",
				xioctl(vfd, VMM_IOC_STATS, &st), 0))
			return;
		packed = c_moved.lo == c_moved.hi &&
			 st.bytes_moved == c_moved.lo + bytes;
	}
	if (packed) {
		ctr_add(&c_moved, bytes);
		ctr_maybe(&c_defrags, 1);
	} else {
		for (i = 0; i < mb_n; i++)
			mb[i].off = saved_off[i];
		for (i = 0; i < zb_n; i++)
			zb[i].off = saved_zoff[i];
		mb_touch();
	}
}

/*
 * A valid struct passed read-only: commands that only read their struct
 * work; those that write it back fail with EFAULT.
 */
static void do_readonly_struct(void)
{
	int k = (int)rnd_below(NKINDS);
	__u64 bytes, blocks;
	struct built x;
	union args a;
	size_t i;
	long r;

	if (!build_valid(k, &a, &x))
		return;
	op("%s with a valid struct in read-only memory", kinds[k].name);
	switch (k) {
	case K_FREE:
		if (expect_ret(C_POINTER, "VMM_IOC_FREE",
			       call(vfd, k, &a, P_READONLY), 0))
			free_succeeded((size_t)(x.b - mb));
		return;
	case K_SELECT:
		select_on_ffd(C_POINTER, a.select.id, P_READONLY);
		return;
	case K_WRITE:
		rw_write(C_POINTER, x.b, x.off, x.len, srcbuf, P_READONLY);
		return;
	case K_READ:
		rw_read(C_POINTER, x.b, x.off, x.len, P_READONLY);
		return;
	case K_LIST:
		list_into(C_POINTER, a.list.start_id, a.list.capacity,
			  (uintptr_t)scratch, scratch_len, P_READONLY);
		check_unchanged();
		return;
	case K_ALLOC:
		r = call(vfd, k, &a, P_READONLY);
		expect_ret(C_POINTER, "VMM_IOC_ALLOC", r, -EFAULT);
		/*
		 * Nobody learnt the ID, so no block may be left behind.
		 * Whether the attempt used up an ID and counts in allocs and
		 * frees, the header leaves open.
		 */
		id_slack++;
		ctr_maybe(&c_allocs, 1);
		ctr_maybe(&c_frees, 1);
		check_unchanged();
		return;
	case K_DEFRAG:
		/*
		 * The header leaves open whether it compacted before failing
		 * to store the result: the blocks must be either where they
		 * were or packed, with their data.
		 */
		for (i = 0; i < mb_n; i++)
			saved_off[i] = mb[i].off;
		for (i = 0; i < zb_n; i++)
			saved_zoff[i] = zb[i].off;
		model_defrag(&bytes, &blocks, true);
		r = call(vfd, k, &a, P_READONLY);
		expect_ret(C_POINTER, "VMM_IOC_DEFRAG", r, -EFAULT);
		defrag_settle(bytes);
		check_unchanged();
		return;
	case K_INFO:
	case K_STATS:
	default:
		expect_ret(C_POINTER, kinds[k].name,
			   call(vfd, k, &a, P_READONLY), -EFAULT);
		check_unchanged();
		return;
	}
}

enum bufkind { B_NULL, B_UNMAPPED, B_KERNEL, B_NONCANON, B_READONLY, B_EDGE,
	       NBUFKINDS };

static const char *const bufkind_name[NBUFKINDS] = {
	"NULL", "unmapped", "kernel", "non-canonical", "read-only", "partly accessible"
};

/*
 * A buffer of @len bytes of kind @bk: its address, and how many of its
 * first bytes are accessible for the kernel to read (@readable) and to
 * write (@writable).  For B_EDGE the readable bytes are filled from @src.
 */
static __u64 bad_buffer(int bk, __u64 len, const unsigned char *src,
			__u64 *readable, __u64 *writable)
{
	__u64 acc;

	*readable = *writable = 0;
	switch (bk) {
	case B_NULL:
		return 0;
	case B_UNMAPPED:
		return (__u64)(uintptr_t)unmapped();
	case B_KERNEL:
		return KERNEL_U64 + rnd_below(1ULL << 30);
	case B_NONCANON:
		return (1ULL << 63) | rnd_below(1ULL << 40);
	case B_READONLY:
		*readable = len;
		return (__u64)(uintptr_t)(ro + rnd_below(RO_LEN - len + 1));
	default:
		acc = rnd_below(len < EDGE_LEN ? len : EDGE_LEN);
		if (src)
			memcpy(edge_end - acc, src, (size_t)acc);
		*readable = *writable = acc;
		return (__u64)(uintptr_t)(edge_end - acc);
	}
}

/*
 * After a WRITE of [off, off + len) of @b that failed with EFAULT, with
 * only the first @readable bytes of the source @src readable: the header
 * allows part of the data to be stored.  Every byte of the range is the
 * source's or the old one, the source's forming a prefix; outside the
 * range nothing changed.  The model adopts what the block holds.
 */
static void check_partial_write(struct mblock *b, __u64 off, __u64 len,
				const unsigned char *src, __u64 readable)
{
	const unsigned char *got = rbuf + off, *old = b->data + off;
	__u64 a = 0, z = len, i;

	if (!read_block(C_DATA, b))
		return;
	if (!check(C_DATA, !memcmp(rbuf, b->data, (size_t)off) &&
		   !memcmp(rbuf + off + len, b->data + off + len,
			   (size_t)(b->size - off - len)),
		   "failed WRITE to block %llu [%llu, +%llu) changed bytes outside that range",
		   (unsigned long long)b->id, (unsigned long long)off,
		   (unsigned long long)len)) {
		memcpy(b->data, rbuf, (size_t)b->size);
		return;
	}
	while (a < readable && got[a] == src[a])
		a++;
	while (z > 0 && got[z - 1] == old[z - 1])
		z--;
	if (z > a) {
		__u64 bad = 0, zeros = 0;

		for (i = a; i < z; i++) {
			if (got[i] != old[i] &&
			    (i >= readable || got[i] != src[i])) {
				bad++;
				zeros += !got[i];
			}
		}
		for (i = a; got[i] == old[i]; i++)
			;
		mismatch(C_DATA, "failed write (EFAULT, %llu of %llu source bytes readable) to block %llu at %llu: %llu bytes of the range from byte %llu on hold neither the source's nor the old bytes (%llu of them 0x00; byte %llu: 0x%02x, old 0x%02x)",
			 (unsigned long long)readable, (unsigned long long)len,
			 (unsigned long long)b->id, (unsigned long long)off,
			 (unsigned long long)bad, (unsigned long long)a,
			 (unsigned long long)zeros, (unsigned long long)i,
			 got[i], old[i]);
	} else {
		cat_checks[C_DATA]++;
	}
	memcpy(b->data, rbuf, (size_t)b->size);
}

/* READ, WRITE or LIST with a buffer the kernel cannot fully access. */
static void do_bad_buffer(void)
{
	int bk = (int)rnd_below(NBUFKINDS), which = (int)rnd_below(3);
	struct mblock *b = mb_random();
	__u64 off, len, rd, wr, buf;
	long want;

	if (which == 2 || !b) {
		__u32 cap = (__u32)rnd_range(1, 64);
		__u64 bytes = cap * sizeof(struct vmm_block_info);

		/* LIST stores: only the writable bytes count. */
		buf = bad_buffer(bk, bytes, NULL, &rd, &wr);
		list_into(C_POINTER, rnd_start_id(), cap, buf, (size_t)wr,
			  P_NORMAL);
		check_unchanged();
		return;
	}
	rnd_subrange(b, 1, &off, &len);
	if (len > EDGE_LEN) {
		len = EDGE_LEN;
		off = rnd_below(b->size - len + 1);
	}
	make_data(b, len);
	buf = bad_buffer(bk, len, srcbuf, &rd, &wr);
	if (which == 0) {
		union args a = { .rw = { .id = b->id, .offset = off,
					 .length = len, .buffer = buf } };

		/* READ stores into the buffer: read-only is inaccessible. */
		op("READ %llu at %llu len %llu into a %s buffer",
		   (unsigned long long)b->id, (unsigned long long)off,
		   (unsigned long long)len, bufkind_name[bk]);
		expect_ret(C_POINTER, "VMM_IOC_READ",
			   call(vfd, K_READ, &a, P_NORMAL), -EFAULT);
		check_unchanged();
		return;
	}
	/* WRITE reads the buffer: read-only memory is fine. */
	want = rd == len ? 0 : -EFAULT;
	op("WRITE %llu at %llu len %llu from a %s buffer (%llu readable)",
	   (unsigned long long)b->id, (unsigned long long)off,
	   (unsigned long long)len, bufkind_name[bk], (unsigned long long)rd);
	if (!want) {
		rw_write(C_POINTER, b, off, len, (const void *)(uintptr_t)buf,
			 P_NORMAL);
		return;
	}
	{
		union args a = { .rw = { .id = b->id, .offset = off,
					 .length = len, .buffer = buf } };

		expect_ret(C_POINTER, "VMM_IOC_WRITE",
			   call(vfd, K_WRITE, &a, P_NORMAL), -EFAULT);
		check_partial_write(b, off, len, srcbuf, rd);
	}
	check_unchanged();
}

/* pread/pwrite on the selected block with a bad buffer. */
static void do_bad_file_buffer(void)
{
	int bk = (int)rnd_below(NBUFKINDS);
	struct mblock *b = selected_block(C_POINTER);
	__u64 off, len, rd, wr, buf;
	bool write = chance(50);
	long r;

	if (!b)
		return;
	rnd_subrange(b, 1, &off, &len);
	if (len > EDGE_LEN) {
		len = EDGE_LEN;
		off = rnd_below(b->size - len + 1);
	}
	if (bk == B_KERNEL || bk == B_NONCANON)
		bk = B_UNMAPPED;	/* a 32-bit pointer cannot hold them */
	make_data(b, len);
	buf = bad_buffer(bk, len, srcbuf, &rd, &wr);
	op("%s %llu at %llu len %llu with a %s buffer",
	   write ? "pwrite" : "pread", (unsigned long long)b->id,
	   (unsigned long long)off, (unsigned long long)len,
	   bufkind_name[bk]);
	if (!write) {
		r = xpread(ffd, (void *)(uintptr_t)buf, (size_t)len, off);
		if (bk == B_EDGE && wr) {
			/* A short read of what fits. */
			if (check(C_POINTER, r > 0 && (__u64)r <= wr,
				  "pread returned %s, expected 1 to %llu",
				  ret_str(r), (unsigned long long)wr))
				if (!check(C_DATA, !memcmp(edge_end - wr,
							   b->data + off,
							   (size_t)r),
					   "short pread: data differs from the model"))
					need_resync = true;
		} else {
			expect_ret(C_POINTER, "pread", r, -EFAULT);
		}
		check_block(C_STATE, b, "after pread");
		return;
	}
	r = xpwrite(ffd, (const void *)(uintptr_t)buf, (size_t)len, off);
	if (rd == len) {
		/* From read-only memory: the bytes there are the source. */
		if (expect_ret(C_POINTER, "pwrite", r, (long)len))
			memcpy(b->data + off, (const void *)(uintptr_t)buf,
			       (size_t)len);
		check_block(C_DATA, b, "after pwrite from read-only memory");
		return;
	}
	if (bk == B_EDGE && rd) {
		/* A short write of what is readable, or EFAULT. */
		if (check(C_POINTER, r == -EFAULT || (r > 0 && (__u64)r <= rd),
			  "pwrite returned %s, expected 1 to %llu or EFAULT",
			  ret_str(r), (unsigned long long)rd) && r > 0) {
			/* Exactly the returned bytes are stored. */
			memcpy(b->data + off, srcbuf, (size_t)r);
			check_block(C_DATA, b, "after a short pwrite");
			return;
		}
	} else {
		expect_ret(C_POINTER, "pwrite", r, -EFAULT);
	}
	check_partial_write(b, off, len, srcbuf, rd);
}

/* ---- unknown IDs (C_ID) */

static __u64 rnd_unknown_id(void)
{
	switch (rnd_below(7)) {
	case 0:
		return 0;
	case 1:
		return UINT64_MAX;
	case 2:
		return UINT64_MAX - 1;
	case 3:
		return 1ULL << 63;
	case 4:
		if (!freed_n)
			return last_id + 1 + id_slack;
		return freed[rnd_below(freed_n < FREED_KEEP ? freed_n :
							     FREED_KEEP)].id;
	case 5:
		return last_id + 1 + id_slack;	/* the next, not yet used */
	default:
		return last_id + 2 + id_slack + rnd_below(1ULL << 32);
	}
}

static void do_unknown_id(void)
{
	static const int ks[] = { K_FREE, K_INFO, K_SELECT, K_READ, K_WRITE };
	int k = ks[rnd_below(ARRAY_SIZE(ks))];
	__u64 id = rnd_unknown_id();
	struct built x = { .fd = vfd };
	union args a = { .free = { .id = id } };

	if (k == K_SELECT) {
		if (!id)
			return;	/* 0 unbinds: valid */
		x.fd = ffd;
		if (sel_live && chance(70)) {
			/* A position to find unchanged afterwards. */
			long i = mb_find(sel_id);

			sel_pos = rnd_below(mb[i].size + 10);
			if (!expect_ret(C_ID, "lseek",
					xlseek(ffd, sel_pos, SEEK_SET),
					(long)sel_pos))
				return;
		}
	}
	if (k == K_READ || k == K_WRITE) {
		a.rw.length = rnd_range(1, 64);
		a.rw.buffer = (__u64)(uintptr_t)(k == K_READ ? scratch : srcbuf);
		if (k == K_WRITE && chance(20))
			a.rw.length = 0;	/* still no such block */
	}
	op("%s unknown ID %llu", kinds[k].name, (unsigned long long)id);
	if (k == K_READ)
		memset(scratch, 0xc5, 64);
	expect_ret(C_ID, kinds[k].name, call(x.fd, k, &a, P_NORMAL), -ENOENT);
	if (k == K_READ)
		check(C_STATE, vmm_all(scratch, 64, 0xc5),
		      "rejected READ stored into its buffer");
	if (k == K_SELECT)
		check_selection(C_STATE);
	check_unchanged();
}

/* LIST from IDs that name nothing: the entries above them, or none. */
static void do_list_unknown_start(void)
{
	list_into(C_ID, rnd_unknown_id(), (__u32)rnd_range(1, 16),
		  (uintptr_t)scratch, scratch_len, P_NORMAL);
}

/*
 * The file interface once its block is gone: select a fresh block on gfd,
 * free it, and every read/write/seek fails with ENOENT; on a file that
 * never selected anything, ENXIO.
 */
static void do_file_without_block(void)
{
	union args a = { .alloc = { .size = rnd_range(1, 64) } };
	__u64 off = 0;
	long r, want;

	if (chance(30)) {
		op("pread/pwrite/lseek on a file with no block selected");
		want = -ENXIO;
		expect_ret(C_ID, "pread", xpread(nfd, scratch, 8, 0), want);
		expect_ret(C_ID, "pwrite", xpwrite(nfd, srcbuf, 8, 0), want);
		expect_ret(C_ID, "lseek", xlseek(nfd, 0, SEEK_END), want);
		return;
	}
	if (!model_first_fit(a.alloc.size, 0, &off))
		return;
	op("pread/pwrite/lseek on a file whose block was freed");
	r = call(vfd, K_ALLOC, &a, P_NORMAL);
	if (!expect_ret(C_VALID, "VMM_IOC_ALLOC", r, 0))
		return;
	alloc_succeeded(C_VALID, &a.alloc, 0, off, false);
	a = (union args){ .select = { .id = a.alloc.id } };
	if (!expect_ret(C_VALID, "VMM_IOC_SELECT", call(gfd, K_SELECT, &a,
							 P_NORMAL), 0))
		return;
	gsel = (struct fdsel){ .id = a.select.id, .live = true };
	a = (union args){ .free = { .id = a.select.id } };
	if (!expect_ret(C_VALID, "VMM_IOC_FREE", call(vfd, K_FREE, &a,
						       P_NORMAL), 0))
		return;
	free_succeeded((size_t)mb_find(a.free.id));
	want = -ENOENT;
	expect_ret(C_ID, "pread", xpread(gfd, scratch, 8, 0), want);
	expect_ret(C_ID, "pwrite", xpwrite(gfd, srcbuf, 8, 0), want);
	expect_ret(C_ID, "lseek", xlseek(gfd, 0, SEEK_SET), want);
	errno = 0;
	expect_ret(C_ID, "read", enc(read(gfd, scratch, 8)), want);
	check_unchanged();
}

/* ---- the run */

/* ---- VMM_IOC_BATCH: random entries, valid and not, against the model */

#define BATCH_N		16	/* entries per batch, at most */
#define BATCH_BUF	4096	/* each READ or WRITE entry's own buffer */
#define BATCH_UNTOUCHED	0x7eadbeef

static unsigned char batch_bufs[BATCH_N][BATCH_BUF];

/* Why an entry is expected to fail however the model stands, or 0. */
static int batch_bad_entry(struct vmm_batch_entry *e)
{
	size_t len = e->op == VMM_BATCH_FREE ? sizeof(e->free) :
		     e->op == VMM_BATCH_INFO ? sizeof(e->info) :
		     sizeof(e->rw);

	switch (rnd_below(6)) {
	case 0:
		e->op = chance(50) ? 0 : (__u32)rnd_range(6, UINT32_MAX);
		break;
	case 1:
		if (e->op == VMM_BATCH_ALLOC)
			e->alloc.reserved[rnd_below(4)] = rnd_nonzero(64);
		else
			((unsigned char *)e->raw)[rnd_range(len, sizeof(e->raw) - 1)] = 1;
		break;
	case 2:
		/* flags: the first __u32 after the id (ALLOC: size) */
		if (e->op == VMM_BATCH_ALLOC)
			e->alloc.flags |= 1U << rnd_range(4, 31);
		else if (e->op == VMM_BATCH_FREE)
			e->free.pad = (__u32)rnd_nonzero(32);
		else if (e->op == VMM_BATCH_INFO)
			e->info.flags = (__u32)rnd_nonzero(32);
		else
			e->rw.flags = (__u32)rnd_nonzero(32);
		break;
	case 3:
		if (e->op == VMM_BATCH_ALLOC)
			e->alloc.size = chance(50) ? 0 : ARENA_SIZE + rnd_range(1, 4096);
		else if (e->op == VMM_BATCH_READ)
			e->rw.length = 0;
		else
			return 0;
		break;
	case 4:
		if (e->op != VMM_BATCH_ALLOC)
			return 0;
		e->alloc.align = 3 + 2 * rnd_below(1000);	/* odd: no power of two */
		break;
	default:
		if (e->op != VMM_BATCH_ALLOC)
			return 0;
		e->alloc.mode = (__u32)rnd_range(1, 0777);	/* without MODE */
		break;
	}
	return -EINVAL;
}

/* A random entry; *@bad is -EINVAL if it must fail its checks. */
static void batch_entry(unsigned int i, struct vmm_batch_entry *e, int *bad)
{
	struct mblock *b = mb_random();
	__u64 id = b ? b->id : 0, off = 0, len = 1;

	memset(e, 0, sizeof(*e));
	e->result = BATCH_UNTOUCHED;
	if (chance(10) || !b) {
		/* An ID that no entry of this batch can allocate. */
		id = chance(50) ? rnd_unknown_id() : 0;
		if (id > last_id && id <= last_id + 1 + BATCH_N + id_slack)
			id = 0;
	} else {
		rnd_subrange(b, 0, &off, &len);
		if (len > BATCH_BUF)
			len = BATCH_BUF;
		if (chance(10)) {
			/* Past the end, or wrapping. */
			off = chance(50) ? b->size : rnd_range(1, b->size);
			len = chance(50) ? UINT64_MAX - rnd_below(16) : BATCH_BUF;
		}
	}
	switch (rnd_below(6)) {
	case 0:
	case 1:
		e->op = VMM_BATCH_ALLOC;
		e->alloc.size = rnd_block_size();
		e->alloc.align = rnd_align();
		if (chance(15))
			e->alloc.flags = VMM_ALLOC_MAPPABLE;
		break;
	case 2:
		e->op = VMM_BATCH_FREE;
		e->free.id = id;
		break;
	case 3:
		e->op = VMM_BATCH_INFO;
		e->info.id = id;
		e->info.offset = rnd();
		break;
	default:
		e->op = chance(50) ? VMM_BATCH_READ : VMM_BATCH_WRITE;
		e->rw.id = id;
		e->rw.offset = off;
		e->rw.length = len;
		e->rw.buffer = (__u64)(uintptr_t)batch_bufs[i];
		if (e->op == VMM_BATCH_WRITE)
			for (off = 0; off < BATCH_BUF; off++)
				batch_bufs[i][off] = (unsigned char)rnd();
		else
			memset(batch_bufs[i], 0xc5, BATCH_BUF);
		break;
	}
	*bad = chance(15) ? batch_bad_entry(e) : 0;
}

/*
 * What entry @e should return with the model as it stands after the
 * entries before it; on success the model follows (@e as the kernel
 * wrote it back).  False if the kernel disagreed.
 */
static bool batch_apply(unsigned int i, const struct vmm_batch_entry *e,
			int bad)
{
	__u64 size, align, off = 0;
	long want = bad, mi = -1;
	struct mblock *b = NULL;
	bool fits = false;

	if (!bad && e->op == VMM_BATCH_READ && !e->rw.length) {
		/* As VMM_IOC_READ: checked before the block is looked up. */
		want = -EINVAL;
	} else if (!bad && e->op != VMM_BATCH_ALLOC) {
		mi = mb_find(e->op == VMM_BATCH_FREE ? e->free.id :
			     e->op == VMM_BATCH_INFO ? e->info.id : e->rw.id);
		b = mi >= 0 ? &mb[mi] : NULL;
		if (!b)
			want = -ENOENT;
		else if (e->op == VMM_BATCH_READ || e->op == VMM_BATCH_WRITE)
			want = rw_verdict(e->op == VMM_BATCH_WRITE,
					  e->rw.offset, e->rw.length, b->size);
	} else if (!bad) {
		size = e->alloc.size;
		align = e->alloc.align;
		if (e->alloc.flags & VMM_ALLOC_MAPPABLE)
			mappable_request(&size, &align);
		fits = model_first_fit(size, align, &off);
		want = fits ? 0 : -ENOSPC;
	}
	if (!check(C_BATCH, e->result == want,
		   "entry %u (op %u) result %d, expected %ld", i, e->op,
		   e->result, want))
		return false;
	if (e->op == VMM_BATCH_ALLOC && !bad) {
		if (fits)
			alloc_succeeded(C_BATCH, &e->alloc,
					e->alloc.flags, off, false);
		else
			ctr_add(&c_failures, 1);
	}
	if (want)
		return true;
	switch (e->op) {
	case VMM_BATCH_FREE:
		free_succeeded((size_t)mi);
		break;
	case VMM_BATCH_INFO:
		info_check(C_BATCH, (const union args *)&e->info, b);
		break;
	case VMM_BATCH_WRITE:
		memcpy(b->data + e->rw.offset, batch_bufs[i], e->rw.length);
		break;
	case VMM_BATCH_READ:
		if (!check(C_DATA, !memcmp(batch_bufs[i], b->data + e->rw.offset,
					   e->rw.length),
			   "batch READ entry %u of block %llu differs", i,
			   (unsigned long long)b->id))
			memcpy(b->data + e->rw.offset, batch_bufs[i],
			       e->rw.length);
		break;
	}
	return true;
}

static void do_batch(void)
{
	static struct vmm_batch_entry e[BATCH_N];
	unsigned int n = (unsigned int)rnd_range(1, BATCH_N), i, failed = 0;
	struct vmm_batch_args a = { .entries = (__u64)(uintptr_t)e,
				    .count = n, .done = (__u32)rnd(),
				    .failed = (__u32)rnd() };
	int bad[BATCH_N];
	long r;

	a.flags = chance(50) ? VMM_BATCH_CONTINUE : 0;
	for (i = 0; i < n; i++)
		batch_entry(i, &e[i], &bad[i]);
	op("BATCH of %u%s, first op %u", n,
	   a.flags ? " CONTINUE" : "", e[0].op);
	r = xioctl(vfd, VMM_IOC_BATCH, &a);
	if (!expect_ret(C_BATCH, "VMM_IOC_BATCH", r, 0))
		return;
	for (i = 0; i < n && i < a.done; i++) {
		if (!batch_apply(i, &e[i], bad[i]))
			return;
		failed += e[i].result != 0;
		if (e[i].result && !a.flags)
			break;
	}
	/* Stopped after the first failure, or ran every entry. */
	CHECK_FIELD(C_BATCH, "BATCH done", a.done, i < n ? i + 1 : n);
	CHECK_FIELD(C_BATCH, "BATCH failed", a.failed, failed);
	for (i = a.done; i < n; i++)
		check(C_BATCH, e[i].result == BATCH_UNTOUCHED,
		      "entry %u after the stop has result %d", i, e[i].result);
}

struct opdef {
	void (*fn)(void);
	unsigned int weight;
};

static const struct opdef ops[] = {
	{ do_alloc, 10 },
	{ do_free, 6 },
	{ do_write, 8 },
	{ do_read, 6 },
	{ do_defrag, 2 },
	{ do_info, 3 },
	{ do_list, 3 },
	{ do_stats, 1 },
	{ do_select, 2 },
	{ do_pwrite, 4 },
	{ do_pread, 4 },
	{ do_unknown_cmd, 8 },
	{ do_reserved, 10 },
	{ do_range_rw, 6 },
	{ do_range_alloc, 2 },
	{ do_range_list, 1 },
	{ do_range_file, 2 },
	{ do_bad_struct, 4 },
	{ do_readonly_struct, 3 },
	{ do_bad_buffer, 5 },
	{ do_bad_file_buffer, 2 },
	{ do_unknown_id, 7 },
	{ do_list_unknown_start, 1 },
	{ do_file_without_block, 2 },
	{ do_mmap, 4 },
	{ do_mapping, 4 },
	{ do_mapped_buffer, 1 },
	{ do_batch, 4 },
};

static void run_one(void)
{
	unsigned int total = 0, pick;
	size_t i;

	/* Keep the arena from filling up: favour frees when it is busy. */
	if ((mb_n > MAX_BLOCKS || model_used() > ARENA_SIZE * 3 / 4) &&
	    chance(50)) {
		do_free();
		return;
	}
	for (i = 0; i < ARRAY_SIZE(ops); i++)
		total += ops[i].weight;
	pick = (unsigned int)rnd_below(total);
	for (i = 0; pick >= ops[i].weight; i++)
		pick -= ops[i].weight;
	ops[i].fn();
}

static __u64 parse_u64(const char *what, const char *s)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || *end || *s == '-') {
		fprintf(stderr, "vmm_fuzz_test: %s: '%s' is not a number\n",
			what, s);
		exit(KSFT_FAIL);
	}
	return v;
}

static void print_help(FILE *f)
{
	fprintf(f,
		"usage: vmm_fuzz_test [--seed N] [--ops M] [--verbose]\n"
		"  --seed N   pseudo-random seed (default %llu; env VMM_FUZZ_SEED)\n"
		"  --ops M    operations to run (default %llu; env VMM_FUZZ_OPS)\n"
		"  --verbose  print every operation\n",
		DEFAULT_SEED, DEFAULT_OPS);
}

static int open_dev(void)
{
	int fd = open(VMM_DEV, O_RDWR | O_CLOEXEC);

	if (fd < 0)
		ksft_exit_fail_msg("open %s: %s\n", VMM_DEV, strerror(errno));
	return fd;
}

static void close_all(void)
{
	int *fds[] = { &vfd, &ffd, &gfd, &nfd, &mfd, &rofd };
	size_t i;

	/* A mapping holds its file, and the file the module. */
	unmap_all();
	for (i = 0; i < ARRAY_SIZE(fds); i++) {
		if (*fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "seed", required_argument, NULL, 's' },
		{ "ops", required_argument, NULL, 'n' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	__u64 seed = DEFAULT_SEED, nops = DEFAULT_OPS;
	struct timespec t0, t1;
	const char *env, *why;
	int c, i;

	env = getenv("VMM_FUZZ_SEED");
	if (env && *env)
		seed = parse_u64("VMM_FUZZ_SEED", env);
	env = getenv("VMM_FUZZ_OPS");
	if (env && *env)
		nops = parse_u64("VMM_FUZZ_OPS", env);
	while ((c = getopt_long(argc, argv, "s:n:vh", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			seed = parse_u64("--seed", optarg);
			break;
		case 'n':
			nops = parse_u64("--ops", optarg);
			break;
		case 'v':
			verbose = true;
			break;
		case 'h':
			print_help(stdout);
			return KSFT_PASS;
		default:
			print_help(stderr);
			return KSFT_FAIL;
		}
	}
	if (optind < argc) {
		print_help(stderr);
		return KSFT_FAIL;
	}

	ksft_print_header();
	ksft_print_msg("seed %llu, %llu ops (replay: vmm_fuzz_test --seed %llu --ops %llu)\n",
		       (unsigned long long)seed, (unsigned long long)nops,
		       (unsigned long long)seed, (unsigned long long)nops);
	why = vmm_skip_reason();
	if (why)
		ksft_exit_skip("%s\n", why);
	ksft_set_plan(NCAT);

	vmm_unload_for_reload();
	if (vmm_load(ARENA_STR))
		ksft_exit_fail_msg("modprobe vmm size=%s failed\n", ARENA_STR);
	vfd = open_dev();
	ffd = open_dev();
	gfd = open_dev();
	nfd = open_dev();
	mfd = open_dev();
	rofd = open(VMM_DEV, O_RDONLY | O_CLOEXEC);
	if (rofd < 0)
		ksft_exit_fail_msg("open %s O_RDONLY: %s\n", VMM_DEV,
				   strerror(errno));
	/* Before vmm_util.h's destructor, which cannot unload a busy module. */
	atexit(close_all);
	setup_memory();
	setup_fault_guard();
	{
		struct statvfs sv;
		int pers = personality(0xffffffff);

		dev_noexec = !statvfs(VMM_DEV, &sv) && (sv.f_flag & ST_NOEXEC);
		read_exec = pers != -1 && (pers & READ_IMPLIES_EXEC);
		if (dev_noexec || read_exec)
			ksft_print_msg("%s%s: PROT_EXEC is refused before vmm sees it\n",
				       dev_noexec ? VMM_DEV "'s mount is noexec" : "",
				       read_exec ? " READ_IMPLIES_EXEC" : "");
	}
	rng_state = seed;
	clock_gettime(CLOCK_MONOTONIC, &t0);

	op("start");
	check_stats(C_VALID);
	check_list(C_VALID);
	for (op_index = 0; op_index < nops; op_index++) {
		run_one();
		if (need_resync)
			model_resync();
		if ((op_index + 1) % CHECK_EVERY == 0) {
			op("periodic check");
			check_all_blocks("periodic check");
			check_mappings("periodic check");
			check_selection(C_STATE);
			if (need_resync)
				model_resync();
		}
	}

	op("final check");
	check_stats(C_VALID);
	check_list(C_VALID);
	check_all_blocks("final check");
	check_mappings("final check");
	/* Free everything: the arena ends empty and in one piece. */
	while (mb_n) {
		union args a = { .free = { .id = mb[mb_n - 1].id } };

		op("final FREE %llu", (unsigned long long)a.free.id);
		if (!expect_ret(C_VALID, "VMM_IOC_FREE",
				call(vfd, K_FREE, &a, P_NORMAL), 0))
			break;
		free_succeeded(mb_n - 1);
	}
	/* What is left is held by mappings, until they go. */
	check_stats(C_VALID);
	check_mappings("final check of freed blocks");
	while (vma_n) {
		op("final munmap of %s", vma_str(&vmas[vma_n - 1]));
		vma_unmap(vma_n - 1, 0, vmas[vma_n - 1].len);
	}
	check_stats(C_VALID);
	clock_gettime(CLOCK_MONOTONIC, &t1);

	for (i = 0; i < NCAT; i++) {
		if (cat_fails[i]) {
			ksft_print_msg("%s: %lu of %lu checks failed\n",
				       cat_name[i], cat_fails[i], cat_checks[i]);
			ksft_test_result_fail("%s\n", cat_name[i]);
		} else if (!cat_checks[i]) {
			ksft_test_result_skip("%s: no checks ran\n", cat_name[i]);
		} else {
			ksft_print_msg("%s: %lu checks\n", cat_name[i],
				       cat_checks[i]);
			ksft_test_result_pass("%s\n", cat_name[i]);
		}
	}
	ksft_print_msg("mappings: %lu made, %lu split, %lu moved by mremap, %lu used as I/O buffers; %lu moves of mapped blocks (%lu of freed ones); %lu mapped blocks freed, %lu released by their last munmap\n",
		       cov.made, cov.split, cov.remapped, cov.copies, cov.moved,
		       cov.moved_dead, cov.freed, cov.released);
	ksft_print_msg("%llu ops in %.1f s, %lu mismatches\n",
		       (unsigned long long)nops,
		       (double)(t1.tv_sec - t0.tv_sec) +
		       (double)(t1.tv_nsec - t0.tv_nsec) / 1e9, total_fails);
	if (total_fails)
		ksft_print_msg("replay: vmm_fuzz_test --seed %llu --ops %llu --verbose\n",
			       (unsigned long long)seed,
			       (unsigned long long)nops);
	return total_fails ? ksft_exit_fail() : ksft_exit_pass();
}
