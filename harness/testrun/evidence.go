package testrun

import (
	"fmt"
	"io"
	"strings"
	"time"

	"dioharness/harness/kstack"
)

// blocked is what a hang's failure reason quotes of the evidence: who
// waits where, as the guest's watchdog saw it, else as the kernel's
// panic printed the blocked tasks, else where each CPU was. It starts
// with "; ", or is "" for a nil record.
func (rec *hangRecord) blocked() string {
	if rec == nil {
		return ""
	}
	if rec.guest != nil {
		if s := rec.guest.summary(); len(s) > 0 {
			more := ""
			if len(s) > 1 {
				more = fmt.Sprintf(" (and %d more blocked)", len(s)-1)
			}
			return "; blocked: " + s[0] + more
		}
	}
	for _, t := range kstack.Tasks(rec.console) {
		if t.State == "D" {
			return fmt.Sprintf("; blocked (kernel's task dump): %s[%d] in %s", t.Comm, t.PID, kstack.Where(t.Stack))
		}
	}
	if cpus := cpuLines(rec.console); len(cpus) > 0 {
		return "; " + strings.Join(cpus, ", ")
	}
	if rec.guest != nil {
		return "; no task blocked in the kernel"
	}
	return "; no evidence from the guest"
}

// cpuLines are the CPUs of the NMI backtraces on the console: "CPU 1
// in fuse_dev_do_read < fuse_dev_read".
func cpuLines(console []string) []string {
	var out []string
	for _, c := range kstack.CPUs(console) {
		var where []string
		if c.RIP != "" {
			where = append(where, c.RIP)
		}
		where = append(where, c.Stack[:min(2, len(c.Stack))]...)
		at := strings.Join(where, " < ")
		if at == "" {
			at = "unknown"
		}
		out = append(out, fmt.Sprintf("CPU %d in %s", c.CPU, at))
	}
	return out
}

// writeEvidence writes the evidence of one boot (evidence.log,
// evidence-2.log...): the host's record of a hang and every frame the
// guest sent. It writes nothing for a boot without either.
func writeEvidence(w io.Writer, b bootSummary) {
	fmt.Fprintf(w, "Evidence of boot %d (its console is %s, its agent stream %s)\n", b.n, consoleName(b.n), agentName(b.n))
	if rec := b.hangRec; rec != nil {
		fmt.Fprintf(w, "\n== The host judged the guest hung: %s\n", rec.why)
		fmt.Fprintf(w, "host load average: %s\n", rec.load)
		fmt.Fprintf(w, "gathered in %s; NMI injected: %v\n", rec.took.Round(100*time.Millisecond), rec.nmi)
		for i, regs := range rec.registers {
			fmt.Fprintf(w, "\n== QEMU's vCPU registers (info registers -a, general and control registers), sample %d of %d\n%s\n",
				i+1, len(rec.registers), compactRegisters(regs))
		}
		if rec.guest == nil {
			fmt.Fprintf(w, "\n== The guest's watchdog did not answer the dump request\n")
		}
		if cpus := cpuLines(rec.console); len(cpus) > 0 {
			fmt.Fprintf(w, "\n== Where each CPU was (NMI backtraces on the console after the request)\n%s\n", strings.Join(cpus, "\n"))
		}
		if tasks := kstack.Tasks(rec.console); len(tasks) > 0 {
			fmt.Fprintf(w, "\n== Blocked tasks the kernel printed as it panicked (panic_print)\n")
			for _, t := range tasks {
				fmt.Fprintf(w, "%s[%d] %s in %s\n", t.Comm, t.PID, t.State, kstack.Where(t.Stack))
			}
		}
		fmt.Fprintf(w, "\n(the console after the request, %d lines, is the end of %s: the agent's goroutines, the panic and its dumps)\n", len(rec.console), consoleName(b.n))
	}
	for _, f := range b.frames {
		fmt.Fprintf(w, "\n== The guest's evidence: %s\n", f.what)
		section := ""
		for _, l := range f.lines {
			if l.Section != section {
				section = l.Section
				fmt.Fprintf(w, "-- %s\n", section)
			}
			fmt.Fprintln(w, l.Text)
		}
		if !f.ended {
			fmt.Fprintln(w, "(cut short: the guest ended before the frame did)")
		}
	}
}

// hasEvidence says whether a boot left evidence to write.
func (b bootSummary) hasEvidence() bool { return b.hangRec != nil || len(b.frames) > 0 }

// evidenceName is the evidence file of boot n.
func evidenceName(n int) string { return logName("evidence", n) }

// registerLines are the lines of "info registers" a hang's reader
// needs: the CPU, its general registers, RIP with the flags and the
// halted bit (HLT=1: the CPU is idle), and the control registers. The
// segment, debug, FPU and vector registers are left out.
var registerLines = []string{"CPU#", "RAX=", "RSI=", "R8 =", "R12=", "RIP=", "CR0="}

func compactRegisters(regs string) string {
	var out []string
	for _, l := range strings.Split(strings.TrimSpace(regs), "\n") {
		l = strings.TrimRight(l, " \r")
		for _, p := range registerLines {
			if strings.HasPrefix(l, p) {
				out = append(out, l)
				break
			}
		}
	}
	if len(out) == 0 {
		return strings.TrimSpace(regs)
	}
	return strings.Join(out, "\n")
}
