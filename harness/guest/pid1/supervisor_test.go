package pid1

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// supervisorChild makes the test binary run supervisorScript: the
// Supervisor reaps every child of its process, so it must not share one
// with the test framework (or with os/exec in other tests).
const supervisorChild = "PID1_SUPERVISOR_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(supervisorChild) == "1" {
		os.Exit(supervisorScript())
	}
	os.Exit(m.Run())
}

// supervisorScript is the child: as a subreaper (what PID 1 is by
// nature) it runs a shell that leaves an orphan behind and a command
// that exits at once, and checks that both end reaped and reported.
// It prints what failed and exits 1.
func supervisorScript() int {
	fail := func(format string, args ...any) int {
		os.Stderr.WriteString("FAIL: " + strings.TrimSpace(fmt.Sprintf(format, args...)) + "\n")
		return 1
	}
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		return fail("subreaper: %v", err)
	}
	s := NewSupervisor()
	defer s.Close()
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return fail("%v", err)
	}
	attr := &os.ProcAttr{Files: []*os.File{null, null, null}}
	sh, err := exec.LookPath("sh")
	if err != nil {
		return fail("%v", err)
	}
	// The background job outlives its parent: the kernel reparents it
	// to this subreaper.
	e, err := s.Run([]string{sh, "-c", "true & exit 5"}, attr)
	if err != nil {
		return fail("run: %v", err)
	}
	if !e.Status.Exited() || e.Status.ExitStatus() != 5 || e.String() != "exit status 5" {
		return fail("sh exit %s, want exit status 5", e)
	}
	if !s.WaitOrphans(1, 10*time.Second) {
		return fail("the orphan was not reaped (orphans %d)", s.Orphans())
	}
	// Nothing may stay a zombie of this process.
	if z := zombies(os.Getpid()); len(z) > 0 {
		return fail("zombies left: %v", z)
	}
	e, err = s.Run([]string{sh, "-c", "kill -9 $$"}, attr)
	if err != nil || !e.Status.Signaled() || e.Status.Signal() != unix.SIGKILL {
		return fail("killed shell: %v, %v", e, err)
	}
	if _, err := s.Run([]string{"/nonexistent/x"}, attr); err == nil {
		return fail("starting a missing program succeeded")
	}
	return 0
}

func zombies(ppid int) []string {
	var out []string
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		f := strings.Fields(string(b)[strings.LastIndexByte(string(b), ')')+1:])
		if len(f) > 1 && f[0] == "Z" && f[1] == strconv.Itoa(ppid) {
			out = append(out, e.Name())
		}
	}
	return out
}

func TestSupervisorReapsOrphans(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self, "-test.run=^$")
	cmd.Env = append(os.Environ(), supervisorChild+"=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("supervisor child: %v\n%s", err, out)
	}
}
