package bench

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestFigureLinesRoundTrip(t *testing.T) {
	o := OverheadRound{Round: 2, Iterations: 4000, BareUS: 1530.5, IdleUS: 1601, RecordingUS: 1800.25, Events: 40100, LockEvents: 4000}
	got, ok, err := ParseOverheadLine(o.Line())
	if !ok || err != nil {
		t.Fatalf("ParseOverheadLine(%q) = ok %t, %v", o.Line(), ok, err)
	}
	if diff := cmp.Diff(o, got); diff != "" {
		t.Errorf("overhead round trip (-want +got):\n%s", diff)
	}
	f := FioRun{FS: "fuse", Job: "write", Run: 3, MiBps: 41.5}
	gf, ok, err := ParseFioLine(f.Line())
	if !ok || err != nil {
		t.Fatalf("ParseFioLine(%q) = ok %t, %v", f.Line(), ok, err)
	}
	if diff := cmp.Diff(f, gf); diff != "" {
		t.Errorf("fio round trip (-want +got):\n%s", diff)
	}
}

func TestFigureLinesRejectBadFields(t *testing.T) {
	tests := []struct {
		name  string
		parse func(string) (bool, error)
		line  string
		ok    bool
		err   bool
	}{
		{"other line", parseOverhead, "lock path parallel=true", false, false},
		{"overhead without bare", parseOverhead, "bench probe_overhead round=1 iterations=4 idle_us=1 recording_us=1 events=1 lock_events=1", true, true},
		{"overhead bad number", parseOverhead, "bench probe_overhead round=1 iterations=4 bare_us=x idle_us=1 recording_us=1 events=1 lock_events=1", true, true},
		{"fio without fs", parseFio, "bench fio job=write run=1 mib_s=1", true, true},
		{"fio is not parallel_dio", parseFio, LinePrefix + "latency_ms=1", false, false},
	}
	for _, tt := range tests {
		ok, err := tt.parse(tt.line)
		if ok != tt.ok || (err != nil) != tt.err {
			t.Errorf("%s: ok %t, err %v; want ok %t, error %t", tt.name, ok, err, tt.ok, tt.err)
		}
	}
}

func parseOverhead(l string) (bool, error) { _, ok, err := ParseOverheadLine(l); return ok, err }
func parseFio(l string) (bool, error)      { _, ok, err := ParseFioLine(l); return ok, err }

func TestOverheadFromRounds(t *testing.T) {
	rs := []OverheadRound{
		{Round: 1, Iterations: 10, BareUS: 100, IdleUS: 104, RecordingUS: 150},
		{Round: 2, Iterations: 10, BareUS: 120, IdleUS: 300, RecordingUS: 110},
		{Round: 3, Iterations: 10, BareUS: 80, IdleUS: 100, RecordingUS: 120},
	}
	p, err := OverheadFromRounds("v7.3", "patched", "w", rs)
	if err != nil {
		t.Fatal(err)
	}
	got := []float64{p.BareUS, p.IdleUS, p.RecordingUS, p.IdlePct, p.RecordingPct}
	if diff := cmp.Diff([]float64{100, 104, 120, 4, 20}, got, cmpopts.EquateApprox(0, 1e-9)); diff != "" {
		t.Errorf("medians and overheads (-want +got):\n%s", diff)
	}
	if !p.Met() {
		t.Errorf("4%% idle and 20%% recording do not meet goals of %v%% and %v%%", p.GoalIdlePct, p.GoalRecordingPct)
	}
	p.RecordingPct = 25
	if p.Met() {
		t.Error("25% recording meets a goal of < 25%")
	}
	if _, err := OverheadFromRounds("v7.3", "patched", "w", nil); err == nil {
		t.Error("no rounds gave figures")
	}
	if _, err := OverheadFromRounds("v7.3", "patched", "w", append(rs, OverheadRound{Iterations: 11, BareUS: 1})); err == nil {
		t.Error("rounds of different sizes were mixed")
	}
}

func TestFioFromRuns(t *testing.T) {
	var rs []FioRun
	for i, v := range []float64{10, 30, 20} {
		rs = append(rs, FioRun{FS: "fuse", Job: "write", Run: i + 1, MiBps: v})
		rs = append(rs, FioRun{FS: "ext4", Job: "write", Run: i + 1, MiBps: v * 2})
	}
	got, err := FioFromRuns("v7.3", "patched", rs)
	if err != nil {
		t.Fatal(err)
	}
	want := []Fio{
		{Base: "v7.3", Flavour: "patched", FS: "ext4", Job: "write", Runs: 3, MiBps: 40, MinMiBps: 20, MaxMiBps: 60, ToExt4: 1},
		{Base: "v7.3", Flavour: "patched", FS: "fuse", Job: "write", Runs: 3, MiBps: 20, MinMiBps: 10, MaxMiBps: 30, ToExt4: 0.5},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("FioFromRuns (-want +got):\n%s", diff)
	}
	if _, err := FioFromRuns("v7.3", "patched", rs[:1]); err == nil {
		t.Error("fuse runs without ext4 runs gave a ratio")
	}
}

