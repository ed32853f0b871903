package main

import (
	"flag"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"dioharness/harness/shard"
)

// TestBadInput checks that every command turns bad input into one line
// on stderr and exit status 3, before building or booting anything.
func TestBadInput(t *testing.T) {
	tests := []struct {
		args []string
		want string // in stderr
	}{
		{nil, "usage: harness"},
		{[]string{"bogus"}, `unknown command "bogus"`},
		{[]string{"qemu-test", "-nope"}, "qemu-test: flag provided but not defined: -nope"},
		{[]string{"qemu-test", "-base", "v5.10"}, `unknown kernel base "v5.10"`},
		{[]string{"qemu-test", "-kernel", "vanilla"}, `unknown kernel flavour "vanilla"`},
		{[]string{"qemu-test", "-scenario", "fuse/no-such"}, `unknown scenario "fuse/no-such"`},
		{[]string{"qemu-test", "-repeat", "0"}, "bad repeat 0"},
		{[]string{"qemu-test", "-accel", "hvf"}, "QEMU_ACCEL=hvf: want kvm or tcg"},
		{[]string{"qemu-test", "-ksrc", "/k", "-base", "v7.3"}, "takes no BASE or KERNEL"},
		{[]string{"qemu-test", "stray"}, `unexpected argument "stray"`},
		{[]string{"list", "-x"}, "list: flag provided but not defined"},
		{[]string{"bases", "extra"}, `unexpected argument "extra"`},
		{[]string{"matrix", "-x"}, "matrix: flag provided but not defined"},
		{[]string{"series-check", "-base", "v1.0"}, `unknown kernel base "v1.0"`},
		{[]string{"maintainers", "-base", "v1.0"}, `unknown kernel base "v1.0"`},
		{[]string{"send-email", "-series", "v7.3/nope"}, `SERIES="v7.3/nope": want one of`},
		{[]string{"send-email"}, `SERIES="": want one of`},
		{[]string{"bisect", "-good", "a"}, "bisect needs KSRC, GOOD, BAD and SCENARIO"},
		{[]string{"bisect", "-x"}, "bisect: flag provided but not defined"},
		{[]string{"qemu-test", "-shard", "3/2"}, `bad shard "3/2"`},
		{[]string{"qemu-test", "-shard", "1"}, `bad shard "1": want i/N`},
		{[]string{"merge"}, "merge: no results directory given"},
		{[]string{"bench", "-scenario", "fuse/*"}, "bench: flag provided but not defined: -scenario"},
		{[]string{"bench", "-shard", "1/2"}, "bench: flag provided but not defined: -shard"},
		{[]string{"maintainers", "-shard", "1/2"}, "maintainers: flag provided but not defined: -shard"},
		{[]string{"send-email", "-repeat", "2"}, "send-email: flag provided but not defined: -repeat"},
		{[]string{"mutants", "-kernel", "base"}, "mutants: flag provided but not defined: -kernel"},
		{[]string{"mutants", "-fold"}, "FOLD=1 (-fold) takes MUTANT= (-mutant)"},
		{[]string{"list", "-base", "v7.3"}, "list: flag provided but not defined: -base"},
		{[]string{"page", "-results", "no/such/dir"}, "page: no/such/dir: no such results directory"},
		{[]string{"merge", "-x"}, "merge: flag provided but not defined"},
		{[]string{"merge", "no/such/run"}, "merge: no/such/run: no such results directory"},
		{[]string{"merge", "-scenario", "fuse/no-such", "x"}, `unknown scenario "fuse/no-such"`},
		{[]string{"fstests", "-fstests", ""}, "fstests is not part of this repository: clone it"},
		{[]string{"fstests", "-fstests", "/nonexistent"}, "FSTESTS=/nonexistent is not an fstests checkout"},
		{[]string{"fstests", "-fstyp", "zfs"}, `bad FSTYP "zfs"`},
		{[]string{"fstests", "-tests", "generic/91"}, "is not a test name like generic/091"},
		{[]string{"fstests", "-scenario", "fuse/*"}, "fstests: flag provided but not defined: -scenario"},
		{[]string{"fstests", "-repeat", "2"}, "fstests: flag provided but not defined: -repeat"},
		{[]string{"fstests", "-test-timeout", "0s"}, "bad test timeout 0s"},
		{[]string{"fstests", "-optional", "-tests", "-g"}, "-g needs a group"},
		{[]string{"fstests", "-tests", "@bogus"}, "no selection @bogus, want one of @iomap-dio"},
		{[]string{"fstests", "-fstests", fixtureCheckout, "-tests", "generic/999", "-list"}, "no test generic/999"},
		{[]string{"fstests", "-fstests", fixtureCheckout, "-prepare", "-list"}, "-prepare builds what a run needs; it takes no -list, -from or -smoke"},
		{[]string{"fstests", "-fstests", fixtureCheckout, "-prepare", "-from", "results/x"}, "-prepare builds what a run needs"},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var stdout, stderr strings.Builder
			code := run(tc.args, &stdout, &stderr)
			if code != 3 {
				t.Errorf("exit %d, want 3 (stderr %q)", code, stderr.String())
			}
			if !strings.Contains(stderr.String(), tc.want) {
				t.Errorf("stderr %q does not contain %q", stderr.String(), tc.want)
			}
		})
	}
}

