// SPDX-License-Identifier: GPL-2.0
/*
 * vmmctl: command-line front end of the vmm kernel arena (/dev/vmm).
 *
 * This file holds the entry point, the command table and help texts, the
 * shared error and argument helpers.  The commands live in cmd.c, those
 * a batch can group (alloc, free, write, read, info) in blockop.c, and the
 * batch runner in batch.c.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "libvmm.h"
#include "vmmctl.h"

static int cmd_help(struct ctx *c, int argc, char **argv);

static const struct command commands[] = {
	{ "alloc", cmd_op,
	  "alloc SIZE [--align N] [--compact] [--mode MODE] [--scoped] [--mappable]",
	  "Allocate a block of SIZE bytes and print its ID.\n"
	  "\n"
	  "The block goes where the module's policy puts it (the lowest\n"
	  "offset where it fits: first fit, the default; or the smallest\n"
	  "free range where it fits: policy=best) and reads as zeros.\n"
	  "SIZE is a decimal number of bytes, optionally\n"
	  "followed by K, M or G (x1024, x1024^2, x1024^3).\n"
	  "\n"
	  "  --align N   place the block at an offset that is a multiple of N\n"
	  "              (0 or 1 for no constraint, else a power of two no\n"
	  "              larger than the arena)\n"
	  "  --compact   if no free range is large enough but enough bytes\n"
	  "              are free, defragment and try again (the module\n"
	  "              parameter auto_compact=1 does this for every call)\n"
	  "  --mode MODE the block's permission bits, octal, at most 0777\n"
	  "              (default 0600: only you may read and write it)\n"
	  "  --scoped    free the block when the device is closed; since\n"
	  "              vmmctl closes it when it exits, the block is gone\n"
	  "              as soon as this command ends (inside 'vmmctl batch',\n"
	  "              when the batch ends): for trying the feature out\n"
	  "  --mappable  make a block that can be mapped into memory (mmap):\n"
	  "              SIZE rounded up to whole pages, on a page boundary\n"
	  "              ('vmmctl info' shows the rounded size); 'vmmctl cat'\n"
	  "              and 'vmmctl fill' use it, and so can programs, with\n"
	  "              libvmm's vmm_map()\n"
	  "\n"
	  "You own the block (your effective uid and gid).  Exit 4 also when\n"
	  "you would exceed max_blocks_per_uid, max_bytes_per_uid or,\n"
	  "without CAP_SYS_ADMIN, max_blocks_unprivileged.\n"
	  "Exit 2 if SIZE is not 1 to the arena size (with --mappable, once\n"
	  "rounded up) or N is not allowed; exit 4 if no free range is large\n"
	  "enough: 'vmmctl defrag' merges the free space into one range.\n" },
	{ "free", cmd_op, "free ID",
	  "Free the block ID; its bytes become free space.\n"
	  "\n"
	  "Exit 2 if no block has that ID (never allocated or already\n"
	  "freed); exit 5 if the block is not yours (only its owner or\n"
	  "root may free it).  IDs are never reused while the module stays\n"
	  "loaded.\n" },
	{ "chmod", cmd_chmod, "chmod MODE ID",
	  "Set the permission bits of block ID to MODE (octal, at most\n"
	  "0777), as chmod(1) does for files: r lets read, w lets write,\n"
	  "for the owner, the group and others.\n"
	  "\n"
	  "Exit 5 unless you own the block or are root; exit 1 for a bad\n"
	  "MODE; exit 2 if the ID is unknown.\n" },
	{ "chown", cmd_chown, "chown UID[:GID] ID",
	  "Change the owner and/or group of block ID (numeric ids; ':GID'\n"
	  "alone changes only the group).\n"
	  "\n"
	  "Only root may give a block to another owner; the owner may\n"
	  "change its group to one of their own groups.  Exit 5 otherwise;\n"
	  "exit 4 if the new owner would exceed a per-uid limit; exit 2 if\n"
	  "the ID is unknown, or UID or GID has no mapping in your user\n"
	  "namespace.\n" },
	{ "write", cmd_op, "write ID OFFSET DATA",
	  "Store DATA in block ID, starting OFFSET bytes into the block.\n"
	  "\n"
	  "DATA is the literal bytes of the argument, without a newline.\n"
	  "A DATA of '-' means: read all of standard input and store that\n"
	  "(binary-safe; not available inside 'vmmctl batch'; exit 2 if it\n"
	  "holds more than the arena, without reading the rest).  Put '--'\n"
	  "before a DATA that starts with '--'; a DATA of '-h' is data.\n"
	  "\n"
	  "Nothing is written unless all of DATA fits.  Exit 3 if OFFSET is\n"
	  "negative or not inside the block; exit 2 if DATA is longer than\n"
	  "the block's size minus OFFSET, or the ID is unknown.\n" },
	{ "read", cmd_op, "read ID OFFSET LENGTH",
	  "Write LENGTH bytes of block ID, starting OFFSET bytes into the\n"
	  "block, to standard output: exactly those bytes, with no newline\n"
	  "added (binary-safe; pipe through 'od -c' to look at them).\n"
	  "\n"
	  "Exit 2 if LENGTH is less than 1 or the ID is unknown; exit 3 if\n"
	  "OFFSET is negative or OFFSET + LENGTH runs past the block's end.\n" },
	{ "cat", cmd_cat, "cat ID [--offset N] [--length N]",
	  "Write the bytes of block ID to standard output, read through a\n"
	  "read-only mapping of the block (mmap): exactly those bytes, with\n"
	  "no newline added (binary-safe; pipe through 'od -c' to look at\n"
	  "them).\n"
	  "\n"
	  "  --offset N  start N bytes into the block (default 0; K, M and G\n"
	  "              suffixes allowed)\n"
	  "  --length N  write N bytes (default: up to the end of the block)\n"
	  "\n"
	  "The block must have been allocated with 'vmmctl alloc --mappable';\n"
	  "for any block, 'vmmctl read ID OFFSET LENGTH' copies bytes out\n"
	  "without a mapping.  The mapping exists only while this command\n"
	  "runs: vmmctl maps the block, copies it out and unmaps it before it\n"
	  "exits.  If defragmentation moves the block meanwhile, the mapping\n"
	  "follows it.  A shell cannot hold a mapping; a program that wants\n"
	  "one that lasts calls libvmm's vmm_map() (see libvmm.h).\n"
	  "\n"
	  "Exit 2 if the ID is unknown, the block is not mappable, or N of\n"
	  "--length is less than 1; exit 3 if the range runs outside the\n"
	  "block; exit 5 if you may not read the block.\n" },
	{ "fill", cmd_fill, "fill ID PATTERN [--offset N] [--length N]",
	  "Store PATTERN over and over in block ID, through a writable mapping\n"
	  "of the block (mmap): the byte at --offset gets PATTERN's first\n"
	  "byte, and the last copy is cut short where the range ends.\n"
	  "\n"
	  "  --offset N  start N bytes into the block (default 0; K, M and G\n"
	  "              suffixes allowed)\n"
	  "  --length N  fill N bytes (default: up to the end of the block)\n"
	  "\n"
	  "PATTERN is the literal bytes of the argument, '-' and '-h'\n"
	  "included, at least one; put '--' before a PATTERN that starts\n"
	  "with '--'.\n"
	  "The block must have been allocated with 'vmmctl alloc --mappable';\n"
	  "for any block, 'vmmctl write ID OFFSET DATA' stores bytes without a\n"
	  "mapping.  A writable mapping needs both r and w on the block.  The\n"
	  "mapping exists only while this command runs: vmmctl maps the\n"
	  "range, fills it and unmaps it before it exits.  A shell cannot hold\n"
	  "a mapping; a program that wants one that lasts calls libvmm's\n"
	  "vmm_map() (see libvmm.h).\n"
	  "\n"
	  "Exit 1 if PATTERN is empty; exit 2 if the ID is unknown, the block\n"
	  "is not mappable, or N of --length is less than 1; exit 3 if the\n"
	  "range runs outside the block; exit 5 if you may not both read and\n"
	  "write the block.\n" },
	{ "defrag", cmd_defrag, "defrag [--budget BYTES] [--progress]",
	  "Slide every block toward offset 0, keeping their order, IDs and\n"
	  "data, so that all free space becomes one range at the end of the\n"
	  "arena.  Prints the number of bytes moved.  Without root, the\n"
	  "kernel moves at most 4 MiB a call; vmmctl calls again until the\n"
	  "arena is compact.\n"
	  "\n"
	  "  --budget BYTES  move at most BYTES, in one call (one block more\n"
	  "                  if even the first is larger), then stop; run it\n"
	  "                  again to go on (K, M and G suffixes allowed)\n"
	  "  --progress      defragment completely in steps of --budget\n"
	  "                  (default 1M), drawing a progress bar on standard\n"
	  "                  error when it is a terminal\n"
	  "\n"
	  "A block another program is reading or writing at that moment stays\n"
	  "where it is, and so does, without root, another user's block that\n"
	  "is over 4 MiB or mapped: if that leaves the arena not compact (or\n"
	  "others keep freeing below their blocks), it prints what moved and\n"
	  "exits 6 (never with --budget alone, which makes one call).  Exit 6\n"
	  "also if a signal interrupts it (the blocks moved so far stay moved,\n"
	  "with their data).\n" },
	{ "info", cmd_op, "info ID [--json]",
	  "Show the current offset, the size, the owner and group (numeric),\n"
	  "the mode (octal) of block ID, whether it is scoped, whether it is\n"
	  "mappable (allocated with --mappable) and how many mappings of it\n"
	  "exist now, in every process (mapped), one 'name value' per line.\n"
	  "\n"
	  "  --json   one JSON object on one line instead, with the keys of a\n"
	  "           block of 'vmmctl list --json'\n"
	  "\n"
	  "Exit 2 if the ID is unknown; exit 5 if you may neither read nor\n"
	  "write the block.\n" },
	{ "list", cmd_list, "list [--json | [--raw] [--noheadings]]",
	  "Show a table of the live blocks in ID order: ID, OFFSET, SIZE\n"
	  "(offsets and sizes in bytes), OWNER, GROUP (numeric), MODE\n"
	  "(octal) and MAPPED (the mappings of the block that exist now, or\n"
	  "'-' for a block not allocated with --mappable).  Every user sees\n"
	  "every block, never its data.\n"
	  "\n"
	  "  --json        one JSON object instead: {\"count\": N, \"blocks\":\n"
	  "                [{\"id\": I, \"offset\": O, \"size\": S, \"owner\": U,\n"
	  "                \"group\": G, \"mode\": \"0600\", \"scoped\": false,\n"
	  "                \"mappable\": false, \"mapped\": 0}, ...]}, one block\n"
	  "                a line (one line in all in batch mode)\n"
	  "  --raw         columns separated by one space, not aligned\n"
	  "  --noheadings  no header line\n"
	  "\n"
	  "In batch mode --raw and --noheadings change nothing: the line has\n"
	  "neither padding nor a header.\n" },
	{ "stats", cmd_stats,
	  "stats [--users [--raw] [--noheadings]] [--json] [--watch [SECONDS]] [--count N]",
	  "Show the arena counters, one 'name value' per line, with the\n"
	  "names of the files in /sys/class/misc/vmm/: size, used, free,\n"
	  "largest_free, blocks, fragmentation (permille), allocs, frees,\n"
	  "alloc_failures, defrags, bytes_moved, metadata_bytes (kernel\n"
	  "memory for the bookkeeping), mapped_blocks (blocks with at least\n"
	  "one mapping, freed ones whose mappings still hold their range\n"
	  "included), and policy (first or best fit).\n"
	  "\n"
	  "  --users            instead, show a table of what each uid holds\n"
	  "                     (UID, BLOCKS, BYTES), as the per-uid limits\n"
	  "                     count it, and NS-BLOCKS, the part of BLOCKS\n"
	  "                     held through the uid's user namespaces; exit\n"
	  "                     5 in a user namespace\n"
	  "  --raw              with --users: columns separated by one space,\n"
	  "                     not aligned\n"
	  "  --noheadings       with --users: no header line\n"
	  "  --json             one JSON object with those keys (numbers,\n"
	  "                     policy a string) and max_lock_hold_ns; with\n"
	  "                     --users {\"users\": [{\"uid\": U, \"blocks\": B,\n"
	  "                     \"bytes\": N, \"ns_blocks\": S}, ...]}, one uid\n"
	  "                     a line (one line in all in batch mode)\n"
	  "  --watch [SECONDS]  refresh every SECONDS (default 2, 0.1 to\n"
	  "                     86400) until Ctrl-C, adding allocs/s,\n"
	  "                     frees/s and bytes_moved/s since the last\n"
	  "                     refresh; redrawn in place on a terminal, one\n"
	  "                     block per refresh otherwise; with --json one\n"
	  "                     object a line with interval_s, allocs_per_s,\n"
	  "                     frees_per_s, bytes_moved_per_s (null at first)\n"
	  "  --count N          with --watch: stop after N refreshes\n"
	  "\n"
	  "--watch is not available in batch mode.\n" },
	{ "map", cmd_map,
	  "map [--width N] [--raw] [--color|--no-color] [--summary] [--svg FILE]",
	  "Draw the arena on one line: X for allocated, - for free.\n"
	  "\n"
	  "  --width N   at most N characters (default 64); each stands for\n"
	  "              ceil(size / N) bytes and is X if any of them is\n"
	  "              allocated\n"
	  "  --raw       one character per byte\n"
	  "  --color     colour even when standard output is not a terminal:\n"
	  "              each block in a colour of a cycling palette, free\n"
	  "              space dim (the default on a terminal, unless the\n"
	  "              NO_COLOR environment variable is set and not empty)\n"
	  "  --no-color  plain characters, even on a terminal\n"
	  "  --summary   add a line: used, free, largest free extent,\n"
	  "              fragmentation and blocks (the default on a terminal)\n"
	  "  --svg FILE  write a picture of the arena to FILE ('-' for\n"
	  "              standard output) instead: blocks as rectangles\n"
	  "              proportional to their size, labelled with their ID\n"
	  "              where it fits, free space hatched, blocks too small\n"
	  "              to see summed per pixel column, a legend and the\n"
	  "              counters below\n"
	  "\n"
	  "In batch mode the map is always one plain line, and --svg wants\n"
	  "a file name and prints ok.\n" },
	{ "batch", cmd_batch, "batch",
	  "Run commands read from standard input, one per line, written as\n"
	  "on the command line without 'vmmctl' (e.g. 'alloc 10').\n"
	  "\n"
	  "Every command prints exactly one line on standard output:\n"
	  "  alloc           the new ID\n"
	  "  free, write     ok (also chmod, chown, fill)\n"
	  "  read, cat       the bytes read, escaped as in MESSAGE below\n"
	  "  defrag          the number of bytes moved\n"
	  "  map             the map line (--svg FILE: ok)\n"
	  "  info, stats     name=value pairs separated by spaces\n"
	  "  stats --users   users=, then uid=U,blocks=B,bytes=N,ns_blocks=M\n"
	  "                  per user\n"
	  "  list            blocks=N, then id=I,offset=O,size=S,...,mapped=M\n"
	  "                  per block\n"
	  "  list/stats/info --json  the JSON object on one line\n"
	  "  COMMAND --help  the command's usage line\n"
	  "  (any failure)   error CLASS MESSAGE, CLASS being the exit status\n"
	  "                  the command would have had on its own (control\n"
	  "                  characters and backslashes in MESSAGE written\n"
	  "                  as \\n, \\t, \\r, \\xHH and \\\\)\n"
	  "\n"
	  "Blank lines and lines whose first non-blank character is '#' are\n"
	  "skipped and print nothing.  Words are split at blanks; 'single'\n"
	  "quotes keep everything literally, \"double\" quotes and unquoted\n"
	  "words take backslash escapes \\n \\t \\r \\xHH (not \\x00), and a\n"
	  "backslash before any other character keeps that character.\n"
	  "'write ID OFFSET -' is refused: standard input holds the commands.\n"
	  "\n"
	  "All commands share one open device.  The batch carries on after a\n"
	  "failure and exits 0 if every command succeeded, otherwise with the\n"
	  "class of the last failure.\n"
	  "\n"
	  "Consecutive alloc, free, write, read and info lines already waiting\n"
	  "on standard input go to the kernel in one call (VMM_IOC_BATCH, up\n"
	  "to 256); the output is the same, and a line is never held back\n"
	  "waiting for more input.  Without the ioctl they run one by one.\n" },
	{ "help", cmd_help, "help [COMMAND]",
	  "Show the overview, or the help of COMMAND.\n" },
};

#define NR_COMMANDS (sizeof(commands) / sizeof(commands[0]))

/*
 * The help text is laid out as it prints, one line of output per source
 * line, which the formatter would indent and split.
 */
