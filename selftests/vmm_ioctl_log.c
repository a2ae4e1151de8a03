// SPDX-License-Identifier: GPL-2.0
/*
 * vmm_ioctl_log LOG CMD [ARG]...: run CMD under ptrace(2) and append one
 * line per vmm ioctl it makes to the file LOG: the command's name and, for
 * VMM_IOC_BATCH, its entry count ("BATCH 6").  With VMM_IOCTL_NO_BATCH=1
 * in the environment, VMM_IOC_BATCH fails with ENOTTY, as under a module
 * without the ioctl, and never reaches the kernel.  A helper of
 * vmmctl_test.sh (the guest has no strace), not a test.
 *
 * ptrace rather than an LD_PRELOAD library, so that a static program and
 * a 32-bit one (the 32-bit jobs' vmmctl is both) are logged too.  Only
 * CMD's own process is followed, through any exec; it exits as CMD does.
 * Stop signals do not stop it (a group-stop is passed on as a signal,
 * which ptrace then drops).  A line naming this program on stderr, and
 * exit status 125, mean the tracing failed.
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/audit.h>
#include <linux/vmm.h>

#define FAILED		125
#define IOCTL_I386	54	/* ioctl in arch/x86/entry/syscalls/syscall_32.tbl */

static const char *const names[] = {
	"ALLOC", "FREE", "DEFRAG", "INFO",  "STATS", "SELECT", "READ",
	"WRITE", "LIST", "CHMOD",  "CHOWN", "USAGE", "BATCH",
};

static void die(const char *what)
{
	fprintf(stderr, "vmm_ioctl_log: %s: %s\n", what, strerror(errno));
	exit(FAILED);
}

/*
 * A ptrace request on the tracee; false if it is gone (killed meanwhile:
 * the next waitpid() says how), and the end of the run on any other error.
 */
static bool req(enum __ptrace_request r, pid_t pid, void *addr, void *data,
		const char *what)
{
	if (!ptrace(r, pid, addr, data))
		return true;
	if (errno != ESRCH)
		die(what);
	return false;
}

/* The count field of the vmm_batch_args at @arg in @pid, or -1. */
static long batch_count(pid_t pid, unsigned long arg)
{
	unsigned long at = arg + offsetof(struct vmm_batch_args, count);
	unsigned long word;
	long got;

	/* The aligned word holding the field: never across a page. */
	errno = 0;
	got = ptrace(PTRACE_PEEKDATA, pid, at & ~7UL, NULL);
	if (errno)
		return -1;
	word = (unsigned long)got >> (8 * (at & 7));
	return (long)(word & 0xffffffffUL);
}

static void log_call(FILE *log, pid_t pid, unsigned long cmd,
		     unsigned long arg)
{
	unsigned int nr = _IOC_NR(cmd);

	if (cmd == VMM_IOC_BATCH)
		fprintf(log, "BATCH %ld\n", batch_count(pid, arg));
	else if (nr < sizeof(names) / sizeof(names[0]))
		fprintf(log, "%s\n", names[nr]);
	else
		fprintf(log, "0x%02x\n", nr);
	if (fflush(log))
		die("writing the log");
}

#ifdef __x86_64__
/*
 * Refuse the syscall at whose entry @pid stopped: @exit false, make it no
 * syscall at all; @exit true, at its exit, make its result -ENOTTY.
 */
static void refuse(pid_t pid, bool exit)
{
	struct user_regs_struct r;

	if (!req(PTRACE_GETREGS, pid, NULL, &r, "PTRACE_GETREGS"))
		return;
	if (exit)
		r.rax = -ENOTTY;
	else
		r.orig_rax = -1;
	req(PTRACE_SETREGS, pid, NULL, &r, "PTRACE_SETREGS");
}
#define CAN_REFUSE	1
#else
static void refuse(pid_t pid, bool exit)
{
	(void)pid;
	(void)exit;
}
#define CAN_REFUSE	0
#endif

