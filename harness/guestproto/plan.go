package guestproto

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path"
	"strings"
)

// PlanPath is where the plan lives in the guest's root filesystem. It is
// under /etc because the agent mounts tmpfs over /run and /tmp.
const PlanPath = "/etc/dioharness/plan.json"

// Plan is what the host asks of one boot. The host writes it as JSON at
// PlanPath in a cpio appended to the agent initramfs instead of on the
// kernel command line, which x86 limits to 2048 bytes.
type Plan struct {
	// Scenarios is the ordered selection with the host's expectation
	// of each one on this kernel.
	Scenarios []Entry `json:"scenarios"`
	// Repeat runs the whole selection this many times, in order.
	Repeat int `json:"repeat"`
	// Start is the index into Runs of the first run of this boot: 0
	// on the first boot. After the kernel hung or panicked in a
	// scenario the host boots a fresh guest with Start just past it.
	Start int `json:"start"`
	// Disks are the block devices the host attached, by name.
	Disks Disks `json:"disks,omitempty"`
	// SelftestDir is where the host put the kernel selftests the
	// base's series adds ("" when it put none).
	SelftestDir string `json:"selftest_dir,omitempty"`
	// Base is the kernel base under test ("v7.3"; "" for a custom
	// tree): a kernel rule a base breaks on purpose is declared for it
	// (harness/invariant).
	Base string `json:"base,omitempty"`
	// Fuzz, when set, is how many workload sequences mixed/fuzz runs
	// (make fuzz).
	Fuzz *Fuzz `json:"fuzz,omitempty"`
	// FSTests, when set, makes every entry an fstests test the agent
	// runs with check on the Debian root disk (see FSTests).
	FSTests *FSTests `json:"fstests,omitempty"`
	// TimeoutScale stretches every scenario's own timeout in the
	// guest: the host's bound on a scenario over its default, when the
	// user gave a longer one (SCENARIO_TIMEOUT on a loaded host). 0 or
	// 1 leaves them as declared.
	TimeoutScale float64 `json:"timeout_scale,omitempty"`
	Wiring
}

// Wiring is what a program running as the guest's /init needs of the
// machine, whatever it runs: where its output goes and how it ends the
// VM. The agent reads it as part of the plan; a bare test binary as
// /init (harness/cmd/probeguest) gets a plan file with only this.
type Wiring struct {
	// AgentTTY is the serial device the agent writes KTAP to; the
	// machine description assigns it.
	AgentTTY string `json:"agent_tty"`
	// ExitPort is the I/O port of QEMU's isa-debug-exit device; the
	// machine description assigns it.
	ExitPort uint16 `json:"exit_port"`
}

// Validate checks the wiring.
func (w Wiring) Validate() error {
	if !strings.HasPrefix(w.AgentTTY, "/dev/") {
		return fmt.Errorf("plan: bad agent tty %q, want a /dev/ path", w.AgentTTY)
	}
	if w.ExitPort == 0 {
		return fmt.Errorf("plan: no exit port")
	}
	return nil
}

// Encode validates w and returns it as a plan file's JSON.
func (w Wiring) Encode() ([]byte, error) {
	if err := w.Validate(); err != nil {
		return nil, err
	}
	b, err := json.MarshalIndent(w, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("plan: encode: %w", err)
	}
	return append(b, '\n'), nil
}

// DecodeWiring reads only the wiring of a plan file.
func DecodeWiring(b []byte) (Wiring, error) {
	var w Wiring
	if err := json.Unmarshal(b, &w); err != nil {
		return Wiring{}, fmt.Errorf("plan: decode: %w", err)
	}
	return w, w.Validate()
}

// Entry is one scenario of the selection.
type Entry struct {
	// Name is the scenario name, "area/short-name".
	Name string `json:"name"`
	// XFail declares that the scenario fails on this kernel: a failure
	// is then reported as XFAIL, a pass as XPASS.
	XFail bool `json:"xfail,omitempty"`
	// Reason says why it is expected to fail; required with XFail.
	Reason string `json:"reason,omitempty"`
}

// Expect answers, for one scenario name, whether it is declared to fail
// on the kernel under test and why. The host builds it from the
// scenario declarations.
type Expect func(name string) (xfail bool, reason string)

