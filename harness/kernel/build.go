package kernel

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
)

// BuildOptions controls a kernel build.
type BuildOptions struct {
	// Jobs is make -j; default runtime.NumCPU().
	Jobs int
	// CCacheDir enables ccache with this cache directory when non-empty.
	// It lives outside the repository so fresh clones on the same
	// machine (CI) reuse it.
	CCacheDir string
	// Log receives progress lines.
	Log io.Writer
	// Interactive redraws one progress line with \r instead of
	// printing a new line every ProgressEvery.
	Interactive bool
	// ProgressEvery is the interval between progress lines; default 15s.
	ProgressEvery time.Duration
	// LogFile keeps the full make output.
	LogFile string
	// Extra make arguments (W=1, C=2 and such).
	Extra []string
}

// Result describes a finished build.
type Result struct {
	BzImage  string
	Vmlinux  string
	Objects  int
	Duration time.Duration
	Release  string
}

// objLine matches the kbuild quiet-mode lines that produce an object.
var objLine = regexp.MustCompile(`^\s+(CC|AS|LD|AR|CPP|HOSTCC|HOSTLD|GEN|BTF|OBJCOPY|SYSMAP|LDS|VDSO\S*|CC \[M\]|POLICY|UPD|CALL|MKPIGGY|ZOFFSET|VOFFSET|RELOCS)\s+\S`)

// Build runs make bzImage in t.Obj, printing objects done against the
// count of the previous build of this tree (an estimate on the first).
func Build(ctx context.Context, t Tree, o BuildOptions) (Result, error) {
	if o.Jobs <= 0 {
		o.Jobs = runtime.NumCPU()
	}
	if o.ProgressEvery <= 0 {
		o.ProgressEvery = 15 * time.Second
	}
	// A percentage is honest only for a clean build of a tree whose
	// last clean build was counted; an incremental build shows a count.
	countFile := filepath.Join(t.Obj, ".dioharness-objects")
	clean := !exists(filepath.Join(t.Obj, "vmlinux"))
	total := 0
	if b, err := os.ReadFile(countFile); err == nil && clean {
		total, _ = strconv.Atoi(strings.TrimSpace(string(b)))
	}
	need := uint64(buildSpace)
	if clean {
		need = treeSpace / 2
	}
	if err := checkSpace(t.Obj, need); err != nil {
		return Result{}, err
	}
	args := []string{"O=" + t.Obj, "-j" + strconv.Itoa(o.Jobs)}
	env := os.Environ()
	if o.CCacheDir != "" {
		if _, err := exec.LookPath("ccache"); err != nil {
			return Result{}, fmt.Errorf("ccache not found: install Debian package ccache (make deps)")
		}
		args = append(args, "CC=ccache gcc")
		env = append(env,
			"CCACHE_DIR="+o.CCacheDir,
			// Relative paths and no cwd in the hash: the base and
			// patched worktrees then share cache entries.
			"CCACHE_BASEDIR="+filepath.Dir(t.Src),
			"CCACHE_NOHASHDIR=1",
			"CCACHE_MAXSIZE=8G",
		)
	}
	args = append(args, o.Extra...)
	args = append(args, "bzImage")
	cmd := exec.CommandContext(ctx, "make", args...)
	cmd.Dir = t.Src
	cmd.Env = env
	pr, pw := io.Pipe()
	cmd.Stdout = pw
	cmd.Stderr = pw
	var logf io.Writer = io.Discard
	if o.LogFile != "" {
		f, err := os.Create(o.LogFile)
		if err != nil {
			return Result{}, err
		}
		defer f.Close()
		logf = f
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return Result{}, fmt.Errorf("start make: %w", err)
	}
	var (
		mu      sync.Mutex
		objects int
		tail    []string
	)
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(logf, line)
			mu.Lock()
			if objLine.MatchString(line) {
				objects++
			}
			tail = append(tail, line)
			if len(tail) > 40 {
				tail = tail[1:]
			}
			mu.Unlock()
		}
	}()
	tick := time.NewTicker(o.ProgressEvery)
	waitErr := make(chan error, 1)
	go func() { waitErr <- cmd.Wait(); pw.Close() }()
	var err error
loop:
	for {
		select {
		case err = <-waitErr:
			break loop
		case <-tick.C:
			mu.Lock()
			n := objects
			mu.Unlock()
			progress(o, t.Variant.String(), n, total, time.Since(start))
		}
	}
	tick.Stop()
	<-done
	if o.Interactive {
		fmt.Fprintln(o.Log)
	}
	if err != nil {
		mu.Lock()
		defer mu.Unlock()
		return Result{}, fmt.Errorf("kernel %s: build failed: %w\n%s", t.Variant, err, errorContext(tail))
	}
	if clean {
		// Remember a clean build's count for the next clean build's
		// percentage (after make clean, or a kconfig change).
		os.WriteFile(countFile, []byte(strconv.Itoa(objects)), 0o644)
	}
	rel, _ := os.ReadFile(filepath.Join(t.Obj, "include/config/kernel.release"))
	r := Result{
		BzImage:  filepath.Join(t.Obj, "arch/x86/boot/bzImage"),
		Vmlinux:  filepath.Join(t.Obj, "vmlinux"),
		Objects:  objects,
		Duration: time.Since(start).Round(time.Second),
		Release:  strings.TrimSpace(string(rel)),
	}
	fmt.Fprintf(o.Log, "kernel %s: built %s in %s (%d objects rebuilt)\n", t.Variant, r.Release, r.Duration, objects)
	return r, nil
}

func progress(o BuildOptions, label string, n, total int, d time.Duration) {
	line := fmt.Sprintf("kernel %s: %d objects, %s", label, n, d.Round(time.Second))
	if total > 0 && n < total {
		line = fmt.Sprintf("kernel %s: %d/%d objects (%d%% of the last clean build), %s", label, n, total, 100*n/total, d.Round(time.Second))
	}
	if o.Interactive {
		fmt.Fprintf(o.Log, "\r%-78s", line)
		return
	}
	fmt.Fprintln(o.Log, line)
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// errorContext picks the compiler errors out of the build tail.
func errorContext(tail []string) string {
	var errs []string
	for _, l := range tail {
		if strings.Contains(l, "error") || strings.Contains(l, "Error") {
			errs = append(errs, l)
		}
	}
	if len(errs) == 0 {
		errs = tail
	}
	if len(errs) > 15 {
		errs = errs[len(errs)-15:]
	}
	return strings.Join(errs, "\n")
}
