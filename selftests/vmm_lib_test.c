// SPDX-License-Identifier: GPL-2.0
/*
 * vmm_lib_test: libvmm, the C library vmmctl is built on, through its
 * own API.  Every function's success, the documented -errno returns a
 * root caller meets on its own (those that need another user, a quota,
 * a fault or a signal are the kernel's, tested by the other programs
 * through the same ioctls), its out parameters (and that NULL ones are
 * allowed), the list iterator across pages, counts from the kernel that
 * would overrun the caller's array (-EIO), and vmm_batch()'s emulation
 * for a module without VMM_IOC_BATCH, which must give the kernel's
 * results entry for entry.
 *
 * The library is compiled into this program from userspace/libvmm.c.
 * The program defines ioctl() itself, passing every call on to the
 * system call: a test that sets refuse_batch makes VMM_IOC_BATCH fail
 * with ENOTTY, as a vmm older than 0.6 does, and so drives the
 * emulation on any kernel (seccomp could do it too, but the debug
 * kernel has none); one that sets lie_count has LIST, USAGE and BATCH
 * report that many entries, and one that sets lie_next_id has LIST name
 * that next start ID, as a broken kernel might.
 *
 * The cases share one load of a 1 MiB arena (VMM_SETUP_SHARED), so IDs
 * are counted from vmm_last_id().
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <pthread.h>
#include <sys/resource.h>
#include <sys/syscall.h>

#define VMM_UTIL_NO_WRAPPERS
#include "vmm_util.h"
#include "libvmm.h"

#define ARENA		(1 * MiB)
#define ARENA_STR	"1M"
#define UNTOUCHED	0x5a5a5a5a	/* a result the kernel never writes */

/* A 64-bit time_t build renames glibc's ioctl(); this one would not. */
#ifdef __USE_TIME_BITS64
#error "vmm_lib_test's ioctl() stands in for glibc's 32-bit-time ioctl()"
#endif

static volatile int refuse_batch;
static volatile __u32 lie_count;
static volatile __u64 lie_next_id;
static volatile unsigned long batch_calls, vmm_calls;

int ioctl(int fd, unsigned long request, ...)
{
	va_list ap;
	void *arg;
	long ret;

	va_start(ap, request);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (_IOC_TYPE(request) == VMM_IOC_MAGIC)
		vmm_calls++;
	if ((unsigned int)request == VMM_IOC_BATCH) {
		batch_calls++;
		if (refuse_batch) {
			errno = ENOTTY;
			return -1;
		}
	}
	ret = syscall(SYS_ioctl, fd, request, arg);
	if (!ret && lie_next_id && (unsigned int)request == VMM_IOC_LIST)
		((struct vmm_list_args *)arg)->next_id = lie_next_id;
	if (ret || !lie_count)
		return ret;
	switch ((unsigned int)request) {
	case VMM_IOC_LIST:
		((struct vmm_list_args *)arg)->count = lie_count;
		break;
	case VMM_IOC_USAGE:
		((struct vmm_usage_args *)arg)->count = lie_count;
		break;
	case VMM_IOC_BATCH:
		((struct vmm_batch_args *)arg)->done = lie_count;
		break;
	}
	return ret;
}

FIXTURE(lib) {
	int fd;
	__u64 last;		/* the last ID handed out before the case */
};

FIXTURE_SETUP(lib)
{
	int err;

	self->fd = -1;
	VMM_SETUP_SHARED(ARENA_STR, &self->fd);
	err = vmm_last_id(self->fd, &self->last);
	ASSERT_EQ(0, err);
	refuse_batch = 0;
	lie_count = 0;
	lie_next_id = 0;
	batch_calls = 0;
}

FIXTURE_TEARDOWN(lib)
{
	if (self->fd >= 0)
		close(self->fd);
	VMM_TEARDOWN_SHARED();
}

TEST_F(lib, open_returns_cloexec_fd_or_negative_errno)
{
	int fd = vmm_open(NULL);

	ASSERT_LE(0, fd);
	EXPECT_EQ(FD_CLOEXEC, fcntl(fd, F_GETFD) & FD_CLOEXEC);
	EXPECT_EQ(O_RDWR, fcntl(fd, F_GETFL) & O_ACCMODE);
	EXPECT_EQ(0, vmm_close(fd));
	EXPECT_EQ(-EBADF, vmm_close(fd));
	EXPECT_EQ(-ENOENT, vmm_open("/dev/vmm-not-there"));
	fd = vmm_open(VMM_DEVICE_PATH);
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, vmm_close(fd));
}

/*
 * Close the standard streams, call vmm_open(NULL) under the descriptor
 * limit @lim (NULL: as it is), and put the limit and the streams back
 * before any check that could fail (the harness writes to them);
 * *@closed_after: how many of 0, 1 and 2 were still closed right after
 * the call.
 */
