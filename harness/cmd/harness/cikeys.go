package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"dioharness/harness/fstests"
	"dioharness/harness/kernel"
	"dioharness/harness/rootfs"
	"dioharness/harness/shard"
	"dioharness/harness/testrun"
)

// ciKeysFlags registers the ci-keys command's own flags.
func ciKeysFlags(fs *flag.FlagSet) action {
	var f ciKeysOwn
	fs.StringVar(&f.matrix, "matrix", "", "print a workflow's job matrix instead of keys: qemu-test (bases x shards) or fstests (bases x setups x flavours)")
	fs.IntVar(&f.shards, "shards", 4, "-matrix qemu-test: shards per base")
	fs.StringVar(&f.fstyp, "fstyp", "", "-matrix fstests: the setups (default: all)")
	fs.StringVar(&f.fstests, "fstests", "", "the keys of the fstests kernels and of the root disk built from this fstests checkout")
	return func(ctx context.Context, in invocation) int { return ciKeys(ctx, in, f) }
}

// ciKeysOwn are the ci-keys command's own flags.
type ciKeysOwn struct {
	matrix, fstyp, fstests string
	shards                 int
}

// ciKeys prints what a CI workflow needs from the harness and must not
// work out itself, as the name=value lines GitHub Actions reads from
// $GITHUB_OUTPUT: with -matrix, a workflow's job matrix; otherwise, for
// one base, the keys its caches are stored under (the Debian source,
// ccache, the kernel images the run boots and, with -fstests, the root
// disk), the paths each holds, and whether the cache holds them now. The
// keys are the harness's own (kernel.ImageKey, rootfs.Key): a renamed
// kconfig fragment or a new patch changes them here, never in YAML.
// Nothing is downloaded or built.
func ciKeys(ctx context.Context, in invocation, f ciKeysOwn) int {
	c, stdout, stderr := *in.c, in.stdout, in.stderr
	e, err := loadEnv()
	if err != nil {
		return badArgs(stderr, err)
	}
	var out ciOutput
	switch f.matrix {
	case "qemu-test":
		out, err = qemuTestMatrix(e, c, f.shards)
	case "fstests":
		out, err = fstestsMatrix(e, c, f.fstyp)
	case "":
		return ciCacheKeys(ctx, c, f.fstests, stdout, stderr)
	default:
		err = fmt.Errorf("ci-keys: bad -matrix %q, want qemu-test or fstests", f.matrix)
	}
	if err != nil {
		return badArgs(stderr, err)
	}
	return writeOutput(out, stdout, stderr)
}

// ciOutput is a step's outputs in the order they are printed.
type ciOutput []ciValue

type ciValue struct{ name, value string }

func (o *ciOutput) add(name, value string) { *o = append(*o, ciValue{name, value}) }

// ciDelimiter ends a multi-line value; no path or key contains it.
const ciDelimiter = "CI_KEYS_EOF"

