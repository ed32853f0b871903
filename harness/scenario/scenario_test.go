package scenario

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"dioharness/harness/guestproto"
	"dioharness/harness/probe"
	"dioharness/harness/verdict"
)

// scn is a scenario with a body.
func scn(d guestproto.Declaration) Scenario {
	return Scenario{Declaration: d, Run: func(*T) {}}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		cat  Catalogue
		want string
	}{
		{"duplicate", Catalogue{scn(guestproto.Declaration{Name: "fuse/a", Area: "fuse", Setup: "s", Checks: "c"}), scn(guestproto.Declaration{Name: "fuse/a", Area: "fuse", Setup: "s", Checks: "c"})}, "duplicate"},
		{"area prefix", Catalogue{scn(guestproto.Declaration{Name: "ext4/a", Area: "fuse", Setup: "s", Checks: "c"})}, "must start with its area"},
		{"unknown area", Catalogue{scn(guestproto.Declaration{Name: "nfs/a", Area: "nfs", Setup: "s", Checks: "c"})}, "unknown area"},
		{"no checks", Catalogue{scn(guestproto.Declaration{Name: "fuse/a", Area: "fuse", Setup: "s"})}, "needs Setup and Checks"},
		{"no body", Catalogue{{Declaration: guestproto.Declaration{Name: "fuse/a", Area: "fuse", Setup: "s", Checks: "c"}}}, "needs Run"},
		{"comma in a name", Catalogue{scn(guestproto.Declaration{Name: "fuse/a,b", Area: "fuse", Setup: "s", Checks: "c"})}, "bad name"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.cat.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Validate() = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestRunVerdicts(t *testing.T) {
	tests := []struct {
		name   string
		body   func(*T)
		want   verdict.Verdict
		reason string
	}{
		{"pass", func(t *T) { t.Logf("fine") }, verdict.Pass, ""},
		{"fatal", func(t *T) { t.Fatalf("boom %d", 1); t.Errorf("not reached") }, verdict.Fail, "boom 1"},
		{"error continues", func(t *T) { t.Errorf("first"); t.Errorf("second") }, verdict.Fail, "first"},
		{"skip", func(t *T) { t.Skipf("no probe") }, verdict.Skip, "no probe"},
		{"panic", func(t *T) { panic("oops") }, verdict.Fail, "panic: oops"},
		{"cleanup error", func(t *T) { t.Cleanup(func() { t.Errorf("cleanup failed") }) }, verdict.Fail, "cleanup failed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := run(t.Context(), Scenario{Declaration: guestproto.Declaration{Name: "fuse/x"}, Run: tc.body}, NewEnv("/init", t.TempDir()))
			if r.Verdict != tc.want || !strings.HasPrefix(r.Reason, tc.reason) {
				t.Errorf("verdict %s (%q), want %s (%q)", r.Verdict, r.Reason, tc.want, tc.reason)
			}
		})
	}
}

func TestValidateDeclarations(t *testing.T) {
	for _, d := range []guestproto.Declaration{
		{Name: "fuse/a", Area: "fuse", Setup: "s", Checks: "c", Patch: "fuse: x"},
		{Name: "fuse/a", Area: "fuse", Setup: "s", Checks: "c", FailsOnBase: "why"},
		{Name: "fuse/a", Area: "fuse", Setup: "s", Checks: "c", Differs: map[string]string{"v6.12": ""}},
	} {
		if err := (Catalogue{scn(d)}).Validate(); err == nil {
			t.Errorf("Validate accepted %+v", d)
		}
	}
}

// TestDeclarations: what the agent prints for the host is the
// declarations, in catalogue order, and it decodes back.
func TestDeclarations(t *testing.T) {
	cat := Catalogue{
		scn(guestproto.Declaration{Name: "fuse/a", Area: "fuse", Setup: "s", Checks: "c", Patch: "fuse: x", FailsOnBase: "why"}),
		{Declaration: guestproto.Declaration{Name: "harness/hang", Area: "harness", Setup: "s", Checks: "c", Manual: true}, Timeout: time.Second, Run: func(*T) {}},
	}
	b, err := cat.Declarations().Encode()
	if err != nil {
		t.Fatal(err)
	}
	back, err := guestproto.DecodeDeclarations(b)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(cat.Declarations(), back); d != "" {
		t.Errorf("declarations round trip (-want +got):\n%s", d)
	}
}

// TestRunTimeoutHook: a scenario that outlives its timeout is reported
// with what the hook found, gathered while the body still blocks (its
// cleanups have not run yet).
func TestRunTimeoutHook(t *testing.T) {
	env := NewEnv("/init", t.TempDir())
	released := make(chan struct{})
	var cleanedBeforeHook bool
	cleaned := false
	env.OnTimeout = func(name string) string {
		cleanedBeforeHook = cleaned
		close(released) // the body ends, its cleanups run
		return "blocked: " + name + " in the gate"
	}
	s := Scenario{
		Declaration: guestproto.Declaration{Name: "fuse/stuck"},
		Timeout:     50 * time.Millisecond,
		Run: func(t *T) {
			t.Cleanup(func() { cleaned = true })
			<-released
		},
	}
	r := run(t.Context(), s, env)
	if !r.TimedOut || r.Verdict != verdict.Fail || r.Reason != "timed out after 50ms; blocked: fuse/stuck in the gate" {
		t.Errorf("result %+v, want a timeout naming the hook's finding", r)
	}
	if cleanedBeforeHook {
		t.Error("the cleanups ran before the hook saw the hang")
	}
}

// fakeSet records like a probe.Set: one recording at a time.
type fakeSet struct {
	mu        sync.Mutex
	recording bool
}

func (s *fakeSet) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.recording {
		return errors.New("probe: already recording")
	}
	s.recording = true
	return nil
}

