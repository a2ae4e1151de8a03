// SPDX-License-Identifier: GPL-2.0
/*
 * vmmctl: the commands that talk to the device.
 *
 * The kernel enforces every bound; these functions pass the user's numbers
 * through (negative ones as their two's complement) and only word the
 * errors, fetching the block's or the arena's figures after a failure to
 * say what went wrong and what to do next.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "libvmm.h"
#include "vmmctl.h"

/* Parse a number argument called @what, recording a usage error. */
static int arg_num(struct ctx *c, const char *what, const char *s, int64_t *v,
		   int suffixes)
{
	if (!parse_s64(s, v, suffixes))
		return 0;
	fail_usage(c, "%s '%s' is not a %sdecimal number%s", what, s,
		   suffixes ? "" : "signed 64-bit ",
		   suffixes ? " (K, M and G suffixes allowed)" : "");
	return -1;
}

static const char *byte_word(int64_t n)
{
	return n == 1 ? "byte" : "bytes";
}

static int fail_noent(struct ctx *c, int64_t id)
{
	return fail(
		c, EXIT_INVAL,
		"no block with ID %" PRId64
		" (it was never allocated or is already freed); 'vmmctl list' shows live blocks",
		id);
}

/*
 * The size and alignment a request really asks for: a mappable block is
 * whole pages on a page boundary, which the messages must count in.
 */
static void alloc_need(int64_t size, int64_t align, int mappable, int64_t *need,
		       int64_t *need_align)
{
	int64_t page = page_size();

	*need = size;
	*need_align = align;
	if (!mappable)
		return;
	if (size > 0 && size <= INT64_MAX - (page - 1))
		*need = (size + page - 1) / page * page;
	if (align < page)
		*need_align = page;
}

int cmd_alloc(struct ctx *c, int argc, char **argv)
{
	static const char *const opts[] = { "align=", "compact",  "mode=",
					    "scoped", "mappable", NULL };
	const char *vals[5];
	struct vmm_stats_args st;
	int64_t size, align = 0, need, need_align;
	__u32 flags, mode = 0;
	char whole[80] = "";
	__u64 id;
	char *pos[1];
	int fd, ret;

	ret = parse_args(c, argc, argv, opts, vals, pos, 1);
	if (ret)
		return ret < 0 ? EXIT_USAGE : EXIT_OK;
	if (arg_num(c, "SIZE", pos[0], &size, 1))
		return EXIT_USAGE;
	if (vals[0] && arg_num(c, "alignment", vals[0], &align, 1))
		return EXIT_USAGE;
	if (vals[2] && parse_mode(vals[2], &mode))
		return fail_usage(
			c,
			"--mode '%s' is not an octal mode from 0 to 0777 (e.g. 0640)",
			vals[2]);
	fd = dev_fd(c);
	if (fd < 0)
		return -fd;

	flags = (vals[1] ? VMM_ALLOC_COMPACT : 0) |
		(vals[3] ? VMM_ALLOC_SCOPED : 0) |
		(vals[4] ? VMM_ALLOC_MAPPABLE : 0);
	if (vals[2])
		ret = vmm_alloc_mode(fd, (__u64)size, (__u64)align, flags, mode,
				     &id, NULL);
	else
		ret = vmm_alloc_flags(fd, (__u64)size, (__u64)align, flags, &id,
				      NULL);
	if (!ret) {
		printf("%llu\n", (unsigned long long)id);
		return EXIT_OK;
	}
	if (ret == -EDQUOT)
		return fail(
			c, EXIT_NOSPC,
			"you already hold as many blocks or bytes as max_blocks_per_uid and max_bytes_per_uid allow; free some of your blocks ('vmmctl list' shows owners)");
	if (ret == -EINTR)
		return fail(
			c, EXIT_FAIL,
			"interrupted by a signal while defragmenting; nothing was allocated: run the command again");
	if (ret != -EINVAL && ret != -ENOSPC)
		return fail_errno(c, -ret, "cannot allocate");
	/* Word the failure with the arena's figures, if we can get them. */
	if (vmm_stats(fd, &st))
		return fail_errno(c, -ret, "cannot allocate");

	if (ret == -EINVAL) {
		if (size <= 0 || (__u64)size > st.size)
			return fail(
				c, EXIT_INVAL,
				"invalid size %" PRId64
				": a block must be 1 to %llu bytes (the arena size)",
				size, st.size);
		if (align < 0 || (align > 1 && ((align & (align - 1)) ||
						(__u64)align > st.size)))
			return fail(
				c, EXIT_INVAL,
				"invalid alignment %" PRId64
				": use 0 or 1 for none, or a power of two no larger than %llu (the arena size)",
				align, st.size);
		alloc_need(size, align, !!vals[4], &need, &need_align);
		if (vals[4] && (__u64)need > st.size)
			return fail(
				c, EXIT_INVAL,
				"invalid size %" PRId64
				": a mappable block is whole pages of %" PRId64
				" bytes, so it would take %" PRId64
				", more than the arena's %llu; leave out --mappable or ask for less",
				size, page_size(), need, st.size);
		return fail_errno(c, EINVAL, "cannot allocate");
	}

	/* ENOSPC: word it with what the kernel was asked to find. */
	alloc_need(size, align, !!vals[4], &need, &need_align);
	if (need != size)
		snprintf(whole, sizeof(whole),
			 ", %" PRId64 " rounded up to whole pages", size);
	if (vals[1] && st.free >= (__u64)need)
		return fail(
			c, EXIT_NOSPC,
			"no room for %" PRId64
			" %s%s even after defragmenting (%llu free, largest range %llu%s); free some blocks first ('vmmctl list' shows them)",
			need, byte_word(need), whole, st.free, st.largest_free,
			need_align > 1 ? ", and the alignment needs padding" :
					 "");
	if (st.free < (__u64)need)
		return fail(
			c, EXIT_NOSPC,
			"no contiguous free range of %" PRId64
			" %s%s (largest is %llu, %llu free in total); free some blocks first ('vmmctl list' shows them)",
			need, byte_word(need), whole, st.largest_free, st.free);
	if (need_align > 1)
		return fail(
			c, EXIT_NOSPC,
			"no contiguous free range of %" PRId64
			" %s%s aligned to %" PRId64
			" (largest is %llu, %llu free in total); run 'vmmctl defrag' or free some blocks",
			need, byte_word(need), whole, need_align,
			st.largest_free, st.free);
	return fail(
		c, EXIT_NOSPC,
		"no contiguous free range of %" PRId64
		" %s (largest is %llu, %llu free in total); run 'vmmctl defrag'",
		size, byte_word(size), st.largest_free, st.free);
}

