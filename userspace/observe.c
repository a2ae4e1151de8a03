// SPDX-License-Identifier: GPL-2.0
/*
 * vmmctl: the ways of looking at the arena: JSON output of stats and list,
 * "stats --watch", and the coloured map with its summary line.
 *
 * The JSON keys are a stable interface (documented in vmmctl.1 and the
 * README): keys may be added, never renamed or removed.  Every number is
 * an unsigned decimal integer except the rates, which are decimals.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "libvmm.h"
#include "vmmctl.h"

/* The counters, in the order "vmmctl stats" prints them. */
const char *const stat_names[NR_STATS] = {
	"size",		  "used",	   "free",	  "largest_free",
	"blocks",	  "fragmentation", "allocs",	  "frees",
	"alloc_failures", "defrags",	   "bytes_moved", "metadata_bytes",
	"mapped_blocks",
};

void stats_values(const struct vmm_stats_args *st, __u64 *v)
{
	v[0] = st->size;
	v[1] = st->used;
	v[2] = st->free;
	v[3] = st->largest_free;
	v[4] = st->blocks;
	v[5] = st->fragmentation;
	v[6] = st->allocs;
	v[7] = st->frees;
	v[8] = st->alloc_failures;
	v[9] = st->defrags;
	v[10] = st->bytes_moved;
	v[11] = st->metadata_bytes;
	v[12] = st->mapped_blocks;
}

const char *stats_policy(const struct vmm_stats_args *st)
{
	return st->policy == VMM_STATS_POLICY_BEST ? "best" : "first";
}

void print_stats_json(const struct vmm_stats_args *st,
		      const struct stats_rates *r, int oneline)
{
	const char *sep = oneline ? ", " : ",\n  ";
	__u64 v[NR_STATS];
	size_t i;

	stats_values(st, v);
	printf(oneline ? "{" : "{\n  ");
	for (i = 0; i < NR_STATS; i++)
		printf("\"%s\": %llu%s", stat_names[i], v[i], sep);
	printf("\"max_lock_hold_ns\": %llu%s", st->max_lock_hold_ns, sep);
	printf("\"policy\": \"%s\"", stats_policy(st));
	if (r) {
		printf("%s\"interval_s\": %.3f%s", sep, r->interval, sep);
		if (r->valid)
			printf("\"allocs_per_s\": %.1f%s\"frees_per_s\": %.1f%s\"bytes_moved_per_s\": %.1f",
			       r->allocs, sep, r->frees, sep, r->bytes_moved);
		else
			printf("\"allocs_per_s\": null%s\"frees_per_s\": null%s\"bytes_moved_per_s\": null",
			       sep, sep);
	}
	printf(oneline ? "}\n" : "\n}\n");
}

void print_block_json(const struct vmm_block_info *b)
{
	printf("{\"id\": %llu, \"offset\": %llu, \"size\": %llu, \"owner\": %u, \"group\": %u, \"mode\": \"%04o\", \"scoped\": %s, \"mappable\": %s, \"mapped\": %llu}",
	       b->id, b->offset, b->size, b->uid, b->gid, b->mode,
	       b->attrs & VMM_BLOCK_SCOPED ? "true" : "false",
	       b->attrs & VMM_BLOCK_MAPPABLE ? "true" : "false", b->mapped);
}

void print_list_json(const struct vmm_block_info *v, size_t n, int oneline)
{
	/* One block a line unless in batch mode, so that grep still works. */
	const char *nl = oneline ? "" : "\n  ";
	size_t i;

	printf("{\"count\": %zu, \"blocks\": [", n);
	for (i = 0; i < n; i++) {
		printf("%s%s", i ? "," : "", nl);
		print_block_json(&v[i]);
	}
	printf("%s]}\n", n && !oneline ? "\n" : "");
}

/* --- stats --watch ------------------------------------------------------ */

static volatile sig_atomic_t watch_stop;

