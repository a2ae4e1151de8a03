// SPDX-License-Identifier: GPL-2.0
/*
 * vmm_pty: run a command on a pseudo-terminal and copy what it prints to
 * standard output, so that vmmctl_test.sh can check what vmmctl does on a
 * terminal (colours, summary line, redrawing) in a guest without script(1).
 *
 * Usage: vmm_pty COMMAND [ARGS...]
 * The command's standard input, output and error are the terminal (80x24,
 * output post-processing off, so bytes arrive as written).  Exits with the
 * command's exit status, 127 if it cannot be run, 126 on a setup failure.
 */
#define _GNU_SOURCE		/* posix_openpt() and friends */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

static int setup_fail(const char *what)
{
	fprintf(stderr, "vmm_pty: %s: %s\n", what, strerror(errno));
	return 126;
}

int main(int argc, char **argv)
{
	struct winsize ws = { .ws_row = 24, .ws_col = 80 };
	struct termios tio;
	char buf[4096], *name;
	int master, slave, status;
	pid_t pid;

	if (argc < 2) {
		fprintf(stderr, "usage: vmm_pty COMMAND [ARGS...]\n");
		return 126;
	}
	master = posix_openpt(O_RDWR | O_NOCTTY);
	if (master < 0 || grantpt(master) || unlockpt(master))
		return setup_fail("cannot get a pseudo-terminal (is devpts mounted?)");
	name = ptsname(master);
	if (!name)
		return setup_fail("ptsname");
	slave = open(name, O_RDWR | O_NOCTTY);
	if (slave < 0)
		return setup_fail(name);
	/* Raw output: no "\n" to "\r\n", so the test sees vmmctl's bytes. */
	if (tcgetattr(slave, &tio))
		return setup_fail("tcgetattr");
	tio.c_oflag &= ~(tcflag_t)OPOST;
	if (tcsetattr(slave, TCSANOW, &tio) || ioctl(slave, TIOCSWINSZ, &ws))
		return setup_fail("setting up the terminal");

	pid = fork();
	if (pid < 0)
		return setup_fail("fork");
	if (!pid) {
		close(master);
		setsid();
		ioctl(slave, TIOCSCTTY, 0);
		dup2(slave, STDIN_FILENO);
		dup2(slave, STDOUT_FILENO);
		dup2(slave, STDERR_FILENO);
		if (slave > STDERR_FILENO)
			close(slave);
		execvp(argv[1], argv + 1);
		fprintf(stderr, "vmm_pty: cannot run %s: %s\n", argv[1],
			strerror(errno));
		_exit(127);
	}
	close(slave);
	/* EIO on the master means every slave descriptor is closed. */
	for (;;) {
		ssize_t n = read(master, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (fwrite(buf, 1, (size_t)n, stdout) != (size_t)n)
			return setup_fail("writing standard output");
	}
	if (waitpid(pid, &status, 0) < 0)
		return setup_fail("waitpid");
	fflush(stdout);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}