func (s *fakeSet) Stop() (probe.Events, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.recording {
		return nil, probe.ErrNotRecording
	}
	s.recording = false
	return nil, nil
}

// TestTimeoutStopsRecording: a scenario that times out while it records
// is abandoned with its recording stopped, so the next scenario records;
// the abandoned body, when it returns, does not stop the next one's.
func TestTimeoutStopsRecording(t *testing.T) {
	env := NewEnv("/init", t.TempDir())
	env.grace = 10 * time.Millisecond
	set := &fakeSet{}
	release, returned := make(chan struct{}), make(chan struct{})
	stuck := Scenario{
		Declaration: guestproto.Declaration{Name: "fuse/stuck"},
		Timeout:     20 * time.Millisecond,
		Run: func(t *T) {
			defer close(returned)
			t.record(set, func() { <-release })
		},
	}
	if r := run(t.Context(), stuck, env); !r.TimedOut {
		t.Fatalf("result %+v, want a timeout", r)
	}
	inNext := make(chan struct{})
	next := Scenario{
		Declaration: guestproto.Declaration{Name: "fuse/next"},
		Run: func(t *T) {
			t.record(set, func() {
				// The abandoned body ends while this one records.
				close(release)
				<-returned
				close(inNext)
			})
		},
	}
	r := run(t.Context(), next, env)
	if r.Verdict != verdict.Pass {
		t.Errorf("the scenario after the timeout: %s %q, want pass", r.Verdict, r.Reason)
	}
	select {
	case <-inNext:
	default:
		t.Error("the next scenario never recorded")
	}
}

// TestTimeoutScale: the host's longer scenario bound stretches the
// guest's own timeouts.
func TestTimeoutScale(t *testing.T) {
	env := NewEnv("/init", t.TempDir())
	env.TimeoutScale = 20
	s := Scenario{
		Declaration: guestproto.Declaration{Name: "mixed/slow"},
		Timeout:     10 * time.Millisecond,
		Run:         func(t *T) { time.Sleep(50 * time.Millisecond) },
	}
	if r := run(t.Context(), s, env); r.Verdict != verdict.Pass || r.TimedOut {
		t.Errorf("result %s %q (timed out %v), want a pass within 20 x 10ms", r.Verdict, r.Reason, r.TimedOut)
	}
}

// A body the runner gave up on at its timeout ends at its next
// recording (endIfAbandoned) and its cleanups run, instead of going on
// to start what the next scenario needs.
func TestAbandonedBodyEnds(t *testing.T) {
	went := make(chan bool, 1)
	cleaned := make(chan struct{})
	body := func(st *T) {
		st.Cleanup(func() { close(cleaned) })
		<-st.Context().Done()
		st.endIfAbandoned()
		went <- true
	}
	r := run(t.Context(), Scenario{Declaration: guestproto.Declaration{Name: "fuse/x"}, Timeout: 10 * time.Millisecond, Run: body}, NewEnv("/init", t.TempDir()))
	if !r.TimedOut || r.Verdict != verdict.Fail {
		t.Errorf("verdict %s, timed out %v; want a failure by timeout", r.Verdict, r.TimedOut)
	}
	select {
	case <-cleaned:
	case <-time.After(5 * time.Second):
		t.Fatal("the abandoned body's cleanups did not run")
	}
	select {
	case <-went:
		t.Error("the abandoned body went on past endIfAbandoned")
	default:
	}
}
