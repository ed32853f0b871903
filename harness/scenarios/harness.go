package scenarios

import (
	"os"
	"path/filepath"
	"time"

	"dioharness/harness/bench"
	"dioharness/harness/fuse"
	"dioharness/harness/guestproto"
	"dioharness/harness/probe"
	"dioharness/harness/scenario"
)

// harnessScenarios prove the harness's own failure paths. They are
// manual: `make qemu-test SCENARIO=harness/forced-fail` must exit 1,
// harness/kernel-warn must exit 1 with the WARN quoted, harness/hang
// must be killed (TIMEOUT) and harness/panic must take the guest down
// with the report quoted; after either, a fresh guest runs the
// scenarios named after it, and the run exits 1.

// The probe overhead workload: rounds of overheadWrites 4 KiB O_DIRECT
// overwrites on ext4 in each set-up (make bench reads the rounds).
const (
	overheadWrites = 4000
	overheadRounds = 5
)

func harnessScenarios() scenario.Catalogue {
	return scenario.Catalogue{
		{
			Declaration: guestproto.Declaration{
				Name:   "harness/forced-fail",
				Area:   "harness",
				Setup:  "nothing",
				Checks: "fails on purpose: the run must turn red (exit 1)",
				Manual: true,
			},
			Run: func(t *scenario.T) {
				t.Fatalf("forced failure (harness self-test)")
			},
		},
		{
			Declaration: guestproto.Declaration{
				Name:   "harness/kernel-warn",
				Area:   "harness",
				Setup:  "LKDTM provoke-crash in debugfs",
				Checks: "triggers a kernel WARN through LKDTM: the host must quote the report and exit 1",
				Manual: true,
			},
			Run: func(t *scenario.T) {
				const lkdtm = "/sys/kernel/debug/provoke-crash/DIRECT"
				if _, err := os.Stat(lkdtm); err != nil {
					t.Skipf("LKDTM not in this kernel: %v", err)
				}
				t.Check(os.WriteFile(lkdtm, []byte("WARNING\n"), 0), "write %s", lkdtm)
			},
		},
		{
			Declaration: guestproto.Declaration{
				Name:   "harness/panic",
				Area:   "harness",
				Setup:  "LKDTM provoke-crash in debugfs; PANIC_ON_OOPS",
				Checks: "triggers a kernel BUG through LKDTM, which panics the guest: the host must fail this scenario with the quoted report, run the rest in a fresh guest and exit 1",
				Manual: true,
			},
			Run: func(t *scenario.T) {
				const lkdtm = "/sys/kernel/debug/provoke-crash/DIRECT"
				if _, err := os.Stat(lkdtm); err != nil {
					t.Skipf("LKDTM not in this kernel: %v", err)
				}
				// The write does not return: BUG() oopses this task
				// and PANIC_ON_OOPS panics the kernel.
				err := os.WriteFile(lkdtm, []byte("BUG\n"), 0)
				t.Fatalf("the guest survived an LKDTM BUG (write: %v): is PANIC_ON_OOPS off?", err)
			},
		},
		{
			Declaration: guestproto.Declaration{
				Name:  "harness/probe-overhead",
				Area:  "harness",
				Setup: "ext4 disk; must run alone in its boot (nothing else may have loaded probes)",
				Checks: "measures the mean cost of a 4 KiB O_DIRECT overwrite on ext4 with no probes, with the probe set loaded and idle, and while recording the file, " +
					"five rounds interleaving the three; every recording must hold an i_rwsem acquisition of the file per write (the rwsem programs are attached only while recording); " +
					"logs one bench line per round for make bench",
				Manual: true,
			},
			Timeout: 15 * time.Minute,
			Run: func(t *scenario.T) {
				r, err := probe.BenchDirectWrite(probe.BenchOptions{Path: filepath.Join(t.Disk("ext4", ""), "bench"), Iterations: overheadWrites, Rounds: overheadRounds})
				t.Check(err, "benchmark")
				us := func(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
				for i, rd := range r.Rounds {
					t.Logf("%s", bench.OverheadRound{
						Round: i + 1, Iterations: r.Iterations, BareUS: us(rd.Bare), IdleUS: us(rd.Idle), RecordingUS: us(rd.Recording),
						Events: rd.Events, LockEvents: rd.LockEvents,
					}.Line())
					if rd.LockEvents < r.Iterations {
						t.Errorf("round %d: %d i_rwsem acquisitions of the file recorded for %d writes", i+1, rd.LockEvents, r.Iterations)
					}
				}
			},
		},
		{
			Declaration: guestproto.Declaration{
				Name:  "harness/text-patching",
				Area:  "harness",
				Setup: "a tracing instance; two threads pinned to CPUs 0 and 1 waking each other through pipes",
				Checks: "switches the sched_wakeup trace event (a jump label in try_to_wake_up) and an fentry link on up_read (a BPF trampoline) " +
					"on and off 500 times each while both CPUs run the patched code: the events must be recorded, the wakeups must happen, and the kernel must report nothing " +
					"(a stale INT3 executed after the patch completed is an \"Oops: int3\"; QEMU's multi-threaded TCG produces it)",
				Manual: true,
			},
			Timeout: 10 * time.Minute,
			Run: func(t *scenario.T) {
				const cycles = 500
				r, err := probe.PatchStress(probe.PatchStressOptions{
					Cycles: cycles, Event: "sched/sched_wakeup", Trampoline: "up_read",
					Progress: func(n int) { t.Kmsg("%d cycles", n) },
				})
				t.Check(err, "patch stress")
				if r.EventFlips != cycles || r.TrampolineFlips != cycles {
					t.Fatalf("flipped the event %d and the trampoline %d times, want %d each", r.EventFlips, r.TrampolineFlips, cycles)
				}
				if r.EventsRecorded == 0 || r.Wakeups == 0 {
					t.Fatalf("%d sched_wakeup records, %d wakeups: the patched branch was never taken", r.EventsRecorded, r.Wakeups)
				}
				t.Logf("%d event and %d trampoline on/off cycles, %d sched_wakeup records, %d cross-CPU wakeups meanwhile",
					r.EventFlips, r.TrampolineFlips, r.EventsRecorded, r.Wakeups)
			},
		},
		{
			Declaration: guestproto.Declaration{
				Name:  "harness/trampoline-patching",
				Area:  "harness",
				Setup: "two threads pinned to CPUs 0 and 1 waking each other through pipes and reading / (down_read/up_read on its i_rwsem) every turn",
				Checks: "attaches and detaches an empty fentry program on up_read 1000 times (each rewrites up_read's entry through the BPF trampoline) " +
					"while both CPUs call up_read: every cycle must complete, the wakeups must happen, and the kernel must report nothing " +
					"(the per-recording probe attach that died with \"Oops: int3\" in up_read, without the jump labels of harness/text-patching)",
				Manual: true,
			},
			Timeout: 15 * time.Minute,
			Run: func(t *scenario.T) {
				const cycles = 1000
				r, err := probe.PatchStress(probe.PatchStressOptions{
					Cycles: cycles, Trampoline: "up_read",
					Progress: func(n int) { t.Kmsg("%d cycles", n) },
				})
				t.Check(err, "patch stress")
				if r.TrampolineFlips != cycles || r.Wakeups == 0 {
					t.Fatalf("flipped the trampoline %d times with %d wakeups, want %d flips and some wakeups", r.TrampolineFlips, r.Wakeups, cycles)
				}
				t.Logf("%d trampoline on/off cycles on up_read, %d cross-CPU wakeups meanwhile", r.TrampolineFlips, r.Wakeups)
			},
		},
		{
			Declaration: guestproto.Declaration{
				Name:   "harness/hang",
				Area:   "harness",
				Setup:  "nothing",
				Checks: "never returns: the host must kill the guest after its scenario timeout, record TIMEOUT, run the rest in a fresh guest and exit 1",
				Manual: true,
			},
			Timeout: 24 * time.Hour,
			Run: func(t *scenario.T) {
				// Deliberately ignores its context: a hung guest.
				select {}
			},
		},
		{
			Declaration: guestproto.Declaration{
				Name:   "harness/deadlock",
				Area:   "harness",
				Setup:  "test server; a buffered write holding i_rwsem waits for a WRITE the server's gate never releases, a second write waits for i_rwsem",
				Checks: "a planted deadlock in the kernel: the hung-task detector reports the second writer, the host judges the guest hung, gathers the evidence (the blocked tasks and the held WRITE from the guest's watchdog, every CPU's backtrace and the blocked tasks from the panic it causes, the vCPU registers) into evidence.log and console.log and fails the scenario naming the function the writer is blocked in",
				Manual: true,
			},
			// Longer than the host's bounds: the host, not the agent,
			// must find this one.
			Timeout: 24 * time.Hour,
			Run:     plantedDeadlock,
		},
	}
}

// plantedDeadlock blocks two writers in the kernel for good: the first
// holds the inode's i_rwsem while it waits for its WRITE, which the
// server's gate holds until the guest ends; the second waits for
// i_rwsem, uninterruptibly, so the hung-task detector reports it.
func plantedDeadlock(t *scenario.T) {
	m := t.FUSE(fuse.Config{Files: []fuse.FileSpec{{Path: "/dl", Size: page}}})
	t.Check(m.ArmGate("w", fuse.OpWrite, "/dl"), "arm gate")
	f := openFile(t, m.Path("dl"), os.O_RDWR)
	goPwrite(f, pattern(page, 0x51), 0)
	if _, err := m.WaitHeld("w", 1, holdWait); err != nil {
		t.Fatalf("the first write never reached the server: %v", err)
	}
	goPwrite(f, pattern(page, 0x52), page)
	t.Kmsg("two writers blocked on %s for good: the host must find them", m.Path("dl"))
	select {}
}
