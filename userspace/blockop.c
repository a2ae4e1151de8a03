// SPDX-License-Identifier: GPL-2.0
/*
 * vmmctl: alloc, free, write, read and info, the commands that "vmmctl
 * batch" can send in one VMM_IOC_BATCH.
 *
 * Each is parsed into a struct op, then run by its single ioctl
 * (op_exec()) or as an entry of a batch (op_entry() and op_result()), and
 * op_finish() prints what the command prints or words its error, the same
 * either way: the kernel enforces every bound, and these functions pass
 * the user's numbers through (negative ones as their two's complement),
 * fetching the block's or the arena's figures after a failure to say what
 * went wrong and what to do next.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <linux/capability.h>

#include "libvmm.h"
#include "vmmctl.h"

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

static int parse_alloc(struct ctx *c, int argc, char **argv, struct op *o)
{
	static const char *const opts[] = { "align=", "compact",  "mode=",
					    "scoped", "mappable", NULL };
	const char *vals[5];
	char *pos[1];
	int ret;

	ret = parse_args(c, argc, argv, opts, vals, pos, 1);
	if (ret)
		return ret < 0 ? -EXIT_USAGE : 1;
	if (arg_num(c, "SIZE", pos[0], &o->len, 1))
		return -EXIT_USAGE;
	if (vals[0] && arg_num(c, "alignment", vals[0], &o->align, 1))
		return -EXIT_USAGE;
	if (vals[2] && parse_mode(vals[2], &o->mode))
		return -fail_usage(
			c,
			"--mode '%s' is not an octal mode from 0 to 0777 (e.g. 0640)",
			vals[2]);
	o->has_mode = !!vals[2];
	o->flags = (vals[1] ? VMM_ALLOC_COMPACT : 0) |
		   (vals[3] ? VMM_ALLOC_SCOPED : 0) |
		   (vals[4] ? VMM_ALLOC_MAPPABLE : 0);
	return 0;
}

/* A quota parameter of the loaded module; 0 (no limit) if unreadable. */
static __u64 quota_param(const char *name)
{
	unsigned long long v = 0;
	char path[96];
	FILE *f;

	snprintf(path, sizeof(path), "/sys/module/vmm/parameters/%s", name);
	f = fopen(path, "re");
	if (!f)
		return 0;
	if (fscanf(f, "%llu", &v) != 1)
		v = 0;
	fclose(f);
	return v;
}

/*
 * The inode number of the initial user namespace's /proc/PID/ns/user
 * (PROC_USER_INIT_INO, fixed since Linux 3.8).
 */
#define USER_NS_INIT_INO 0xEFFFFFFDU

/*
 * Whether vmm counts this process as privileged: CAP_SYS_ADMIN in the
 * initial user namespace.  Root in a namespace of its own is not, even
 * when that namespace maps every id to itself; a user with the capability
 * is.  Without /proc, an effective UID of 0 is the best guess.
 */
static bool caller_privileged(void)
{
	unsigned long long caps;
	bool found = false;
	char line[128];
	struct stat ns;
	FILE *f;

	if (stat("/proc/self/ns/user", &ns))
		return !geteuid();
	if (ns.st_ino != USER_NS_INIT_INO)
		return false;
	f = fopen("/proc/self/status", "re");
	if (!f)
		return !geteuid();
	while (!found && fgets(line, sizeof(line), f))
		found = sscanf(line, "CapEff: %llx", &caps) == 1;
	fclose(f);
	if (!found)
		return !geteuid();
	return caps & (1ULL << CAP_SYS_ADMIN);
}

