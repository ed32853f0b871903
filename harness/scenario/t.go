package scenario

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"time"

	"dioharness/harness/verdict"
)

// T is handed to a scenario body. Like testing.T, Fatalf and Skipf end
// the body (runtime.Goexit), Errorf records a failure and goes on, and
// cleanups run in reverse order when the body ends.
type T struct {
	name     string
	ctx      context.Context
	env      *Env
	mu       sync.Mutex
	failed   bool
	skipped  bool
	reason   string
	log      []string
	cleanups []func()
	attempts int
	logged   map[string]bool
}

// Result is the outcome of one scenario run.
type Result struct {
	Name     string
	Verdict  verdict.Verdict // Pass, Fail or Skip
	Reason   string          // first failure or the skip reason
	Log      []string
	Duration time.Duration
	Attempts int
	// TimedOut says the runner ended the scenario at its Timeout.
	TimedOut bool
}

// Context is cancelled when the scenario's timeout expires.
func (t *T) Context() context.Context { return t.ctx }

// Env is the guest environment.
func (t *T) Env() *Env { return t.env }

// Name is the scenario name.
func (t *T) Name() string { return t.name }

// Logf records a detail line, shown with the result.
func (t *T) Logf(format string, args ...any) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.log = append(t.log, fmt.Sprintf(format, args...))
}

// logOnce is Logf for a line a scenario may hit many times (once per
// recording): only the first with a key is kept.
func (t *T) logOnce(key, format string, args ...any) {
	t.mu.Lock()
	if t.logged == nil {
		t.logged = map[string]bool{}
	}
	seen := t.logged[key]
	t.logged[key] = true
	t.mu.Unlock()
	if !seen {
		t.Logf(format, args...)
	}
}

// Errorf records a failure and continues.
func (t *T) Errorf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.failed {
		t.reason = headline(msg)
	}
	t.failed = true
	t.log = append(t.log, "FAIL: "+msg)
}

// Fatalf records a failure and ends the body.
func (t *T) Fatalf(format string, args ...any) {
	t.Errorf(format, args...)
	runtime.Goexit()
}

// headline is the first line of a message, bounded: the whole message
// (event dumps included) stays in the log.
func headline(msg string) string {
	msg, _, _ = strings.Cut(msg, "\n")
	if len(msg) > 240 {
		msg = msg[:240] + "..."
	}
	return msg
}

// Skipf ends the body as skipped: a scenario whose probe did not attach
// or whose kernel lacks a feature is SKIP, never PASS.
func (t *T) Skipf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	t.mu.Lock()
	t.skipped = true
	t.reason = msg
	t.log = append(t.log, "SKIP: "+msg)
	t.mu.Unlock()
	runtime.Goexit()
}

// Check ends the body when err is not nil.
func (t *T) Check(err error, what string, args ...any) {
	if err != nil {
		t.Fatalf("%s: %v", fmt.Sprintf(what, args...), err)
	}
}

// Cleanup registers f to run when the body ends.
func (t *T) Cleanup(f func()) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.cleanups = append(t.cleanups, f)
}

// SetAttempts records how many tries a racy scenario needed to hit its
// window.
func (t *T) SetAttempts(n int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.attempts = n
}

// Failed reports whether a failure was recorded.
func (t *T) Failed() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.failed
}

// run executes s's body under its timeout. A body still running at the
// timeout is reported as failed; its goroutine is abandoned, which is
// acceptable only because the guest ends after the run.
func run(ctx context.Context, s Scenario, env *Env) Result {
	timeout := s.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	if env.TimeoutScale > 1 {
		timeout = time.Duration(float64(timeout) * env.TimeoutScale)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	t := &T{name: s.Name, ctx: ctx, env: env, attempts: 1}
	start := time.Now()
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer t.runCleanups()
		defer func() {
			if r := recover(); r != nil {
				buf := make([]byte, 8<<10)
				buf = buf[:runtime.Stack(buf, false)]
				t.Errorf("panic: %v\n%s", r, buf)
			}
		}()
		s.Run(t)
	}()
	timedOut := false
	select {
	case <-done:
	case <-ctx.Done():
		timedOut = true
		why := ""
		if env.OnTimeout != nil {
			why = env.OnTimeout(s.Name)
		}
		if why != "" {
			why = "; " + why
		}
		t.Errorf("timed out after %s%s", timeout, why)
		// Give cleanups a bounded chance to release gates and
		// unmount, so later scenarios start clean; a body still
		// blocked then is abandoned, and its probe recording stopped.
		select {
		case <-done:
		case <-time.After(env.grace):
			env.rec.abandon(t)
		}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	r := Result{Name: s.Name, Verdict: verdict.Pass, Reason: t.reason, Log: t.log, Duration: time.Since(start), Attempts: t.attempts, TimedOut: timedOut}
	switch {
	case t.failed:
		r.Verdict = verdict.Fail
	case t.skipped:
		r.Verdict = verdict.Skip
	}
	return r
}

// endIfAbandoned ends the body (runtime.Goexit, so its cleanups run)
// once the runner has given up on it at its timeout: an abandoned body
// that went on would start a probe recording, or hold a disk, that the
// next scenario needs (the runner stops the recording it had, see
// recorder, but not the ones it would start afterwards).
func (t *T) endIfAbandoned() {
	if t.ctx.Err() != nil {
		runtime.Goexit()
	}
}

func (t *T) runCleanups() {
	for {
		t.mu.Lock()
		n := len(t.cleanups)
		if n == 0 {
			t.mu.Unlock()
			return
		}
		f := t.cleanups[n-1]
		t.cleanups = t.cleanups[:n-1]
		t.mu.Unlock()
		f()
	}
}

// Reporter receives the runner's progress: the agent writes it as KTAP
// and marks the kernel log.
type Reporter interface {
	Plan(n int)
	Start(name string)
	Done(r Result)
}

// RunAll runs the catalogue in order and reports each result. It
// returns the number of scenarios that failed.
func RunAll(ctx context.Context, c Catalogue, env *Env, rep Reporter) int {
	rep.Plan(len(c))
	failed := 0
	for _, s := range c {
		rep.Start(s.Name)
		r := run(ctx, s, env)
		if r.Verdict == verdict.Fail {
			failed++
		}
		rep.Done(r)
	}
	return failed
}

// Kmsg writes a line to the kernel log, so the console shows how far a
// scenario got next to any kernel report that follows. The newline ends
// the printk record: without it the console prints it only with the
// next kernel message.
func (t *T) Kmsg(format string, args ...any) {
	f, err := os.OpenFile("/dev/kmsg", os.O_WRONLY, 0)
	if err != nil {
		return
	}
	defer f.Close()
	f.WriteString(strings.ReplaceAll("dioharness: "+t.name+": "+fmt.Sprintf(format, args...), "\n", " ") + "\n")
}
