// SPDX-License-Identifier: GPL-2.0
/*
 * vmmctl batch: run commands from standard input, one result line each.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
		if (ret) {
			printf("error %d %s", ret, c->msg);
			if (c->usage && c->cmd)
				printf("; usage: %s", c->cmd->synopsis);
			putchar('\n');
		}
	}
	free(argv);
	return ret;
}

int cmd_batch(struct ctx *c, int argc, char **argv)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int ret, last = EXIT_OK;

	ret = parse_args(c, argc, argv, NULL, NULL, NULL, 0);
	if (ret)
		return ret < 0 ? EXIT_USAGE : EXIT_OK;
	c->batch = 1;
	while ((len = getline(&line, &cap, stdin)) >= 0) {
		const char *p = line;

		while (len > 0 &&
		       (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		/* A NUL byte would silently cut the line short. */
		if (strlen(line) != (size_t)len) {
			printf("error %d the line contains a NUL byte\n",
			       EXIT_USAGE);
			last = EXIT_USAGE;
			fflush(stdout);
			continue;
		}
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p || *p == '#')
			continue;
		ret = batch_line(c, line);
		if (ret)
			last = ret;
		/* A program driving us through a pipe wants each answer now. */
		fflush(stdout);
	}
	free(line);
	c->batch = 0;
	c->cmd = NULL;
	if (ferror(stdin))
		return fail(c, EXIT_FAIL,
			    "batch: error reading standard input");
	/* Failures were reported on their own lines. */
	if (last)
		c->msg[0] = '\0';
	return last;
}