static int open_without_stdio(struct __test_metadata *_metadata,
			      const struct rlimit *lim, int *closed_after)
{
	int saved[3], fd, i, restored;
	struct rlimit old;

	for (i = 0; i < 3; i++) {
		saved[i] = fcntl(i, F_DUPFD_CLOEXEC, 10);
		ASSERT_LE(10, saved[i]);
	}
	ASSERT_EQ(0, getrlimit(RLIMIT_NOFILE, &old));
	if (lim)
		ASSERT_EQ(0, setrlimit(RLIMIT_NOFILE, lim));
	for (i = 0; i < 3; i++)
		close(i);
	fd = vmm_open(NULL);
	*closed_after = 0;
	for (i = 0; i < 3; i++)
		*closed_after += fcntl(i, F_GETFD) == -1 && errno == EBADF;
	restored = setrlimit(RLIMIT_NOFILE, &old);
	for (i = 0; i < 3; i++) {
		dup2(saved[i], i);
		close(saved[i]);
	}
	ASSERT_EQ(0, restored);
	return fd;
}

/*
 * A program started with its standard streams closed must not get the
 * device as one of them, or what it prints would go to the device.
 */
TEST_F(lib, open_keeps_the_device_off_closed_standard_streams)
{
	struct rlimit three;
	struct vmm_stats_args st;
	int fd, closed;

	fd = open_without_stdio(_metadata, NULL, &closed);
	ASSERT_LE(3, fd) TH_LOG("vmm_open() returned %d", fd);
	EXPECT_EQ(3, closed);
	EXPECT_EQ(FD_CLOEXEC, fcntl(fd, F_GETFD) & FD_CLOEXEC);
	/* It is the device. */
	EXPECT_EQ(0, vmm_stats(fd, &st));
	EXPECT_EQ(0, vmm_close(fd));

	/* No descriptor above 2 to be had: an error, and nothing left open. */
	ASSERT_EQ(0, getrlimit(RLIMIT_NOFILE, &three));
	three.rlim_cur = 3;
	fd = open_without_stdio(_metadata, &three, &closed);
	EXPECT_EQ(-EMFILE, fd);
	EXPECT_EQ(3, closed);
}

TEST_F(lib, alloc_info_free_round_trip)
{
	struct vmm_info_args full;
	__u64 id = 0, off = 1, o = 0, s = 0;

	ASSERT_EQ(0, vmm_alloc(self->fd, 100, 0, &id, &off));
	EXPECT_EQ(self->last + 1, id);
	EXPECT_EQ(0ULL, off);
	ASSERT_EQ(0, vmm_info(self->fd, id, &o, &s));
	EXPECT_EQ(0ULL, o);
	EXPECT_EQ(100ULL, s);
	EXPECT_EQ(0, vmm_info(self->fd, id, NULL, NULL));
	memset(&full, 0xff, sizeof(full));
	ASSERT_EQ(0, vmm_info_full(self->fd, id, &full));
	EXPECT_EQ(id, full.id);
	EXPECT_EQ(100ULL, full.size);
	EXPECT_EQ(0600U, full.mode);
	EXPECT_EQ(0U, full.uid);
	EXPECT_EQ(0U, full.attrs);
	/* NULL out parameters are allowed. */
	EXPECT_EQ(0, vmm_alloc(self->fd, 50, 64, NULL, NULL));
	ASSERT_EQ(0, vmm_info(self->fd, id + 1, &o, &s));
	EXPECT_EQ(128ULL, o);
	EXPECT_EQ(0, vmm_free(self->fd, id + 1));
	EXPECT_EQ(0, vmm_free(self->fd, id));
	EXPECT_EQ(-ENOENT, vmm_free(self->fd, id));
	EXPECT_EQ(-ENOENT, vmm_info(self->fd, id, &o, &s));
	EXPECT_EQ(-ENOENT, vmm_info_full(self->fd, id, &full));
	EXPECT_EQ(-ENOENT, vmm_free(self->fd, 0));
}

TEST_F(lib, alloc_returns_documented_errnos)
{
	__u64 id = 7, off = 7;

	EXPECT_EQ(-EINVAL, vmm_alloc(self->fd, 0, 0, &id, &off));
	EXPECT_EQ(-EINVAL, vmm_alloc(self->fd, 1, 3, &id, &off));
	EXPECT_EQ(-EINVAL, vmm_alloc(self->fd, ARENA + 1, 0, &id, &off));
	EXPECT_EQ(-EINVAL, vmm_alloc(self->fd, 1, 2 * ARENA, &id, &off));
	EXPECT_EQ(-EINVAL, vmm_alloc_flags(self->fd, 1, 0, 0x80000000U, &id,
					   &off));
	EXPECT_EQ(-EINVAL, vmm_alloc_mode(self->fd, 1, 0, 0, 01000, &id,
					  &off));
	/* Untouched on failure. */
	EXPECT_EQ(7ULL, id);
	EXPECT_EQ(7ULL, off);
	ASSERT_EQ(0, vmm_alloc(self->fd, ARENA / 2 + 1, 0, &id, NULL));
	EXPECT_EQ(-ENOSPC, vmm_alloc(self->fd, ARENA / 2, 0, NULL, NULL));
	EXPECT_EQ(0, vmm_free(self->fd, id));
}

