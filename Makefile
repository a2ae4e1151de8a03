# SPDX-License-Identifier: GPL-2.0
#
# vmm: top-level build.  Everything generated goes to build/ except the
# kbuild objects, which kbuild insists on placing beside the sources.
#
#   make deps      install the Debian packages the build and the VM need
#   make           module (against KDIR), vmmctl, library and selftests
#   make check     everything above, then every test inside a QEMU guest
#   make check-quick  the stock kernel's tier, 64-bit only, no lint: for
#                  iterating (a few minutes)
#   make m32       32-bit static vmmctl and selftests into build/bin32, for
#                  selftests/run_compat.sh (needs gcc-multilib)
#   make demo      a narrated session in a QEMU guest
#   make bench     the allocator benchmark (vmm against gen_pool and drm_mm)
#                  in a QEMU guest: a table, build/bench.json, and a chart
#                  of ns/op against live blocks, build/bench.svg
#   make bench-smoke  the benchmark with tiny counts: does it still work?
#                  KERNEL=debian13 or KERNEL=newest: either on that kernel
#   make guest-debian13, make guest-newest
#                  what `scripts/vm --kernel debian13` (newest) boots:
#                  vmm.ko built in a chroot of Debian 13 (unstable), whose
#                  compiler the newer headers need (scripts/kernel-chroot)
#   make lint      checkpatch, kernel-doc, sparse + W=1, clang-format,
#                  cppcheck, the man page (scripts/lint); make check runs it
#   make format    apply the kernel's .clang-format to userspace/
#   make install   install-module + install-userspace; honours DESTDIR and
#                  PREFIX (default /usr/local); see README.md.  Run as
#                  root in another user's tree, it builds as that user
#   make install-module   vmm.ko (for KVER, default the running kernel) +
#                  depmod; left to DKMS where DKMS has it installed for KVER
#   make install-userspace  vmmctl, man page, libvmm, headers, udev rule,
#                  group vmm
#   make uninstall, uninstall-module, uninstall-userspace
#                  remove exactly what the install target installed
#   make dkms-install    register, build and install the module with DKMS
#                        (sources copied to /usr/src/vmm-VERSION); refuses
#                        while make install's vmm.ko is in MODDIR
#   make dkms-uninstall  dkms remove vmm/VERSION --all, and the sources

SHELL := /bin/bash
TOP := $(CURDIR)
BUILD := $(TOP)/build

# On a real machine the module builds against the running kernel.  The VM
# targets build it against the kernel Debian's linux-image-amd64 installs
# (scripts/stock-kver), which is what the guest boots.
KVER ?= $(shell uname -r)
KDIR ?= /lib/modules/$(KVER)/build
STOCK_KVER = $(shell $(TOP)/scripts/stock-kver)

# Kernel files used at build time (kselftest_harness.h, checkpatch.pl) come
# from Debian's linux-source-6.1 package, unpacked once into build/.
KSRC_TAR := $(firstword $(wildcard /usr/src/linux-source-6.1.tar.xz))
KSRC := $(BUILD)/linux-source
KSRC_STAMP := $(KSRC)/.unpacked

# The module's sources, as the debug build copies them.
KSOURCES = Kbuild $(shell find module uapi \( -name Kbuild -o -name '*.[ch]' \) \
	! -name '*.mod.c')

# Kernel flavours built in a chroot of their Debian suite (below).
CHROOT_FLAVOURS := debian13 newest

# The version: module/vmm.h is the source; dkms.conf and vmmctl.h must
# agree (scripts/lint checks).
VERSION := $(shell sed -n 's/^\#define VMM_VERSION "\(.*\)"$$/\1/p' module/vmm.h)

.PHONY: all deps module module-stock module-debug debug-kernel userspace \
	selftests ksrc m32 guest guest-debug check check-quick demo bench bench-module \
	bench-module-stock bench-module-debug bench-data \
	$(addprefix module-,$(CHROOT_FLAVOURS)) \
	$(addprefix bench-module-,$(CHROOT_FLAVOURS)) \
	$(addprefix guest-,$(CHROOT_FLAVOURS)) \
	bench-smoke lint format install uninstall dkms-src dkms-install dkms-uninstall \
	install-module install-userspace uninstall-module uninstall-userspace \
	clean help

all: module userspace selftests

help:
	@sed -n 's/^#   //p' Makefile

deps:
	@scripts/deps

module:
	$(MAKE) -C $(KDIR) M=$(TOP) W=1 modules

module-stock: deps
	$(MAKE) -C /lib/modules/$(STOCK_KVER)/build M=$(TOP) W=1 modules

