package checkrun

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// procStat is what /proc/<pid>/stat says of a task.
type procStat struct {
	pid   int
	comm  string
	state string
	pgrp  int
}

// readStat parses /proc/<pid>/stat; comm may hold spaces and parens,
// so the fields are counted from the last ')'.
func readStat(pid int) (procStat, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return procStat{}, err
	}
	return parseStat(string(b))
}

func parseStat(s string) (procStat, error) {
	open, close := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || close < open {
		return procStat{}, fmt.Errorf("bad stat line %q", s)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(s[:open]))
	if err != nil {
		return procStat{}, fmt.Errorf("bad stat line %q", s)
	}
	f := strings.Fields(s[close+1:])
	if len(f) < 3 {
		return procStat{}, fmt.Errorf("bad stat line %q", s)
	}
	pgrp, err := strconv.Atoi(f[2])
	if err != nil {
		return procStat{}, fmt.Errorf("bad stat line %q", s)
	}
	return procStat{pid: pid, comm: s[open+1 : close], state: f[0], pgrp: pgrp}, nil
}

// group lists the live processes of process group pgid.
func group(pgid int) []int {
	ents, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		st, err := readStat(pid)
		if err == nil && st.pgrp == pgid && st.state != "Z" {
			out = append(out, pid)
		}
	}
	return out
}

// waitGone waits until every process of pids has exited, at most d,
// and returns those still there. It waits on pidfds: a process that
// exits makes its pidfd readable, no polling of /proc.
func waitGone(pids []int, d time.Duration) []int {
	type watch struct {
		pid int
		fd  int
	}
	var ws []watch
	for _, p := range pids {
		fd, err := unix.PidfdOpen(p, 0)
		if err != nil {
			continue // already gone
		}
		ws = append(ws, watch{p, fd})
	}
	defer func() {
		for _, w := range ws {
			unix.Close(w.fd)
		}
	}()
	deadline := time.Now().Add(d)
	for len(ws) > 0 {
		left := time.Until(deadline)
		if left <= 0 {
			break
		}
		fds := make([]unix.PollFd, len(ws))
		for i, w := range ws {
			fds[i] = unix.PollFd{Fd: int32(w.fd), Events: unix.POLLIN}
		}
		n, err := unix.Poll(fds, int(left/time.Millisecond)+1)
		if err == unix.EINTR {
			continue
		}
		if err != nil || n == 0 {
			break
		}
		kept := ws[:0]
		for i, w := range ws {
			if fds[i].Revents != 0 {
				unix.Close(w.fd)
				continue
			}
			kept = append(kept, w)
		}
		ws = kept
	}
	var out []int
	for _, w := range ws {
		out = append(out, w.pid)
	}
	return out
}

// describeTask says what a stuck task is and where it waits.
func describeTask(pid int) string {
	st, err := readStat(pid)
	if err != nil {
		return fmt.Sprintf("pid %d: %v", pid, err)
	}
	wchan, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/wchan")
	return fmt.Sprintf("pid %d %s state %s wchan %s", st.pid, st.comm, st.state, strings.TrimSpace(string(wchan)))
}