/* The common "ID" argument of free, info, read and write. */
static int one_id(struct ctx *c, int argc, char **argv, int64_t *id)
{
	char *pos[1];
	int ret;

	ret = parse_args(c, argc, argv, NULL, NULL, pos, 1);
	if (ret)
		return ret;
	return arg_num(c, "ID", pos[0], id, 0);
}

int cmd_free(struct ctx *c, int argc, char **argv)
{
	int64_t id;
	int fd, ret;

	ret = one_id(c, argc, argv, &id);
	if (ret)
		return ret < 0 ? EXIT_USAGE : EXIT_OK;
	fd = dev_fd(c);
	if (fd < 0)
		return -fd;
	ret = vmm_free(fd, (__u64)id);
	if (ret == -ENOENT)
		return fail_noent(c, id);
	if (ret == -EACCES)
		return fail(
			c, EXIT_PERM,
			"block %" PRId64
			" is not yours: only its owner or root may free it ('vmmctl list' shows owners)",
			id);
	if (ret)
		return fail_errno(c, -ret, "cannot free");
	if (c->batch)
		printf("ok\n");
	return EXIT_OK;
}

/* Read all of standard input into a malloc()ed buffer. */
static int slurp_stdin(struct ctx *c, char **data, size_t *len)
{
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);

	if (!buf)
		return fail(c, EXIT_FAIL,
			    "out of memory reading standard input");
	for (;;) {
		ssize_t r;

		if (n == cap) {
			char *nb = cap > SIZE_MAX / 2 ? NULL :
							realloc(buf, cap * 2);

			if (!nb) {
				free(buf);
				return fail(
					c, EXIT_FAIL,
					"out of memory reading standard input");
			}
			buf = nb;
			cap *= 2;
		}
		r = read(STDIN_FILENO, buf + n, cap - n);
		if (r == 0)
			break;
		if (r < 0) {
			if (errno == EINTR)
				continue;
			free(buf);
			return fail(c, EXIT_FAIL,
				    "cannot read standard input: %s",
				    strerror(errno));
		}
		n += (size_t)r;
	}
	*data = buf;
	*len = n;
	return EXIT_OK;
}

