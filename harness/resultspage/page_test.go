package resultspage

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"dioharness/harness/bench"
	"dioharness/harness/kbase"
	"dioharness/harness/report"
)

// recorded is a whole run of the catalogue on the v7.3 base kernel,
// as the harness wrote it.
const recorded = "testdata/results/v7.3-base-20261201-122641/summary.json"

// fixture makes a results directory: the recorded base run, a patched
// run derived from it (one scenario left out, so the matrix has a
// missing cell), a shard of a later run and a later run of one scenario
// that the page must pass over, and
// optionally a bench.json and a mutants.json.
func fixture(t *testing.T, withBench bool) (dir string, base, patched report.Run) {
	t.Helper()
	dir = t.TempDir()
	base, err := report.LoadRun(recorded)
	if err != nil {
		t.Fatal(err)
	}
	patched = base
	patched.Variant.Flavour = kbase.Patched
	patched.Started = base.Started.Add(time.Hour)
	patched.Scenarios = append([]report.Scenario(nil), base.Scenarios[1:]...)
	shard := patched
	shard.Started, shard.Shard = patched.Started.Add(time.Hour), "1/2"
	shard.Scenarios = shard.Scenarios[:1]
	// A later run of one scenario (a bench) must not replace the
	// catalogue run either.
	single := patched
	single.Started, single.Scenarios = shard.Started.Add(time.Hour), patched.Scenarios[:1]
	for name, r := range map[string]report.Run{
		"v7.3-base-20261201-122641":              base,
		"v7.3-patched-20261201-132641":           patched,
		"v7.3-patched-20261201-142641-shard1of2": shard,
		"v7.3-patched-20261201-152641":           single,
	} {
		writeJSON(t, filepath.Join(dir, name, "summary.json"), r)
	}
	if withBench {
		// Test data, not a measurement: two configurations of four
		// writer counts.
		var rs []bench.ParallelDIO
		for _, par := range []bool{true, false} {
			for _, n := range []int{1, 2, 4, 8} {
				sp := 1.0
				if par {
					sp = float64(n) * 0.9
				}
				rs = append(rs, bench.ParallelDIO{Base: "v7.3", Flavour: "patched", LatencyMS: 1, Parallel: par, Writers: n, Runs: 5, MiBps: 10 * sp, Speedup: sp})
			}
		}
		writeJSON(t, filepath.Join(dir, "bench.json"), bench.Results{Machine: "test fixture", ParallelDIO: rs,
			ProbeOverhead: []bench.ProbeOverhead{{Base: "v7.3", Flavour: "patched", Workload: "fixture writes", Rounds: 5,
				BareUS: 100, IdleUS: 102, RecordingUS: 140, IdlePct: 2, RecordingPct: 40, GoalIdlePct: 5, GoalRecordingPct: 25}}})
		writeJSON(t, filepath.Join(dir, "mutants.json"), []map[string]any{{"mutant": "drop-lock", "killed_by": "fuse/parallel-dio-shared"}})
		// Another base's full run is shown; a subset's run is not.
		writeJSON(t, filepath.Join(dir, "mutants-v6.12", "mutants.json"), []map[string]any{{"mutant": "drop-lock", "killed_by": "fuse/parallel-dio-shared"}})
		writeJSON(t, filepath.Join(dir, "mutants-v6.12-20261201-101010", "mutants.json"), []map[string]any{{"mutant": "subset"}})
	}
	return dir, base, patched
}

func writeJSON(t *testing.T, path string, v any) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func render(t *testing.T, dir string) string {
	t.Helper()
	d, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := Write(&b, d); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestLoad(t *testing.T) {
	dir, base, patched := fixture(t, true)
	d, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]report.Run{base, patched}, d.Bases[0].Runs); diff != "" {
		t.Errorf("runs behind the v7.3 matrix (-want +got):\n%s", diff)
	}
	want := []string{"v7.3-base-20261201-122641/summary.json", "v7.3-patched-20261201-132641/summary.json", "bench.json", "mutants.json", "mutants-v6.12/mutants.json"}
	if diff := cmp.Diff(want, d.Sources); diff != "" {
		t.Errorf("sources (-want +got):\n%s", diff)
	}
}

