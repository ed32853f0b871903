package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sync"

	"dioharness/harness/catalogue"
	"dioharness/harness/testrun"
)

// runKernels runs the catalogue on each kernel of opts and returns the
// outcomes in the order of opts and the worst exit status. With guests
// 1 the kernels are built and run one after the other, as always. With
// more, every kernel is built (or taken from the image cache) first, one
// at a time, because a build uses every core; then up to guests of them
// boot at once: a TCG guest runs on one host thread, so on a host with
// cores to spare the catalogue of several kernels takes the time of one.
// A kernel that does not build is reported as its run's infrastructure
// error, and the others still run.
func runKernels(ctx context.Context, cat catalogue.Catalogue, opts []testrun.Options, guests int, stdout io.Writer) ([]testrun.Outcome, int) {
	outs := make([]testrun.Outcome, len(opts))
	worst := testrun.ExitOK
	if guests <= 1 || len(opts) < 2 {
		for i, o := range opts {
			outs[i] = testrun.Run(ctx, cat, o)
			if outs[i].Exit == testrun.ExitBadArgs {
				return outs[:i+1], testrun.ExitBadArgs
			}
			worst = max(worst, outs[i].Exit)
			if ctx.Err() != nil {
				return outs[:i+1], worst
			}
		}
		return outs, worst
	}
	for i := range opts {
		if ctx.Err() != nil {
			return nil, testrun.ExitInfra
		}
		built, err := testrun.Prepare(ctx, opts[i])
		if err != nil {
			// Run builds again and reports the error in its results.
			fmt.Fprintf(stdout, "%s: %v\n", opts[i].Variant, err)
			continue
		}
		opts[i].Built = built
	}
	fmt.Fprintf(stdout, "booting the %d kernels %d at a time\n", len(opts), guests)
	outs = atOnce(opts, guests, stdout, ": ", func(o testrun.Options) testrun.Outcome { return testrun.Run(ctx, cat, o) })
	for _, oc := range outs {
		worst = max(worst, oc.Exit)
	}
	return outs, worst
}

// atOnce runs run on each kernel of opts, up to guests at once (a TCG
// guest runs on one host thread), and returns the results in the order
// of opts. Each run's progress lines go out as they come, prefixed with
// its variant and sep; its final table is printed whole once it ends.
func atOnce[T any](opts []testrun.Options, guests int, stdout io.Writer, sep string, run func(testrun.Options) T) []T {
	out := make([]T, len(opts))
	lines := &lineWriter{dst: stdout}
	sem := make(chan struct{}, guests)
	var wg sync.WaitGroup
	for i := range opts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			o := opts[i]
			var table bytes.Buffer
			o.Out, o.Interactive = &runOutput{lines: lines, prefix: o.Variant.String() + sep, table: &table}, false
			out[i] = run(o)
			lines.writeBlock(table.Bytes())
		}()
	}
	wg.Wait()
	return out
}

// lineWriter writes whole lines and blocks to dst, one writer at a time,
// so that runs sharing a terminal never tear each other's lines.
type lineWriter struct {
	mu  sync.Mutex
	dst io.Writer
}

func (w *lineWriter) writeBlock(b []byte) {
	if len(b) == 0 {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.dst.Write(b)
}

// runOutput is one concurrent run's Out. Progress lines (testrun prefixes
// them with the kernel) go to the shared lineWriter as they complete; a
// line that does not start with the prefix belongs to the run's final
// table and is kept for the end.
type runOutput struct {
	lines   *lineWriter
	prefix  string
	table   *bytes.Buffer
	partial []byte
}

func (r *runOutput) Write(p []byte) (int, error) {
	r.partial = append(r.partial, p...)
	for {
		i := bytes.IndexByte(r.partial, '\n')
		if i < 0 {
			return len(p), nil
		}
		line := r.partial[:i+1]
		if bytes.HasPrefix(line, []byte(r.prefix)) || bytes.HasPrefix(line, []byte("kernel ")) {
			r.lines.writeBlock(line)
		} else {
			r.table.Write(line)
		}
		r.partial = r.partial[i+1:]
	}
}