/* clang-format off */
static const char main_help[] =
"Manage the blocks of the vmm kernel arena.\n"
"\n"
"Commands:\n"
"  alloc SIZE [--align N]  allocate SIZE bytes (K/M/G suffixes); print the ID\n"
"  free ID                 free a block (yours, unless you are root)\n"
"  chmod MODE ID           set a block's permission bits (octal, e.g. 0640)\n"
"  chown UID[:GID] ID      change a block's owner (root) or group\n"
"  write ID OFFSET DATA    store DATA (the argument, '-' for stdin) in a block\n"
"  read ID OFFSET LENGTH   copy LENGTH bytes of a block to stdout\n"
"  cat ID                  a mappable block's bytes to stdout, through mmap\n"
"  fill ID PATTERN         repeat PATTERN over a mappable block, through mmap\n"
"  defrag                  compact the arena; print the bytes moved\n"
"  info ID                 show a block's offset, size, owner, mode, mappings\n"
"  list [--json | [--raw] [--noheadings]]\n"
"                          table of the live blocks, in ID order\n"
"  stats [--users [--raw] [--noheadings]] [--json] [--watch [SECONDS]]\n"
"                          the arena counters, once or refreshed, with rates\n"
"  map [--width N] [--svg FILE]\n"
"                          the arena on one line (colour on a terminal), or\n"
"                          as an SVG picture\n"
"  batch                   run commands from stdin, one result line each\n"
"  help [COMMAND]          this text, or a command's\n"
"\n"
"Options:\n"
"  -d, --device DEVICE     the vmm device (default " VMM_DEVICE_PATH ")\n"
"  -h, --help              show this help\n"
"  -V, --version           show the versions of vmmctl and of the module\n"
"\n"
"Numbers are signed decimal; IDs, offsets and sizes are bytes or block\n"
"IDs as listed by 'vmmctl list'.  The kernel checks every bound.\n"
"\n"
"Exit status:\n"
"  0  success\n"
"  1  bad usage of vmmctl (see the message and '--help')\n"
"  2  invalid value: size, alignment, unknown ID, data too long, LENGTH < 1,\n"
"     a block not allocated with --mappable (cat, fill)\n"
"  3  offset outside the block\n"
"  4  no contiguous free range large enough (try 'vmmctl defrag'), or a\n"
"     per-user limit reached\n"
"  5  permission denied on the device or the block\n"
"  6  device missing (is the module loaded?), an output file that cannot\n"
"     be written, or any other failure\n"
"\n"
"Environment:\n"
"  NO_COLOR                when set and not empty, 'map' does not colour\n"
"\n"
"Run 'vmmctl COMMAND --help' for the details of a command, or see vmmctl(1).\n";
/* clang-format on */

