// SPDX-License-Identifier: GPL-2.0
/*
 * vmm_perm_test: block owners and modes, per-uid quotas, descriptor-scoped
 * blocks, user namespaces and data isolation.
 *
 * The program runs as root.  Each test opens /dev/vmm as root and then
 * forks children that drop to unprivileged ids (setgroups, setresgid,
 * setresuid) and act through the inherited descriptor, which stays
 * usable: the module checks the caller of each call, not the opener.  A
 * child reports its result (0 or an errno, a value, some bytes) through a
 * pipe; the parent asserts.
 *
 * The ids:
 *   OWNER  uid 1000, gid 1000, also in group 1003
 *   GROUP  uid 1001, gid 1001, also in group 1000 (the owner's group)
 *   OTHER  uid 1002, gid 1002
 *   ROOT   uid 0 with CAP_SYS_ADMIN (no drop)
 */
#define _GNU_SOURCE
#include <grp.h>
#include <sched.h>
#include <sys/fsuid.h>
#include <sys/prctl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "vmm_util.h"

#define ARENA_STR	"16M"
#define QUOTA_DIR	"/sys/module/vmm/parameters/"

enum who { ROOT, OWNER, GROUP, OTHER };

static const struct ids {
	uid_t uid;
	gid_t gid;
	gid_t groups[2];
	int ngroups;
} ids[] = {
	[ROOT] = { 0, 0, { 0 }, 0 },
	[OWNER] = { 1000, 1000, { 1000, 1003 }, 2 },
	[GROUP] = { 1001, 1001, { 1001, 1000 }, 2 },
	[OTHER] = { 1002, 1002, { 1002 }, 1 },
};

/* What a child sends back. */
struct result {
	int err;		/* 0, or the errno of the failed call */
	__u64 val;
	__u64 val2;
	unsigned char data[64];
};

typedef void (*child_fn)(int fd, void *arg, struct result *res);

/* Become @w for good: groups, then gids, then uids. */
static int drop_to(enum who w)
{
	const struct ids *i = &ids[w];

	if (w == ROOT)
		return 0;
	/*
	 * Dumpable again after the switch, so that /proc/self stays the
	 * task's own (the user namespace test writes its maps there).
	 */
	if (setgroups(i->ngroups, i->groups) ||
	    setresgid(i->gid, i->gid, i->gid) ||
	    setresuid(i->uid, i->uid, i->uid) ||
	    prctl(PR_SET_DUMPABLE, 1, 0, 0, 0))
		return -1;
	return geteuid() == i->uid ? 0 : -1;
}

/*
 * Run @fn as @w in a child that shares @fd; its result in *@res.  Returns
 * 0, or -1 if the child could not be run or drop its privileges.
 */
static int as_user(enum who w, int fd, child_fn fn, void *arg,
		   struct result *res)
{
	int p[2], status;
	ssize_t n;
	pid_t pid;

	memset(res, 0, sizeof(*res));
	if (pipe(p))
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (!pid) {
		struct result r = { 0 };

		close(p[0]);
		if (drop_to(w))
			_exit(2);
		fn(fd, arg, &r);
		if (write(p[1], &r, sizeof(r)) != sizeof(r))
			_exit(3);
		_exit(0);
	}
	close(p[1]);
	n = read(p[0], res, sizeof(*res));
	close(p[0]);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status) || n != sizeof(*res))
		return -1;
	return 0;
}

/*
 * The errno of a failed call (ret -1), 0 for success, or -1 for any other
 * return value, which no expected errno matches.
 */
static int err_of(int ret)
{
	return ret == -1 ? errno : ret ? -1 : 0;
}

static void do_alloc_mode(int fd, void *arg, struct result *res)
{
	struct vmm_alloc_args a = { .size = 64, .flags = VMM_ALLOC_MODE };

	a.mode = *(__u32 *)arg;
	res->err = err_of(ioctl(fd, VMM_IOC_ALLOC, &a));
	res->val = a.id;
}

static void do_alloc_size(int fd, void *arg, struct result *res)
{
	__u64 id = 0;

	res->err = err_of(vmm_alloc(fd, *(__u64 *)arg, 0, &id, NULL));
	res->val = id;
}

static void do_alloc_compact(int fd, void *arg, struct result *res)
{
	struct vmm_alloc_args a = { .flags = VMM_ALLOC_COMPACT };

	a.size = *(__u64 *)arg;
	res->err = err_of(ioctl(fd, VMM_IOC_ALLOC, &a));
	res->val = a.id;
}

static void do_free(int fd, void *arg, struct result *res)
{
	res->err = err_of(vmm_free(fd, *(__u64 *)arg));
}

static void do_read(int fd, void *arg, struct result *res)
{
	memset(res->data, 0xee, sizeof(res->data));
	res->err = err_of(vmm_read(fd, *(__u64 *)arg, 0, res->data, 16));
}

static void do_write(int fd, void *arg, struct result *res)
{
	res->err = err_of(vmm_write(fd, *(__u64 *)arg, 0, "child-wrote-this", 16));
}

static void do_info(int fd, void *arg, struct result *res)
{
	struct vmm_info_args a = { .id = *(__u64 *)arg };

	res->err = err_of(ioctl(fd, VMM_IOC_INFO, &a));
	res->val = a.uid;
	res->val2 = a.gid;
}

static void do_select(int fd, void *arg, struct result *res)
{
	res->err = err_of(vmm_select(fd, *(__u64 *)arg));
}

static void do_pread(int fd, void *arg, struct result *res)
{
	ssize_t n;

	(void)arg;
	memset(res->data, 0xee, sizeof(res->data));
	n = pread(fd, res->data, 16, 0);
	res->err = n < 0 ? errno : 0;
	res->val = (__u64)n;
}

static void do_pwrite(int fd, void *arg, struct result *res)
{
	ssize_t n;

	(void)arg;
	n = pwrite(fd, "child-wrote-this", 16, 0);
	res->err = n < 0 ? errno : 0;
	res->val = (__u64)n;
}

/* lseek(2) to 5 on the shared file, whose block root selected. */
static void do_lseek(int fd, void *arg, struct result *res)
{
	off_t o;

	(void)arg;
	o = lseek(fd, 5, SEEK_SET);
	res->err = o < 0 ? errno : 0;
	res->val = (__u64)o;
}

/* Take every permission away, as the owner. */
static void do_chmod_0(int fd, void *arg, struct result *res)
{
	struct vmm_chmod_args a = { .id = *(__u64 *)arg, .mode = 0 };

	res->err = err_of(ioctl(fd, VMM_IOC_CHMOD, &a));
}

static void do_chmod(int fd, void *arg, struct result *res)
{
	struct vmm_chmod_args a = { .id = *(__u64 *)arg, .mode = 0606 };

	res->err = err_of(ioctl(fd, VMM_IOC_CHMOD, &a));
}

/* Change the group only, to 1003, one of the owner's groups. */
static void do_chgrp(int fd, void *arg, struct result *res)
{
	struct vmm_chown_args a = {
		.id = *(__u64 *)arg, .uid = VMM_ID_UNCHANGED, .gid = 1003,
	};

	res->err = err_of(ioctl(fd, VMM_IOC_CHOWN, &a));
}

/* arg: { id, uid, gid } */
static void do_chown(int fd, void *arg, struct result *res)
{
	const __u64 *v = arg;
	struct vmm_chown_args a = {
		.id = v[0], .uid = (__u32)v[1], .gid = (__u32)v[2],
	};

	res->err = err_of(ioctl(fd, VMM_IOC_CHOWN, &a));
}

static void do_usage(int fd, void *arg, struct result *res)
{
	struct vmm_user_usage u[4];
	struct vmm_usage_args a = {
		.buffer = (__u64)(uintptr_t)u, .capacity = 4,
	};

	(void)arg;
	res->err = err_of(ioctl(fd, VMM_IOC_USAGE, &a));
}

/* arg: budget */
static void do_defrag(int fd, void *arg, struct result *res)
{
	struct vmm_defrag_args a = { .budget = *(__u64 *)arg };

	res->err = err_of(ioctl(fd, VMM_IOC_DEFRAG, &a));
	res->val = a.bytes_moved;
	res->val2 = a.compact;
}

/* Run @fn as @w, asserting that the child ran; evaluates to its errno. */
#define AS(w, fn, arg, res) ({ \
	ASSERT_EQ(0, as_user((w), self->fd, (fn), (arg), (res))) \
		TH_LOG("child as %d did not run or drop privileges", (w)); \
	(res)->err; \
})

static struct vmm_info_args info_of(int fd, __u64 id)
{
	struct vmm_info_args a = { .id = id };