func TestParseFioJSON(t *testing.T) {
	out := []byte(`{"fio version":"fio-3.33","jobs":[
		{"jobname":"write","error":0,"read":{"bw_bytes":0},"write":{"bw_bytes":20971520}},
		{"jobname":"read","error":0,"read":{"bw_bytes":41943040},"write":{"bw_bytes":0}}]}`)
	got, err := ParseFioJSON(out)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]float64{"write": 20, "read": 40}, got); diff != "" {
		t.Errorf("ParseFioJSON (-want +got):\n%s", diff)
	}
	for _, bad := range []string{
		`not json`,
		`{"jobs":[]}`,
		`{"jobs":[{"jobname":"w","error":5,"write":{"bw_bytes":1}}]}`,
		`{"jobs":[{"jobname":"w","error":0}]}`,
	} {
		if _, err := ParseFioJSON([]byte(bad)); err == nil {
			t.Errorf("ParseFioJSON(%s) gave no error", bad)
		}
	}
}

func TestParsePeerTSV(t *testing.T) {
	in := "# fuseserver @ abc against go-fuse memfs v2.12.1\n" +
		"ours\tcached\t200\t190\t210\t400\t390\t410\n" +
		"peer\tcached\t100\t90\t110\t800\t700\t900\n"
	setup, rows, err := ParsePeerTSV([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []PeerRow{
		{Server: "ours", Mode: "cached", WriteMBps: 200, WriteMin: 190, WriteMax: 210, ReadMBps: 400, ReadMin: 390, ReadMax: 410, WriteToPeer: 2, ReadToPeer: 0.5},
		{Server: "peer", Mode: "cached", WriteMBps: 100, WriteMin: 90, WriteMax: 110, ReadMBps: 800, ReadMin: 700, ReadMax: 900, WriteToPeer: 1, ReadToPeer: 1},
	}
	if setup != "fuseserver @ abc against go-fuse memfs v2.12.1" {
		t.Errorf("setup = %q", setup)
	}
	if diff := cmp.Diff(want, rows); diff != "" {
		t.Errorf("ParsePeerTSV (-want +got):\n%s", diff)
	}
	for _, bad := range []string{
		"ours\tcached\t1\t1\t1\t1\t1\t1\n", // no peer row
		"peer\tcached\t1\t1\t1\t1\t1\n",    // a field short
		"peer\tcached\tx\t1\t1\t1\t1\t1\n",
	} {
		if _, _, err := ParsePeerTSV([]byte(bad)); err == nil {
			t.Errorf("ParsePeerTSV(%q) gave no error", bad)
		}
	}
}

func TestEditLoopFromRuns(t *testing.T) {
	s := time.Second
	rs := []EditRun{
		{Build: 50 * s, Boot: 20 * s, Scenario: 10 * s, Rest: 5 * s, Total: 85 * s},
		{Build: 40 * s, Boot: 30 * s, Scenario: 12 * s, Rest: 4 * s, Total: 86 * s},
		{Build: 60 * s, Boot: 25 * s, Scenario: 8 * s, Rest: 6 * s, Total: 99 * s},
	}
	got, err := EditLoopFromRuns("v7.3", "patched", "fs/fuse/file.c", "fuse/x", rs)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]float64{86, 50, 25, 10, 5, 60}, []float64{got.TotalS, got.BuildS, got.BootS, got.ScenarioS, got.RestS, got.GoalS}); diff != "" {
		t.Errorf("medians (-want +got):\n%s", diff)
	}
	if _, err := EditLoopFromRuns("v7.3", "patched", "f", "s", nil); err == nil {
		t.Error("no runs gave figures")
	}
}

func TestMedian(t *testing.T) {
	tests := []struct {
		in   []float64
		want float64
	}{
		{nil, 0},
		{[]float64{3}, 3},
		{[]float64{5, 1, 3}, 3},
		{[]float64{4, 1, 3, 2}, 2.5},
	}
	for _, tt := range tests {
		if got := Median(tt.in); got != tt.want {
			t.Errorf("Median(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
}
