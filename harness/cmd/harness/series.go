package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"

	"dioharness/harness/catalogue"
	"dioharness/harness/kbase"
	"dioharness/harness/kernel"
	"dioharness/harness/series"
	"dioharness/harness/testrun"
)

// sources are the base trees of spec in the build directory.
func (c *commonFlags) sources(e env, spec kbase.Spec, out io.Writer) (*kernel.Sources, error) {
	arch, err := c.archive(out)
	if err != nil {
		return nil, err
	}
	build, _ := filepath.Abs(c.build)
	return &kernel.Sources{Dir: filepath.Join(build, "kernel", spec.Name), Spec: spec, Archive: arch, Log: out}, nil
}

// baseTree imports (if needed) and checks out the base tree of spec:
// get_maintainer.pl runs there.
func (c *commonFlags) baseTree(ctx context.Context, e env, spec kbase.Spec, out io.Writer) (kernel.Tree, error) {
	src, err := c.sources(e, spec, out)
	if err != nil {
		return kernel.Tree{}, err
	}
	return src.Base(ctx)
}

// stampDir holds series-check's stamps of the checked series.
func (c *commonFlags) stampDir() string {
	build, _ := filepath.Abs(c.build)
	return filepath.Join(build, "series-check")
}

func seriesCheckFlags(fs *flag.FlagSet) action {
	boot := fs.Bool("boot", true, "boot each patch with the scenarios that prove it (and the next patch's, which must still fail)")
	return func(ctx context.Context, in invocation) int { return seriesCheck(ctx, in, *boot) }
}

func seriesCheck(ctx context.Context, in invocation, boot bool) int {
	f, cat, stdout, stderr := in.c, in.cat, in.stdout, in.stderr
	e, sel, err := f.selectedBases()
	if err != nil {
		return badArgs(stderr, err)
	}
	o := f.options(e, stdout)
	worst := testrun.ExitOK
	for _, spec := range sel {
		src, err := f.sources(e, spec, stdout)
		if err != nil {
			fmt.Fprintf(stderr, "harness: %v\n", err)
			return testrun.ExitInfra
		}
		mk, err := testrun.MachineKconfig(e.repo)
		if err != nil {
			return badArgs(stderr, err)
		}
		frags, err := testrun.Fragments(e.repo, mk, &spec)
		if err != nil {
			return badArgs(stderr, err)
		}
		chk := &series.Checker{
			Sources:   src,
			Fragments: frags,
			Build: kernel.BuildOptions{
				Jobs: f.jobs, CCacheDir: o.CCacheDir, Log: stdout, Interactive: o.Interactive,
				LogFile: filepath.Join(o.Build, "kernel", "build-series-check-"+spec.Name+".log"),
			},
			StampDir: f.stampDir(),
			Repo:     e.repo,
			Log:      stdout,
		}
		so := o
		so.Spec = &spec
		chk.Images = testrun.ImageCache(so)
		if chk.Images.Dir != "" {
			chk.ResultCache = filepath.Join(f.cache, "series-check")
			chk.Selftests = testrun.SelftestDir(so)
			chk.Rebuild = f.rebuild
		}
		if boot {
			chk.AfterPatch = bootPatch(cat, e, spec, f, stdout)
		}
		if err := chk.Run(ctx); err != nil {
			fmt.Fprintf(stderr, "harness: %s: %v\n", spec.Name, err)
			worst = testrun.ExitFailed
		}
	}
	return worst
}

func maintainers(ctx context.Context, in invocation) int {
	f, stdout, stderr := in.c, in.stdout, in.stderr
	e, sel, err := f.selectedBases()
	if err != nil {
		return badArgs(stderr, err)
	}
	for _, spec := range sel {
		base, err := f.baseTree(ctx, e, spec, stdout)
		if err != nil {
			fmt.Fprintf(stderr, "harness: %v\n", err)
			return testrun.ExitInfra
		}
		for _, dir := range spec.AllSeriesDirs() {
			name := spec.Name + "/" + filepath.Base(dir)
			patches, err := kernel.ReadSeries(dir)
			if err != nil {
				return badArgs(stderr, err)
			}
			if len(patches) == 0 {
				fmt.Fprintf(stdout, "%s: no patch yet\n", name)
				continue
			}
			m, err := series.Maintainers(ctx, base.Src, patches)
			if err != nil {
				fmt.Fprintf(stderr, "harness: %v\n", err)
				return testrun.ExitFailed
			}
			// The cover letter's recipients: get_maintainer.pl's, the
			// reviewers the patches' trailers name, and the stable list
			// for a stable backport.
			r, err := series.SeriesRecipients(m, patches, spec.Target)
			if err != nil {
				return badArgs(stderr, err)
			}
			if err := series.UpdateMaintainersFile(filepath.Join(e.repo, "MAINTAINERS.md"), name, r); err != nil {
				fmt.Fprintf(stderr, "harness: %v\n", err)
				return testrun.ExitFailed
			}
			fmt.Fprintf(stdout, "%s\n  To: %s\n  Cc: %s\n", name, strings.Join(r.To, ", "), strings.Join(r.Cc, ", "))
		}
	}
	return testrun.ExitOK
}

