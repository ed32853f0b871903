package bench

import (
	"errors"
	"fmt"
)

// Probe overhead goals (issue: cheap probes), in percent over the bare
// write: the probe set loaded and idle, and recording.
const (
	GoalIdlePct      = 5
	GoalRecordingPct = 25
)

// OverheadRound is one round of harness/probe-overhead: the mean cost of
// one direct write with no probes, with the probe set loaded and idle and
// while recording, measured one after the other, and what the recording
// saw.
type OverheadRound struct {
	Round, Iterations           int
	BareUS, IdleUS, RecordingUS float64 // microseconds per write
	// Events is everything recorded, LockEvents the i_rwsem
	// acquisitions of the written file among them.
	Events, LockEvents int
}

const kindOverhead = "probe_overhead"

// Line formats r as the guest logs it.
func (r OverheadRound) Line() string {
	return kvLine(kindOverhead, "round", fmt.Sprint(r.Round), "iterations", fmt.Sprint(r.Iterations),
		"bare_us", num(r.BareUS), "idle_us", num(r.IdleUS), "recording_us", num(r.RecordingUS),
		"events", fmt.Sprint(r.Events), "lock_events", fmt.Sprint(r.LockEvents))
}

// ParseOverheadLine reads a line written by OverheadRound.Line; ok is
// false for any other line.
func ParseOverheadLine(line string) (r OverheadRound, ok bool, err error) {
	f, ok := parseKV(line, kindOverhead)
	if !ok {
		return r, false, nil
	}
	r = OverheadRound{
		Round: int(f.num("round")), Iterations: int(f.num("iterations")),
		BareUS: f.num("bare_us"), IdleUS: f.num("idle_us"), RecordingUS: f.num("recording_us"),
		Events: int(f.num("events")), LockEvents: int(f.num("lock_events")),
	}
	if err := f.err(); err != nil {
		return OverheadRound{}, true, err
	}
	return r, true, nil
}

// ProbeOverhead is results/bench.json's probe overhead of one kernel:
// medians over the rounds.
type ProbeOverhead struct {
	Base       string `json:"base"`
	Flavour    string `json:"flavour"`
	Workload   string `json:"workload"`
	Iterations int    `json:"iterations"`
	Rounds     int    `json:"rounds"`
	// Microseconds per write, medians over the rounds.
	BareUS      float64 `json:"bare_us"`
	IdleUS      float64 `json:"idle_us"`
	RecordingUS float64 `json:"recording_us"`
	// Overheads of the medians over BareUS, in percent, and their goals.
	IdlePct          float64 `json:"idle_pct"`
	RecordingPct     float64 `json:"recording_pct"`
	GoalIdlePct      float64 `json:"goal_idle_pct"`
	GoalRecordingPct float64 `json:"goal_recording_pct"`
	// PerRound are the rounds as the guest measured them.
	PerRound []OverheadRound `json:"per_round"`
}

// Met says whether both goals are met.
func (p ProbeOverhead) Met() bool {
	return p.IdlePct < p.GoalIdlePct && p.RecordingPct < p.GoalRecordingPct
}

// OverheadFromRounds aggregates one kernel's rounds.
func OverheadFromRounds(base, flavour, workload string, rs []OverheadRound) (ProbeOverhead, error) {
	if len(rs) == 0 {
		return ProbeOverhead{}, errors.New("bench: no probe overhead round")
	}
	var bare, idle, rec []float64
	for _, r := range rs {
		if r.Iterations != rs[0].Iterations {
			return ProbeOverhead{}, fmt.Errorf("bench: probe overhead rounds of %d and %d iterations", rs[0].Iterations, r.Iterations)
		}
		bare, idle, rec = append(bare, r.BareUS), append(idle, r.IdleUS), append(rec, r.RecordingUS)
	}
	p := ProbeOverhead{
		Base: base, Flavour: flavour, Workload: workload, Iterations: rs[0].Iterations, Rounds: len(rs),
		BareUS: Median(bare), IdleUS: Median(idle), RecordingUS: Median(rec),
		GoalIdlePct: GoalIdlePct, GoalRecordingPct: GoalRecordingPct, PerRound: rs,
	}
	if p.BareUS <= 0 {
		return ProbeOverhead{}, errors.New("bench: probe overhead: bare write took no time")
	}
	p.IdlePct = 100 * (p.IdleUS - p.BareUS) / p.BareUS
	p.RecordingPct = 100 * (p.RecordingUS - p.BareUS) / p.BareUS
	return p, nil
}