TEST_F(lib, alloc_flags_and_mode_reach_the_block)
{
	struct vmm_info_args full;
	long pg = sysconf(_SC_PAGESIZE);
	__u64 id, off;

	ASSERT_EQ(0, vmm_alloc_flags(self->fd, 1, 0, VMM_ALLOC_MAPPABLE, &id,
				     &off));
	ASSERT_EQ(0, vmm_info_full(self->fd, id, &full));
	EXPECT_EQ((__u64)pg, full.size);
	EXPECT_EQ(0ULL, off % pg);
	EXPECT_EQ((__u32)VMM_BLOCK_MAPPABLE, full.attrs & VMM_BLOCK_MAPPABLE);
	/* A mode comes only with vmm_alloc_mode(): nothing is allocated. */
	EXPECT_EQ(-EINVAL, vmm_alloc_flags(self->fd, 10, 0, VMM_ALLOC_MODE,
					   &id, NULL));
	EXPECT_EQ(-ENOENT, vmm_info(self->fd, id + 1, NULL, NULL));
	ASSERT_EQ(0, vmm_alloc_mode(self->fd, 10, 0, VMM_ALLOC_SCOPED, 0640,
				    &id, NULL));
	ASSERT_EQ(0, vmm_info_full(self->fd, id, &full));
	EXPECT_EQ(0640U, full.mode);
	EXPECT_EQ((__u32)VMM_BLOCK_SCOPED, full.attrs & VMM_BLOCK_SCOPED);
	EXPECT_EQ(0, vmm_chmod(self->fd, id, 0600));
	ASSERT_EQ(0, vmm_info_full(self->fd, id, &full));
	EXPECT_EQ(0600U, full.mode);
	EXPECT_EQ(-EINVAL, vmm_chmod(self->fd, id, 01000));
	EXPECT_EQ(-ENOENT, vmm_chmod(self->fd, id + 1, 0600));
	EXPECT_EQ(0, vmm_chown(self->fd, id, 1000, VMM_ID_UNCHANGED));
	ASSERT_EQ(0, vmm_info_full(self->fd, id, &full));
	EXPECT_EQ(1000U, full.uid);
	EXPECT_EQ(0U, full.gid);
	EXPECT_EQ(-ENOENT, vmm_chown(self->fd, id + 1, 0, 0));
	/* A scoped block goes with its file. */
	EXPECT_EQ(0, vmm_close(self->fd));
	self->fd = vmm_open(NULL);
	ASSERT_LE(0, self->fd);
	EXPECT_EQ(-ENOENT, vmm_info(self->fd, id, NULL, NULL));
}

TEST_F(lib, read_and_write_copy_bytes_or_fail_whole)
{
	unsigned char in[200], out[200];
	__u64 id;

	vmm_fill(in, sizeof(in), 11);
	ASSERT_EQ(0, vmm_alloc(self->fd, 100, 0, &id, NULL));
	ASSERT_EQ(0, vmm_write(self->fd, id, 0, in, 100));
	memset(out, 0, sizeof(out));
	ASSERT_EQ(0, vmm_read(self->fd, id, 0, out, 100));
	EXPECT_EQ(0, memcmp(in, out, 100));
	ASSERT_EQ(0, vmm_read(self->fd, id, 90, out, 10));
	EXPECT_EQ(0, memcmp(in + 90, out, 10));
	EXPECT_EQ(0, vmm_write(self->fd, id, 99, in, 0));
	EXPECT_EQ(-EINVAL, vmm_read(self->fd, id, 0, out, 0));
	EXPECT_EQ(-ERANGE, vmm_read(self->fd, id, 91, out, 10));
	EXPECT_EQ(-ERANGE, vmm_write(self->fd, id, 100, in, 1));
	/* Past the end: nothing is written. */
	EXPECT_EQ(-EFBIG, vmm_write(self->fd, id, 50, out + 100, 51));
	ASSERT_EQ(0, vmm_read(self->fd, id, 0, out, 100));
	EXPECT_EQ(0, memcmp(in, out, 100));
	EXPECT_EQ(-EFAULT, vmm_read(self->fd, id, 0, vmm_unmapped_addr(), 10));
	EXPECT_EQ(-ENOENT, vmm_read(self->fd, id + 1, 0, out, 1));
	EXPECT_EQ(-ENOENT, vmm_write(self->fd, id + 1, 0, in, 1));
	EXPECT_EQ(0, vmm_free(self->fd, id));
}

