package vm

import (
	"bufio"
	"io"
	"regexp"
	"strings"
	"sync"
	"time"

	"dioharness/harness/guestproto"
	"dioharness/harness/kstack"
)

// Report is a kernel report (WARN, BUG, Oops, lockdep, KASAN...) found on
// the console, with the lines that explain it.
type Report struct {
	// Title is the line that started the report.
	Title string
	// Lines quotes the report, up to its end marker or maxReportLines.
	Lines []string
	// During names the scenario the agent announced last before the
	// report ("" during boot), and Test is its KTAP test number in
	// this boot (0 during boot).
	During string
	Test   int
	// Hang: the kernel reports a hang (a task blocked too long, a
	// soft lockup, an RCU stall); Blocked names the function the
	// reported task waits in (kstack.Where), when the report shows it.
	Hang    bool
	Blocked string
}

// hangTitles start the reports of a hang.
var hangTitles = regexp.MustCompile(`^(INFO: task \S+ blocked for more than|INFO: rcu_\S+ (self-)?detected stall|watchdog: BUG: soft lockup)`)

// judged is r with Hang and Blocked filled in.
func judged(r Report) Report {
	if !hangTitles.MatchString(r.Title) {
		return r
	}
	r.Hang = true
	if tasks := kstack.Tasks(r.Lines); len(tasks) > 0 {
		r.Blocked = kstack.Where(tasks[0].Stack)
	} else {
		r.Blocked = kstack.Where(kstack.Frames(r.Lines))
	}
	return r
}

// reportStart matches the first line of a kernel report. Lines are
// matched after the "[    1.234567] " timestamp prefix is removed.
var reportStart = regexp.MustCompile(`^(` + strings.Join([]string{
	`WARNING: `,
	`BUG: `,
	`Oops: `,
	`Oops\b`,
	`general protection fault`,
	`Kernel panic - not syncing`,
	`kernel BUG at `,
	`INFO: task \S+ blocked for more than`,
	`INFO: rcu_\S+ (self-)?detected stall`,
	`watchdog: BUG: soft lockup`,
	`UBSAN: `,
	`KASAN: `,
	`DEBUG_LOCKS_WARN_ON`,
	`inconsistent lock state`,
	`possible (circular|recursive) locking`,
	`======================================================`,
}, "|") + `)`)

// reportEnd matches the last line of a report.
var reportEnd = regexp.MustCompile(`^(---\[ end trace|---\[ end Kernel panic|\s*</TASK>)`)

var timestamp = regexp.MustCompile(`^\[\s*\d+\.\d+\]\s?`)

const maxReportLines = 60

// Console collects the kernel console and the reports in it.
type Console struct {
	w       io.Writer
	echo    io.Writer
	mu      sync.Mutex
	reports []Report
	cur     *Report
	during  string
	test    int
	panic   chan struct{}
	panicd  bool
	// induced is set once the host asked the guest for a hang's
	// evidence: what the console prints from then on (the panic the
	// host caused, the dumps) is kept in after, not reported.
	induced bool
	after   []string
	// lines counts every line; lastLine is when the latest came.
	lines    int
	lastLine time.Time
}

// maxAfter bounds the console lines kept after Induce.
const maxAfter = 50000

// NewConsole returns a Console that scans the lines given to Feed. A
// guest's Console also writes them to its console log.
func NewConsole() *Console {
	return newConsole(io.Discard, nil)
}

func newConsole(w, echo io.Writer) *Console {
	return &Console{w: w, echo: echo, panic: make(chan struct{})}
}

func (c *Console) consume(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		io.WriteString(c.w, line+"\n")
		if c.echo != nil {
			io.WriteString(c.echo, line+"\n")
		}
		c.Feed(line)
	}
	c.mu.Lock()
	c.flush()
	c.mu.Unlock()
}

// Feed scans one console line.
func (c *Console) Feed(line string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lines++
	c.lastLine = time.Now()
	text := timestamp.ReplaceAllString(line, "")
	if c.induced {
		if len(c.after) < maxAfter {
			c.after = append(c.after, text)
		}
		if strings.HasPrefix(text, "Kernel panic - not syncing") && !c.panicd {
			c.panicd = true
			close(c.panic)
		}
		return
	}
	if n, name, ok := guestproto.ParseKmsgStart(text); ok {
		c.flush()
		c.during, c.test = name, n
		return
	}
	if strings.HasPrefix(text, "Kernel panic - not syncing") && !c.panicd {
		c.panicd = true
		close(c.panic)
	}
	if c.cur != nil && c.cur.Title == "" && strings.TrimSpace(text) != "" {
		// After a rule line: a report only if a report title follows.
		if !reportStart.MatchString(text) || strings.HasPrefix(text, "=====") {
			c.cur = nil
		} else {
			c.cur.Title = text
		}
	}
	if c.cur != nil {
		c.cur.Lines = append(c.cur.Lines, text)
		if reportEnd.MatchString(text) || len(c.cur.Lines) >= maxReportLines {
			c.flush()
		}
		return
	}
	if reportStart.MatchString(text) {
		if strings.HasPrefix(text, "=====") {
			// Lockdep and KASAN open with a rule line; the title
			// is the next line.
			c.cur = &Report{During: c.during, Test: c.test, Lines: []string{text}}
			return
		}
		c.cur = &Report{Title: text, During: c.during, Test: c.test, Lines: []string{text}}
	}
}

func (c *Console) flush() {
	if c.cur == nil {
		return
	}
	if c.cur.Title != "" {
		c.reports = append(c.reports, judged(*c.cur))
	}
	c.cur = nil
}

// Reports returns the reports seen so far.
func (c *Console) Reports() []Report {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := append([]Report(nil), c.reports...)
	if c.cur != nil && c.cur.Title != "" {
		out = append(out, judged(*c.cur))
	}
	return out
}

// Induce marks the point where the host asked the hung guest for its
// evidence: the reports that follow are the host's doing (the panic
// that ends the guest and what it prints), not the kernel's; the
// lines are kept for After. A report still open is closed first.
func (c *Console) Induce() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.flush()
	c.induced = true
}

// After returns the console lines since Induce, timestamps removed.
func (c *Console) After() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.after...)
}

// Activity returns how many lines the console printed so far and when
// the last one came (zero before the first): the host's judge of a
// guest that still prints.
func (c *Console) Activity() (lines int, last time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lines, c.lastLine
}

// Panicked is closed when the kernel panicked.
func (c *Console) Panicked() <-chan struct{} { return c.panic }
