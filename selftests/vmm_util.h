/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the vmm selftests: module (re)loading, thin ioctl
 * wrappers that return the raw ioctl() result and leave errno alone, sysfs
 * readers and data patterns.
 * It includes kselftest_harness.h; the check macros below expand to
 * harness ASSERTs and so only work inside FIXTURE_SETUP/TEST_F bodies.
 */
#ifndef _VMM_UTIL_H
#define _VMM_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/capability.h>
#include <linux/vmm.h>

/*
 * The 6.1 harness defines __timeout_handler(int, siginfo_t *, void *) and
 * never uses its third argument, which -Wextra reports.  Silence exactly
 * that warning for the harness's own code; the tests stay under -Wextra.
 */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include "kselftest_harness.h"
#pragma GCC diagnostic pop

#define VMM_DEV		"/dev/vmm"
#define VMM_SYSFS_DIR	"/sys/class/misc/vmm/"
#define VMM_MOD_DIR	"/sys/module/vmm"
#define VMM_PARAM_SIZE	"/sys/module/vmm/parameters/size"
#define VMM_PARAM_TIMING	"/sys/module/vmm/parameters/lock_hold_timing"

#define KiB		1024ULL
#define MiB		(1024ULL * KiB)
#define GiB		(1024ULL * MiB)

/*
 * A debug guest that keeps time in 4 ms jiffies (where scripts/vm passes
 * it no TSC frequency) reads every lock hold it times (max_lock_hold_ns)
 * as a multiple of this: 250 ns when the hold spans no tick, about 4 ms
 * when it spans one.  Such a figure tells whether a hold spanned a tick,
 * not how long it was.  A clock that reads nanoseconds puts one figure
 * on a multiple of it once in 250 readings.
 */
#define VMM_TICK_GRID_NS	250ULL

/* Run a shell command; returns its exit status, or -1 if it did not exit. */
static inline int vmm_sh(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	fflush(stdout);
	fflush(stderr);
	st = system(cmd);
	if (st == -1 || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

/* Write @s to @path in one write(2); 0, or the errno (EIO if short). */
static inline int vmm_write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), err = 0;
	ssize_t n;

	if (fd < 0)
		return errno;
	n = write(fd, s, strlen(s));
	if (n < 0)
		err = errno;
	else if (n != (ssize_t)strlen(s))
		err = EIO;
	close(fd);
	return err;
}

static inline bool vmm_path_exists(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0;
}

static inline bool vmm_module_loaded(void)
{
	return vmm_path_exists(VMM_MOD_DIR);
}

/*
 * Loading and unloading go straight to finit_module(2) and
 * delete_module(2): a test reloads vmm hundreds of times, and under
 * emulation (and KASAN) the shell and modprobe processes that a
 * `modprobe` costs took most of each simple test's time.  The module file
 * is $VMM_TEST_KO, else the one scripts/vm installs in the guest,
 * /lib/modules/$(uname -r)/extra/vmm.ko; without either, modprobe finds
 * it as before.
 */
static inline const char *vmm_ko_path(void)
{
	static char path[256];
	const char *env = getenv("VMM_TEST_KO");
	struct utsname u;

	if (env && *env)
		return env;
	if (uname(&u))
		return NULL;
	snprintf(path, sizeof(path), "/lib/modules/%s/extra/vmm.ko",
		 u.release);
	return vmm_path_exists(path) ? path : NULL;
}

/*
 * The arguments of the load this program made last, kept in a page that
 * every case's process shares (the harness forks one per case), so that
 * VMM_SETUP_SHARED can tell a module it may reuse.  Empty once anything
 * unloads vmm or a load fails; NULL if the page could not be mapped.
 */
struct vmm_load_record {
	char args[256];
	int dirty;	/* a case on it has not passed (yet): reload */
};

static struct vmm_load_record *vmm_last_load;

