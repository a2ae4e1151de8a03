// SPDX-License-Identifier: GPL-2.0
/*
 * vmmctl batch: run commands from standard input, one result line each.
 *
 * Consecutive alloc, free, write, read and info lines that are already
 * waiting on standard input go to the kernel as one VMM_IOC_BATCH (up to
 * VMM_BATCH_MAX of them); the batch never waits for input to fill up, so
 * a program that writes one line and waits for its answer gets it at
 * once.  Each command still prints exactly the line it prints alone.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmmctl.h"

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/*
 * Decode the backslash escape at *@pp (just past the backslash) into *@out
 * and advance *@pp.  Returns NULL or an error message.
 */
static const char *unescape(const char **pp, char *out)
{
	const char *p = *pp;
	int hi, lo;

	switch (*p) {
	case '\0':
		return "a backslash ends the line; use \\\\ for a backslash";
	case 'n':
		*out = '\n';
		break;
	case 't':
		*out = '\t';
		break;
	case 'r':
		*out = '\r';
		break;
	case 'x':
		hi = hexval(p[1]);
		lo = hi < 0 ? -1 : hexval(p[2]);
		if (lo < 0)
			return "\\x needs two hex digits, as in \\x41";
		if (!hi && !lo)
			return "\\x00 cannot be passed; NUL bytes can only be written with 'vmmctl write ID OFFSET -'";
		*out = (char)(hi * 16 + lo);
		p += 2;
		break;
	default:
		*out = *p;
		break;
	}
	*pp = p + 1;
	return NULL;
}

/*
 * Split @line in place into words (see "vmmctl batch --help" for the
 * quoting rules).  @argv has room for strlen(@line) / 2 + 2 pointers.
 * Returns NULL or an error message.
 */
static const char *split(char *line, char **argv, int *argc)
{
	const char *p = line;
	char *w = line;
	int n = 0;

	for (;;) {
		const char *err;
		char quote = 0;

		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p)
			break;
		argv[n++] = w;
		while (*p && (quote || (*p != ' ' && *p != '\t'))) {
			if (quote == '\'') {
				if (*p == '\'')
					quote = 0;
				else
					*w++ = *p;
				p++;
			} else if (*p == '\\') {
				p++;
				err = unescape(&p, w);
				if (err)
					return err;
				w++;
			} else if (*p == '"' && quote) {
				quote = 0;
				p++;
			} else if ((*p == '"' || *p == '\'') && !quote) {
				quote = *p++;
			} else {
				*w++ = *p++;
			}
		}
		if (quote)
			return quote == '"' ? "unterminated \" quote" :
					      "unterminated ' quote";
		/*
		 * w never passes p, so step over the separator before
		 * ending the word in place: it may be where w points.
		 */
		if (*p)
			p++;
		*w++ = '\0';
	}
	argv[n] = NULL;
	*argc = n;
	return NULL;
}

/*
 * Write @n bytes at @p with control characters and the backslash as the
 * escapes the input takes (\n \r \t \\ \xHH), so that they stay on one
 * line and read back unambiguously.  Returns -1 if standard output failed.
 */
int put_escaped(const void *p, size_t n)
{
	const unsigned char *b = p, *end = b + n;

	for (; b < end; b++) {
		if (*b == '\n')
			fputs("\\n", stdout);
		else if (*b == '\r')
			fputs("\\r", stdout);
		else if (*b == '\t')
			fputs("\\t", stdout);
		else if (*b == '\\')
			fputs("\\\\", stdout);
		else if (*b < 0x20 || *b == 0x7f)
			printf("\\x%02x", *b);
		else
			putchar(*b);
	}
	return ferror(stdout) ? -1 : 0;
}

/*
 * The line of a failure of class @ret, as recorded in @c.  The message may
 * quote a word of the input, which may hold any byte but NUL: it is
 * escaped, so that the failure stays one line.
 */
static void print_error(const struct ctx *c, int ret)
{
	printf("error %d ", ret);
	put_escaped(c->msg, strlen(c->msg));
	if (c->usage && c->cmd)
		printf("; usage: %s", c->cmd->synopsis);
	putchar('\n');
}

/* Run one input line; returns its exit class and prints its one line. */
static int batch_line(struct ctx *c, char *line)
{
	const char *err;
	char **argv;
	int argc, ret;

	argv = malloc((strlen(line) / 2 + 2) * sizeof(*argv));
	if (!argv) {
		printf("error %d out of memory\n", EXIT_FAIL);
		return EXIT_FAIL;
	}
	c->cmd = NULL;
	err = split(line, argv, &argc);
	if (err) {
		printf("error %d %s\n", EXIT_USAGE, err);
		free(argv);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[0], "batch")) {
		ret = EXIT_USAGE;
		printf("error %d batch: cannot be nested; run the commands directly\n",
		       ret);
	} else {
		ret = run_command(c, argc, argv);
		if (ret)
			print_error(c, ret);
	}
	free(argv);
	return ret;
}

