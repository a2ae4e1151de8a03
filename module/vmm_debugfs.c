// SPDX-License-Identifier: GPL-2.0
/*
 * vmm in debugfs, /sys/kernel/debug/vmm/: the arena's layout for people
 * debugging it.  Not ABI: the formats may change (README.md shows them).
 *
 *   blocks  one line per block in offset order, under a header line: ID,
 *           start, size, owner uid and gid (initial namespace), mode,
 *           pins, mappings ("-" for a block not allocated mappable) and
 *           state
 *   holes   one line per free extent in offset order, under a header line
 *   map     the arena at 64 characters a line, each a slice of it
 *
 * Each file is read in batches of VMM_DEBUGFS_BATCH entries per hold of
 * the arena lock, copied into a buffer allocated beforehand and printed
 * after the lock is dropped, so that a reader never holds the lock for
 * long, however large the arena.  The price is that a file read while the
 * arena changes may mix states: each line is consistent, the whole is not.
 */

#include <linux/debugfs.h>
#include <linux/fs.h>
#include <linux/kernel.h>
#include <linux/math64.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/uidgid.h>
#include <linux/user_namespace.h>

#include "vmm.h"

/* Entries copied per hold of the arena lock. */
#define VMM_DEBUGFS_BATCH	64

/* The map: characters per line, and at most this many lines. */
#define VMM_MAP_WIDTH		64
#define VMM_MAP_LINES		64

static struct dentry *vmm_debugfs_dir;

static const char *vmm_state_name(const struct vmm_block_view *v)
{
	if (v->moving)
		return "moving";
	switch (v->state) {
	case VMM_BLOCK_NEW:
		return "new";
	case VMM_BLOCK_LIVE:
		return "live";
	case VMM_BLOCK_DEAD:
		return "dead";
	}
	return "?";
}

/*
 * blocks and holes are seq_file iterators that keep one batch of entries
 * between calls, so that each read() resumes where the last one stopped
 * and the text streams through seq_file's page-sized buffer.  Built whole
 * (single_open()), a million blocks' listing would be ~90 MiB of kernel
 * buffer, rebuilt at each doubling of it.
 *
 * Positions: 0 is the header line, n > 0 the n-th entry in offset order.
 */
struct vmm_list_iter {
	struct vmm_arena *arena;
	/* Fills the batch from @next on; returns the entries stored. */
	u32 (*fetch)(struct vmm_list_iter *it);
	size_t esize;		/* bytes of one entry of the batch */
	loff_t first;		/* the position of the batch's entry 0 */
	u32 n;			/* entries in the batch */
	bool last;		/* nothing follows the batch */
	u64 next;		/* where the next batch starts, an offset */
	union {
		struct vmm_block_view blocks[VMM_DEBUGFS_BATCH];
		struct vmm_range holes[VMM_DEBUGFS_BATCH];
	} batch;
};

static u32 vmm_blocks_fetch(struct vmm_list_iter *it)
{
	struct vmm_block_view *b = it->batch.blocks;
	u32 n = vmm_arena_blocks_from(it->arena, it->next, b,
				      VMM_DEBUGFS_BATCH);

	if (n)
		it->next = b[n - 1].start + b[n - 1].size;
	return n;
}

static u32 vmm_holes_fetch(struct vmm_list_iter *it)
{
	struct vmm_range *h = it->batch.holes;
	u32 n = vmm_arena_holes_from(it->arena, it->next, h, VMM_DEBUGFS_BATCH);

	if (n)
		it->next = h[n - 1].start + h[n - 1].size;
	return n;
}

/* Forget the batch held: the next entry is fetched from the start. */
static void vmm_list_rewind(struct vmm_list_iter *it)
{
	it->first = 0;
	it->n = 0;
	it->last = false;
	it->next = 0;
}

/*
 * The entry at @pos: from the batch held, else from the batches after it,
 * fetched in turn; a position before the batch (a seek back) starts again
 * from the arena's start.  Yields the CPU between batches, and stops for
 * a fatal signal, as seeking far ahead walks every batch on the way.
 */