static void __attribute__((constructor)) vmm_map_load_record(void)
{
	void *p = mmap(NULL, sizeof(*vmm_last_load), PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	vmm_last_load = p == MAP_FAILED ? NULL : p;
}

static inline void vmm_record_load(const char *args)
{
	if (vmm_last_load) {
		snprintf(vmm_last_load->args, sizeof(vmm_last_load->args),
			 "%s", args ? args : "");
		vmm_last_load->dirty = 0;
	}
}

/* delete_module(vmm), or modprobe -r without a module file; 0 on success. */
static inline int vmm_unload(void)
{
	vmm_record_load(NULL);
	if (!vmm_ko_path())
		return vmm_sh("modprobe -r vmm 2>/dev/null");
	/* O_NONBLOCK: fail at once if in use, as rmmod and modprobe -r do. */
	return syscall(SYS_delete_module, "vmm", O_NONBLOCK) ? 1 : 0;
}

/*
 * Module parameters added to every load: $VMM_TEST_PARAMS, e.g.
 * "self_check=1" (run_debug.sh sets that).  Only word characters, '=',
 * ',', '.' and spaces, since it may go through the shell.
 */
static inline const char *vmm_test_params(void)
{
	const char *p = getenv("VMM_TEST_PARAMS");

	if (!p || p[strspn(p, "abcdefghijklmnopqrstuvwxyz"
			     "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_=,. ")])
		return "";
	return p;
}

/*
 * Load vmm with @args plus $VMM_TEST_PARAMS; 0 on success, else non-zero
 * with errno set by finit_module(2) when that was used.
 */
static inline int vmm_load_args(const char *args)
{
	const char *ko = vmm_ko_path();
	char params[512];
	int fd, ret, err;

	vmm_record_load(NULL);
	if (!ko) {
		ret = vmm_sh("modprobe vmm %s %s 2>/dev/null", args,
			     vmm_test_params());
	} else {
		snprintf(params, sizeof(params), "%s %s", args,
			 vmm_test_params());
		fd = open(ko, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return 1;
		ret = syscall(SYS_finit_module, fd, params, 0) ? 1 : 0;
		err = errno;
		close(fd);
		errno = err;
	}
	if (!ret)
		vmm_record_load(args);
	return ret;
}

/* Load vmm [size=@size]; @size NULL loads with the default. */
static inline int vmm_load(const char *size)
{
	char args[64];

	if (!size)
		return vmm_load_args("");
	snprintf(args, sizeof(args), "size=%s", size);
	return vmm_load_args(args);
}

/*
 * Unload for a reload.  A process of the previous test (a child that the
 * harness does not wait for) may still be closing its descriptor, which
 * makes the module busy for a moment: retry that, and only that, for up
 * to 10 s (two emulated guests side by side can be slow), then say why
 * the load that follows will fail.
 */
static inline void vmm_unload_for_reload(void)
{
	int i, err = 0;

	for (i = 0; i < 1000 && vmm_module_loaded(); i++) {
		errno = 0;
		if (!vmm_unload())
			return;
		/* modprobe -r leaves errno 0: wait as for EBUSY. */
		err = errno;
		if (err && err != EAGAIN && err != EWOULDBLOCK && err != EBUSY)
			break;
		usleep(10000);
	}
	if (vmm_module_loaded())
		fprintf(stderr, "# cannot unload vmm: %s\n",
			err ? strerror(err) : "modprobe -r failed");
}

/*
 * Why a reload with @size cannot be done: NULL if it can, else a reason to
 * SKIP.  Not root, or the module is neither loaded nor loadable, means
 * there is no vmm to test; a loaded module that will not reload is a
 * failure the caller asserts on.
 */
static inline const char *vmm_skip_reason(void)
{
	if (geteuid() != 0)
		return "must run as root to reload the vmm module";
	if (!vmm_module_loaded() && !vmm_path_exists(VMM_DEV) &&
	    vmm_load_args("") != 0)
		return "vmm module is not loaded and cannot be loaded";
	return NULL;
}

/*
 * SKIP() in a FIXTURE_SETUP of the 6.1 harness only marks the test skipped
 * and then runs its body anyway; jumping back to the harness, as a failed
 * ASSERT does, ends it without running the body or the teardown.  Test
 * bodies that reload (VMM_SETUP_RELOAD) use it too, so it goes through
 * VMM_SKIP() below: no skip after a failed check.
 */
#define VMM_SETUP_SKIP(fmt, ...) \
	VMM_SKIP(longjmp(_metadata->env, 1), fmt, ##__VA_ARGS__)

/*
 * SKIP() for a test body: the 6.1 harness's SKIP() marks the test passed,
 * which after a failed EXPECT would report the failure as a skip.  Once a
 * check has failed, this logs why the test would have been skipped and
 * ends it failed.
 */
#define VMM_SKIP(statement, fmt, ...) do { \
	if (_metadata->passed) { \
		SKIP(statement, fmt, ##__VA_ARGS__); \
	} else { \
		TH_LOG("not skipped, as a check failed before: " fmt, \
		       ##__VA_ARGS__); \
		statement; \
	} \
} while (0)

/* Skip unless reloadable; then reload with @size (NULL: default) and open. */
#define VMM_SETUP_RELOAD(size, fdp) do { \
	const char *__why = vmm_skip_reason(), *__size = (size); \
	int *__fdp = (fdp); \
	if (__why) \
		VMM_SETUP_SKIP("%s", __why); \
	vmm_unload_for_reload(); \
	ASSERT_FALSE(vmm_module_loaded()) \
		TH_LOG("vmm cannot be unloaded: something still holds it"); \
	ASSERT_EQ(0, vmm_load(__size)) \
		TH_LOG("loading vmm size=%s failed: %s", \
		       __size ? __size : "(default)", strerror(errno)); \
	*__fdp = open(VMM_DEV, O_RDWR | O_CLOEXEC); \
	ASSERT_LE(0, *__fdp) TH_LOG("open %s: %s", VMM_DEV, strerror(errno)); \
} while (0)

/*
 * Free every block, as root: the arena of a shared load back to empty.
 * Each round frees what one LIST returned, so it ends once LIST returns
 * nothing.  Returns 0, or the errno of the LIST or FREE that failed.
 */
static inline int vmm_free_all(int fd)
{
	struct vmm_block_info e[64];
	struct vmm_list_args a;
	__u64 start = 0;
	__u32 i;

	/* LIST may return few entries, even none, past freed mapped blocks. */
	do {
		a = (struct vmm_list_args){
			.buffer = (__u64)(uintptr_t)e,
			.capacity = ARRAY_SIZE(e),
			.start_id = start,
		};
		if (ioctl(fd, VMM_IOC_LIST, &a))
			return errno;
		for (i = 0; i < a.count; i++) {
			struct vmm_free_args f = { .id = e[i].id };

			if (ioctl(fd, VMM_IOC_FREE, &f))
				return errno;
		}
		start = a.next_id;
	} while (start);
	return 0;
}

/*
 * Like VMM_SETUP_RELOAD, for cases that need an empty arena but not a
 * fresh module.  If vmm is loaded, the program's last load was with
 * size=@size, and the last case on it passed (VMM_TEARDOWN_SHARED), the
 * case reuses it, else it reloads; either way it then
 * empties the arena by freeing every block.  What a fresh module would
 * give and a shared one does not: IDs from 1, counters from 0, run-time
 * parameters at their load values.  Such cases count IDs and counters
 * from what they find, and reset the parameters they change themselves.
 */
#define VMM_SETUP_SHARED(size, fdp) do { \
	const char *__why = vmm_skip_reason(), *__size = (size); \
	int *__fdp = (fdp), __err; \
	char __args[64]; \
	if (__why) \
		VMM_SETUP_SKIP("%s", __why); \
	snprintf(__args, sizeof(__args), "size=%s", __size); \
	if (!vmm_last_load || strcmp(vmm_last_load->args, __args) || \
	    vmm_last_load->dirty || !vmm_module_loaded()) { \
		vmm_unload_for_reload(); \
		ASSERT_FALSE(vmm_module_loaded()) \
			TH_LOG("vmm cannot be unloaded: something still holds it"); \
		ASSERT_EQ(0, vmm_load(__size)) \
			TH_LOG("loading vmm size=%s failed: %s", __size, \
			       strerror(errno)); \
	} \
	*__fdp = open(VMM_DEV, O_RDWR | O_CLOEXEC); \
	ASSERT_LE(0, *__fdp) TH_LOG("open %s: %s", VMM_DEV, strerror(errno)); \
	__err = vmm_free_all(*__fdp); \
	ASSERT_EQ(0, __err) TH_LOG("emptying the arena: %s", strerror(__err)); \
	ASSERT_EQ(0ULL, vmm_sysfs("blocks")); \
	ASSERT_EQ(0ULL, vmm_sysfs("used")); \
	ASSERT_EQ(vmm_sysfs("size"), vmm_sysfs("largest_free")); \
	if (vmm_last_load) \
		vmm_last_load->dirty = 1; \
} while (0)

/*
 * For the teardown of a VMM_SETUP_SHARED case: only a case that passed
 * hands its load on.  One that failed, crashed or timed out may have left
 * state behind (a parameter, a process still holding the device), and the
 * next case reloads rather than fail for it.
 */
#define VMM_TEARDOWN_SHARED() do { \
	if (vmm_last_load && _metadata->passed) \
		vmm_last_load->dirty = 0; \
} while (0)

/*
 * The last ID the module handed out, found by allocating a 1-byte block
 * and freeing it again: the next block gets *@id + 1.  For cases on a
 * shared load, whose IDs do not start at 1.  0, or the failed call's
 * errno.
 */
static inline int vmm_last_id(int fd, __u64 *id)
{
	struct vmm_alloc_args a = { .size = 1 };
	struct vmm_free_args f;

	if (ioctl(fd, VMM_IOC_ALLOC, &a))
		return errno;
	f = (struct vmm_free_args){ .id = a.id };
	if (ioctl(fd, VMM_IOC_FREE, &f))
		return errno;
	*id = a.id;
	return 0;
}

/*
 * Each test reloads the module with its own size.  The program puts back
 * what it found: the size the module was loaded with when the program
 * started (recorded before any test runs), or no module at all.  The
 * destructor runs in the harness's parent process only; test children
 * leave with _exit() and skip it.
 */
static char vmm_initial_size[32];	/* "" if vmm was not loaded */

static void __attribute__((constructor)) vmm_record_initial_size(void)
{
	FILE *f = fopen(VMM_PARAM_SIZE, "r");

	if (!f)
		return;
	if (!fgets(vmm_initial_size, sizeof(vmm_initial_size), f))
		vmm_initial_size[0] = '\0';
	vmm_initial_size[strcspn(vmm_initial_size, "\n")] = '\0';
	fclose(f);
}

static void __attribute__((destructor)) vmm_restore_at_exit(void)
{
	if (geteuid() != 0)
		return;
	vmm_unload_for_reload();
	/* A reference the last test leaked: fail, as no later test will. */
	if (vmm_module_loaded()) {
		fprintf(stderr, "# vmm is still loaded after the tests: something holds it\n");
		fflush(NULL);
		_exit(KSFT_FAIL);
	}
	if (vmm_initial_size[0])
		vmm_load(vmm_initial_size);
}

/*
 * ---- ioctl wrappers: return ioctl()'s result, errno as the kernel set it.
 * vmm_lib_test defines VMM_UTIL_NO_WRAPPERS: it tests libvmm's functions
 * of the same names.
 */
#ifndef VMM_UTIL_NO_WRAPPERS

static inline int vmm_alloc(int fd, __u64 size, __u64 align, __u64 *id,
			    __u64 *offset)
{
	struct vmm_alloc_args a = { .size = size, .align = align };
	int ret = ioctl(fd, VMM_IOC_ALLOC, &a);

	if (ret == 0) {
		if (id)
			*id = a.id;
		if (offset)
			*offset = a.offset;
	}
	return ret;
}

static inline int vmm_free(int fd, __u64 id)
{
	struct vmm_free_args a = { .id = id };

	return ioctl(fd, VMM_IOC_FREE, &a);
}

static inline int vmm_info(int fd, __u64 id, __u64 *offset, __u64 *size)
{
	struct vmm_info_args a = { .id = id };
	int ret = ioctl(fd, VMM_IOC_INFO, &a);

	if (ret == 0) {
		if (offset)
			*offset = a.offset;
		if (size)
			*size = a.size;
	}
	return ret;
}

static inline int vmm_defrag(int fd, __u64 *bytes, __u64 *blocks)
{
	struct vmm_defrag_args a = { 0 };
	int ret = ioctl(fd, VMM_IOC_DEFRAG, &a);

	if (ret == 0) {
		if (bytes)
			*bytes = a.bytes_moved;
		if (blocks)
			*blocks = a.blocks_moved;
	}
	return ret;
}

static inline int vmm_stats(int fd, struct vmm_stats_args *st)
{
	memset(st, 0, sizeof(*st));
	return ioctl(fd, VMM_IOC_STATS, st);
}

static inline int vmm_select(int fd, __u64 id)
{
	struct vmm_select_args a = { .id = id };

	return ioctl(fd, VMM_IOC_SELECT, &a);
}

static inline int vmm_rw(int fd, unsigned long cmd, __u64 id, __u64 offset,
			 const void *buf, __u64 length)
{
	struct vmm_rw_args a = {
		.id = id,
		.offset = offset,
		.length = length,
		.buffer = (__u64)(uintptr_t)buf,
	};

	return ioctl(fd, cmd, &a);
}

static inline int vmm_read(int fd, __u64 id, __u64 offset, void *buf,
			   __u64 length)
{
	return vmm_rw(fd, VMM_IOC_READ, id, offset, buf, length);
}

static inline int vmm_write(int fd, __u64 id, __u64 offset, const void *buf,
			    __u64 length)
{
	return vmm_rw(fd, VMM_IOC_WRITE, id, offset, buf, length);
}

static inline int vmm_list(int fd, __u64 start_id, struct vmm_block_info *buf,
			   __u32 capacity, __u32 *count, __u64 *next_id)
{
	struct vmm_list_args a = {
		.buffer = (__u64)(uintptr_t)buf,
		.capacity = capacity,
		.start_id = start_id,
	};
	int ret = ioctl(fd, VMM_IOC_LIST, &a);

	if (ret == 0) {
		if (count)
			*count = a.count;
		if (next_id)
			*next_id = a.next_id;
	}
	return ret;
}

#endif /* VMM_UTIL_NO_WRAPPERS */

/* ---- sysfs */

/*
 * Read a file holding one decimal value and a newline, strictly: anything
 * else (missing file, junk, no newline) returns UINT64_MAX, which no test
 * expects.
 */
static inline __u64 vmm_read_u64_file(const char *path)
{
	char buf[64], *end;
	unsigned long long v;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return UINT64_MAX;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 2 || buf[n - 1] != '\n' || buf[0] < '0' || buf[0] > '9')
		return UINT64_MAX;
	buf[n] = '\0';
	errno = 0;
	v = strtoull(buf, &end, 10);
	if (errno || end != buf + n - 1)
		return UINT64_MAX;
	return v;
}

