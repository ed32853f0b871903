# dioharness: kernel patches for FUSE/iomap direct-I/O coherency and the
# QEMU + eBPF harness that proves them. `make help` lists the targets.

# Kernel bases (patches/<base>/BASE): empty = the default base (v7.3),
# a name (v6.12), a comma-separated list, or all.
BASE ?=
# Kernel flavours: empty runs base and patched and prints the matrix;
# base = the base as Debian ships it; patched = base + its series.
KERNEL ?=
# A kernel tree of your own, built as it is (flavour "custom").
KSRC ?=
# Comma-separated scenario globs, run in the order given (harness list
# shows the catalogue).
SCENARIO ?=
# Run the selection N times in one boot (flake check).
REPEAT ?= 1
# i/N: run only shard i of N of the selection (round robin over the run
# order: position p goes to shard p mod N + 1); make merge joins them.
SHARD ?=
# make merge: the results directories to join, and where to.
MERGE ?=
MERGE_OUT ?= results/merged
# NO_BUILD=1 boots the last built kernel without running make.
NO_BUILD ?=
# REBUILD=1 builds kernels even when the image cache ($(CACHE)/kernels)
# holds one built from the same source, patches, kconfig and toolchain.
REBUILD ?=
# Kernels whose guests qemu-test boots at once, after building them all
# (a TCG guest runs on one host thread): 2 where there are 2 cores or more.
GUESTS ?= $(shell [ $$(nproc) -ge 2 ] && echo 2 || echo 1)
# Host-side bound on one scenario (Go duration) before the guest is killed.
SCENARIO_TIMEOUT ?=
# Everything built lives here; ccache lives outside the repository so
# fresh clones on the same machine reuse it.
BUILD ?= $(CURDIR)/build
CACHE ?= $(HOME)/.cache/dioharness
CCACHE_DIR ?= $(CACHE)/ccache
# series-check boots each patch with its own scenarios; 0 skips the boots.
BOOT_EACH_PATCH ?= 1
# kvm, tcg, or empty to prove KVM with a bounded boot.
QEMU_ACCEL ?=
# fstests (make fstests): a checkout of the suite, never part of this
# repository; FSTYP selects setups (ext4, xfs, fuse-cached,
# fuse-direct-io, fuse-parallel-odirect, or fuse for every FUSE mode),
# TESTS the tests as check
# takes them ("generic/091 generic/095" or "-g quick") or a named
# selection computed from the checkout (@iomap-dio: the generic aio
# tests and the generic mmap tests that use direct I/O), LIST=1 prints
# what TESTS takes on each setup and why, without building or booting,
# FSTESTS_TIMEOUT bounds one test (Go duration); FROM compares the
# results directories of earlier runs (comma-separated) instead of
# running, each of which must have run exactly TESTS; a .json among them
# (results/fstests-<base>.json) keeps its runs of other selections or
# setups. A fold or a full run that would replace, drop or cut runs of
# the committed results/fstests-<base>.json is refused unless
# REPLACE_COMMITTED=1.
FSTESTS ?=
FSTYP ?=
TESTS ?=
LIST ?=
FSTESTS_TIMEOUT ?=
FROM ?=
REPLACE_COMMITTED ?=
JOBS ?= $(shell nproc)

GO ?= go
HARNESS := $(BUILD)/bin/harness
# make exits 2 whenever a recipe fails, whatever the harness's own exit
# status (README, "Exit status": 1 a scenario did not match, 2
# infrastructure, 3 bad input). Every recipe that runs the harness
# writes that status to EXIT_STATUS and exits with it; .ci/run reads it.
EXIT_STATUS ?= $(BUILD)/exit-status
KEEP_STATUS = ; s=$$?; echo $$s > '$(EXIT_STATUS)'; exit $$s
export CCACHE_DIR

