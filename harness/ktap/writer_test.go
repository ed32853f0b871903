package ktap

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// recorder records every Write call separately.
type recorder struct {
	mu     sync.Mutex
	writes []string
	failAt int // 1-based index of the Write that fails; 0 never fails
}

func (r *recorder) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.failAt != 0 && len(r.writes)+1 >= r.failAt {
		return 0, errors.New("port closed")
	}
	r.writes = append(r.writes, string(p))
	return len(p), nil
}

func (r *recorder) String() string { return strings.Join(r.writes, "") }

// step is one call on a Writer.
type step func(w *Writer) error

func TestWriter(t *testing.T) {
	tests := []struct {
		name  string
		steps []step
		want  string
	}{
		{
			name:  "plan",
			steps: []step{func(w *Writer) error { return w.Plan(3) }},
			want:  text("KTAP version 1", "1..3"),
		},
		{
			name: "results numbered automatically",
			steps: []step{
				func(w *Writer) error { return w.Plan(3) },
				func(w *Writer) error {
					return w.Result(Result{Name: "a", Status: Pass, Duration: 1500 * time.Microsecond})
				},
				func(w *Writer) error {
					return w.Result(Result{Name: "b", Status: Fail, Diag: []string{"got 1\nwant 2", ""}, Duration: 2 * time.Second})
				},
				func(w *Writer) error { return w.Result(Result{Name: "c", Status: Skip, Reason: "no\nIOMMU"}) },
			},
			want: text(
				"KTAP version 1",
				"1..3",
				"# duration_ms: 1",
				"ok 1 a",
				"# got 1",
				"# want 2",
				"#",
				"# duration_ms: 2000",
				"not ok 2 b",
				"# duration_ms: 0",
				"ok 3 c # SKIP no IOMMU",
			),
		},
		{
			name: "explicit numbers and directives",
			steps: []step{
				func(w *Writer) error {
					return w.Result(Result{Number: 4, Name: "x", Status: Pass, Directive: DirXFail, Reason: "known bug"})
				},
				func(w *Writer) error { return w.Result(Result{Name: "y", Status: Fail, Directive: DirTimeout}) },
				func(w *Writer) error { return w.Result(Result{Name: "z", Status: Pass, Reason: "rcode=0"}) },
			},
			want: text(
				"# duration_ms: 0",
				"ok 4 x # XFAIL known bug",
				"# duration_ms: 0",
				"not ok 5 y # TIMEOUT",
				"# duration_ms: 0",
				"ok 6 z # rcode=0",
			),
		},
		{
			name: "names are escaped and kept on one line",
			steps: []step{
				func(w *Writer) error { return w.Result(Result{Name: "a#b\\c\nd", Status: Pass}) },
				func(w *Writer) error { return w.Result(Result{Status: Pass}) },
			},
			want: text("# duration_ms: 0", `ok 1 a\#b\\c d`, "# duration_ms: 0", "ok 2"),
		},
		{
			name: "diagnostics",
			steps: []step{
				func(w *Writer) error { return w.Diag("booted %s in %dms", "6.9.0", 812) },
				func(w *Writer) error { return w.Diag("two\r\nlines  ") },
			},
			want: text("# booted 6.9.0 in 812ms", "# two", "# lines"),
		},
		{
			name: "subtests before the parent result",
			steps: []step{
				func(w *Writer) error {
					return w.Result(Result{Name: "parent", Status: Fail, Diag: []string{"one step failed"}, Duration: time.Second,
						Subtests: []Result{
							{Name: "s1", Status: Pass, Duration: 10 * time.Millisecond},
							{Name: "s2", Status: Fail, Diag: []string{"boom"}, Subtests: []Result{{Name: "deep", Status: Skip}}},
						}})
				},
			},
			want: text(
				"  KTAP version 1",
				"  1..2",
				"  # duration_ms: 10",
				"  ok 1 s1",
				"    KTAP version 1",
				"    1..1",
				"    # duration_ms: 0",
				"    ok 1 deep # SKIP",
				"  # boom",
				"  # duration_ms: 0",
				"  not ok 2 s2",
				"# one step failed",
				"# duration_ms: 1000",
				"not ok 1 parent",
			),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{}
			w := NewWriter(rec)
			for i, s := range tt.steps {
				if err := s(w); err != nil {
					t.Fatalf("step %d: %v", i, err)
				}
			}
			if diff := cmp.Diff(tt.want, rec.String()); diff != "" {
				t.Errorf("output mismatch (-want +got):\n%s", diff)
			}
			for _, wr := range rec.writes {
				if strings.Count(wr, "\n") != 1 || !strings.HasSuffix(wr, "\n") {
					t.Errorf("Write(%q) is not exactly one line", wr)
				}
			}
		})
	}
}

