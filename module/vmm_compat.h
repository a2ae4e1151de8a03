/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vmm_compat.h: what differs between the kernels vmm is built for, from
 * 6.1 (Debian 12) to the newest Debian ships (7.x).  One shim a section,
 * each naming the commit that made it necessary.
 */
#ifndef _VMM_COMPAT_H
#define _VMM_COMPAT_H

#include <linux/mm.h>
#include <linux/slab.h>

/*
 * kzalloc_obj(P, gfp), kvmalloc_obj(P, gfp): one object (zeroed, or from
 * kvmalloc()) of P's type, P being an expression (*ptr) or a type,
 * assignable only to a pointer of that type.  Mainline has them since
 * 7.0, commit 2932ba8d9c99 ("slab: Introduce kmalloc_obj() and family"),
 * and checkpatch of 7.x asks for them instead of kzalloc(sizeof(*ptr),
 * gfp) and kvmalloc(sizeof(*ptr), gfp).  Stable kernels took them too
 * (Debian 13's 6.12.118 has them), so this asks whether each macro
 * exists, not which version this is.  The GFP argument is not optional
 * here.
 */
#ifndef kzalloc_obj
#define kzalloc_obj(P, gfp)					\
	({							\
		typeof(P) *__vmm_obj = kzalloc(sizeof(P), gfp);	\
		__vmm_obj;					\
	})
#endif
#ifndef kvmalloc_obj
#define kvmalloc_obj(P, gfp)					\
	({							\
		typeof(P) *__vmm_obj = kvmalloc(sizeof(P), gfp); \
		__vmm_obj;					\
	})
#endif

/*
 * vm_flags_set(), vm_flags_clear(): since 6.3, commit bc292ab00f6c ("mm:
 * introduce vma->vm_flags wrapper functions"), which also made vm_flags
 * read-only to everyone else.  Debian 12's 6.1 has neither.  They are
 * inline functions, which the preprocessor cannot see, so Kbuild looks
 * for them in the headers and defines VMM_HAVE_VM_FLAGS_SET (module/Kbuild
 * only: macros, so that bench/, which includes this file without the
 * probe, never expands them).
 */
#ifdef VMM_HAVE_VM_FLAGS_SET
#define vmm_vm_flags_set(vma, flags)	vm_flags_set(vma, flags)
#define vmm_vm_flags_clear(vma, flags)	vm_flags_clear(vma, flags)
#else
#define vmm_vm_flags_set(vma, flags)	((vma)->vm_flags |= (flags))
#define vmm_vm_flags_clear(vma, flags)	((vma)->vm_flags &= ~(flags))
#endif

/*
 * release_fault_lock(): since 6.6, commit 1235ccd05b6d ("mm: handle swap
 * page faults under per-VMA lock"), as faults began to run under a
 * per-VMA lock instead of the mmap lock.  Before it (6.1 here) a fault
 * that reaches vmm holds the mmap lock.  An inline function:
 * module/Kbuild probes for it.
 */
#ifdef VMM_HAVE_RELEASE_FAULT_LOCK
#define vmm_release_fault_lock(vmf)	release_fault_lock(vmf)
#else
#define vmm_release_fault_lock(vmf)	mmap_read_unlock((vmf)->vma->vm_mm)
#endif

/*
 * SLAB_NO_MERGE: since 6.5, commit d0bf7d5759c1 ("mm/slab: introduce
 * kmem_cache flag SLAB_NO_MERGE").  vmm's caches ask not to be merged with
 * others of the same size, so that /proc/slabinfo shows them by name.
 * Before 6.5 the slab allocator may merge them (/sys/kernel/slab then
 * lists their names as aliases).  A macro: the preprocessor can ask.
 */
#ifdef SLAB_NO_MERGE
#define VMM_SLAB_NO_MERGE	SLAB_NO_MERGE
#else
#define VMM_SLAB_NO_MERGE	0
#endif

#endif /* _VMM_COMPAT_H */