/*
 * Standard input, read by hand rather than through stdio, so that we know
 * whether another whole line is there without waiting (line_ready()).
 */
struct input {
	char *buf;
	size_t cap;
	size_t start;
	size_t len;
	int eof;
	int error; /* 0, or the errno of the read(2) that ended the input */
	int nomem; /* a line outgrew the memory to hold it */
};

/* One read(2) of more input; only call it when it cannot block for long. */
static void input_fill(struct input *in)
{
	ssize_t r;

	if (in->start) {
		memmove(in->buf, in->buf + in->start, in->len - in->start);
		in->len -= in->start;
		in->start = 0;
	}
	/* Room for more, and for the NUL that ends the last line. */
	if (in->cap - in->len < 2) {
		size_t ncap = in->cap ? in->cap * 2 : 65536;
		char *nb = ncap > in->cap ? realloc(in->buf, ncap) : NULL;

		if (!nb) {
			in->nomem = 1;
			in->eof = 1;
			return;
		}
		in->buf = nb;
		in->cap = ncap;
	}
	do
		r = read(STDIN_FILENO, in->buf + in->len,
			 in->cap - in->len - 1);
	while (r < 0 && errno == EINTR);
	if (r > 0)
		in->len += (size_t)r;
	else
		in->eof = 1;
	if (r < 0)
		in->error = errno;
}

/* The next line, without its newline, NUL-terminated; NULL at the end. */
static char *input_line(struct input *in, size_t *len)
{
	for (;;) {
		/* Nothing read yet: no buffer, and no pointer into it. */
		char *p = in->buf ? in->buf + in->start : NULL;
		char *nl = p && in->len > in->start ?
				   memchr(p, '\n', in->len - in->start) :
				   NULL;

		if (nl || (in->eof && in->len > in->start)) {
			if (!nl)
				nl = in->buf + in->len;
			*nl = '\0';
			*len = (size_t)(nl - p);
			in->start = nl < in->buf + in->len ?
					    (size_t)(nl + 1 - in->buf) :
					    in->len;
			return p;
		}
		if (in->eof)
			return NULL;
		input_fill(in);
	}
}

/* Whether the next line (or the end) can be had without waiting. */
static int line_ready(struct input *in)
{
	for (;;) {
		struct pollfd p = { .fd = STDIN_FILENO, .events = POLLIN };

		if (in->eof || (in->buf && memchr(in->buf + in->start, '\n',
						  in->len - in->start)))
			return 1;
		if (poll(&p, 1, 0) != 1)
			return 0;
		/* Something is there (or the end): this read does not block. */
		input_fill(in);
	}
}

/**
 * struct pending - block operations waiting to go out as one batch
 * @n: how many
 * @op: the parsed commands
 * @cmd: their commands, for the messages
 * @line: their lines' words, which @op's write data points into
 * @e: the batch's entries
 */
struct pending {
	unsigned int n;
	struct op op[VMM_BATCH_MAX];
	const struct command *cmd[VMM_BATCH_MAX];
	char *line[VMM_BATCH_MAX];
	struct vmm_batch_entry e[VMM_BATCH_MAX];
};

/*
 * A read longer than this runs on its own, so that a batch's buffers stay
 * under VMM_BATCH_MAX times it (16 MiB).
 */
#define BATCH_READ_MAX 65536

/*
 * Queue @line if it is a block operation that can run in a batch: parsed
 * without error or help, and with the device open.  Returns 0 if queued;
 * otherwise the caller runs the line as before, which gives its error.
 */
static int pending_add(struct ctx *c, struct pending *pd, const char *line)
{
	struct op *o = &pd->op[pd->n];
	char *copy, **argv;
	int argc, fd, ret = -1;

	copy = strdup(line);
	argv = malloc((strlen(line) / 2 + 2) * sizeof(*argv));
	if (!copy || !argv || split(copy, argv, &argc) || !argc ||
	    !op_kind(argv[0]) || wants_help(argc, argv))
		goto out;
	c->cmd = find_command(argv[0]);
	if (op_parse(c, argc, argv, o))
		goto out;
	if (o->kind == VMM_BATCH_READ && o->len > BATCH_READ_MAX)
		goto out;
	fd = dev_fd(c);
	if (fd < 0)
		goto out;
	if (op_prepare(c, fd, o)) {
		op_release(o);
		goto out;
	}
	pd->cmd[pd->n] = c->cmd;
	pd->line[pd->n++] = copy;
	copy = NULL;
	ret = 0;
out:
	free(argv);
	free(copy);
	return ret;
}

