package compare

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strings"

	"dioharness/harness/fstests"
	"dioharness/harness/report"
)

// runDirStamp ends a results directory's name: -YYYYMMDD-HHMMSS.
var runDirStamp = regexp.MustCompile(`-[0-9]{8}-[0-9]{6}$`)

// SetupOfRunDir is the setup a results directory was written for
// (results/fstests-<variant>-<setup>-<time>).
func SetupOfRunDir(dir string) (fstests.Setup, error) {
	name := filepath.Base(filepath.Clean(dir))
	stem := runDirStamp.ReplaceAllString(name, "")
	if !strings.HasPrefix(name, "fstests-") || stem == name {
		return fstests.Setup{}, fmt.Errorf("%s is not an fstests results directory (fstests-<kernel>-<setup>-<time>)", dir)
	}
	var best fstests.Setup
	for _, s := range fstests.Setups {
		if strings.HasSuffix(stem, "-"+s.Name) && len(s.Name) > len(best.Name) {
			best = s
		}
	}
	if best.Name == "" {
		return fstests.Setup{}, fmt.Errorf("%s names no setup of %s", dir, strings.Join(fstests.SetupNames(), ", "))
	}
	return best, nil
}

// LoadRunDir reads a setup's run back from its results directory: our
// summary.json and fstests' own xunit reports. rel is the directory as
// the comparison names it.
func LoadRunDir(dir, rel string) (SetupRun, error) {
	s, err := SetupOfRunDir(dir)
	if err != nil {
		return SetupRun{}, err
	}
	r, err := report.LoadRun(filepath.Join(dir, "summary.json"))
	if err != nil {
		return SetupRun{}, err
	}
	suites, err := fstests.ReadXunitDir(filepath.Join(dir, fstests.ResultsDir, fstests.XunitDir))
	if err != nil {
		return SetupRun{}, fmt.Errorf("%s: %w", dir, err)
	}
	return SetupRun{Setup: s, Run: r, Xunit: fstests.Cases(suites), Dir: rel}, nil
}

// RanExactly checks that the run went through exactly the tests of
// picks (in any order): a run of another selection, or one cut short,
// is not compared under this one's name.
func (sr SetupRun) RanExactly(picks []fstests.Pick) error {
	want := map[string]bool{}
	for _, p := range picks {
		want[p.Test] = true
	}
	var extra, missing []string
	ran := map[string]bool{}
	for _, s := range sr.Run.Scenarios {
		ran[s.Name] = true
		if !want[s.Name] {
			extra = append(extra, s.Name)
		}
	}
	for _, p := range picks {
		if !ran[p.Test] {
			missing = append(missing, p.Test)
		}
	}
	if len(extra) == 0 && len(missing) == 0 {
		return nil
	}
	return fmt.Errorf("ran %d tests on %s, the selection takes %d (not selected: %s; not run: %s)",
		len(sr.Run.Scenarios), sr.Setup.Name, len(picks), orNone(extra), orNone(missing))
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, " ")
}
