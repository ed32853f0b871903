#!/bin/bash
# Side-by-side FUSE throughput: our test server (harness/cmd/fuseserver)
# against a peer in-memory Go FUSE server, go-fuse's example/memfs, on host
# FUSE mounts. Workload per round and per server: sequential 1 MiB O_DIRECT
# writes over an existing file, then sequential 1 MiB O_DIRECT reads of it:
#   dd if=/dev/zero of=MNT/f bs=1M count=COUNT oflag=direct conv=notrunc
#   dd if=MNT/f of=/dev/null bs=1M iflag=direct
# Servers are interleaved round by round (the starting server rotates) so
# background load hits all of them alike; the table gives medians in MB/s
# (10^6 B/s, from dd's own byte count and elapsed time) and ours/peer ratios.
#
# The peer is built from the Go module proxy into a temp dir, outside this
# module (it is never imported, never in go.mod). memfs answers OPEN/CREATE
# without FOPEN_DIRECT_IO, so O_DIRECT on it is direct I/O on a cached open
# (fuse_direct_IO). Rows for ours:
#   cached       no open flags, default max_write/max_read (1 MiB): same open
#                mode as the peer - the like-for-like row for the goal.
#   cached-128k  as cached with -max-write 131072: also the peer's request
#                size (go-fuse default max_write=max_read=128 KiB).
#   direct-io    -direct-io (FOPEN_DIRECT_IO): not like for like.
# memfs keeps metadata in memory and file data in backing files under a
# prefix; the prefix is put on /dev/shm (tmpfs) so its data stays in RAM.
# memfs would mount through fusermount, which the host may lack: the script
# mounts /dev/fuse itself as go-fuse's DirectMount would (same options) and
# hands memfs the fd as its magic /dev/fd/N mountpoint.
#
# Usage (root; the machine may be shared, so nice it):
#   nice -n 10 scripts/bench-fuse-peer.sh
# Environment: ROUNDS (5), COUNT_MIB (256), GOFUSE_VERSION (v2.12.1),
#   OURS_MODES ("cached cached-128k direct-io"), KEEP_TMP=1 keeps the temp dir,
#   TSV=FILE also writes the table there for make bench: a "# setup" line,
#   then per row server, mode and write and read median, min and max (MB/s).
set -euo pipefail

ROUNDS=${ROUNDS:-5}
COUNT_MIB=${COUNT_MIB:-256}
GOFUSE_VERSION=${GOFUSE_VERSION:-v2.12.1}
OURS_MODES=${OURS_MODES:-cached cached-128k direct-io}
DD_TIMEOUT=${DD_TIMEOUT:-120}

prog=bench-fuse-peer
die() { echo "$prog: $*" >&2; exit 1; }
say() { echo "$prog: $*" >&2; }
lastline() { tail -n1 "$@" | sed 's/^[[:space:]]*//'; }