func TestWriterRejectsInvalidResults(t *testing.T) {
	tests := []struct {
		name string
		r    Result
	}{
		{"incomplete status", Result{Name: "a"}},
		{"unknown status", Result{Name: "a", Status: Status(42)}},
		{"unknown directive", Result{Name: "a", Status: Pass, Directive: "MAYBE"}},
		{"negative number", Result{Number: -1, Name: "a", Status: Pass}},
		{"invalid subtest", Result{Name: "a", Status: Pass, Subtests: []Result{{Name: "b", Status: Pass}, {Name: "c"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{}
			if err := NewWriter(rec).Result(tt.r); err == nil {
				t.Fatal("Result succeeded, want error")
			}
			if len(rec.writes) != 0 {
				t.Errorf("wrote %q for an invalid result", rec.writes)
			}
		})
	}
	if err := NewWriter(&recorder{}).Plan(-1); err == nil {
		t.Error("Plan(-1) succeeded, want error")
	}
}

func TestWriterErrorIsSticky(t *testing.T) {
	rec := &recorder{failAt: 2}
	w := NewWriter(rec)
	err := w.Plan(1)
	if err == nil || !strings.Contains(err.Error(), "port closed") {
		t.Fatalf("Plan error = %v, want port closed", err)
	}
	if err2 := w.Diag("later"); err2 != err {
		t.Errorf("Diag after failure = %v, want %v", err2, err)
	}
	if got, want := rec.writes, []string{"KTAP version 1\n"}; !cmp.Equal(got, want) {
		t.Errorf("writes = %q, want %q", got, want)
	}
}

func TestWriterConcurrentResultsStayContiguous(t *testing.T) {
	const n = 8
	rec := &recorder{}
	w := NewWriter(rec)
	if err := w.Plan(n); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := 1; i <= n; i++ {
		wg.Go(func() {
			r := Result{Number: i, Name: fmt.Sprintf("s%d", i), Status: Pass, Diag: []string{fmt.Sprintf("from %d\nline 2", i)}}
			if err := w.Result(r); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	rep, err := Parse(strings.NewReader(rec.String()))
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Results) != n || !rep.Complete {
		t.Fatalf("parsed %d results, complete=%v; want %d, true", len(rep.Results), rep.Complete, n)
	}
	for _, r := range rep.Results {
		want := []string{fmt.Sprintf("from %d", r.Number), "line 2"}
		if diff := cmp.Diff(want, r.Diag); diff != "" || r.Name != fmt.Sprintf("s%d", r.Number) {
			t.Errorf("result %d %q has interleaved diagnostics (-want +got):\n%s", r.Number, r.Name, diff)
		}
	}
}

// TestWriterOther: a line that is not KTAP goes out whole and a reader
// skips it; one that would read as KTAP is refused.
func TestWriterOther(t *testing.T) {
	var b strings.Builder
	w := NewWriter(&b)
	if err := w.Other("dioharness: alive 12.0"); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"# a diagnostic", "ok 1 x", "  not ok 2 y", "1..3", "KTAP version 1", "two\nlines"} {
		if err := w.Other(bad); err == nil {
			t.Errorf("Other(%q) accepted a line a KTAP reader would not skip", bad)
		}
	}
	if got := b.String(); got != "dioharness: alive 12.0\n" {
		t.Errorf("wrote %q", got)
	}
	if _, ok := NewParser().Feed("dioharness: alive 12.0"); ok {
		t.Error("the parser took the line as KTAP")
	}
}
