// SPDX-License-Identifier: GPL-2.0
/*
 * vmmctl: the commands that talk to the device.
 *
 * The kernel enforces every bound; these functions pass the user's numbers
 * through (negative ones as their two's complement) and only word the
 * errors, fetching the block's or the arena's figures after a failure to
 * say what went wrong and what to do next.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "libvmm.h"
#include "vmmctl.h"

int arg_num(struct ctx *c, const char *what, const char *s, int64_t *v,
	    int suffixes)
{
	int err = parse_s64(s, v, suffixes);

	if (!err)
		return 0;
	fail_num(c, what, s, err, suffixes);
	return -1;
}

static int by_offset(const void *a, const void *b)
{
	const struct vmm_block_info *x = a, *y = b;

	return x->offset < y->offset ? -1 : x->offset > y->offset;
}

/* Bytes a full defragmentation would move: the blocks above the first hole. */
static int bytes_to_move(int fd, __u64 *total)
{
	struct vmm_block_info *v;
	__u64 end = 0;
	size_t n, i;
	int ret;

	ret = vmm_list_all(fd, &v, &n);
	if (ret)
		return ret;
	if (n > 1)
		qsort(v, n, sizeof(*v), by_offset);
	*total = 0;
	for (i = 0; i < n; i++) {
		if (*total || v[i].offset != end)
			*total += v[i].size;
		end = v[i].offset + v[i].size;
	}
	free(v);
	return 0;
}

static void draw_progress(__u64 done, __u64 total, int final)
{
	const int width = 40;
	int pct, fill;

	pct = total ? (int)(done * 100 / total) : 100;
	if (pct > 100 || final)
		pct = final ? 100 : 99;
	if (!final && pct == 100)
		pct = 99;
	fill = pct * width / 100;
	fprintf(stderr, "\r[%.*s%*s] %3d%% %llu bytes moved", fill,
		"########################################", width - fill, "",
		pct, (unsigned long long)done);
	if (final)
		fputc('\n', stderr);
	fflush(stderr);
}

/*
 * Steps of @budget bytes (0: as much as the kernel lets one call move)
 * until the arena is compact, with a bar on standard error if @bar and it
 * is a terminal.  Returns DEFRAG_STUCK if DEFRAG_TRIES steps in a row,
 * DEFRAG_PAUSE_MS apart, moved nothing (a copy that pins a block briefly
 * does not end it), and DEFRAG_CHURN once it has moved more than twice
 * the bytes in blocks when it started (a block a copy pinned for a moment
 * may have the blocks above it move twice; more than that, and others keep
 * opening gaps): the kernel's bound on one call would mean nothing if
 * vmmctl called without end.
 */
#define DEFRAG_STUCK 1000
#define DEFRAG_CHURN 1001
#define DEFRAG_TRIES 3
#define DEFRAG_PAUSE_MS 20

static int defrag_until_compact(struct ctx *c, int fd, __u64 budget, int bar,
				__u64 *moved)
{
	const struct timespec pause = { 0, DEFRAG_PAUSE_MS * 1000000L };
	int compact = 0, idle = 0, ret;
	__u64 total = 0, bytes, blocks;
	struct vmm_stats_args st;

	ret = vmm_stats(fd, &st);
	if (ret)
		return fail_errno(c, -ret, "cannot read the counters");
	bar = bar && isatty(STDERR_FILENO);
	if (bar) {
		ret = bytes_to_move(fd, &total);
		if (ret)
			return fail_errno(c, -ret, "cannot list the blocks");
	}
	*moved = 0;
	while (!compact) {
		ret = vmm_defrag_step(fd, budget, 0, &bytes, &blocks, &compact);
		if (ret) {
			if (bar)
				fputc('\n', stderr);
			return ret;
		}
		*moved += bytes;
		idle = blocks ? 0 : idle + 1;
		if (bar)
			draw_progress(*moved, total, compact);
		if (compact)
			break;
		/* What is left in the way does not move for us now. */
		if (idle == DEFRAG_TRIES) {
			if (bar)
				fputc('\n', stderr);
			return DEFRAG_STUCK;
		}
		if (*moved / 2 > st.used) {
			if (bar)
				fputc('\n', stderr);
			return DEFRAG_CHURN;
		}
		if (idle)
			nanosleep(&pause, NULL);
	}
	return 0;
}

#define DEFRAG_STEP_DEFAULT (1ULL << 20)