	if (ioctl(fd, VMM_IOC_INFO, &a))
		a.id = 0;
	return a;
}

/* Set a run-time parameter: 0, or -1 with errno. */
static int write_param(const char *name, unsigned long long v)
{
	char path[128], text[32];
	int fd, len, err;
	ssize_t n;

	snprintf(path, sizeof(path), QUOTA_DIR "%s", name);
	len = snprintf(text, sizeof(text), "%llu\n", v);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = write(fd, text, len);
	err = n < 0 ? errno : EIO;
	close(fd);
	if (n == len)
		return 0;
	errno = err;
	return -1;
}

/*
 * The cases share one load (VMM_SETUP_SHARED) and put back only the
 * quotas, the one run-time setting they change: a case that did not get
 * to its teardown must not leave one for the next.
 */
#define SETUP_SHARED_ARENA(fdp) do { \
	VMM_SETUP_SHARED(ARENA_STR, (fdp)); \
	ASSERT_OK(write_param("max_blocks_per_uid", 0)); \
	ASSERT_OK(write_param("max_bytes_per_uid", 0)); \
} while (0)

/* ---- the matrix: who x what, one errno each */

enum op {
	OP_READ, OP_WRITE, OP_FREE, OP_CHMOD, OP_CHOWN, OP_INFO, OP_SELECT,
	OP_PREAD, OP_PWRITE, OP_LSEEK,
};

FIXTURE(matrix) {
	int fd;
	__u64 id;
};

FIXTURE_VARIANT(matrix) {
	enum who who;
	enum op op;
	__u32 mode;
	int err;
};

#define CELL(name, w, o, m, e) \
	FIXTURE_VARIANT_ADD(matrix, name) { \
		.who = (w), .op = (o), .mode = (m), .err = (e), \
	}

/* Mode 0640: the owner reads and writes, the group reads, others nothing. */
CELL(owner_read, OWNER, OP_READ, 0640, 0);
CELL(owner_write, OWNER, OP_WRITE, 0640, 0);
CELL(owner_free, OWNER, OP_FREE, 0640, 0);
CELL(owner_chmod, OWNER, OP_CHMOD, 0640, 0);
CELL(owner_chown, OWNER, OP_CHOWN, 0640, 0);
CELL(owner_info, OWNER, OP_INFO, 0640, 0);
CELL(owner_select, OWNER, OP_SELECT, 0640, 0);
CELL(owner_pread, OWNER, OP_PREAD, 0640, 0);
CELL(owner_pwrite, OWNER, OP_PWRITE, 0640, 0);
CELL(owner_lseek, OWNER, OP_LSEEK, 0640, 0);
CELL(group_read, GROUP, OP_READ, 0640, 0);
CELL(group_write, GROUP, OP_WRITE, 0640, EACCES);
CELL(group_free, GROUP, OP_FREE, 0640, EACCES);
CELL(group_chmod, GROUP, OP_CHMOD, 0640, EPERM);
CELL(group_chown, GROUP, OP_CHOWN, 0640, EPERM);
CELL(group_info, GROUP, OP_INFO, 0640, 0);
CELL(group_select, GROUP, OP_SELECT, 0640, 0);
CELL(group_pread, GROUP, OP_PREAD, 0640, 0);
CELL(group_pwrite, GROUP, OP_PWRITE, 0640, EACCES);
CELL(group_lseek, GROUP, OP_LSEEK, 0640, 0);
CELL(other_read, OTHER, OP_READ, 0640, EACCES);
CELL(other_write, OTHER, OP_WRITE, 0640, EACCES);
CELL(other_free, OTHER, OP_FREE, 0640, EACCES);
CELL(other_chmod, OTHER, OP_CHMOD, 0640, EPERM);
CELL(other_chown, OTHER, OP_CHOWN, 0640, EPERM);
CELL(other_info, OTHER, OP_INFO, 0640, EACCES);
CELL(other_select, OTHER, OP_SELECT, 0640, EACCES);
CELL(other_pread, OTHER, OP_PREAD, 0640, EACCES);
CELL(other_pwrite, OTHER, OP_PWRITE, 0640, EACCES);
CELL(other_lseek, OTHER, OP_LSEEK, 0640, EACCES);
CELL(root_read, ROOT, OP_READ, 0000, 0);
CELL(root_write, ROOT, OP_WRITE, 0000, 0);
CELL(root_free, ROOT, OP_FREE, 0000, 0);
CELL(root_chmod, ROOT, OP_CHMOD, 0000, 0);
CELL(root_chown, ROOT, OP_CHOWN, 0000, 0);
CELL(root_info, ROOT, OP_INFO, 0000, 0);
CELL(root_pread, ROOT, OP_PREAD, 0000, 0);
CELL(root_pwrite, ROOT, OP_PWRITE, 0000, 0);
CELL(root_lseek, ROOT, OP_LSEEK, 0000, 0);
/* One class only, as for files: the group bits bind a member. */
CELL(group_read_denied_though_other_may, GROUP, OP_READ, 0604, EACCES);
CELL(other_read_with_other_r, OTHER, OP_READ, 0604, 0);
CELL(other_write_with_other_w, OTHER, OP_WRITE, 0602, 0);
CELL(other_read_denied_with_other_w_only, OTHER, OP_READ, 0602, EACCES);
CELL(other_info_with_other_w_only, OTHER, OP_INFO, 0602, 0);
CELL(other_lseek_with_other_w_only, OTHER, OP_LSEEK, 0602, 0);
CELL(owner_read_denied_by_owner_bits, OWNER, OP_READ, 0066, EACCES);
CELL(owner_pwrite_denied_by_owner_bits, OWNER, OP_PWRITE, 0466, EACCES);
/* Freeing and chmod need ownership, not bits. */
CELL(owner_free_mode_0, OWNER, OP_FREE, 0000, 0);
CELL(owner_chmod_mode_0, OWNER, OP_CHMOD, 0000, 0);
CELL(other_free_mode_0777, OTHER, OP_FREE, 0777, EACCES);
CELL(other_chmod_mode_0777, OTHER, OP_CHMOD, 0777, EPERM);

FIXTURE_SETUP(matrix)
{
	struct result res;
	__u32 mode = variant->mode;

	self->fd = -1;
	SETUP_SHARED_ARENA(&self->fd);
	/* The owner allocates; root (no check) stores known bytes. */
	ASSERT_EQ(0, AS(OWNER, do_alloc_mode, &mode, &res));
	self->id = res.val;
	ASSERT_OK(vmm_write(self->fd, self->id, 0, "0123456789abcdef", 16));
	/* For read(2)/write(2): root selects, the child uses the file. */
	ASSERT_OK(vmm_select(self->fd, self->id));
}

FIXTURE_TEARDOWN(matrix)
{
	VMM_TEARDOWN_SHARED();
	if (self->fd >= 0)
		close(self->fd);
}

static const child_fn op_fns[] = {
	[OP_READ] = do_read, [OP_WRITE] = do_write, [OP_FREE] = do_free,
	[OP_CHMOD] = do_chmod, [OP_CHOWN] = do_chgrp, [OP_INFO] = do_info,
	[OP_SELECT] = do_select, [OP_PREAD] = do_pread,
	[OP_PWRITE] = do_pwrite, [OP_LSEEK] = do_lseek,
};

TEST_F(matrix, check_access)
{
	struct vmm_info_args after;
	unsigned char buf[16];
	bool selector_r_only;
	struct result res;
	ssize_t n;
	int err;

	err = AS(variant->who, op_fns[variant->op], &self->id, &res);
	ASSERT_EQ(variant->err, err) TH_LOG("errno %d (%s)", err,
					     strerror(err));

	after = info_of(self->fd, self->id);
	/* The effect, or its absence, as root sees it. */
	switch (variant->op) {
	case OP_READ:
	case OP_PREAD:
		if (!err) {
			EXPECT_EQ(0, memcmp(res.data, "0123456789abcdef", 16));
		} else {
			EXPECT_TRUE(vmm_all(res.data, 16, 0xee));
		}
		break;
	case OP_WRITE:
	case OP_PWRITE:
		ASSERT_OK(vmm_read(self->fd, self->id, 0, buf, 16));
		EXPECT_EQ(0, memcmp(buf, err ? "0123456789abcdef" :
					  "child-wrote-this", 16));
		break;
	case OP_FREE:
		EXPECT_EQ(err ? self->id : 0ULL, after.id);
		break;
	case OP_CHMOD:
		EXPECT_EQ(err ? variant->mode : 0606U, after.mode);
		break;
	case OP_CHOWN:
		EXPECT_EQ(1000U, after.uid);
		EXPECT_EQ(err ? 1000U : 1003U, after.gid);
		break;
	case OP_INFO:
		if (!err) {
			EXPECT_EQ(1000ULL, res.val);
			EXPECT_EQ(1000ULL, res.val2);
		}
		break;
	case OP_LSEEK:
		EXPECT_EQ(err ? (__u64)-1 : 5ULL, res.val);
		/* The shared file's position, as root sees it. */
		EXPECT_EQ(err ? 0 : 5, lseek(self->fd, 0, SEEK_CUR));
		break;
	case OP_SELECT:
		/*
		 * The file's selection is the child's if it succeeded: a
		 * group member's (mode 0640: r, not w) then limits even
		 * root's write(2) through the file; the owner's does not,
		 * and a refused SELECT leaves root's in place.
		 */
		selector_r_only = !err && variant->who == GROUP;
		errno = 0;
		n = pwrite(self->fd, "x", 1, 20);
		EXPECT_EQ(selector_r_only ? -1 : 1, n);
		EXPECT_EQ(selector_r_only ? EACCES : 0, n < 0 ? errno : 0);
		break;
	}
	if (variant->op != OP_FREE || err) {
		EXPECT_EQ(self->id, after.id);
		EXPECT_EQ(64ULL, after.size);
	}
}

