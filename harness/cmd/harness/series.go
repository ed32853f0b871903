package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"dioharness/harness/kernel"
	"dioharness/harness/series"
)

type seriesEnv struct {
	repo, build string
	src         *kernel.Sources
}

func newSeriesEnv(fs *flag.FlagSet, args []string, stdout, stderr io.Writer) (*seriesEnv, *int, error) {
	build := fs.String("build", "build", "build directory")
	jobs := fs.Int("jobs", 0, "make -j (default: CPUs)")
	if err := fs.Parse(args); err != nil {
		return nil, nil, err
	}
	repo, err := repoRoot()
	if err != nil {
		return nil, nil, err
	}
	pin, err := kernel.ReadPin(filepath.Join(repo, "patches", "BASE"))
	if err != nil {
		return nil, nil, err
	}
	abs, _ := filepath.Abs(*build)
	return &seriesEnv{repo: repo, build: abs, src: &kernel.Sources{Dir: filepath.Join(abs, "kernel"), Pin: pin, Log: stdout}}, jobs, nil
}

func (e *seriesEnv) stamp() string { return filepath.Join(e.build, "series-check.ok") }

func seriesCheck(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("series-check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	e, jobs, err := newSeriesEnv(fs, args, stdout, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "harness: %v\n", err)
		return 2
	}
	frags, _ := filepath.Glob(filepath.Join(e.repo, "kconfig", "*.config"))
	sort.Strings(frags)
	var c commonFlags
	c.jobs = *jobs
	o := c.options(e.repo, stdout)
	chk := &series.Checker{
		Sources:   e.src,
		PatchDir:  filepath.Join(e.repo, "patches"),
		Fragments: frags,
		Build: kernel.BuildOptions{
			Jobs: *jobs, CCacheDir: o.CCacheDir, Log: stdout, Interactive: o.Interactive,
			LogFile: filepath.Join(e.build, "kernel", "build-series-check.log"),
		},
		Log: stdout,
	}
	if err := chk.Run(ctx, e.stamp()); err != nil {
		fmt.Fprintf(stderr, "harness: %v\n", err)
		return 1
	}
	return 0
}

func maintainers(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("maintainers", flag.ContinueOnError)
	fs.SetOutput(stderr)
	e, _, err := newSeriesEnv(fs, args, stdout, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "harness: %v\n", err)
		return 2
	}
	base, err := e.src.Base(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "harness: %v\n", err)
		return 2
	}
	patches, err := kernel.ReadSeries(filepath.Join(e.repo, "patches"))
	if err != nil || len(patches) == 0 {
		fmt.Fprintf(stderr, "harness: no patches (%v)\n", err)
		return 2
	}
	r, err := series.Maintainers(ctx, base.Src, patches)
	if err != nil {
		fmt.Fprintf(stderr, "harness: %v\n", err)
		return 1
	}
	if err := series.UpdateMaintainersFile(filepath.Join(e.repo, "MAINTAINERS.md"), r); err != nil {
		fmt.Fprintf(stderr, "harness: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "To: %s\nCc: %s\n", strings.Join(r.To, ", "), strings.Join(r.Cc, ", "))
	return 0
}

func sendEmail(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("send-email", flag.ContinueOnError)
	fs.SetOutput(stderr)
	send := fs.Bool("send", false, "really send (needs your sendemail.* SMTP settings)")
	e, _, err := newSeriesEnv(fs, args, stdout, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "harness: %v\n", err)
		return 2
	}
	patchDir := filepath.Join(e.repo, "patches")
	want, err := series.Hash(patchDir)
	if err != nil {
		fmt.Fprintf(stderr, "harness: %v\n", err)
		return 2
	}
	got, _ := os.ReadFile(e.stamp())
	if strings.TrimSpace(string(got)) != want {
		fmt.Fprintln(stderr, "harness: series-check has not passed for the current patches: run make series-check first")
		return 1
	}
	r, err := series.ReadRecipients(filepath.Join(e.repo, "MAINTAINERS.md"))
	if err != nil {
		fmt.Fprintf(stderr, "harness: %v\n", err)
		return 1
	}
	err = series.SendEmail(ctx, r, series.SendOptions{
		PatchDir: patchDir,
		Outgoing: filepath.Join(patchDir, "outgoing"),
		Send:     *send,
		Out:      stdout,
	})
	if err != nil {
		fmt.Fprintf(stderr, "harness: %v\n", err)
		return 1
	}
	if !*send {
		fmt.Fprintf(stdout, "dry run; mails written to %s; make send-email SEND=1 sends them\n", filepath.Join(patchDir, "outgoing"))
	}
	return 0
}
