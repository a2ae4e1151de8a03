// SPDX-License-Identifier: GPL-2.0
/*
 * vmmctl cat and fill: a block's bytes through a mapping (mmap(2)), for
 * blocks allocated with --mappable.
 *
 * A mapping lives only while the command runs.  The range is mapped a
 * window at a time (vmm_map(), which selects the block on a private file),
 * copied and unmapped, so that a block of any size fits in a 32-bit
 * address space.  Defragmentation may move the block meanwhile: the
 * kernel moves the mapping's pages with it.
 */
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "libvmm.h"
#include "vmmctl.h"

/* Bytes mapped at a time, at most. */
#define MAP_WINDOW (16ULL << 20)
/* Bytes copied out of the mapping per write to standard output. */
#define CAT_CHUNK (64U << 10)

/**
 * struct range - what one cat or fill maps
 * @id: the block
 * @off: its first byte
 * @len: bytes, at least 1
 * @attrs: the block's attrs, from VMM_IOC_INFO, to word a failure
 * @fill: map for writing (fill), else for reading (cat)
 */
struct range {
	int64_t id;
	__u64 off;
	__u64 len;
	__u32 attrs;
	int fill;
};

/*
 * The ID and the strings of --offset and --length (@vals, NULL when
 * absent) into @r, @off and @len.  Returns an exit class.
 */
static int parse_range(struct ctx *c, const char *idarg,
		       const char *const *vals, struct range *r, int64_t *off,
		       int64_t *len)
{
	int err = parse_s64(idarg, &r->id, 0);

	if (err)
		return fail_num(c, "ID", idarg, err, 0);
	*off = 0;
	*len = 0;
	if (vals[0] && (err = parse_s64(vals[0], off, 1)))
		return fail_num(c, "--offset", vals[0], err, 1);
	if (vals[1] && (err = parse_s64(vals[1], len, 1)))
		return fail_num(c, "--length", vals[1], err, 1);
	if (vals[1] && *len < 1)
		return fail(c, EXIT_INVAL,
			    "--length must be at least 1 (got %" PRId64
			    "); leave it out for the rest of the block",
			    *len);
	return EXIT_OK;
}

/*
 * @off and @len (0: to the end) against the block's size, from
 * VMM_IOC_INFO.  Returns an exit class.
 */
static int check_range(struct ctx *c, int fd, int64_t off, int64_t len,
		       struct range *r)
{
	struct vmm_info_args a;
	int ret;

	ret = vmm_info_full(fd, (__u64)r->id, &a);
	if (ret == -ENOENT)
		return fail(
			c, EXIT_INVAL,
			"no block with ID %" PRId64
			" (it was never allocated or is already freed); 'vmmctl list' shows live blocks",
			r->id);
	if (ret == -EACCES)
		return fail(
			c, EXIT_PERM,
			"block %" PRId64
			" is not %s by you; ask its owner to 'vmmctl chmod' it ('vmmctl list' shows owners and modes)",
			r->id, r->fill ? "readable and writable" : "readable");
	if (ret)
		return fail_errno(c, -ret, "cannot get the block's size");
	if (off < 0 || (__u64)off >= a.size)
		return fail(c, EXIT_RANGE,
			    "offset %" PRId64 " is outside block %" PRId64
			    " (size %llu): use an offset from 0 to %llu",
			    off, r->id, a.size, a.size - 1);
	if (!len)
		len = (int64_t)(a.size - (__u64)off);
	if ((__u64)len > a.size - (__u64)off)
		return fail(
			c, EXIT_RANGE,
			"offset %" PRId64 " + length %" PRId64
			" runs past the end of block %" PRId64
			" (size %llu); at most %llu bytes fit at offset %" PRId64,
			off, len, r->id, a.size, a.size - (__u64)off, off);
	r->off = (__u64)off;
	r->len = (__u64)len;
	r->attrs = a.attrs;
	return EXIT_OK;
}