/*
 * VMM_BATCH_CONTINUE, unless a failure's message could read what a later
 * entry of the same call changes: a failed alloc quotes the free space as
 * it is after the failure, so it must not be followed by an alloc or a
 * free, and a read or write out of range quotes its block's size, so it
 * must not be followed by a free of that block.  Without the flag the
 * call stops at a failure, which is worded at once, and the rest goes in
 * another call.
 */
static unsigned int batch_flags(const struct pending *pd, unsigned int k)
{
	unsigned int i, j;
	int changes = 0;

	for (i = pd->n; i-- > k;) {
		const struct op *o = &pd->op[i];

		if (o->kind == VMM_BATCH_ALLOC && changes)
			return 0;
		if (o->kind == VMM_BATCH_ALLOC || o->kind == VMM_BATCH_FREE)
			changes = 1;
		if (o->kind != VMM_BATCH_READ && o->kind != VMM_BATCH_WRITE)
			continue;
		for (j = i + 1; j < pd->n; j++)
			if (pd->op[j].kind == VMM_BATCH_FREE &&
			    pd->op[j].id == o->id)
				return 0;
	}
	return VMM_BATCH_CONTINUE;
}

/* Print the line of queued op @i, whose call returned @ret; its class. */
static int pending_finish(struct ctx *c, struct pending *pd, unsigned int i,
			  int ret)
{
	c->cmd = pd->cmd[i];
	c->usage = 0;
	c->msg[0] = '\0';
	ret = op_finish(c, c->fd, &pd->op[i], ret);
	if (ret)
		print_error(c, ret);
	return ret;
}

/*
 * Run the queued ops, in as few VMM_IOC_BATCH calls as batch_flags()
 * allows; one left alone takes its single ioctl.  Each prints its line;
 * *@last becomes the class of the last that failed.
 */
static void pending_run(struct ctx *c, struct pending *pd, int *last)
{
	unsigned int i, k = 0, done;
	int ret, single = 0;

	for (i = 0; i < pd->n; i++)
		op_entry(&pd->op[i], &pd->e[i]);
	while (k < pd->n) {
		done = 0;
		if (!single && pd->n - k > 1) {
			ret = vmm_batch(c->fd, &pd->e[k], pd->n - k,
					batch_flags(pd, k), &done, NULL);
			/* The call itself failed: the single commands word it. */
			single = ret < 0;
		}
		for (i = k; i < k + done; i++) {
			ret = op_result(&pd->op[i], &pd->e[i]);
			ret = pending_finish(c, pd, i, ret);
			if (ret)
				*last = ret;
		}
		k += done;
		/* One left alone, or the call failed: its single command. */
		if (!done && k < pd->n) {
			ret = op_exec(c->fd, &pd->op[k]);
			ret = pending_finish(c, pd, k, ret);
			if (ret)
				*last = ret;
			k++;
		}
	}
	for (i = 0; i < pd->n; i++) {
		op_release(&pd->op[i]);
		free(pd->line[i]);
	}
	pd->n = 0;
	c->cmd = NULL;
	/* A program driving us through a pipe wants each answer now. */
	fflush(stdout);
}

int cmd_batch(struct ctx *c, int argc, char **argv)
{
	struct input in = { 0 };
	struct pending *pd;
	char *line;
	size_t len;
	int ret, last = EXIT_OK;

	ret = parse_args(c, argc, argv, NULL, NULL, NULL, 0);
	if (ret)
		return ret < 0 ? EXIT_USAGE : EXIT_OK;
	pd = calloc(1, sizeof(*pd));
	if (!pd)
		return fail(c, EXIT_FAIL, "batch: out of memory");
	c->batch = 1;
	while ((line = input_line(&in, &len))) {
		const char *p = line;

		while (len > 0 && line[len - 1] == '\r')
			line[--len] = '\0';
		/* A NUL byte would silently cut the line short. */
		if (strlen(line) != len) {
			pending_run(c, pd, &last);
			printf("error %d the line contains a NUL byte\n",
			       EXIT_USAGE);
			last = EXIT_USAGE;
			fflush(stdout);
			continue;
		}
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p && *p != '#' && pending_add(c, pd, line)) {
			pending_run(c, pd, &last);
			ret = batch_line(c, line);
			if (ret)
				last = ret;
			fflush(stdout);
			continue;
		}
		if (pd->n == VMM_BATCH_MAX || !line_ready(&in))
			pending_run(c, pd, &last);
	}
	pending_run(c, pd, &last);
	free(pd);
	free(in.buf);
	c->batch = 0;
	c->cmd = NULL;
	if (in.nomem)
		return fail(
			c, EXIT_FAIL,
			"batch: out of memory holding a line of standard input; split lines that long, or free some memory");
	if (in.error)
		return fail(
			c, EXIT_FAIL,
			"batch: cannot read standard input: %s; give batch a readable file or pipe",
			strerror(in.error));
	/* Failures were reported on their own lines. */
	if (last)
		c->msg[0] = '\0';
	return last;
}
