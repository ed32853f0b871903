package guest

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"dioharness/harness/guest/evidence"
	"dioharness/harness/guestproto"
)

// port is the agent port as the watchdog sees it: what the host wrote,
// and what the watchdog writes back.
type port struct {
	in  io.Reader
	out bytes.Buffer
}

func (p *port) Read(b []byte) (int, error)  { return p.in.Read(b) }
func (p *port) Write(b []byte) (int, error) { return p.out.Write(b) }

// TestWatchAnswersDumpRequest: only the host's request makes the
// watchdog write the evidence and end the agent, once per request.
func TestWatchAnswersDumpRequest(t *testing.T) {
	proc := t.TempDir()
	dir := filepath.Join(proc, "1", "task", "7")
	os.MkdirAll(dir, 0o755)
	os.WriteFile(filepath.Join(dir, "stat"), []byte("7 (init) D 0 1 1 0 -1 4194624 0"), 0o644)
	os.WriteFile(filepath.Join(dir, "stack"), []byte("[<0>] schedule+0x3a/0xc0\n[<0>] request_wait_answer+0x1a2/0x2c0\n"), 0o644)

	p := &port{in: strings.NewReader("noise\n" + guestproto.DumpRequest + "\n")}
	ends := 0
	watch(p, evidence.Collector{Proc: proc, Bound: time.Second}, func() { ends++ })
	if ends != 1 {
		t.Errorf("the agent was ended %d times, want once", ends)
	}
	lines := strings.Split(strings.TrimSpace(p.out.String()), "\n")
	first, _ := guestproto.ParseEvidence(lines[0])
	last, _ := guestproto.ParseEvidence(lines[len(lines)-1])
	if !first.Begin || first.What != "host request" || !last.End {
		t.Fatalf("evidence frame:\n%s", p.out.String())
	}
	if !strings.Contains(p.out.String(), guestproto.EvidenceLine(guestproto.SectionSummary, "init[7] (tgid 1) D in request_wait_answer (schedule)")) {
		t.Errorf("no summary naming the blocked function:\n%s", p.out.String())
	}

	p = &port{in: strings.NewReader("dioharness: dumpster\n")}
	ends = 0
	watch(p, evidence.Collector{Proc: proc}, func() { ends++ })
	if ends != 0 || p.out.Len() != 0 {
		t.Errorf("a line that is not the request was answered: %d ends, %q", ends, p.out.String())
	}
}