HARNESS_FLAGS = -build $(BUILD) -cache $(CACHE) -jobs $(JOBS) -repeat $(REPEAT) \
	$(if $(SCENARIO_TIMEOUT),-scenario-timeout $(SCENARIO_TIMEOUT)) \
	$(if $(NO_BUILD),-no-build) $(if $(REBUILD),-rebuild) $(if $(SHARD),-shard $(SHARD)) \
	$(if $(KSRC),-ksrc $(KSRC)) $(if $(SCENARIO),-scenario '$(SCENARIO)') \
	$(if $(QEMU_ACCEL),-accel $(QEMU_ACCEL)) \
	$(if $(BASE),-base '$(BASE)') $(if $(KERNEL),-kernel '$(KERNEL)')

.PHONY: help deps harness harness-bin ci-matrix ci-keys ci-local actionlint qemu-test test vet unit list bases matrix merge page bench generate \
	generate-check series-check send-email maintainers upstream-base bisect bisect-demo mutants mutate workloads fuzz probe-guest clean \
	fstests fstests-prepare fstests-smoke

help:
	@echo "make qemu-test     build, boot and verify (BASE=v7.3|v6.12|all, KERNEL=base|patched, KSRC=, SCENARIO=, REPEAT=, GUESTS=n at once)"
	@echo "make fstests       fstests in the guest, base vs patched (FSTESTS=<checkout>, FSTYP=, TESTS=, BASE=, KERNEL=, FROM=, REPLACE_COMMITTED=1, GUESTS=n at once)"
	@echo "                   KERNEL=base,pdio: base vs a declared flavour, in results/fstests-<base>-<flavour>.{md,json}"
	@echo "                   TESTS='generic/091 generic/095', TESTS='-g quick', or TESTS=@iomap-dio (generic aio + generic mmap with direct I/O); LIST=1 lists the tests and why, no boot"
	@echo "make fstests-prepare  the root disk, fstests and the kernels make fstests boots, built only"
	@echo "make test          vet, unit tests, BPF generate check, series-check and qemu-test on every base"
	@echo "make list          the scenario catalogue with its declarations per base and flavour"
	@echo "make bases         the kernel bases (patches/*/BASE)"
	@echo "make matrix        results/matrix.{md,json} from the latest run of every base and flavour"
	@echo "make bench         results/bench.json: FUSE throughput, fio, probe overhead, edit -> verdict, go-fuse peer (BASE=, KERNEL=patched, EDIT_RUNS=, PEER=0)"
	@echo "make page          results/index.html from the JSON results (matrix, probe evidence, plots)"
	@echo "make merge         join runners' results (SHARD=i/N runs) into one matrix: MERGE='results/a results/b' [MERGE_OUT=] [SCENARIO=]"
	@echo "make series-check  apply each series, checkpatch --strict, build after every patch (BASE=)"
	@echo "make send-email    git send-email --dry-run of one series, SERIES=v7.3/fuse (SEND=1 sends; UPSTREAM_GIT= resolves base-commit:)"
	@echo "make maintainers   regenerate the series' To/Cc lists in MAINTAINERS.md (BASE=)"
	@echo "make upstream-base results/upstream-<base>.md: the touched files in the tested tree vs the tag the series are sent against (BASE=)"
	@echo "make bisect GOOD=<rev> BAD=<rev> SCENARIO=<name> KSRC=<tree> [RUNS=3]"
	@echo "make bisect-demo   bisect a 16-commit history with a planted mutant and a commit that does not build"
	@echo "make mutants       boot each mutant of mutants/<base>/ once, report killed/survived (BASE=, MUTANT=glob, FOLD=1 folds a subset into the committed results)"
	@echo "make ci-local      the qemu-test workflow's shards as processes here, merged and compared with a single run (SHARDS=4, WHOLE=)"
	@echo "make ci-keys       a CI job's cache keys (BASE=, KERNEL=, FSTESTS=); make ci-matrix: a workflow's job matrix (CI_MATRIX=qemu-test|fstests)"
	@echo "make workloads     the seeded workloads' fixed seeds on FUSE, ext4 and XFS (BASE=, KERNEL=; not part of make test)"
	@echo "make fuzz          seeded workload sequences against the model and the kernel rules (SEED=, N=, SETUP=, OPS=, BASE=, KERNEL=)"
	@echo "make mutate        generate mutants of the covered functions, boot each with its area (BASE=, MUTATE_SEED=, MUTANT=glob, AGAIN=1, LIST=1)"
	@echo "make deps          install the Debian packages (as root)"
	@echo "make probe-guest   the probe package's tests in a guest (PROBE_KERNEL=bzImage, PROBE_TESTS=-test.run=...)"