/* The block's size after a range error, or -1 if it cannot be had. */
static int block_size(int fd, int64_t id, __u64 *size)
{
	return vmm_info(fd, (__u64)id, NULL, size) ? -1 : 0;
}

int cmd_write(struct ctx *c, int argc, char **argv)
{
	int64_t id, off;
	char *pos[3], *data, *owned = NULL;
	size_t len = 0;
	__u64 bsize;
	int fd, ret;

	ret = parse_args(c, argc, argv, NULL, NULL, pos, 3);
	if (ret)
		return ret < 0 ? EXIT_USAGE : EXIT_OK;
	if (arg_num(c, "ID", pos[0], &id, 0) ||
	    arg_num(c, "OFFSET", pos[1], &off, 0))
		return EXIT_USAGE;
	if (!strcmp(pos[2], "-")) {
		if (c->batch)
			return fail_usage(
				c,
				"DATA '-' (standard input) is not available in batch mode, where standard input holds the commands; quote the data on the line instead");
		fd = dev_fd(c);
		if (fd < 0)
			return -fd;
		ret = slurp_stdin(c, &owned, &len);
		if (ret)
			return ret;
		data = owned;
	} else {
		data = pos[2];
		len = strlen(data);
	}
	fd = dev_fd(c);
	if (fd < 0)
		return -fd;

	ret = vmm_write(fd, (__u64)id, (__u64)off, data, len);
	free(owned);
	if (!ret) {
		if (c->batch)
			printf("ok\n");
		return EXIT_OK;
	}
	if (ret == -ENOENT)
		return fail_noent(c, id);
	if (ret == -EACCES)
		return fail(
			c, EXIT_PERM,
			"block %" PRId64
			" is not writable by you; ask its owner to 'vmmctl chmod' it ('vmmctl list' shows owners and modes)",
			id);
	if (ret == -ERANGE && !block_size(fd, id, &bsize))
		return fail(c, EXIT_RANGE,
			    "offset %" PRId64 " is outside block %" PRId64
			    " (size %llu): use an offset from 0 to %llu",
			    off, id, bsize, bsize - 1);
	if (ret == -EFBIG && !block_size(fd, id, &bsize))
		return fail(
			c, EXIT_INVAL,
			"%zu bytes at offset %" PRId64
			" do not fit in block %" PRId64
			" (size %llu, room for %llu); write less data or use a smaller offset",
			len, off, id, bsize,
			(__u64)off < bsize ? bsize - (__u64)off : 0);
	return fail_errno(c, -ret, "cannot write");
}