[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || die "ROUNDS=$ROUNDS: want a positive integer"
[[ $COUNT_MIB =~ ^[1-9][0-9]*$ ]] || die "COUNT_MIB=$COUNT_MIB: want a positive integer"
(( EUID == 0 )) || die "must run as root (mount(2) on /dev/fuse)"
[[ -c /dev/fuse ]] || die "no /dev/fuse character device"
[[ -d /dev/shm && -w /dev/shm ]] || die "/dev/shm is not a writable directory (memfs backing store)"
for c in go dd mount umount timeout awk sort sed; do
	command -v "$c" >/dev/null 2>&1 || die "missing command: $c"
done

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
[[ -f $root/go.mod ]] || die "cannot find the module root (go.mod) above $0"

tmp=$(mktemp -d /tmp/$prog.XXXXXX)
shm=$(mktemp -d /dev/shm/$prog.XXXXXX)
mounts=() # mount points to clean up
pids=()   # server pids to stop
ours_pids=()

# is_mounted DIR: from mountinfo, since stat on a dead FUSE mount fails.
is_mounted() { awk -v m="$1" '$5 == m { f = 1 } END { exit !f }' /proc/self/mountinfo; }

cleanup() {
	local rc=$? m p i
	trap - EXIT INT TERM
	# Ours unmounts itself on SIGTERM; the peer exits once unmounted.
	for p in "${ours_pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	for m in "${mounts[@]}"; do
		for ((i = 0; i < 25; i++)); do
			is_mounted "$m" || break
			umount "$m" 2>/dev/null && break
			sleep 0.2
		done
		if is_mounted "$m"; then
			say "lazy unmount of $m"
			umount -l "$m" 2>/dev/null || say "cannot unmount $m"
		fi
	done
	for p in "${pids[@]}"; do
		for ((i = 0; i < 25; i++)); do
			kill -0 "$p" 2>/dev/null || break
			((i != 10)) || kill -TERM "$p" 2>/dev/null || true
			sleep 0.2
		done
		kill -KILL "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	rm -rf "$shm" || say "cannot remove $shm"
	if [[ ${KEEP_TMP:-} == 1 ]]; then
		say "kept $tmp"
	else
		rm -rf "$tmp" || say "cannot remove $tmp"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- build -----------------------------------------------------------------
say "building fuseserver"
(cd "$root" && go build -o "$tmp/fuseserver" ./harness/cmd/fuseserver) >"$tmp/build.log" 2>&1 ||
	die "go build ./harness/cmd/fuseserver failed: $(lastline "$tmp/build.log")"
say "building go-fuse memfs $GOFUSE_VERSION (module proxy, outside this module)"
mkdir -p "$tmp/peer-build"
(cd "$tmp/peer-build" && GOWORK=off GOFLAGS=-mod=mod GOBIN="$tmp" \
	go install "github.com/hanwen/go-fuse/v2/example/memfs@$GOFUSE_VERSION") >"$tmp/peer-build.log" 2>&1 ||
	die "go install memfs@$GOFUSE_VERSION failed: $(lastline "$tmp/peer-build.log")"
peer_version=$(go version -m "$tmp/memfs" | awk '$1 == "mod" || $1 == "dep" { if ($2 == "github.com/hanwen/go-fuse/v2") print $3 }')
[[ -n $peer_version ]] || peer_version="$GOFUSE_VERSION (unverified)"
ours_version=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
if [[ -n $(git -C "$root" status --porcelain 2>/dev/null) ]]; then ours_version+="+dirty"; fi

# --- mounts ----------------------------------------------------------------
# wait_for FILE PATTERN PID WHAT: wait until FILE has a line matching PATTERN.
wait_for() {
	local i
	for ((i = 0; i < 200; i++)); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		kill -0 "$3" 2>/dev/null || die "$4 exited before mounting: $(lastline "$1")"
		sleep 0.1
	done
	die "$4 not ready after 20s: $(lastline "$1")"
}

names=() # row labels "server mode"
mnts=()  # mount point per row

# start_ours MODE FLAGS...
start_ours() {
	local mode=$1 mnt="$tmp/mnt-ours-$1" log="$tmp/ours-$1.log" pid
	shift
	mkdir "$mnt"
	"$tmp/fuseserver" -mount "$mnt" "$@" >"$log" 2>&1 &
	pid=$!
	pids+=("$pid")
	ours_pids+=("$pid")
	mounts+=("$mnt")
	wait_for "$log" '^ready ' "$pid" "fuseserver ($mode)"
	names+=("ours $mode")
	mnts+=("$mnt")
}

start_peer() {
	local mnt="$tmp/mnt-peer" log="$tmp/peer.log" fd pid
	mkdir "$mnt"
	exec {fd}<>/dev/fuse
	# What go-fuse's mountDirect does with MaxWrite at its 128 KiB default.
	mount -i -t fuse.memfs -o "nosuid,nodev,fd=$fd,rootmode=40000,user_id=0,group_id=0,max_read=131072" \
		memfs "$mnt" 2>"$log" || { exec {fd}>&-; die "mount of the peer on $mnt failed: $(lastline "$log")"; }
	mounts+=("$mnt")
	"$tmp/memfs" "/dev/fd/$fd" "$shm/" >>"$log" 2>&1 &
	pid=$!
	exec {fd}>&-
	pids+=("$pid")
	wait_for "$log" '^Mounted!' "$pid" "memfs"
	timeout 10 stat "$mnt" >/dev/null || die "peer mount $mnt does not answer"
	names+=("peer cached")
	mnts+=("$mnt")
}

for mode in $OURS_MODES; do
	case $mode in
	cached) start_ours cached ;;
	cached-128k) start_ours cached-128k -max-write 131072 ;;
	direct-io) start_ours direct-io -direct-io ;;
	*) die "OURS_MODES: unknown mode $mode (want cached, cached-128k, direct-io)" ;;
	esac