/* ---- everything else */

/*
 * The cases share a load, so IDs go on from one case to the next: a case
 * counts its blocks from id0, the last ID handed out before it began
 * (ID(1) is its first block, ID(2) its second, ...).
 */
FIXTURE(perm) {
	int fd;
	__u64 id0;
};

#define ID(n)	(self->id0 + (n))

FIXTURE_SETUP(perm)
{
	self->fd = -1;
	SETUP_SHARED_ARENA(&self->fd);
	ASSERT_EQ(0, vmm_last_id(self->fd, &self->id0));
}

FIXTURE_TEARDOWN(perm)
{
	VMM_TEARDOWN_SHARED();
	write_param("max_blocks_per_uid", 0);
	write_param("max_bytes_per_uid", 0);
	if (self->fd >= 0)
		close(self->fd);
}

TEST_F(perm, open_device_node_mode_is_0660)
{
	struct stat st;

	ASSERT_EQ(0, stat(VMM_DEV, &st));
	EXPECT_TRUE(S_ISCHR(st.st_mode));
	EXPECT_EQ(0660U, st.st_mode & 07777);
}

TEST_F(perm, alloc_records_caller_and_default_mode)
{
	struct vmm_block_info e[2];
	struct vmm_info_args a;
	__u64 size = 100;
	struct result res;
	__u32 count = 0;
	__u64 next = 1;

	ASSERT_EQ(0, AS(OTHER, do_alloc_size, &size, &res));
	ASSERT_EQ(ID(1), res.val);
	a = info_of(self->fd, res.val);
	ASSERT_EQ(res.val, a.id);
	EXPECT_EQ(1002U, a.uid);
	EXPECT_EQ(1002U, a.gid);
	EXPECT_EQ(0600U, a.mode);
	EXPECT_EQ(0U, a.attrs);
	ASSERT_OK(vmm_list(self->fd, 0, e, 2, &count, &next));
	ASSERT_EQ(1U, count);
	EXPECT_EQ(1002U, e[0].uid);
	EXPECT_EQ(1002U, e[0].gid);
	EXPECT_EQ(0600U, e[0].mode);
	EXPECT_EQ(0U, e[0].attrs);
	/* Root's own blocks are root's, 0600. */
	ALLOC_AT(self->fd, 10, 0, ID(2), 100);
	a = info_of(self->fd, ID(2));
	EXPECT_EQ(0U, a.uid);
	EXPECT_EQ(0U, a.gid);
	EXPECT_EQ(0600U, a.mode);
}

TEST_F(perm, alloc_sets_mode)
{
	struct vmm_alloc_args a = {
		.size = 8, .flags = VMM_ALLOC_MODE, .mode = 0751,
	};

	ASSERT_OK(ioctl(self->fd, VMM_IOC_ALLOC, &a));
	EXPECT_EQ(0751U, info_of(self->fd, a.id).mode);
	a.mode = 0;
	ASSERT_OK(ioctl(self->fd, VMM_IOC_ALLOC, &a));
	EXPECT_EQ(0U, info_of(self->fd, a.id).mode);
}

TEST_F(perm, alloc_rejects_mode_above_0777)
{
	static const __u32 bad[] = { 01000, 04600, 0x80000000u, UINT32_MAX };
	__u64 allocs = vmm_sysfs("allocs");
	unsigned int i;

	ASSERT_NE(UINT64_MAX, allocs);
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		struct vmm_alloc_args a = {
			.size = 8, .flags = VMM_ALLOC_MODE, .mode = bad[i],
		};

		EXPECT_ERR(EINVAL, ioctl(self->fd, VMM_IOC_ALLOC, &a));
	}
	EXPECT_EQ(allocs, vmm_sysfs("allocs"));
	EXPECT_EQ(0ULL, vmm_sysfs("blocks"));
}

TEST_F(perm, chmod_changes_mode_for_later_access)
{
	struct result res;
	__u64 id = ID(1);

	ALLOC_AT(self->fd, 16, 0, id, 0);
	EXPECT_EQ(EACCES, AS(OTHER, do_read, &id, &res));
	ASSERT_OK(ioctl(self->fd, VMM_IOC_CHMOD,
			&(struct vmm_chmod_args){ .id = id, .mode = 0604 }));
	EXPECT_EQ(0, AS(OTHER, do_read, &id, &res));
	EXPECT_EQ(EACCES, AS(OTHER, do_write, &id, &res));
	ASSERT_OK(ioctl(self->fd, VMM_IOC_CHMOD,
			&(struct vmm_chmod_args){ .id = id, .mode = 0 }));
	EXPECT_EQ(EACCES, AS(OTHER, do_read, &id, &res));
}

TEST_F(perm, chmod_rejects_bad_mode_flags_reserved_and_unknown_id)
{
	struct vmm_chmod_args a = { .id = ID(1), .mode = 01000 };

	ALLOC_AT(self->fd, 16, 0, ID(1), 0);
	EXPECT_ERR(EINVAL, ioctl(self->fd, VMM_IOC_CHMOD, &a));
	a.mode = UINT32_MAX;
	EXPECT_ERR(EINVAL, ioctl(self->fd, VMM_IOC_CHMOD, &a));
	a = (struct vmm_chmod_args){ .id = ID(1), .mode = 0644, .flags = 1 };
	EXPECT_ERR(EINVAL, ioctl(self->fd, VMM_IOC_CHMOD, &a));
	a = (struct vmm_chmod_args){ .id = ID(1), .mode = 0644 };
	a.reserved[0] = 1;
	EXPECT_ERR(EINVAL, ioctl(self->fd, VMM_IOC_CHMOD, &a));
	a.reserved[0] = 0;
	a.reserved[1] = 1ULL << 63;
	EXPECT_ERR(EINVAL, ioctl(self->fd, VMM_IOC_CHMOD, &a));
	/* The next ID, not handed out yet. */
	a = (struct vmm_chmod_args){ .id = ID(2), .mode = 0644 };
	EXPECT_ERR(ENOENT, ioctl(self->fd, VMM_IOC_CHMOD, &a));
	a.id = 0;
	EXPECT_ERR(ENOENT, ioctl(self->fd, VMM_IOC_CHMOD, &a));
	EXPECT_ERR(EFAULT, ioctl(self->fd, VMM_IOC_CHMOD, vmm_unmapped_addr()));
	/* Nothing changed. */
	EXPECT_EQ(0600U, info_of(self->fd, ID(1)).mode);
}

TEST_F(perm, chown_rejects_flags_pad_reserved_and_unknown_id)
{
	struct vmm_chown_args a = {
		.id = ID(1), .uid = 5, .gid = 5, .flags = 1,
	};

	ALLOC_AT(self->fd, 16, 0, ID(1), 0);
	EXPECT_ERR(EINVAL, ioctl(self->fd, VMM_IOC_CHOWN, &a));
	a = (struct vmm_chown_args){ .id = ID(1), .uid = 5, .gid = 5, .pad = 1 };
	EXPECT_ERR(EINVAL, ioctl(self->fd, VMM_IOC_CHOWN, &a));
	a = (struct vmm_chown_args){ .id = ID(1), .uid = 5, .gid = 5 };
	a.reserved[1] = 1;
	EXPECT_ERR(EINVAL, ioctl(self->fd, VMM_IOC_CHOWN, &a));
	/* An ID not handed out yet. */
	a = (struct vmm_chown_args){ .id = ID(9), .uid = 5, .gid = 5 };
	EXPECT_ERR(ENOENT, ioctl(self->fd, VMM_IOC_CHOWN, &a));
	EXPECT_ERR(EFAULT, ioctl(self->fd, VMM_IOC_CHOWN, vmm_unmapped_addr()));
	EXPECT_EQ(0U, info_of(self->fd, ID(1)).uid);
	EXPECT_EQ(0U, info_of(self->fd, ID(1)).gid);
}