static void *vmm_list_at(struct seq_file *m, loff_t pos)
{
	struct vmm_list_iter *it = m->private;

	if (!pos)
		return SEQ_START_TOKEN;
	if (pos - 1 < it->first)
		vmm_list_rewind(it);
	while (pos - 1 >= it->first + it->n) {
		if (it->last)
			return NULL;
		if (it->n) {
			cond_resched();
			if (fatal_signal_pending(current))
				return ERR_PTR(-EINTR);
		}
		it->first += it->n;
		it->n = it->fetch(it);
		it->last = it->n < VMM_DEBUGFS_BATCH;
	}
	return (u8 *)&it->batch + (pos - 1 - it->first) * it->esize;
}

/* A read from the top takes a new snapshot, as single_open() files do. */
static void *vmm_list_start(struct seq_file *m, loff_t *pos)
{
	if (!*pos)
		vmm_list_rewind(m->private);
	return vmm_list_at(m, *pos);
}

static void *vmm_list_next(struct seq_file *m, void *v, loff_t *pos)
{
	return vmm_list_at(m, ++*pos);
}

/* Nothing is held between calls: each batch is taken under the lock. */
static void vmm_list_stop(struct seq_file *m, void *v)
{
}

static int vmm_list_open(struct inode *inode, struct file *file,
			 const struct seq_operations *ops,
			 u32 (*fetch)(struct vmm_list_iter *it), size_t esize)
{
	struct vmm_list_iter *it;

	it = __seq_open_private(file, ops, sizeof(*it));
	if (!it)
		return -ENOMEM;
	it->arena = inode->i_private;
	it->fetch = fetch;
	it->esize = esize;
	return 0;
}

/*
 * Columns are separated by spaces and named by the header line, so that
 * readers can find them by name and columns can be added without breaking
 * them.
 */
static int vmm_blocks_show(struct seq_file *m, void *v)
{
	const struct vmm_block_view *b = v;
	char maps[12] = "-";

	if (v == SEQ_START_TOKEN) {
		seq_printf(m, "%10s %12s %12s %10s %10s %4s %5s %5s %s\n",
			   "id", "start", "size", "uid", "gid", "mode", "pins",
			   "maps", "state");
		return 0;
	}
	if (b->mappable)
		snprintf(maps, sizeof(maps), "%u", b->maps);
	seq_printf(m, "%10llu %12llu %12llu %10u %10u %04o %5u %5s %s\n",
		   b->id, b->start, b->size, from_kuid(&init_user_ns, b->uid),
		   from_kgid(&init_user_ns, b->gid), b->mode, b->pins, maps,
		   vmm_state_name(b));
	return 0;
}

static const struct seq_operations vmm_blocks_sops = {
	.start = vmm_list_start,
	.next = vmm_list_next,
	.stop = vmm_list_stop,
	.show = vmm_blocks_show,
};

static int vmm_blocks_open(struct inode *inode, struct file *file)
{
	return vmm_list_open(inode, file, &vmm_blocks_sops, vmm_blocks_fetch,
			     sizeof(struct vmm_block_view));
}

static const struct file_operations vmm_blocks_fops = {
	.owner = THIS_MODULE,
	.open = vmm_blocks_open,
	.read = seq_read,
	.llseek = seq_lseek,
	.release = seq_release_private,
};

static int vmm_holes_show(struct seq_file *m, void *v)
{
	const struct vmm_range *h = v;

	if (v == SEQ_START_TOKEN)
		seq_printf(m, "%12s %12s\n", "start", "size");
	else
		seq_printf(m, "%12llu %12llu\n", h->start, h->size);
	return 0;
}

static const struct seq_operations vmm_holes_sops = {
	.start = vmm_list_start,
	.next = vmm_list_next,
	.stop = vmm_list_stop,
	.show = vmm_holes_show,
};

static int vmm_holes_open(struct inode *inode, struct file *file)
{
	return vmm_list_open(inode, file, &vmm_holes_sops, vmm_holes_fetch,
			     sizeof(struct vmm_range));
}

