/* SPDX-License-Identifier: GPL-2.0 */
/* What vmm_kunit_arena.c lets the KUnit suite reach inside the arena. */
#ifndef _VMM_KUNIT_H
#define _VMM_KUNIT_H

#include <linux/types.h>

struct vmm_arena;
struct vmm_idc_new;
struct vmm_kunit_move;

bool vmm_kunit_find(struct vmm_arena *arena, u64 size, u64 align, u64 *start);
bool vmm_kunit_check(struct vmm_arena *arena);
bool vmm_kunit_idc_claim_failing(struct vmm_arena *arena, unsigned int more,
				 struct vmm_idc_new *new);
void vmm_kunit_idc_install(struct vmm_arena *arena, struct vmm_idc_new *new);
struct vmm_kunit_move *vmm_kunit_gather_begin(struct vmm_arena *arena, u64 id);
u64 vmm_kunit_gather_end(struct vmm_arena *arena, struct vmm_kunit_move *m);
bool vmm_kunit_moving(struct vmm_arena *arena, u64 id);

#endif