TEST_F(perm, chown_by_root_gives_block_away)
{
	__u64 id = ID(1);
	struct vmm_chown_args a = { .id = id, .uid = 1002,
				    .gid = VMM_ID_UNCHANGED };
	struct result res;

	ALLOC_AT(self->fd, 16, 0, id, 0);
	EXPECT_EQ(EACCES, AS(OTHER, do_free, &id, &res));
	ASSERT_OK(ioctl(self->fd, VMM_IOC_CHOWN, &a));
	EXPECT_EQ(1002U, info_of(self->fd, id).uid);
	EXPECT_EQ(0U, info_of(self->fd, id).gid);
	a = (struct vmm_chown_args){ .id = id, .uid = VMM_ID_UNCHANGED,
				     .gid = 1000 };
	ASSERT_OK(ioctl(self->fd, VMM_IOC_CHOWN, &a));
	EXPECT_EQ(1002U, info_of(self->fd, id).uid);
	EXPECT_EQ(1000U, info_of(self->fd, id).gid);
	/* Now the new owner's: it may free it. */
	EXPECT_EQ(0, AS(OTHER, do_free, &id, &res));
	EXPECT_EQ(0ULL, vmm_sysfs("blocks"));
}

TEST_F(perm, chown_by_owner_only_to_own_groups)
{
	__u32 mode = 0600;
	struct result res;
	__u64 v[3];

	ASSERT_EQ(0, AS(OWNER, do_alloc_mode, &mode, &res));
	v[0] = res.val;
	/* Giving it away, even with the same group: EPERM. */
	v[1] = 1002;
	v[2] = VMM_ID_UNCHANGED;
	EXPECT_EQ(EPERM, AS(OWNER, do_chown, v, &res));
	/* A group the owner is not in: EPERM. */
	v[1] = VMM_ID_UNCHANGED;
	v[2] = 1002;
	EXPECT_EQ(EPERM, AS(OWNER, do_chown, v, &res));
	EXPECT_EQ(1000U, info_of(self->fd, v[0]).gid);
	/* A supplementary group, with its own uid named: fine. */
	v[1] = 1000;
	v[2] = 1003;
	EXPECT_EQ(0, AS(OWNER, do_chown, v, &res));
	EXPECT_EQ(1003U, info_of(self->fd, v[0]).gid);
	/* Both unchanged: nothing to refuse. */
	v[1] = VMM_ID_UNCHANGED;
	v[2] = VMM_ID_UNCHANGED;
	EXPECT_EQ(0, AS(OWNER, do_chown, v, &res));
	/* A group member who is not the owner: EPERM even for its group. */
	v[2] = 1000;
	EXPECT_EQ(EPERM, AS(GROUP, do_chown, v, &res));
	EXPECT_EQ(1000U, info_of(self->fd, v[0]).uid);
	EXPECT_EQ(1003U, info_of(self->fd, v[0]).gid);
}

/* ---- quotas and the usage query */

/* Root's view of @uid's usage: blocks and bytes, 0 if it has no entry. */
static int usage_of(int fd, __u32 uid, __u64 *blocks, __u64 *bytes)
{
	struct vmm_user_usage u[8];
	struct vmm_usage_args a = {
		.buffer = (__u64)(uintptr_t)u, .capacity = 8,
	};
	__u32 i;

	*blocks = 0;
	*bytes = 0;
	if (ioctl(fd, VMM_IOC_USAGE, &a))
		return -1;
	for (i = 0; i < a.count; i++) {
		if (u[i].uid == uid) {
			*blocks = u[i].blocks;
			*bytes = u[i].bytes;
		}
	}
	return 0;
}

TEST_F(perm, alloc_fails_edquot_past_block_quota_and_recovers_after_free)
{
	__u64 size = 10, id1, blocks, bytes;
	struct result res;

	ASSERT_EQ(0, write_param("max_blocks_per_uid", 2));
	EXPECT_EQ(2ULL, vmm_read_u64_file(QUOTA_DIR "max_blocks_per_uid"));
	ASSERT_EQ(0, AS(OWNER, do_alloc_size, &size, &res));
	id1 = res.val;
	EXPECT_EQ(ID(1), id1);
	ASSERT_EQ(0, AS(OWNER, do_alloc_size, &size, &res));
	EXPECT_EQ(ID(2), res.val);
	EXPECT_EQ(EDQUOT, AS(OWNER, do_alloc_size, &size, &res));
	/* Per uid: someone else still may, and a refusal costs no ID. */
	ASSERT_EQ(0, AS(OTHER, do_alloc_size, &size, &res));
	EXPECT_EQ(ID(3), res.val);
	ASSERT_EQ(0, usage_of(self->fd, 1000, &blocks, &bytes));
	EXPECT_EQ(2ULL, blocks);
	EXPECT_EQ(20ULL, bytes);
	ASSERT_EQ(0, AS(OWNER, do_free, &id1, &res));
	ASSERT_EQ(0, usage_of(self->fd, 1000, &blocks, &bytes));
	EXPECT_EQ(1ULL, blocks);
	EXPECT_EQ(10ULL, bytes);
	EXPECT_EQ(0, AS(OWNER, do_alloc_size, &size, &res));
	EXPECT_EQ(ID(4), res.val);
	EXPECT_EQ(EDQUOT, AS(OWNER, do_alloc_size, &size, &res));
	/* 0 is no limit again. */
	ASSERT_EQ(0, write_param("max_blocks_per_uid", 0));
	EXPECT_EQ(0, AS(OWNER, do_alloc_size, &size, &res));
}

TEST_F(perm, alloc_fails_edquot_past_byte_quota_and_recovers_after_free)
{
	__u64 size, id1, blocks, bytes;
	struct result res;

	ASSERT_EQ(0, write_param("max_bytes_per_uid", 4096));
	size = 4097;
	EXPECT_EQ(EDQUOT, AS(OWNER, do_alloc_size, &size, &res));
	size = 4000;
	ASSERT_EQ(0, AS(OWNER, do_alloc_size, &size, &res));
	id1 = res.val;
	size = 97;
	EXPECT_EQ(EDQUOT, AS(OWNER, do_alloc_size, &size, &res));
	size = 96;
	EXPECT_EQ(0, AS(OWNER, do_alloc_size, &size, &res));
	size = 1;
	EXPECT_EQ(EDQUOT, AS(OWNER, do_alloc_size, &size, &res));
	ASSERT_EQ(0, usage_of(self->fd, 1000, &blocks, &bytes));
	EXPECT_EQ(4096ULL, bytes);
	ASSERT_EQ(0, AS(OWNER, do_free, &id1, &res));
	size = 4000;
	EXPECT_EQ(0, AS(OWNER, do_alloc_size, &size, &res));
	/* Root is counted like everyone. */
	EXPECT_ERR(EDQUOT, vmm_alloc(self->fd, 4097, 0, NULL, NULL));
}

/*
 * For the CHOWN quota cases: a block of @mine bytes for uid 1000 (the
 * owner), whose ID this returns, and one of @theirs for uid 1002 (other);
 * with the quota @param at @limit, a CHOWN of the first to uid 1002 is
 * refused with EDQUOT and leaves it the owner's.
 */
static __u64 chown_refused(struct __test_metadata *_metadata,
			   FIXTURE_DATA(perm) *self, __u64 mine, __u64 theirs,
			   const char *param, __u64 limit)
{
	struct vmm_chown_args a = { .uid = 1002, .gid = VMM_ID_UNCHANGED };
	struct result res;

	if (AS(OWNER, do_alloc_size, &mine, &res))
		return 0;
	a.id = res.val;
	if (AS(OTHER, do_alloc_size, &theirs, &res))
		return 0;
	if (write_param(param, limit))
		return 0;
	EXPECT_ERR(EDQUOT, ioctl(self->fd, VMM_IOC_CHOWN, &a));
	EXPECT_EQ(1000U, info_of(self->fd, a.id).uid);
	return a.id;
}

