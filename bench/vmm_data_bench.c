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
 *   batch_allocfree_over_null_ioctl
 *	the time of one alloc+free pair (64 bytes) inside a VMM_IOC_BATCH of
 *	64 pairs (128 entries, interleaved: each ALLOC followed by the FREE
 *	of the ID it gets, as in the single calls above) divided by the time
 *	of ONE null ioctl (allocfree_over_null_ioctl divides by two), in
 *	the same rounds.  Left out on a module without VMM_IOC_BATCH.
 *   batch_read4k_over_pread4k
 *	the time of one 4 KiB READ entry inside a VMM_IOC_BATCH of 64 of
 *	them (of one block, into one buffer each) divided by that of one
 *	pread(2) of 4 KiB of the same block, interleaved.  < 1: the batch
 *	entry is cheaper.  Left out on a module without VMM_IOC_BATCH.
 *   info_over_null_ioctl
 *	for context: two VMM_IOC_INFO calls (copy in, one lookup under the
 *	lock, copy out) over two null ioctls: the floor of any ioctl that
 *	does work.
 *   threads_scaling_2
 *	operations per second with 2 threads over 1 thread, each thread
 *	doing pwrite+pread of 4 KiB on a block of its own, on its own file.
 *   mmap_read_over_memfd_mmap_1m, mmap_write_over_memfd_mmap_1m
 *	memcpy() of 1 MiB out of (read) or into (write) an mmap(2) of a
 *	1 MiB VMM_ALLOC_MAPPABLE block, divided into the time of the same
 *	memcpy() on a 1 MiB MAP_SHARED mapping of a memfd; both mappings
 *	pre-faulted.  > 1: vmm is faster.  >= 0.9 is the target.
 *   mmap_refault_ns_per_page, mmap_prefaulted_ns_per_page
 *	reading one byte of every page of a mapped MAPPABLE block of
 *	FAULT_PAGES pages (64 with -q): right after VMM_IOC_DEFRAG moved the
 *	block down by a page (a filler below it freed first), so that each
 *	access faults the new place in (refault), and again once every page
 *	is mapped (prefaulted: the loop without faults); ns per page.
 *   memfd_fault_ns_per_page, memfd_refault_ns_per_page
 *	the same loop on a MAP_SHARED mapping of a memfd of as many pages:
 *	the first touch of fresh pages (fault: the page is allocated and
 *	zeroed), and a touch after MADV_DONTNEED removed the page table
 *	entries of pages that stay in the page cache (refault: the minor
 *	fault that is the closest kin of vmm's after a move).
 *   mmap_refault_over_memfd_fault, mmap_refault_over_memfd_refault
 *	memfd_fault_ns_per_page or memfd_refault_ns_per_page divided by
 *	mmap_refault_ns_per_page, per round.  > 1: a refault of a moved
 *	vmm block costs less than that memfd fault.
 *
 * The machines this runs on are noisy virtual machines, so the two sides
 * of every ratio run interleaved in ROUNDS rounds, and the ratio is the
 * median of the per-round ratios.  Nothing here passes or fails: it
 * exits non-zero only if a call fails.
 *
 * The ns-per-page figures are medians over the rounds; the ratios, the
 * medians of the per-round ratios, as everywhere here.  In the mmap
 * figures the two sides take turns going first.
 *
 * Usage: vmm_data_bench [-d DEVICE] [-q]   (-q: fewer iterations, a smoke
 * run).  /dev/vmm must be open-able, with an arena of at least 8 MiB.
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
/* Pages of the block whose refaults are timed (-q: QUICK_FAULT_PAGES). */
#define FAULT_PAGES		1024
#define QUICK_FAULT_PAGES	64

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

/* Entries per VMM_IOC_BATCH call: 64 alloc+free pairs, or 64 reads. */
#define BATCH_PAIRS 64

/* Whether the module knows VMM_IOC_BATCH (a count of 0 is EINVAL if so). */
static int have_batch(int fd)
{
	struct vmm_batch_args b = { 0 };

	return !(ioctl(fd, VMM_IOC_BATCH, &b) == -1 && errno == ENOTTY);
}

/* Run @count entries at @e, all of which must succeed. */
static void run_batch(int fd, struct vmm_batch_entry *e, unsigned int count)
{
	struct vmm_batch_args b = { 0 };

	b.entries = (__u64)(uintptr_t)e;
	b.count = count;
	if (ioctl(fd, VMM_IOC_BATCH, &b))
		die("VMM_IOC_BATCH");
	if (b.done != count || b.failed) {
		errno = 0;
		die("an entry of VMM_IOC_BATCH failed");
	}
}

/*
 * Seconds for @nb batches of BATCH_PAIRS interleaved alloc+free pairs of
 * 64 bytes.  IDs are never reused and nothing else allocates here, so
 * each ALLOC gets *@next_id, which its FREE names; checked every batch.
 */
static double time_batch_pairs(int fd, struct vmm_batch_entry *e, long nb,
			       __u64 *next_id)
{
	double t = now();
	long i;
	int j;

	for (i = 0; i < nb; i++) {
		memset(e, 0, 2 * BATCH_PAIRS * sizeof(*e));
		for (j = 0; j < BATCH_PAIRS; j++) {
			e[2 * j].op = VMM_BATCH_ALLOC;
			e[2 * j].alloc.size = 64;
			e[2 * j + 1].op = VMM_BATCH_FREE;
			e[2 * j + 1].free.id = *next_id + (__u64)j;
		}
		run_batch(fd, e, 2 * BATCH_PAIRS);
		if (e[0].alloc.id != *next_id) {
			errno = 0;
			die("VMM_IOC_BATCH: an ALLOC did not get the next ID");
		}
		*next_id += BATCH_PAIRS;
	}
	return now() - t;
}

static void bench_ioctl(void)
{
	/* An unknown command of this driver: it fails with ENOTTY at once. */
	const unsigned long null_cmd = _IOWR(VMM_IOC_MAGIC, 0x7f,
					     struct vmm_alloc_args);
	long n = quick ? 500 : 20000, i;
	double ratio[ROUNDS], info_ratio[ROUNDS], pair_ns = 0, null_ns = 0;
	double batch_ratio[ROUNDS], batch_ns = 0;
	long nb = n / BATCH_PAIRS;
	struct vmm_batch_entry e[2 * BATCH_PAIRS];
	struct vmm_info_args in = { 0 };
	struct vmm_alloc_args a;
	int fd = open_dev(), r, batch = have_batch(fd);
	__u64 next_id;

	memset(&a, 0, sizeof(a));
	a.size = 64;
	if (ioctl(fd, VMM_IOC_ALLOC, &a))
		die("VMM_IOC_ALLOC");
	in.id = a.id;
	for (r = 0; r < ROUNDS; r++) {
		double t, pair, null, info, inbatch = 0;

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
		next_id = a.id + 1;
		if (batch)
			inbatch = time_batch_pairs(fd, e, nb, &next_id);
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
		/* One pair in a batch over one null ioctl (of 2n). */
		batch_ratio[r] = (inbatch / (double)(nb * BATCH_PAIRS)) /
				 (null / (double)(2 * n));
		pair_ns += pair * 1e9 / (double)n / ROUNDS;
		null_ns += null * 1e9 / (double)n / ROUNDS;
		batch_ns += inbatch * 1e9 / (double)(nb * BATCH_PAIRS) / ROUNDS;
	}
	printf("allocfree_over_null_ioctl=%.3f\n", median(ratio, ROUNDS));
	printf("info_over_null_ioctl=%.3f\n", median(info_ratio, ROUNDS));
	printf("allocfree_pair_ns=%.0f\n", pair_ns);
	printf("null_ioctl_pair_ns=%.0f\n", null_ns);
	if (batch) {
		printf("batch_allocfree_over_null_ioctl=%.3f\n",
		       median(batch_ratio, ROUNDS));
		printf("batch_allocfree_pair_ns=%.0f\n", batch_ns);
	} else {
		fprintf(stderr,
			"vmm_data_bench: the module has no VMM_IOC_BATCH; batch_* figures left out\n");
	}
	close(fd);
}

/* Seconds for @nb batches of BATCH_PAIRS 4 KiB READs of block @id. */
static double time_read_batches(int fd, __u64 id, char (*bufs)[4096], long nb)
{
	struct vmm_batch_entry e[BATCH_PAIRS];
	double t = now();
	long i;
	int j;

	for (i = 0; i < nb; i++) {
		memset(e, 0, sizeof(e));
		for (j = 0; j < BATCH_PAIRS; j++) {
			e[j].op = VMM_BATCH_READ;
			e[j].rw.id = id;
			e[j].rw.length = 4096;
			e[j].rw.buffer = (__u64)(uintptr_t)bufs[j];
		}
		run_batch(fd, e, BATCH_PAIRS);
	}
	return now() - t;
}

/* 4 KiB READ entries in batches of BATCH_PAIRS against pread(2) of 4 KiB. */
static void bench_batch_read(void)
{
	static char bufs[BATCH_PAIRS][4096];
	long n = quick ? 640 : 25600, nb = n / BATCH_PAIRS;
	double ratio[ROUNDS], entry_ns = 0, pread_ns = 0;
	int fd = open_dev(), r;
	__u64 id;

	if (!have_batch(fd)) {
		close(fd);
		return;
	}
	id = block_on(fd, 4096);
	/* Either side first in turn, so that going second favours neither. */
	for (r = 0; r < ROUNDS; r++) {
		double batch, single;

		if (r & 1) {
			single = time_io(fd, bufs[0], 4096, n, 0);
			batch = time_read_batches(fd, id, bufs, nb);
		} else {
			batch = time_read_batches(fd, id, bufs, nb);
			single = time_io(fd, bufs[0], 4096, n, 0);
		}
		ratio[r] = (batch / (double)(nb * BATCH_PAIRS)) /
			   (single / (double)n);
		entry_ns += batch * 1e9 / (double)(nb * BATCH_PAIRS) / ROUNDS;
		pread_ns += single * 1e9 / (double)n / ROUNDS;
	}
	printf("batch_read4k_over_pread4k=%.3f\n", median(ratio, ROUNDS));
	printf("batch_read4k_entry_ns=%.0f\n", entry_ns);
	printf("pread4k_ns=%.0f\n", pread_ns);
	free_block(fd, id);
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

/* A new VMM_ALLOC_MAPPABLE block of @size on @fd, selected for mmap(2). */
static __u64 mappable_block_on(int fd, __u64 size)
{
	struct vmm_alloc_args a = { .size = size,
				    .flags = VMM_ALLOC_MAPPABLE };
	struct vmm_select_args s = { 0 };

	if (ioctl(fd, VMM_IOC_ALLOC, &a))
		die("VMM_IOC_ALLOC (VMM_ALLOC_MAPPABLE)");
	s.id = a.id;
	if (ioctl(fd, VMM_IOC_SELECT, &s))
		die("VMM_IOC_SELECT");
	return a.id;
}

static __u64 block_offset(int fd, __u64 id)
{
	struct vmm_info_args in = { .id = id };

	if (ioctl(fd, VMM_IOC_INFO, &in))
		die("VMM_IOC_INFO");
	return in.offset;
}

/* A MAP_SHARED read-write mapping of @len bytes of @fd from offset 0. */
static unsigned char *map_shared(int fd, size_t len, const char *what)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	if (p == MAP_FAILED)
		die(what);
	return p;
}

/* Seconds for @n memcpy() calls of @size bytes from @src to @dst. */
static double time_copy(void *dst, const void *src, size_t size, long n)
{
	double t = now();
	long i;

	for (i = 0; i < n; i++) {
		memcpy(dst, src, size);
		/* The copy must happen, each time: @dst is read later. */
		__asm__ __volatile__("" : : "r"(dst) : "memory");
	}
	return now() - t;
}

/* memcpy() out of and into a mapped 1 MiB block and a 1 MiB memfd. */
static void bench_mmap_copy(void)
{
	const size_t size = 1048576;
	long n = quick ? 16 : 64;
	double rd[ROUNDS], wr[ROUNDS];
	unsigned char *buf, *vmap, *mmapped;
	int vfd = open_dev(), mfd, r;
	__u64 id;

	buf = malloc(size);
	if (!buf)
		die("malloc");
	id = mappable_block_on(vfd, size);
	vmap = map_shared(vfd, size, "mmap of a 1 MiB vmm block");
	mfd = memfd_create("vmm_data_bench", MFD_CLOEXEC);
	if (mfd < 0 || ftruncate(mfd, (off_t)size))
		die("memfd");
	mmapped = map_shared(mfd, size, "mmap of a 1 MiB memfd");
	/* Every page of both mappings (and of the buffer) in place. */
	memset(buf, 0xa5, size);
	memset(vmap, 0x5a, size);
	memset(mmapped, 0x5a, size);

	/* Either side first in turn, so that going second favours neither. */
	for (r = 0; r < ROUNDS; r++) {
		double v, m;

		if (r & 1) {
			m = time_copy(buf, mmapped, size, n);
			v = time_copy(buf, vmap, size, n);
		} else {
			v = time_copy(buf, vmap, size, n);
			m = time_copy(buf, mmapped, size, n);
		}
		rd[r] = m / v;
		if (r & 1) {
			m = time_copy(mmapped, buf, size, n);
			v = time_copy(vmap, buf, size, n);
		} else {
			v = time_copy(vmap, buf, size, n);
			m = time_copy(mmapped, buf, size, n);
		}
		wr[r] = m / v;
	}
	if (memcmp(vmap, buf, size))
		die("the mapping does not hold what was copied into it");
	printf("mmap_read_over_memfd_mmap_1m=%.3f\n", median(rd, ROUNDS));
	printf("mmap_write_over_memfd_mmap_1m=%.3f\n", median(wr, ROUNDS));
	munmap(vmap, size);
	munmap(mmapped, size);
	free_block(vfd, id);
	close(mfd);
	close(vfd);
	free(buf);
}

/* The sum of one byte of each of @pages pages at @p, kept from the optimiser. */
static volatile unsigned int touch_sink;

/* ns per page to read one byte of each of @pages pages of @pgsz at @p. */
static double touch_pages(const volatile unsigned char *p, long pages,
			  long pgsz)
{
	unsigned int sum = 0;
	double t = now();
	long i;

	for (i = 0; i < pages; i++)
		sum += p[i * pgsz];
	t = now() - t;
	touch_sink = sum;
	return t * 1e9 / (double)pages;
}

/*
 * One round of vmm's side: a page-sized mappable filler on @fd, a block of
 * @len bytes (@pages pages of @pgsz) right above it, mapped and touched;
 * *@pre: ns per page to touch it again, *@ref: after the filler is freed
 * and DEFRAG moved the block.
 */
static void fault_vmm(int fd, size_t len, long pages, long pgsz, double *pre,
		      double *ref)
{
	struct vmm_defrag_args d = { 0 };
	unsigned char *p;
	__u64 filler, id, before;

	filler = mappable_block_on(fd, (__u64)pgsz);
	id = mappable_block_on(fd, len);
	p = map_shared(fd, len, "mmap of a vmm block");
	touch_pages(p, pages, pgsz);
	*pre = touch_pages(p, pages, pgsz);
	before = block_offset(fd, id);
	free_block(fd, filler);
	if (ioctl(fd, VMM_IOC_DEFRAG, &d))
		die("VMM_IOC_DEFRAG");
	if (block_offset(fd, id) == before) {
		errno = 0;
		die("DEFRAG did not move the mapped block");
	}
	*ref = touch_pages(p, pages, pgsz);
	munmap(p, len);
	free_block(fd, id);
}

/*
 * One round of the memfd's side: *@fault, ns per page for the first touch
 * of fresh pages; *@ref, once MADV_DONTNEED removed their entries.
 */
static void fault_memfd(size_t len, long pages, long pgsz, double *fault,
			double *ref)
{
	unsigned char *p;
	int mfd = memfd_create("vmm_data_bench", MFD_CLOEXEC);

	if (mfd < 0 || ftruncate(mfd, (off_t)len))
		die("memfd");
	p = map_shared(mfd, len, "mmap of a memfd");
	*fault = touch_pages(p, pages, pgsz);
	if (madvise(p, len, MADV_DONTNEED))
		die("madvise(MADV_DONTNEED)");
	*ref = touch_pages(p, pages, pgsz);
	munmap(p, len);
	close(mfd);
}

/*
 * The fault after a move: a mapped, pre-faulted block of @pages pages
 * above a one-page filler; the filler freed, DEFRAG moves the block down a
 * page (removing its page table entries), and each page is touched again.
 * Against a memfd's first touch and its touch after MADV_DONTNEED.
 */
static void bench_fault(void)
{
	long pgsz = sysconf(_SC_PAGESIZE);
	long pages = quick ? QUICK_FAULT_PAGES : FAULT_PAGES;
	size_t len = (size_t)pages * (size_t)pgsz;
	double vref[ROUNDS], vpre[ROUNDS], mfault[ROUNDS], mref[ROUNDS];
	double over_fault[ROUNDS], over_refault[ROUNDS];
	int fd = open_dev(), r;

	/* Either side first in turn, so that going second favours neither. */
	for (r = 0; r < ROUNDS; r++) {
		if (r & 1) {
			fault_memfd(len, pages, pgsz, &mfault[r], &mref[r]);
			fault_vmm(fd, len, pages, pgsz, &vpre[r], &vref[r]);
		} else {
			fault_vmm(fd, len, pages, pgsz, &vpre[r], &vref[r]);
			fault_memfd(len, pages, pgsz, &mfault[r], &mref[r]);
		}
		over_fault[r] = mfault[r] / vref[r];
		over_refault[r] = mref[r] / vref[r];
	}
	printf("mmap_refault_ns_per_page=%.0f\n", median(vref, ROUNDS));
	printf("mmap_prefaulted_ns_per_page=%.1f\n", median(vpre, ROUNDS));
	printf("memfd_fault_ns_per_page=%.0f\n", median(mfault, ROUNDS));
	printf("memfd_refault_ns_per_page=%.0f\n", median(mref, ROUNDS));
	printf("mmap_refault_over_memfd_fault=%.3f\n",
	       median(over_fault, ROUNDS));
	printf("mmap_refault_over_memfd_refault=%.3f\n",
	       median(over_refault, ROUNDS));
	close(fd);
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
	bench_batch_read();
	bench_threads();
	bench_mmap_copy();
	bench_fault();
	return 0;
}
