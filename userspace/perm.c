// SPDX-License-Identifier: GPL-2.0
/*
 * vmmctl: the commands and helpers of block ownership: chmod, chown, the
 * mode argument of alloc, and the per-uid usage of "stats --users".
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libvmm.h"
#include "vmmctl.h"

int parse_mode(const char *s, __u32 *mode)
{
	unsigned long v;
	char *end;

	if (*s < '0' || *s > '7')
		return -1;
	errno = 0;
	v = strtoul(s, &end, 8);
	if (errno || *end || v > VMM_MODE_MASK)
		return -1;
	*mode = (__u32)v;
	return 0;
}

/* A uid or gid: a decimal from 0 to 4294967294. */
static int parse_id(const char *s, size_t len, __u32 *id)
{
	unsigned long long v = 0;
	size_t i;

	if (!len || len > 10)
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned long long)(s[i] - '0');
	}
	if (v >= VMM_ID_UNCHANGED)
		return -1;
	*id = (__u32)v;
	return 0;
}

static int id_arg(struct ctx *c, const char *s, int64_t *id)
{
	int err = parse_s64(s, id, 0);

	if (!err)
		return 0;
	fail_num(c, "ID", s, err, 0);
	return -1;
}

static int fail_noent_id(struct ctx *c, int64_t id)
{
	return fail(
		c, EXIT_INVAL,
		"no block with ID %" PRId64
		" (it was never allocated or is already freed); 'vmmctl list' shows live blocks",
		id);
}

int cmd_chmod(struct ctx *c, int argc, char **argv)
{
	char *pos[2];
	int64_t id;
	__u32 mode;
	int fd, ret;

	ret = parse_args(c, argc, argv, NULL, NULL, pos, 2);
	if (ret)
		return ret < 0 ? EXIT_USAGE : EXIT_OK;
	if (parse_mode(pos[0], &mode))
		return fail_usage(
			c,
			"MODE '%s' is not an octal mode from 0 to 0777 (e.g. 0640)",
			pos[0]);
	if (id_arg(c, pos[1], &id))
		return EXIT_USAGE;
	fd = dev_fd(c);
	if (fd < 0)
		return -fd;
	ret = vmm_chmod(fd, (__u64)id, mode);
	if (ret == -ENOENT)
		return fail_noent_id(c, id);
	if (ret == -EPERM)
		return fail(
			c, EXIT_PERM,
			"block %" PRId64
			" is not yours: only its owner or root may change its mode ('vmmctl info %" PRId64
			"' shows the owner)",
			id, id);
	if (ret)
		return fail_errno(c, -ret, "cannot change the mode");
	if (c->batch)
		printf("ok\n");
	return EXIT_OK;
}

int cmd_chown(struct ctx *c, int argc, char **argv)
{
	__u32 uid = VMM_ID_UNCHANGED, gid = VMM_ID_UNCHANGED;
	const char *colon;
	char *pos[2];
	int64_t id;
	int fd, ret;

	ret = parse_args(c, argc, argv, NULL, NULL, pos, 2);
	if (ret)
		return ret < 0 ? EXIT_USAGE : EXIT_OK;
	colon = strchr(pos[0], ':');
	if ((colon != pos[0] &&
	     parse_id(pos[0], colon ? (size_t)(colon - pos[0]) : strlen(pos[0]),
		      &uid)) ||
	    (colon && parse_id(colon + 1, strlen(colon + 1), &gid)) ||
	    (colon == pos[0] && !colon[1]))
		return fail_usage(
			c,
			"'%s' is not UID, UID:GID or :GID (numeric ids from 0 to 4294967294)",
			pos[0]);
	if (id_arg(c, pos[1], &id))
		return EXIT_USAGE;
	fd = dev_fd(c);
	if (fd < 0)
		return -fd;
	ret = vmm_chown(fd, (__u64)id, uid, gid);
	if (ret == -ENOENT)
		return fail_noent_id(c, id);
	if (ret == -EPERM)
		return fail(
			c, EXIT_PERM,
			"cannot change the owner of block %" PRId64
			": only root may give a block away, and its owner may only pick one of their own groups",
			id);
	if (ret == -EDQUOT)
		return fail(
			c, EXIT_NOSPC,
			"the new owner of block %" PRId64
			" would exceed max_blocks_per_uid or max_bytes_per_uid; raise the limit in /sys/module/vmm/parameters/ or free some of their blocks",
			id);
	if (ret == -EINVAL)
		return fail(c, EXIT_INVAL,
			    "'%s': no such uid or gid in this user namespace",
			    pos[0]);
	if (ret)
		return fail_errno(c, -ret, "cannot change the owner");
	if (c->batch)
		printf("ok\n");
	return EXIT_OK;
}

