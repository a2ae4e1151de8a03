/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vmm tracepoints, under /sys/kernel/tracing/events/vmm/.  Offsets and
 * sizes are in bytes, durations in nanoseconds of local_clock().
 * vmm_alloc_fail's err is a positive errno; vmm_defrag_end's ret is what
 * vmm_arena_defrag() returns, 0 or a negative errno.  All are emitted
 * without the arena lock held, so tracing never lengthens a hold of it.
 *
 * vmm_main.c defines CREATE_TRACE_POINTS before including this header, so
 * the events belong to vmm.ko.  vmm_kunit.ko and vmm_bench.ko compile the
 * arena code too; they build it with NOTRACE, which turns every trace_*()
 * call into an empty inline, so that no second module registers a "vmm"
 * trace system.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM vmm

#if !defined(_VMM_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _VMM_TRACE_H

#include <linux/tracepoint.h>
#include <linux/types.h>

TRACE_EVENT(vmm_alloc,
	    TP_PROTO(u64 id, u64 offset, u64 size, u64 align, u64 duration_ns),
	    TP_ARGS(id, offset, size, align, duration_ns),
	    TP_STRUCT__entry(__field(u64, id)
			     __field(u64, offset)
			     __field(u64, size)
			     __field(u64, align)
			     __field(u64, duration_ns)),
	    TP_fast_assign(__entry->id = id;
			   __entry->offset = offset;
			   __entry->size = size;
			   __entry->align = align;
			   __entry->duration_ns = duration_ns;),
	    TP_printk("id=%llu offset=%llu size=%llu align=%llu duration_ns=%llu",
		      __entry->id, __entry->offset, __entry->size, __entry->align,
		      __entry->duration_ns)
);

TRACE_EVENT(vmm_free,
	    TP_PROTO(u64 id, u64 offset, u64 size),
	    TP_ARGS(id, offset, size),
	    TP_STRUCT__entry(__field(u64, id)
			     __field(u64, offset)
			     __field(u64, size)),
	    TP_fast_assign(__entry->id = id;
			   __entry->offset = offset;
			   __entry->size = size;),
	    TP_printk("id=%llu offset=%llu size=%llu",
		      __entry->id, __entry->offset, __entry->size)
);

TRACE_EVENT(vmm_alloc_fail,
	    TP_PROTO(u64 size, u64 align, int err),
	    TP_ARGS(size, align, err),
	    TP_STRUCT__entry(__field(u64, size)
			     __field(u64, align)
			     __field(int, err)),
	    TP_fast_assign(__entry->size = size;
			   __entry->align = align;
			   __entry->err = err;),
	    TP_printk("size=%llu align=%llu errno=%d",
		      __entry->size, __entry->align, __entry->err)
);

/*
 * vmm_move: one block's move.  zapped is the number of mappings (VMAs) of
 * the block whose page table entries were removed before the copy, 0 for
 * a block nobody maps.
 */
TRACE_EVENT(vmm_move,
	    TP_PROTO(u64 id, u64 from, u64 to, u64 size, unsigned int zapped),
	    TP_ARGS(id, from, to, size, zapped),
	    TP_STRUCT__entry(__field(u64, id)
			     __field(u64, from)
			     __field(u64, to)
			     __field(u64, size)
			     __field(unsigned int, zapped)),
	    TP_fast_assign(__entry->id = id;
			   __entry->from = from;
			   __entry->to = to;
			   __entry->size = size;
			   __entry->zapped = zapped;),
	    TP_printk("id=%llu from=%llu to=%llu size=%llu zapped=%u",
		      __entry->id, __entry->from, __entry->to, __entry->size,
		      __entry->zapped)
);

/*
 * vmm_move_run: the move of a run of adjacent blocks, which slide together
 * by one distance, in one copy.  first_id is the lowest-offset block of
 * the run, blocks how many it has (2 or more; a single block's move is a
 * vmm_move), from and to the run's first offset before and after, size
 * the bytes of all its blocks, which occupy [to, to + size) after the
 * move, in the same order (LIST shows those not freed meanwhile).  None of
 * them is mapped (mapped blocks move alone, with their zap), so there is
 * no zapped field.
 */
TRACE_EVENT(vmm_move_run,
	    TP_PROTO(u64 first_id, unsigned int blocks, u64 from, u64 to,
		     u64 size),
	    TP_ARGS(first_id, blocks, from, to, size),
	    TP_STRUCT__entry(__field(u64, first_id)
			     __field(unsigned int, blocks)
			     __field(u64, from)
			     __field(u64, to)
			     __field(u64, size)),
	    TP_fast_assign(__entry->first_id = first_id;
			   __entry->blocks = blocks;
			   __entry->from = from;
			   __entry->to = to;
			   __entry->size = size;),
	    TP_printk("first_id=%llu blocks=%u from=%llu to=%llu size=%llu",
		      __entry->first_id, __entry->blocks, __entry->from,
		      __entry->to, __entry->size)
);

/*
 * vmm_fault: a page fault on a mapping of a block.  page is the page's
 * index in the block, offset the block's offset in the arena then; ret is
 * the fault's vm_fault_t result (0x100 VM_FAULT_NOPAGE: mapped,
 * 0x400 VM_FAULT_RETRY: the block was moving and the fault waited,
 * 0x2 VM_FAULT_SIGBUS: past the block).
 */
TRACE_EVENT(vmm_fault,
	    TP_PROTO(u64 id, u64 page, u64 offset, unsigned int ret),
	    TP_ARGS(id, page, offset, ret),
	    TP_STRUCT__entry(__field(u64, id)
			     __field(u64, page)
			     __field(u64, offset)
			     __field(unsigned int, ret)),
	    TP_fast_assign(__entry->id = id;
			   __entry->page = page;
			   __entry->offset = offset;
			   __entry->ret = ret;),
	    TP_printk("id=%llu page=%llu offset=%llu ret=0x%x",
		      __entry->id, __entry->page, __entry->offset,
		      __entry->ret)
);

TRACE_EVENT(vmm_defrag_begin,
	    TP_PROTO(u64 budget, u32 flags),
	    TP_ARGS(budget, flags),
	    TP_STRUCT__entry(__field(u64, budget)
			     __field(u32, flags)),
	    TP_fast_assign(__entry->budget = budget;
			   __entry->flags = flags;),
	    TP_printk("budget=%llu flags=0x%x", __entry->budget, __entry->flags)
);

TRACE_EVENT(vmm_defrag_end,
	    TP_PROTO(u64 bytes, u64 blocks, u64 duration_ns, bool compact, int ret),
	    TP_ARGS(bytes, blocks, duration_ns, compact, ret),
	    TP_STRUCT__entry(__field(u64, bytes)
			     __field(u64, blocks)
			     __field(u64, duration_ns)
			     __field(bool, compact)
			     __field(int, ret)),
	    TP_fast_assign(__entry->bytes = bytes;
			   __entry->blocks = blocks;
			   __entry->duration_ns = duration_ns;
			   __entry->compact = compact;
			   __entry->ret = ret;),
	    TP_printk("bytes_moved=%llu blocks_moved=%llu duration_ns=%llu compact=%d ret=%d",
		      __entry->bytes, __entry->blocks, __entry->duration_ns,
		      __entry->compact, __entry->ret)
);

#endif /* _VMM_TRACE_H */

/* This part must be outside the include guard. */
#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE vmm_trace
#include <trace/define_trace.h>
