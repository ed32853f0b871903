package probe

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// sample is a plausible FUSE parallel direct write.
var sample = Events{
	{Kind: KindWriteEnter, PID: 1, Inode: InodeID{1, 2}},
	{Kind: KindLockShared, PID: 1, Inode: InodeID{1, 2}},
	{Kind: KindUncachedIOStartExit, PID: 1, Inode: InodeID{1, 2}},
	{Kind: KindFuseRequestSend, PID: 1, Inode: InodeID{1, 2}, Aux: FuseOpWrite},
	{Kind: KindFuseRequestEnd, PID: 9, Inode: InodeID{1, 2}, Aux: FuseOpWrite},
	{Kind: KindUnlockShared, PID: 1, Inode: InodeID{1, 2}},
	{Kind: KindWriteExit, PID: 1, Inode: InodeID{1, 2}, Ret: 4096},
	{Kind: KindWriteEnter, PID: 1, Inode: InodeID{1, 3}},
	{Kind: KindLockShared, PID: 1, Inode: InodeID{1, 3}},
}

func TestEventsQueries(t *testing.T) {
	if got := sample.Count(KindLockShared); got != 2 {
		t.Errorf("Count = %d", got)
	}
	if sample.Has(KindLockExclusive) || !sample.Has(KindWriteExit) {
		t.Error("Has wrong")
	}
	if diff := cmp.Diff([]Kind{KindFuseRequestSend, KindFuseRequestEnd}, sample.Of(KindFuseRequestEnd, KindFuseRequestSend).Kinds()); diff != "" {
		t.Errorf("Of keeps order (-want +got):\n%s", diff)
	}
	if got := len(sample.ForInode(InodeID{1, 3})); got != 2 {
		t.Errorf("ForInode = %d", got)
	}
	if got := sample.ForPID(9).Kinds(); !cmp.Equal(got, []Kind{KindFuseRequestEnd}) {
		t.Errorf("ForPID = %v", got)
	}
	if e, ok := sample.First(KindLockShared); !ok || e.Inode.Ino != 2 {
		t.Errorf("First = %v %v", e, ok)
	}
	if e, ok := sample.Last(KindLockShared); !ok || e.Inode.Ino != 3 {
		t.Errorf("Last = %v %v", e, ok)
	}
	if _, ok := sample.First(KindLaunderEnter); ok {
		t.Error("First found a missing kind")
	}
	if _, ok := sample.Last(KindLaunderEnter); ok {
		t.Error("Last found a missing kind")
	}
	if got := Events(nil).Count(KindMarker); got != 0 {
		t.Errorf("nil Count = %d", got)
	}
}

func TestEventsInOrder(t *testing.T) {
	tests := []struct {
		name  string
		kinds []Kind
		want  bool
		msg   string
	}{
		{"empty", nil, true, ""},
		{"adjacent", []Kind{KindWriteEnter, KindLockShared}, true, ""},
		{"gapped", []Kind{KindWriteEnter, KindFuseRequestEnd, KindWriteExit}, true, ""},
		{"repeated kind uses later occurrence", []Kind{KindLockShared, KindWriteExit, KindLockShared}, true, ""},
		{"reversed", []Kind{KindWriteExit, KindUncachedIOStartExit}, false, "no UncachedIOStartExit after WriteExit"},
		{"missing", []Kind{KindLaunderEnter}, false, "no LaunderEnter at all"},
		{"too many", []Kind{KindWriteExit, KindWriteExit}, false, "no WriteExit after WriteExit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := sample.InOrder(tt.kinds...); got != tt.want {
				t.Errorf("InOrder = %v, want %v", got, tt.want)
			}
			err := sample.CheckOrder(tt.kinds...)
			if tt.want != (err == nil) {
				t.Fatalf("CheckOrder = %v", err)
			}
			if err != nil && !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("CheckOrder message %q lacks %q", err, tt.msg)
			}
		})
	}
}

func TestEventsString(t *testing.T) {
	if got := Events(nil).String(); got != "(no events)\n" {
		t.Errorf("empty String = %q", got)
	}
	es := Events{{TS: 1000, Kind: KindLockShared, Aux: 1}, {TS: 2501000, Kind: KindUnlockShared, Aux: 9}}
	want := "   0    +0.000000ms 0/0 0:0/0 LockShared down_read i_size=0\n" +
		"   1    +2.500000ms 0/0 0:0/0 UnlockShared up_read\n"
	if diff := cmp.Diff(want, es.String()); diff != "" {
		t.Errorf("String (-want +got):\n%s", diff)
	}
}
