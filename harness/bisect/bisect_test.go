package bisect

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// fakeEnv is a linear history "c1".."cN" after "good". runs scripts the
// exit statuses of each commit's runs in order (the last one repeats);
// a commit without a script fails from firstBad on, passes before it.
type fakeEnv struct {
	n        int
	firstBad int
	broken   map[string]bool   // does not build
	images   map[string]string // image hash override
	runs     map[string][]int
	// unconfirmed commits fail only by a TIMEOUT nothing confirmed.
	unconfirmed map[string]bool
	revertOK    bool
	revertEr    error
	built       []string
	ran         map[string]int
}

func newFake(n, firstBad int) *fakeEnv {
	return &fakeEnv{n: n, firstBad: firstBad, broken: map[string]bool{}, images: map[string]string{}, runs: map[string][]int{}, unconfirmed: map[string]bool{}, revertOK: true, ran: map[string]int{}}
}

func hash(i int) string {
	if i == 0 {
		return "good"
	}
	return "c" + string(rune('a'+i-1))
}

func index(h string) int {
	if h == "good" {
		return 0
	}
	return int(h[1]-'a') + 1
}

func (f *fakeEnv) Commits(_ context.Context, good, bad string) ([]Commit, error) {
	if good != "good" {
		return nil, errors.New("unknown revision")
	}
	var out []Commit
	for i := 1; i <= index(bad); i++ {
		out = append(out, Commit{Hash: hash(i), Subject: "subject " + hash(i)})
	}
	return out, nil
}

func (f *fakeEnv) Build(_ context.Context, c Commit) Build {
	f.built = append(f.built, c.Hash)
	if f.broken[c.Hash] {
		return Build{Err: "error: expected ';'\nmore"}
	}
	img := "img-" + c.Hash
	if h, ok := f.images[c.Hash]; ok {
		img = h
	}
	return Build{Image: img}
}

func (f *fakeEnv) Run(_ context.Context, c Commit) Run {
	k := f.ran[c.Hash]
	f.ran[c.Hash]++
	if s, ok := f.runs[c.Hash]; ok {
		return Run{Exit: s[min(k, len(s)-1)]}
	}
	if c.Hash == "revert" {
		if f.revertOK {
			return Run{Exit: ExitGood}
		}
		return Run{Exit: ExitBad, Evidence: "still fails"}
	}
	if f.unconfirmed[c.Hash] {
		return Run{Exit: ExitBad, Unconfirmed: true, Evidence: "fail TIMEOUT: killed by the host (flaky: it matched its declaration on a fresh guest (boot 2))"}
	}
	if i := index(c.Hash); i >= f.firstBad {
		return Run{Exit: ExitBad, Evidence: "scenario failed"}
	}
	return Run{Exit: ExitGood}
}

func (f *fakeEnv) Revert(_ context.Context, bad, culprit Commit) (Commit, error) {
	if f.revertEr != nil {
		return Commit{}, f.revertEr
	}
	return Commit{Hash: "revert", Subject: "Revert " + culprit.Subject}, nil
}

// view is what the tests compare: the outcome and the verdict of each
// tested commit by role.
type view struct {
	Outcome   Outcome
	Culprit   string
	Range     []string
	Confirmed bool
	Suspect   bool
	Tested    []string
}

func viewOf(r Result) view {
	v := view{Outcome: r.Outcome, Confirmed: r.Confirmed, Suspect: r.Suspect}
	if r.Culprit != nil {
		v.Culprit = r.Culprit.Hash
	}
	for _, c := range r.Range {
		v.Range = append(v.Range, c.Hash)
	}
	for _, t := range r.Tested {
		v.Tested = append(v.Tested, t.Commit.Hash+" "+t.Role+" "+string(t.Verdict))
	}
	return v
}