int cmd_defrag(struct ctx *c, int argc, char **argv)
{
	static const char *const opts[] = { "budget=", "progress", NULL };
	const char *vals[2];
	int64_t budget = 0;
	__u64 bytes;
	int fd, ret;

	ret = parse_args(c, argc, argv, opts, vals, NULL, 0);
	if (ret)
		return ret < 0 ? EXIT_USAGE : EXIT_OK;
	if (vals[0] && arg_num(c, "BYTES", vals[0], &budget, 1))
		return EXIT_USAGE;
	if (budget < 0 || (vals[0] && !budget)) {
		fail_usage(
			c,
			"--budget wants a positive number of bytes, got '%s'; leave it out for no limit",
			vals[0]);
		return EXIT_USAGE;
	}
	fd = dev_fd(c);
	if (fd < 0)
		return -fd;
	/*
	 * Without a budget, call until compact: a caller without
	 * CAP_SYS_ADMIN moves at most VMM_DEFRAG_USER_BUDGET a call.
	 */
	if (vals[1])
		ret = defrag_until_compact(
			c, fd, budget ? (__u64)budget : DEFRAG_STEP_DEFAULT, 1,
			&bytes);
	else if (!budget)
		ret = defrag_until_compact(c, fd, 0, 0, &bytes);
	else
		ret = vmm_defrag_step(fd, (__u64)budget, 0, &bytes, NULL, NULL);
	if (ret == -EINTR)
		return fail(
			c, EXIT_FAIL,
			"interrupted by a signal; the blocks moved so far stay in place: run 'vmmctl defrag' again to finish");
	if (ret == DEFRAG_STUCK || ret == DEFRAG_CHURN) {
		/* Batch mode: the one line is the failure, saying what moved. */
		if (!c->batch)
			printf("%llu\n", (unsigned long long)bytes);
		if (ret == DEFRAG_CHURN)
			return fail(
				c, EXIT_FAIL,
				"not compact after moving %llu bytes, more than twice what the blocks held when it started: other programs keep freeing below their blocks; run 'vmmctl defrag' again later",
				(unsigned long long)bytes);
		return fail(
			c, EXIT_FAIL,
			"not compact after moving %llu bytes: a block in the way is in use by another task's copy, or is another user's block that is over 4 MiB or mapped, which only its owner or root moves; run 'vmmctl defrag' again later",
			(unsigned long long)bytes);
	}
	if (ret > 0)
		return ret;
	if (ret)
		return fail_errno(c, -ret, "cannot defragment");
	printf("%llu\n", (unsigned long long)bytes);
	return EXIT_OK;
}

/* The MAPPED column: the count, or "-" for a block that cannot be mapped. */
static const char *mapped_col(const struct vmm_block_info *b, char *buf,
			      size_t len)
{
	if (!(b->attrs & VMM_BLOCK_MAPPABLE))
		return "-";
	snprintf(buf, len, "%llu", b->mapped);
	return buf;
}

/*
 * --raw and --noheadings, checked against --json: 0 with *@style set, or
 * the exit status.
 */
int table_options(struct ctx *c, const char *json, const char *raw,
		  const char *noheadings, int *style)
{
	*style = 0;
	if (json && (raw || noheadings))
		return fail_usage(
			c,
			"--%s formats the table, and --json prints JSON instead; give one of them",
			raw ? "raw" : "noheadings");
	*style = (raw ? TABLE_RAW : 0) | (noheadings ? TABLE_NOHEADINGS : 0);
	return EXIT_OK;
}

