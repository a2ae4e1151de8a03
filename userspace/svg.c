// SPDX-License-Identifier: GPL-2.0
/*
 * vmmctl map --svg: a picture of the arena.
 *
 * The arena is laid out left to right on up to SVG_MAX_ROWS rows of
 * SVG_ROW_PX pixels, wrapping like text, so that each block is a
 * rectangle (or two, where it wraps) whose length is proportional to its
 * size.  A block of at least SVG_MIN_PX pixels gets its own rectangle,
 * coloured from a cycling palette and labelled with its ID where the
 * label fits.  Smaller blocks are not drawn one by one: their bytes are
 * summed per pixel column, and each column is shaded by the share of it
 * they cover.  So the file grows with the picture's pixels, not with the
 * number of blocks: at most (rows * SVG_ROW_PX / SVG_MIN_PX) block
 * rectangles plus one per pixel column, whatever the arena holds.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libvmm.h"
#include "vmmctl.h"

#define SVG_ROW_PX 1024 /* pixels per row: the arena's scale */
#define SVG_MAX_ROWS 8
#define SVG_ROW_H 36 /* height of a row */
#define SVG_ROW_GAP 10
#define SVG_LEFT 72 /* room for the row offsets */
#define SVG_TOP 34 /* room for the title */
#define SVG_MIN_PX 3.0 /* smaller blocks are aggregated */
#define SVG_CHAR_PX 6.6 /* width of a character of the 11px labels */

static const char *const svg_palette[] = {
	"#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2",
	"#edc948", "#b07aa1", "#ff9da7", "#9c755f",
};

#define SVG_NR_PALETTE (sizeof(svg_palette) / sizeof(svg_palette[0]))

/* Shades of the aggregated columns, by quarter of the column covered. */
static const char *const svg_shade[] = {
	"#dadaeb",
	"#bcbddc",
	"#807dba",
	"#54278f",
};

struct svg {
	FILE *f;
	int rows;
	double scale; /* pixels per byte */
};

static double row_y(int row)
{
	return SVG_TOP + row * (SVG_ROW_H + SVG_ROW_GAP);
}

static void human_bytes(char *buf, size_t len, unsigned long long n)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double d = (double)n;
	int u = 0;

	while (d >= 1024 && u < 4) {
		d /= 1024;
		u++;
	}
	if (!u)
		snprintf(buf, len, "%llu B", n);
	else
		snprintf(buf, len, "%.4g %s", d, unit[u]);
}

/*
 * Draw the linear pixel span [p0, p1) as one rectangle per row it
 * touches, with the label centred on the widest piece if it fits there.
 */
static void draw_span(struct svg *s, double p0, double p1, const char *fill,
		      const char *label)
{
	double best_w = 0, best_x = 0;
	int best_row = 0, row;

	for (row = (int)(p0 / SVG_ROW_PX); row < s->rows && p0 < p1; row++) {
		double end = (row + 1) * (double)SVG_ROW_PX;
		double x = p0 - row * (double)SVG_ROW_PX;
		double w = (p1 < end ? p1 : end) - p0;

		fprintf(s->f,
			"<rect x=\"%.2f\" y=\"%.0f\" width=\"%.2f\" height=\"%d\" fill=\"%s\" stroke=\"#fff\" stroke-width=\"0.5\"/>\n",
			SVG_LEFT + x, row_y(row), w, SVG_ROW_H, fill);
		if (w > best_w) {
			best_w = w;
			best_x = x;
			best_row = row;
		}
		p0 = end;
	}
	if (label && best_w >= strlen(label) * SVG_CHAR_PX + 4)
		fprintf(s->f,
			"<text x=\"%.2f\" y=\"%.0f\" class=\"id\">%s</text>\n",
			SVG_LEFT + best_x + best_w / 2,
			row_y(best_row) + SVG_ROW_H / 2 + 4, label);
}

/* The shade of a column covered @cover (0 to 1): -1 (none) or 0 to 3. */
static int shade_level(double cover)
{
	if (cover <= 0)
		return -1;
	if (cover >= 0.75)
		return 3;
	return (int)(cover * 4);
}

/* The small blocks' share of each pixel column, as runs of equal shade. */
static void draw_columns(struct svg *s, const double *cover, int ncols)
{
	int c = 0;

	while (c < ncols) {
		int level = shade_level(cover[c]);
		int start = c;

		c++;
		/* A run ends at a change of shade or at the end of a row. */
		while (c < ncols && c % SVG_ROW_PX &&
		       shade_level(cover[c]) == level)
			c++;
		if (level < 0)
			continue;
		fprintf(s->f,
			"<rect x=\"%d\" y=\"%.0f\" width=\"%d\" height=\"%d\" fill=\"%s\"/>\n",
			SVG_LEFT + start % SVG_ROW_PX,
			row_y(start / SVG_ROW_PX), c - start, SVG_ROW_H,
			svg_shade[level]);
	}
}

static void legend_box(FILE *f, double x, double y, const char *fill,
		       const char *text)
{
	fprintf(f,
		"<rect x=\"%.0f\" y=\"%.0f\" width=\"14\" height=\"14\" fill=\"%s\" stroke=\"#666\" stroke-width=\"0.5\"/>\n",
		x, y, fill);
	if (*text)
		fprintf(f, "<text x=\"%.0f\" y=\"%.0f\">%s</text>\n", x + 20,
			y + 11, text);
}