// write prints one name=value line per output, and a value of several
// lines in GitHub's name<<DELIMITER form.
func (o ciOutput) write(w io.Writer) error {
	var b strings.Builder
	for _, v := range o {
		if strings.Contains(v.value, "\n") {
			fmt.Fprintf(&b, "%s<<%s\n%s\n%s\n", v.name, ciDelimiter, v.value, ciDelimiter)
		} else {
			fmt.Fprintf(&b, "%s=%s\n", v.name, v.value)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// qemuTestMatrix is one job per base and shard: each runs make
// qemu-test BASE=<base> SHARD=<i/N> on every flavour of its base.
func qemuTestMatrix(e env, c commonFlags, n int) (ciOutput, error) {
	if n < 1 || n > shard.MaxCount {
		return nil, fmt.Errorf("ci-keys: bad -shards %d, want [1-%d]", n, shard.MaxCount)
	}
	if c.kernel != "" || c.ksrc != "" {
		return nil, errors.New("ci-keys: a qemu-test job runs every flavour of its base: the matrix takes no KERNEL or KSRC")
	}
	sel, err := e.bases.Select(c.base)
	if err != nil {
		return nil, err
	}
	// ID names the job's artifact (a shard's "/" may not).
	type job struct {
		Base  string `json:"base"`
		Shard string `json:"shard"`
		ID    string `json:"id"`
	}
	var jobs []job
	var names []string
	for _, b := range sel {
		names = append(names, b.Name)
		for i := 1; i <= n; i++ {
			jobs = append(jobs, job{Base: b.Name, Shard: shard.Shard{Index: i, Count: n}.String(),
				ID: fmt.Sprintf("%s-shard%dof%d", b.Name, i, n)})
		}
	}
	return matrixOutput(jobs, names)
}

// fstestsMatrix is one job per base, setup and flavour (base and
// patched unless KERNEL= says): each runs the whole test list on one
// setup of one kernel.
func fstestsMatrix(e env, c commonFlags, fstyp string) (ciOutput, error) {
	if c.kernel == "" {
		c.kernel = fstestsKernels
	}
	sel, err := e.bases.Select(c.base)
	if err != nil {
		return nil, err
	}
	vs, err := c.variants(e)
	if err != nil {
		return nil, err
	}
	if c.ksrc != "" {
		return nil, errors.New("ci-keys: the fstests matrix is over bases; it takes no KSRC")
	}
	setups, err := fstests.ParseSetups(fstyp)
	if err != nil {
		return nil, err
	}
	type job struct {
		Base   string `json:"base"`
		FSTYP  string `json:"fstyp"`
		Kernel string `json:"kernel"`
		ID     string `json:"id"`
	}
	var jobs []job
	var names []string
	for _, b := range sel {
		names = append(names, b.Name)
		for _, s := range setups {
			for _, v := range vs {
				if v.Base != b.Name {
					continue
				}
				jobs = append(jobs, job{Base: v.Base, FSTYP: s.Name, Kernel: string(v.Flavour),
					ID: fmt.Sprintf("%s-%s-%s", v.Base, v.Flavour, s.Name)})
			}
		}
	}
	return matrixOutput(jobs, names)
}

func matrixOutput[J any](jobs []J, bases []string) (ciOutput, error) {
	m, err := json.Marshal(map[string][]J{"include": jobs})
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(bases)
	if err != nil {
		return nil, err
	}
	var out ciOutput
	out.add("matrix", string(m))
	out.add("bases", string(b))
	return out, nil
}

// ciCacheKeys prints the cache keys of one base's selected kernels.
func ciCacheKeys(ctx context.Context, c commonFlags, fstestsDir string, stdout, stderr io.Writer) int {
	// Progress goes to stderr: stdout is the step's outputs.
	_, opts, arch, status := c.kernels(stderr, stderr)
	if status != testrun.ExitOK {
		return status
	}
	toolchain, err := kernel.Toolchain(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "harness: ci-keys: %v\n", err)
		return testrun.ExitInfra
	}
	if c.ksrc != "" {
		// A tree of your own is built, never taken from the image
		// cache: ccache is all there is to keep.
		var out ciOutput
		addCCache(&out, "custom", toolchain, c.cache)
		return writeOutput(out, stdout, stderr)
	}
	base := opts[0].Variant.Base
	for _, o := range opts {
		if o.Variant.Base != base {
			return badArgs(stderr, fmt.Errorf("ci-keys: one base at a time (BASE=%s), not %s", base, c.base))
		}
	}
	if arch == nil {
		fmt.Fprintln(stderr, "harness: ci-keys: Debian's archive cannot be read")
		return testrun.ExitInfra
	}
	spec := opts[0].Spec
	choice, err := arch.Choose(ctx, spec.Package, spec.Version, spec.Suites)
	if err != nil {
		fmt.Fprintf(stderr, "harness: ci-keys: %v\n", err)
		return testrun.ExitInfra
	}
	keys := ciKeysInput{base: base, choice: kernel.SourceName(choice), toolchain: toolchain,
		tarball: arch.TarballPath(choice.Package, choice.Version), cache: c.cache}
	for _, o := range opts {
		if fstestsDir != "" {
			if o, err = testrun.FSTestsKernel(o); err != nil {
				fmt.Fprintf(stderr, "harness: ci-keys: %v\n", err)
				return testrun.ExitInfra
			}
		}
		key, ok, err := testrun.CachedImage(ctx, o, keys.choice)
		if err != nil {
			fmt.Fprintf(stderr, "harness: ci-keys: %v\n", err)
			return testrun.ExitInfra
		}
		keys.images = append(keys.images, ciImage{flavour: string(o.Variant.Flavour), key: key, cached: ok})
	}
	if fstestsDir != "" {
		dir, err := filepath.Abs(fstestsDir)
		if err != nil {
			return badArgs(stderr, err)
		}
		suite, err := debianSuite()
		if err != nil {
			fmt.Fprintf(stderr, "harness: %v\n", err)
			return testrun.ExitInfra
		}
		b := rootfs.Builder{Dir: filepath.Join(c.cache, "rootfs"), Log: stderr}
		img, err := b.Lookup(ctx, rootfs.FSTestsSpec(suite, arch.Mirrors.Archive, dir, c.jobs))
		if err != nil {
			return badArgs(stderr, err)
		}
		keys.rootfs = &img
	}
	return writeOutput(keys.output(), stdout, stderr)
}

func writeOutput(out ciOutput, stdout, stderr io.Writer) int {
	if err := out.write(stdout); err != nil {
		fmt.Fprintf(stderr, "harness: %v\n", err)
		return testrun.ExitInfra
	}
	return testrun.ExitOK
}

// addCCache names the ccache of one base (or "custom") built by this
// toolchain, and where it is: CCACHE_DIR, as make exports it, else the
// harness cache's. A CI job restores the newest one whose key starts so
// and saves its own under the key plus the run.
func addCCache(out *ciOutput, base, toolchain, cache string) {
	tc := sha256.Sum256([]byte(toolchain))
	out.add("ccache", "ccache-"+cacheKeyPart(base)+"-"+hex.EncodeToString(tc[:])[:12])
	dir := os.Getenv("CCACHE_DIR")
	if dir == "" {
		dir = filepath.Join(cache, "ccache")
	}
	out.add("ccache-path", dir)
}

// ciKeysInput is what one base's cache keys are made of.
type ciKeysInput struct {
	base string
	// choice names the Debian source (kernel.SourceName), tarball is
	// where it is kept; the base's import lives beside it.
	choice, tarball string
	toolchain       string
	cache           string
	images          []ciImage
	rootfs          *rootfs.Image
}

// ciImage is one kernel's image cache key and whether it is cached.
type ciImage struct {
	flavour, key string
	cached       bool
}

// output names each cache after its base and contents. A cache key is
// made of characters GitHub takes in any key; the paths are absolute.
func (k ciKeysInput) output() ciOutput {
	var out ciOutput
	out.add("base", k.base)
	out.add("source", k.choice)
	src := strings.TrimSuffix(k.tarball, ".tar.xz")
	out.add("debian", "debian-"+cacheKeyPart(filepath.Base(src)))
	out.add("debian-paths", src+".*")
	out.add("debian-cached", fmt.Sprint(fileExists(k.tarball) && fileExists(src+".git")))
	addCCache(&out, k.base, k.toolchain, k.cache)
	name, cached := "kernels-"+cacheKeyPart(k.base), true
	var paths []string
	for _, img := range k.images {
		name += "-" + img.flavour + "-" + img.key[:16]
		paths = append(paths, filepath.Join(k.cache, "kernels", img.key))
		cached = cached && img.cached
	}
	paths = append(paths, filepath.Join(k.cache, "selftests", k.base))
	out.add("image", name)
	out.add("image-paths", strings.Join(paths, "\n"))
	out.add("image-cached", fmt.Sprint(cached))
	if k.rootfs != nil {
		out.add("rootfs", "rootfs-"+k.rootfs.Key)
		out.add("rootfs-paths", k.rootfs.Path+"\n"+k.rootfs.Manifest)
		out.add("rootfs-cached", fmt.Sprint(k.rootfs.Cached()))
	}
	return out
}

// cacheKeyPart keeps letters, digits and ._+- and turns anything else
// (Debian's ~ and :) into _.
func cacheKeyPart(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', strings.ContainsRune("._+-", r):
			return r
		}
		return '_'
	}, s)
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