static inline __u64 vmm_sysfs(const char *name)
{
	char path[128];

	snprintf(path, sizeof(path), VMM_SYSFS_DIR "%s", name);
	return vmm_read_u64_file(path);
}

/*
 * max_lock_hold_ns, for the lock-hold tests.  A test that cannot read it
 * stops there: a failed read (UINT64_MAX) must not be judged as a hold,
 * and in every round it would pass any bound.
 */
static inline __u64 vmm_max_hold(struct __test_metadata *_metadata)
{
	__u64 ns;
	int err;

	errno = 0;
	ns = vmm_sysfs("max_lock_hold_ns");
	err = errno;
	ASSERT_NE(UINT64_MAX, ns)
		TH_LOG("cannot read " VMM_SYSFS_DIR "max_lock_hold_ns (%s): is vmm.ko loaded, with sysfs mounted?",
		       err ? strerror(err) : "not a number");
	return ns;
}

/*
 * @get(@arg) once it returns @want, or what it returns after 10 s.  For
 * counts that a process's exit brings down: its memory (and with it its
 * mappings) goes when the last user of its mm lets go, which can be someone
 * else for a moment (a reader of /proc/PID, the kernel's page aging) after
 * the process exec'd or was reaped.
 */
static inline __u64 vmm_settles(__u64 (*get)(const void *arg),
				const void *arg, __u64 want)
{
	__u64 v = get(arg);
	int i;

	for (i = 0; i < 1000 && v != want; i++) {
		usleep(10000);
		v = get(arg);
	}
	return v;
}

