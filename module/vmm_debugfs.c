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
 * Whether to stop a walk: the output is already too large (seq_file will
 * call the show function again with a larger buffer), or the reader is
 * being killed.  Also yields the CPU between batches.
 */
static bool vmm_debugfs_stop(struct seq_file *m)
{
	cond_resched();
	return seq_has_overflowed(m) || fatal_signal_pending(current);
}

/*
 * Columns are separated by spaces and named by the header line, so that
 * readers can find them by name and columns can be added without breaking
 * them.
 */
static int vmm_blocks_show(struct seq_file *m, void *unused)
{
	struct vmm_arena *arena = m->private;
	struct vmm_block_view *buf;
	u64 offset = 0;
	u32 n, i;

	buf = kmalloc_array(VMM_DEBUGFS_BATCH, sizeof(*buf), GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	seq_printf(m, "%10s %12s %12s %10s %10s %4s %5s %5s %s\n", "id",
		   "start", "size", "uid", "gid", "mode", "pins", "maps",
		   "state");
	do {
		n = vmm_arena_blocks_from(arena, offset, buf,
					  VMM_DEBUGFS_BATCH);
		for (i = 0; i < n; i++) {
			char maps[12] = "-";

			if (buf[i].mappable)
				snprintf(maps, sizeof(maps), "%u", buf[i].maps);
			seq_printf(m, "%10llu %12llu %12llu %10u %10u %04o %5u %5s %s\n",
				   buf[i].id, buf[i].start, buf[i].size,
				   from_kuid(&init_user_ns, buf[i].uid),
				   from_kgid(&init_user_ns, buf[i].gid),
				   buf[i].mode, buf[i].pins, maps,
				   vmm_state_name(&buf[i]));
			offset = buf[i].start + buf[i].size;
		}
	} while (n == VMM_DEBUGFS_BATCH && !vmm_debugfs_stop(m));
	kfree(buf);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(vmm_blocks);

static int vmm_holes_show(struct seq_file *m, void *unused)
{
	struct vmm_arena *arena = m->private;
	struct vmm_range *buf;
	u64 offset = 0;
	u32 n, i;

	buf = kmalloc_array(VMM_DEBUGFS_BATCH, sizeof(*buf), GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	seq_printf(m, "%12s %12s\n", "start", "size");
	do {
		n = vmm_arena_holes_from(arena, offset, buf, VMM_DEBUGFS_BATCH);
		for (i = 0; i < n; i++) {
			seq_printf(m, "%12llu %12llu\n", buf[i].start,
				   buf[i].size);
			offset = buf[i].start + buf[i].size;
		}
	} while (n == VMM_DEBUGFS_BATCH && !vmm_debugfs_stop(m));
	kfree(buf);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(vmm_holes);

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
