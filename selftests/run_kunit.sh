#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# selftests/run_kunit.sh: load vmm_kunit.ko, the arena's KUnit suite (it
# runs when loaded), and print its results as TAP, one result per case.
# run_debug.sh runs it first; on its own, in the debug guest:
#   scripts/vm --kernel debug -- /repo/selftests/run_kunit.sh
#
# Usage: run_kunit.sh          load the module and report its run
#        run_kunit.sh FILE     report the last run of the suite in FILE, a
#                              saved kernel log or debugfs results file
#
# Where the results are read.  KUnit prints the suite's KTAP to the kernel
# log as it runs, and also keeps each case's lines for debugfs
# (/sys/kernel/debug/kunit/vmm_arena/results).  In 6.1 that copy holds 512
# bytes a case (KUNIT_LOG_SIZE) and drops what does not fit: a case with
# long messages loses its own result line, which comes last, and the next
# case's lines run on from where it was cut.  Of a parameterised case it
# holds only the last parameter's lines.  So the kernel log is read,
# from a mark written just before the module loads; the results file only
# when the log does not have the suite (it wrapped, or the mark was
# ratelimited).
#
# What is printed: "TAP version 13", then the suite's own plan as "1..N",
# then a result for every planned case, numbered as the suite numbers them:
#   ok N NAME                 the suite's case line, unindented
#   not ok N NAME
#   ok N NAME # SKIP REASON
#   ok N NAME # SKIP S of T parameters skipped ...
#                             a parameterised case that 6.1 calls ok
#                             although some of its parameters skipped
#   not ok N NAME # no result line in the KTAP
#                             the case has no result line; NAME comes from
#                             its messages ("    # NAME: ...", "        #
#                             Subtest: NAME") or, if it printed none, is
#                             "case N of vmm_arena"
# The other lines of the suite's KTAP follow as "#" comments, in full.  The
# suite's own result line ("ok 1 vmm_arena") must be there and say ok; if
# it is missing or "not ok" although no case failed, or a result line is
# out of order, a "Bail out! ..." line says so (scripts/tap-summary counts
# it as a failure).  If the suite left no KTAP at all, the plan is 1..1
# and the result "not ok 1 kunit_vmm_arena_results_exist # ...".
#
# Exit status: 0 if every planned case passed or skipped and the suite's
# line says ok, 1 otherwise.

suite=vmm_arena
here=$(cd "$(dirname "$0")" && pwd)
kunit_ko=$here/../build/debug/module/vmm_kunit.ko
results=/sys/kernel/debug/kunit/$suite/results

