// SPDX-License-Identifier: GPL-2.0
/*
 * The vmm tracepoints through ftrace: enable events/vmm, run a known
 * sequence of ioctls, and compare the recorded events, field by field,
 * with what the sequence must produce.  SKIPs where tracefs cannot be
 * found or mounted.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <sched.h>
#include <sys/mount.h>
#include <time.h>

#include "vmm_util.h"

#define ARENA		(64 * KiB)
#define ARENA_STR	"64K"
#define MAX_EVENTS	64

static const char *const tracefs_dirs[] = {
	"/sys/kernel/tracing", "/sys/kernel/debug/tracing",
};

/* The tracefs root, mounting it if needed; NULL if there is none. */
static const char *vmm_tracefs(void)
{
	static char path[64];
	size_t i;

	for (i = 0; i < sizeof(tracefs_dirs) / sizeof(tracefs_dirs[0]); i++) {
		snprintf(path, sizeof(path), "%s/trace", tracefs_dirs[i]);
		if (vmm_path_exists(path))
			return tracefs_dirs[i];
	}
	if (mount("nodev", tracefs_dirs[0], "tracefs", 0, NULL))
		return NULL;
	snprintf(path, sizeof(path), "%s/trace", tracefs_dirs[0]);
	return vmm_path_exists(path) ? tracefs_dirs[0] : NULL;
}

/* Write @val to @name under the tracefs root; 0 or -1. */
static int trace_write(const char *root, const char *name, const char *val,
		       int flags)
{
	char path[256];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", root, name);
	fd = open(path, O_WRONLY | O_CLOEXEC | flags);
	if (fd < 0)
		return -1;
	n = write(fd, val, strlen(val));
	close(fd);
	return n == (ssize_t)strlen(val) ? 0 : -1;
}

/*
 * The vmm events in the trace buffer, in order, from the event name on
 * (after the task, CPU and timestamp columns and their ": "):
 * "vmm_free: id=2 offset=4096 size=8192".  Every duration_ns value must be
 * a number no larger than @max_ns, the time the whole sequence took as
 * userspace measured it, and is replaced by "N", since it cannot be
 * predicted (it may be 0 where sched_clock() is coarse).  Returns the
 * number of events, or -1 if the trace cannot be read or a duration is
 * out of range.
 */
static int trace_events(const char *root, char ev[][160], int max,
			unsigned long long max_ns)
{
	char path[256], line[512];
	int n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/trace", root);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		char *p = strstr(line, ": vmm_"), *d;

		if (line[0] == '#' || !p || n == max)
			continue;
		p += 2;
		p[strcspn(p, "\n")] = '\0';
		d = strstr(p, "duration_ns=");
		if (d) {
			char *num = d + strlen("duration_ns="), *end;
			unsigned long long v = strtoull(num, &end, 10);

			if (end == num || v > max_ns) {
				fprintf(stderr, "# bad duration: %s\n", p);
				fclose(f);
				return -1;
			}
			memmove(num + 1, end, strlen(end) + 1);
			*num = 'N';
		}
		snprintf(ev[n++], 160, "%s", p);
	}
	fclose(f);
	return n;
}

FIXTURE(trace) {
	int fd;
	const char *root;
	char record_cmd;	/* options/record-cmd before setup, or 0 */
	char ev[MAX_EVENTS][160];
	unsigned long long t0;	/* now_ns() when recording started */
};

static unsigned long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* The first character of tracefs file @name, or 0. */
static char trace_read_char(const char *root, const char *name)
{
	char path[256], c = 0;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", root, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	if (read(fd, &c, 1) != 1)
		c = 0;
	close(fd);
	return c;
}

/*
 * Reload the module, pin this process to one CPU (so that the per-CPU
 * buffers cannot reorder its events), clear the buffer and enable the vmm
 * events only.  With options/record-cmd off while they are: otherwise
 * enabling and disabling them also registers and removes a probe on
 * sched_switch, which patches a static branch in __schedule() that every
 * CPU runs through, and under TCG one such patch left a stale int3 in
 * a vCPU's path ("Oops: int3" in __schedule(), a panic in interrupt;
 * Debian 13's 6.12, 2026-12).  The vmm events' own branches are in
 * vmm.ko, which nothing runs through while this program toggles them.
 */