done
start_peer
peer=$((${#names[@]} - 1))

# --- rounds ----------------------------------------------------------------
want=$((COUNT_MIB << 20))

# run_dd ROW OP: one timed dd; appends MB/s to $tmp/res.ROW.OP.
run_dd() {
	local row=$1 op=$2 f="${mnts[$1]}/f" out line bytes secs
	if [[ $op == write ]]; then
		out=$(LC_ALL=C timeout "$DD_TIMEOUT" dd if=/dev/zero of="$f" bs=1M count="$COUNT_MIB" oflag=direct conv=notrunc 2>&1) ||
			die "write dd on ${names[$row]} failed: $(lastline <<<"$out")"
	else
		out=$(LC_ALL=C timeout "$DD_TIMEOUT" dd if="$f" of=/dev/null bs=1M iflag=direct 2>&1) ||
			die "read dd on ${names[$row]} failed: $(lastline <<<"$out")"
	fi
	line=$(lastline <<<"$out")
	bytes=${line%% bytes*}
	secs=$(sed -nE 's/.* copied, ([0-9.e+-]+) s,.*/\1/p' <<<"$line")
	[[ $bytes =~ ^[0-9]+$ && -n $secs ]] || die "cannot parse dd output on ${names[$row]}: $line"
	((bytes == want)) || die "$op on ${names[$row]} moved $bytes bytes, want $want"
	awk -v b="$bytes" -v s="$secs" 'BEGIN { if (s <= 0) s = 1e-9; printf "%.1f\n", b / s / 1e6 }' >>"$tmp/res.$row.$op"
}

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
nrows=${#names[@]}
say "warm-up: untimed write+read of ${COUNT_MIB} MiB on each mount"
for ((i = 0; i < nrows; i++)); do
	run_dd "$i" write
	run_dd "$i" read
	rm -f "$tmp/res.$i.write" "$tmp/res.$i.read"
done
for ((r = 0; r < ROUNDS; r++)); do
	for ((k = 0; k < nrows; k++)); do
		i=$(((k + r) % nrows))
		run_dd "$i" write
		run_dd "$i" read
	done
	say "round $((r + 1))/$ROUNDS done"
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

# --- table -----------------------------------------------------------------
median() { sort -g "$1" | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
spread() { sort -g "$1" | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%s..%s", lo, hi }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

pw=$(median "$tmp/res.$peer.write")
pr=$(median "$tmp/res.$peer.read")
echo
echo "FUSE O_DIRECT throughput, bs=1M, ${COUNT_MIB} MiB per dd, median of $ROUNDS interleaved rounds (MB/s = 10^6 B/s)"
printf '%-6s %-12s %10s %-17s %10s %-17s %9s %9s\n' server mode write_MB/s "(min..max)" read_MB/s "(min..max)" w_ours/pr r_ours/pr
for ((i = 0; i < nrows; i++)); do
	w=$(median "$tmp/res.$i.write")
	rd=$(median "$tmp/res.$i.read")
	if ((i == peer)); then wr=- rr=-; else wr=$(ratio "$w" "$pw") rr=$(ratio "$rd" "$pr"); fi
	read -r s m <<<"${names[$i]}"
	printf '%-6s %-12s %10s %-17s %10s %-17s %9s %9s\n' "$s" "$m" "$w" "($(spread "$tmp/res.$i.write"))" \
		"$rd" "($(spread "$tmp/res.$i.read"))" "$wr" "$rr"
done
echo
echo "like for like: 'ours cached' (and 'ours cached-128k', which also matches the peer's 128 KiB requests) vs 'peer cached':"
echo "  both open without FOPEN_DIRECT_IO, O_DIRECT goes through fuse_direct_IO; 'ours direct-io' uses FOPEN_DIRECT_IO."
for ((i = 0; i < peer; i++)); do
	[[ ${names[$i]} == "ours cached" ]] || continue
	w=$(ratio "$(median "$tmp/res.$i.write")" "$pw")
	rd=$(ratio "$(median "$tmp/res.$i.read")" "$pr")
	verdict=$(awk -v w="$w" -v r="$rd" 'BEGIN { print (w >= 1 && r >= 1) ? "met" : "NOT met" }')
	echo "  goal ours >= peer (ratio of medians, ours cached): write $w, read $rd -> $verdict"
done
if [[ -n ${TSV:-} ]]; then
	{
		echo "# fuseserver @ $ours_version against go-fuse memfs $peer_version on host kernel $(uname -r), bs=1M, ${COUNT_MIB} MiB per dd, $ROUNDS rounds"
		for ((i = 0; i < nrows; i++)); do
			read -r s m <<<"${names[$i]}"
			printf '%s\t%s' "$s" "$m"
			for op in write read; do
				printf '\t%s\t%s\t%s' "$(median "$tmp/res.$i.$op")" "$(sort -g "$tmp/res.$i.$op" | head -n1)" "$(sort -g "$tmp/res.$i.$op" | tail -n1)"
			done
			echo
		done
	} >"$TSV"
fi
echo
echo "ours:   fuseserver @ $ours_version ($(go version "$tmp/fuseserver" | awk '{print $2}'))"
echo "peer:   github.com/hanwen/go-fuse/v2/example/memfs $peer_version (backing prefix on /dev/shm)"
echo "kernel: $(uname -r); load avg before: $load_before, after: $load_after; nice $(nice)"
echo "repro:  nice -n 10 scripts/bench-fuse-peer.sh   # ROUNDS=$ROUNDS COUNT_MIB=$COUNT_MIB GOFUSE_VERSION=$GOFUSE_VERSION"