int cmd_read(struct ctx *c, int argc, char **argv)
{
	struct vmm_stats_args st;
	int64_t id, off, len;
	char *pos[3], *buf = NULL;
	__u64 bsize;
	int fd, ret;

	ret = parse_args(c, argc, argv, NULL, NULL, pos, 3);
	if (ret)
		return ret < 0 ? EXIT_USAGE : EXIT_OK;
	if (arg_num(c, "ID", pos[0], &id, 0) ||
	    arg_num(c, "OFFSET", pos[1], &off, 0) ||
	    arg_num(c, "LENGTH", pos[2], &len, 0))
		return EXIT_USAGE;
	/* The one check of our own: the ABI has no negative lengths. */
	if (len <= 0)
		return fail(c, EXIT_INVAL,
			    "LENGTH must be at least 1 (got %" PRId64 ")", len);
	fd = dev_fd(c);
	if (fd < 0)
		return -fd;

	/*
	 * No block is larger than the arena, so a longer read cannot
	 * succeed: rather than allocating a buffer for it, let the kernel
	 * refuse it with ERANGE (it checks bounds before copying).
	 */
	ret = vmm_stats(fd, &st);
	if (ret)
		return fail_errno(c, -ret, "cannot read");
	if ((__u64)len <= st.size) {
		buf = malloc((size_t)len);
		if (!buf)
			return fail(c, EXIT_FAIL,
				    "out of memory for a %" PRId64
				    "-byte buffer; read less at a time",
				    len);
	}
	ret = vmm_read(fd, (__u64)id, (__u64)off, buf, (__u64)len);
	if (!ret) {
		fwrite(buf, 1, (size_t)len, stdout);
		if (c->batch)
			putchar('\n');
		free(buf);
		return EXIT_OK;
	}
	free(buf);
	if (ret == -ENOENT)
		return fail_noent(c, id);
	if (ret == -EACCES)
		return fail(
			c, EXIT_PERM,
			"block %" PRId64
			" is not readable by you; ask its owner to 'vmmctl chmod' it ('vmmctl list' shows owners and modes)",
			id);
	if (ret == -ERANGE && !block_size(fd, id, &bsize)) {
		if (off < 0 || (__u64)off >= bsize)
			return fail(
				c, EXIT_RANGE,
				"offset %" PRId64 " is outside block %" PRId64
				" (size %llu): use an offset from 0 to %llu",
				off, id, bsize, bsize - 1);
		return fail(
			c, EXIT_RANGE,
			"offset %" PRId64 " + length %" PRId64
			" runs past the end of block %" PRId64
			" (size %llu); at most %llu %s can be read at offset %" PRId64,
			off, len, id, bsize, bsize - (__u64)off,
			byte_word((int64_t)(bsize - (__u64)off)), off);
	}
	if (ret == -EINVAL)
		return fail(c, EXIT_INVAL,
			    "the kernel refused length %" PRId64
			    " (EINVAL); LENGTH must be at least 1",
			    len);
	return fail_errno(c, -ret, "cannot read");
}

static int by_offset(const void *a, const void *b)
{
	const struct vmm_block_info *x = a, *y = b;

	return x->offset < y->offset ? -1 : x->offset > y->offset;
}

/* Bytes a full defragmentation would move: the blocks above the first hole. */
static int bytes_to_move(int fd, __u64 *total)
{
	struct vmm_block_info *v;
	__u64 end = 0;
	size_t n, i;
	int ret;

	ret = vmm_list_all(fd, &v, &n);
	if (ret)
		return ret;
	if (n > 1)
		qsort(v, n, sizeof(*v), by_offset);
	*total = 0;
	for (i = 0; i < n; i++) {
		if (*total || v[i].offset != end)
			*total += v[i].size;
		end = v[i].offset + v[i].size;
	}
	free(v);
	return 0;
}

static void draw_progress(__u64 done, __u64 total, int final)
{
	const int width = 40;
	int pct, fill;

	pct = total ? (int)(done * 100 / total) : 100;
	if (pct > 100 || final)
		pct = final ? 100 : 99;
	if (!final && pct == 100)
		pct = 99;
	fill = pct * width / 100;
	fprintf(stderr, "\r[%.*s%*s] %3d%% %llu bytes moved", fill,
		"########################################", width - fill, "",
		pct, (unsigned long long)done);
	if (final)
		fputc('\n', stderr);
	fflush(stderr);
}

/*
 * Budgeted steps until the arena is compact; a bar on a terminal.  Returns
 * DEFRAG_STUCK if a step moved nothing and the arena is still not compact.
 */
#define DEFRAG_STUCK 1000

static int defrag_progress(struct ctx *c, int fd, __u64 budget, __u64 *moved)
{
	int bar = isatty(STDERR_FILENO), compact = 0, ret;
	__u64 total = 0, bytes, blocks;

	if (bar) {
		ret = bytes_to_move(fd, &total);
		if (ret)
			return fail_errno(c, -ret, "cannot list the blocks");
	}
	*moved = 0;
	while (!compact) {
		ret = vmm_defrag_step(fd, budget, 0, &bytes, &blocks, &compact);
		if (ret) {
			if (bar)
				fputc('\n', stderr);
			return ret;
		}
		*moved += bytes;
		if (bar)
			draw_progress(*moved, total, compact || !blocks);
		/* What is left in the way does not move for us now. */
		if (!compact && !blocks)
			return DEFRAG_STUCK;
	}
	return 0;
}

#define DEFRAG_STEP_DEFAULT (1ULL << 20)