func TestBisect(t *testing.T) {
	tests := []struct {
		name  string
		setup func() *fakeEnv
		bad   string
		want  view
	}{
		{
			name:  "culprit in the middle, confirmed",
			setup: func() *fakeEnv { return newFake(8, 5) },
			bad:   "ch",
			want: view{Outcome: Found, Culprit: "ce", Confirmed: true, Tested: []string{
				"good good endpoint good", "ch bad endpoint bad",
				"cd step good", "cf step bad", "ce step bad", "revert revert good"}},
		},
		{
			name: "a commit that does not build is skipped, the answer stays right",
			setup: func() *fakeEnv {
				f := newFake(8, 5)
				f.broken["cf"] = true
				return f
			},
			bad: "ch",
			want: view{Outcome: Found, Culprit: "ce", Confirmed: true, Tested: []string{
				"good good endpoint good", "ch bad endpoint bad",
				"cd step good", "cf step skip", "ce step bad", "revert revert good"}},
		},
		{
			name: "the skipped commit is next to the culprit: inconclusive",
			setup: func() *fakeEnv {
				f := newFake(4, 3)
				f.broken["cc"] = true
				return f
			},
			bad: "cd",
			want: view{Outcome: Inconclusive, Range: []string{"cc", "cd"}, Tested: []string{
				"good good endpoint good", "cd bad endpoint bad",
				"cb step good", "cc step skip"}},
		},
		{
			name: "majority: one flaky failure among three runs is good",
			setup: func() *fakeEnv {
				f := newFake(4, 3)
				f.runs["cb"] = []int{ExitBad, ExitGood, ExitGood}
				return f
			},
			bad: "cd",
			want: view{Outcome: Found, Culprit: "cc", Confirmed: true, Tested: []string{
				"good good endpoint good", "cd bad endpoint bad",
				"cb step good", "cc step bad", "revert revert good"}},
		},
		{
			name: "infrastructure exits and split runs are skip, never bad",
			setup: func() *fakeEnv {
				f := newFake(4, 3)
				f.runs["cb"] = []int{ExitInfra, ExitGood, ExitBad}
				return f
			},
			bad: "cd",
			want: view{Outcome: Inconclusive, Range: []string{"cb", "cc"}, Tested: []string{
				"good good endpoint good", "cd bad endpoint bad",
				"cb step skip", "ca step good", "cc step bad"}},
		},
		{
			name: "a lone TIMEOUT nothing confirmed is a skip, never bad",
			setup: func() *fakeEnv {
				f := newFake(4, 3)
				f.unconfirmed["cc"] = true
				return f
			},
			bad: "cd",
			want: view{Outcome: Inconclusive, Range: []string{"cc", "cd"}, Tested: []string{
				"good good endpoint good", "cd bad endpoint bad",
				"cb step good", "cc step skip"}},
		},
		{
			name:  "BAD that fails only by an unconfirmed TIMEOUT is refused",
			setup: func() *fakeEnv { f := newFake(4, 3); f.unconfirmed["cd"] = true; return f },
			bad:   "cd",
			want:  view{Outcome: BadNotBad, Tested: []string{"good good endpoint good", "cd bad endpoint skip"}},
		},
		{
			name:  "GOOD that fails is refused before bisecting",
			setup: func() *fakeEnv { f := newFake(4, 3); f.runs["good"] = []int{ExitBad}; return f },
			bad:   "cd",
			want:  view{Outcome: GoodNotGood, Tested: []string{"good good endpoint bad"}},
		},
		{
			name:  "GOOD that does not build is refused",
			setup: func() *fakeEnv { f := newFake(4, 3); f.broken["good"] = true; return f },
			bad:   "cd",
			want:  view{Outcome: GoodNotGood, Tested: []string{"good good endpoint skip"}},
		},
		{
			name:  "BAD that passes is refused",
			setup: func() *fakeEnv { return newFake(4, 9) },
			bad:   "cd",
			want:  view{Outcome: BadNotBad, Tested: []string{"good good endpoint good", "cd bad endpoint good"}},
		},
		{
			name: "a culprit whose image equals its parent's is suspect",
			setup: func() *fakeEnv {
				f := newFake(4, 3)
				f.images["cc"] = "img-cb"
				return f
			},
			bad: "cd",
			want: view{Outcome: Found, Culprit: "cc", Confirmed: true, Suspect: true, Tested: []string{
				"good good endpoint good", "cd bad endpoint bad",
				"cb step good", "cc step bad", "revert revert good"}},
		},
		{
			name: "the suspect check builds an untested parent",
			setup: func() *fakeEnv {
				f := newFake(2, 2)
				return f
			},
			bad: "cb",
			want: view{Outcome: Found, Culprit: "cb", Confirmed: true, Tested: []string{
				"good good endpoint good", "cb bad endpoint bad",
				"ca step good", "revert revert good"}},
		},
		{
			name:  "a revert that still fails is not confirmed",
			setup: func() *fakeEnv { f := newFake(4, 3); f.revertOK = false; return f },
			bad:   "cd",
			want: view{Outcome: Found, Culprit: "cc", Tested: []string{
				"good good endpoint good", "cd bad endpoint bad",
				"cb step good", "cc step bad", "revert revert bad"}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := tc.setup()
			res := Bisect(context.Background(), f, "good", tc.bad, Options{})
			if d := cmp.Diff(tc.want, viewOf(res)); d != "" {
				t.Errorf("Bisect (-want +got):\n%s\nerror: %s", d, res.Error)
			}
		})
	}
}