FIXTURE_SETUP(trace)
{
	cpu_set_t cpus;

	self->fd = -1;
	VMM_SETUP_RELOAD(ARENA_STR, &self->fd);
	self->root = vmm_tracefs();
	if (!self->root)
		VMM_SETUP_SKIP("no tracefs at /sys/kernel/tracing, and it cannot be mounted");
	ASSERT_EQ(0, trace_write(self->root, "events/vmm/enable", "0", 0))
		TH_LOG("events/vmm missing: vmm.ko registered no tracepoints");
	self->record_cmd = trace_read_char(self->root, "options/record-cmd");
	if (self->record_cmd == '1')
		ASSERT_OK(trace_write(self->root, "options/record-cmd", "0", 0));
	CPU_ZERO(&cpus);
	CPU_SET(sched_getcpu(), &cpus);
	ASSERT_OK(sched_setaffinity(0, sizeof(cpus), &cpus));
	ASSERT_OK(trace_write(self->root, "tracing_on", "1", 0));
	ASSERT_OK(trace_write(self->root, "trace", "", O_TRUNC));
	self->t0 = now_ns();
	ASSERT_OK(trace_write(self->root, "events/vmm/enable", "1", 0));
}

FIXTURE_TEARDOWN(trace)
{
	if (self->root) {
		trace_write(self->root, "events/vmm/enable", "0", 0);
		trace_write(self->root, "trace", "", O_TRUNC);
		if (self->record_cmd == '1')
			trace_write(self->root, "options/record-cmd", "1", 0);
	}
	if (self->fd >= 0)
		close(self->fd);
}

/* Whether the first events are @want's, a NULL-ended list. */
static bool events_match(char ev[][160], const char *const *want)
{
	int i;

	for (i = 0; want[i]; i++)
		if (strcmp(ev[i], want[i]))
			return false;
	return true;
}

/* Stop recording and compare the events with @want, a NULL-ended list. */
#define ASSERT_EVENTS(...) do { \
	const char *__want[] = { __VA_ARGS__, NULL }; \
	int __n, __i; \
	ASSERT_OK(trace_write(self->root, "events/vmm/enable", "0", 0)); \
	__n = trace_events(self->root, self->ev, MAX_EVENTS, \
			   now_ns() - self->t0); \
	for (__i = 0; __want[__i]; __i++) \
		; \
	if (__i != __n || !events_match(self->ev, __want)) \
		for (__i = 0; __i < __n; __i++) \
			TH_LOG("recorded %d: %s", __i, self->ev[__i]); \
	for (__i = 0; __want[__i]; __i++) { \
		ASSERT_LT(__i, __n) TH_LOG("missing: %s", __want[__i]); \
		EXPECT_STREQ(__want[__i], self->ev[__i]); \
	} \
	EXPECT_EQ(__i, __n); \
} while (0)

static int defrag_flags(int fd, __u64 budget, __u32 flags)
{
	struct vmm_defrag_args a = { .budget = budget, .flags = flags };

	return ioctl(fd, VMM_IOC_DEFRAG, &a);
}

static int alloc_flags(int fd, __u64 size, __u32 flags, __u64 *id,
		       __u64 *offset)
{
	struct vmm_alloc_args a = { .size = size, .flags = flags };
	int ret = ioctl(fd, VMM_IOC_ALLOC, &a);

	*id = a.id;
	*offset = a.offset;
	return ret;
}