// TestPageContent checks the static page: self-contained, every
// scenario in the matrix, the probe evidence quoted and escaped.
func TestPageContent(t *testing.T) {
	dir, base, _ := fixture(t, false)
	html := render(t, dir)
	for _, bad := range []string{"http://", "https://", " src=", "<link", "@import"} {
		if strings.Contains(html, bad) {
			t.Errorf("page is not self-contained: it contains %q", bad)
		}
	}
	for _, s := range base.Scenarios {
		if !strings.Contains(html, ">"+s.Name+"</a>") {
			t.Errorf("matrix lacks %s", s.Name)
		}
	}
	// A lock trace line of the recorded run, as evidence.
	if want := "LockShared down_read path=fuse_direct_write_iter"; !strings.Contains(html, want) {
		t.Errorf("evidence lacks %q", want)
	}
	if !strings.Contains(html, "bench.json is absent") {
		t.Error("page does not say that the plots stand in for the missing bench.json")
	}
}

func TestPageBenchTables(t *testing.T) {
	dir, _, _ := fixture(t, true)
	html := render(t, dir)
	for _, want := range []string{"bench.json: probe overhead (medians)", "<td>fixture writes</td>", "40.0%</td>", "not met (&lt; 5% idle, &lt; 25% recording)"} {
		if !strings.Contains(html, want) {
			t.Errorf("page lacks %q", want)
		}
	}
}

func TestPageFromMatrixJSONOnly(t *testing.T) {
	dir := t.TempDir()
	base, err := report.LoadRun(recorded)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := report.WriteMatrixJSON(&b, report.BuildMatrix(base)); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "matrix.json"), b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	html := render(t, dir)
	if got, want := strings.Count(html, `<td class="ok"`)+strings.Count(html, `<td class="bad"`), len(base.Scenarios); got != want {
		t.Errorf("matrix from matrix.json has %d cells, want %d", got, want)
	}
}

// TestPageInBrowser loads the page in headless Debian chromium and
// reads back what its layout produced: every matrix row has a height
// and every plot mark an extent.
func TestPageInBrowser(t *testing.T) {
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("chromium not installed (Debian package chromium, scripts/deps.sh installs it): browser test skipped")
	}
	for _, tc := range []struct {
		name      string
		withBench bool
		plotID    string
		marks     int
	}{
		// 38 scenarios on base, 37 on patched.
		{"durations", false, "durations-v7.3", 38 + 37},
		// ideal, with and without the flag: 3 x 4 points.
		{"bench", true, "bench-v7_3-patched-1ms", 12},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, base, _ := fixture(t, tc.withBench)
			page := filepath.Join(dir, "index.html")
			if err := os.WriteFile(page, []byte(render(t, dir)), 0o644); err != nil {
				t.Fatal(err)
			}
			dom := dumpDOM(t, chromium, page)
			if !strings.Contains(dom, `data-rendered="yes"`) {
				t.Fatalf("the page's script did not run; DOM starts %.300q", dom)
			}
			if got := attr(t, dom, `id="matrix-v7.3"`, "data-rendered-rows"); got != len(base.Scenarios) {
				t.Errorf("browser laid out %d matrix rows, want %d", got, len(base.Scenarios))
			}
			if got := attr(t, dom, `id="`+tc.plotID+`"`, "data-rendered-marks"); got != tc.marks {
				t.Errorf("browser drew %d marks in plot %s, want %d", got, tc.plotID, tc.marks)
			}
		})
	}
}

// dumpDOM runs chromium headless on a file with a fresh profile and
// returns the DOM after load.
func dumpDOM(t *testing.T, chromium, page string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, chromium, "--headless", "--no-sandbox", "--disable-gpu",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
		"--user-data-dir="+t.TempDir(), "--dump-dom", "file://"+page)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium --dump-dom: %v\n%s", err, stderr.String())
	}
	return string(out)
}

// attr reads an integer attribute of the element whose start tag holds
// marker.
func attr(t *testing.T, dom, marker, name string) int {
	t.Helper()
	re := regexp.MustCompile(`<[a-z]+[^>]*` + regexp.QuoteMeta(marker) + `[^>]*>`)
	tag := re.FindString(dom)
	if tag == "" {
		t.Fatalf("no element with %s in the DOM", marker)
	}
	m := regexp.MustCompile(name + `="(\d+)"`).FindStringSubmatch(tag)
	if m == nil {
		t.Fatalf("element %s has no %s: %s", marker, name, tag)
	}
	n, _ := strconv.Atoi(m[1])
	return n
}