static void on_signal(int sig)
{
	(void)sig;
	watch_stop = 1;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * Sleep @secs, returning early (non-zero) when a signal asked us to stop.
 * SIGINT and SIGTERM are blocked from the check of watch_stop until ppoll()
 * unblocks them atomically with the sleep, so one that comes between the
 * two ends the sleep at once rather than after it.
 */
static int nap(double secs)
{
	double end = now_s() + secs;
	sigset_t stop, old;

	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	sigprocmask(SIG_BLOCK, &stop, &old);
	while (!watch_stop) {
		double left = end - now_s();
		struct timespec ts;

		if (left <= 0)
			break;
		ts.tv_sec = (time_t)left;
		ts.tv_nsec = (long)((left - (double)ts.tv_sec) * 1e9);
		ppoll(NULL, 0, &ts, &old);
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	return watch_stop;
}

static void human(char *buf, size_t len, double n)
{
	static const char *const unit[] = { "", "K", "M", "G", "T", "P" };
	int u = 0;

	while (n >= 1024 && u < 5) {
		n /= 1024;
		u++;
	}
	if (u)
		snprintf(buf, len, "%.1f%s", n, unit[u]);
	else
		snprintf(buf, len, "%.0f", n);
}

static void print_watch_block(const struct vmm_stats_args *st,
			      const struct stats_rates *r, uint64_t nr, int tty)
{
	const char *eol = tty ? "\033[K\n" : "\n";
	__u64 v[NR_STATS];
	size_t i;

	stats_values(st, v);
	printf("vmm arena: every %.1fs, refresh %" PRIu64 "%s%s", r->interval,
	       nr, tty ? " (Ctrl-C to quit)" : "", eol);
	for (i = 0; i < NR_STATS; i++)
		printf("%-16s %llu%s", stat_names[i], v[i], eol);
	printf("%-16s %s%s", "policy", stats_policy(st), eol);
	if (r->valid) {
		char a[32], b[32], m[32];

		human(a, sizeof(a), r->allocs);
		human(b, sizeof(b), r->frees);
		human(m, sizeof(m), r->bytes_moved);
		printf("%-16s %s%s%-16s %s%s%-16s %s%s", "allocs/s", a, eol,
		       "frees/s", b, eol, "bytes_moved/s", m, eol);
	} else {
		printf("%-16s -%s%-16s -%s%-16s -%s", "allocs/s", eol,
		       "frees/s", eol, "bytes_moved/s", eol);
	}
}

static double rate(__u64 now, __u64 before, double secs)
{
	/* Counters only grow while the module stays loaded; a reload resets. */
	return now >= before ? (double)(now - before) / secs : 0;
}

int stats_watch(struct ctx *c, int fd, double interval, int64_t count, int json)
{
	struct vmm_stats_args st, prev;
	struct stats_rates r = { .interval = interval };
	struct sigaction sa;
	int tty = !json && isatty(STDOUT_FILENO);
	uint64_t nr = 0;
	double t_prev = 0;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	/* No SA_RESTART: the signal must cut the sleep short. */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (tty)
		printf("\033[?25l"); /* hide the cursor while redrawing */
	for (;;) {
		int ret = vmm_stats(fd, &st);
		double t;

		if (ret) {
			if (tty)
				printf("\033[?25h");
			return fail_errno(c, -ret, "cannot read the counters");
		}
		t = now_s();
		r.valid = nr > 0;
		if (r.valid) {
			double dt = t - t_prev > 0 ? t - t_prev : interval;

			r.allocs = rate(st.allocs, prev.allocs, dt);
			r.frees = rate(st.frees, prev.frees, dt);
			r.bytes_moved =
				rate(st.bytes_moved, prev.bytes_moved, dt);
		}
		nr++;
		if (json) {
			print_stats_json(&st, &r, 1);
		} else {
			if (tty)
				printf("\033[H\033[2J");
			else if (nr > 1)
				putchar('\n');
			print_watch_block(&st, &r, nr, tty);
		}
		if (fflush(stdout)) {
			/*
			 * A stop signal cut a write the reader was holding
			 * back: drop the rest rather than wait to write it.
			 */
			if (errno == EINTR && watch_stop) {
				__fpurge(stdout);
				clearerr(stdout);
			}
			break;
		}
		prev = st;
		t_prev = t;
		if ((count > 0 && nr >= (uint64_t)count) || nap(interval))
			break;
	}
	if (tty)
		printf("\033[?25h");
	return EXIT_OK;
}

/* --- map ---------------------------------------------------------------- */

/* Background colours, cycled per block; bright enough for black text. */
static const char *const palette[] = {
	"\033[30;42m", "\033[30;44m", "\033[30;43m",
	"\033[30;45m", "\033[30;46m", "\033[30;41m",
};

#define NR_PALETTE (sizeof(palette) / sizeof(palette[0]))

int want_color(const char *force, const char *never)
{
	const char *nc = getenv("NO_COLOR");

	if (never)
		return 0;
	if (force)
		return 1;
	if (nc && *nc)
		return 0;
	return isatty(STDOUT_FILENO);
}

void print_map(const struct vmm_block_info *v, size_t n, __u64 size, __u64 unit,
	       int color)
{
	__u64 units = size / unit + !!(size % unit), u;
	size_t j = 0, last = (size_t)-1;

	for (u = 0; u < units; u++) {
		__u64 lo = u * unit;
		__u64 hi = size - lo < unit ? size : lo + unit;
		int used;

		while (j < n && v[j].offset + v[j].size <= lo)
			j++;
		used = j < n && v[j].offset < hi;
		/* Colour by the first block in the cell; switch only on change. */
		if (color && used && last != j) {
			fputs(palette[j % NR_PALETTE], stdout);
			last = j;
		} else if (color && !used && last != (size_t)-2) {
			fputs("\033[0;2m", stdout);
			last = (size_t)-2;
		}
		putchar(used ? 'X' : '-');
	}
	if (color)
		fputs("\033[0m", stdout);
	putchar('\n');
}

void print_map_summary(const struct vmm_stats_args *st)
{
	double pct = st->size ? 100.0 * (double)st->used / (double)st->size : 0;

	printf("used %llu (%.1f%%), free %llu, largest free %llu, fragmentation %.1f%%, %llu block%s\n",
	       st->used, pct, st->free, st->largest_free,
	       (double)st->fragmentation / 10.0, st->blocks,
	       st->blocks == 1 ? "" : "s");
}
