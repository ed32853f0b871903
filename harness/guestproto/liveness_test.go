package guestproto

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestAliveRoundTrip(t *testing.T) {
	l := AliveLine(12300 * time.Millisecond)
	if l != "dioharness: alive 12.3" {
		t.Errorf("AliveLine = %q", l)
	}
	if d, ok := ParseAlive(l); !ok || d != 12300*time.Millisecond {
		t.Errorf("ParseAlive(%q) = %v, %v", l, d, ok)
	}
	for _, bad := range []string{"dioharness: alive", "dioharness: alive x", "dioharness: alive -1", "# alive 3"} {
		if _, ok := ParseAlive(bad); ok {
			t.Errorf("ParseAlive(%q) accepted", bad)
		}
	}
	if !IsAgentLine(l) || IsAgentLine("ok 1 fuse/x") || IsAgentLine("# start fuse/x") {
		t.Error("IsAgentLine tells the agent's own lines from KTAP wrongly")
	}
}

func TestEvidenceRoundTrip(t *testing.T) {
	tests := []struct {
		line string
		want Evidence
	}{
		{EvidenceBegin("scenario timeout of\nfuse/x"), Evidence{Begin: true, What: "scenario timeout of fuse/x"}},
		{EvidenceLine(SectionSummary, "init[141] (tgid 1) D in fuse_file_write_iter"), Evidence{Section: SectionSummary, Text: "init[141] (tgid 1) D in fuse_file_write_iter"}},
		{EvidenceLine(SectionTasks, "    [<0>] down_write+0x8e/0xa0"), Evidence{Section: SectionTasks, Text: "    [<0>] down_write+0x8e/0xa0"}},
		{EvidenceEnd(), Evidence{End: true}},
	}
	for _, tt := range tests {
		got, ok := ParseEvidence(tt.line)
		if !ok {
			t.Errorf("ParseEvidence(%q) failed", tt.line)
			continue
		}
		if d := cmp.Diff(tt.want, got); d != "" {
			t.Errorf("ParseEvidence(%q) (-want +got):\n%s", tt.line, d)
		}
		if !IsAgentLine(tt.line) {
			t.Errorf("%q is not an agent line", tt.line)
		}
	}
	for _, bad := range []string{"dioharness: evidence", "dioharness: evidence nosuch x", "dioharness: evidence end extra", AliveLine(time.Second)} {
		if e, ok := ParseEvidence(bad); ok {
			t.Errorf("ParseEvidence(%q) = %+v, want no evidence", bad, e)
		}
	}
}