TEST_F(perm, chown_moves_usage_and_fails_edquot_past_new_owner_quota)
{
	__u64 blocks, bytes;
	struct vmm_chown_args a = { .uid = 1002, .gid = VMM_ID_UNCHANGED };

	a.id = chown_refused(_metadata, self, 100, 100, "max_blocks_per_uid",
			     1);
	ASSERT_NE(0ULL, a.id);
	ASSERT_EQ(0, write_param("max_blocks_per_uid", 0));
	ASSERT_OK(ioctl(self->fd, VMM_IOC_CHOWN, &a));
	ASSERT_EQ(0, usage_of(self->fd, 1002, &blocks, &bytes));
	EXPECT_EQ(2ULL, blocks);
	EXPECT_EQ(200ULL, bytes);
	/* The old owner's record went with its last block. */
	ASSERT_EQ(0, usage_of(self->fd, 1000, &blocks, &bytes));
	EXPECT_EQ(0ULL, blocks);
	/* To a uid with no record yet. */
	a.uid = 4242;
	ASSERT_OK(ioctl(self->fd, VMM_IOC_CHOWN, &a));
	ASSERT_EQ(0, usage_of(self->fd, 4242, &blocks, &bytes));
	EXPECT_EQ(1ULL, blocks);
	EXPECT_EQ(100ULL, bytes);
}

/*
 * The byte quota binds a CHOWN as the block quota does: the new owner
 * may not be taken past max_bytes_per_uid, counting what it holds, and
 * a refused CHOWN moves nothing.
 */
TEST_F(perm, chown_fails_edquot_past_new_owner_byte_quota)
{
	__u64 blocks, bytes;
	struct vmm_chown_args a = { .uid = 1002, .gid = VMM_ID_UNCHANGED };

	a.id = chown_refused(_metadata, self, 3000, 1096, "max_bytes_per_uid",
			     4095);
	ASSERT_NE(0ULL, a.id);
	ASSERT_EQ(0, usage_of(self->fd, 1002, &blocks, &bytes));
	EXPECT_EQ(1ULL, blocks);
	EXPECT_EQ(1096ULL, bytes);
	ASSERT_EQ(0, usage_of(self->fd, 1000, &blocks, &bytes));
	EXPECT_EQ(1ULL, blocks);
	EXPECT_EQ(3000ULL, bytes);
	/* Exactly at the quota is within it. */
	ASSERT_EQ(0, write_param("max_bytes_per_uid", 4096));
	EXPECT_OK(ioctl(self->fd, VMM_IOC_CHOWN, &a));
	EXPECT_EQ(1002U, info_of(self->fd, a.id).uid);
	ASSERT_EQ(0, usage_of(self->fd, 1002, &blocks, &bytes));
	EXPECT_EQ(2ULL, blocks);
	EXPECT_EQ(4096ULL, bytes);
	ASSERT_EQ(0, write_param("max_bytes_per_uid", 0));
}

TEST_F(perm, usage_lists_uids_in_order_and_pages)
{
	struct vmm_user_usage u[2];
	struct vmm_usage_args a = {
		.buffer = (__u64)(uintptr_t)u, .capacity = 1,
	};
	__u64 size = 10;
	struct result res;

	ASSERT_EQ(0, AS(OTHER, do_alloc_size, &size, &res));
	ASSERT_EQ(0, AS(OWNER, do_alloc_size, &size, &res));
	ASSERT_EQ(0, AS(OWNER, do_alloc_size, &size, &res));
	ALLOC_AT(self->fd, 5, 0, ID(4), 30);
	ASSERT_OK(ioctl(self->fd, VMM_IOC_USAGE, &a));
	ASSERT_EQ(1U, a.count);
	EXPECT_EQ(0U, u[0].uid);
	EXPECT_EQ(1ULL, u[0].blocks);
	EXPECT_EQ(5ULL, u[0].bytes);
	EXPECT_EQ(1000U, a.next_uid);
	a.start_uid = a.next_uid;
	a.capacity = 2;
	ASSERT_OK(ioctl(self->fd, VMM_IOC_USAGE, &a));
	ASSERT_EQ(2U, a.count);
	EXPECT_EQ(1000U, u[0].uid);
	EXPECT_EQ(2ULL, u[0].blocks);
	EXPECT_EQ(20ULL, u[0].bytes);
	EXPECT_EQ(1002U, u[1].uid);
	EXPECT_EQ(1ULL, u[1].blocks);
	EXPECT_EQ(0U, u[1].pad);
	EXPECT_EQ(0ULL, u[1].ns_blocks);
	EXPECT_EQ(0U, a.next_uid);
}

TEST_F(perm, usage_is_open_to_users_and_rejects_bad_args)
{
	struct vmm_user_usage u[1];
	struct vmm_usage_args a = { .buffer = (__u64)(uintptr_t)u };
	struct result res;

	/* The sums of what LIST shows anyone: no privilege needed. */
	EXPECT_EQ(0, AS(OWNER, do_usage, NULL, &res));
	EXPECT_EQ(0, AS(ROOT, do_usage, NULL, &res));
	EXPECT_ERR(EINVAL, ioctl(self->fd, VMM_IOC_USAGE, &a));
	a.capacity = VMM_USAGE_MAX + 1;
	EXPECT_ERR(EINVAL, ioctl(self->fd, VMM_IOC_USAGE, &a));
	a.capacity = 1;
	a.flags = 1;
	EXPECT_ERR(EINVAL, ioctl(self->fd, VMM_IOC_USAGE, &a));
	a.flags = 0;
	a.pad = 1;
	EXPECT_ERR(EINVAL, ioctl(self->fd, VMM_IOC_USAGE, &a));
	a.pad = 0;
	a.reserved[0] = 1;
	EXPECT_ERR(EINVAL, ioctl(self->fd, VMM_IOC_USAGE, &a));
	a.reserved[0] = 0;
	ALLOC_AT(self->fd, 5, 0, ID(1), 0);
	a.buffer = (__u64)(uintptr_t)vmm_unmapped_addr();
	EXPECT_ERR(EFAULT, ioctl(self->fd, VMM_IOC_USAGE, &a));
	/* The arguments themselves unreadable. */
	EXPECT_ERR(EFAULT, ioctl(self->fd, VMM_IOC_USAGE, NULL));
	EXPECT_ERR(EFAULT, ioctl(self->fd, VMM_IOC_USAGE, vmm_unmapped_addr()));
}

/* ---- descriptor-scoped blocks */

static __u64 alloc_scoped(int fd, __u64 size)
{
	struct vmm_alloc_args a = { .size = size, .flags = VMM_ALLOC_SCOPED };

	return ioctl(fd, VMM_IOC_ALLOC, &a) ? 0 : a.id;
}

TEST_F(perm, scoped_block_freed_on_close)
{
	int fd2 = open(VMM_DEV, O_RDWR | O_CLOEXEC), fd3;
	__u64 id, big, kept, frees = vmm_sysfs("frees");

	ASSERT_NE(UINT64_MAX, frees);
	ASSERT_LE(0, fd2);
	id = alloc_scoped(fd2, 100);
	ASSERT_NE(0ULL, id);
	big = alloc_scoped(fd2, 1 * MiB);
	ASSERT_NE(0ULL, big);
	ASSERT_OK(vmm_alloc(fd2, 50, 0, &kept, NULL));
	EXPECT_EQ(VMM_BLOCK_SCOPED, info_of(self->fd, id).attrs);
	EXPECT_EQ(0U, info_of(self->fd, kept).attrs);
	/* Another descriptor of the same file keeps it alive. */
	fd3 = dup(fd2);
	ASSERT_LE(0, fd3);
	ASSERT_EQ(0, close(fd2));
	EXPECT_EQ(id, info_of(self->fd, id).id);
	ASSERT_EQ(0, close(fd3));
	EXPECT_ERR(ENOENT, vmm_info(self->fd, id, NULL, NULL));
	EXPECT_ERR(ENOENT, vmm_info(self->fd, big, NULL, NULL));
	/* Default blocks survive the close. */
	EXPECT_EQ(kept, info_of(self->fd, kept).id);
	EXPECT_EQ(1ULL, vmm_sysfs("blocks"));
	EXPECT_EQ(frees + 2, vmm_sysfs("frees"));
}

TEST_F(perm, scoped_block_freed_early_is_not_freed_twice)
{
	int fd2 = open(VMM_DEV, O_RDWR | O_CLOEXEC);
	__u64 a, b, frees = vmm_sysfs("frees");

	ASSERT_NE(UINT64_MAX, frees);
	ASSERT_LE(0, fd2);
	a = alloc_scoped(fd2, 10);
	b = alloc_scoped(fd2, 10);
	ASSERT_NE(0ULL, a);
	ASSERT_NE(0ULL, b);
	ASSERT_OK(vmm_free(self->fd, a));
	ASSERT_EQ(0, close(fd2));
	EXPECT_ERR(ENOENT, vmm_info(self->fd, b, NULL, NULL));
	EXPECT_EQ(0ULL, vmm_sysfs("blocks"));
	EXPECT_EQ(frees + 2, vmm_sysfs("frees"));
}