TEST_F(lib, defrag_step_reports_progress_until_compact)
{
	__u64 ids[8], bytes = 0, blocks = 0, total = 0;
	int compact = -1, i, steps = 0;

	for (i = 0; i < 8; i++) {
		ASSERT_EQ(0, vmm_alloc(self->fd, 4096, 0, &ids[i], NULL));
	}
	for (i = 0; i < 8; i += 2) {
		ASSERT_EQ(0, vmm_free(self->fd, ids[i]));
	}
	/* Four blocks of 4 KiB to move; a budget of one moves one a step. */
	do {
		ASSERT_EQ(0, vmm_defrag_step(self->fd, 4096, 0, &bytes,
					     &blocks, &compact));
		EXPECT_EQ(4096ULL, bytes);
		EXPECT_EQ(1ULL, blocks);
		total += bytes;
		ASSERT_GT(8, ++steps);
	} while (!compact);
	EXPECT_EQ(4ULL * 4096, total);
	EXPECT_EQ(4, steps);
	ASSERT_EQ(0, vmm_defrag_step(self->fd, 0, VMM_DEFRAG_NOWAIT, NULL,
				     NULL, &compact));
	EXPECT_EQ(1, compact);
	ASSERT_EQ(0, vmm_defrag(self->fd, &bytes, &blocks));
	EXPECT_EQ(0ULL, bytes);
	EXPECT_EQ(0ULL, blocks);
	EXPECT_EQ(-EINVAL, vmm_defrag_step(self->fd, 0, 0x80000000U, NULL,
					   NULL, NULL));
	for (i = 1; i < 8; i += 2) {
		EXPECT_EQ(0, vmm_free(self->fd, ids[i]));
	}
}

TEST_F(lib, stats_and_usage_count_the_blocks)
{
	struct vmm_user_usage u[4];
	struct vmm_stats_args st;
	__u32 count = 99, next = 99;
	__u64 id;

	ASSERT_EQ(0, vmm_alloc(self->fd, 300, 0, &id, NULL));
	ASSERT_EQ(0, vmm_stats(self->fd, &st));
	EXPECT_EQ(ARENA, st.size);
	EXPECT_EQ(1ULL, st.blocks);
	EXPECT_EQ(300ULL, st.used);
	ASSERT_EQ(0, vmm_usage(self->fd, 0, u, 4, &count, &next));
	ASSERT_EQ(1U, count);
	EXPECT_EQ(0U, u[0].uid);
	EXPECT_EQ(1ULL, u[0].blocks);
	EXPECT_EQ(300ULL, u[0].bytes);
	EXPECT_EQ(0U, next);
	EXPECT_EQ(0, vmm_usage(self->fd, 1, u, 4, &count, NULL));
	EXPECT_EQ(0U, count);
	EXPECT_EQ(-EINVAL, vmm_usage(self->fd, 0, u, 0, &count, NULL));
	EXPECT_EQ(-EINVAL, vmm_usage(self->fd, 0, u, VMM_USAGE_MAX + 1,
				     &count, NULL));
	EXPECT_EQ(-EFAULT, vmm_usage(self->fd, 0, vmm_unmapped_addr(), 4,
				     &count, NULL));
	EXPECT_EQ(0, vmm_free(self->fd, id));
}