int cmd_list(struct ctx *c, int argc, char **argv)
{
	static const char *const opts[] = { "json", "raw", "noheadings", NULL };
	const char *vals[3];
	struct vmm_block_info *v;
	size_t n, i;
	int fd, ret, style, w;

	ret = parse_args(c, argc, argv, opts, vals, NULL, 0);
	if (ret)
		return ret < 0 ? EXIT_USAGE : EXIT_OK;
	ret = table_options(c, vals[0], vals[1], vals[2], &style);
	if (ret)
		return ret;
	/* The columns' widths, or none: printf pads to 0 characters. */
	w = style & TABLE_RAW ? 0 : 1;
	fd = dev_fd(c);
	if (fd < 0)
		return -fd;
	ret = vmm_list_all(fd, &v, &n);
	if (ret)
		return fail_errno(c, -ret, "cannot list the blocks");
	if (vals[0]) {
		print_list_json(v, n, c->batch);
		free(v);
		return EXIT_OK;
	}
	if (c->batch)
		printf("blocks=%zu", n);
	else if (!(style & TABLE_NOHEADINGS))
		printf("%*s %*s %*s %*s %*s %*s %*s\n", 10 * w, "ID", 12 * w,
		       "OFFSET", 12 * w, "SIZE", 10 * w, "OWNER", 10 * w,
		       "GROUP", 4 * w, "MODE", 6 * w, "MAPPED");
	for (i = 0; i < n; i++) {
		char m[24];

		if (c->batch)
			printf(" id=%llu,offset=%llu,size=%llu,owner=%u,group=%u,mode=%04o,mapped=%s",
			       v[i].id, v[i].offset, v[i].size, v[i].uid,
			       v[i].gid, v[i].mode,
			       mapped_col(&v[i], m, sizeof(m)));
		else
			printf("%*llu %*llu %*llu %*u %*u %04o %*s\n", 10 * w,
			       v[i].id, 12 * w, v[i].offset, 12 * w, v[i].size,
			       10 * w, v[i].uid, 10 * w, v[i].gid, v[i].mode,
			       6 * w, mapped_col(&v[i], m, sizeof(m)));
	}
	if (c->batch)
		putchar('\n');
	free(v);
	return EXIT_OK;
}

/*
 * "--watch" takes an optional value: "--watch 5" becomes "--watch=5" when
 * the next word is a number, so that parse_args() sees one option.
 */
static int join_watch(int argc, char **argv, char **out, char *buf, size_t len)
{
	int i, n = 0;

	for (i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--")) {
			while (i < argc)
				out[n++] = argv[i++];
			break;
		}
		/* Only a value that fits, never cut (a later join wins). */
		if (!strcmp(argv[i], "--watch") && i + 1 < argc &&
		    strspn(argv[i + 1], "0123456789.") == strlen(argv[i + 1]) &&
		    argv[i + 1][0] &&
		    strlen(argv[i + 1]) < len - strlen("--watch=")) {
			snprintf(buf, len, "--watch=%s", argv[i + 1]);
			out[n++] = buf;
			i++;
			continue;
		}
		out[n++] = argv[i];
	}
	out[n] = NULL;
	return n;
}

#define WATCH_DEFAULT_S 2.0
#define WATCH_MAX_S 86400.0

int cmd_stats(struct ctx *c, int argc, char **argv)
{
	static const char *const opts[] = { "json",	  "watch", "watch=",
					    "count=",	  "users", "raw",
					    "noheadings", NULL };
	const char *vals[7];
	struct vmm_stats_args st;
	__u64 values[NR_STATS];
	double interval = WATCH_DEFAULT_S;
	int64_t count = 0;
	char **args, buf[64], *end;
	int fd, ret, style;
	size_t i;

	args = calloc((size_t)argc + 1, sizeof(*args));
	if (!args)
		return fail(c, EXIT_FAIL, "out of memory");
	ret = parse_args(c, join_watch(argc, argv, args, buf, sizeof(buf)),
			 args, opts, vals, NULL, 0);
	free(args);
	if (ret)
		return ret < 0 ? EXIT_USAGE : EXIT_OK;
	if (vals[2]) {
		errno = 0;
		interval = strtod(vals[2], &end);
		if (errno || end == vals[2] || *end || !(interval >= 0.1) ||
		    interval > WATCH_MAX_S)
			return fail_usage(
				c,
				"--watch wants SECONDS from 0.1 to 86400 (e.g. 1 or 0.5), got '%s'",
				vals[2]);
	}
	if (vals[3] && (parse_s64(vals[3], &count, 0) || count < 1))
		return fail_usage(
			c,
			"--count wants a number of refreshes of at least 1, got '%s'",
			vals[3]);
	if (vals[3] && !vals[1] && !vals[2])
		return fail_usage(
			c,
			"--count only makes sense with --watch; add --watch [SECONDS]");
	if ((vals[1] || vals[2]) && c->batch)
		return fail_usage(
			c,
			"--watch does not end on its own, so it is not available in batch mode; run 'vmmctl stats --watch' directly");
	if (vals[4] && (vals[1] || vals[2] || vals[3]))
		return fail_usage(
			c,
			"--users shows a table of its own, once; run it without --watch or --count");
	/* --json first: adding --users would not mend that one. */
	ret = table_options(c, vals[0], vals[5], vals[6], &style);
	if (ret)
		return ret;
	if (!vals[4] && (vals[5] || vals[6]))
		return fail_usage(
			c,
			"--%s formats the table of --users; add --users, or leave it out",
			vals[5] ? "raw" : "noheadings");
	fd = dev_fd(c);
	if (fd < 0)
		return -fd;
	if (vals[4])
		return print_users(c, fd, !!vals[0], style);
	if (vals[1] || vals[2])
		return stats_watch(c, fd, interval, count, !!vals[0]);
	ret = vmm_stats(fd, &st);
	if (ret)
		return fail_errno(c, -ret, "cannot read the counters");
	if (vals[0]) {
		print_stats_json(&st, NULL, c->batch);
		return EXIT_OK;
	}
	stats_values(&st, values);
	for (i = 0; i < NR_STATS; i++) {
		if (c->batch)
			printf("%s%s=%llu", i ? " " : "", stat_names[i],
			       values[i]);
		else
			printf("%s %llu\n", stat_names[i], values[i]);
	}
	if (c->batch)
		printf(" policy=%s\n", stats_policy(&st));
	else
		printf("policy %s\n", stats_policy(&st));
	return EXIT_OK;
}

