package ktap

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
)

// Writer emits KTAP version 1. Every line is passed to the underlying
// io.Writer in a single Write call, so a concurrent reader of a serial port
// never sees half a line from this writer. Methods are safe for concurrent
// use; the lines of one Result are written contiguously.
//
// The first write error is sticky: later calls return it without writing.
type Writer struct {
	mu   sync.Mutex
	w    io.Writer
	next int // number assigned to the next top-level result
	err  error
}

// NewWriter returns a Writer that writes to w.
func NewWriter(w io.Writer) *Writer {
	return &Writer{w: w, next: 1}
}

// Plan writes the version line "KTAP version 1" and the plan line "1..n".
func (w *Writer) Plan(n int) error {
	if n < 0 {
		return fmt.Errorf("ktap: plan %d: negative test count", n)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.line("", "KTAP version 1"); err != nil {
		return err
	}
	return w.line("", "1.."+strconv.Itoa(n))
}

// Diag writes a diagnostic line "# <text>". Text containing newlines is
// written as several diagnostic lines. By KTAP convention diagnostics
// belong to the next result.
func (w *Writer) Diag(format string, args ...any) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.diags("", []string{fmt.Sprintf(format, args...)})
}

// Other writes a line that is not KTAP, which a KTAP reader skips (the
// guest agent's heartbeat and hang evidence share its port). It is
// written in one Write call, never inside a result's lines; a line
// that would read as KTAP is refused.
func (w *Writer) Other(line string) error {
	if strings.ContainsAny(line, "\r\n") || classify(line).kind != kindUnknown {
		return fmt.Errorf("ktap: %q is not a line a KTAP reader skips", line)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.line("", line)
}

// Totals writes the closing "# Totals: pass:N fail:N xfail:N xpass:N
// skip:N error:N" diagnostic, as kselftest does after the last result.
func (w *Writer) Totals(t Totals) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.line("", "# "+t.String())
}

// Result writes r: first its subtests as a nested document, then r.Diag as
// diagnostic lines, then "# duration_ms: N", then the result line
//
//	ok|not ok <number> <name>[ # <directive> <reason>]
//
// A zero r.Number is replaced by the next number in sequence. Status Skip
// is written as "ok ... # SKIP" unless r.Directive says otherwise. Newlines
// in Name and Reason become spaces; '#' and '\' in Name are escaped.
func (w *Writer) Result(r Result) error {
	if err := validate(r); err != nil {
		return err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if r.Number == 0 {
		r.Number = w.next
	}
	w.next = r.Number + 1
	return w.result("", r)
}

// validate checks r and its subtests before anything is written.
func validate(r Result) error {
	if r.Status != Pass && r.Status != Fail && r.Status != Skip {
		return fmt.Errorf("ktap: result %d %q: invalid status %v", r.Number, r.Name, r.Status)
	}
	if !r.Directive.Known() {
		return fmt.Errorf("ktap: result %d %q: unknown directive %q", r.Number, r.Name, r.Directive)
	}
	if (r.Directive == DirTimeout || r.Directive == DirError) && r.Status != Fail {
		return fmt.Errorf("ktap: result %d %q: %s needs status fail (\"not ok\"), got %v", r.Number, r.Name, r.Directive, r.Status)
	}
	if r.Number < 0 {
		return fmt.Errorf("ktap: result %d %q: negative number", r.Number, r.Name)
	}
	for _, s := range r.Subtests {
		if err := validate(s); err != nil {
			return fmt.Errorf("subtest of %q: %w", r.Name, err)
		}
	}
	return nil
}

// result writes r at the given indentation. The caller holds w.mu.
func (w *Writer) result(indent string, r Result) error {
	if len(r.Subtests) > 0 {
		sub := indent + "  "
		if err := w.line(sub, "KTAP version 1"); err != nil {
			return err
		}
		if err := w.line(sub, "1.."+strconv.Itoa(len(r.Subtests))); err != nil {
			return err
		}
		for i, s := range r.Subtests {
			if s.Number == 0 {
				s.Number = i + 1
			}
			if err := w.result(sub, s); err != nil {
				return err
			}
		}
	}
	if err := w.diags(indent, r.Diag); err != nil {
		return err
	}
	if err := w.line(indent, "# duration_ms: "+strconv.FormatInt(r.Duration.Milliseconds(), 10)); err != nil {
		return err
	}
	return w.line(indent, resultLine(r))
}

// resultLine formats the result line of r, without indentation.
func resultLine(r Result) string {
	var b strings.Builder
	if r.Status == Fail {
		b.WriteString("not ok ")
	} else {
		b.WriteString("ok ")
	}
	b.WriteString(strconv.Itoa(r.Number))
	if name := escapeName(oneLine(r.Name)); name != "" {
		b.WriteString(" " + name)
	}
	dir := r.Directive
	if dir == NoDirective && r.Status == Skip {
		dir = DirSkip
	}
	reason := oneLine(r.Reason)
	if dir != NoDirective || reason != "" {
		b.WriteString(" #")
		if dir != NoDirective {
			b.WriteString(" " + string(dir))
		}
		if reason != "" {
			b.WriteString(" " + reason)
		}
	}
	return b.String()
}

// diags writes each line of each text as a diagnostic line.
func (w *Writer) diags(indent string, texts []string) error {
	for _, t := range texts {
		for _, l := range strings.Split(strings.ReplaceAll(t, "\r\n", "\n"), "\n") {
			l = strings.TrimRight(l, " \t\r")
			if l != "" {
				l = " " + l
			}
			if err := w.line(indent, "#"+l); err != nil {
				return err
			}
		}
	}
	return nil
}

// line writes indent+s+"\n" in one Write call. The caller holds w.mu.
func (w *Writer) line(indent, s string) error {
	if w.err != nil {
		return w.err
	}
	n, err := io.WriteString(w.w, indent+s+"\n")
	if err == nil && n != len(indent)+len(s)+1 {
		err = io.ErrShortWrite
	}
	if err != nil {
		w.err = fmt.Errorf("ktap: write: %w", err)
	}
	return w.err
}

// escapeName escapes '\' and '#' so that a name never starts the directive.
func escapeName(s string) string {
	if !strings.ContainsAny(s, `\#`) {
		return s
	}
	return strings.NewReplacer(`\`, `\\`, `#`, `\#`).Replace(s)
}

// oneLine turns line breaks into spaces and trims surrounding space.
func oneLine(s string) string {
	return strings.TrimSpace(strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ").Replace(s))
}