TEST_F(trace, trace_records_allocs_free_defrag_and_failures)
{
	ALLOC_AT(self->fd, 4096, 0, 1, 0);
	ALLOC_AT(self->fd, 8192, 0, 2, 4096);
	ALLOC_AT(self->fd, 4096, 4096, 3, 12288);
	ASSERT_OK(vmm_free(self->fd, 2));
	ASSERT_OK(defrag_flags(self->fd, 0, 0));
	ASSERT_BLOCK(self->fd, 3, 4096, 4096);
	EXPECT_ERR(ENOSPC, vmm_alloc(self->fd, ARENA - 4096, 0, NULL, NULL));
	EXPECT_ERR(EINVAL, vmm_alloc(self->fd, 2 * ARENA, 0, NULL, NULL));
	EXPECT_ERR(EINVAL, vmm_alloc(self->fd, 100, 3, NULL, NULL));
	EXPECT_ERR(ENOENT, vmm_free(self->fd, 2));
	ASSERT_EVENTS("vmm_alloc: id=1 offset=0 size=4096 align=0 duration_ns=N",
		      "vmm_alloc: id=2 offset=4096 size=8192 align=0 duration_ns=N",
		      "vmm_alloc: id=3 offset=12288 size=4096 align=4096 duration_ns=N",
		      "vmm_free: id=2 offset=4096 size=8192",
		      "vmm_defrag_begin: budget=0 flags=0x0",
		      "vmm_move: id=3 from=12288 to=4096 size=4096 zapped=0",
		      "vmm_defrag_end: bytes_moved=4096 blocks_moved=1 duration_ns=N compact=1 ret=0",
		      "vmm_alloc_fail: size=61440 align=0 errno=28",
		      "vmm_alloc_fail: size=131072 align=0 errno=22",
		      "vmm_alloc_fail: size=100 align=3 errno=22");
}

/*
 * Adjacent blocks slide as one run, a vmm_move_run; a block alone is a
 * vmm_move.  A budget stops the pass, and cuts a run short.
 */
TEST_F(trace, trace_records_one_move_per_run_within_budget)
{
	ALLOC_AT(self->fd, 1000, 0, 1, 0);
	ALLOC_AT(self->fd, 2000, 0, 2, 1000);
	ALLOC_AT(self->fd, 3000, 0, 3, 3000);
	ALLOC_AT(self->fd, 4000, 0, 4, 6000);
	ASSERT_OK(vmm_free(self->fd, 1));
	ASSERT_OK(defrag_flags(self->fd, 4000, VMM_DEFRAG_NOWAIT));
	ASSERT_BLOCK(self->fd, 2, 0, 2000);
	ASSERT_BLOCK(self->fd, 3, 3000, 3000);
	ASSERT_OK(defrag_flags(self->fd, 0, 0));
	ASSERT_BLOCK(self->fd, 3, 2000, 3000);
	ASSERT_BLOCK(self->fd, 4, 5000, 4000);
	ASSERT_EVENTS("vmm_alloc: id=1 offset=0 size=1000 align=0 duration_ns=N",
		      "vmm_alloc: id=2 offset=1000 size=2000 align=0 duration_ns=N",
		      "vmm_alloc: id=3 offset=3000 size=3000 align=0 duration_ns=N",
		      "vmm_alloc: id=4 offset=6000 size=4000 align=0 duration_ns=N",
		      "vmm_free: id=1 offset=0 size=1000",
		      "vmm_defrag_begin: budget=4000 flags=0x1",
		      "vmm_move: id=2 from=1000 to=0 size=2000 zapped=0",
		      "vmm_defrag_end: bytes_moved=2000 blocks_moved=1 duration_ns=N compact=0 ret=0",
		      "vmm_defrag_begin: budget=0 flags=0x0",
		      "vmm_move_run: first_id=3 blocks=2 from=3000 to=2000 size=7000",
		      "vmm_defrag_end: bytes_moved=7000 blocks_moved=2 duration_ns=N compact=1 ret=0");
}

/* VMM_ALLOC_COMPACT: the defragmentation it runs, then the allocation. */
TEST_F(trace, trace_records_compacting_alloc)
{
	__u64 id, off;

	ALLOC_AT(self->fd, 16 * KiB, 0, 1, 0);
	ALLOC_AT(self->fd, 16 * KiB, 0, 2, 16 * KiB);
	ALLOC_AT(self->fd, 32 * KiB, 0, 3, 32 * KiB);
	ASSERT_OK(vmm_free(self->fd, 1));
	ASSERT_OK(vmm_free(self->fd, 3));
	ASSERT_OK(alloc_flags(self->fd, 48 * KiB, VMM_ALLOC_COMPACT, &id,
			      &off));
	EXPECT_EQ(4ULL, id);
	EXPECT_EQ(16 * KiB, off);
	ASSERT_EVENTS("vmm_alloc: id=1 offset=0 size=16384 align=0 duration_ns=N",
		      "vmm_alloc: id=2 offset=16384 size=16384 align=0 duration_ns=N",
		      "vmm_alloc: id=3 offset=32768 size=32768 align=0 duration_ns=N",
		      "vmm_free: id=1 offset=0 size=16384",
		      "vmm_free: id=3 offset=32768 size=32768",
		      "vmm_defrag_begin: budget=0 flags=0x0",
		      "vmm_move: id=2 from=16384 to=0 size=16384 zapped=0",
		      "vmm_defrag_end: bytes_moved=16384 blocks_moved=1 duration_ns=N compact=1 ret=0",
		      "vmm_alloc: id=4 offset=16384 size=49152 align=0 duration_ns=N");
}

