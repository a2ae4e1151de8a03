#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Draws docs/arena.svg, the README's picture of a fragmented arena:
#   scripts/vm --param size=32M -- sh /repo/docs/arena.sh
# 90 medium blocks, 600 small ones (aggregated per pixel column in the
# picture), 40 large ones, then about 2 in 5 freed, all from a fixed seed.
set -e
awk 'BEGIN {
	s = 7
	for (i = 1; i <= 90; i++) { s = (s * 1103515245 + 12345) % 2147483648; print "alloc " (16 + s % 240) "K" }
	for (i = 1; i <= 600; i++) { s = (s * 1103515245 + 12345) % 2147483648; print "alloc " (1 + s % 6) "K" }
	for (i = 1; i <= 40; i++) { s = (s * 1103515245 + 12345) % 2147483648; print "alloc " (20 + s % 400) "K" }
	for (i = 1; i <= 730; i++) { s = (s * 1103515245 + 12345) % 2147483648; if (s % 5 < 2) print "free " i }
}' > /tmp/arena.batch
vmmctl batch </tmp/arena.batch >/dev/null
vmmctl map --svg /repo/docs/arena.svg
