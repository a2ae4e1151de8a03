// SPDX-License-Identifier: GPL-2.0
/*
 * vmm_runas UID GID[,GID...] CMD [ARG...]: run CMD with the given real,
 * effective and saved uid and gid and the supplementary groups listed
 * (all of the GIDs), for vmmctl_test.sh, whose guest has no passwd
 * entries and no setpriv(1) that changes ids.  Must start as root.
 *
 * vmm_runas --userns MAP CMD [ARG...]: run CMD in a new user namespace
 * whose uid_map and gid_map are MAP ("0 0 4294967295", say), written by
 * this process from outside, as newuidmap(1) would: a task cannot write
 * more than its own id into its own namespace's map, and busybox's
 * unshare(1) writes only that.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
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

/* Write @map to /proc/@pid/@file; 0 or an errno. */
static int write_map(pid_t pid, const char *file, const char *map)
{
	char path[64];
	ssize_t len = (ssize_t)strlen(map);
	int fd, err = 0;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	fd = open(path, O_WRONLY);
	if (fd < 0)
		return errno;
	errno = 0;
	if (write(fd, map, len) != len)
		err = errno ? errno : EIO;
	close(fd);
	return err;
}

/*
 * The child unshares and tells the parent (one int, its errno), the parent
 * writes both maps and tells the child (one int, its errno), the child
 * runs CMD; the parent exits as the child does.
 */
static int run_in_userns(const char *map, char **cmd)
{
	int up[2], down[2], err = 0, status;
	pid_t pid;

	if (pipe2(up, O_CLOEXEC) || pipe2(down, O_CLOEXEC)) {
		perror("vmm_runas: pipe2");
		return 127;
	}
	pid = fork();
	if (pid < 0) {
		perror("vmm_runas: fork");
		return 127;
	}
	if (!pid) {
		close(up[0]);
		close(down[1]);
		err = unshare(CLONE_NEWUSER) ? errno : 0;
		if (write(up[1], &err, sizeof(err)) != sizeof(err) || err ||
		    read(down[0], &err, sizeof(err)) != sizeof(err) || err)
			_exit(127);
		execvp(cmd[0], cmd);
		fprintf(stderr, "vmm_runas: cannot run %s: %s\n", cmd[0],
			strerror(errno));
		_exit(127);
	}
	/*
	 * Only the child's ends left open: its death ends a read, and fails
	 * a write with EPIPE rather than killing this process.
	 */
	close(up[1]);
	close(down[0]);
	signal(SIGPIPE, SIG_IGN);
	if (read(up[0], &err, sizeof(err)) != sizeof(err)) {
		fprintf(stderr, "vmm_runas: the child ended before it could unshare\n");
		err = ECHILD;
	} else if (err) {
		fprintf(stderr, "vmm_runas: unshare(CLONE_NEWUSER): %s\n",
			strerror(err));
	} else {
		err = write_map(pid, "uid_map", map);
		if (!err)
			err = write_map(pid, "gid_map", map);
		if (err)
			fprintf(stderr, "vmm_runas: writing the map '%s': %s; run as root\n",
				map, strerror(err));
		if (write(down[1], &err, sizeof(err)) != sizeof(err) && !err)
			err = EPIPE;
	}
	if (waitpid(pid, &status, 0) != pid || err)
		return 127;
	return WIFEXITED(status) ? WEXITSTATUS(status) :
				   128 + WTERMSIG(status);
}

int main(int argc, char **argv)
{
	gid_t groups[16];
	unsigned int uid, id;
	const char *p;
	int n = 0;

	if (argc >= 4 && !strcmp(argv[1], "--userns"))
		return run_in_userns(argv[2], argv + 3);
	if (argc < 4 || parse_id(argv[1], &uid)) {
		fprintf(stderr, "usage: vmm_runas UID GID[,GID...] CMD [ARG...]\n"
			"       vmm_runas --userns MAP CMD [ARG...]\n");
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
