package guestproto

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// Declaration is what a scenario says about itself, without its body:
// what it sets up and checks, and when it is expected to fail. The guest
// holds the bodies (harness/scenarios); the host plans runs, judges
// verdicts and writes reports from the declarations alone, which it reads
// from harness/catalogue/catalogue.json: the agent prints them
// (`/init catalogue`, make generate), and make generate-check and a unit
// test keep the committed file in step with the code.
type Declaration struct {
	// Name is unique, "area/short-name".
	Name string `json:"name"`
	// Area is one of Areas.
	Area string `json:"area"`
	// Setup says what the scenario prepares (server policy, disk).
	Setup string `json:"setup"`
	// Checks says what it asserts, user-visible and kernel path.
	Checks string `json:"checks"`
	// Patch is the exact subject of the patch the scenario proves, if
	// any: the scenario is declared to fail on every kernel that lacks
	// a patch with this subject (each base, and a patched base whose
	// series does not carry it), and to pass where it is applied.
	Patch string `json:"patch,omitempty"`
	// FailsOnBase is the reason the scenario fails without Patch; it is
	// required with Patch.
	FailsOnBase string `json:"fails_on_base,omitempty"`
	// Differs declares bases whose kernel fails the scenario whatever
	// the flavour, for a reason no patch of ours addresses (behaviour
	// that base does not have): base name -> why.
	Differs map[string]string `json:"differs,omitempty"`
	// Manual scenarios prove the harness itself (a forced failure, a
	// kernel WARN, a hang); they run only when named explicitly.
	Manual bool `json:"manual,omitempty"`
}

// Areas are the scenario areas.
var Areas = []string{"fuse", "ext4", "xfs", "mixed", "harness"}

// Validate checks one declaration.
func (d Declaration) Validate() error {
	area := false
	for _, a := range Areas {
		area = area || d.Area == a
	}
	switch {
	case d.Name == "" || strings.ContainsAny(d.Name, " \t\n#,"):
		return fmt.Errorf("scenario %q: bad name, want area/name without spaces, ',' or '#'", d.Name)
	case !area:
		return fmt.Errorf("scenario %s: unknown area %q", d.Name, d.Area)
	case !strings.HasPrefix(d.Name, d.Area+"/"):
		return fmt.Errorf("scenario %s: name must start with its area %q", d.Name, d.Area+"/")
	case d.Checks == "" || d.Setup == "":
		return fmt.Errorf("scenario %s: needs Setup and Checks", d.Name)
	case (d.Patch == "") != (d.FailsOnBase == ""):
		return fmt.Errorf("scenario %s: Patch and FailsOnBase go together", d.Name)
	}
	for b, why := range d.Differs {
		if b == "" || why == "" {
			return fmt.Errorf("scenario %s: Differs needs a base name and a reason", d.Name)
		}
	}
	return nil
}

// Declarations are the catalogue's, in run order.
type Declarations []Declaration

// Validate checks each declaration and that names are unique.
func (ds Declarations) Validate() error {
	seen := map[string]bool{}
	for _, d := range ds {
		if err := d.Validate(); err != nil {
			return err
		}
		if seen[d.Name] {
			return fmt.Errorf("scenario %s: duplicate name", d.Name)
		}
		seen[d.Name] = true
	}
	return nil
}

// Encode validates ds and returns the catalogue file's JSON.
func (ds Declarations) Encode() ([]byte, error) {
	if err := ds.Validate(); err != nil {
		return nil, err
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(ds); err != nil {
		return nil, fmt.Errorf("catalogue: encode: %w", err)
	}
	return b.Bytes(), nil
}

// DecodeDeclarations parses and validates a catalogue file; unknown
// fields are an error, as in a plan.
func DecodeDeclarations(b []byte) (Declarations, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var ds Declarations
	if err := dec.Decode(&ds); err != nil {
		return nil, fmt.Errorf("catalogue: decode: %w", err)
	}
	if err := ds.Validate(); err != nil {
		return nil, fmt.Errorf("catalogue: %w", err)
	}
	return ds, nil
}
