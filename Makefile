# dioharness: kernel patches for FUSE/iomap direct-I/O coherency and the
# QEMU + eBPF harness that proves them. `make help` lists the targets.

# Kernel flavour: empty runs base and patched and prints the matrix;
# base = pinned 6.12.117 only; patched = base + patches/.
KERNEL ?=
# A kernel tree of your own, built as it is (flavour "custom").
KSRC ?=
# Comma-separated scenario globs, run in the order given (harness list
# shows the catalogue).
SCENARIO ?=
# Run the selection N times in one boot (flake check).
REPEAT ?= 1
# NO_BUILD=1 boots the last built kernel without running make.
NO_BUILD ?=
# Host-side bound on one scenario (Go duration) before the guest is killed.
SCENARIO_TIMEOUT ?=
# Everything built lives here; ccache lives outside the repository so
# fresh clones on the same machine reuse it.
BUILD ?= $(CURDIR)/build
CCACHE_DIR ?= $(HOME)/.cache/dioharness/ccache
# kvm, tcg, or empty to prove KVM with a bounded boot.
QEMU_ACCEL ?=
JOBS ?= $(shell nproc)

GO ?= go
HARNESS := $(BUILD)/bin/harness
export CCACHE_DIR

HARNESS_FLAGS = -build $(BUILD) -jobs $(JOBS) -repeat $(REPEAT) \
	$(if $(SCENARIO_TIMEOUT),-scenario-timeout $(SCENARIO_TIMEOUT)) \
	$(if $(NO_BUILD),-no-build) \
	$(if $(KSRC),-ksrc $(KSRC)) $(if $(SCENARIO),-scenario '$(SCENARIO)') \
	$(if $(QEMU_ACCEL),-accel $(QEMU_ACCEL))

.PHONY: help deps harness qemu-test test vet unit list matrix generate \
	generate-check series-check send-email maintainers bisect clean

help:
	@echo "make qemu-test     build, boot and verify (KERNEL=base|patched, KSRC=, SCENARIO=, REPEAT=)"
	@echo "make test          vet, unit tests, BPF generate check, series-check, qemu-test on both flavours"
	@echo "make list          the scenario catalogue"
	@echo "make matrix        results/matrix.{md,json} from the latest base and patched runs"
	@echo "make series-check  apply, checkpatch --strict, build after every patch"
	@echo "make send-email    git send-email --dry-run of patches/ (SEND=1 to send)"
	@echo "make maintainers   regenerate the To/Cc list in MAINTAINERS.md"
	@echo "make bisect GOOD=<rev> BAD=<rev> SCENARIO=<name> KSRC=<tree>"
	@echo "make deps          install the Debian packages (as root)"

deps:
	@scripts/deps.sh

harness: deps
	@mkdir -p $(BUILD)/bin
	@$(GO) build -o $(HARNESS) ./harness/cmd/harness

qemu-test: harness
ifeq ($(KERNEL)$(KSRC),)
	@$(HARNESS) qemu-test $(HARNESS_FLAGS) -kernel base,patched
else
	@$(HARNESS) qemu-test $(HARNESS_FLAGS) $(if $(KERNEL),-kernel $(KERNEL))
endif

list: harness
	@$(HARNESS) list

matrix: harness
	@$(HARNESS) matrix -results results

vet:
	$(GO) vet ./...
	@test -z "$$(gofmt -l harness)" || { gofmt -l harness; echo "gofmt needed"; exit 1; }

unit:
	$(GO) test ./...

generate: deps
	$(GO) generate ./harness/probe/...

# The generated BPF objects are committed; regenerate and fail on drift.
generate-check: generate
	@git diff --exit-code --stat -- harness/probe || \
		{ echo "generated BPF code differs from the committed one: run make generate and commit"; exit 1; }

series-check: harness
	@$(HARNESS) series-check -build $(BUILD) -jobs $(JOBS)

send-email: harness
	@$(HARNESS) send-email -build $(BUILD) $(if $(SEND),-send)

maintainers: harness
	@$(HARNESS) maintainers -build $(BUILD)

bisect: harness
	@$(HARNESS) bisect -build $(BUILD) -ksrc '$(KSRC)' -good '$(GOOD)' -bad '$(BAD)' -scenario '$(SCENARIO)' \
		$(if $(QEMU_ACCEL),-accel $(QEMU_ACCEL))

test: vet unit generate-check series-check
	@$(MAKE) --no-print-directory qemu-test KERNEL= KSRC=

clean:
	rm -rf $(BUILD)