TEST_F(lib, map_reaches_the_block_and_leaves_fd_alone)
{
	long pg = sysconf(_SC_PAGESIZE);
	unsigned char buf[16];
	__u64 id, plain, sel;
	void *p = (void *)1;
	int fd;

	ASSERT_EQ(0, vmm_alloc_flags(self->fd, 2 * pg, 0, VMM_ALLOC_MAPPABLE,
				     &id, NULL));
	ASSERT_EQ(0, vmm_alloc(self->fd, 10, 0, &plain, NULL));
	ASSERT_EQ(0, vmm_alloc(self->fd, 10, 0, &sel, NULL));
	ASSERT_EQ(0, vmm_select(self->fd, sel));
	ASSERT_EQ(0, vmm_map(self->fd, id, pg, pg, PROT_READ | PROT_WRITE, &p));
	memcpy(p, "through a map", 14);
	ASSERT_EQ(0, vmm_read(self->fd, id, pg, buf, 14));
	EXPECT_EQ(0, memcmp(buf, "through a map", 14));
	/* The fd's own selection is untouched: write(2) goes to @sel. */
	ASSERT_EQ(3, pwrite(self->fd, "sel", 3, 0));
	ASSERT_EQ(0, vmm_read(self->fd, sel, 0, buf, 3));
	EXPECT_EQ(0, memcmp(buf, "sel", 3));
	EXPECT_EQ(0, vmm_unmap(p, pg));
	p = (void *)1;
	EXPECT_EQ(-ENODEV, vmm_map(self->fd, plain, 0, pg, PROT_READ, &p));
	EXPECT_EQ(-ENOENT, vmm_map(self->fd, sel + 1, 0, pg, PROT_READ, &p));
	EXPECT_EQ(-EINVAL, vmm_map(self->fd, id, 1, pg, PROT_READ, &p));
	EXPECT_EQ(-EINVAL, vmm_map(self->fd, id, 0, 3 * pg, PROT_READ, &p));
	EXPECT_EQ(-EOVERFLOW, vmm_map(self->fd, id, 1ULL << 63, pg,
				      PROT_READ, &p));
	EXPECT_EQ(-EBADF, vmm_map(-1, id, 0, pg, PROT_READ, &p));
	EXPECT_EQ((void *)1, p);
	EXPECT_EQ(-EINVAL, vmm_unmap((char *)buf + 1, pg));
	/* vmm_map_selected() maps what the fd selected, or says none is. */
	fd = vmm_open(NULL);
	ASSERT_LE(0, fd);
	EXPECT_EQ(-ENXIO, vmm_map_selected(fd, 0, pg, PROT_READ, &p));
	ASSERT_EQ(0, vmm_select(fd, id));
	ASSERT_EQ(0, vmm_map_selected(fd, pg, pg, PROT_READ, &p));
	EXPECT_EQ(0, memcmp(p, "through a map", 14));
	EXPECT_EQ(0, vmm_unmap(p, pg));
	EXPECT_EQ(-ENOENT, vmm_select(fd, sel + 1));
	EXPECT_EQ(0, vmm_select(fd, 0));
	EXPECT_EQ(0, vmm_close(fd));
	EXPECT_EQ(0, vmm_free(self->fd, id));
	EXPECT_EQ(0, vmm_free(self->fd, plain));
	EXPECT_EQ(0, vmm_free(self->fd, sel));
}

/* For map_works_from_a_thread_after_the_main_thread_exits. */
struct map_thread {
	int fd, out;
	__u64 id;
};

/*
 * Waits (up to 5 s) for the main thread to have exited, which takes
 * /proc/self/fd with it, then maps through vmm_map() and reports
 * whether /proc/self/fd was gone and what vmm_map() returned.
 */
static void *map_after_leader(void *arg)
{
	const struct map_thread *t = arg;
	int res[2] = { 0, 1 }, i;
	char path[40];
	void *p;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", t->fd);
	for (i = 0; i < 500 && !res[0]; i++) {
		int fd = open(path, O_RDONLY | O_CLOEXEC);

		if (fd >= 0) {
			close(fd);
			usleep(10000);
		} else {
			res[0] = 1;
		}
	}
	res[1] = vmm_map(t->fd, t->id, 0, sysconf(_SC_PAGESIZE), PROT_READ,
			 &p);
	if (write(t->out, res, sizeof(res)) != sizeof(res))
		_exit(2);
	_exit(0);
}

/*
 * vmm_map() reopens the device through the calling thread's descriptors,
 * so it works in a thread whose process's main thread has exited (when
 * /proc/self, the main thread's, has no fd directory left).
 */
TEST_F(lib, map_works_from_a_thread_after_the_main_thread_exits)
{
	struct map_thread t = { .fd = self->fd };
	int pipefd[2], res[2] = { 0, 0 }, status;
	pid_t pid;

	ASSERT_EQ(0, vmm_alloc_flags(self->fd, 1, 0, VMM_ALLOC_MAPPABLE,
				     &t.id, NULL));
	ASSERT_EQ(0, pipe(pipefd));
	t.out = pipefd[1];
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		pthread_t th;

		if (pthread_create(&th, NULL, map_after_leader, &t))
			_exit(3);
		pthread_exit(NULL);
	}
	close(pipefd[1]);
	EXPECT_EQ((ssize_t)sizeof(res), read(pipefd[0], res, sizeof(res)));
	close(pipefd[0]);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	EXPECT_EQ(1, res[0]) TH_LOG("/proc/self/fd outlived the main thread");
	EXPECT_EQ(0, res[1]) TH_LOG("vmm_map: %s", strerror(-res[1]));
	EXPECT_EQ(0, vmm_free(self->fd, t.id));
}

