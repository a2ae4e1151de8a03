/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vmm_uffd.h: a page whose first touch waits on a userfaultfd, for tests
 * that must hold a call in the middle (vmm_batch_test, vmm_fault_test).
 */
#ifndef VMM_UFFD_H
#define VMM_UFFD_H

#include <poll.h>
#include <linux/userfaultfd.h>

#include "vmm_util.h"

/*
 * A userfaultfd with one page at *@area registered for missing faults,
 * which hold whoever touches the page until the test supplies it
 * (UFFDIO_ZEROPAGE).  The page is unlocked and dropped first, so that it
 * is missing even under mlockall(MCL_FUTURE).  Return: the userfaultfd,
 * or -errno.
 */
static __attribute__((unused, noinline)) int vmm_uffd_page(void **area,
							   size_t pg)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg = { .mode = UFFDIO_REGISTER_MODE_MISSING };
	int fd, err;

	fd = syscall(__NR_userfaultfd, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	*area = mmap(NULL, pg, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (*area == MAP_FAILED) {
		err = errno;
		close(fd);
		return -err;
	}
	reg.range = (struct uffdio_range){ (uintptr_t)*area, pg };
	if (munlock(*area, pg) || madvise(*area, pg, MADV_DONTNEED) ||
	    ioctl(fd, UFFDIO_API, &api) || ioctl(fd, UFFDIO_REGISTER, &reg)) {
		err = errno;
		munmap(*area, pg);
		close(fd);
		return -err;
	}
	return fd;
}

/* 0 once a missing-page fault waits on @uffd, -1 if none came in 10 s. */
static inline int vmm_uffd_wait_fault(int uffd)
{
	struct pollfd pfd = { .fd = uffd, .events = POLLIN };
	struct uffd_msg msg;

	if (poll(&pfd, 1, 10000) != 1 ||
	    read(uffd, &msg, sizeof(msg)) != (ssize_t)sizeof(msg) ||
	    msg.event != UFFD_EVENT_PAGEFAULT)
		return -1;
	return 0;
}

/* Supply the page at @area: whoever waits on it goes on. */
static inline int vmm_uffd_zero(int uffd, void *area, size_t pg)
{
	struct uffdio_zeropage zero = {
		.range = { (uintptr_t)area, pg },
	};

	return ioctl(uffd, UFFDIO_ZEROPAGE, &zero);
}

#endif