func sendEmailFlags(fs *flag.FlagSet) action {
	send := fs.Bool("send", false, "really send (needs your sendemail.* SMTP settings and your own git identity)")
	upstreamGit := fs.String("upstream-git", "", "a local clone of the upstream repository with the base's tag, to resolve base-commit: (else BASE's base-commit:, else git ls-remote)")
	which := fs.String("series", "", "the series to mail: <base>/<series>, e.g. v7.3/fuse")
	return func(ctx context.Context, in invocation) int { return sendEmail(ctx, in, *which, *upstreamGit, *send) }
}

func sendEmail(ctx context.Context, in invocation, which, upstreamGit string, send bool) int {
	f, stdout, stderr := in.c, in.stdout, in.stderr
	e, err := loadEnv()
	if err != nil {
		return badArgs(stderr, err)
	}
	baseName, seriesName, ok := strings.Cut(which, "/")
	spec, err := e.bases.Get(baseName)
	if !ok || err != nil || !slices.Contains(spec.AllSeries(), seriesName) {
		var all []string
		for _, b := range e.bases {
			for _, s := range b.AllSeries() {
				all = append(all, b.Name+"/"+s)
			}
		}
		return badArgs(stderr, fmt.Errorf("SERIES=%q: want one of %s", which, strings.Join(all, ", ")))
	}
	dir := filepath.Join(spec.Dir, seriesName)
	if okc, err := series.Checked(f.stampDir(), spec.Name, dir); err != nil || !okc {
		fmt.Fprintf(stderr, "harness: series-check has not passed for the current %s: run make series-check BASE=%s first\n", which, spec.Name)
		return testrun.ExitFailed
	}
	if held, err := series.Held(dir); err != nil {
		return badArgs(stderr, err)
	} else if len(held) > 0 {
		fmt.Fprintf(stderr, "harness: %s is held: %s\n", which, held[0])
		return testrun.ExitFailed
	}
	r, err := series.ReadRecipients(filepath.Join(e.repo, "MAINTAINERS.md"), which)
	if err != nil {
		fmt.Fprintf(stderr, "harness: %v\n", err)
		return testrun.ExitFailed
	}
	b, err := series.ResolveBase(ctx, spec, upstreamGit)
	if err != nil {
		fmt.Fprintf(stderr, "harness: %s: %v\n", which, err)
		return testrun.ExitFailed
	}
	fmt.Fprintf(stdout, "send-email: %s against %s, %s (%s)\n", which, b.Tag, b.Trailer(), b.How)
	base, err := f.baseTree(ctx, e, spec, stdout)
	if err != nil {
		fmt.Fprintf(stderr, "harness: %v\n", err)
		return testrun.ExitInfra
	}
	out := filepath.Join(e.repo, "patches", "outgoing", spec.Name, seriesName)
	err = series.SendEmail(ctx, r, series.SendOptions{
		SeriesDir: dir, BaseTree: base.Src, Outgoing: out, Target: spec.Target, Base: b,
		Sender: series.GitIdentity(ctx, e.repo), Send: send, Out: stdout,
	})
	if err != nil {
		fmt.Fprintf(stderr, "harness: %v\n", err)
		return testrun.ExitFailed
	}
	if !send {
		fmt.Fprintf(stdout, "dry run; mails written to %s; make send-email SERIES=%s SEND=1 sends them\n", out, which)
	}
	return testrun.ExitOK
}