TEST_F(lib, list_iter_and_list_all_see_each_block_once_in_order)
{
	enum { N = 3 * VMM_LIST_ITER_PAGE + 5 };
	struct vmm_block_info page[8], b, *all = (void *)1;
	struct vmm_list_iter *it;
	__u64 first, next = 1;
	__u32 count = 0;
	size_t n = 99;
	int i, ret, fd;

	EXPECT_EQ(0, vmm_list_all(self->fd, &all, &n));
	EXPECT_EQ(NULL, all);
	EXPECT_EQ(0U, n);
	for (i = 0; i < N; i++) {
		ASSERT_EQ(0, vmm_alloc(self->fd, i + 1, 0, i ? NULL : &first,
				       NULL));
	}
	ASSERT_EQ(0, vmm_list(self->fd, first + 3, page, 8, &count, &next));
	ASSERT_EQ(8U, count);
	EXPECT_EQ(first + 3, page[0].id);
	EXPECT_EQ(4ULL, page[0].size);
	EXPECT_EQ(first + 11, next);
	EXPECT_EQ(-EINVAL, vmm_list(self->fd, 1, page, 0, &count, NULL));
	EXPECT_EQ(-EINVAL, vmm_list(self->fd, 1, page, VMM_LIST_MAX + 1,
				    &count, NULL));
	it = malloc(sizeof(*it));
	ASSERT_NE(NULL, it);
	vmm_list_iter_init(it, self->fd);
	for (i = 0; (ret = vmm_list_iter_next(it, &b)) == 1; i++) {
		ASSERT_GT(N, i);
		ASSERT_EQ(first + i, b.id);
		ASSERT_EQ((__u64)i + 1, b.size);
	}
	EXPECT_EQ(0, ret);
	EXPECT_EQ(N, i);
	/* Over stays over. */
	EXPECT_EQ(0, vmm_list_iter_next(it, &b));
	free(it);
	ASSERT_EQ(0, vmm_list_all(self->fd, &all, &n));
	ASSERT_EQ((size_t)N, n);
	for (i = 0; i < N; i++) {
		ASSERT_EQ(first + i, all[i].id);
	}
	free(all);
	/* A failure leaves nothing allocated and says so. */
	all = (void *)1;
	n = 99;
	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, fd);
	EXPECT_EQ(-ENOTTY, vmm_list_all(fd, &all, &n));
	close(fd);
	EXPECT_EQ(NULL, all);
	EXPECT_EQ(0U, n);
}

TEST_F(lib, counts_past_the_callers_array_are_refused)
{
	struct vmm_block_info page[4];
	struct vmm_user_usage u[4];
	struct vmm_batch_entry e[2];
	unsigned int done = 77, failed = 77;
	__u32 count = 77;
	__u64 id;

	ASSERT_EQ(0, vmm_alloc(self->fd, 10, 0, &id, NULL));
	vmm_batch_info(&e[0], id);
	vmm_batch_info(&e[1], id);
	/* As many as asked for is fine... */
	lie_count = 4;
	EXPECT_EQ(0, vmm_list(self->fd, 1, page, 4, &count, NULL));
	EXPECT_EQ(4U, count);
	EXPECT_EQ(0, vmm_usage(self->fd, 0, u, 4, &count, NULL));
	EXPECT_EQ(4U, count);
	/* ...one more is not, and nothing is stored. */
	lie_count = 5;
	count = 77;
	EXPECT_EQ(-EIO, vmm_list(self->fd, 1, page, 4, &count, NULL));
	EXPECT_EQ(-EIO, vmm_usage(self->fd, 0, u, 4, &count, NULL));
	EXPECT_EQ(77U, count);
	lie_count = 3;
	EXPECT_EQ(-EIO, vmm_batch(self->fd, e, 2, 0, &done, &failed));
	EXPECT_EQ(77U, done);
	EXPECT_EQ(77U, failed);
	lie_count = 0;
	EXPECT_EQ(0, vmm_free(self->fd, id));
}

/*
 * A LIST whose next start ID does not advance would walk forever: the
 * iterator fails -EIO, hands out nothing of that page, and stays where
 * it was, so a retry fails alike and, once LIST behaves, goes on.
 */
TEST_F(lib, list_iter_refuses_a_page_that_does_not_advance)
{
	struct vmm_list_iter *it;
	struct vmm_block_info b;
	__u64 first;
	int i, ret;

	ASSERT_EQ(0, vmm_alloc(self->fd, 10, 0, &first, NULL));
	ASSERT_EQ(0, vmm_alloc(self->fd, 20, 0, NULL, NULL));
	it = malloc(sizeof(*it));
	ASSERT_NE(NULL, it);
	vmm_list_iter_init(it, self->fd);
	lie_next_id = 1;
	EXPECT_EQ(-EIO, vmm_list_iter_next(it, &b));
	EXPECT_EQ(-EIO, vmm_list_iter_next(it, &b));
	lie_next_id = 0;
	for (i = 0; (ret = vmm_list_iter_next(it, &b)) == 1; i++) {
		if (i < 2)
			EXPECT_EQ(first + i, b.id);
	}
	EXPECT_EQ(0, ret);
	EXPECT_EQ(2, i);
	free(it);
	EXPECT_EQ(0, vmm_free(self->fd, first));
	EXPECT_EQ(0, vmm_free(self->fd, first + 1));
}