static const struct file_operations vmm_holes_fops = {
	.owner = THIS_MODULE,
	.open = vmm_holes_open,
	.read = seq_read,
	.llseek = seq_lseek,
	.release = seq_release_private,
};

/*
 * Whether to stop the map's walk: the output is already too large, or the
 * reader is being killed.  Also yields the CPU between batches.
 */
static bool vmm_debugfs_stop(struct seq_file *m)
{
	cond_resched();
	return seq_has_overflowed(m) || fatal_signal_pending(current);
}

/* Add the free range [start, end) to the per-character free byte counts. */
static void vmm_map_add(u64 *free, u64 per_char, u64 size, u64 start,
			u64 end)
{
	u64 c = div64_u64(start, per_char);

	while (start < end) {
		u64 cell_end = min((c + 1) * per_char, size);
		u64 stop = min(cell_end, end);

		free[c++] += stop - start;
		start = stop;
	}
}

/*
 * The free bytes of each character's slice are summed from the holes
 * first, into an array allocated outside the lock; the characters are
 * then drawn from it.  The slices cover at most VMM_MAP_LINES lines, so
 * the array stays small for any arena size.
 */
static int vmm_map_show(struct seq_file *m, void *unused)
{
	struct vmm_arena *arena = m->private;
	u64 size = arena->size, per_char, chars, offset = 0, c;
	struct vmm_range *buf;
	u64 *free;
	u32 n, i;

	per_char = max(div64_u64(size + VMM_MAP_WIDTH * VMM_MAP_LINES - 1,
				 VMM_MAP_WIDTH * VMM_MAP_LINES), 1ULL);
	chars = div64_u64(size + per_char - 1, per_char);
	buf = kmalloc_array(VMM_DEBUGFS_BATCH, sizeof(*buf), GFP_KERNEL);
	free = kcalloc(chars, sizeof(*free), GFP_KERNEL);
	if (!buf || !free) {
		kfree(buf);
		kfree(free);
		return -ENOMEM;
	}
	do {
		n = vmm_arena_holes_from(arena, offset, buf, VMM_DEBUGFS_BATCH);
		for (i = 0; i < n; i++) {
			offset = buf[i].start + buf[i].size;
			vmm_map_add(free, per_char, size, buf[i].start, offset);
		}
	} while (n == VMM_DEBUGFS_BATCH && !vmm_debugfs_stop(m));

	seq_printf(m, "# %llu bytes, %llu bytes per char, %u chars per line: '#' used, '+' partly used, '.' free\n",
		   size, per_char, VMM_MAP_WIDTH);
	for (c = 0; c < chars; c++) {
		u64 cell = min(per_char, size - c * per_char);

		if (c % VMM_MAP_WIDTH == 0)
			seq_printf(m, "%12llu ", c * per_char);
		seq_putc(m, !free[c] ? '#' : free[c] == cell ? '.' : '+');
		if (c % VMM_MAP_WIDTH == VMM_MAP_WIDTH - 1 || c == chars - 1)
			seq_putc(m, '\n');
	}
	kfree(free);
	kfree(buf);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(vmm_map);

/**
 * vmm_debugfs_init() - create /sys/kernel/debug/vmm/
 * @arena: the arena the files show
 *
 * Never fails: without debugfs (not built in, or locked down) the files
 * are simply missing, as debugfs intends.
 */
void vmm_debugfs_init(struct vmm_arena *arena)
{
	vmm_debugfs_dir = debugfs_create_dir("vmm", NULL);
	debugfs_create_file("blocks", 0400, vmm_debugfs_dir, arena,
			    &vmm_blocks_fops);
	debugfs_create_file("holes", 0400, vmm_debugfs_dir, arena,
			    &vmm_holes_fops);
	debugfs_create_file("map", 0400, vmm_debugfs_dir, arena,
			    &vmm_map_fops);
}

/**
 * vmm_debugfs_exit() - remove /sys/kernel/debug/vmm/
 *
 * Waits for reads in progress to finish, so the arena may be destroyed
 * once this returns.
 */
void vmm_debugfs_exit(void)
{
	debugfs_remove(vmm_debugfs_dir);
	vmm_debugfs_dir = NULL;
}
