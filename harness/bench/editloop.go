package bench

import (
	"errors"
	"time"
)

// GoalEditLoop is the edit -> verdict goal under TCG.
const GoalEditLoop = 60 * time.Second

// EditRun is one edit -> verdict loop: a source file touched, the kernel
// rebuilt, the guest booted and one scenario run.
type EditRun struct {
	// Build is the incremental kernel build (make in the tree's O=
	// directory, configuration included).
	Build time.Duration `json:"build_ns"`
	// Boot is QEMU's start to the guest agent's first line.
	Boot time.Duration `json:"boot_ns"`
	// Scenario is the scenario's own time in the guest, probe load
	// included.
	Scenario time.Duration `json:"scenario_ns"`
	// Rest is the remainder: initramfs and disk images, guest shutdown,
	// reports.
	Rest  time.Duration `json:"rest_ns"`
	Total time.Duration `json:"total_ns"`
}

// EditLoop is results/bench.json's edit -> verdict figure: medians of the
// runs' phases (each phase's own median: they need not add up to Total).
type EditLoop struct {
	Base     string `json:"base"`
	Flavour  string `json:"flavour"`
	File     string `json:"file"`
	Scenario string `json:"scenario"`
	Runs     int    `json:"runs"`
	// Seconds, medians over the runs.
	TotalS    float64   `json:"total_s"`
	BuildS    float64   `json:"build_s"`
	BootS     float64   `json:"boot_s"`
	ScenarioS float64   `json:"scenario_s"`
	RestS     float64   `json:"rest_s"`
	GoalS     float64   `json:"goal_s"`
	PerRun    []EditRun `json:"per_run"`
}

// EditLoopFromRuns takes the medians of the runs.
func EditLoopFromRuns(base, flavour, file, scenario string, rs []EditRun) (EditLoop, error) {
	if len(rs) == 0 {
		return EditLoop{}, errors.New("bench: no edit loop run")
	}
	med := func(get func(EditRun) time.Duration) float64 {
		var vs []float64
		for _, r := range rs {
			vs = append(vs, get(r).Seconds())
		}
		return Median(vs)
	}
	return EditLoop{
		Base: base, Flavour: flavour, File: file, Scenario: scenario, Runs: len(rs),
		TotalS:    med(func(r EditRun) time.Duration { return r.Total }),
		BuildS:    med(func(r EditRun) time.Duration { return r.Build }),
		BootS:     med(func(r EditRun) time.Duration { return r.Boot }),
		ScenarioS: med(func(r EditRun) time.Duration { return r.Scenario }),
		RestS:     med(func(r EditRun) time.Duration { return r.Rest }),
		GoalS:     GoalEditLoop.Seconds(),
		PerRun:    rs,
	}, nil
}