int cmd_defrag(struct ctx *c, int argc, char **argv)
{
	static const char *const opts[] = { "budget=", "progress", NULL };
	const char *vals[2];
	int64_t budget = 0;
	__u64 bytes;
	int fd, ret;

	ret = parse_args(c, argc, argv, opts, vals, NULL, 0);
	if (ret)
		return ret < 0 ? EXIT_USAGE : EXIT_OK;
	if (vals[0] && arg_num(c, "BYTES", vals[0], &budget, 1))
		return EXIT_USAGE;
	if (budget < 0 || (vals[0] && !budget)) {
		fail_usage(
			c,
			"--budget wants a positive number of bytes, got '%s'; leave it out for no limit",
			vals[0]);
		return EXIT_USAGE;
	}
	fd = dev_fd(c);
	if (fd < 0)
		return -fd;
	if (vals[1])
		ret = defrag_progress(
			c, fd, budget ? (__u64)budget : DEFRAG_STEP_DEFAULT,
			&bytes);
	else
		ret = vmm_defrag_step(fd, (__u64)budget, 0, &bytes, NULL, NULL);
	if (ret == -EINTR)
		return fail(
			c, EXIT_FAIL,
			"interrupted by a signal; the blocks moved so far stay in place: run 'vmmctl defrag' again to finish");
	if (ret == DEFRAG_STUCK) {
		printf("%llu\n", (unsigned long long)bytes);
		return fail(
			c, EXIT_FAIL,
			"not compact: a block in the way is in use by another task's copy, or is another user's block over 4 MiB, which only its owner or root moves; run 'vmmctl defrag --progress' again later");
	}
	if (ret > 0)
		return ret;
	if (ret)
		return fail_errno(c, -ret, "cannot defragment");
	printf("%llu\n", (unsigned long long)bytes);
	return EXIT_OK;
}

int cmd_info(struct ctx *c, int argc, char **argv)
{
	static const char *const opts[] = { "json", NULL };
	const char *vals[1];
	struct vmm_block_info b;
	struct vmm_info_args a;
	char *pos[1];
	int64_t id;
	int fd, ret;

	ret = parse_args(c, argc, argv, opts, vals, pos, 1);
	if (ret)
		return ret < 0 ? EXIT_USAGE : EXIT_OK;
	if (arg_num(c, "ID", pos[0], &id, 0))
		return EXIT_USAGE;
	fd = dev_fd(c);
	if (fd < 0)
		return -fd;
	ret = vmm_info_full(fd, (__u64)id, &a);
	if (ret == -ENOENT)
		return fail_noent(c, id);
	if (ret == -EACCES)
		return fail(
			c, EXIT_PERM,
			"block %" PRId64
			" is not readable or writable by you; ask its owner to 'vmmctl chmod' it ('vmmctl list' shows owners)",
			id);
	if (ret)
		return fail_errno(c, -ret, "cannot get the block's details");
	if (vals[0]) {
		memset(&b, 0, sizeof(b));
		b.id = (__u64)id;
		b.offset = a.offset;
		b.size = a.size;
		b.uid = a.uid;
		b.gid = a.gid;
		b.mode = a.mode;
		b.attrs = a.attrs;
		b.mapped = a.mapped;
		print_block_json(&b);
		putchar('\n');
		return EXIT_OK;
	}
	if (c->batch)
		printf("id=%" PRId64
		       " offset=%llu size=%llu owner=%u group=%u mode=%04o scoped=%s mappable=%s mapped=%llu\n",
		       id, a.offset, a.size, a.uid, a.gid, a.mode,
		       a.attrs & VMM_BLOCK_SCOPED ? "yes" : "no",
		       a.attrs & VMM_BLOCK_MAPPABLE ? "yes" : "no", a.mapped);
	else
		printf("id %" PRId64
		       "\noffset %llu\nsize %llu\nowner %u\ngroup %u\nmode %04o\nscoped %s\nmappable %s\nmapped %llu\n",
		       id, a.offset, a.size, a.uid, a.gid, a.mode,
		       a.attrs & VMM_BLOCK_SCOPED ? "yes" : "no",
		       a.attrs & VMM_BLOCK_MAPPABLE ? "yes" : "no", a.mapped);
	return EXIT_OK;
}