static int finish_alloc(struct ctx *c, int fd, const struct op *o, int ret)
{
	int64_t size = o->len, align = o->align, need, need_align;
	int mappable = !!(o->flags & VMM_ALLOC_MAPPABLE);
	struct vmm_stats_args st;
	char whole[80] = "";

	if (!ret) {
		printf("%llu\n", (unsigned long long)o->new_id);
		return EXIT_OK;
	}
	if (ret == -EDQUOT) {
		__u64 limit = quota_param("max_bytes_per_uid");

		alloc_need(size, align, mappable, &need, &need_align);
		if (limit && (__u64)need > limit)
			return fail(
				c, EXIT_NOSPC,
				"a block of %" PRId64
				" bytes is more than max_bytes_per_uid (%llu) lets one user hold, whatever they free; ask for less, or have root raise /sys/module/vmm/parameters/max_bytes_per_uid",
				need, (unsigned long long)limit);
		return fail(
			c, EXIT_NOSPC,
			"you already hold as many blocks or bytes as your limits allow (max_blocks_per_uid, max_bytes_per_uid, and max_blocks_unprivileged without CAP_SYS_ADMIN, in /sys/module/vmm/parameters); free some of your blocks ('vmmctl list' shows owners)");
	}
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
		alloc_need(size, align, mappable, &need, &need_align);
		if (mappable && (__u64)need > st.size)
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
	alloc_need(size, align, mappable, &need, &need_align);
	if (need != size)
		snprintf(whole, sizeof(whole),
			 ", %" PRId64 " rounded up to whole pages", size);
	/*
	 * Without privilege the defragmentation moved at most 4 MiB; a
	 * defrag that goes on until compact may make the room (unless
	 * alignment padding is what does not fit).
	 */
	if ((o->flags & VMM_ALLOC_COMPACT) && st.free >= (__u64)need &&
	    o->align <= 1 && !caller_privileged())
		return fail(
			c, EXIT_NOSPC,
			"no room for %" PRId64
			" %s%s after defragmenting (%llu free, largest range %llu): without CAP_SYS_ADMIN it moves at most 4 MiB, so run 'vmmctl defrag', which goes on until the arena is compact, and try again, or free some blocks ('vmmctl list' shows them)",
			need, byte_word(need), whole, st.free, st.largest_free);
	if ((o->flags & VMM_ALLOC_COMPACT) && st.free >= (__u64)need)
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

/* free ID, and info ID [--json] with @opts. */
static int parse_id_only(struct ctx *c, int argc, char **argv, struct op *o,
			 const char *const *opts)
{
	const char *vals[1] = { NULL };
	char *pos[1];
	int ret;

	ret = parse_args(c, argc, argv, opts, vals, pos, 1);
	if (ret)
		return ret < 0 ? -EXIT_USAGE : 1;
	if (arg_num(c, "ID", pos[0], &o->id, 0))
		return -EXIT_USAGE;
	o->json = !!vals[0];
	return 0;
}

static int finish_free(struct ctx *c, const struct op *o, int ret)
{
	if (ret == -ENOENT)
		return fail_noent(c, o->id);
	if (ret == -EACCES)
		return fail(
			c, EXIT_PERM,
			"block %" PRId64
			" is not yours: only its owner or root may free it ('vmmctl list' shows owners)",
			o->id);
	if (ret)
		return fail_errno(c, -ret, "cannot free");
	if (c->batch)
		printf("ok\n");
	return EXIT_OK;
}

/*
 * The arena's size, asked once: no block is larger, so no read or write
 * longer than it can succeed.  It does not change while the device is
 * open.
 */
static int arena_size(struct ctx *c, int fd, const char *what)
{
	struct vmm_stats_args st;

	if (!c->arena_size) {
		int ret = vmm_stats(fd, &st);

		if (ret)
			return fail_errno(c, -ret, what);
		c->arena_size = st.size;
	}
	return EXIT_OK;
}

/*
 * Read standard input into a malloc()ed buffer, up to one byte more than
 * the arena holds: a write that long fails (EFBIG) however long the
 * input, so reading the rest of it (of /dev/zero, say) would only use up
 * memory.
 */
static int slurp_stdin(struct ctx *c, int fd, char **data, size_t *len)
{
	size_t cap = 4096, n = 0, max;
	char *buf;
	int ret;

	ret = arena_size(c, fd, "cannot write");
	if (ret)
		return ret;
	max = c->arena_size < SIZE_MAX ? (size_t)c->arena_size + 1 : SIZE_MAX;
	buf = malloc(cap);
	if (!buf)
		return fail(c, EXIT_FAIL,
			    "out of memory reading standard input");
	while (n < max) {
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
		r = read(STDIN_FILENO, buf + n,
			 cap - n < max - n ? cap - n : max - n);
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
	if (n > c->arena_size) {
		free(buf);
		return fail(
			c, EXIT_INVAL,
			"standard input holds more than %llu bytes, the arena's size, so it fits in no block; write less",
			(unsigned long long)c->arena_size);
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

static int parse_write(struct ctx *c, int argc, char **argv, struct op *o)
{
	char *pos[3];
	int ret;

	ret = parse_args(c, argc, argv, NULL, NULL, pos, 3);
	if (ret)
		return ret < 0 ? -EXIT_USAGE : 1;
	if (arg_num(c, "ID", pos[0], &o->id, 0) ||
	    arg_num(c, "OFFSET", pos[1], &o->off, 0))
		return -EXIT_USAGE;
	if (!strcmp(pos[2], "-")) {
		if (c->batch)
			return -fail_usage(
				c,
				"DATA '-' (standard input) is not available in batch mode, where standard input holds the commands; quote the data on the line instead");
		o->from_stdin = 1;
		return 0;
	}
	o->data = pos[2];
	o->dlen = strlen(o->data);
	return 0;
}

static int finish_write(struct ctx *c, int fd, const struct op *o, int ret)
{
	__u64 bsize;

	if (!ret) {
		if (c->batch)
			printf("ok\n");
		return EXIT_OK;
	}
	if (ret == -ENOENT)
		return fail_noent(c, o->id);
	if (ret == -EACCES)
		return fail(
			c, EXIT_PERM,
			"block %" PRId64
			" is not writable by you; ask its owner to 'vmmctl chmod' it ('vmmctl list' shows owners and modes)",
			o->id);
	if (ret == -ERANGE && !block_size(fd, o->id, &bsize))
		return fail(c, EXIT_RANGE,
			    "offset %" PRId64 " is outside block %" PRId64
			    " (size %llu): use an offset from 0 to %llu",
			    o->off, o->id, bsize, bsize - 1);
	if (ret == -EFBIG && !block_size(fd, o->id, &bsize))
		return fail(
			c, EXIT_INVAL,
			"%zu bytes at offset %" PRId64
			" do not fit in block %" PRId64
			" (size %llu, room for %llu); write less data or use a smaller offset",
			o->dlen, o->off, o->id, bsize,
			(__u64)o->off < bsize ? bsize - (__u64)o->off : 0);
	return fail_errno(c, -ret, "cannot write");
}

static int parse_read(struct ctx *c, int argc, char **argv, struct op *o)
{
	char *pos[3];
	int ret;

	ret = parse_args(c, argc, argv, NULL, NULL, pos, 3);
	if (ret)
		return ret < 0 ? -EXIT_USAGE : 1;
	if (arg_num(c, "ID", pos[0], &o->id, 0) ||
	    arg_num(c, "OFFSET", pos[1], &o->off, 0) ||
	    arg_num(c, "LENGTH", pos[2], &o->len, 0))
		return -EXIT_USAGE;
	/* The one check of our own: the ABI has no negative lengths. */
	if (o->len <= 0)
		return -fail(c, EXIT_INVAL,
			     "LENGTH must be at least 1 (got %" PRId64 ")",
			     o->len);
	return 0;
}

static int prepare_read(struct ctx *c, int fd, struct op *o)
{
	int ret;

	/*
	 * A read longer than the arena cannot succeed: rather than
	 * allocating a buffer for it, let the kernel refuse it with ERANGE
	 * (it checks bounds before copying).
	 */
	ret = arena_size(c, fd, "cannot read");
	if (ret)
		return ret;
	if ((__u64)o->len <= c->arena_size) {
		/* A 32-bit tool cannot hold more than SIZE_MAX bytes. */
		if ((__u64)o->len > SIZE_MAX)
			return fail(
				c, EXIT_FAIL,
				"cannot read %" PRId64
				" bytes at once in a 32-bit vmmctl; read less at a time",
				o->len);
		o->owned = malloc((size_t)o->len);
		if (!o->owned)
			return fail(c, EXIT_FAIL,
				    "out of memory for a %" PRId64
				    "-byte buffer; read less at a time",
				    o->len);
		o->data = o->owned;
	}
	return EXIT_OK;
}

static int finish_read(struct ctx *c, int fd, const struct op *o, int ret)
{
	__u64 bsize;
	int64_t id = o->id, off = o->off, len = o->len;

	if (!ret) {
		/* In a batch the bytes are escaped, to keep one line. */
		if (c->batch) {
			put_escaped(o->data, (size_t)len);
			putchar('\n');
		} else {
			fwrite(o->data, 1, (size_t)len, stdout);
		}
		return EXIT_OK;
	}
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

static int finish_info(struct ctx *c, const struct op *o, int ret)
{
	const struct vmm_info_args *a = &o->info;
	struct vmm_block_info b;

	if (ret == -ENOENT)
		return fail_noent(c, o->id);
	if (ret == -EACCES)
		return fail(
			c, EXIT_PERM,
			"block %" PRId64
			" is not readable or writable by you; ask its owner to 'vmmctl chmod' it ('vmmctl list' shows owners)",
			o->id);
	if (ret)
		return fail_errno(c, -ret, "cannot get the block's details");
	if (o->json) {
		memset(&b, 0, sizeof(b));
		b.id = (__u64)o->id;
		b.offset = a->offset;
		b.size = a->size;
		b.uid = a->uid;
		b.gid = a->gid;
		b.mode = a->mode;
		b.attrs = a->attrs;
		b.mapped = a->mapped;
		print_block_json(&b);
		putchar('\n');
		return EXIT_OK;
	}
	if (c->batch)
		printf("id=%" PRId64
		       " offset=%llu size=%llu owner=%u group=%u mode=%04o scoped=%s mappable=%s mapped=%llu\n",
		       o->id, a->offset, a->size, a->uid, a->gid, a->mode,
		       a->attrs & VMM_BLOCK_SCOPED ? "yes" : "no",
		       a->attrs & VMM_BLOCK_MAPPABLE ? "yes" : "no", a->mapped);
	else
		printf("id %" PRId64
		       "\noffset %llu\nsize %llu\nowner %u\ngroup %u\nmode %04o\nscoped %s\nmappable %s\nmapped %llu\n",
		       o->id, a->offset, a->size, a->uid, a->gid, a->mode,
		       a->attrs & VMM_BLOCK_SCOPED ? "yes" : "no",
		       a->attrs & VMM_BLOCK_MAPPABLE ? "yes" : "no", a->mapped);
	return EXIT_OK;
}

__u32 op_kind(const char *name)
{
	static const struct {
		const char *name;
		__u32 kind;
	} kinds[] = {
		{ "alloc", VMM_BATCH_ALLOC }, { "free", VMM_BATCH_FREE },
		{ "read", VMM_BATCH_READ },   { "write", VMM_BATCH_WRITE },
		{ "info", VMM_BATCH_INFO },
	};
	size_t i;

	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (!strcmp(kinds[i].name, name))
			return kinds[i].kind;
	return 0;
}

int op_parse(struct ctx *c, int argc, char **argv, struct op *o)
{
	static const char *const info_opts[] = { "json", NULL };

	memset(o, 0, sizeof(*o));
	o->kind = op_kind(argv[0]);
	switch (o->kind) {
	case VMM_BATCH_ALLOC:
		return parse_alloc(c, argc, argv, o);
	case VMM_BATCH_FREE:
		return parse_id_only(c, argc, argv, o, NULL);
	case VMM_BATCH_WRITE:
		return parse_write(c, argc, argv, o);
	case VMM_BATCH_READ:
		return parse_read(c, argc, argv, o);
	case VMM_BATCH_INFO:
		return parse_id_only(c, argc, argv, o, info_opts);
	}
	return -fail_usage(c, "'%s' cannot be run as a block operation",
			   argv[0]);
}

int op_prepare(struct ctx *c, int fd, struct op *o)
{
	if (o->kind == VMM_BATCH_READ)
		return prepare_read(c, fd, o);
	if (o->kind == VMM_BATCH_WRITE && o->from_stdin) {
		int ret = slurp_stdin(c, fd, &o->owned, &o->dlen);

		o->data = o->owned;
		return ret;
	}
	return EXIT_OK;
}

int op_exec(int fd, struct op *o)
{
	__u64 id = (__u64)o->id, off = (__u64)o->off;

	switch (o->kind) {
	case VMM_BATCH_ALLOC:
		if (o->has_mode)
			return vmm_alloc_mode(fd, (__u64)o->len,
					      (__u64)o->align, o->flags,
					      o->mode, &o->new_id, NULL);
		return vmm_alloc_flags(fd, (__u64)o->len, (__u64)o->align,
				       o->flags, &o->new_id, NULL);
	case VMM_BATCH_FREE:
		return vmm_free(fd, id);
	case VMM_BATCH_WRITE:
		return vmm_write(fd, id, off, o->data, o->dlen);
	case VMM_BATCH_READ:
		return vmm_read(fd, id, off, o->data, (__u64)o->len);
	case VMM_BATCH_INFO:
		return vmm_info_full(fd, id, &o->info);
	}
	return -EINVAL;
}

void op_entry(const struct op *o, struct vmm_batch_entry *e)
{
	__u64 id = (__u64)o->id, off = (__u64)o->off;

	switch (o->kind) {
	case VMM_BATCH_ALLOC:
		if (o->has_mode)
			vmm_batch_alloc_mode(e, (__u64)o->len, (__u64)o->align,
					     o->flags, o->mode);
		else
			vmm_batch_alloc(e, (__u64)o->len, (__u64)o->align,
					o->flags);
		break;
	case VMM_BATCH_FREE:
		vmm_batch_free(e, id);
		break;
	case VMM_BATCH_WRITE:
		vmm_batch_write(e, id, off, o->data, o->dlen);
		break;
	case VMM_BATCH_READ:
		vmm_batch_read(e, id, off, o->data, (__u64)o->len);
		break;
	case VMM_BATCH_INFO:
		vmm_batch_info(e, id);
		break;
	}
}

int op_result(struct op *o, const struct vmm_batch_entry *e)
{
	if (e->result)
		return e->result;
	if (o->kind == VMM_BATCH_ALLOC)
		o->new_id = e->alloc.id;
	else if (o->kind == VMM_BATCH_INFO)
		o->info = e->info;
	return 0;
}

int op_finish(struct ctx *c, int fd, const struct op *o, int ret)
{
	switch (o->kind) {
	case VMM_BATCH_ALLOC:
		return finish_alloc(c, fd, o, ret);
	case VMM_BATCH_FREE:
		return finish_free(c, o, ret);
	case VMM_BATCH_WRITE:
		return finish_write(c, fd, o, ret);
	case VMM_BATCH_READ:
		return finish_read(c, fd, o, ret);
	}
	return finish_info(c, o, ret);
}

void op_release(struct op *o)
{
	free(o->owned);
	o->owned = NULL;
	o->data = NULL;
}

int cmd_op(struct ctx *c, int argc, char **argv)
{
	struct op o;
	int fd, ret;

	ret = op_parse(c, argc, argv, &o);
	if (ret)
		return ret > 0 ? EXIT_OK : -ret;
	fd = dev_fd(c);
	if (fd < 0)
		return -fd;
	ret = op_prepare(c, fd, &o);
	if (!ret)
		ret = op_finish(c, fd, &o, op_exec(fd, &o));
	op_release(&o);
	return ret;
}