# The debug kernel (KASAN, lockdep, kmemleak, KUnit, fault injection) is
# built once from linux-source-6.1 and cached outside the repository.  The
# module is built for it from a copy of the sources in build/debug, since
# kbuild puts objects beside the sources and the stock build lives there.
debug-kernel: deps
	@scripts/build-debug-kernel >/dev/null

module-debug: debug-kernel
	@mkdir -p $(BUILD)/debug
	@cp -a --parents --update $(KSOURCES) $(BUILD)/debug/
	$(MAKE) -C $$(scripts/build-debug-kernel --cached)/build \
		M=$(BUILD)/debug W=1 modules

userspace:
	$(MAKE) -C userspace OUT=$(BUILD)/bin

$(KSRC_STAMP): $(KSRC_TAR)
	@test -n "$(KSRC_TAR)" || { echo "linux-source-6.1 is missing: run 'make deps'" >&2; exit 1; }
	rm -rf $(KSRC) && mkdir -p $(KSRC)
	tar -xJf $(KSRC_TAR) -C $(KSRC) --strip-components=1 --wildcards \
		'linux-source-6.1/tools/testing/selftests/kselftest*' \
		'linux-source-6.1/scripts/checkpatch.pl' \
		'linux-source-6.1/scripts/spelling.txt' \
		'linux-source-6.1/scripts/const_structs.checkpatch' \
		'linux-source-6.1/scripts/kernel-doc' \
		'linux-source-6.1/.clang-format'
	touch $@

selftests: $(KSRC_STAMP)
	$(MAKE) -C selftests OUT=$(BUILD)/bin KSFT=$(KSRC)/tools/testing/selftests

ksrc: $(KSRC_STAMP)

m32: $(KSRC_STAMP)
	$(MAKE) -C userspace m32 OUT32=$(BUILD)/bin32
	$(MAKE) -C selftests m32 OUT32=$(BUILD)/bin32 \
		KSFT=$(KSRC)/tools/testing/selftests

# Newer Debian kernels: debian13 (trixie, 6.12) and newest (sid, 7.x),
# each in a chroot of its suite (scripts/kernel-chroot, cached outside the
# repository).  Their headers want their suite's compiler, so vmm.ko and
# bench/ are built inside the chroot, from a copy of the sources in
# build/FLAVOUR/ (kbuild puts objects beside the sources).
BENCH_SOURCES = bench/Kbuild $(filter-out %.mod.c,$(wildcard bench/vmm_bench*.[ch]))

$(addprefix module-,$(CHROOT_FLAVOURS)): module-%: deps
	@scripts/kernel-chroot $* >/dev/null
	@mkdir -p $(BUILD)/$*
	@cp -a --parents --update $(KSOURCES) $(BUILD)/$*/
	scripts/kernel-chroot $* make M=$(BUILD)/$* W=1 modules

$(addprefix bench-module-,$(CHROOT_FLAVOURS)): bench-module-%: module-%
	@cp -a --parents --update $(BENCH_SOURCES) $(BUILD)/$*/
	scripts/kernel-chroot $* make M=$(BUILD)/$*/bench W=1 modules

# What the guest needs: the module built for the guest's kernel, the tool
# and the tests (host-built: the ABI is the same on every kernel).
# scripts/vm calls these.
guest: deps
	$(MAKE) module-stock
	$(MAKE) userspace selftests m32 bench-module

$(addprefix guest-,$(CHROOT_FLAVOURS)): guest-%: deps
	$(MAKE) module-$*
	$(MAKE) userspace selftests m32 bench-data bench-module-$*

guest-debug: deps
	$(MAKE) module-debug
	$(MAKE) userspace selftests m32

check: deps
	@scripts/check

check-quick: deps
	@scripts/check --quick

lint: deps $(KSRC_STAMP)
	@scripts/lint