/* The MAPPED column: the count, or "-" for a block that cannot be mapped. */
static const char *mapped_col(const struct vmm_block_info *b, char *buf,
			      size_t len)
{
	if (!(b->attrs & VMM_BLOCK_MAPPABLE))
		return "-";
	snprintf(buf, len, "%llu", b->mapped);
	return buf;
}

int cmd_list(struct ctx *c, int argc, char **argv)
{
	static const char *const opts[] = { "json", NULL };
	const char *vals[1];
	struct vmm_block_info *v;
	size_t n, i;
	int fd, ret;

	ret = parse_args(c, argc, argv, opts, vals, NULL, 0);
	if (ret)
		return ret < 0 ? EXIT_USAGE : EXIT_OK;
	fd = dev_fd(c);
	if (fd < 0)
		return -fd;
	ret = vmm_list_all(fd, &v, &n);
	if (ret)
		return fail_errno(c, -ret, "cannot list the blocks");
	if (vals[0]) {
		print_list_json(v, n, c->batch);
		free(v);
		return EXIT_OK;
	}
	if (c->batch)
		printf("blocks=%zu", n);
	else
		printf("%10s %12s %12s %10s %10s %4s %6s\n", "ID", "OFFSET",
		       "SIZE", "OWNER", "GROUP", "MODE", "MAPPED");
	for (i = 0; i < n; i++) {
		char m[24];

		if (c->batch)
			printf(" id=%llu,offset=%llu,size=%llu,owner=%u,group=%u,mode=%04o,mapped=%s",
			       v[i].id, v[i].offset, v[i].size, v[i].uid,
			       v[i].gid, v[i].mode,
			       mapped_col(&v[i], m, sizeof(m)));
		else
			printf("%10llu %12llu %12llu %10u %10u %04o %6s\n",
			       v[i].id, v[i].offset, v[i].size, v[i].uid,
			       v[i].gid, v[i].mode,
			       mapped_col(&v[i], m, sizeof(m)));
	}
	if (c->batch)
		putchar('\n');
	free(v);
	return EXIT_OK;
}

/*
 * "--watch" takes an optional value: "--watch 5" becomes "--watch=5" when
 * the next word is a number, so that parse_args() sees one option.
 */
static int join_watch(int argc, char **argv, char **out, char *buf, size_t len)
{
	int i, n = 0;

	for (i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--")) {
			while (i < argc)
				out[n++] = argv[i++];
			break;
		}
		if (!strcmp(argv[i], "--watch") && i + 1 < argc &&
		    strspn(argv[i + 1], "0123456789.") == strlen(argv[i + 1]) &&
		    argv[i + 1][0]) {
			snprintf(buf, len, "--watch=%s", argv[i + 1]);
			out[n++] = buf;
			i++;
			continue;
		}
		out[n++] = argv[i];
	}
	out[n] = NULL;
	return n;
}

#define WATCH_DEFAULT_S 2.0
#define WATCH_MAX_S 86400.0

