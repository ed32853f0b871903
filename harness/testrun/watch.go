package testrun

import (
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"

	"dioharness/harness/vm"
)

// Timeouts bound each phase of a guest run; a phase that overruns kills
// the guest and is an infrastructure error.
type Timeouts struct {
	// Boot is from QEMU start to the agent's KTAP header.
	Boot time.Duration
	// Scenario is the longest one scenario may take, host side; the
	// agent's own per-scenario timeout is shorter.
	Scenario time.Duration
}

// DefaultTimeouts fit TCG with lockdep: boot takes ~5 s there.
var DefaultTimeouts = Timeouts{Boot: 120 * time.Second, Scenario: 240 * time.Second}

var (
	ktapHeader = regexp.MustCompile(`^KTAP version \d+`)
	ktapStart  = regexp.MustCompile(`^# start (\S+)`)
	ktapResult = regexp.MustCompile(`^(ok|not ok) (\d+) (\S+)(?:\s+#\s*(SKIP)\b\s*(.*))?`)
)

// watchResult is what the host saw of the agent stream.
type watchResult struct {
	lines   []string
	bootDur time.Duration
	hang    string // non-empty when the guest was killed for a timeout
	panic   bool
}

// watch reads the agent channel until the guest ends, printing one line
// per boot and per scenario, and kills the guest when a phase overruns.
func watch(m *vm.Machine, t Timeouts, out io.Writer, label string) watchResult {
	var r watchResult
	start := time.Now()
	timer := time.NewTimer(t.Boot)
	defer timer.Stop()
	phase := "boot to the agent"
	booted := false
	var scenStart time.Time
	panicked := m.Console().Panicked()
	for {
		select {
		case line, ok := <-m.Agent():
			if !ok {
				return r
			}
			r.lines = append(r.lines, line)
			switch {
			case !booted && ktapHeader.MatchString(line):
				booted = true
				r.bootDur = time.Since(start)
				fmt.Fprintf(out, "%s: guest agent up after %s\n", label, r.bootDur.Round(100*time.Millisecond))
				resetTimer(timer, t.Scenario)
				phase = "first scenario"
			case ktapStart.MatchString(line):
				name := ktapStart.FindStringSubmatch(line)[1]
				phase = "scenario " + name
				scenStart = time.Now()
				resetTimer(timer, t.Scenario)
			case ktapResult.MatchString(line):
				mm := ktapResult.FindStringSubmatch(line)
				verdict := "ok  "
				switch {
				case mm[4] == "SKIP":
					verdict = "skip"
				case mm[1] == "not ok":
					verdict = "FAIL"
				}
				d := time.Duration(0)
				if !scenStart.IsZero() {
					d = time.Since(scenStart)
				}
				extra := ""
				if mm[5] != "" {
					extra = "  (" + strings.TrimSpace(mm[5]) + ")"
				}
				fmt.Fprintf(out, "%s: %s %-45s %6.1fs%s\n", label, verdict, mm[3], d.Seconds(), extra)
				phase = "next scenario"
				resetTimer(timer, t.Scenario)
			}
		case <-panicked:
			r.panic = true
			panicked = nil
			// The kernel reboots at once (panic=-1, -no-reboot);
			// keep reading what is left.
		case <-timer.C:
			r.hang = fmt.Sprintf("guest hung: no progress in %s during %s", elapsed(phase, booted, t), phase)
			fmt.Fprintf(out, "%s: %s; killing it\n", label, r.hang)
			m.Kill()
			for line := range m.Agent() {
				r.lines = append(r.lines, line)
			}
			return r
		}
	}
}

func elapsed(phase string, booted bool, t Timeouts) time.Duration {
	if !booted {
		return t.Boot
	}
	return t.Scenario
}

func resetTimer(t *time.Timer, d time.Duration) {
	if !t.Stop() {
		select {
		case <-t.C:
		default:
		}
	}
	t.Reset(d)
}
