package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"dioharness/harness/kbase"
	"dioharness/harness/verdict"
)

// runJSON is the stable summary.json schema of a Run.
type runJSON struct {
	Base          string     `json:"base"`
	Flavour       string     `json:"flavour"`
	Kernel        string     `json:"kernel"`
	Source        string     `json:"source"`
	Note          string     `json:"note"`
	Started       time.Time  `json:"started"`
	DurationMS    int64      `json:"duration_ms"`
	InfraError    string     `json:"infra_error"`
	KernelReports []string   `json:"kernel_reports"`
	Shard         string     `json:"shard,omitempty"`
	BootsMS       []int64    `json:"boots_ms,omitempty"`
	HostLoad      []string   `json:"host_load,omitempty"`
	Totals        Totals     `json:"totals"` // derived; ignored when loading
	Scenarios     []Scenario `json:"scenarios"`
}

// scenarioJSON is the stable JSON schema of a Scenario.
type scenarioJSON struct {
	Name       string          `json:"name"`
	Area       string          `json:"area"`
	Verdict    verdict.Verdict `json:"verdict"`
	Expected   verdict.Verdict `json:"expected"`
	Matches    bool            `json:"matches"`
	Directive  string          `json:"directive"`
	Reason     string          `json:"reason"`
	Why        string          `json:"why"`
	DurationMS int64           `json:"duration_ms"`
	Attempts   int             `json:"attempts"`
	Detail     []string        `json:"detail"`
	// Confirmation is omitted unless the scenario timed out.
	Confirmation Confirmation `json:"confirmation,omitempty"`
}

// MarshalJSON encodes r with snake_case field names, durations in whole
// milliseconds, and empty lists as [] rather than null.
func (r Run) MarshalJSON() ([]byte, error) {
	return marshal(runJSON{
		Base:          r.Variant.Base,
		Flavour:       string(r.Variant.Flavour),
		Kernel:        r.Kernel,
		Source:        r.Source,
		Note:          r.Note,
		Started:       r.Started,
		DurationMS:    toMS(r.Duration),
		InfraError:    r.Infra,
		KernelReports: nonNil(r.KernelReports),
		Shard:         r.Shard,
		BootsMS:       msList(r.Boots),
		HostLoad:      r.HostLoad,
		Totals:        r.Totals(),
		Scenarios:     nonNil(r.Scenarios),
	})
}

// UnmarshalJSON decodes the format written by MarshalJSON.
func (r *Run) UnmarshalJSON(b []byte) error {
	var j runJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	var flavour kbase.Flavour
	if j.Flavour != "" {
		f, err := kbase.ParseFlavour(j.Flavour)
		if err != nil {
			return err
		}
		flavour = f
	}
	*r = Run{
		Variant:       kbase.Variant{Base: j.Base, Flavour: flavour},
		Kernel:        j.Kernel,
		Source:        j.Source,
		Note:          j.Note,
		Started:       j.Started,
		Duration:      fromMS(j.DurationMS),
		Infra:         j.InfraError,
		KernelReports: nilIfEmpty(j.KernelReports),
		Shard:         j.Shard,
		Boots:         durList(j.BootsMS),
		HostLoad:      j.HostLoad,
		Scenarios:     nilIfEmpty(j.Scenarios),
	}
	return nil
}

// MarshalJSON encodes s with snake_case field names.
func (s Scenario) MarshalJSON() ([]byte, error) {
	return marshal(scenarioJSON{
		Name:       s.Name,
		Area:       s.Area,
		Verdict:    s.Verdict,
		Expected:   s.Expected,
		Matches:    s.Matches,
		Directive:  s.Directive,
		Reason:     s.Reason,
		Why:        s.Why,
		DurationMS: toMS(s.Duration),
		Attempts:   s.Attempts,
		Detail:     nonNil(s.Detail),

		Confirmation: s.Confirmation,
	})
}

// UnmarshalJSON decodes the format written by MarshalJSON.
func (s *Scenario) UnmarshalJSON(b []byte) error {
	var j scenarioJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	switch j.Confirmation {
	case "", Reported, Confirmed, Flaky, Unconfirmed:
	default:
		return fmt.Errorf("scenario %s: unknown confirmation %q, want %q, %q, %q or %q", j.Name, j.Confirmation, Reported, Confirmed, Flaky, Unconfirmed)
	}
	*s = Scenario{
		Name:      j.Name,
		Area:      j.Area,
		Verdict:   j.Verdict,
		Expected:  j.Expected,
		Matches:   j.Matches,
		Directive: j.Directive,
		Reason:    j.Reason,
		Why:       j.Why,
		Duration:  fromMS(j.DurationMS),
		Attempts:  j.Attempts,
		Detail:    nilIfEmpty(j.Detail),

		Confirmation: j.Confirmation,
	}
	return nil
}

// WriteJSON writes r as indented JSON (two spaces), the summary.json format
// read back by LoadRun. Durations have millisecond precision.
func WriteJSON(w io.Writer, r Run) error {
	if err := encodeJSON(w, r); err != nil {
		return fmt.Errorf("report: write JSON for %s run: %w", r.Variant, err)
	}
	return nil
}

// LoadRun reads a Run from a file written by WriteJSON.
func LoadRun(path string) (Run, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Run{}, fmt.Errorf("report: load run: %w", err)
	}
	var r Run
	if err := json.Unmarshal(b, &r); err != nil {
		return Run{}, fmt.Errorf("report: load run %s: %w", path, err)
	}
	return r, nil
}

// encodeJSON writes v indented by two spaces, without HTML escaping so
// that kernel splats stay readable.
func encodeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// marshal is json.Marshal without HTML escaping.
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// toMS rounds d to whole milliseconds.
func toMS(d time.Duration) int64 { return d.Round(time.Millisecond).Milliseconds() }

// fromMS converts milliseconds to a Duration.
func fromMS(ms int64) time.Duration { return time.Duration(ms) * time.Millisecond }

// nonNil returns s, or an empty slice when s is nil, so JSON shows [].
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// nilIfEmpty returns nil for an empty slice so decoded values compare
// equal to the originals.
func nilIfEmpty[T any](s []T) []T {
	if len(s) == 0 {
		return nil
	}
	return s
}

func msList(ds []time.Duration) []int64 {
	var ms []int64
	for _, d := range ds {
		ms = append(ms, toMS(d))
	}
	return ms
}

func durList(ms []int64) []time.Duration {
	var ds []time.Duration
	for _, m := range ms {
		ds = append(ds, fromMS(m))
	}
	return ds
}