/* In a child: open the device, allocate a scoped block, report its ID. */
static pid_t scoped_child(int wfd, bool stay)
{
	pid_t pid = fork();

	if (pid)
		return pid;
	{
		int fd = open(VMM_DEV, O_RDWR | O_CLOEXEC);
		__u64 id = fd < 0 ? 0 : alloc_scoped(fd, 4096);

		if (write(wfd, &id, sizeof(id)) != sizeof(id))
			_exit(3);
		while (stay)
			pause();
		_exit(0);	/* no close(): exit releases the file */
	}
}

TEST_F(perm, scoped_block_freed_after_exit)
{
	int p[2], status;
	__u64 id = 0;
	pid_t pid;

	ASSERT_EQ(0, pipe(p));
	pid = scoped_child(p[1], false);
	ASSERT_LT(0, pid);
	ASSERT_EQ((ssize_t)sizeof(id), read(p[0], &id, sizeof(id)));
	ASSERT_NE(0ULL, id);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_ERR(ENOENT, vmm_info(self->fd, id, NULL, NULL));
	EXPECT_EQ(0ULL, vmm_sysfs("blocks"));
	close(p[0]);
	close(p[1]);
}

TEST_F(perm, scoped_block_freed_after_sigkill)
{
	int p[2], status;
	__u64 id = 0;
	pid_t pid;

	ASSERT_EQ(0, pipe(p));
	pid = scoped_child(p[1], true);
	ASSERT_LT(0, pid);
	ASSERT_EQ((ssize_t)sizeof(id), read(p[0], &id, sizeof(id)));
	ASSERT_NE(0ULL, id);
	/* Alive while its creator is. */
	EXPECT_EQ(id, info_of(self->fd, id).id);
	ASSERT_EQ(0, kill(pid, SIGKILL));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFSIGNALED(status));
	EXPECT_ERR(ENOENT, vmm_info(self->fd, id, NULL, NULL));
	EXPECT_EQ(0ULL, vmm_sysfs("blocks"));
	EXPECT_EQ(0ULL, vmm_sysfs("used"));
	close(p[0]);
	close(p[1]);
}

TEST_F(perm, default_block_survives_close_and_exit)
{
	int fd2 = open(VMM_DEV, O_RDWR | O_CLOEXEC);
	__u64 id = 0;

	ASSERT_LE(0, fd2);
	ASSERT_OK(vmm_alloc(fd2, 10, 0, &id, NULL));
	ASSERT_EQ(0, close(fd2));
	EXPECT_EQ(id, info_of(self->fd, id).id);
	EXPECT_EQ(1ULL, vmm_sysfs("blocks"));
}

/* ---- user namespaces */

/* Where in_userns() stopped short of the namespace, if it did. */
enum ns_step { NS_ENTERED, NS_UNSHARE, NS_UID_MAP, NS_SETGROUPS, NS_GID_MAP };

static const char *const ns_step_names[] = {
	[NS_ENTERED] = "entered",
	[NS_UNSHARE] = "unshare(CLONE_NEWUSER)",
	[NS_UID_MAP] = "writing uid_map",
	[NS_SETGROUPS] = "writing setgroups",
	[NS_GID_MAP] = "writing gid_map",
};

/*
 * What the child saw.  Entering the namespace (ns_step, ns_err) and the
 * calls made inside it (alloc, info, ...) report apart, so that a failing
 * ALLOC is never mistaken for a kernel without user namespaces.
 */
struct ns_result {
	int ns_step;		/* enum ns_step: NS_ENTERED once inside */
	int ns_err;		/* errno of the step that failed */
	int alloc, info;	/* errno of ALLOC and INFO inside, or 0 */
	__u32 uid_inside, gid_inside;	/* own block, seen inside */
	__u32 root_uid_inside;		/* root's block, seen inside */
	__u32 list_count;
	int read_root, free_root, chown_root, usage, list;
	/* CHOWN of the own block to ids the namespace maps, and does not */
	int chown_mapped, chown_unmapped_uid, chown_unmapped_gid;
	int chown_unmapped_root, chown_unmapped_unknown;
	__u64 id;
};

/* Enter a new user namespace mapping 0 to 1000; false if that failed. */
static bool enter_userns(struct ns_result *r)
{
	static const struct {
		enum ns_step step;
		const char *path, *text;
	} maps[] = {
		{ NS_UID_MAP, "/proc/self/uid_map", "0 1000 1" },
		{ NS_SETGROUPS, "/proc/self/setgroups", "deny" },
		{ NS_GID_MAP, "/proc/self/gid_map", "0 1000 1" },
	};
	unsigned int k;

	if (unshare(CLONE_NEWUSER)) {
		r->ns_step = NS_UNSHARE;
		r->ns_err = errno;
		return false;
	}
	for (k = 0; k < ARRAY_SIZE(maps); k++) {
		r->ns_err = vmm_write_file(maps[k].path, maps[k].text);
		if (r->ns_err) {
			r->ns_step = maps[k].step;
			return false;
		}
	}
	r->ns_step = NS_ENTERED;
	return true;
}

/*
 * Whether @r says that this system offers no unprivileged user namespace:
 * unshare() refused (EINVAL: not built in; ENOSPC: max_user_namespaces is
 * 0; EPERM: forbidden, e.g. by a sysctl), or a security module let the
 * namespace be made but not mapped (EPERM writing a map).
 */
static bool userns_unavailable(const struct ns_result *r)
{
	if (r->ns_step == NS_UNSHARE)
		return r->ns_err == EPERM || r->ns_err == EINVAL ||
		       r->ns_err == ENOSPC;
	return r->ns_step != NS_ENTERED && r->ns_err == EPERM;
}

/*
 * As OWNER, enter a new user namespace mapping 0 to 1000, and from there
 * allocate, look at blocks, and try root's privileges on root's block
 * @root_id.
 */
static void in_userns(int fd, __u64 root_id, struct ns_result *r)
{
	struct vmm_alloc_args a = { .size = 32 };
	struct vmm_chown_args c = { .id = root_id, .uid = 0, .gid = 0 };
	struct vmm_usage_args ua = { .capacity = 1 };
	struct vmm_user_usage u;
	struct vmm_block_info e[4];
	struct vmm_info_args i;
	unsigned char buf[4];
	__u64 next;

	if (!enter_userns(r))
		return;
	r->alloc = err_of(ioctl(fd, VMM_IOC_ALLOC, &a));
	if (r->alloc)
		return;
	r->id = a.id;
	i = (struct vmm_info_args){ .id = a.id };
	r->info = err_of(ioctl(fd, VMM_IOC_INFO, &i));
	r->uid_inside = i.uid;
	r->gid_inside = i.gid;
	r->list = err_of(vmm_list(fd, 0, e, 4, &r->list_count, &next));
	if (!r->list && r->list_count == 2)
		r->root_uid_inside = e[0].uid;
	/* Root here is uid 0 of this namespace, not CAP_SYS_ADMIN. */
	r->read_root = err_of(vmm_read(fd, root_id, 0, buf, sizeof(buf)));
	r->free_root = err_of(vmm_free(fd, root_id));
	r->chown_root = err_of(ioctl(fd, VMM_IOC_CHOWN, &c));
	/*
	 * Only 0 is mapped here: 5 names nobody, which is EINVAL before the
	 * block is looked up or any permission checked: on root's block, and
	 * on an ID nobody holds.
	 */
	c = (struct vmm_chown_args){ .id = a.id, .uid = 0, .gid = 0 };
	r->chown_mapped = err_of(ioctl(fd, VMM_IOC_CHOWN, &c));
	c = (struct vmm_chown_args){ .id = a.id, .uid = 5,
				     .gid = VMM_ID_UNCHANGED };
	r->chown_unmapped_uid = err_of(ioctl(fd, VMM_IOC_CHOWN, &c));
	c = (struct vmm_chown_args){ .id = a.id, .uid = VMM_ID_UNCHANGED,
				     .gid = 5 };
	r->chown_unmapped_gid = err_of(ioctl(fd, VMM_IOC_CHOWN, &c));
	c = (struct vmm_chown_args){ .id = root_id, .uid = 5, .gid = 0 };
	r->chown_unmapped_root = err_of(ioctl(fd, VMM_IOC_CHOWN, &c));
	c = (struct vmm_chown_args){ .id = a.id + 1000, .uid = 5, .gid = 0 };
	r->chown_unmapped_unknown = err_of(ioctl(fd, VMM_IOC_CHOWN, &c));
	ua.buffer = (__u64)(uintptr_t)&u;
	r->usage = err_of(ioctl(fd, VMM_IOC_USAGE, &ua));
}

