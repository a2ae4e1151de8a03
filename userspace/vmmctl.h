/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vmmctl: internal interfaces shared by its source files.
 */
#ifndef VMMCTL_H
#define VMMCTL_H

#include <stdint.h>
#include <stddef.h>
#include <linux/types.h>
#include <stdio.h>

#include "libvmm.h"

#define VMMCTL_VERSION "0.6.0"

/* Exit classes; the comments name the Python simulator's exceptions. */
enum {
	EXIT_OK = 0,
	EXIT_USAGE = 1, /* bad usage of vmmctl itself */
	EXIT_INVAL = 2, /* ValueError */
	EXIT_RANGE = 3, /* IndexError */
	EXIT_NOSPC = 4, /* MemoryError */
	EXIT_PERM = 5, /* permission denied */
	EXIT_FAIL = 6, /* device missing or anything else */
};

struct command;

/**
 * struct ctx - state of one vmmctl run (or of a whole batch)
 * @device: the device path
 * @fd: the open device, or -1 until a command needs it
 * @batch: set while running "vmmctl batch": output is one line per command
 * @cmd: the command being run, for messages; NULL before dispatch
 * @usage: the last failure was a usage error (print the synopsis)
 * @msg: the last failure's message, one line, without "vmmctl: "
 * @arena_size: the arena's size once a read or a write of standard input
 *	asked for it, else 0; it does not change while @fd is open
 * @stdout_said: the command reported an error writing standard output
 *	itself, so main() does not say it again
 */
struct ctx {
	const char *device;
	int fd;
	int batch;
	const struct command *cmd;
	int usage;
	char msg[1024];
	__u64 arena_size;
	int stdout_said;
};

/**
 * struct command - one subcommand
 * @name: what the user types
 * @run: does the work; argv[0] is @name; returns an exit class
 * @synopsis: the usage line, without "vmmctl "
 * @help: the rest of the COMMAND --help text
 */
struct command {
	const char *name;
	int (*run)(struct ctx *c, int argc, char **argv);
	const char *synopsis;
	const char *help;
};

/* The page size: a mappable block is whole pages. */
int64_t page_size(void);