TEST_F(lib, module_version_matches_sysfs)
{
	char want[64], got[64];
	ssize_t n;
	int fd;

	fd = open(VMM_SYSFS_VERSION, O_RDONLY);
	ASSERT_LE(0, fd);
	n = read(fd, want, sizeof(want) - 1);
	close(fd);
	ASSERT_LT(1, n);
	want[n] = '\0';
	want[strcspn(want, "\n")] = '\0';
	ASSERT_EQ(0, vmm_module_version(got, sizeof(got)));
	EXPECT_STREQ(want, got);
	EXPECT_EQ(-ENAMETOOLONG, vmm_module_version(got, strlen(want)));
	/* The version and its newline just fit: the newline makes room. */
	memset(got, 'x', sizeof(got));
	ASSERT_EQ(0, vmm_module_version(got, strlen(want) + 1));
	EXPECT_STREQ(want, got);
	EXPECT_EQ(-EINVAL, vmm_module_version(got, 0));
}

/*
 * The same operations, on the block IDs @base + 1 onwards: an ALLOC of
 * 100 bytes (ID @base + 1), a WRITE, READ and INFO of it, then entries
 * that fail as their single commands do (an unknown ID, a non-zero byte
 * past an INFO's struct, an unknown op, a READ of 0 bytes, a WRITE past
 * the end), then the FREE of the block.
 */
enum { SEQ = 10, SEQ_FIRST_FAIL = 4 };

static void build_seq(struct vmm_batch_entry *e, __u64 base, const void *in,
		      void *out)
{
	int i;

	vmm_batch_alloc(&e[0], 100, 0, 0);
	vmm_batch_write(&e[1], base + 1, 10, in, 50);
	vmm_batch_read(&e[2], base + 1, 0, out, 100);
	vmm_batch_info(&e[3], base + 1);
	vmm_batch_free(&e[4], base + 2);
	vmm_batch_info(&e[5], base + 1);
	e[5].raw[8] = 1;
	vmm_batch_info(&e[6], base + 1);
	e[6].op = 99;
	vmm_batch_read(&e[7], base + 1, 0, out, 0);
	vmm_batch_write(&e[8], base + 1, 60, in, 41);
	vmm_batch_free(&e[9], base + 1);
	for (i = 0; i < SEQ; i++)
		e[i].result = UNTOUCHED;
}

static const int seq_results[SEQ] = {
	0, 0, 0, 0, -ENOENT, -EINVAL, -EINVAL, -EINVAL, -EFBIG, 0,
};

static void run_seq(struct __test_metadata *_metadata, int fd, __u64 base,
		    unsigned int flags, int emulate)
{
	unsigned char in[64], out[100], want[100];
	struct vmm_batch_entry e[SEQ];
	unsigned int done = 0, failed = 0, i, n;

	vmm_fill(in, sizeof(in), (unsigned int)base);
	memset(out, 0xee, sizeof(out));
	build_seq(e, base, in, out);
	refuse_batch = emulate;
	batch_calls = 0;
	vmm_calls = 0;
	ASSERT_EQ(0, vmm_batch(fd, e, SEQ, flags, &done, &failed));
	refuse_batch = 0;
	n = (flags & VMM_BATCH_CONTINUE) ? SEQ : SEQ_FIRST_FAIL + 1;
	/*
	 * One VMM_IOC_BATCH either way; emulated, one single command per
	 * entry that ran, but none for the two whose op or reserved bytes
	 * the library refuses itself.
	 */
	EXPECT_EQ(1UL, batch_calls);
	EXPECT_EQ(emulate ? 1UL + n - (n == SEQ ? 2 : 0) : 1UL, vmm_calls);
	EXPECT_EQ(n, done);
	EXPECT_EQ(n == SEQ ? 5U : 1U, failed);
	for (i = 0; i < SEQ; i++) {
		EXPECT_EQ(i < n ? seq_results[i] : UNTOUCHED, e[i].result)
			TH_LOG("entry %u (emulated: %d)", i, emulate);
	}
	EXPECT_EQ(base + 1, e[0].alloc.id);
	EXPECT_EQ(0ULL, e[0].alloc.offset);
	EXPECT_EQ(100ULL, e[3].info.size);
	EXPECT_EQ(0600U, e[3].info.mode);
	memset(want, 0, sizeof(want));
	memcpy(want + 10, in, 50);
	EXPECT_EQ(0, memcmp(want, out, sizeof(out)));
	if (n == SEQ) {
		EXPECT_EQ(-ENOENT, vmm_info(fd, base + 1, NULL, NULL));
	} else {
		EXPECT_EQ(0, vmm_free(fd, base + 1));
	}
}