/*
 * Every page of VMM_IOC_USAGE, before anything is printed, so that a
 * failure on a later page leaves no partial table.  0 and a malloc()ed
 * array of *@n entries in *@out, or the exit status.
 */
static int read_users(struct ctx *c, int fd, struct vmm_user_usage **out,
		      size_t *n)
{
	struct vmm_user_usage *v = NULL, *nv;
	size_t cap = 0;
	__u32 start = 0, next, count;

	*out = NULL;
	*n = 0;
	do {
		int ret;

		if (*n + 64 > cap) {
			cap = cap ? 2 * cap : 64;
			nv = reallocarray(v, cap, sizeof(*v));
			if (!nv) {
				free(v);
				return fail(c, EXIT_FAIL, "out of memory");
			}
			v = nv;
		}
		ret = vmm_usage(fd, start, v + *n, 64, &count, &next);
		if (ret == -EPERM) {
			free(v);
			return fail(
				c, EXIT_PERM,
				"the kernel shows the per-user table outside user namespaces only (its uids would name ids a namespace cannot see), and vmm before 0.4 to root only; run 'vmmctl stats --users' outside the namespace, or as root with an older vmm");
		}
		if (ret) {
			free(v);
			return fail_errno(c, -ret,
					  "cannot read the per-user usage");
		}
		*n += count;
		/* A kernel that does not advance would loop forever. */
		if (next && next <= start) {
			free(v);
			return fail_errno(c, EIO,
					  "cannot read the per-user usage");
		}
		start = next;
	} while (next);
	*out = v;
	return EXIT_OK;
}

int print_users(struct ctx *c, int fd, int json, int style)
{
	int w = style & TABLE_RAW ? 0 : 1;
	/* One uid a line, as list --json, unless in batch mode. */
	const char *nl = c->batch ? "" : "\n  ";
	struct vmm_user_usage *u = NULL;
	size_t n, i;
	int ret;

	ret = read_users(c, fd, &u, &n);
	if (ret)
		return ret;
	if (json)
		printf("{\"users\": [");
	else if (c->batch)
		printf("users=");
	else if (!(style & TABLE_NOHEADINGS))
		printf("%*s %*s %*s %*s\n", 10 * w, "UID", 10 * w, "BLOCKS",
		       14 * w, "BYTES", 10 * w, "NS-BLOCKS");
	for (i = 0; i < n; i++) {
		if (json)
			printf("%s%s{\"uid\": %u, \"blocks\": %llu, \"bytes\": %llu, \"ns_blocks\": %llu}",
			       i ? "," : "", nl, u[i].uid, u[i].blocks,
			       u[i].bytes, u[i].ns_blocks);
		else if (c->batch)
			printf("%suid=%u,blocks=%llu,bytes=%llu,ns_blocks=%llu",
			       i ? " " : "", u[i].uid, u[i].blocks, u[i].bytes,
			       u[i].ns_blocks);
		else
			printf("%*u %*llu %*llu %*llu\n", 10 * w, u[i].uid,
			       10 * w, u[i].blocks, 14 * w, u[i].bytes, 10 * w,
			       u[i].ns_blocks);
	}
	if (json)
		printf("%s]}\n", n && !c->batch ? "\n" : "");
	else if (c->batch)
		printf("\n");
	free(u);
	return EXIT_OK;
}