static inline __u64 vmm_sysfs_of(const void *name)
{
	return vmm_sysfs(name);
}

/* The sysfs counter @name once it reads @want (vmm_settles()). */
static inline __u64 vmm_sysfs_settles(const char *name, __u64 want)
{
	return vmm_settles(vmm_sysfs_of, name, want);
}

/* The header's formula, in integers: 1000 * (free - largest) / free. */
static inline __u64 vmm_frag(__u64 free, __u64 largest_free)
{
	return free ? 1000 * (free - largest_free) / free : 0;
}

/* ---- data patterns */

/* Deterministic, non-periodic bytes that differ per @seed. */
static inline void vmm_fill(void *buf, size_t len, unsigned int seed)
{
	__u32 x = seed * 2654435761u + 0x9e3779b9u;
	unsigned char *p = buf;
	size_t i;

	for (i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = (unsigned char)x;
	}
}

/* True if @len bytes at @buf are all @c. */
static inline bool vmm_all(const void *buf, size_t len, unsigned char c)
{
	const unsigned char *p = buf;
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i] != c)
			return false;
	return true;
}

/*
 * Remove capability @cap from this task's effective, permitted and
 * inheritable sets, keeping its uids: root without it, as in a container
 * that drops it.  Return: 0, or -1 with errno set.
 */