/* Word a failure of vmm_map(). */
static int map_failed(struct ctx *c, const struct range *r, int err)
{
	/*
	 * <linux/vmm.h> does not say whether ENODEV comes before EINVAL for
	 * a range that is not whole pages; INFO said which it is.
	 */
	if (err == ENODEV ||
	    (err == EINVAL && !(r->attrs & VMM_BLOCK_MAPPABLE))) {
		if (r->fill)
			return fail(
				c, EXIT_INVAL,
				"block %" PRId64
				" was not allocated with --mappable, so it cannot be mapped; store bytes in it with 'vmmctl write %" PRId64
				" OFFSET DATA' instead",
				r->id, r->id);
		return fail(
			c, EXIT_INVAL,
			"block %" PRId64
			" was not allocated with --mappable, so it cannot be mapped; use 'vmmctl read %" PRId64
			" %llu %llu' instead",
			r->id, r->id, r->off, r->len);
	}
	if (err == ENOENT)
		return fail(
			c, EXIT_INVAL,
			"block %" PRId64
			" was freed while this command ran; 'vmmctl list' shows live blocks",
			r->id);
	if (err == EACCES && r->fill)
		return fail(
			c, EXIT_PERM,
			"block %" PRId64
			" is not readable and writable by you: fill maps it for writing, which needs both r and w; ask its owner to 'vmmctl chmod' it ('vmmctl list' shows owners and modes)",
			r->id);
	if (err == EACCES)
		return fail(
			c, EXIT_PERM,
			"block %" PRId64
			" is not readable by you; ask its owner to 'vmmctl chmod' it ('vmmctl list' shows owners and modes)",
			r->id);
	if (err == ENOSYS)
		return fail(
			c, EXIT_FAIL,
			"cannot map block %" PRId64
			": the device is reopened through /proc/self/fd, and /proc is not mounted; mount it ('mount -t proc proc /proc')",
			r->id);
	if (err == EOVERFLOW)
		return fail(
			c, EXIT_FAIL,
			"cannot map block %" PRId64
			": the offset is beyond any file offset mmap(2) can take; map a part of the block inside it",
			r->id);
	return fail_errno(c, err, "cannot map the block");
}

/* A fault inside a mapping ends the copy, not the program, for a message. */
static sigjmp_buf fault_jmp;
static volatile sig_atomic_t fault_sig;

static void on_fault(int sig)
{
	fault_sig = sig;
	siglongjmp(fault_jmp, 1);
}

/**
 * struct copy_job - one guarded_copy()
 * @dst: where to store
 * @src: what to copy (cat), or NULL to repeat @pat (fill)
 * @n: bytes to store
 * @pat: the pattern
 * @plen: its length
 * @phase: the byte of @pat that goes to @dst[0]
 */
struct copy_job {
	unsigned char *dst;
	const unsigned char *src;
	size_t n;
	const char *pat;
	size_t plen;
	size_t phase;
};

/* Kept out of guarded_copy(), so that nothing it changes lives past longjmp. */
static __attribute__((noinline)) void do_copy(const struct copy_job *job)
{
	size_t i, j = job->phase;

	if (job->src) {
		memcpy(job->dst, job->src, job->n);
		return;
	}
	for (i = 0; i < job->n; i++) {
		job->dst[i] = (unsigned char)job->pat[j];
		if (++j == job->plen)
			j = 0;
	}
}

/*
 * Do @job, catching SIGBUS and SIGSEGV.  Returns 0, or the signal that
 * stopped it.
 */
static int guarded_copy(const struct copy_job *job)
{
	struct sigaction sa, old_bus, old_segv;
	int sig = 0;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_fault;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGBUS, &sa, &old_bus);
	sigaction(SIGSEGV, &sa, &old_segv);
	fault_sig = 0;
	if (!sigsetjmp(fault_jmp, 1))
		do_copy(job);
	else
		sig = fault_sig;
	sigaction(SIGBUS, &old_bus, NULL);
	sigaction(SIGSEGV, &old_segv, NULL);
	return sig;
}

static int fault_failed(struct ctx *c, const struct range *r, int sig)
{
	return fail(
		c, EXIT_FAIL,
		"block %" PRId64
		": %s on an access through its mapping, inside the block's bounds; the vmm module should not do that: check 'dmesg'",
		r->id, sig == SIGBUS ? "SIGBUS" : "SIGSEGV");
}

/* Write @n bytes at @p of a mapping to standard output. */
static int cat_window(struct ctx *c, const struct range *r,
		      const unsigned char *p, size_t n, unsigned char *buf)
{
	size_t done, k;

	for (done = 0; done < n; done += k) {
		struct copy_job job = { .dst = buf, .src = p + done };
		int sig;

		k = n - done < CAT_CHUNK ? n - done : CAT_CHUNK;
		job.n = k;
		sig = guarded_copy(&job);
		if (sig)
			return fault_failed(c, r, sig);
		if (c->batch ? put_escaped(buf, k) :
			       fwrite(buf, 1, k, stdout) != k) {
			/* In a batch the message goes to stdout too. */
			c->stdout_said = !c->batch;
			return fail(c, EXIT_FAIL,
				    "cannot write to standard output: %s",
				    strerror(errno));
		}
	}
	return EXIT_OK;
}

/*
 * Write @n bytes from @skip bytes into the mapping at *@base (*@maplen
 * bytes) to standard output, a window at a time, unmapping each window's
 * whole pages once written but for the last window's: *@base and *@maplen
 * are then what is left to unmap.
 */
static int cat_mapping(struct ctx *c, const struct range *r, void **base,
		       size_t *maplen, size_t skip, size_t n,
		       unsigned char *buf)
{
	unsigned char *p = (unsigned char *)*base + skip;
	size_t page = (size_t)page_size();
	int ret = EXIT_OK;

	while (n && ret == EXIT_OK) {
		size_t k = n < MAP_WINDOW ? n : (size_t)MAP_WINDOW, gone;

		ret = cat_window(c, r, p, k, buf);
		p += k;
		n -= k;
		if (ret != EXIT_OK || !n)
			break;
		/* The whole pages before the next byte are done with. */
		gone = (size_t)(p - (unsigned char *)*base) / page * page;
		if (gone) {
			vmm_unmap(*base, gone);
			*base = (unsigned char *)*base + gone;
			*maplen -= gone;
		}
	}
	return ret;
}

