package verdict

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParse(t *testing.T) {
	for _, v := range All {
		got, err := Parse(string(v))
		if err != nil || got != v {
			t.Errorf("Parse(%q) = %q, %v", v, got, err)
		}
	}
	for _, bad := range []string{"", "PASS", "notrun", "xfail"} {
		if v, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) = %q, want an error", bad, v)
		}
	}
}

func TestJSON(t *testing.T) {
	type row struct {
		V Verdict `json:"v"`
		W Verdict `json:"w"`
	}
	var got row
	if err := json.Unmarshal([]byte(`{"v": "skip", "w": ""}`), &got); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(row{V: Skip}, got); d != "" {
		t.Errorf("decoded (-want +got):\n%s", d)
	}
	err := json.Unmarshal([]byte(`{"v": "passed"}`), &got)
	if err == nil || !strings.Contains(err.Error(), `unknown verdict "passed"`) {
		t.Errorf("decoding an unknown verdict: %v, want an error naming it", err)
	}
}

func TestBad(t *testing.T) {
	var bad []Verdict
	for _, v := range All {
		if v.Bad() {
			bad = append(bad, v)
		}
	}
	if d := cmp.Diff([]Verdict{Fail, Timeout, Error}, bad); d != "" {
		t.Errorf("bad verdicts (-want +got):\n%s", d)
	}
}