TEST_F(perm, userns_alloc_shows_mapped_owner_and_gets_no_privilege)
{
	struct ns_result r = { 0 };
	struct vmm_info_args a;
	int p[2], status;
	pid_t pid;

	ALLOC_AT(self->fd, 16, 0, ID(1), 0);
	ASSERT_EQ(0, pipe(p));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		close(p[0]);
		if (drop_to(OWNER))
			_exit(2);
		in_userns(self->fd, ID(1), &r);
		if (write(p[1], &r, sizeof(r)) != sizeof(r))
			_exit(3);
		_exit(0);
	}
	close(p[1]);
	ASSERT_EQ((ssize_t)sizeof(r), read(p[0], &r, sizeof(r)));
	close(p[0]);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status));
	ASSERT_LE(0, r.ns_step);
	ASSERT_GE(NS_GID_MAP, r.ns_step);
	if (userns_unavailable(&r))
		VMM_SKIP(return, "unprivileged user namespaces unavailable: %s: %s",
		     ns_step_names[r.ns_step], strerror(r.ns_err));
	ASSERT_EQ(NS_ENTERED, r.ns_step)
		TH_LOG("%s: %s", ns_step_names[r.ns_step], strerror(r.ns_err));
	/* From here on, every errno is the module's. */
	ASSERT_EQ(0, r.alloc)
		TH_LOG("ALLOC inside the namespace: %s", strerror(r.alloc));
	ASSERT_EQ(0, r.info)
		TH_LOG("INFO inside the namespace: %s", strerror(r.info));
	/* Inside: uid 0.  Root's block has no mapping: the overflow id. */
	EXPECT_EQ(0U, r.uid_inside);
	EXPECT_EQ(0U, r.gid_inside);
	EXPECT_EQ(0, r.list) TH_LOG("LIST: %s", strerror(r.list));
	EXPECT_EQ(2U, r.list_count);
	EXPECT_EQ(65534U, r.root_uid_inside);
	EXPECT_EQ(EACCES, r.read_root);
	EXPECT_EQ(EACCES, r.free_root);
	EXPECT_EQ(EPERM, r.chown_root);
	EXPECT_EQ(0, r.chown_mapped);
	EXPECT_EQ(EINVAL, r.chown_unmapped_uid);
	EXPECT_EQ(EINVAL, r.chown_unmapped_gid);
	EXPECT_EQ(EINVAL, r.chown_unmapped_root);
	EXPECT_EQ(EINVAL, r.chown_unmapped_unknown);
	/* Paged by kernel uid, which the namespace must not learn. */
	EXPECT_EQ(EPERM, r.usage);
	/* Outside: the kuid behind it, 1000. */
	a = info_of(self->fd, r.id);
	ASSERT_EQ(r.id, a.id);
	EXPECT_EQ(1000U, a.uid);
	EXPECT_EQ(1000U, a.gid);
	EXPECT_EQ(ID(2), r.id);
	EXPECT_EQ(0U, info_of(self->fd, ID(1)).uid);
	EXPECT_EQ(2ULL, vmm_sysfs("blocks"));
}

/* ---- data isolation */

TEST_F(perm, other_user_cannot_read_data_through_any_call)
{
	unsigned char secret[64], buf[64];
	struct result res;
	__u32 mode = 0600;
	__u64 id;
	int fd2;

	ASSERT_EQ(0, AS(OWNER, do_alloc_mode, &mode, &res));
	id = res.val;
	vmm_fill(secret, 64, 7);
	ASSERT_OK(vmm_write(self->fd, id, 0, secret, 64));
	/* Each ioctl naming the block; read(2) on a file root selected. */
	EXPECT_EQ(EACCES, AS(OTHER, do_read, &id, &res));
	EXPECT_TRUE(vmm_all(res.data, 16, 0xee));
	EXPECT_EQ(EACCES, AS(OTHER, do_info, &id, &res));
	EXPECT_EQ(EACCES, AS(OTHER, do_select, &id, &res));
	ASSERT_OK(vmm_select(self->fd, id));
	EXPECT_EQ(EACCES, AS(OTHER, do_pread, &id, &res));
	EXPECT_TRUE(vmm_all(res.data, 16, 0xee));
	EXPECT_EQ(EACCES, AS(OTHER, do_pwrite, &id, &res));
	/* A fresh open by the other user sees no selection of its own. */
	fd2 = open(VMM_DEV, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, fd2);
	ASSERT_EQ(0, as_user(OTHER, fd2, do_pread, NULL, &res));
	EXPECT_EQ(ENXIO, res.err);
	close(fd2);
	/* Stats and defrag work, and return no bytes. */
	EXPECT_EQ(0, AS(OTHER, do_defrag, &(__u64){ 0 }, &res));
	/* Intact. */
	ASSERT_OK(vmm_read(self->fd, id, 0, buf, 64));
	EXPECT_EQ(0, memcmp(buf, secret, 64));
}

TEST_F(perm, fresh_block_after_other_users_free_reads_zeros)
{
	unsigned char data[4096];
	__u64 sizes[] = { 64, 4096 };
	struct result res;
	unsigned int k;

	for (k = 0; k < ARRAY_SIZE(sizes); k++) {
		__u64 id, off, off2, size = sizes[k];
		unsigned char *got;

		ASSERT_EQ(0, AS(OWNER, do_alloc_size, &size, &res));
		id = res.val;
		ASSERT_OK(vmm_info(self->fd, id, &off, NULL));
		memset(data, 0x5a, sizeof(data));
		ASSERT_OK(vmm_write(self->fd, id, 0, data, size));
		ASSERT_EQ(0, AS(OWNER, do_free, &id, &res));
		ASSERT_EQ(0, AS(OTHER, do_alloc_size, &size, &res));
		ASSERT_OK(vmm_info(self->fd, res.val, &off2, NULL));
		/* The same bytes of the arena... */
		EXPECT_EQ(off, off2);
		/* ...read as zeros by their new owner. */
		id = res.val;
		got = malloc(size);
		ASSERT_NE(NULL, got);
		memset(got, 0xee, size);
		ASSERT_OK(vmm_read(self->fd, id, 0, got, size));
		EXPECT_TRUE(vmm_all(got, size, 0));
		ASSERT_EQ(0, AS(OTHER, do_read, &id, &res));
		EXPECT_TRUE(vmm_all(res.data, 16, 0));
		free(got);
		ASSERT_EQ(0, AS(OTHER, do_free, &id, &res));
	}
}

TEST_F(perm, unprivileged_defrag_is_clamped_to_user_budget)
{
	__u64 zero = 0, huge = UINT64_MAX;
	struct result res;

	/* A hole, then two 3 MiB blocks: 6 MiB to move in all. */
	ALLOC_AT(self->fd, 1 * MiB, 0, ID(1), 0);
	ALLOC_AT(self->fd, 3 * MiB, 0, ID(2), 1 * MiB);
	ALLOC_AT(self->fd, 3 * MiB, 0, ID(3), 4 * MiB);
	ASSERT_OK(vmm_free(self->fd, ID(1)));
	ASSERT_EQ(0, AS(OTHER, do_defrag, &zero, &res));
	EXPECT_EQ(3 * MiB, res.val);
	EXPECT_EQ(0ULL, res.val2);
	ASSERT_EQ(0, AS(OTHER, do_defrag, &huge, &res));
	EXPECT_EQ(3 * MiB, res.val);
	EXPECT_EQ(1ULL, res.val2);
	ASSERT_BLOCK(self->fd, ID(2), 0, 3 * MiB);
	ASSERT_BLOCK(self->fd, ID(3), 3 * MiB, 3 * MiB);
	/* Root has no such limit. */
	ALLOC_AT(self->fd, 1 * MiB, 0, ID(4), 6 * MiB);
	ASSERT_OK(vmm_free(self->fd, ID(2)));
	ASSERT_EQ(0, AS(ROOT, do_defrag, &zero, &res));
	EXPECT_EQ(4 * MiB, res.val);
	EXPECT_EQ(1ULL, res.val2);
}

/*
 * A descriptor handed to a more privileged program (root here, as a setuid
 * program would be) writes only if the task that selected the block could.
 */
