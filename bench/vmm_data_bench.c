// SPDX-License-Identifier: GPL-2.0
/*
 * vmm_data_bench: the data path and ioctl costs of /dev/vmm, each against
 * a baseline measured in the same run, printed as key=value lines for
 * scripts/bench (which merges them into build/bench.json).
 *
 *   read_over_memfd_SIZE, write_over_memfd_SIZE
 *	pread(2)/pwrite(2) of SIZE bytes (4k, 64k, 1m) at offset 0 of a
 *	block selected on the file, in bytes per second, divided by the same
 *	calls on a memfd of the same size.  > 1: vmm is faster.
 *   allocfree_over_null_ioctl
 *	the time of one VMM_IOC_ALLOC + VMM_IOC_FREE pair (64 bytes) divided
 *	by the time of two ioctls the driver rejects at once (an unknown
 *	command number: ENOTTY).  < 1.3 is the target.
 *   info_over_null_ioctl
 *	for context: two VMM_IOC_INFO calls (copy in, one lookup under the
 *	lock, copy out) over two null ioctls: the floor of any ioctl that
 *	does work.
 *   threads_scaling_2
 *	operations per second with 2 threads over 1 thread, each thread
 *	doing pwrite+pread of 4 KiB on a block of its own, on its own file.
 *
 * The machines this runs on are noisy virtual machines, so the two sides
 * of every ratio run interleaved in ROUNDS rounds, and the ratio is the
 * median of the per-round ratios.  Nothing here passes or fails: it
 * exits non-zero only if a call fails.
 *
 * Usage: vmm_data_bench [-d DEVICE] [-q]   (-q: fewer iterations, a smoke
 * run).  /dev/vmm must be open-able, with an arena of at least 4 MiB.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <linux/vmm.h>

#define ROUNDS	7

static const char *dev = "/dev/vmm";
static int quick;

static void die(const char *what)
{
	fprintf(stderr, "vmm_data_bench: %s: %s\n", what, strerror(errno));
	exit(1);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return v[n / 2];
}

static int open_dev(void)
{
	int fd = open(dev, O_RDWR | O_CLOEXEC);

	if (fd < 0)
		die(dev);
	return fd;
}

/* A new block of @size on @fd, selected for read(2)/write(2). */
static __u64 block_on(int fd, __u64 size)
{
	struct vmm_alloc_args a = { .size = size };
	struct vmm_select_args s = { 0 };

	if (ioctl(fd, VMM_IOC_ALLOC, &a))
		die("VMM_IOC_ALLOC");
	s.id = a.id;
	if (ioctl(fd, VMM_IOC_SELECT, &s))
		die("VMM_IOC_SELECT");
	return a.id;
}

static void free_block(int fd, __u64 id)
{
	struct vmm_free_args f = { .id = id };

	if (ioctl(fd, VMM_IOC_FREE, &f))
		die("VMM_IOC_FREE");
}

/* Seconds for @n pread(2) or pwrite(2) calls of @size bytes on @fd. */
static double time_io(int fd, void *buf, size_t size, long n, int writing)
{
	double t = now();
	long i;

	for (i = 0; i < n; i++) {
		ssize_t r = writing ? pwrite(fd, buf, size, 0) :
				      pread(fd, buf, size, 0);

		if (r != (ssize_t)size)
			die(writing ? "pwrite" : "pread");
	}
	return now() - t;
}

static void bench_io(const char *name, size_t size)
{
	double rd[ROUNDS], wr[ROUNDS];
	long n = (long)((quick ? 2 : 64) * 1048576.0 / (double)size);
	int vfd = open_dev(), mfd, r;
	void *buf;
	__u64 id;

	if (n < 16)
		n = 16;
	buf = malloc(size);
	if (!buf)
		die("malloc");
	memset(buf, 0x5a, size);
	id = block_on(vfd, size);
	mfd = memfd_create("vmm_data_bench", MFD_CLOEXEC);
	if (mfd < 0 || ftruncate(mfd, (off_t)size))
		die("memfd");
	/* Fault the memfd's pages in, as the arena's are. */
	time_io(mfd, buf, size, 1, 1);
	time_io(vfd, buf, size, 1, 1);

	for (r = 0; r < ROUNDS; r++) {
		double v, m;

		v = time_io(vfd, buf, size, n, 0);
		m = time_io(mfd, buf, size, n, 0);
		rd[r] = m / v;
		v = time_io(vfd, buf, size, n, 1);
		m = time_io(mfd, buf, size, n, 1);
		wr[r] = m / v;
	}
	printf("read_over_memfd_%s=%.3f\n", name, median(rd, ROUNDS));
	printf("write_over_memfd_%s=%.3f\n", name, median(wr, ROUNDS));
	free_block(vfd, id);
	close(mfd);
	close(vfd);
	free(buf);
}