/* Record a failure of class @cls; returns @cls. */
int fail(struct ctx *c, int cls, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Record a usage error (class 1); returns EXIT_USAGE. */
int fail_usage(struct ctx *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Record a failure from a kernel errno with generic wording. */
int fail_errno(struct ctx *c, int err, const char *what);
/* The exit class of a kernel errno. */
int errno_class(int err);

/* The device, opened on first use; -(exit class) after recording a failure. */
int dev_fd(struct ctx *c);

/* Print @cmd's help (or, in batch mode, its synopsis line) to stdout. */
void print_command_help(const struct ctx *c, const struct command *cmd);

/*
 * Parse a signed 64-bit decimal; with @suffixes, one K, M or G (powers of
 * 1024) may follow.  Returns 0, -EINVAL for anything else, -ERANGE for
 * digits beyond a signed 64-bit integer, or -EOVERFLOW for digits within
 * it that their suffix takes beyond.
 */
int parse_s64(const char *s, int64_t *out, int suffixes);

/*
 * Say why @what '@s' is not a number, with parse_s64()'s @err and
 * @suffixes: a usage error.  Returns EXIT_USAGE.
 */
int fail_num(struct ctx *c, const char *what, const char *s, int err,
	     int suffixes);

/* Whether "-h" or "--help" comes before any "--" in argv[1..argc-1]. */
int wants_help(int argc, char **argv);

/*
 * Split argv[1..argc-1] into positionals and "--name[=value]" options.
 * @opts lists the accepted option names, "name" for a flag and "name="
 * for one that takes a value; @vals[i] receives the value (or "" for a
 * flag) of @opts[i], NULL if absent.  "-h" and "--help" anywhere before
 * "--" print the command's help.  Everything else, including "-", "-1"
 * and anything after "--", is positional.
 *
 * Returns 0 when @npos positionals are in @pos, 1 when help was printed,
 * or -1 after recording a usage error.
 */
int parse_args(struct ctx *c, int argc, char **argv, const char *const *opts,
	       const char **vals, char **pos, int npos);

/* Parse a number argument called @what, recording a usage error; 0 or -1. */
int arg_num(struct ctx *c, const char *what, const char *s, int64_t *v,
	    int suffixes);

/**
 * struct op - one alloc, free, write, read or info command, parsed
 * @kind: its VMM_BATCH_* op
 * @id: the block (free, write, read, info)
 * @off: OFFSET (write, read)
 * @len: SIZE (alloc) or LENGTH (read)
 * @align: --align (alloc)
 * @flags: VMM_ALLOC_* from the options (alloc)
 * @mode: --mode (alloc), if @has_mode
 * @has_mode: --mode was given
 * @json: --json (info)
 * @from_stdin: DATA is '-' (write)
 * @data: the bytes to write, or the buffer to read into (NULL for a read
 *	longer than the arena, which the kernel refuses)
 * @dlen: bytes at @data to write
 * @owned: what op_release() frees: the read buffer, or the data read from
 *	standard input
 * @new_id: out: the ID an alloc got
 * @info: out: what info got
 */
struct op {
	__u32 kind;
	int64_t id;
	int64_t off;
	int64_t len;
	int64_t align;
	__u32 flags;
	__u32 mode;
	int has_mode;
	int json;
	int from_stdin;
	char *data;
	size_t dlen;
	char *owned;
	__u64 new_id;
	struct vmm_info_args info;
};

/* The block operations (blockop.c), run singly by cmd_op() or in a batch. */
/* The VMM_BATCH_* op of command @name, or 0 if it has none. */
__u32 op_kind(const char *name);
/* Parse argv (argv[0] names the op): 0, 1 if help was printed, or -class. */
int op_parse(struct ctx *c, int argc, char **argv, struct op *o);
/* What needs the device before the call (buffers, stdin): exit class. */
int op_prepare(struct ctx *c, int fd, struct op *o);
/* The op by its single ioctl: 0 or -errno. */
int op_exec(int fd, struct op *o);
/* The op as an entry of VMM_IOC_BATCH. */
void op_entry(const struct op *o, struct vmm_batch_entry *e);
/* The entry's outcome once it ran: 0 (its outputs copied into @o) or -errno. */
int op_result(struct op *o, const struct vmm_batch_entry *e);
/* Print the command's output for @ret 0, else word its failure: exit class. */
int op_finish(struct ctx *c, int fd, const struct op *o, int ret);
void op_release(struct op *o);
/* alloc, free, write, read and info on their own. */
int cmd_op(struct ctx *c, int argc, char **argv);

/* The commands (cmd.c). */
int cmd_defrag(struct ctx *c, int argc, char **argv);
int cmd_list(struct ctx *c, int argc, char **argv);
int cmd_stats(struct ctx *c, int argc, char **argv);
int cmd_map(struct ctx *c, int argc, char **argv);

/* Through a mapping (mmap.c). */
int cmd_cat(struct ctx *c, int argc, char **argv);
int cmd_fill(struct ctx *c, int argc, char **argv);

/* Ownership (perm.c). */
int cmd_chmod(struct ctx *c, int argc, char **argv);
int cmd_chown(struct ctx *c, int argc, char **argv);
/* Parse an octal mode of at most 0777; returns 0, or -1 for garbage. */
int parse_mode(const char *s, __u32 *mode);
/*
 * How a table prints: --raw separates the columns by one space, without
 * padding; --noheadings leaves out the header line.
 */
enum table_style {
	TABLE_RAW = 1,
	TABLE_NOHEADINGS = 2,
};

int table_options(struct ctx *c, const char *json, const char *raw,
		  const char *noheadings, int *style);
/*
 * Print the per-uid usage of "stats --users", a table in @style (see
 * table_options()) or (@json) one JSON object; returns an exit class.
 */
int print_users(struct ctx *c, int fd, int json, int style);

/**
 * struct stats_rates - what "stats --watch" computes between two refreshes
 * @interval: the requested seconds between refreshes
 * @valid: the rates below are set (not on the first refresh)
 * @allocs: allocations per second
 * @frees: frees per second
 * @bytes_moved: bytes moved by defragmentation per second
 */
struct stats_rates {
	double interval;
	int valid;
	double allocs;
	double frees;
	double bytes_moved;
};

/* Views of the arena (observe.c). */
#define NR_STATS 13
/* The counters' names, as in sysfs, in the order "vmmctl stats" shows. */
extern const char *const stat_names[NR_STATS];
/* Their values from @st into @v[NR_STATS]. */
void stats_values(const struct vmm_stats_args *st, __u64 *v);
const char *stats_policy(const struct vmm_stats_args *st);
/* The counters as one JSON object; with @r, the rates too. */
void print_stats_json(const struct vmm_stats_args *st,
		      const struct stats_rates *r, int oneline);
/* One block as a JSON object on one line, without a newline. */
void print_block_json(const struct vmm_block_info *b);
/* {"count": N, "blocks": [{"id":, "offset":, "size":}, ...]} */
void print_list_json(const struct vmm_block_info *v, size_t n, int oneline);
/* Refresh the counters every @interval s, @count times (0: until SIGINT). */
int stats_watch(struct ctx *c, int fd, double interval, int64_t count,
		int json);
/* Colour or not: --no-color (@never), --color (@force), NO_COLOR, a tty. */
int want_color(const char *force, const char *never);
/* The map line of blocks @v (sorted by offset), @unit bytes a character. */
void print_map(const struct vmm_block_info *v, size_t n, __u64 size, __u64 unit,
	       int color);
/* used, free, largest free extent, fragmentation, blocks: one line. */
void print_map_summary(const struct vmm_stats_args *st);

/* vmmctl map --svg (svg.c): 0, or a negative errno. */
int write_map_svg(FILE *f, const struct vmm_block_info *v, size_t n,
		  const struct vmm_stats_args *st);

/* The batch runner (batch.c). */
int cmd_batch(struct ctx *c, int argc, char **argv);
/* Bytes with control characters and '\\' escaped as batch input takes. */
int put_escaped(const void *p, size_t n);

/* Find a command by name (vmmctl.c); NULL if there is none. */
const struct command *find_command(const char *name);
/* Run one command line, recording a failure in @c; returns its class. */
int run_command(struct ctx *c, int argc, char **argv);

#endif /* VMMCTL_H */
