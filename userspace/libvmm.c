// SPDX-License-Identifier: GPL-2.0
/*
 * libvmm: thin C wrappers around the /dev/vmm ioctls.  See libvmm.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "libvmm.h"

/* ioctl(2) returning 0 or -errno; EINTR is the caller's business. */
static int vmm_ioctl(int fd, unsigned long cmd, void *arg)
{
	if (ioctl(fd, cmd, arg) < 0)
		return errno ? -errno : -EIO;
	return 0;
}

int vmm_open(const char *path)
{
	int fd = open(path ? path : VMM_DEVICE_PATH, O_RDWR | O_CLOEXEC);
	int high, err;

	if (fd < 0)
		return errno ? -errno : -EIO;
	if (fd > STDERR_FILENO)
		return fd;
	/* A standard stream was closed: keep the device out of its place. */
	high = fcntl(fd, F_DUPFD_CLOEXEC, STDERR_FILENO + 1);
	err = errno;
	close(fd);
	if (high >= 0)
		return high;
	/* EINVAL: the limit on descriptors leaves none above 2. */
	return err == EINVAL ? -EMFILE : err ? -err : -EIO;
}

int vmm_close(int fd)
{
	if (close(fd) < 0)
		return errno ? -errno : -EIO;
	return 0;
}

/* ALLOC as asked; the results go to @id and @offset if set. */
static int vmm_alloc_raw(int fd, __u64 size, __u64 align, __u32 flags,
			 __u32 mode, __u64 *id, __u64 *offset)
{
	struct vmm_alloc_args a;
	int ret;

	memset(&a, 0, sizeof(a));
	a.size = size;
	a.align = align;
	a.flags = flags;
	a.mode = mode;
	ret = vmm_ioctl(fd, VMM_IOC_ALLOC, &a);
	if (ret)
		return ret;
	if (id)
		*id = a.id;
	if (offset)
		*offset = a.offset;
	return 0;
}

int vmm_alloc_flags(int fd, __u64 size, __u64 align, __u32 flags, __u64 *id,
		    __u64 *offset)
{
	/* Without a mode the kernel would make the block 0000. */
	if (flags & VMM_ALLOC_MODE)
		return -EINVAL;
	return vmm_alloc_raw(fd, size, align, flags, 0, id, offset);
}

int vmm_alloc_mode(int fd, __u64 size, __u64 align, __u32 flags, __u32 mode,
		   __u64 *id, __u64 *offset)
{
	return vmm_alloc_raw(fd, size, align, flags | VMM_ALLOC_MODE, mode, id,
			     offset);
}

int vmm_alloc(int fd, __u64 size, __u64 align, __u64 *id, __u64 *offset)
{
	return vmm_alloc_flags(fd, size, align, 0, id, offset);
}

int vmm_free(int fd, __u64 id)
{
	struct vmm_free_args a;

	memset(&a, 0, sizeof(a));
	a.id = id;
	return vmm_ioctl(fd, VMM_IOC_FREE, &a);
}

int vmm_defrag_step(int fd, __u64 budget, __u32 flags, __u64 *bytes_moved,
		    __u64 *blocks_moved, int *compact)
{
	struct vmm_defrag_args a;
	int ret;

	memset(&a, 0, sizeof(a));
	a.budget = budget;
	a.flags = flags;
	ret = vmm_ioctl(fd, VMM_IOC_DEFRAG, &a);
	if (ret)
		return ret;
	if (bytes_moved)
		*bytes_moved = a.bytes_moved;
	if (blocks_moved)
		*blocks_moved = a.blocks_moved;
	if (compact)
		*compact = !!a.compact;
	return 0;
}

int vmm_defrag(int fd, __u64 *bytes_moved, __u64 *blocks_moved)
{
	return vmm_defrag_step(fd, 0, 0, bytes_moved, blocks_moved, NULL);
}

int vmm_info(int fd, __u64 id, __u64 *offset, __u64 *size)
{
	struct vmm_info_args a;
	int ret;

	memset(&a, 0, sizeof(a));
	a.id = id;
	ret = vmm_ioctl(fd, VMM_IOC_INFO, &a);
	if (ret)
		return ret;
	if (offset)
		*offset = a.offset;
	if (size)
		*size = a.size;
	return 0;
}

int vmm_info_full(int fd, __u64 id, struct vmm_info_args *out)
{
	memset(out, 0, sizeof(*out));
	out->id = id;
	return vmm_ioctl(fd, VMM_IOC_INFO, out);
}