/*
 * At a syscall stop: log a vmm ioctl at its entry; refuse it when asked
 * to.  *@refusing carries the refusal from the entry to the exit.
 */
static void on_syscall(FILE *log, pid_t pid, bool nobatch, bool *refusing)
{
	struct __ptrace_syscall_info si;
	unsigned long cmd;

	if (ptrace(PTRACE_GET_SYSCALL_INFO, pid, (void *)sizeof(si), &si) <= 0) {
		if (errno != ESRCH)
			die("PTRACE_GET_SYSCALL_INFO");
		return;
	}
	if (si.op == PTRACE_SYSCALL_INFO_EXIT && *refusing) {
		refuse(pid, true);
		*refusing = false;
	}
	if (si.op != PTRACE_SYSCALL_INFO_ENTRY ||
	    si.entry.nr != (si.arch == AUDIT_ARCH_I386 ? IOCTL_I386 : SYS_ioctl))
		return;
	cmd = (unsigned int)si.entry.args[1];
	if (_IOC_TYPE(cmd) != VMM_IOC_MAGIC)
		return;
	log_call(log, pid, cmd, si.entry.args[2]);
	if (nobatch && cmd == VMM_IOC_BATCH) {
		refuse(pid, false);
		*refusing = true;
	}
}

static int trace(pid_t pid, FILE *log, bool nobatch)
{
	bool refusing = false;
	int status, sig = 0;

	/* The child's own SIGSTOP, before its exec. */
	if (waitpid(pid, &status, 0) != pid)
		die("waitpid");
	if (!WIFSTOPPED(status) || WSTOPSIG(status) != SIGSTOP) {
		errno = ECHILD;
		die("the command's process did not stop before its exec");
	}
	req(PTRACE_SETOPTIONS, pid, NULL,
	    (void *)(PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACEEXEC |
		     PTRACE_O_EXITKILL), "PTRACE_SETOPTIONS");
	for (;;) {
		req(PTRACE_SYSCALL, pid, NULL, (void *)(long)sig,
		    "PTRACE_SYSCALL");
		sig = 0;
		if (waitpid(pid, &status, 0) != pid)
			die("waitpid");
		if (WIFEXITED(status))
			return WEXITSTATUS(status);
		if (WIFSIGNALED(status)) {
			/* Die of the same signal, as the shell would see it. */
			fclose(log);
			signal(WTERMSIG(status), SIG_DFL);
			kill(getpid(), WTERMSIG(status));
			return 128 + WTERMSIG(status);
		}
		if (WSTOPSIG(status) == (SIGTRAP | 0x80))
			on_syscall(log, pid, nobatch, &refusing);
		else if (!(status >> 16))	/* not a ptrace event (exec) */
			sig = WSTOPSIG(status);	/* delivered on resuming */
	}
}

int main(int argc, char **argv)
{
	const char *nb = getenv("VMM_IOCTL_NO_BATCH");
	bool nobatch = nb && !strcmp(nb, "1");
	FILE *log;
	pid_t pid;

	if (argc < 3) {
		fprintf(stderr, "usage: vmm_ioctl_log LOG CMD [ARG]...\n");
		return FAILED;
	}
	if (nobatch && !CAN_REFUSE) {
		fprintf(stderr, "vmm_ioctl_log: VMM_IOCTL_NO_BATCH=1 needs x86-64\n");
		return FAILED;
	}
	log = fopen(argv[1], "ae");
	if (!log)
		die(argv[1]);
	pid = fork();
	if (pid < 0)
		die("fork");
	if (!pid) {
		if (ptrace(PTRACE_TRACEME, 0, NULL, NULL))
			die("PTRACE_TRACEME");
		raise(SIGSTOP);
		execvp(argv[2], argv + 2);
		die(argv[2]);
	}
	return trace(pid, log, nobatch);
}