/* Repeat @pat (@plen bytes) from its byte @phase over @n bytes at @p. */
static int fill_window(struct ctx *c, const struct range *r, unsigned char *p,
		       size_t n, const char *pat, size_t plen, size_t phase)
{
	struct copy_job job = {
		.dst = p, .n = n, .pat = pat, .plen = plen, .phase = phase
	};
	int sig = guarded_copy(&job);

	return sig ? fault_failed(c, r, sig) : EXIT_OK;
}

/*
 * Map @r a window at a time; cat each to standard output, or fill it
 * with @pat (@plen bytes).
 */
static int through_mapping(struct ctx *c, int fd, const struct range *r,
			   const char *pat, size_t plen)
{
	__u64 page = (__u64)page_size(), window = MAP_WINDOW, done, n;
	int prot = r->fill ? PROT_READ | PROT_WRITE : PROT_READ;
	unsigned char *buf = NULL;
	int ret = EXIT_OK;

	if (!r->fill) {
		buf = malloc(CAT_CHUNK);
		if (!buf)
			return fail(c, EXIT_FAIL, "out of memory");
	}
	/*
	 * A batch prints one line per command, so its cat cannot follow the
	 * bytes it has written with an error: it maps the whole range at
	 * once where the address space has room.  A block freed (by its
	 * owner, or anyone allowed to) while the cat runs then stays
	 * readable through that mapping to the end, where a second window
	 * would fail to map.  It unmaps each window's pages once written
	 * (cat_mapping()), so that the page tables stay bounded as with
	 * windows.  Elsewhere, and when the address space is too small, it
	 * maps one window at a time.
	 */
	if (c->batch && !r->fill && r->len <= SIZE_MAX - page)
		window = r->len + page;
	for (done = 0; done < r->len && ret == EXIT_OK; done += n) {
		__u64 at = r->off + done, start = at / page * page;
		size_t maplen;
		void *base;
		int err;

		n = r->len - done;
		if (n > window - (at - start))
			n = window - (at - start);
		maplen = (size_t)(at - start + n);
		err = vmm_map(fd, (__u64)r->id, start, maplen, prot, &base);
		if (err == -ENOMEM && window > MAP_WINDOW) {
			window = MAP_WINDOW;
			n = 0;
			continue;
		}
		if (err) {
			ret = map_failed(c, r, -err);
			break;
		}
		if (r->fill) {
			ret = fill_window(c, r,
					  (unsigned char *)base + (at - start),
					  (size_t)n, pat, plen,
					  (size_t)(done % plen));
		} else {
			ret = cat_mapping(c, r, &base, &maplen,
					  (size_t)(at - start), (size_t)n, buf);
		}
		vmm_unmap(base, maplen);
	}
	free(buf);
	return ret;
}

int cmd_cat(struct ctx *c, int argc, char **argv)
{
	static const char *const opts[] = { "offset=", "length=", NULL };
	const char *vals[2];
	struct range r = { .fill = 0 };
	int64_t off, len;
	char *pos[1];
	int fd, ret;

	ret = parse_args(c, argc, argv, opts, vals, pos, 1);
	if (ret)
		return ret < 0 ? EXIT_USAGE : EXIT_OK;
	ret = parse_range(c, pos[0], vals, &r, &off, &len);
	if (ret)
		return ret;
	fd = dev_fd(c);
	if (fd < 0)
		return -fd;
	ret = check_range(c, fd, off, len, &r);
	if (ret)
		return ret;
	ret = through_mapping(c, fd, &r, NULL, 0);
	if (!ret && c->batch)
		putchar('\n');
	return ret;
}

int cmd_fill(struct ctx *c, int argc, char **argv)
{
	static const char *const opts[] = { "offset=", "length=", NULL };
	const char *vals[2];
	struct range r = { .fill = 1 };
	int64_t off, len;
	char *pos[2];
	int fd, ret;

	ret = parse_args(c, argc, argv, opts, vals, pos, 2);
	if (ret)
		return ret < 0 ? EXIT_USAGE : EXIT_OK;
	ret = parse_range(c, pos[0], vals, &r, &off, &len);
	if (ret)
		return ret;
	if (!*pos[1])
		return fail_usage(
			c,
			"PATTERN is empty; give at least one byte to repeat");
	fd = dev_fd(c);
	if (fd < 0)
		return -fd;
	ret = check_range(c, fd, off, len, &r);
	if (ret)
		return ret;
	ret = through_mapping(c, fd, &r, pos[1], strlen(pos[1]));
	if (!ret && c->batch)
		printf("ok\n");
	return ret;
}