int vmm_chmod(int fd, __u64 id, __u32 mode)
{
	struct vmm_chmod_args a;

	memset(&a, 0, sizeof(a));
	a.id = id;
	a.mode = mode;
	return vmm_ioctl(fd, VMM_IOC_CHMOD, &a);
}

int vmm_chown(int fd, __u64 id, __u32 uid, __u32 gid)
{
	struct vmm_chown_args a;

	memset(&a, 0, sizeof(a));
	a.id = id;
	a.uid = uid;
	a.gid = gid;
	return vmm_ioctl(fd, VMM_IOC_CHOWN, &a);
}

int vmm_usage(int fd, __u32 start_uid, struct vmm_user_usage *entries,
	      __u32 capacity, __u32 *count, __u32 *next_uid)
{
	struct vmm_usage_args a;
	int ret;

	memset(&a, 0, sizeof(a));
	a.buffer = (__u64)(uintptr_t)entries;
	a.capacity = capacity;
	a.start_uid = start_uid;
	ret = vmm_ioctl(fd, VMM_IOC_USAGE, &a);
	if (ret)
		return ret;
	/* Never trust a count that would overrun the caller's array. */
	if (a.count > capacity)
		return -EIO;
	*count = a.count;
	if (next_uid)
		*next_uid = a.next_uid;
	return 0;
}

int vmm_stats(int fd, struct vmm_stats_args *st)
{
	memset(st, 0, sizeof(*st));
	return vmm_ioctl(fd, VMM_IOC_STATS, st);
}

int vmm_select(int fd, __u64 id)
{
	struct vmm_select_args a;

	memset(&a, 0, sizeof(a));
	a.id = id;
	return vmm_ioctl(fd, VMM_IOC_SELECT, &a);
}

int vmm_map_selected(int fd, __u64 offset, size_t length, int prot, void **addr)
{
	void *p;

	/* off_t is 64 bits (the Makefile asks for it); no more can be passed. */
	if (offset > (__u64)INT64_MAX || (__u64)(off_t)offset != offset)
		return -EOVERFLOW;
	p = mmap(NULL, length, prot, MAP_SHARED, fd, (off_t)offset);
	if (p == MAP_FAILED)
		return errno ? -errno : -EIO;
	*addr = p;
	return 0;
}

/*
 * A new open file of @fd's device: the selection vmm_map() makes on it is
 * its own, so @fd's selection and other threads' maps are not disturbed.
 */
static int vmm_reopen(int fd, int prot)
{
	int flags = ((prot & PROT_WRITE) ? O_RDWR : O_RDONLY) | O_CLOEXEC;
	char path[40];
	int nfd;

	if (fd < 0 || fcntl(fd, F_GETFD) < 0)
		return -EBADF;
	/*
	 * The calling thread's descriptors: /proc/self is the thread group
	 * leader's, gone if it has exited, and another table after
	 * unshare(CLONE_FILES).  /proc/self where thread-self is missing.
	 */
	snprintf(path, sizeof(path), "/proc/thread-self/fd/%d", fd);
	nfd = open(path, flags);
	if (nfd < 0 && errno == ENOENT) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		nfd = open(path, flags);
	}
	if (nfd >= 0)
		return nfd;
	/* @fd is open, so a missing link means /proc is not mounted. */
	if (errno == ENOENT)
		return -ENOSYS;
	return errno ? -errno : -EIO;
}

int vmm_map(int fd, __u64 id, __u64 offset, size_t length, int prot,
	    void **addr)
{
	int pfd, ret;

	pfd = vmm_reopen(fd, prot);
	if (pfd < 0)
		return pfd;
	ret = vmm_select(pfd, id);
	if (!ret)
		ret = vmm_map_selected(pfd, offset, length, prot, addr);
	/* The mapping holds the file; closing our descriptor ends nothing. */
	close(pfd);
	return ret;
}

int vmm_unmap(void *addr, size_t length)
{
	if (munmap(addr, length) < 0)
		return errno ? -errno : -EIO;
	return 0;
}

static int vmm_rw(int fd, unsigned long cmd, __u64 id, __u64 offset,
		  const void *buf, __u64 length)
{
	struct vmm_rw_args a;

	memset(&a, 0, sizeof(a));
	a.id = id;
	a.offset = offset;
	a.length = length;
	a.buffer = (__u64)(uintptr_t)buf;
	return vmm_ioctl(fd, cmd, &a);
}

int vmm_read(int fd, __u64 id, __u64 offset, void *buf, __u64 length)
{
	return vmm_rw(fd, VMM_IOC_READ, id, offset, buf, length);
}

