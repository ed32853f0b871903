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