int write_map_svg(FILE *f, const struct vmm_block_info *v, size_t n,
		  const struct vmm_stats_args *st)
{
	struct svg s = { .f = f };
	char a[32], b[32], d[32], e[32], label[24];
	double *cover, y, pct;
	int ncols, width, height, row;
	size_t i;

	errno = 0;
	s.rows = 1 + (int)(n / 8);
	if (s.rows > SVG_MAX_ROWS)
		s.rows = SVG_MAX_ROWS;
	ncols = s.rows * SVG_ROW_PX;
	s.scale = (double)ncols / (double)(st->size ? st->size : 1);
	cover = calloc((size_t)ncols, sizeof(*cover));
	if (!cover)
		return -ENOMEM;

	width = SVG_LEFT + SVG_ROW_PX + 16;
	y = row_y(s.rows);
	height = (int)y + 96;
	fprintf(f,
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"12\">\n",
		width, height, width, height);
	fprintf(f,
		"<style>.id{font:11px monospace;text-anchor:middle;fill:#fff}.off{font-size:10px;text-anchor:end;fill:#555}</style>\n"
		"<defs><pattern id=\"free\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\" patternTransform=\"rotate(45)\">"
		"<rect width=\"6\" height=\"6\" fill=\"#f4f4f4\"/><line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"6\" stroke=\"#cfcfcf\" stroke-width=\"2\"/></pattern></defs>\n"
		"<rect width=\"100%%\" height=\"100%%\" fill=\"#fff\"/>\n");
	human_bytes(a, sizeof(a), st->size);
	fprintf(f,
		"<text x=\"%d\" y=\"20\" font-size=\"14\" font-weight=\"bold\">vmm arena: %s, %zu block%s</text>\n",
		SVG_LEFT, a, n, n == 1 ? "" : "s");

	/* Free space is the hatched background; blocks cover it. */
	for (row = 0; row < s.rows; row++) {
		human_bytes(a, sizeof(a),
			    (unsigned long long)(row * (double)SVG_ROW_PX /
						 s.scale));
		fprintf(f,
			"<text x=\"%d\" y=\"%.0f\" class=\"off\">%s</text>\n",
			SVG_LEFT - 6, row_y(row) + SVG_ROW_H / 2 + 4, a);
		fprintf(f,
			"<rect x=\"%d\" y=\"%.0f\" width=\"%d\" height=\"%d\" fill=\"url(#free)\" stroke=\"#999\" stroke-width=\"0.5\"/>\n",
			SVG_LEFT, row_y(row), SVG_ROW_PX, SVG_ROW_H);
	}

	for (i = 0; i < n; i++) {
		double p0 = (double)v[i].offset * s.scale;
		double p1 = (double)(v[i].offset + v[i].size) * s.scale;
		int c;

		if (p1 > ncols)
			p1 = ncols;
		if (p1 - p0 >= SVG_MIN_PX) {
			snprintf(label, sizeof(label), "%llu", v[i].id);
			draw_span(&s, p0, p1, svg_palette[i % SVG_NR_PALETTE],
				  label);
			continue;
		}
		for (c = (int)p0; c < ncols && c < p1; c++) {
			double lo = p0 > c ? p0 : c;
			double hi = p1 < c + 1 ? p1 : c + 1;

			cover[c] += hi - lo;
		}
	}
	draw_columns(&s, cover, ncols);
	free(cover);

	/* The legend, then the figures of "vmmctl stats". */
	y += 6;
	legend_box(f, SVG_LEFT, y, svg_palette[0],
		   "block, labelled with its ID where it fits");
	legend_box(f, SVG_LEFT + 330, y, "url(#free)", "free");
	legend_box(f, SVG_LEFT + 400, y, svg_shade[0], "");
	legend_box(f, SVG_LEFT + 414, y, svg_shade[1], "");
	legend_box(f, SVG_LEFT + 428, y, svg_shade[2], "");
	legend_box(
		f, SVG_LEFT + 442, y, svg_shade[3],
		"blocks under 3 px, summed per pixel column (darker = fuller)");
	human_bytes(a, sizeof(a), st->used);
	human_bytes(b, sizeof(b), st->free);
	human_bytes(d, sizeof(d), st->largest_free);
	if (s.scale >= 1)
		snprintf(e, sizeof(e), "1 byte = %.0f px", s.scale);
	else
		human_bytes(e + snprintf(e, sizeof(e), "1 px = "),
			    sizeof(e) - 7,
			    (unsigned long long)(1 / s.scale + 0.5));
	pct = st->size ? 100.0 * (double)st->used / (double)st->size : 0;
	fprintf(f,
		"<text x=\"%d\" y=\"%.0f\">used %s (%.1f%%), free %s, largest free extent %s, fragmentation %.1f%%, %llu blocks</text>\n",
		SVG_LEFT, y + 40, a, pct, b, d,
		(double)st->fragmentation / 10.0, st->blocks);
	fprintf(f,
		"<text x=\"%d\" y=\"%.0f\" fill=\"#555\">%llu allocs, %llu frees, %llu failed allocs, %llu defrags, %llu bytes moved; policy %s fit; %s</text>\n",
		SVG_LEFT, y + 60, st->allocs, st->frees, st->alloc_failures,
		st->defrags, st->bytes_moved, stats_policy(st), e);
	fprintf(f, "</svg>\n");
	/*
	 * A picture larger than the stream's buffer met any write error
	 * in one of the fprintf()s above: errno is that of the last one
	 * that failed to write (glibc's successful calls leave it alone).
	 */
	if (fflush(f) || ferror(f))
		return errno ? -errno : -EIO;
	return 0;
}
