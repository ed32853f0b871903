package workload

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var profile = Profile{DIOAlign: 512, Block: 1024, MaxSize: 192 << 10, SharedMmap: true, BadDirect: 5}

func TestModel(t *testing.T) {
	tests := []struct {
		name string
		do   func(m *Model)
		want []byte
	}{
		{name: "write past EOF leaves a hole", do: func(m *Model) { m.Write(2, []byte{7}) }, want: []byte{0, 0, 7}},
		{name: "truncate down and up", do: func(m *Model) { m.Write(0, []byte{1, 2, 3}); m.Truncate(1); m.Truncate(2) }, want: []byte{1, 0}},
		{name: "punch keeps the size", do: func(m *Model) {
			m.Write(0, []byte{1, 2, 3, 4})
			m.Fallocate(FallocPunchHole|FallocKeepSize, 1, 10)
		}, want: []byte{1, 0, 0, 0}},
		{name: "zero range grows", do: func(m *Model) { m.Write(0, []byte{1, 2}); m.Fallocate(FallocZeroRange, 1, 3) }, want: []byte{1, 0, 0, 0}},
		{name: "keep-size allocation changes nothing", do: func(m *Model) { m.Write(0, []byte{1}); m.Fallocate(FallocKeepSize, 0, 9) }, want: []byte{1}},
		{name: "a mapping store cannot grow the file", do: func(m *Model) { m.Write(0, []byte{1, 2}); m.Store(1, []byte{9, 9}) }, want: []byte{1, 9}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var m Model
			tc.do(&m)
			if d := cmp.Diff(tc.want, m.Bytes()); d != "" {
				t.Errorf("content (-want +got):\n%s", d)
			}
		})
	}
}

// A seed always gives the same sequence, and sequences reach the
// boundaries the rules care about.
func TestGenerate(t *testing.T) {
	a, b := Generate(7, 200, profile), Generate(7, 200, profile)
	if d := cmp.Diff(a, b); d != "" {
		t.Fatalf("seed 7 twice (-first +second):\n%s", d)
	}
	if cmp.Equal(a, Generate(8, 200, profile)) {
		t.Fatal("seeds 7 and 8 give the same sequence")
	}
	kinds := map[Kind]int{}
	atEOF, straddle, aio := 0, 0, 0
	for seed := uint64(1); seed <= 50; seed++ {
		st := &genState{}
		for _, o := range Generate(seed, 100, profile) {
			kinds[o.Kind]++
			if o.Kind == Write {
				end := o.Off + o.Len
				if end == st.size {
					atEOF++
				}
				if o.Off < st.size && end > st.size {
					straddle++
				}
				if o.AIO {
					aio++
				}
				if o.Len <= 0 || end > profile.MaxSize+profile.DIOAlign {
					t.Errorf("seed %d: bad write %s", seed, o)
				}
			}
			st.apply(o)
		}
	}
	for k := range kindNames {
		if kinds[k] == 0 {
			t.Errorf("no %s in 50 sequences", k)
		}
	}
	if atEOF == 0 || straddle == 0 || aio == 0 {
		t.Errorf("writes ending at EOF %d, straddling it %d, libaio %d: want some of each", atEOF, straddle, aio)
	}
}

// Shrink finds the two operations that together fail.
func TestShrink(t *testing.T) {
	ops := Generate(3, 80, profile)
	ops[17].Seed, ops[60].Seed = 201, 202
	fails := func(seq []Op) (int, bool) {
		i := slices.IndexFunc(seq, func(o Op) bool { return o.Seed == 201 })
		j := slices.IndexFunc(seq, func(o Op) bool { return o.Seed == 202 })
		if i >= 0 && j > i {
			return j + 1, true
		}
		return 0, false
	}
	short, runs := Shrink(ops, 61, fails, 100)
	want := []Op{ops[17], ops[60]}
	if d := cmp.Diff(want, short); d != "" {
		t.Errorf("shrunk to (-want +got):\n%s", d)
	}
	if runs > 100 {
		t.Errorf("%d runs, budget 100", runs)
	}
}

// Run agrees with the model on a real filesystem, and a byte changed
// behind its back is reported with its offset.
func TestRun(t *testing.T) {
	dir := t.TempDir()
	tg := Target{Name: "test", Dir: dir, Profile: Profile{DIOAlign: 512, Block: 4096, MaxSize: 64 << 10}}
	// O_DIRECT may not work where the tests run (tmpfs): buffered only.
	ops := []Op{
		{Kind: Open, Slot: 0},
		{Kind: Write, Slot: 0, Off: 100, Len: 5000, Seed: 3},
		{Kind: Truncate, Off: 3000},
		{Kind: Fallocate, Mode: FallocPunchHole | FallocKeepSize, Off: 1000, Len: 10},
		{Kind: Write, Slot: 0, Off: 4096, Len: 4096, Seed: 4},
		{Kind: Read, Slot: 0, Off: 0, Len: 9000},
	}
	fail, err := Run(context.Background(), tg, "good", ops)
	if err != nil || fail != nil {
		t.Fatalf("Run: %v, %v; want no failure", fail, err)
	}
	corrupt := tg
	corrupt.DropCaches = func() error {
		f, err := os.OpenFile(filepath.Join(dir, "bad"), os.O_WRONLY, 0)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = f.WriteAt([]byte{0xee}, 4100)
		return err
	}
	fail, err = Run(context.Background(), corrupt, "bad", append(ops, Op{Kind: DropCaches}))
	if err != nil {
		t.Fatal(err)
	}
	if fail == nil || fail.Step != len(ops)+1 || fail.Op.Kind != DropCaches {
		t.Fatalf("Run with a corrupted byte: %v, want a failure after the drop-caches op", fail)
	}
	if want := "differs at offset 4100"; !strings.Contains(fail.What, want) {
		t.Errorf("failure %q does not say %q", fail.What, want)
	}
}