int vmm_write(int fd, __u64 id, __u64 offset, const void *buf, __u64 length)
{
	return vmm_rw(fd, VMM_IOC_WRITE, id, offset, buf, length);
}

/* The bytes of an entry's union that its op's own struct uses. */
static size_t vmm_batch_used(__u32 op, unsigned long *cmd)
{
	switch (op) {
	case VMM_BATCH_ALLOC:
		*cmd = VMM_IOC_ALLOC;
		return sizeof(struct vmm_alloc_args);
	case VMM_BATCH_FREE:
		*cmd = VMM_IOC_FREE;
		return sizeof(struct vmm_free_args);
	case VMM_BATCH_READ:
		*cmd = VMM_IOC_READ;
		return sizeof(struct vmm_rw_args);
	case VMM_BATCH_WRITE:
		*cmd = VMM_IOC_WRITE;
		return sizeof(struct vmm_rw_args);
	case VMM_BATCH_INFO:
		*cmd = VMM_IOC_INFO;
		return sizeof(struct vmm_info_args);
	}
	return 0;
}

/*
 * One entry by its single ioctl, checked as the kernel checks it; sets
 * *@reached when the command reached @fd.
 */
static int vmm_batch_one(int fd, struct vmm_batch_entry *e, bool *reached)
{
	const unsigned char *raw = (const unsigned char *)e->raw;
	unsigned long cmd = 0;
	size_t used = vmm_batch_used(e->op, &cmd), i;

	if (!used)
		return -EINVAL;
	for (i = used; i < sizeof(e->raw); i++)
		if (raw[i])
			return -EINVAL;
	*reached = true;
	return vmm_ioctl(fd, cmd, e->raw);
}

/*
 * Whether @fd knows vmm's commands: vmm refuses an INFO of ID 0 with an
 * error of its own, where anything else knows no such command.
 */
static bool vmm_knows_commands(int fd)
{
	struct vmm_info_args a;

	memset(&a, 0, sizeof(a));
	return vmm_ioctl(fd, VMM_IOC_INFO, &a) != -ENOTTY;
}

/* VMM_IOC_BATCH by single ioctls, for a kernel that does not know it. */
static int vmm_batch_emulate(int fd, struct vmm_batch_entry *entries,
			     unsigned int count, unsigned int flags,
			     unsigned int *done, unsigned int *failed)
{
	unsigned int i, nfailed = 0;
	bool reached = false;

	if (!count || count > VMM_BATCH_MAX || (flags & ~VMM_BATCH_CONTINUE))
		return -EINVAL;
	for (i = 0; i < count; i++) {
		struct vmm_batch_entry *e = &entries[i];

		e->result = vmm_batch_one(fd, e, &reached);
		/*
		 * Not a vmm device at all: it knows no single command either
		 * (vmm knows them all, and an entry refused here reached none).
		 */
		if (e->result == -ENOTTY)
			return -ENOTTY;
		if (e->result) {
			nfailed++;
			if (!(flags & VMM_BATCH_CONTINUE)) {
				i++;
				break;
			}
		}
	}
	/* The library refused every entry that ran: is @fd a vmm at all? */
	if (!reached && !vmm_knows_commands(fd))
		return -ENOTTY;
	if (done)
		*done = i;
	if (failed)
		*failed = nfailed;
	return 0;
}

int vmm_batch(int fd, struct vmm_batch_entry *entries, unsigned int count,
	      unsigned int flags, unsigned int *done, unsigned int *failed)
{
	struct vmm_batch_args a;
	int ret;

	memset(&a, 0, sizeof(a));
	a.entries = (__u64)(uintptr_t)entries;
	a.count = count;
	a.flags = flags;
	ret = vmm_ioctl(fd, VMM_IOC_BATCH, &a);
	if (ret == -ENOTTY)
		return vmm_batch_emulate(fd, entries, count, flags, done,
					 failed);
	if (ret)
		return ret;
	/* Never trust counts that would send the caller past its array. */
	if (a.done > count || a.failed > a.done)
		return -EIO;
	if (done)
		*done = a.done;
	if (failed)
		*failed = a.failed;
	return 0;
}

void vmm_batch_alloc(struct vmm_batch_entry *e, __u64 size, __u64 align,
		     __u32 flags)
{
	memset(e, 0, sizeof(*e));
	e->op = VMM_BATCH_ALLOC;
	e->alloc.size = size;
	e->alloc.align = align;
	e->alloc.flags = flags & ~VMM_ALLOC_MODE;
}