TEST_F(perm, passed_descriptor_grants_no_more_than_its_selector_had)
{
	__u32 mode = 0644;
	struct result res;
	char buf[4];
	__u64 id;

	ASSERT_EQ(0, AS(OWNER, do_alloc_mode, &mode, &res));
	id = res.val;
	/* Another user selects it on the shared file: r, not w. */
	ASSERT_EQ(0, AS(OTHER, do_select, &id, &res));
	EXPECT_EQ(4, pread(self->fd, buf, sizeof(buf), 0));
	errno = 0;
	EXPECT_EQ(-1, pwrite(self->fd, "evil", 4, 0));
	EXPECT_EQ(EACCES, errno);
	ASSERT_OK(vmm_read(self->fd, id, 0, buf, sizeof(buf)));
	EXPECT_TRUE(vmm_all(buf, sizeof(buf), 0));
	/* Selected by root itself, the same file writes. */
	ASSERT_OK(vmm_select(self->fd, id));
	EXPECT_EQ(4, pwrite(self->fd, "root", 4, 0));
}

/* The same for reads: a selector that could only write passes no r. */
TEST_F(perm, passed_descriptor_reads_only_if_its_selector_could)
{
	__u32 mode = 0602;
	struct result res;
	char buf[4] = "none";
	__u64 id;

	ASSERT_EQ(0, AS(OWNER, do_alloc_mode, &mode, &res));
	id = res.val;
	/* Another user selects it on the shared file: w, not r. */
	ASSERT_EQ(0, AS(OTHER, do_select, &id, &res));
	EXPECT_ERR(EACCES, (int)pread(self->fd, buf, sizeof(buf), 0));
	EXPECT_ERR(EACCES, (int)read(self->fd, buf, sizeof(buf)));
	EXPECT_EQ(0, memcmp(buf, "none", 4));
	EXPECT_EQ(4, pwrite(self->fd, "mine", 4, 0));
	/* Selected by root itself, the same file reads. */
	ASSERT_OK(vmm_select(self->fd, id));
	EXPECT_EQ(4, pread(self->fd, buf, sizeof(buf), 0));
	EXPECT_EQ(0, memcmp(buf, "mine", 4));
}

/*
 * A selection whose selector lacked w: once the block is freed, a write
 * through it fails with EACCES, checked first, and a read or lseek(2),
 * which the selector could do, with ENOENT.
 */
TEST_F(perm, freed_selection_fails_eacces_before_enoent)
{
	__u32 mode = 0644;
	struct result res;
	char buf[4];
	__u64 id;

	ASSERT_EQ(0, AS(OWNER, do_alloc_mode, &mode, &res));
	id = res.val;
	ASSERT_EQ(0, AS(OTHER, do_select, &id, &res));
	ASSERT_OK(vmm_free(self->fd, id));
	EXPECT_ERR(EACCES, (int)pwrite(self->fd, "evil", 4, 0));
	EXPECT_ERR(EACCES, (int)write(self->fd, "evil", 4));
	EXPECT_ERR(ENOENT, (int)pread(self->fd, buf, sizeof(buf), 0));
	EXPECT_ERR(ENOENT, (int)read(self->fd, buf, sizeof(buf)));
	EXPECT_ERR(ENOENT, (int)lseek(self->fd, 0, SEEK_SET));
}

/*
 * A CHMOD binds each caller of read(2), write(2) and lseek(2) on a
 * selection made before it, not the selection, which keeps the rights
 * its selector held when it selected, like a file opened before a
 * chmod(2).
 */
TEST_F(perm, chmod_binds_callers_not_an_earlier_selection)
{
	__u32 mode = 0600;
	struct result res;
	char buf[4];
	__u64 id;

	ASSERT_EQ(0, AS(OWNER, do_alloc_mode, &mode, &res));
	id = res.val;
	ASSERT_EQ(0, AS(OWNER, do_select, &id, &res));
	ASSERT_EQ(0, AS(OWNER, do_pwrite, &id, &res));
	ASSERT_EQ(0, AS(OWNER, do_chmod_0, &id, &res));
	EXPECT_EQ(EACCES, AS(OWNER, do_pread, &id, &res));
	EXPECT_EQ((__u64)-1, res.val);
	EXPECT_EQ(EACCES, AS(OWNER, do_pwrite, &id, &res));
	EXPECT_EQ(EACCES, AS(OWNER, do_lseek, &id, &res));
	/* Root passes the mode; the selector held both bits. */
	EXPECT_EQ(4, pread(self->fd, buf, sizeof(buf), 0));
	EXPECT_EQ(0, memcmp(buf, "chil", 4));
	EXPECT_EQ(4, pwrite(self->fd, "root", 4, 0));
	ASSERT_OK(vmm_read(self->fd, id, 0, buf, sizeof(buf)));
	EXPECT_EQ(0, memcmp(buf, "root", 4));
}

/*
 * lseek(2) needs r or w of its caller, whichever bit the selection holds:
 * a selection that holds only w still lets a caller that now has only r
 * seek, and the other way round.  Reads and writes still need their own
 * bit held by both.
 */
TEST_F(perm, lseek_needs_r_or_w_of_its_caller_not_the_selections_bit)
{
	static const __u32 modes[][2] = { { 0200, 0400 }, { 0400, 0200 } };
	struct vmm_chmod_args c = { 0 };
	struct result res;
	unsigned int i;
	__u64 id;

	for (i = 0; i < 2; i++) {
		__u32 mode = modes[i][0];

		ASSERT_EQ(0, AS(OWNER, do_alloc_mode, &mode, &res));
		id = res.val;
		ASSERT_EQ(0, AS(OWNER, do_select, &id, &res));
		c.id = id;
		c.mode = modes[i][1];
		ASSERT_OK(ioctl(self->fd, VMM_IOC_CHMOD, &c));
		EXPECT_EQ(0, AS(OWNER, do_lseek, &id, &res));
		EXPECT_EQ((__u64)5, res.val);
		/* Each bit now lacks one side: the selector or the caller. */
		EXPECT_EQ(EACCES, AS(OWNER, do_pread, &id, &res));
		EXPECT_EQ(EACCES, AS(OWNER, do_pwrite, &id, &res));
	}
}

/* VMM_ALLOC_COMPACT moves no more for a user than VMM_IOC_DEFRAG would. */
TEST_F(perm, unprivileged_compact_alloc_is_clamped_to_user_budget)
{
	__u64 want = 5 * MiB + 512 * KiB, moved = vmm_sysfs("bytes_moved");
	struct result res;
	int i;

	ASSERT_NE(UINT64_MAX, moved);
	/* A 1 MiB hole, ten 1 MiB blocks, 5 MiB free at the end. */
	for (i = 0; i < 11; i++)
		ALLOC_AT(self->fd, 1 * MiB, 0, ID(i + 1), i * MiB);
	ASSERT_OK(vmm_free(self->fd, ID(1)));
	EXPECT_EQ(ENOSPC, AS(OTHER, do_alloc_compact, &want, &res));
	/* Four blocks (the budget's 4 MiB) moved; the hole is behind them. */
	ASSERT_BLOCK(self->fd, ID(5), 3 * MiB, 1 * MiB);
	ASSERT_BLOCK(self->fd, ID(6), 5 * MiB, 1 * MiB);
	EXPECT_EQ(moved + 4 * MiB, vmm_sysfs("bytes_moved"));
	/* Root's request packs the rest and fits. */
	EXPECT_EQ(0, AS(ROOT, do_alloc_compact, &want, &res));
	ASSERT_BLOCK(self->fd, ID(11), 9 * MiB, 1 * MiB);
	ASSERT_BLOCK(self->fd, res.val, 10 * MiB, want);
}

/*
 * The group class is the effective gid's and the supplementary groups', not
 * the fsgid's: a task whose fsgid alone is the block's group is "other".
 */
TEST_F(perm, group_class_follows_egid_not_fsgid)
{
	__u32 mode = 0640;
	struct result res;
	char buf[4];
	int status;
	pid_t pid;

	ASSERT_EQ(0, AS(OWNER, do_alloc_mode, &mode, &res));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		/* egid 1002, fsgid 1000 (the owner's group), then uid 1002. */
		if (setgroups(0, NULL) || setresgid(1002, 1002, 1000) ||
		    setfsgid(1000) != 1002 || setresuid(1002, 1002, 1002) ||
		    setfsgid(-1) != 1000)
			_exit(2);
		if (vmm_read(self->fd, res.val, 0, buf, sizeof(buf)) != -1)
			_exit(3);
		_exit(errno == EACCES ? 0 : 4);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status))
		TH_LOG("2: could not set the ids, 3: read allowed, 4: not EACCES");
}

TEST_F(perm, root_frees_any_block)
{
	__u32 mode = 0;
	struct result res;

	ASSERT_EQ(0, AS(OWNER, do_alloc_mode, &mode, &res));
	ASSERT_OK(vmm_free(self->fd, res.val));
	EXPECT_EQ(0ULL, vmm_sysfs("blocks"));
}

TEST_HARNESS_MAIN