const struct command *find_command(const char *name)
{
	size_t i;

	for (i = 0; i < NR_COMMANDS; i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

static void vfail(struct ctx *c, const char *fmt, va_list ap)
{
	size_t n = 0;

	if (c->cmd) {
		int r = snprintf(c->msg, sizeof(c->msg), "%s: ", c->cmd->name);

		n = r > 0 ? (size_t)r : 0;
	}
	vsnprintf(c->msg + n, sizeof(c->msg) - n, fmt, ap);
}

int fail(struct ctx *c, int cls, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail(c, fmt, ap);
	va_end(ap);
	c->usage = 0;
	return cls;
}

int fail_usage(struct ctx *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail(c, fmt, ap);
	va_end(ap);
	c->usage = 1;
	return EXIT_USAGE;
}

int64_t page_size(void)
{
	long p = sysconf(_SC_PAGESIZE);

	return p > 0 ? p : 4096;
}

int errno_class(int err)
{
	switch (err) {
	case 0:
		return EXIT_OK;
	case EINVAL:
	case ENOENT:
	case EFBIG:
		return EXIT_INVAL;
	case ERANGE:
		return EXIT_RANGE;
	case ENOSPC:
		return EXIT_NOSPC;
	case EACCES:
	case EPERM:
		return EXIT_PERM;
	default:
		return EXIT_FAIL;
	}
}

int fail_errno(struct ctx *c, int err, const char *what)
{
	int cls = errno_class(err);

	switch (err) {
	case EACCES:
	case EPERM:
		return fail(c, cls,
			    "%s: %s on %s; run as root or ask for access to it",
			    what, strerror(err), c->device);
	case ENOTTY:
		return fail(
			c, cls,
			"%s: %s is not a vmm device (it does not know the ioctl); point -d at the vmm device",
			what, c->device);
	case ENOMEM:
		return fail(
			c, cls,
			"%s: the kernel is out of memory; free some memory and try again",
			what);
	case EINTR:
		return fail(c, cls, "%s: interrupted by a signal; run it again",
			    what);
	default:
		return fail(
			c, cls,
			"%s: %s; check 'dmesg' for messages from the vmm module",
			what, strerror(err));
	}
}

int dev_fd(struct ctx *c)
{
	int fd;

	if (c->fd >= 0)
		return c->fd;
	fd = vmm_open(c->device);
	if (fd >= 0) {
		c->fd = fd;
		return fd;
	}
	switch (-fd) {
	case EACCES:
	case EPERM:
		return -fail(
			c, EXIT_PERM,
			"cannot open %s: %s; run as root (e.g. with sudo) or ask for access to %s",
			c->device, strerror(-fd), c->device);
	case EMFILE:
		return -fail(
			c, EXIT_FAIL,
			"cannot open %s: %s; raise the limit on open files (e.g. 'ulimit -n 1024') and retry",
			c->device, strerror(-fd));
	case ENOENT:
	case ENODEV:
	case ENXIO:
		return -fail(
			c, EXIT_FAIL,
			"cannot open %s: %s; the vmm module is probably not loaded: load it with 'modprobe vmm', and check the permissions on %s",
			c->device, strerror(-fd), c->device);
	default:
		return -fail(
			c, EXIT_FAIL,
			"cannot open %s: %s; check that it is the vmm device and that you may open it for reading and writing",
			c->device, strerror(-fd));
	}
}

int parse_s64(const char *s, int64_t *out, int suffixes)
{
	const char *p = s;
	long long v;
	char *end;
	int64_t mul = 1;
	int big;

	if (*p == '-' || *p == '+')
		p++;
	if (*p < '0' || *p > '9')
		return -EINVAL;
	errno = 0;
	v = strtoll(s, &end, 10);
	/* Too many digits, but garbage after them says more. */
	big = errno == ERANGE;
	if (errno && !big)
		return -EINVAL;
	if (suffixes && *end) {
		switch (*end) {
		case 'k':
		case 'K':
			mul = INT64_C(1) << 10;
			break;
		case 'm':
		case 'M':
			mul = INT64_C(1) << 20;
			break;
		case 'g':
		case 'G':
			mul = INT64_C(1) << 30;
			break;
		default:
			return -EINVAL;
		}
		end++;
	}
	if (*end)
		return -EINVAL;
	if (big)
		return -ERANGE;
	if (__builtin_mul_overflow((int64_t)v, mul, out))
		return -EOVERFLOW;
	return 0;
}

int fail_num(struct ctx *c, const char *what, const char *s, int err,
	     int suffixes)
{
	if (err == -ERANGE || err == -EOVERFLOW)
		return fail_usage(
			c,
			"%s '%s' is out of range: it must lie from %" PRId64
			" to %" PRId64 "%s",
			what, s, INT64_MIN, INT64_MAX,
			err == -EOVERFLOW ? " once its suffix is applied" : "");
	return fail_usage(c, "%s '%s' is not a %sdecimal number%s", what, s,
			  suffixes ? "" : "signed 64-bit ",
			  suffixes ? " (K, M and G suffixes allowed)" : "");
}

void print_command_help(const struct ctx *c, const struct command *cmd)
{
	if (c->batch) {
		printf("usage: %s\n", cmd->synopsis);
		return;
	}
	printf("Usage: vmmctl [-d DEVICE] %s\n\n%s", cmd->synopsis, cmd->help);
}

/*
 * Whether argv[@i] stands where write takes its DATA or fill its PATTERN
 * (the last argument that is not an option), which may be any bytes.
 */
static int is_data_word(char **argv, int i)
{
	int want, j, n = 0;

	if (!strcmp(argv[0], "write"))
		want = 3;
	else if (!strcmp(argv[0], "fill"))
		want = 2;
	else
		return 0;
	for (j = 1; j < i; j++) {
		if (!strcmp(argv[j], "--offset") ||
		    !strcmp(argv[j], "--length"))
			j++; /* and its value */
		else if (strncmp(argv[j], "--", 2))
			n++;
	}
	return j == i && n + 1 == want;
}

/*
 * --help or -h anywhere before "--", except a -h that is the DATA of write
 * or the PATTERN of fill: "write 1 0 -h" writes "-h".
 */
int wants_help(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc && strcmp(argv[i], "--"); i++)
		if (!strcmp(argv[i], "--help") ||
		    (!strcmp(argv[i], "-h") && !is_data_word(argv, i)))
			return 1;
	return 0;
}

int parse_args(struct ctx *c, int argc, char **argv, const char *const *opts,
	       const char **vals, char **pos, int npos)
{
	int i, n = 0, dashdash = 0;
	size_t k;

	/* Help wins over everything else on the line. */
	if (wants_help(argc, argv)) {
		print_command_help(c, c->cmd);
		return 1;
	}
	for (k = 0; opts && opts[k]; k++)
		vals[k] = NULL;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (dashdash || strncmp(a, "--", 2)) {
			/* -x: not a number, so meant as a short option. */
			if (n == npos && !dashdash && a[0] == '-' && a[1] &&
			    (a[1] < '0' || a[1] > '9')) {
				fail_usage(
					c,
					"unknown option '%s'; the options of '%s' are long ones ('vmmctl %s --help' lists them)",
					a, c->cmd->name, c->cmd->name);
				return -1;
			}
			if (n == npos) {
				fail_usage(c, "unexpected argument '%s'", a);
				return -1;
			}
			pos[n++] = argv[i];
			continue;
		}
		if (!a[2]) {
			dashdash = 1;
			continue;
		}
		for (k = 0; opts && opts[k]; k++) {
			size_t len = strlen(opts[k]);
			int takes = opts[k][len - 1] == '=';

			if (takes)
				len--;
			if (strncmp(a + 2, opts[k], len))
				continue;
			if (!takes && !a[2 + len]) {
				vals[k] = "";
				break;
			}
			if (takes && a[2 + len] == '=') {
				vals[k] = a + 3 + len;
				break;
			}
			if (takes && !a[2 + len]) {
				if (i + 1 >= argc) {
					fail_usage(c,
						   "option '%s' needs a value",
						   a);
					return -1;
				}
				vals[k] = argv[++i];
				break;
			}
		}
		if (!opts || !opts[k]) {
			fail_usage(c, "unknown option '%s'", a);
			return -1;
		}
	}
	if (n < npos) {
		fail_usage(c, "missing argument%s (%d given, %d needed)",
			   npos - n > 1 ? "s" : "", n, npos);
		return -1;
	}
	return 0;
}

