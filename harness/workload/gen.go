package workload

import (
	"math/rand/v2"
	"slices"
)

const (
	page  = 4096
	folio = 16 * page
	// slots is how many descriptors a sequence juggles.
	slots = 4
	// maxLen bounds one read or write.
	maxLen = 64 << 10
)

// Profile is what a target allows; the generator and the executor share
// it.
type Profile struct {
	// DIOAlign is the alignment O_DIRECT needs of offsets, lengths and
	// buffers: 1 on FUSE, the logical block size on ext4 and XFS.
	DIOAlign int64
	// Block is the filesystem block size (a boundary the rules care
	// about: sub-block writes, partial last blocks).
	Block int64
	// MaxSize bounds the file.
	MaxSize int64
	// SharedMmap says shared mappings are allowed.
	SharedMmap bool
	// BadDirect is the share of O_DIRECT operations deliberately
	// misaligned (on a target with DIOAlign > 1), in percent: the
	// kernel must refuse them with EINVAL and change nothing.
	BadDirect int
}

// genState is what the generator knows of the file while it builds a
// sequence: the executor recomputes it, so a shrunk sequence whose ops
// no longer fit (a write to a closed descriptor) still runs.
type genState struct {
	open, direct [slots]bool
	size         int64
	mapped       bool
	lastOff      int64
	lastEnd      int64
}

// weights of the op kinds, in percent-ish units.
var weights = []struct {
	k Kind
	w int
}{
	{Write, 30}, {Read, 10}, {Open, 7}, {Close, 4}, {SetDirect, 6}, {Truncate, 6},
	{Fallocate, 6}, {MapWrite, 10}, {Remap, 5}, {Unmap, 2}, {KillOpener, 4},
	{Fsync, 4}, {DropCaches, 2},
}

// Generate returns n operations for seed: the same seed and profile give
// the same sequence.
func Generate(seed uint64, n int, p Profile) []Op {
	r := rand.New(rand.NewPCG(seed, 0x776f726b))
	st := &genState{}
	total := 0
	for _, w := range weights {
		total += w.w
	}
	var ops []Op
	for len(ops) < n {
		pick := r.IntN(total)
		var k Kind
		for _, w := range weights {
			if pick < w.w {
				k = w.k
				break
			}
			pick -= w.w
		}
		ops = append(ops, st.next(r, k, p)...)
	}
	return ops[:n]
}

// next makes one op of kind k, preceded by an open when it needs a
// descriptor and none is open.
func (st *genState) next(r *rand.Rand, k Kind, p Profile) []Op {
	var pre []Op
	slot := st.openSlot(r)
	needsFD := k == Write || k == Read || k == SetDirect || k == Fsync || k == Close
	if needsFD && slot < 0 {
		if k == Close {
			k = Open
		} else {
			o := Op{Kind: Open, Slot: r.IntN(slots), Direct: r.IntN(2) == 0}
			st.apply(o)
			pre = append(pre, o)
			slot = o.Slot
		}
	}
	var o Op
	switch k {
	case Open:
		o = Op{Kind: Open, Slot: r.IntN(slots), Direct: r.IntN(2) == 0}
	case Close:
		o = Op{Kind: Close, Slot: slot}
	case SetDirect:
		o = Op{Kind: SetDirect, Slot: slot, Direct: !st.direct[slot]}
	case Write, Read:
		off, end := st.rangeFor(r, p, st.direct[slot], k == Read)
		o = Op{Kind: k, Slot: slot, Off: off, Len: end - off, Seed: byte(r.IntN(250) + 1), AIO: r.IntN(10) < 4}
	case Truncate:
		o = Op{Kind: Truncate, Off: min(st.point(r, p), p.MaxSize)}
	case Fallocate:
		modes := []uint32{0, FallocKeepSize, FallocPunchHole | FallocKeepSize, FallocZeroRange, FallocZeroRange | FallocKeepSize}
		off, end := st.rangeFor(r, p, false, false)
		o = Op{Kind: Fallocate, Mode: modes[r.IntN(len(modes))], Off: off, Len: end - off}
	case MapWrite:
		if st.size == 0 {
			return append(pre, st.next(r, Write, p)...)
		}
		off, end := st.inside(r, p)
		o = Op{Kind: MapWrite, Off: off, Len: end - off, Seed: byte(r.IntN(250) + 1), Private: !p.SharedMmap || r.IntN(3) == 0}
	case Remap:
		o = Op{Kind: Remap}
	case Unmap:
		o = Op{Kind: Unmap}
	case KillOpener:
		direct := r.IntN(2) == 0
		mapped := p.SharedMmap && st.size > 0 && r.IntN(2) == 0
		var off, end int64
		if mapped {
			off, end = st.inside(r, p)
			direct = false
		} else {
			off, end = st.rangeFor(r, p, direct, false)
		}
		o = Op{Kind: KillOpener, Direct: direct, Mapped: mapped, Off: off, Len: end - off, Seed: byte(r.IntN(250) + 1)}
	case Fsync:
		o = Op{Kind: Fsync, Slot: slot}
	case DropCaches:
		o = Op{Kind: DropCaches}
	}
	st.apply(o)
	return append(pre, o)
}