# KTAP on stdin (kernel log or results file) -> TAP on stdout; the last run
# of the suite in it counts.
ktap_to_tap() {
	awk -v suite="$suite" '
	function reset() {
		plan = -1; next_n = 1; nout = 0; npend = 0
		failed = 0; problems = 0; suite_line = ""
	}
	function out(s) { buf[++nout] = s }
	# A line of the suite that is not a case result, as a TAP comment.
	function comment(s) {
		sub(/^    /, "", s)
		if (s == "")
			return
		out(s ~ /^#/ ? s : "# " s)
	}
	# Names from the messages of cases whose result line may be missing.
	function pend(name,   i) {
		for (i = 1; i <= npend; i++)
			if (pending[i] == name)
				return
		pending[++npend] = name
	}
	# Cases next_n..upto-1 have no result line: report each as failed,
	# named from the pending names in order, except the name of the case
	# whose line came next (its own messages are pending too).
	function fill(upto, except,   i, k, name) {
		k = 1
		for (i = next_n; i < upto; i++) {
			while (k <= npend && pending[k] == except)
				k++
			name = k <= npend ? pending[k++] : "case " i " of " suite
			out("not ok " i " " name " # no result line in the KTAP")
			failed++
		}
		if (upto > next_n)
			next_n = upto
		npend = 0
	}
	# One line of the suite; cut: the line was cut short where its
	# case'"'"'s log filled up (results file only).
	function take(l, cut,   t, u, status, n, name) {
		if (l == "    # Subtest: " suite) {
			reset()
			insuite = 1
			seen = 1
			return
		}
		if (!insuite)
			return
		if (l ~ /^    1\.\.[0-9]+$/ && plan < 0) {
			plan = substr(l, 8) + 0
			return
		}
		# The suite'"'"'s own result line ends its KTAP.
		if (!cut && (l ~ ("^(not ok|ok) [0-9]+ " suite "( |$)"))) {
			suite_line = l
			insuite = 0
			fill(plan + 1, "")
			return
		}
		if (!cut && l ~ /^    (not ok|ok) [0-9]+ [A-Za-z0-9_]/) {
			t = substr(l, 5)
			status = t ~ /^not / ? "not ok" : "ok"
			t = substr(t, length(status) + 2)
			n = t + 0
			sub(/^[0-9]+ /, "", t)
			name = t
			sub(/ .*/, "", name)
			if (n < next_n || (plan >= 0 && n > plan)) {
				out("# kunit: a result out of order: " l)
				problems++
				return
			}
			fill(n, name)
			# 6.1 marks a parameterised case ok when any of its
			# parameters passed, and its parameter lines carry no
			# SKIP: a parameter that skipped shows only in the
			# case'"'"'s "pass:P fail:F skip:S total:T" line.
			if (status == "ok" && t !~ / # [Ss][Kk][Ii][Pp]/ &&
			    pskip[name] > 0)
				t = t " # SKIP " pskip[name] " of " ptotal[name] \
				    " parameters skipped (their reasons are above)"
			out(status " " n " " t)
			if (status == "not ok" && t !~ / # [Ss][Kk][Ii][Pp]/)
				failed++
			next_n = n + 1
			return
		}
		if (cut) {
			out("# kunit: cut short: " l)
			return
		}
		if (match(l, /^    # [A-Za-z0-9_]+: pass:[0-9]+ fail:[0-9]+ skip:[0-9]+ total:[0-9]+$/)) {
			t = l
			sub(/^    # /, "", t)
			name = t
			sub(/:.*/, "", name)
			u = t
			sub(/.* skip:/, "", t)
			pskip[name] = t + 0
			sub(/.* total:/, "", u)
			ptotal[name] = u + 0
		} else if (match(l, /^    # [A-Za-z0-9_]+: /) &&
			   l !~ /^    # (module|speed|is_init): /)
			# (Newer kernels print attributes, "# module: NAME",
			# in the same form: those are no case'"'"'s messages.)
			pend(substr(l, 7, RLENGTH - 8))
		else if (l ~ /^        # Subtest: [A-Za-z0-9_]+$/)
			pend(substr(l, 20))
		comment(l)
	}
	# Where, in l, the next case'"'"'s log (indented KTAP) or the suite'"'"'s
	# (column 0) starts on a line whose own log was cut when full; 0 if
	# nowhere.
	function glued(l,   at) {
		at = 0
		if (match(l, "[^ ]    [ ]*((not ok|ok) [0-9]+ |# Subtest: |" \
			  "# [A-Za-z0-9_]+: |KTAP version )"))
			at = RSTART + 1
		if (match(l, "(# " suite ": |# Totals: |" \
			  "(not ok|ok) [0-9]+ " suite "$)") && RSTART > 1 &&
		    (!at || RSTART < at))
			at = RSTART
		return at
	}
	{
		sub(/\r$/, "")
		# The prefix dmesg puts on every line of the kernel log.
		sub(/^<[0-9]+>/, "")
		sub(/^\[ *[0-9]+\.[0-9]+\] /, "")
		l = $0
		while ((at = glued(l))) {
			take(substr(l, 1, at - 1), 1)
			l = substr(l, at)
		}
		take(l, 0)
	}
	END {
		print "TAP version 13"
		if (!seen) {
			print "1..1"
			print "not ok 1 kunit_" suite "_results_exist # no KTAP from the suite: is vmm_kunit.ko built (make guest-debug)?"
			exit 1
		}
		if (insuite)
			fill(plan + 1, "")
		if (plan < 0) {
			plan = next_n - 1
			out("# kunit: the suite printed no plan")
			problems++
		}
		print "1.." plan
		for (i = 1; i <= nout; i++)
			print buf[i]
		bad = problems
		if (suite_line == "") {
			print "# kunit: the suite'"'"'s own result line is missing"
			bad++
		} else {
			print "# kunit: the suite'"'"'s own result line: " suite_line
			if (suite_line ~ /^not ok/)
				bad++
		}
		if (bad && !failed)
			print "Bail out! " suite ": no case failed, yet the suite did not report ok (see above)"
		exit (failed || bad) ? 1 : 0
	}'
}

if [ $# -gt 0 ]; then
	ktap_to_tap <"$1"
	exit
fi

tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
mark="vmm-kunit: loading $kunit_ko ($$ at $(cut -d' ' -f1 /proc/uptime))"
echo "$mark" >/dev/kmsg
echo "# kunit: insmod $kunit_ko"
if ! insmod "$kunit_ko"; then
	# Whatever the kernel log or debugfs hold now is some earlier run's.
	echo "TAP version 13"
	echo "1..1"
	echo "not ok 1 kunit_${suite}_loaded # insmod $kunit_ko failed (built by make guest-debug? loaded already?)"
	exit 1
fi
# This run's part of the kernel log: everything after the mark.
dmesg | sed -E 's/^(<[0-9]+>)?\[ *[0-9]+\.[0-9]+\] //' |
	awk -v mark="$mark" 'found; $0 == mark { found = 1 }' >"$tmp/dmesg"
if grep -qx "    # Subtest: $suite" "$tmp/dmesg"; then
	echo "# kunit: KTAP from the kernel log"
	ktap_to_tap <"$tmp/dmesg"
	rc=$?
elif [ -r "$results" ]; then
	echo "# kunit: KTAP from $results: the kernel log lacks it (a case that logged more than 512 bytes has lost lines here)"
	ktap_to_tap <"$results"
	rc=$?
else
	ktap_to_tap </dev/null
	rc=$?
fi
rmmod vmm_kunit 2>/dev/null
exit $rc