TEST_F(lib, batch_runs_entries_as_their_single_commands)
{
	run_seq(_metadata, self->fd, self->last, VMM_BATCH_CONTINUE, 0);
	run_seq(_metadata, self->fd, self->last + 1, 0, 0);
}

/*
 * vmm_batch_alloc() drops VMM_ALLOC_MODE, which would make a 0000 block:
 * the block gets the default mode; vmm_batch_alloc_mode() gives one.
 */
TEST_F(lib, batch_alloc_takes_a_mode_only_from_batch_alloc_mode)
{
	struct vmm_batch_entry e[2];
	struct vmm_info_args full;
	unsigned int done, failed;

	vmm_batch_alloc(&e[0], 10, 0, VMM_ALLOC_MODE);
	EXPECT_EQ(0U, e[0].alloc.flags);
	vmm_batch_alloc_mode(&e[1], 10, 0, 0, 0640);
	ASSERT_EQ(0, vmm_batch(self->fd, e, 2, 0, &done, &failed));
	EXPECT_EQ(2U, done);
	EXPECT_EQ(0U, failed);
	ASSERT_EQ(0, vmm_info_full(self->fd, e[0].alloc.id, &full));
	EXPECT_EQ(0600U, full.mode);
	ASSERT_EQ(0, vmm_info_full(self->fd, e[1].alloc.id, &full));
	EXPECT_EQ(0640U, full.mode);
	EXPECT_EQ(0, vmm_free(self->fd, e[0].alloc.id));
	EXPECT_EQ(0, vmm_free(self->fd, e[1].alloc.id));
}

TEST_F(lib, batch_emulation_gives_the_kernel_results)
{
	run_seq(_metadata, self->fd, self->last, VMM_BATCH_CONTINUE, 1);
	run_seq(_metadata, self->fd, self->last + 1, 0, 1);
}

TEST_F(lib, batch_refuses_bad_calls_in_both_paths)
{
	struct vmm_batch_entry e[2];
	unsigned int done = 77, failed = 77;
	int emulate, fd;

	fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, fd);
	for (emulate = 0; emulate < 2; emulate++) {
		refuse_batch = emulate;
		done = failed = 77;
		vmm_batch_info(&e[0], self->last);
		EXPECT_EQ(-EINVAL, vmm_batch(self->fd, e, 0, 0, &done,
					     &failed));
		EXPECT_EQ(-EINVAL, vmm_batch(self->fd, e, VMM_BATCH_MAX + 1,
					     0, &done, &failed));
		EXPECT_EQ(-EINVAL, vmm_batch(self->fd, e, 1, 2, &done,
					     &failed));
		/* Not a vmm device: no command of it works. */
		EXPECT_EQ(-ENOTTY, vmm_batch(fd, e, 1, 0, &done, &failed));
		EXPECT_EQ(77U, done);
		EXPECT_EQ(77U, failed);
		/* Also when the first entry is refused before any command. */
		vmm_batch_info(&e[1], self->last);
		e[0].op = 0xdead;
		EXPECT_EQ(-ENOTTY, vmm_batch(fd, e, 2, VMM_BATCH_CONTINUE,
					     &done, &failed));
		EXPECT_EQ(77U, done);
		EXPECT_EQ(77U, failed);
		/* And when that entry stops the call. */
		EXPECT_EQ(-ENOTTY, vmm_batch(fd, e, 2, 0, &done, &failed));
		EXPECT_EQ(77U, done);
		EXPECT_EQ(77U, failed);
		/* A vmm refusing it runs it, with the same result. */
		EXPECT_EQ(0, vmm_batch(self->fd, e, 2, 0, &done, &failed));
		EXPECT_EQ(1U, done);
		EXPECT_EQ(1U, failed);
		EXPECT_EQ(-EINVAL, e[0].result);
		done = failed = 77;
		vmm_batch_info(&e[0], self->last);
		/* NULL counts are allowed. */
		EXPECT_EQ(0, vmm_batch(self->fd, e, 1, 0, NULL, NULL));
		EXPECT_EQ(-ENOENT, e[0].result);
	}
	refuse_batch = 0;
	EXPECT_EQ(-EFAULT, vmm_batch(self->fd, vmm_unmapped_addr(), 1, 0,
				     &done, &failed));
	close(fd);
}

TEST_HARNESS_MAIN
