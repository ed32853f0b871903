package probe

// The C side (bpf/common.h) and the Go side describe the same ABI: event
// layout and enum values. bpf2go cannot export enums that no map uses, so
// these tests parse the header and compare.

import (
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func readHeader(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("bpf/common.h")
	if err != nil && os.Getpid() == 1 {
		t.Skip("no sources inside the guest")
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// cEnum returns NAME -> value for "NAME = value," lines of enum name.
func cEnum(t *testing.T, hdr, name string) map[string]int64 {
	t.Helper()
	start := strings.Index(hdr, "enum "+name+" {")
	if start < 0 {
		t.Fatalf("enum %s not found", name)
	}
	body := hdr[start : start+strings.Index(hdr[start:], "};")]
	re := regexp.MustCompile(`(?m)^\s*([A-Z0-9_]+)\s*=\s*(1 << )?(\d+),`)
	out := map[string]int64{}
	for _, m := range re.FindAllStringSubmatch(body, -1) {
		v, _ := strconv.ParseInt(m[3], 10, 64)
		if m[2] != "" {
			v = 1 << v
		}
		out[m[1]] = v
	}
	if len(out) == 0 {
		t.Fatalf("enum %s: no values parsed", name)
	}
	return out
}

// squash upper-cases and drops underscores: KIND_DIO_BEGIN ~ DIOBegin.
func squash(s string) string { return strings.ToUpper(strings.ReplaceAll(s, "_", "")) }

func TestKindsMatchC(t *testing.T) {
	c := cEnum(t, readHeader(t), "event_kind")
	if len(c) != kindMax {
		t.Errorf("C has %d kinds, Go %d", len(c), kindMax)
	}
	for name, v := range c {
		if got := squash(Kind(v).String()); got != squash(strings.TrimPrefix(name, "KIND_")) {
			t.Errorf("C %s = %d, Go Kind(%d) is %s", name, v, v, Kind(v))
		}
	}
}

func TestFuncsMatchC(t *testing.T) {
	c := cEnum(t, readHeader(t), "ctx_fn")
	for name, v := range c {
		want := strings.TrimPrefix(name, "FN_")
		switch want {
		case "NONE":
			continue
		case "MAX":
			if v != funcMax {
				t.Errorf("FN_MAX = %d, funcMax = %d", v, funcMax)
			}
			continue
		case "IOMAP_DIO_RW_INNER":
			want = "__IOMAP_DIO_RW"
		}
		if got := strings.ToUpper(Func(v).String()); got != want {
			t.Errorf("C %s = %d, Go Func(%d) is %s", name, v, v, Func(v))
		}
	}
}

func TestLockFnsMatchC(t *testing.T) {
	for name, v := range cEnum(t, readHeader(t), "lock_fn") {
		want := strings.TrimPrefix(name, "LOCK_")
		if want == "DOWNGRADE_WRITE" {
			want = "DOWNGRADE_WRITE"
		}
		if got := strings.ToUpper(LockFn(v).String()); got != want {
			t.Errorf("C %s = %d, Go LockFn(%d) is %s", name, v, v, LockFn(v))
		}
	}
}

func TestFlagsMatchC(t *testing.T) {
	goFlags := map[string]Flags{
		"F_TRYLOCK": FlagTrylock, "F_FAILED": FlagFailed, "F_UPGRADED": FlagUpgraded,
		"F_SHARED_SEEN": FlagSharedSeen, "F_EXCL_SEEN": FlagExclSeen, "F_BUFFERED_SEEN": FlagBufferedSeen,
		"F_ENOTBLK_SEEN": FlagENOTBLKSeen, "F_INVAL_FAIL_SEEN": FlagInvalFailSeen, "F_DIO_SEEN": FlagDIOSeen,
		"F_CACHE_IO_BEFORE": FlagCacheIOBefore, "F_CACHE_IO_AFTER": FlagCacheIOAfter, "F_CTR_VALID": FlagCtrValid,
		"F_EXCLUSIVE": FlagExclusive, "F_WRITE": FlagWrite, "F_SHARED_MAP": FlagSharedMap,
		"F_FAULT_SEEN": FlagFaultSeen, "F_ERR_PTR": FlagErrPtr, "F_NULL": FlagNull,
	}
	c := cEnum(t, readHeader(t), "event_flag")
	got := map[string]Flags{}
	for n, v := range c {
		got[n] = Flags(v)
	}
	if diff := cmp.Diff(goFlags, got); diff != "" {
		t.Errorf("flags (-go +c):\n%s", diff)
	}
	for _, n := range []string{"fault_site", "watch_flag"} {
		cEnum(t, readHeader(t), n) // parses
	}
	if c := cEnum(t, readHeader(t), "fault_site"); c["SITE_FAILSLAB"] != int64(SiteFailslab) || c["SITE_FAIL_BIO"] != int64(SiteFailBio) {
		t.Errorf("fault sites differ: %v", c)
	}
	if c := cEnum(t, readHeader(t), "watch_flag"); c["WATCH_RECORD"] != int64(watchRecord) || c["WATCH_CTX"] != int64(watchCtx) {
		t.Errorf("watch flags differ: %v", c)
	}
}

// TestEventLayoutMatchesC computes struct event's offsets from the header's
// field list (all fields are naturally aligned fixed-size integers).
func TestEventLayoutMatchesC(t *testing.T) {
	hdr := readHeader(t)
	start := strings.Index(hdr, "struct event {")
	body := hdr[start : start+strings.Index(hdr[start:], "};")]
	sizes := map[string]int{"__u64": 8, "__s64": 8, "__u32": 4, "__s32": 4, "__u16": 2}
	re := regexp.MustCompile(`(?m)^\s*(__[us](?:64|32|16))\s+([a-z0-9_, ]+);`)
	got := map[string]int{}
	off := 0
	for _, m := range re.FindAllStringSubmatch(body, -1) {
		for _, f := range strings.Split(m[2], ",") {
			sz := sizes[m[1]]
			if off%sz != 0 {
				t.Fatalf("field %s misaligned at %d", f, off)
			}
			got[strings.TrimSpace(f)] = off
			off += sz
		}
	}
	if off != eventSize {
		t.Errorf("C struct event is %d bytes, eventSize %d", off, eventSize)
	}
	if diff := cmp.Diff(eventOffsets, got); diff != "" {
		t.Errorf("offsets (-go +c):\n%s", diff)
	}
}

// TestEveryProgramHasAFamily parses the embedded objects (no kernel needed).
func TestEveryProgramHasAFamily(t *testing.T) {
	for _, o := range objects {
		spec, err := o.load()
		if err != nil {
			t.Fatal(err)
		}
		for name, p := range spec.Programs {
			if o.family != FamilyInternal {
				continue
			}
			if _, ok := targetFamilies[targetOf(p)]; !ok {
				t.Errorf("%s: program %s (target %s) has no family", o.name, name, targetOf(p))
			}
		}
		for name := range spec.Maps {
			if strings.HasPrefix(name, ".") {
				t.Errorf("%s: data section map %s: the loader shares every map, keep globals out", o.name, name)
			}
		}
	}
}