// TestKVMWithoutDevice: QEMU_ACCEL=kvm on a host without a usable
// /dev/kvm is bad input, refused before anything is built.
func TestKVMWithoutDevice(t *testing.T) {
	if f, err := os.OpenFile("/dev/kvm", os.O_RDWR, 0); err == nil {
		f.Close()
		t.Skip("this host has a usable /dev/kvm")
	}
	var stdout, stderr strings.Builder
	code := run([]string{"qemu-test", "-accel", "kvm", "-build", t.TempDir()}, &stdout, &stderr)
	want := "harness: QEMU_ACCEL=kvm: kvm cannot work on this host: open /dev/kvm: "
	if code != 3 || !strings.HasPrefix(stderr.String(), want) || stdout.Len() > 0 {
		t.Errorf("exit %d, stderr %q, stdout %q; want 3 and %q, nothing built", code, stderr.String(), stdout.String(), want)
	}
}

// TestBisectStepBadInput: git bisect run aborts on exit codes above 127,
// so bad arguments to a step stop the bisection instead of blaming a
// commit.
func TestBisectStepBadInput(t *testing.T) {
	for _, args := range [][]string{{"bisect-step"}, {"bisect-step", "-ksrc", "/k", "-scenario", "fuse/*"}, {"bisect-step", "-x"}} {
		var stdout, stderr strings.Builder
		if code := run(args, &stdout, &stderr); code != bisectAbort {
			t.Errorf("%v: exit %d, want %d", args, code, bisectAbort)
		}
	}
}

// TestFSTestsOptional: make test without FSTESTS says in one line how
// to get fstests and goes on.
func TestFSTestsOptional(t *testing.T) {
	var stdout, stderr strings.Builder
	code := run([]string{"fstests", "-optional", "-smoke", "-fstests", ""}, &stdout, &stderr)
	if code != 0 || strings.Count(stdout.String(), "\n") != 1 || !strings.HasPrefix(stdout.String(), "fstests: skipped: ") || stderr.Len() != 0 {
		t.Errorf("exit %d, stdout %q, stderr %q: want 0 and one line", code, stdout.String(), stderr.String())
	}
}

// fixtureCheckout is the fstests package's small checkout.
const fixtureCheckout = "../../fstests/testdata/checkout"

// TestFSTestsList: -list prints each setup's tests with the rule that
// took them, and builds nothing.
func TestFSTestsList(t *testing.T) {
	var stdout, stderr strings.Builder
	code := run([]string{"fstests", "-fstests", fixtureCheckout, "-tests", "@iomap-dio", "-fstyp", "xfs,ext4", "-list"}, &stdout, &stderr)
	if code != 0 || stderr.Len() != 0 {
		t.Fatalf("exit %d, stderr %q: want 0 and nothing", code, stderr.String())
	}
	lines := strings.Split(stdout.String(), "\n")
	want := []string{
		"TESTS=@iomap-dio on xfs, ext4: 12 tests",
		"generic/001  group aio",
		"generic/107  group mmap, direct I/O: src/dio-prog, O_DIRECT at src/dio-prog.c:7 (line 9)",
	}
	for _, w := range want {
		if !slices.Contains(lines, w) {
			t.Errorf("-list output has no line %q:\n%s", w, stdout.String())
		}
	}
	if strings.Contains(stdout.String(), "generic/201") {
		t.Errorf("-list took generic/201, whose O_DIRECT is in comments:\n%s", stdout.String())
	}
}