deps:
	@scripts/deps.sh

harness: deps harness-bin

# The harness alone, for what needs no Debian package (ci-matrix, merge,
# page): a CI job that only joins results installs nothing.
harness-bin:
	@mkdir -p $(BUILD)/bin
	@$(GO) build -o $(HARNESS) ./harness/cmd/harness

qemu-test: harness
	@$(HARNESS) qemu-test $(HARNESS_FLAGS) -guests $(GUESTS) $(KEEP_STATUS)

FSTESTS_FLAGS = -build $(BUILD) -cache $(CACHE) -jobs $(JOBS) -fstests '$(FSTESTS)' \
	$(if $(FSTYP),-fstyp '$(FSTYP)') $(if $(TESTS),-tests '$(TESTS)') $(if $(LIST),-list) \
	$(if $(FSTESTS_TIMEOUT),-test-timeout $(FSTESTS_TIMEOUT)) $(if $(FROM),-from '$(FROM)') \
	$(if $(REPLACE_COMMITTED),-replace-committed) \
	$(if $(NO_BUILD),-no-build) $(if $(QEMU_ACCEL),-accel $(QEMU_ACCEL)) \
	$(if $(BASE),-base '$(BASE)') $(if $(KERNEL),-kernel '$(KERNEL)')

# The default tests on every setup, base and patched; a run of every
# setup on both kernels adds to results/fstests-<base>.{md,json} (and
# replaces its runs of the same tests only with REPLACE_COMMITTED=1).
# KERNEL=base,<flavour> compares base with a flavour a BASE file
# declares, on the setups FSTYP= selects, in
# results/fstests-<base>-<flavour>.{md,json}.
fstests: harness
	@$(HARNESS) fstests -guests $(GUESTS) $(FSTESTS_FLAGS) $(KEEP_STATUS)

# The root disk with fstests and the kernels fstests boots, built and
# not booted.
fstests-prepare: harness
	@$(HARNESS) fstests -prepare $(FSTESTS_FLAGS) $(KEEP_STATUS)

# What make test runs: two tests per setup on the default base, or one
# line saying how to get fstests when FSTESTS is not set.
fstests-smoke: harness
	@$(HARNESS) fstests -smoke -optional $(FSTESTS_FLAGS) $(KEEP_STATUS)

list: harness
	@$(HARNESS) list $(KEEP_STATUS)

bases: harness
	@$(HARNESS) bases $(KEEP_STATUS)

matrix: harness
	@$(HARNESS) matrix -results results $(KEEP_STATUS)

# results/bench.json, the patched flavour by default: parallel
# direct-write throughput through the test FUSE server (1 and 10 ms server
# latency, 1/2/4/8 writers, with and without FOPEN_PARALLEL_DIRECT_WRITES),
# fio on FUSE and ext4, probe overhead, edit -> verdict (EDIT_RUNS loops,
# 0 skips) and, on the host, our FUSE server against go-fuse memfs
# (PEER=0 skips; it needs root, /dev/fuse and the Go module proxy).
EDIT_RUNS ?= 5
PEER ?= 1
bench: harness
	@$(HARNESS) bench -build $(BUILD) -cache $(CACHE) -jobs $(JOBS) $(if $(NO_BUILD),-no-build) \
		-edit-runs $(EDIT_RUNS) $(if $(filter 0,$(PEER)),-peer=false) \
		$(if $(QEMU_ACCEL),-accel $(QEMU_ACCEL)) $(if $(BASE),-base '$(BASE)') $(if $(KERNEL),-kernel '$(KERNEL)') $(KEEP_STATUS)