static inline int vmm_drop_cap(unsigned int cap)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
	__u32 mask = CAP_TO_MASK(cap);
	unsigned int i = CAP_TO_INDEX(cap);

	if (i >= _LINUX_CAPABILITY_U32S_3) {
		errno = EINVAL;
		return -1;
	}
	if (syscall(SYS_capget, &hdr, data))
		return -1;
	data[i].effective &= ~mask;
	data[i].permitted &= ~mask;
	data[i].inheritable &= ~mask;
	return syscall(SYS_capset, &hdr, data) ? -1 : 0;
}

/*
 * NULL, hidden from the compiler (noipa: no inlining, no propagation of
 * the return value) so that passing it to read(2) or write(2) on purpose
 * does not trip -Wnonnull.
 */
static __attribute__((noipa, unused)) void *vmm_null(void)
{
	return NULL;
}

/* An address that is certainly not mapped: a page mapped, then unmapped. */
static inline void *vmm_unmapped_addr(void)
{
	long pg = sysconf(_SC_PAGESIZE);
	void *p = mmap(NULL, pg, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	munmap(p, pg);
	return p;
}

/* Assert a successful ALLOC and its placement. */
#define ALLOC_AT(fd, size, align, want_id, want_off) do { \
	__u64 __id = 0, __off = 0, __sz = (size), __al = (align); \
	ASSERT_EQ(0, vmm_alloc(fd, __sz, __al, &__id, &__off)) \
		TH_LOG("alloc size=%llu align=%llu: %s", \
		       (unsigned long long)__sz, (unsigned long long)__al, \
		       strerror(errno)); \
	ASSERT_EQ((__u64)(want_id), __id); \
	ASSERT_EQ((__u64)(want_off), __off); \
} while (0)