int cmd_stats(struct ctx *c, int argc, char **argv)
{
	static const char *const opts[] = { "json",   "watch", "watch=",
					    "count=", "users", NULL };
	const char *vals[5];
	struct vmm_stats_args st;
	__u64 values[NR_STATS];
	double interval = WATCH_DEFAULT_S;
	int64_t count = 0;
	char **args, buf[64], *end;
	int fd, ret;
	size_t i;

	args = calloc((size_t)argc + 1, sizeof(*args));
	if (!args)
		return fail(c, EXIT_FAIL, "out of memory");
	ret = parse_args(c, join_watch(argc, argv, args, buf, sizeof(buf)),
			 args, opts, vals, NULL, 0);
	free(args);
	if (ret)
		return ret < 0 ? EXIT_USAGE : EXIT_OK;
	if (vals[2]) {
		errno = 0;
		interval = strtod(vals[2], &end);
		if (errno || end == vals[2] || *end || !(interval >= 0.1) ||
		    interval > WATCH_MAX_S)
			return fail_usage(
				c,
				"--watch wants SECONDS from 0.1 to 86400 (e.g. 1 or 0.5), got '%s'",
				vals[2]);
	}
	if (vals[3] && (parse_s64(vals[3], &count, 0) || count < 1))
		return fail_usage(
			c,
			"--count wants a number of refreshes of at least 1, got '%s'",
			vals[3]);
	if (vals[3] && !vals[1] && !vals[2])
		return fail_usage(
			c,
			"--count only makes sense with --watch; add --watch [SECONDS]");
	if ((vals[1] || vals[2]) && c->batch)
		return fail_usage(
			c,
			"--watch does not end on its own, so it is not available in batch mode; run 'vmmctl stats --watch' directly");
	if (vals[4] && (vals[0] || vals[1] || vals[2] || vals[3]))
		return fail_usage(
			c,
			"--users shows a table of its own; run it without --json, --watch or --count");
	fd = dev_fd(c);
	if (fd < 0)
		return -fd;
	if (vals[4])
		return print_users(c, fd);
	if (vals[1] || vals[2])
		return stats_watch(c, fd, interval, (long)count, !!vals[0]);
	ret = vmm_stats(fd, &st);
	if (ret)
		return fail_errno(c, -ret, "cannot read the counters");
	if (vals[0]) {
		print_stats_json(&st, NULL, c->batch);
		return EXIT_OK;
	}
	stats_values(&st, values);
	for (i = 0; i < NR_STATS; i++) {
		if (c->batch)
			printf("%s%s=%llu", i ? " " : "", stat_names[i],
			       values[i]);
		else
			printf("%s %llu\n", stat_names[i], values[i]);
	}
	if (c->batch)
		printf(" policy=%s\n", stats_policy(&st));
	else
		printf("policy %s\n", stats_policy(&st));
	return EXIT_OK;
}

/* map --svg FILE: "-" is standard output. */
static int map_svg(struct ctx *c, const char *path,
		   const struct vmm_block_info *v, size_t n,
		   const struct vmm_stats_args *st)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "w") : stdout;
	int ret;

	if (!f)
		return fail(
			c, EXIT_FAIL,
			"cannot create '%s': %s; give --svg a path in a writable directory",
			path, strerror(errno));
	ret = write_map_svg(f, v, n, st);
	if (f != stdout && fclose(f) && !ret)
		ret = -errno;
	if (ret)
		return fail(c, EXIT_FAIL,
			    "cannot write '%s': %s; check the free space there",
			    path, strerror(-ret));
	return EXIT_OK;
}

int cmd_map(struct ctx *c, int argc, char **argv)
{
	static const char *const opts[] = {
		"width=", "raw", "color", "no-color", "summary", "svg=", NULL
	};
	const char *vals[6];
	struct vmm_stats_args st;
	struct vmm_block_info *v;
	int64_t width = 64;
	__u64 unit;
	size_t n;
	int fd, ret, tty;

	ret = parse_args(c, argc, argv, opts, vals, NULL, 0);
	if (ret)
		return ret < 0 ? EXIT_USAGE : EXIT_OK;
	if (vals[0] && arg_num(c, "width", vals[0], &width, 0))
		return EXIT_USAGE;
	if (width < 1)
		return fail_usage(c,
				  "--width must be at least 1 (got %" PRId64
				  ")",
				  width);
	if (vals[2] && vals[3])
		return fail_usage(
			c,
			"--color and --no-color contradict each other; give one");
	if (vals[5] && !*vals[5])
		return fail_usage(
			c, "--svg wants a file name ('-' for standard output)");
	fd = dev_fd(c);
	if (fd < 0)
		return -fd;
	ret = vmm_list_all(fd, &v, &n);
	if (ret)
		return fail_errno(c, -ret, "cannot list the blocks");
	ret = vmm_stats(fd, &st);
	if (ret) {
		free(v);
		return fail_errno(c, -ret, "cannot read the arena size");
	}
	if (n > 1)
		qsort(v, n, sizeof(*v), by_offset);
	if (vals[5]) {
		ret = map_svg(c, vals[5], v, n, &st);
		free(v);
		return ret;
	}

	if (vals[1])
		unit = 1;
	else
		unit = st.size / (__u64)width + !!(st.size % (__u64)width);
	if (!unit)
		unit = 1;
	/* Batch mode keeps its one plain line per command. */
	tty = !c->batch && isatty(STDOUT_FILENO);
	print_map(v, n, st.size, unit,
		  !c->batch && want_color(vals[2], vals[3]));
	if (!c->batch && (vals[4] || tty))
		print_map_summary(&st);
	free(v);
	return EXIT_OK;
}