# results/index.html: the matrix per base, the probe evidence per
# scenario, mutant and bisect results and plots, from the JSON results.
page: harness-bin
	@$(HARNESS) page -results results $(KEEP_STATUS)

merge: harness-bin
	@$(HARNESS) merge -o '$(MERGE_OUT)' $(if $(SCENARIO),-scenario '$(SCENARIO)') $(MERGE) $(KEEP_STATUS)

# CI on a forge (.github/workflows/, README "Running it on CI"). The
# workflows take from the harness what they must not work out in YAML:
# ci-matrix prints a workflow's job matrix (CI_MATRIX=qemu-test: BASE x
# SHARDS; CI_MATRIX=fstests: BASE x FSTYP x KERNEL), ci-keys the keys and
# paths of one base's caches (Debian source, ccache, kernel images; the
# fstests kernels and root disk with FSTESTS=) and whether they are
# cached, both as name=value lines for $GITHUB_OUTPUT.
CI_MATRIX ?= qemu-test
SHARDS ?= 4
ci-matrix: harness-bin
	@$(HARNESS) ci-keys -matrix '$(CI_MATRIX)' -shards $(SHARDS) $(if $(FSTYP),-fstyp '$(FSTYP)') \
		$(if $(BASE),-base '$(BASE)') $(if $(KERNEL),-kernel '$(KERNEL)') $(KEEP_STATUS)

ci-keys: harness
	@$(HARNESS) ci-keys -build $(BUILD) -cache $(CACHE) $(if $(FSTESTS),-fstests '$(FSTESTS)') \
		$(if $(KSRC),-ksrc '$(KSRC)') $(if $(BASE),-base '$(BASE)') $(if $(KERNEL),-kernel '$(KERNEL)') $(KEEP_STATUS)

# The qemu-test workflow's fan-out on this machine: each job of its
# matrix (make qemu-test BASE=<base> SHARD=<i/SHARDS>, every base unless
# BASE= says) as its own process with its own build directory under
# build/ci-local/, GUESTS jobs at a time, then make merge as the merge job
# runs it; fails unless the merged matrix equals WHOLE, a single run's,
# on the same bases and scenarios (make qemu-test BASE=all writes
# results/matrix.json; every make qemu-test writes $(BUILD)/matrix.json).
WHOLE ?= results/matrix.json
ci-local: harness
	@$(HARNESS) ci-local -shards $(SHARDS) -at-once $(GUESTS) -whole '$(WHOLE)' -o '$(BUILD)/ci-local' \
		-base '$(or $(BASE),all)' $(if $(SCENARIO),-scenario '$(SCENARIO)') $(KEEP_STATUS)