format: $(KSRC_STAMP)
	@mkdir -p $(BUILD)/lint
	cp $(KSRC)/.clang-format $(BUILD)/lint/.clang-format
	clang-format --style=file:$(BUILD)/lint/.clang-format -i \
		$(wildcard userspace/*.[ch])

# Installation.  The module goes where modprobe looks, whatever PREFIX is;
# the uapi header goes beside the kernel's own uapi headers (linux-libc-dev
# puts them in /usr/include/linux), so that <linux/vmm.h> resolves like
# every other <linux/...> header; the udev rule goes where udev reads
# packaged rules on every distribution.  The rest follows PREFIX.
PREFIX ?= /usr/local
DESTDIR ?=
MODDIR ?= /lib/modules/$(KVER)/extra
UAPI_INCLUDEDIR ?= /usr/include
UDEVRULESDIR ?= /usr/lib/udev/rules.d
UDEV_RULE := $(wildcard udev/60-vmm.rules)
SYSUSERSDIR ?= /usr/lib/sysusers.d
SYSUSERS := $(wildcard udev/vmm.sysusers)
INSTALL ?= install
USERSPACE_INSTALL = $(MAKE) -C userspace OUT=$(BUILD)/bin PREFIX=$(PREFIX) \
	DESTDIR=$(DESTDIR) UAPI_INCLUDEDIR=$(UAPI_INCLUDEDIR)

# Root does not build in a tree another user owns: root's objects there
# would make that user's next make fail.  `sudo make install` builds as
# the tree's owner instead (with their groups when they have a passwd
# entry, and their home), then installs as root.  Root trusts the tree's
# owner either way: it installs what their Makefile builds.
TREE_UID := $(shell stat -c %u '$(TOP)' 2>/dev/null)
TREE_GID := $(shell stat -c %g '$(TOP)' 2>/dev/null)
ifeq ($(shell id -u),0)
ifneq ($(filter-out 0,$(TREE_UID)),)
TREE_HOME := $(shell getent passwd $(TREE_UID) | cut -d: -f6)
AS_TREE_OWNER := setpriv --reuid=$(TREE_UID) --regid=$(TREE_GID) \
	$(if $(TREE_HOME),--init-groups,--clear-groups) -- \
	env HOME=$(or $(TREE_HOME),/nonexistent)
endif
endif

# $(call INSTALL_BUILD,TARGETS): make TARGETS for an install target, as
# the tree's owner where root runs in another user's tree; on failure,
# say why that may be.
INSTALL_BUILD = \
	if [ -n "$(AS_TREE_OWNER)" ] && ! command -v setpriv >/dev/null; then \
		echo "install: root builds in $(TOP) as its owner (uid $(TREE_UID)) with setpriv, which is missing: install util-linux, or run 'make $(1)' as that user first" >&2; \
		exit 1; fi; \
	$(AS_TREE_OWNER) $(MAKE) --no-print-directory $(1) || { \
		theirs=$$(find '$(TOP)' -path '$(TOP)/build/linux-source' -prune -o \
			! -uid $(or $(TREE_UID),0) -print -quit 2>/dev/null); \
		[ -z "$(AS_TREE_OWNER)" ] || [ -z "$$theirs" ] || \
			echo "install: the build ran as uid $(TREE_UID), who owns $(TOP), but $$theirs is not theirs (a build as root?): 'sudo chown -R $(TREE_UID):$(TREE_GID) $(TOP)', or 'make clean' as root, then again" >&2; \
		exit 1; }

# One vmm.ko per kernel, make install's (in MODDIR) or DKMS's.  On
# Debian, Ubuntu and Arch, DKMS's goes to updates/dkms/, which is found
# first, so make install's would go unused and, after a pull, be stale;
# on Fedora DKMS's own goes to extra/, our MODDIR.  So: where DKMS has vmm
# installed for KVER, install-module leaves the module to it; otherwise
# it installs, and then fails if modprobe would still find another first.
# A vmm.ko in MODDIR is DKMS's own if it is the one DKMS built for KVER.
# DESTDIR installs are for another machine, and DKMS is not asked.
DKMS_TREE ?= /var/lib/dkms
DKMS_INSTALLED = { [ -z "$(DESTDIR)" ] && command -v dkms >/dev/null && \
	dkms status -m vmm -k $(KVER) 2>/dev/null | grep -q ': installed'; }
DKMS_OWNS_KO = ( for f in $(DKMS_TREE)/vmm/*/$(KVER)/*/module/vmm.ko; do \
	cmp -s "$$f" $(MODDIR)/vmm.ko && exit 0; done; exit 1 )

install: install-userspace install-module

install-module:
	@if $(DKMS_INSTALLED); then \
		echo "install: DKMS has vmm installed for $(KVER), so vmm.ko is left to it:"; \
		dkms status -m vmm -k $(KVER) | sed 's/^/  /'; \
		echo "  update it with 'sudo make dkms-install'"; \
		exit 0; fi; \
	$(call INSTALL_BUILD,module); \
	echo "$(INSTALL) -D -m 0644 module/vmm.ko $(DESTDIR)$(MODDIR)/vmm.ko"; \
	$(INSTALL) -D -m 0644 module/vmm.ko $(DESTDIR)$(MODDIR)/vmm.ko || exit 1; \
	if [ -n "$(DESTDIR)" ]; then \
		echo "install: DESTDIR is set: not running depmod; run 'depmod -a $(KVER)' on the target"; \
		exit 0; fi; \
	echo "depmod -a $(KVER)"; depmod -a $(KVER) || exit 1; \
	found=$$(modinfo -k $(KVER) -n vmm 2>/dev/null); \
	if [ -z "$$found" ]; then \
		echo "install: after depmod, 'modinfo -k $(KVER) -n vmm' finds no vmm: is MODDIR ($(MODDIR)) under /lib/modules/$(KVER), and modinfo (kmod) installed?" >&2; \
		exit 1; fi; \
	if ! [ "$$found" -ef $(MODDIR)/vmm.ko ]; then \
		echo "install: installed $(MODDIR)/vmm.ko, but modprobe finds $$found first;" >&2; \
		echo "  remove it: 'sudo dkms remove vmm/VERSION --all' if 'dkms status -m vmm'" >&2; \
		echo "  lists it, else 'sudo rm $$found && sudo depmod -a $(KVER)'" >&2; \
		exit 1; fi

# The group the udev rule names must exist before udev reads the rule (it
# resolves names when it loads rules), so install makes it first, then has
# udev reload its rules and apply them to a loaded vmm.
install-userspace:
	@$(call INSTALL_BUILD,userspace)
ifneq ($(SYSUSERS),)
	$(INSTALL) -d $(DESTDIR)$(SYSUSERSDIR)
	$(INSTALL) -m 0644 $(SYSUSERS) $(DESTDIR)$(SYSUSERSDIR)/vmm.conf
endif
ifneq ($(UDEV_RULE),)
	$(INSTALL) -d $(DESTDIR)$(UDEVRULESDIR)
	$(INSTALL) -m 0644 $(UDEV_RULE) $(DESTDIR)$(UDEVRULESDIR)/60-vmm.rules
endif
	$(USERSPACE_INSTALL) install
ifeq ($(DESTDIR),)
	getent group vmm >/dev/null || \
		systemd-sysusers $(SYSUSERSDIR)/vmm.conf 2>/dev/null || \
		groupadd --system vmm
	-if [ -d /run/udev ] && command -v udevadm >/dev/null; then \
		udevadm control --reload && \
		udevadm trigger --subsystem-match=misc --sysname-match=vmm; fi
else
	@echo "install: DESTDIR is set: not creating group vmm; systemd-sysusers does at the target's next boot"
endif

uninstall: uninstall-userspace uninstall-module

uninstall-module:
	@if [ -z "$(DESTDIR)" ] && $(DKMS_OWNS_KO); then \
		echo "uninstall: $(MODDIR)/vmm.ko is DKMS's: 'sudo make dkms-uninstall' removes it"; \
		exit 0; fi; \
	echo "rm -f $(DESTDIR)$(MODDIR)/vmm.ko"; \
	rm -f $(DESTDIR)$(MODDIR)/vmm.ko || exit 1; \
	if [ -z "$(DESTDIR)" ]; then echo "depmod -a $(KVER)"; depmod -a $(KVER); fi

uninstall-userspace:
	rm -f $(DESTDIR)$(UDEVRULESDIR)/60-vmm.rules $(DESTDIR)$(SYSUSERSDIR)/vmm.conf
	$(USERSPACE_INSTALL) uninstall

# DKMS builds from /usr/src/vmm-VERSION for each kernel, with dkms.conf's
# commands; -k names the kernel (the running one unless KVER is given).
DKMS_SRC = /usr/src/vmm-$(VERSION)

# dkms-src stages the sources DKMS builds from in DKMS_SRC; the DKMS
# tests of make check stage them where they like (DKMS_SRC=DIR).
# Root builds them at every kernel upgrade, so they are root's and
# writable by root alone, whoever owns the clone and whatever its modes,
# from the moment they exist (umask 022: no window for another writer).
dkms-src:
	@test -n "$(VERSION)" || { echo "no VMM_VERSION in module/vmm.h" >&2; exit 1; }
	rm -rf $(DKMS_SRC) && $(INSTALL) -d $(DKMS_SRC)
	umask 022 && cp -r --parents --preserve=timestamps dkms.conf \
		$(KSOURCES) $(DKMS_SRC)/
	chmod -R u=rwX,go=rX $(DKMS_SRC)

# Again after a pull that kept the version, or for another KVER: add only
# what DKMS does not know yet, and rebuild from the sources just staged.
# Not while make install's vmm.ko is in MODDIR: DKMS's would shadow it, or
# (Fedora) keep it as "the original" and put it back at dkms remove.
# Checked before anything is staged, whatever -j says.
dkms-install:
	@if [ -e $(MODDIR)/vmm.ko ] && ! $(DKMS_OWNS_KO); then \
		echo "make dkms-install: $(MODDIR)/vmm.ko is make install's; DKMS's" >&2; \
		echo "  would be loaded instead and that one left stale:" >&2; \
		echo "  run 'sudo make uninstall-module' first" >&2; \
		exit 1; fi
	$(MAKE) --no-print-directory dkms-src
	dkms status -m vmm -v $(VERSION) | grep -q . || \
		dkms add -m vmm -v $(VERSION)
	dkms build --force -m vmm -v $(VERSION) -k $(KVER)
	dkms install --force -m vmm -v $(VERSION) -k $(KVER)

# The sources go only once DKMS has let go of them: without them, DKMS
# cannot even list (dkms status) a version it still has installed.
dkms-uninstall:
	if dkms status -m vmm -v $(VERSION) | grep -q .; then \
		dkms remove -m vmm -v $(VERSION) --all; fi
	rm -rf $(DKMS_SRC)

demo: guest
	scripts/vm --param size=64 -- /repo/scripts/demo

# The benchmark module links vmm's allocator in (bench/vmm_bench_vmm.c
# includes module/vmm_arena_unit.c) and drm_mm from the guest's drm.ko.  It is
# built for the stock kernel, in bench/, apart from the module/ build.
bench-module bench-module-stock: deps module-stock bench-data
	$(MAKE) -C /lib/modules/$(STOCK_KVER)/build M=$(TOP)/bench W=1 modules

# The data-path benchmark is a host-built program, like the tests.  A
# file target: a guest may be running it while another flavour builds.
bench-data: $(BUILD)/bin/vmm_data_bench

$(BUILD)/bin/vmm_data_bench: bench/vmm_data_bench.c uapi/linux/vmm.h
	@mkdir -p $(BUILD)/bin
	$(CC) -std=c11 -Wall -Wextra -Werror -O2 -I$(TOP)/uapi \
		-o $@ bench/vmm_data_bench.c -pthread

# make bench KERNEL=newest runs it on another flavour: stock (default),
# debian13 or newest; not debug, which has no DRM, hence no drm_mm.
# Results: build/bench.json for stock, build/bench-FLAVOUR.json otherwise.
# Under TCG the full run takes about five minutes in the guest.
KERNEL ?= stock
BENCH_TIMEOUT ?= 3600
BENCH_VM = VMM_VM_NO_BUILD=1 scripts/vm --kernel $(KERNEL) --no-load --kmod drm
BENCH_SUFFIX = $(if $(filter stock,$(KERNEL)),,-$(KERNEL))

bench: bench-module-$(KERNEL) bench-data userspace
	$(BENCH_VM) --timeout $(BENCH_TIMEOUT) -- /repo/scripts/bench
	@if command -v python3 >/dev/null; then \
		python3 -m json.tool $(BUILD)/bench$(BENCH_SUFFIX).json >/dev/null && \
		echo "build/bench$(BENCH_SUFFIX).json: valid JSON" && \
		scripts/bench-chart $(BUILD)/bench$(BENCH_SUFFIX).json \
			$(BUILD)/bench$(BENCH_SUFFIX).svg; fi

bench-smoke: bench-module-$(KERNEL) bench-data userspace
	$(BENCH_VM) --timeout 900 -- /repo/scripts/bench --smoke
	@if command -v python3 >/dev/null; then \
		python3 -m json.tool $(BUILD)/bench-smoke$(BENCH_SUFFIX).json >/dev/null && \
		scripts/bench-chart $(BUILD)/bench-smoke$(BENCH_SUFFIX).json \
			$(BUILD)/bench-smoke$(BENCH_SUFFIX).svg; fi

bench-module-debug:
	@echo "make bench: the debug kernel has no DRM (no drm_mm to compare with); use KERNEL=stock, debian13 or newest" >&2
	@exit 1

clean:
	-$(MAKE) -C $(KDIR) M=$(TOP) clean 2>/dev/null
	-$(MAKE) -C $(KDIR) M=$(TOP)/bench clean 2>/dev/null
	rm -rf $(BUILD)
# The kernel chroots live outside the repository (scripts/kernel-chroot);
# delete ~/.cache/vmm/kernels to drop them.