func (st *genState) openSlot(r *rand.Rand) int {
	var open []int
	for i, ok := range st.open {
		if ok {
			open = append(open, i)
		}
	}
	if len(open) == 0 {
		return -1
	}
	return open[r.IntN(len(open))]
}

// apply follows what an op does to the state the generator needs.
func (st *genState) apply(o Op) {
	switch o.Kind {
	case Open:
		st.open[o.Slot], st.direct[o.Slot] = true, o.Direct
	case Close:
		st.open[o.Slot] = false
	case SetDirect:
		st.direct[o.Slot] = o.Direct
	case Write, KillOpener:
		st.size = max(st.size, o.Off+o.Len)
	case Truncate:
		st.size = o.Off
	case Fallocate:
		if o.Mode&FallocKeepSize == 0 {
			st.size = max(st.size, o.Off+o.Len)
		}
	case Remap:
		st.mapped = true
	case Unmap:
		st.mapped = false
	}
	if o.Kind == Write || o.Kind == Read || o.Kind == MapWrite || o.Kind == Fallocate {
		st.lastOff, st.lastEnd = o.Off, o.Off+o.Len
	}
}

// boundaries are the offsets the rules care about, around the current
// size and the last range: EOF and a byte either side, the block, page
// and folio boundaries below and above them.
func (st *genState) boundaries(p Profile) []int64 {
	var out []int64
	for _, at := range []int64{st.size, st.lastOff, st.lastEnd} {
		for _, unit := range []int64{1, p.Block, page, folio} {
			down := at / unit * unit
			out = append(out, down, down+unit)
		}
		out = append(out, at-1, at+1, at-512, at+512)
	}
	out = append(out, 0, page, folio)
	var keep []int64
	for _, o := range out {
		if o >= 0 && o <= p.MaxSize {
			keep = append(keep, o)
		}
	}
	slices.Sort(keep)
	return slices.Compact(keep)
}

// point is an offset: mostly a boundary, sometimes anywhere.
func (st *genState) point(r *rand.Rand, p Profile) int64 {
	if r.IntN(5) == 0 {
		return r.Int64N(p.MaxSize)
	}
	b := st.boundaries(p)
	return b[r.IntN(len(b))]
}

var lengths = []int64{1, 511, 512, 513, 1023, 1024, 4095, 4096, 4097, 8192, 12288, 16384, 65536}

// rangeFor picks [off, end) for a read or write (direct: aligned to the
// target's O_DIRECT alignment, but for the deliberately bad share).
func (st *genState) rangeFor(r *rand.Rand, p Profile, direct, read bool) (int64, int64) {
	off := min(st.point(r, p), p.MaxSize-1)
	var end int64
	switch r.IntN(3) {
	case 0: // to another boundary
		b := st.boundaries(p)
		end = b[r.IntN(len(b))]
	case 1:
		end = off + lengths[r.IntN(len(lengths))]
	default:
		end = off + 1 + r.Int64N(maxLen)
	}
	if end <= off {
		end = off + lengths[r.IntN(len(lengths))]
	}
	end = min(end, off+maxLen, p.MaxSize)
	if direct && p.DIOAlign > 1 && r.IntN(100) >= p.BadDirect {
		off = off / p.DIOAlign * p.DIOAlign
		end = (end + p.DIOAlign - 1) / p.DIOAlign * p.DIOAlign
		if end > p.MaxSize {
			end = p.MaxSize / p.DIOAlign * p.DIOAlign
		}
		if end <= off {
			end = off + p.DIOAlign
		}
	}
	if end <= off {
		end = off + 1
	}
	return off, end
}

// inside picks a range within the current size (for mappings).
func (st *genState) inside(r *rand.Rand, p Profile) (int64, int64) {
	off := min(st.point(r, p), st.size-1)
	end := min(off+lengths[r.IntN(len(lengths))], st.size)
	if r.IntN(2) == 0 {
		b := st.boundaries(p)
		if e := b[r.IntN(len(b))]; e > off && e <= st.size {
			end = e
		}
	}
	if end <= off {
		end = off + 1
	}
	return off, end
}