# actionlint checks the workflows (and, through shellcheck, their shell
# steps); the unit tests check the make commands they run against this
# Makefile (harness/workflow).
ACTIONLINT ?= github.com/rhysd/actionlint/cmd/actionlint@v1.7.12
actionlint: deps
	$(GO) run $(ACTIONLINT) -shellcheck shellcheck .github/workflows/*.yml

# go mod tidy -diff changes nothing: it prints what tidy would change to
# go.mod and go.sum and fails if anything would.
vet:
	$(GO) vet ./...
	@test -z "$$(gofmt -l harness)" || { gofmt -l harness; echo "gofmt needed"; exit 1; }
	@if ! diff=$$($(GO) mod tidy -diff); then \
		if [ -n "$$diff" ]; then echo "go.mod/go.sum are not tidy: run go mod tidy and commit the result"; \
		else echo "go mod tidy -diff failed (error above)"; fi; exit 1; fi

unit:
	$(GO) test ./...

# The BPF objects and their Go bindings (bpf2go), and the catalogue's
# declarations the host reads (printed by the guest agent).
generate: deps
	$(GO) generate ./harness/probe/... ./harness/catalogue/...

# The generated files are committed; regenerate and fail on drift.
generate-check: generate
	@git diff --exit-code --stat -- harness/probe harness/catalogue || \
		{ echo "generated code differs from the committed one: run make generate and commit"; exit 1; }

series-check: harness
	@$(HARNESS) series-check -build $(BUILD) -cache $(CACHE) -jobs $(JOBS) $(if $(BASE),-base '$(BASE)') \
		$(if $(filter 0,$(BOOT_EACH_PATCH)),-boot=false) $(if $(QEMU_ACCEL),-accel $(QEMU_ACCEL)) $(KEEP_STATUS)

# UPSTREAM_GIT: a clone of the upstream repository holding the base's tag
# (v7.3), to resolve base-commit: when BASE does not record it.
UPSTREAM_GIT ?=
send-email: harness
	@$(HARNESS) send-email -build $(BUILD) -cache $(CACHE) -series '$(SERIES)' $(if $(SEND),-send) \
		$(if $(UPSTREAM_GIT),-upstream-git '$(UPSTREAM_GIT)') $(KEEP_STATUS)

# results/upstream-<base>.{md,json}: the files the series touch in the
# tested tree and in BASE's reference tree (standing for the tag the
# series are sent against), and whether each patch applies there.
upstream-base: harness
	@$(HARNESS) upstream-base -build $(BUILD) -cache $(CACHE) $(if $(BASE),-base '$(BASE)') $(KEEP_STATUS)

maintainers: harness
	@$(HARNESS) maintainers -build $(BUILD) -cache $(CACHE) $(if $(BASE),-base '$(BASE)') $(KEEP_STATUS)

# RUNS boots per commit, judged by majority. Writes results/bisect-<ts>/.
RUNS ?= 3
bisect: harness
	@$(HARNESS) bisect -build $(BUILD) -cache $(CACHE) -jobs $(JOBS) -ksrc '$(KSRC)' -good '$(GOOD)' -bad '$(BAD)' -scenario '$(SCENARIO)' \
		-runs $(RUNS) $(if $(SCENARIO_TIMEOUT),-scenario-timeout $(SCENARIO_TIMEOUT)) $(if $(QEMU_ACCEL),-accel $(QEMU_ACCEL)) $(KEEP_STATUS)

# A 16-commit history after base + series (harmless commits, one that
# does not build, a planted mutant) bisected end to end; fails unless
# the culprit is the mutant, confirmed by revert, and the broken commit
# was skipped. Not part of `make test`: several kernel builds and boots.
bisect-demo: harness
	@$(HARNESS) bisect-demo -build $(BUILD) -cache $(CACHE) -jobs $(JOBS) -runs $(RUNS) \
		$(if $(BASE),-base '$(BASE)') $(if $(SCENARIO_TIMEOUT),-scenario-timeout $(SCENARIO_TIMEOUT)) $(if $(QEMU_ACCEL),-accel $(QEMU_ACCEL)) $(KEEP_STATUS)

# Each mutant of mutants/<base>/ on base + series: incremental build,
# one boot with its expected killers and their areas. Not part of
# `make test` (about two to three minutes per mutant under TCG). A
# MUTANT= subset writes results/mutants-<base>-<timestamp>/; FOLD=1
# also folds it into the base's committed results.
MUTANT ?=
FOLD ?=
mutants: harness
	@$(HARNESS) mutants -build $(BUILD) -cache $(CACHE) -jobs $(JOBS) \
		$(if $(SCENARIO_TIMEOUT),-scenario-timeout $(SCENARIO_TIMEOUT)) \
		$(if $(BASE),-base '$(BASE)') $(if $(MUTANT),-mutant '$(MUTANT)') $(if $(FOLD),-fold) $(if $(QEMU_ACCEL),-accel $(QEMU_ACCEL)) $(KEEP_STATUS)

# Generated mutants (harness/mutagen) of the functions the catalogue
# covers on BASE: the probes' attach points, the series' hunks and what
# they call. MUTATE_SEED picks the sample, MUTANT= a glob of their names,
# AGAIN=1 runs mutants that already have a verdict again, LIST=1 only
# prints targets and sample. Each verdict lands in the base's
# mutants.{json,md} as it comes, so an interrupted run goes on where it
# stopped. Hours under TCG: not part of `make test`.
MUTATE_SEED ?= 1
AGAIN ?=
LIST ?=
mutate: harness
	@$(HARNESS) mutate -build $(BUILD) -cache $(CACHE) -jobs $(JOBS) -seed $(MUTATE_SEED) \
		$(if $(SCENARIO_TIMEOUT),-scenario-timeout $(SCENARIO_TIMEOUT)) $(if $(filter 1,$(AGAIN)),-again) $(if $(filter 1,$(LIST)),-list) \
		$(if $(BASE),-base '$(BASE)') $(if $(MUTANT),-mutant '$(MUTANT)') $(if $(QEMU_ACCEL),-accel $(QEMU_ACCEL)) $(KEEP_STATUS)

# The catalogue's seeded workloads (harness/workload): seeds 1-3 on FUSE
# cached, FUSE direct-io, ext4 and XFS. Manual scenarios, so not part of
# make test: their time on the four kernels is not measured yet.
WORKLOADS = fuse/workload-seeded-cached,fuse/workload-seeded-direct,ext4/workload-seeded,xfs/workload-seeded
workloads:
	@$(MAKE) --no-print-directory qemu-test SCENARIO='$(WORKLOADS)' SCENARIO_TIMEOUT=$(or $(SCENARIO_TIMEOUT),11m)

# Seeded workload sequences (harness/workload) beyond the catalogue's
# fixed seeds, on the patched kernel of BASE unless KERNEL= says
# otherwise: N sequences from SEED on, spread over the setups (SETUP=
# names one: fuse-cached, fuse-direct, fuse-writeback, ext4, xfs), OPS
# operations each (0: the catalogue's length). A failure prints the seed
# and the shortest failing sequence.
SEED ?= 1
N ?= 100
OPS ?= 0
SETUP ?=
fuzz: harness
	@$(HARNESS) fuzz -build $(BUILD) -cache $(CACHE) -jobs $(JOBS) -seed $(SEED) -n $(N) -ops $(OPS) \
		$(if $(SETUP),-setup $(SETUP)) $(if $(NO_BUILD),-no-build) $(if $(SCENARIO_TIMEOUT),-scenario-timeout $(SCENARIO_TIMEOUT)) \
		$(if $(QEMU_ACCEL),-accel $(QEMU_ACCEL)) $(if $(BASE),-base '$(BASE)') $(if $(KERNEL),-kernel '$(KERNEL)') $(KEEP_STATUS)

# The probe package's tests inside a guest booted from a built kernel
# through the same harness/vm machine: the unpatched kernel of BASE, by
# default the stable base the probes were written against.
PROBE_KERNEL ?= $(BUILD)/kernel/$(or $(BASE),v6.12)/base/_obj/arch/x86/boot/bzImage
PROBE_TESTS ?=
probe-guest: deps
	@mkdir -p $(BUILD)/bin
	@$(GO) build -o $(BUILD)/bin/probeguest ./harness/cmd/probeguest
	@$(BUILD)/bin/probeguest -build $(BUILD) $(if $(QEMU_ACCEL),-accel $(QEMU_ACCEL)) $(PROBE_KERNEL) $(PROBE_TESTS) $(KEEP_STATUS)

test: vet unit generate-check actionlint
	@$(MAKE) --no-print-directory series-check BASE=all
	@$(MAKE) --no-print-directory qemu-test BASE=all KERNEL= KSRC= SCENARIO= REPEAT=1
	@$(MAKE) --no-print-directory fstests-smoke BASE= KERNEL= FSTYP= TESTS=

clean:
	rm -rf $(BUILD)