func TestHelpExitsZero(t *testing.T) {
	for _, args := range [][]string{{"help"}, {"qemu-test", "-h"}, {"matrix", "-help"}, {"merge", "-h"}} {
		var stdout, stderr strings.Builder
		if code := run(args, &stdout, &stderr); code != 0 {
			t.Errorf("%v: exit %d, want 0", args, code)
		}
	}
}

// TestCommandFlags: each command registers the flags of the groups it
// declares and its own, and no other: a flag it would ignore is bad
// input, not accepted in silence.
func TestCommandFlags(t *testing.T) {
	building := []string{"accel", "build", "cache", "jobs", "scenario-timeout"}
	want := map[string][]string{
		"qemu-test":     append([]string{"base", "guests", "kernel", "ksrc", "no-build", "rebuild", "repeat", "scenario", "shard"}, building...),
		"fstests":       {"accel", "base", "build", "cache", "disk-mib", "from", "fstests", "fstyp", "guests", "jobs", "kernel", "ksrc", "list", "no-build", "optional", "prepare", "rebuild", "replace-committed", "smoke", "test-timeout", "tests"},
		"list":          nil,
		"bases":         nil,
		"matrix":        {"results"},
		"merge":         {"o", "scenario"},
		"page":          {"o", "results"},
		"bench":         append([]string{"base", "edit-runs", "kernel", "no-build", "o", "peer", "rebuild"}, building...),
		"bisect":        append([]string{"bad", "good", "ksrc", "runs", "scenario"}, building...),
		"bisect-demo":   append([]string{"base", "history-only", "runs"}, building...),
		"bisect-step":   append([]string{"ksrc", "scenario"}, building...),
		"mutants":       append([]string{"base", "fold", "mutant"}, building...),
		"fuzz":          append([]string{"base", "kernel", "n", "no-build", "ops", "rebuild", "seed", "setup"}, building...),
		"mutate":        append([]string{"again", "base", "list", "mutant", "seed"}, building...),
		"series-check":  append([]string{"base", "boot", "rebuild"}, building...),
		"maintainers":   {"base", "build", "cache"},
		"upstream-base": {"base", "build", "cache"},
		"send-email":    {"build", "cache", "send", "series", "upstream-git"},
		"ci-keys":       {"base", "build", "cache", "fstests", "fstyp", "kernel", "ksrc", "matrix", "shards"},
		"ci-local":      {"at-once", "base", "o", "scenario", "shards", "whole"},
	}
	for _, cmd := range commands {
		fs := flag.NewFlagSet(cmd.name, flag.ContinueOnError)
		var c commonFlags
		c.register(fs, cmd.uses)
		cmd.flags(fs)
		var got []string
		fs.VisitAll(func(f *flag.Flag) { got = append(got, f.Name) })
		w := slices.Clone(want[cmd.name])
		slices.Sort(w)
		if d := cmp.Diff(w, got, cmpopts.EquateEmpty()); d != "" {
			t.Errorf("%s flags (-want +got):\n%s", cmd.name, d)
		}
		delete(want, cmd.name)
		if !strings.Contains(usage(), "  "+cmd.name+" ") {
			t.Errorf("usage does not list %s", cmd.name)
		}
	}
	for name := range want {
		t.Errorf("no command %s in the table", name)
	}
}

// TestFullRun: only the whole catalogue once, unsharded, on every
// flavour of every base (v7.3's declared pdio included) is a full run,
// the one that replaces the committed matrix.
func TestFullRun(t *testing.T) {
	e, err := loadEnv()
	if err != nil {
		t.Fatal(err)
	}
	all := len(e.bases.Variants())
	if all < 5 {
		t.Fatalf("%d kernels over every base and flavour, want at least 5 (v7.3 base, patched, pdio; v6.12 base, patched)", all)
	}
	for _, tc := range []struct {
		name string
		c    commonFlags
		n    int
		want bool
	}{
		{"every kernel", commonFlags{repeat: 1}, all, true},
		{"two per base, the declared flavour left out", commonFlags{repeat: 1}, 2 * len(e.bases), false},
		{"a scenario", commonFlags{repeat: 1, scenario: []string{"fuse/*"}}, all, false},
		{"a shard", commonFlags{repeat: 1, shard: shard.Shard{Index: 1, Count: 2}}, all, false},
		{"repeated", commonFlags{repeat: 2}, all, false},
		{"a flavour", commonFlags{repeat: 1, kernel: "patched"}, all, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := fullRun(&tc.c, tc.n, e.bases); got != tc.want {
				t.Errorf("fullRun = %v, want %v", got, tc.want)
			}
		})
	}
}