// bootPatch returns series-check's per-patch boot: the scenarios whose
// Patch is this patch's subject must pass, and those of the next patch
// of the series, run in the same boot, must still fail: judged as on a
// kernel with the series' patches so far. A patch no scenario proves
// (documentation, a selftest, a helper the next patch uses) is not
// booted; the base run shows its successor's scenarios failing.
func bootPatch(cat catalogue.Catalogue, e env, spec kbase.Spec, f *commonFlags, out io.Writer) func(context.Context, kernel.Tree, kernel.Result, string, []string, []string, int) error {
	return func(ctx context.Context, t kernel.Tree, built kernel.Result, series string, prior, subjects []string, i int) error {
		var own, next []string
		for _, s := range cat {
			switch {
			case s.Manual || s.Patch == "":
			case s.Patch == subjects[i]:
				own = append(own, s.Name)
			case i+1 < len(subjects) && s.Patch == subjects[i+1]:
				next = append(next, s.Name)
			}
		}
		if len(own) == 0 {
			fmt.Fprintf(out, "series-check: %s [%d/%d] no scenario proves %q: not booted\n", series, i+1, len(subjects), subjects[i])
			return nil
		}
		names := append(own, next...)
		o := f.options(e, out)
		o.Variant = kbase.Variant{Base: spec.Name, Flavour: kbase.Patched}
		o, err := testrun.ForBase(o, spec)
		if err != nil {
			return err
		}
		// Judged as a kernel with the series' patches so far, on the
		// series it applies on.
		o.Kernel.Patches = append(slices.Clone(prior), subjects[:i+1]...)
		o.Scenarios = names
		o.Built = &testrun.Built{Tree: t, BzImage: built.BzImage, Release: built.Release}
		o.ResultsName = fmt.Sprintf("series-check-%s-%02d", strings.ReplaceAll(series, "/", "-"), i+1)
		fmt.Fprintf(out, "series-check: %s [%d/%d] booting with %s\n", series, i+1, len(subjects), strings.Join(names, ","))
		res := testrun.Run(ctx, cat, o)
		if res.Exit != testrun.ExitOK {
			return fmt.Errorf("the boot with its scenarios did not match their declarations (exit %d, %s)", res.Exit, res.Dir)
		}
		return nil
	}
}

// upstreamBase writes results/upstream-<base>.{md,json}: the files the
// base's series touch, in the tested tree and in the reference tree that
// stands for the tag the series are sent against (BASE's reference:),
// with the stable commits that explain a difference and whether every
// patch applies there.
func upstreamBase(ctx context.Context, in invocation) int {
	f, stdout, stderr := in.c, in.stdout, in.stderr
	e, sel, err := f.selectedBases()
	if err != nil {
		return badArgs(stderr, err)
	}
	for _, spec := range sel {
		if spec.Reference == nil {
			fmt.Fprintf(stdout, "upstream-base: %s names no reference: the series are sent against %s, the tree it tests\n", spec.Name, spec.Upstream)
			continue
		}
		arch, err := f.archive(stdout)
		if err != nil {
			fmt.Fprintf(stderr, "harness: %v\n", err)
			return testrun.ExitInfra
		}
		base, err := f.baseTree(ctx, e, spec, stdout)
		if err != nil {
			fmt.Fprintf(stderr, "harness: %v\n", err)
			return testrun.ExitInfra
		}
		ref, err := arch.Source(ctx, spec.Reference.Package, spec.Reference.Version, []string{spec.Reference.Suite})
		if err != nil {
			fmt.Fprintf(stderr, "harness: %s: reference: %v\n", spec.Name, err)
			return testrun.ExitInfra
		}
		changelog, err := arch.Changelog(ctx, spec.Package, spec.Version, spec.Suites)
		if err != nil {
			fmt.Fprintf(stderr, "harness: %s: %v\n", spec.Name, err)
			return testrun.ExitInfra
		}
		r, err := series.CompareUpstream(ctx, spec, base.Src, ref, changelog)
		if err != nil {
			fmt.Fprintf(stderr, "harness: %s: %v\n", spec.Name, err)
			return testrun.ExitFailed
		}
		path := series.UpstreamPath(e.repo, spec.Name)
		if err := series.WriteUpstream(path, r); err != nil {
			fmt.Fprintf(stderr, "harness: %v\n", err)
			return testrun.ExitInfra
		}
		same, applies := 0, 0
		for _, uf := range r.Files {
			if uf.Same {
				same++
			}
		}
		for _, p := range r.Patches {
			if p.Applies {
				applies++
			}
		}
		fmt.Fprintf(stdout, "upstream-base: %s: %d of %d touched files the same in %s and %s; %d of %d patches apply to %s's files; wrote %s.{md,json}\n",
			spec.Name, same, len(r.Files), r.Reference, r.Tested, applies, len(r.Patches), spec.Upstream, path)
		if applies != len(r.Patches) {
			return testrun.ExitFailed
		}
	}
	return testrun.ExitOK
}