/* Assert a failing call: -1 and the errno. */
#define EXPECT_ERR(err, call) do { \
	errno = 0; \
	int __ret = (call); \
	int __err = errno; \
	EXPECT_EQ(-1, __ret); \
	EXPECT_EQ(err, __err) TH_LOG("errno %d (%s)", __err, strerror(__err)); \
} while (0)

#define ASSERT_ERR(err, call) do { \
	errno = 0; \
	int __ret = (call); \
	int __err = errno; \
	ASSERT_EQ(-1, __ret); \
	ASSERT_EQ(err, __err) TH_LOG("errno %d (%s)", __err, strerror(__err)); \
} while (0)

/* Assert a successful call, reporting errno otherwise. */
#define ASSERT_OK(call) do { \
	errno = 0; \
	int __ret = (call); \
	ASSERT_EQ(0, __ret) TH_LOG("%s: %s", #call, strerror(errno)); \
} while (0)

#define EXPECT_OK(call) do { \
	errno = 0; \
	int __ret = (call); \
	EXPECT_EQ(0, __ret) TH_LOG("%s: %s", #call, strerror(errno)); \
} while (0)

/* Assert a block's offset and size through VMM_IOC_INFO. */
#define ASSERT_BLOCK(fd, id, want_off, want_size) do { \
	__u64 __o = 0, __s = 0, __bid = (id); \
	ASSERT_OK(vmm_info(fd, __bid, &__o, &__s)); \
	ASSERT_EQ((__u64)(want_off), __o) \
		TH_LOG("block %llu offset", (unsigned long long)__bid); \
	ASSERT_EQ((__u64)(want_size), __s) \
		TH_LOG("block %llu size", (unsigned long long)__bid); \
} while (0)

#endif /* _VMM_UTIL_H */
