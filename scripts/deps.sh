#!/bin/bash
# Install (as root) or name the Debian packages the harness needs.
# Usage: scripts/deps.sh [--check]
# Each entry is "package:probe", where probe is a command or a file that
# the package provides; a missing probe means the package is missing.
set -euo pipefail

deps=(
	# Kernel sources come from Debian's archive through a private apt
	# sources list (harness/debian); apt trusts them with this keyring.
	debian-archive-keyring:/usr/share/keyrings/debian-archive-keyring.gpg
	xz-utils:xz
	qemu-system-x86:qemu-system-x86_64
	dwarves:pahole
	clang:clang
	llvm:llvm-strip
	libbpf-dev:/usr/include/bpf/bpf_helpers.h
	bc:bc
	flex:flex
	bison:bison
	libelf-dev:/usr/include/libelf.h
	libssl-dev:/usr/include/openssl/ssl.h
	cpio:cpio
	e2fsprogs:mkfs.ext4
	xfsprogs:mkfs.xfs
	ccache:ccache
	fio:fio
	# The results page's test renders it in a headless browser.
	chromium:chromium
	sparse:sparse
	git-email:/usr/lib/git-core/git-send-email
	# git send-email parses addresses with Mail::Address; git-email only
	# recommends it, and Debian's git ships no fallback copy.
	libmailtools-perl:/usr/share/perl5/Mail/Address.pm
	# make fstests builds its Debian root disk with debootstrap.
	debootstrap:debootstrap
	# make test runs actionlint on .github/workflows/, which checks the
	# workflows' shell steps with shellcheck.
	shellcheck:shellcheck
	make:make
	gcc:gcc
	git:git
)

missing=()
for d in "${deps[@]}"; do
	pkg=${d%%:*} probe=${d#*:}
	if [[ $probe == /* ]]; then
		[[ -e $probe ]] || missing+=("$pkg")
	else
		command -v "$probe" >/dev/null 2>&1 || missing+=("$pkg")
	fi
done

if ((${#missing[@]} == 0)); then
	exit 0
fi
if [[ ${1:-} == --check ]]; then
	echo "missing Debian packages: ${missing[*]}" >&2
	exit 1
fi
if ((EUID != 0)); then
	echo "missing Debian packages; as root run: apt-get install -y ${missing[*]}" >&2
	exit 1
fi
echo "deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
echo "deps: installed ${#missing[@]} packages" >&2