/* map --svg FILE: "-" is standard output. */
static int map_svg(struct ctx *c, const char *path,
		   const struct vmm_block_info *v, size_t n,
		   const struct vmm_stats_args *st)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "w") : stdout;
	int ret;

	if (!f)
		return fail(
			c, EXIT_FAIL,
			"cannot create '%s': %s; give --svg a path in a writable directory",
			path, strerror(errno));
	ret = write_map_svg(f, v, n, st);
	if (f == stdout)
		c->stdout_said = ferror(stdout);
	else if (fclose(f) && !ret)
		ret = -errno;
	if (ret)
		return fail(c, EXIT_FAIL,
			    "cannot write '%s': %s; check the free space there",
			    path, strerror(-ret));
	return EXIT_OK;
}

int cmd_map(struct ctx *c, int argc, char **argv)
{
	static const char *const opts[] = {
		"width=", "raw", "color", "no-color", "summary", "svg=", NULL
	};
	const char *vals[6];
	struct vmm_stats_args st;
	struct vmm_block_info *v;
	int64_t width = 64;
	__u64 unit;
	size_t n;
	int fd, ret, tty;

	ret = parse_args(c, argc, argv, opts, vals, NULL, 0);
	if (ret)
		return ret < 0 ? EXIT_USAGE : EXIT_OK;
	if (vals[0] && arg_num(c, "width", vals[0], &width, 0))
		return EXIT_USAGE;
	if (width < 1)
		return fail_usage(c,
				  "--width must be at least 1 (got %" PRId64
				  ")",
				  width);
	if (vals[2] && vals[3])
		return fail_usage(
			c,
			"--color and --no-color contradict each other; give one");
	if (vals[5] && !*vals[5])
		return fail_usage(
			c, "--svg wants a file name ('-' for standard output)");
	if (vals[5] && c->batch && !strcmp(vals[5], "-"))
		return fail_usage(
			c,
			"--svg - writes many lines, and batch mode prints one per command; give a file name");
	fd = dev_fd(c);
	if (fd < 0)
		return -fd;
	ret = vmm_list_all(fd, &v, &n);
	if (ret)
		return fail_errno(c, -ret, "cannot list the blocks");
	ret = vmm_stats(fd, &st);
	if (ret) {
		free(v);
		return fail_errno(c, -ret, "cannot read the arena size");
	}
	if (n > 1)
		qsort(v, n, sizeof(*v), by_offset);
	if (vals[5]) {
		ret = map_svg(c, vals[5], v, n, &st);
		free(v);
		if (!ret && c->batch)
			printf("ok\n");
		return ret;
	}

	if (vals[1])
		unit = 1;
	else
		unit = st.size / (__u64)width + !!(st.size % (__u64)width);
	if (!unit)
		unit = 1;
	/* Batch mode keeps its one plain line per command. */
	tty = !c->batch && isatty(STDOUT_FILENO);
	print_map(v, n, st.size, unit,
		  !c->batch && want_color(vals[2], vals[3]));
	if (!c->batch && (vals[4] || tty))
		print_map_summary(&st);
	free(v);
	return EXIT_OK;
}