static int cmd_help(struct ctx *c, int argc, char **argv)
{
	const struct command *cmd;
	char *name[1];
	int i, r;

	/* "help" alone, or "help COMMAND"; "help --help" is handled too. */
	if (argc < 2) {
		if (c->batch)
			printf("usage: COMMAND [ARGS...]; run 'vmmctl --help' for the list\n");
		else
			printf("Usage: vmmctl [-d DEVICE] COMMAND [ARGS...]\n\n%s",
			       main_help);
		return EXIT_OK;
	}
	for (i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			break;
	if (i < argc) {
		print_command_help(c, c->cmd);
		return EXIT_OK;
	}
	r = parse_args(c, argc, argv, NULL, NULL, name, 1);
	if (r)
		return r < 0 ? EXIT_USAGE : EXIT_OK;
	cmd = find_command(name[0]);
	if (!cmd)
		return fail_usage(
			c, "unknown command '%s'; 'vmmctl --help' lists them",
			name[0]);
	print_command_help(c, cmd);
	return EXIT_OK;
}

int run_command(struct ctx *c, int argc, char **argv)
{
	const struct command *cmd = find_command(argv[0]);

	c->cmd = NULL;
	c->usage = 0;
	c->msg[0] = '\0';
	if (!cmd)
		return fail_usage(
			c,
			"unknown command '%s'; 'vmmctl --help' lists the commands",
			argv[0]);
	c->cmd = cmd;
	return cmd->run(c, argc, argv);
}

static int show_version(void)
{
	char mod[128];
	int ret;

	printf("vmmctl %s\n", VMMCTL_VERSION);
	ret = vmm_module_version(mod, sizeof(mod));
	if (ret == -ENOENT) {
		printf("module: not loaded\n");
	} else if (ret) {
		printf("module: unknown (%s)\n", strerror(-ret));
	} else {
		printf("module: %s\n", mod);
		if (strcmp(mod, VMMCTL_VERSION))
			fprintf(stderr,
				"vmmctl: warning: version mismatch: vmmctl is %s but the loaded module is %s; install the matching vmmctl or reload the matching module\n",
				VMMCTL_VERSION, mod);
	}
	return EXIT_OK;
}

/*
 * @ret, or EXIT_FAIL if standard output took an error; with a message,
 * unless the command said so already (@stdout_said: cat's failed write,
 * say), which a second message would only repeat.
 */
static int flush_stdout(int ret, int stdout_said)
{
	if (fflush(stdout) || ferror(stdout)) {
		if (!stdout_said)
			fprintf(stderr,
				"vmmctl: error writing to standard output: %s\n",
				strerror(errno));
		if (!ret)
			ret = EXIT_FAIL;
	}
	return ret;
}

static int main_usage(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

static int main_usage(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "vmmctl: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nUsage: vmmctl [-d DEVICE] COMMAND [ARGS...]\n"
			"Try 'vmmctl --help' for the list of commands.\n");
	return EXIT_USAGE;
}

int main(int argc, char **argv)
{
	struct ctx c = { .device = VMM_DEVICE_PATH, .fd = -1 };
	int i, ret;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			printf("Usage: vmmctl [-d DEVICE] COMMAND [ARGS...]\n\n%s",
			       main_help);
			return flush_stdout(EXIT_OK, 0);
		} else if (!strcmp(a, "-V") || !strcmp(a, "--version")) {
			return flush_stdout(show_version(), 0);
		} else if (!strcmp(a, "-d") || !strcmp(a, "--device")) {
			if (++i >= argc)
				return main_usage(
					"option '%s' needs a device path", a);
			c.device = argv[i];
		} else if (!strncmp(a, "--device=", 9)) {
			c.device = a + 9;
		} else if (!strncmp(a, "-d", 2)) {
			c.device = a + 2;
		} else if (!strcmp(a, "--")) {
			i++;
			break;
		} else if (a[0] == '-') {
			return main_usage("unknown option '%s'", a);
		} else {
			break;
		}
	}
	if (!*c.device)
		return main_usage(
			"the device path is empty; give -d a path such as %s",
			VMM_DEVICE_PATH);
	if (i >= argc)
		return main_usage("no command given");

	ret = run_command(&c, argc - i, argv + i);
	if (ret && c.msg[0]) {
		fprintf(stderr, "vmmctl: %s\n", c.msg);
		if (c.usage && c.cmd)
			fprintf(stderr,
				"Usage: vmmctl [-d DEVICE] %s\nTry 'vmmctl %s --help' for more.\n",
				c.cmd->synopsis, c.cmd->name);
	}
	ret = flush_stdout(ret, c.stdout_said);
	if (c.fd >= 0)
		vmm_close(c.fd);
	return ret;
}
