// SPDX-License-Identifier: GPL-2.0
/*
 * vmm_runas UID GID[,GID...] CMD [ARG...]: run CMD with the given real,
 * effective and saved uid and gid and the supplementary groups listed
 * (all of the GIDs), for vmmctl_test.sh, whose guest has no passwd
 * entries and no setpriv(1) that changes ids.  Must start as root.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int parse_id(const char *s, unsigned int *out)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || (*end && *end != ',') || v >= 0xffffffffUL)
		return -1;
	*out = (unsigned int)v;
	return 0;
}

int main(int argc, char **argv)
{
	gid_t groups[16];
	unsigned int uid, id;
	const char *p;
	int n = 0;

	if (argc < 4 || parse_id(argv[1], &uid)) {
		fprintf(stderr, "usage: vmm_runas UID GID[,GID...] CMD [ARG...]\n");
		return 127;
	}
	for (p = argv[2]; p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL) {
		if (n == 16 || parse_id(p, &id)) {
			fprintf(stderr, "vmm_runas: bad group list '%s' (at most 16 numeric gids, comma-separated)\n",
				argv[2]);
			return 127;
		}
		groups[n++] = id;
	}
	if (setgroups(n, groups) || setresgid(groups[0], groups[0], groups[0]) ||
	    setresuid(uid, uid, uid)) {
		fprintf(stderr, "vmm_runas: cannot change ids: %s; run as root\n",
			strerror(errno));
		return 127;
	}
	execvp(argv[3], argv + 3);
	fprintf(stderr, "vmm_runas: cannot run %s: %s\n", argv[3],
		strerror(errno));
	return 127;
}