func TestRunsStopAtMajority(t *testing.T) {
	f := newFake(2, 2)
	res := Bisect(context.Background(), f, "good", "cb", Options{Runs: 3})
	// Two agreeing runs decide a commit of three: endpoints, one step
	// and the revert take two runs each.
	if d := cmp.Diff(map[string]int{"good": 2, "cb": 2, "ca": 2, "revert": 2}, f.ran); d != "" {
		t.Errorf("runs per commit (-want +got):\n%s", d)
	}
	if res.Tested[0].Why != "2 good, 0 bad, 0 skip of 2 runs" {
		t.Errorf("Why = %q", res.Tested[0].Why)
	}
}

func TestVerdictOfExit(t *testing.T) {
	tests := []struct {
		exit    int
		skipped bool
		want    Verdict
	}{
		{0, false, Good},
		{1, false, Bad}, // includes a hang or panic after boot
		{2, false, Skip},
		{3, false, Skip},
		{0, true, Skip},
		{1, true, Skip},
	}
	for _, tc := range tests {
		if got := VerdictOfExit(tc.exit, tc.skipped); got != tc.want {
			t.Errorf("VerdictOfExit(%d, %v) = %s, want %s", tc.exit, tc.skipped, got, tc.want)
		}
	}
}

// TestVerdictOf: a run that failed only by a TIMEOUT that nothing
// confirmed is never bad, whatever its exit status.
func TestVerdictOf(t *testing.T) {
	tests := []struct {
		run  Run
		want Verdict
	}{
		{Run{Exit: ExitBad}, Bad},
		{Run{Exit: ExitBad, Unconfirmed: true}, Skip},
		{Run{Exit: ExitGood}, Good},
		{Run{Exit: ExitBad, Skipped: true}, Skip},
	}
	for _, tc := range tests {
		if got := VerdictOf(tc.run); got != tc.want {
			t.Errorf("VerdictOf(%+v) = %s, want %s", tc.run, got, tc.want)
		}
	}
}

func TestMajority(t *testing.T) {
	tests := []struct {
		count map[Verdict]int
		runs  int
		want  Verdict
	}{
		{map[Verdict]int{Good: 2}, 3, Good},
		{map[Verdict]int{Bad: 2, Good: 1}, 3, Bad},
		{map[Verdict]int{Bad: 1, Good: 1, Skip: 1}, 3, Skip},
		{map[Verdict]int{Good: 1}, 1, Good},
		{map[Verdict]int{Good: 2, Bad: 2}, 4, Skip},
	}
	for _, tc := range tests {
		if got := Majority(tc.count, tc.runs); got != tc.want {
			t.Errorf("Majority(%v, %d) = %s, want %s", tc.count, tc.runs, got, tc.want)
		}
	}
}

func TestWrite(t *testing.T) {
	f := newFake(8, 5)
	f.broken["cf"] = true
	res := Bisect(context.Background(), f, "good", "ch", Options{})
	dir := filepath.Join(t.TempDir(), "bisect-x")
	req := Request{Tree: "linux", Good: "good", Bad: "ch", Scenario: "fuse/a", Runs: 3}
	if err := Write(dir, req, res); err != nil {
		t.Fatal(err)
	}
	js, err := os.ReadFile(filepath.Join(dir, "result.json"))
	if err != nil {
		t.Fatal(err)
	}
	var back struct {
		Request Request
		Result  Result
	}
	if err := json.Unmarshal(js, &back); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(req, back.Request); d != "" {
		t.Errorf("request round trip (-want +got):\n%s", d)
	}
	if d := cmp.Diff(res, back.Result); d != "" {
		t.Errorf("result round trip (-want +got):\n%s", d)
	}
	md, err := os.ReadFile(filepath.Join(dir, "result.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`**culprit ce "subject ce" after 3 steps, confirmed by revert**`,
		"| cf | subject cf | step | skip | does not build: error: expected ';' | 0 |  |",
		"| ce | subject ce | step | bad | 0 good, 2 bad, 0 skip of 2 runs | 0 | bad (exit 1, 0 s): scenario failed; bad (exit 1, 0 s): scenario failed |",
	} {
		if !strings.Contains(string(md), want) {
			t.Errorf("result.md lacks %q:\n%s", want, md)
		}
	}
}
