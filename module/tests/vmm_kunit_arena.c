// SPDX-License-Identifier: GPL-2.0
/*
 * The arena code under test, compiled into vmm_kunit.ko as well, so that
 * the suite exercises exactly vmm.ko's allocator without vmm.ko having to
 * export it.
 */
#include "../vmm_arena.c"