void vmm_batch_alloc_mode(struct vmm_batch_entry *e, __u64 size, __u64 align,
			  __u32 flags, __u32 mode)
{
	vmm_batch_alloc(e, size, align, flags);
	e->alloc.flags |= VMM_ALLOC_MODE;
	e->alloc.mode = mode;
}

void vmm_batch_free(struct vmm_batch_entry *e, __u64 id)
{
	memset(e, 0, sizeof(*e));
	e->op = VMM_BATCH_FREE;
	e->free.id = id;
}

static void vmm_batch_rw(struct vmm_batch_entry *e, __u32 op, __u64 id,
			 __u64 offset, const void *buf, __u64 length)
{
	memset(e, 0, sizeof(*e));
	e->op = op;
	e->rw.id = id;
	e->rw.offset = offset;
	e->rw.length = length;
	e->rw.buffer = (__u64)(uintptr_t)buf;
}

void vmm_batch_read(struct vmm_batch_entry *e, __u64 id, __u64 offset,
		    void *buf, __u64 length)
{
	vmm_batch_rw(e, VMM_BATCH_READ, id, offset, buf, length);
}

void vmm_batch_write(struct vmm_batch_entry *e, __u64 id, __u64 offset,
		     const void *buf, __u64 length)
{
	vmm_batch_rw(e, VMM_BATCH_WRITE, id, offset, buf, length);
}

void vmm_batch_info(struct vmm_batch_entry *e, __u64 id)
{
	memset(e, 0, sizeof(*e));
	e->op = VMM_BATCH_INFO;
	e->info.id = id;
}

int vmm_list(int fd, __u64 start_id, struct vmm_block_info *entries,
	     __u32 capacity, __u32 *count, __u64 *next_id)
{
	struct vmm_list_args a;
	int ret;

	memset(&a, 0, sizeof(a));
	a.buffer = (__u64)(uintptr_t)entries;
	a.capacity = capacity;
	a.start_id = start_id;
	ret = vmm_ioctl(fd, VMM_IOC_LIST, &a);
	if (ret)
		return ret;
	/* Never trust a count that would overrun the caller's array. */
	if (a.count > capacity)
		return -EIO;
	*count = a.count;
	if (next_id)
		*next_id = a.next_id;
	return 0;
}

void vmm_list_iter_init(struct vmm_list_iter *it, int fd)
{
	memset(it, 0, sizeof(*it));
	it->fd = fd;
	it->next_id = 1;
}

int vmm_list_iter_next(struct vmm_list_iter *it, struct vmm_block_info *out)
{
	while (it->pos >= it->count) {
		__u64 start = it->next_id, next;
		__u32 count;
		int ret;

		if (it->started && start == 0)
			return 0;
		ret = vmm_list(it->fd, start, it->page, VMM_LIST_ITER_PAGE,
			       &count, &next);
		if (ret)
			return ret;
		/*
		 * A kernel that does not advance would loop forever.  Like
		 * any failure, this one leaves the walk where it was.
		 */
		if (next && next <= start)
			return -EIO;
		it->count = count;
		it->next_id = next;
		it->started = 1;
		it->pos = 0;
	}
	*out = it->page[it->pos++];
	return 1;
}

int vmm_list_all(int fd, struct vmm_block_info **entries, size_t *count)
{
	struct vmm_list_iter *it;
	struct vmm_block_info b, *v = NULL;
	size_t n = 0, cap = 0;
	int ret;

	*entries = NULL;
	*count = 0;
	it = malloc(sizeof(*it));
	if (!it)
		return -ENOMEM;
	vmm_list_iter_init(it, fd);
	while ((ret = vmm_list_iter_next(it, &b)) > 0) {
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : VMM_LIST_ITER_PAGE;
			struct vmm_block_info *nv;

			nv = reallocarray(v, ncap, sizeof(*v));
			if (!nv) {
				ret = -ENOMEM;
				break;
			}
			v = nv;
			cap = ncap;
		}
		v[n++] = b;
	}
	free(it);
	if (ret < 0) {
		free(v);
		return ret;
	}
	*entries = v;
	*count = n;
	return 0;
}

int vmm_module_version(char *buf, size_t len)
{
	ssize_t n;
	int fd, err;

	if (len < 1)
		return -EINVAL;
	fd = open(VMM_SYSFS_VERSION, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno ? -errno : -EIO;
	n = read(fd, buf, len);
	err = errno;
	close(fd);
	if (n < 0)
		return err ? -err : -EIO;
	/* A full buffer is a truncated version unless it ends the line. */
	if ((size_t)n == len && buf[n - 1] != '\n')
		return -ENAMETOOLONG;
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		n--;
	buf[n] = '\0';
	return 0;
}