// Entries pairs each name with its expectation, in order.
func Entries(names []string, expect Expect) []Entry {
	out := make([]Entry, 0, len(names))
	for _, n := range names {
		xfail, reason := expect(n)
		e := Entry{Name: n}
		if xfail {
			e.XFail, e.Reason = true, reason
		}
		out = append(out, e)
	}
	return out
}

// Runs expands the selection by Repeat: the order in which scenarios run
// across all boots of a run. Host and guest both index it with Start.
func (p Plan) Runs() []Entry {
	out := make([]Entry, 0, len(p.Scenarios)*max(p.Repeat, 1))
	for i := 0; i < max(p.Repeat, 1); i++ {
		out = append(out, p.Scenarios...)
	}
	return out
}

// Remaining is what this boot runs: Runs from Start on.
func (p Plan) Remaining() []Entry {
	runs := p.Runs()
	if p.Start < 0 || p.Start > len(runs) {
		return nil
	}
	return runs[p.Start:]
}

// Validate checks what both sides rely on.
func (p Plan) Validate() error {
	if len(p.Scenarios) == 0 {
		return fmt.Errorf("plan: no scenarios")
	}
	seen := map[string]bool{}
	for i, e := range p.Scenarios {
		switch {
		case e.Name == "" || strings.ContainsAny(e.Name, " \t\n#"):
			return fmt.Errorf("plan: scenario %d: bad name %q, want area/name without spaces or '#'", i+1, e.Name)
		case seen[e.Name]:
			return fmt.Errorf("plan: scenario %s listed twice (use repeat)", e.Name)
		case e.XFail && strings.TrimSpace(e.Reason) == "":
			return fmt.Errorf("plan: scenario %s is declared to fail without a reason", e.Name)
		case !e.XFail && e.Reason != "":
			return fmt.Errorf("plan: scenario %s has a failure reason but is not declared to fail", e.Name)
		}
		seen[e.Name] = true
	}
	if p.Repeat < 1 || p.Repeat > MaxRepeat {
		return fmt.Errorf("plan: bad repeat %d, want [1-%d]", p.Repeat, MaxRepeat)
	}
	if n := len(p.Scenarios) * p.Repeat; p.Start < 0 || p.Start >= n {
		return fmt.Errorf("plan: bad start %d, want [0-%d]", p.Start, n-1)
	}
	if err := p.Disks.Validate(); err != nil {
		return err
	}
	if p.SelftestDir != "" && !path.IsAbs(p.SelftestDir) {
		return fmt.Errorf("plan: bad selftest directory %q, want an absolute path", p.SelftestDir)
	}
	if p.FSTests != nil {
		if err := p.FSTests.Validate(p.Disks); err != nil {
			return err
		}
	}
	if p.Fuzz != nil {
		if err := p.Fuzz.Validate(); err != nil {
			return err
		}
	}
	return p.Wiring.Validate()
}

// Fuzz asks mixed/fuzz for Count seeded workload sequences of Ops
// operations (0: the catalogue's length), from seed Seed on, on the
// named setup or ("") on the setups in turn.
type Fuzz struct {
	Seed  uint64 `json:"seed"`
	Count int    `json:"count"`
	Ops   int    `json:"ops,omitempty"`
	Setup string `json:"setup,omitempty"`
}

// MaxFuzz bounds a fuzz request's sequences and their length.
const MaxFuzz = 1000000

// Validate checks a fuzz request.
func (f Fuzz) Validate() error {
	if f.Count < 1 || f.Count > MaxFuzz {
		return fmt.Errorf("plan: bad fuzz count %d, want [1-%d]", f.Count, MaxFuzz)
	}
	if f.Ops < 0 || f.Ops > 100000 {
		return fmt.Errorf("plan: bad fuzz length %d, want [0-100000] operations", f.Ops)
	}
	return nil
}

// MaxRepeat bounds Repeat: a flake check, not a soak test.
const MaxRepeat = 1000

// Encode validates p and returns its JSON.
func (p Plan) Encode() ([]byte, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("plan: encode: %w", err)
	}
	return append(b, '\n'), nil
}

// DecodePlan parses and validates a plan. Unknown fields are an error:
// a host and an agent built from different sources must not half agree.
func DecodePlan(b []byte) (Plan, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var p Plan
	if err := dec.Decode(&p); err != nil {
		return Plan{}, fmt.Errorf("plan: decode: %w", err)
	}
	if err := p.Validate(); err != nil {
		return Plan{}, err
	}
	return p, nil
}
