// SPDX-License-Identifier: GPL-2.0
/*
 * vmm_ioctl_log.so: an LD_PRELOAD library for vmmctl_test.sh (the guest
 * has no strace), not a test.  It appends one line per vmm ioctl the
 * program makes to the file named by VMM_IOCTL_LOG: the command's name
 * and, for VMM_IOC_BATCH, its entry count ("BATCH 6").  With
 * VMM_IOCTL_NO_BATCH=1 it fails VMM_IOC_BATCH with ENOTTY, as a module
 * without the ioctl does, without passing it on.  A static program (the
 * 32-bit vmmctl) does not go through it, and nothing is logged.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/vmm.h>

static const char *const names[] = {
	"ALLOC", "FREE", "DEFRAG", "INFO",  "STATS", "SELECT", "READ",
	"WRITE", "LIST", "CHMOD",  "CHOWN", "USAGE", "BATCH",
};

static void log_call(unsigned long req, void *arg)
{
	const char *path = getenv("VMM_IOCTL_LOG");
	unsigned int nr = _IOC_NR(req);
	int saved = errno, fd;

	if (!path)
		return;
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		goto out;
	if (req == VMM_IOC_BATCH)
		dprintf(fd, "BATCH %u\n",
			((const struct vmm_batch_args *)arg)->count);
	else if (nr < sizeof(names) / sizeof(names[0]))
		dprintf(fd, "%s\n", names[nr]);
	else
		dprintf(fd, "0x%02x\n", nr);
	close(fd);
out:
	errno = saved;
}

int ioctl(int fd, unsigned long req, ...)
{
	static int (*real)(int, unsigned long, ...);
	const char *nobatch;
	va_list ap;
	void *arg;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (!real)
		real = (int (*)(int, unsigned long, ...))dlsym(RTLD_NEXT,
							       "ioctl");
	if (_IOC_TYPE(req) == VMM_IOC_MAGIC) {
		log_call(req, arg);
		nobatch = getenv("VMM_IOCTL_NO_BATCH");
		if (req == VMM_IOC_BATCH && nobatch && *nobatch == '1') {
			errno = ENOTTY;
			return -1;
		}
	}
	return real(fd, req, arg);
}