/*
 * A mapped block: each first touch of a page is a vmm_fault, a move zaps
 * its one mapping, and the next touch faults the new place.
 */
TEST_F(trace, trace_records_faults_and_zapped_moves)
{
	struct vmm_select_args sel = { .id = 2 };
	__u64 id, off;
	char *p;

	ALLOC_AT(self->fd, 4096, 0, 1, 0);
	ASSERT_OK(alloc_flags(self->fd, 100, VMM_ALLOC_MAPPABLE, &id, &off));
	EXPECT_EQ(2ULL, id);
	EXPECT_EQ(4096ULL, off);
	ASSERT_EQ(0, ioctl(self->fd, VMM_IOC_SELECT, &sel));
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, self->fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	p[0] = 1;
	ASSERT_OK(vmm_free(self->fd, 1));
	ASSERT_OK(defrag_flags(self->fd, 0, 0));
	EXPECT_EQ(1, p[0]);
	ASSERT_EQ(0, munmap(p, 4096));
	ASSERT_EVENTS("vmm_alloc: id=1 offset=0 size=4096 align=0 duration_ns=N",
		      "vmm_alloc: id=2 offset=4096 size=4096 align=0 duration_ns=N",
		      "vmm_fault: id=2 page=0 offset=4096 ret=0x100",
		      "vmm_free: id=1 offset=0 size=4096",
		      "vmm_defrag_begin: budget=0 flags=0x0",
		      "vmm_move: id=2 from=4096 to=0 size=4096 zapped=1",
		      "vmm_defrag_end: bytes_moved=4096 blocks_moved=1 duration_ns=N compact=1 ret=0",
		      "vmm_fault: id=2 page=0 offset=0 ret=0x100");
}

/* With events/vmm disabled, the same operations record nothing. */
TEST_F(trace, trace_records_nothing_when_disabled)
{
	int n;

	ASSERT_OK(trace_write(self->root, "events/vmm/enable", "0", 0));
	ALLOC_AT(self->fd, 4096, 0, 1, 0);
	ASSERT_OK(vmm_free(self->fd, 1));
	ASSERT_OK(defrag_flags(self->fd, 0, 0));
	EXPECT_ERR(EINVAL, vmm_alloc(self->fd, 2 * ARENA, 0, NULL, NULL));
	n = trace_events(self->root, self->ev, MAX_EVENTS, now_ns() - self->t0);
	EXPECT_EQ(0, n);
}

/* Each event has a format file under events/vmm/, with its fields. */
TEST_F(trace, trace_lists_vmm_event_formats)
{
	static const char *const want[][2] = {
		{ "vmm_alloc", "field:u64 duration_ns;" },
		{ "vmm_free", "field:u64 offset;" },
		{ "vmm_alloc_fail", "field:int err;" },
		{ "vmm_move", "field:u64 to;" },
		{ "vmm_move", "field:unsigned int zapped;" },
		{ "vmm_move_run", "field:u64 first_id;" },
		{ "vmm_move_run", "field:unsigned int blocks;" },
		{ "vmm_fault", "field:u64 page;" },
		{ "vmm_defrag_begin", "field:u32 flags;" },
		{ "vmm_defrag_end", "field:bool compact;" },
	};
	char path[256], buf[4096];
	size_t i, n;
	FILE *f;

	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		snprintf(path, sizeof(path), "%s/events/vmm/%s/format",
			 self->root, want[i][0]);
		f = fopen(path, "r");
		ASSERT_NE(NULL, f) TH_LOG("%s: %s", path, strerror(errno));
		n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		buf[n] = '\0';
		EXPECT_NE(NULL, strstr(buf, want[i][1]))
			TH_LOG("%s lacks '%s'", path, want[i][1]);
	}
}

TEST_HARNESS_MAIN