static void bench_ioctl(void)
{
	/* An unknown command of this driver: it fails with ENOTTY at once. */
	const unsigned long null_cmd = _IOWR(VMM_IOC_MAGIC, 0x7f,
					     struct vmm_alloc_args);
	long n = quick ? 500 : 20000, i;
	double ratio[ROUNDS], info_ratio[ROUNDS], pair_ns = 0, null_ns = 0;
	struct vmm_info_args in = { 0 };
	struct vmm_alloc_args a;
	int fd = open_dev(), r;

	memset(&a, 0, sizeof(a));
	a.size = 64;
	if (ioctl(fd, VMM_IOC_ALLOC, &a))
		die("VMM_IOC_ALLOC");
	in.id = a.id;
	for (r = 0; r < ROUNDS; r++) {
		double t, pair, null, info;

		t = now();
		for (i = 0; i < n; i++) {
			struct vmm_free_args f = { 0 };

			memset(&a, 0, sizeof(a));
			a.size = 64;
			if (ioctl(fd, VMM_IOC_ALLOC, &a))
				die("VMM_IOC_ALLOC");
			f.id = a.id;
			if (ioctl(fd, VMM_IOC_FREE, &f))
				die("VMM_IOC_FREE");
		}
		pair = now() - t;
		t = now();
		for (i = 0; i < 2 * n; i++) {
			memset(&a, 0, sizeof(a));
			if (ioctl(fd, null_cmd, &a) != -1 || errno != ENOTTY)
				die("the null ioctl did not fail with ENOTTY");
		}
		null = now() - t;
		t = now();
		for (i = 0; i < 2 * n; i++) {
			if (ioctl(fd, VMM_IOC_INFO, &in))
				die("VMM_IOC_INFO");
		}
		info = now() - t;
		ratio[r] = pair / null;
		info_ratio[r] = info / null;
		pair_ns += pair * 1e9 / (double)n / ROUNDS;
		null_ns += null * 1e9 / (double)n / ROUNDS;
	}
	printf("allocfree_over_null_ioctl=%.3f\n", median(ratio, ROUNDS));
	printf("info_over_null_ioctl=%.3f\n", median(info_ratio, ROUNDS));
	printf("allocfree_pair_ns=%.0f\n", pair_ns);
	printf("null_ioctl_pair_ns=%.0f\n", null_ns);
	close(fd);
}

struct worker {
	pthread_t thread;
	int fd;
	long n;
	char buf[4096];
};

static void *work(void *p)
{
	struct worker *w = p;
	long i;

	for (i = 0; i < w->n; i++) {
		if (pwrite(w->fd, w->buf, sizeof(w->buf), 0) != sizeof(w->buf) ||
		    pread(w->fd, w->buf, sizeof(w->buf), 0) != sizeof(w->buf))
			die("pwrite/pread in a worker");
	}
	return NULL;
}

/* Operations per second of @nthreads workers running at once. */
static double run_threads(struct worker *w, int nthreads)
{
	double t = now();
	int i;

	for (i = 0; i < nthreads; i++)
		if (pthread_create(&w[i].thread, NULL, work, &w[i]))
			die("pthread_create");
	for (i = 0; i < nthreads; i++)
		pthread_join(w[i].thread, NULL);
	return (double)nthreads * (double)w[0].n / (now() - t);
}

static void bench_threads(void)
{
	struct worker w[2];
	double ratio[ROUNDS];
	__u64 id[2];
	int i, r;

	for (i = 0; i < 2; i++) {
		w[i].fd = open_dev();
		w[i].n = quick ? 200 : 10000;
		memset(w[i].buf, i, sizeof(w[i].buf));
		id[i] = block_on(w[i].fd, sizeof(w[i].buf));
	}
	for (r = 0; r < ROUNDS; r++) {
		double one = run_threads(w, 1);

		ratio[r] = run_threads(w, 2) / one;
	}
	printf("threads_scaling_2=%.3f\n", median(ratio, ROUNDS));
	for (i = 0; i < 2; i++) {
		free_block(w[i].fd, id[i]);
		close(w[i].fd);
	}
}

int main(int argc, char **argv)
{
	int opt;

	while ((opt = getopt(argc, argv, "d:qh")) != -1) {
		switch (opt) {
		case 'd':
			dev = optarg;
			break;
		case 'q':
			quick = 1;
			break;
		default:
			fprintf(stderr, "usage: vmm_data_bench [-d DEVICE] [-q]\n"
				"Prints key=value figures for scripts/bench; -q is a quick smoke run.\n");
			return opt == 'h' ? 0 : 1;
		}
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	bench_io("4k", 4096);
	bench_io("64k", 65536);
	bench_io("1m", 1048576);
	bench_ioctl();
	bench_threads();
	return 0;
}
