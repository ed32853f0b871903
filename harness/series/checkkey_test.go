package series

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"go/scanner"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// checkCode is the code that applies, builds and checks a series, which
// checkKeyVersion stands for in the check key: series' checks and their
// cache, and package kernel (git am, the files a patch touches, the
// configuration and the builds).
var checkCode = []string{"check.go", "cache.go", "../kernel"}

// checkCodeHashes are the hashes of checkCode's tokens, comments left
// out, indexed by the checkKeyVersion they were recorded for. Changing
// that code means appending its new hash (the test prints it) and
// bumping checkKeyVersion to its index: the stamps of the old code then
// no longer match, and every series is checked again.
var checkCodeHashes = []string{
	1: "", // the key hashed check.go and cache.go's text instead
	2: "ddc7faf60adddeb0565888b616a93f7a72377afdddb23cce9432a674d4e91c85",
	3: "c5a7267b926ab6d694e89f824b245fe543c5ba233e6262b63f445b850b7507b9", // each series applied on those it needs (BASE needs:), every flavour's series
	4: "d1592cb26fc08b84c7d29081c13b38c73e8041fbe0075704e5a2568952d10a60", // kernel.SourceName exported for ci-keys
}

func TestCheckKeyVersion(t *testing.T) {
	got, err := codeHash(checkCode)
	if err != nil {
		t.Fatal(err)
	}
	if len(checkCodeHashes) != checkKeyVersion+1 || checkCodeHashes[checkKeyVersion] != got {
		t.Errorf("the code that applies, builds and checks a series is not the code of checkKeyVersion %d: "+
			"append its hash %s to checkCodeHashes and set checkKeyVersion to %d", checkKeyVersion, got, len(checkCodeHashes))
	}
	seen := map[string]int{}
	for v, h := range checkCodeHashes {
		if p, ok := seen[h]; ok && h != "" {
			t.Errorf("checkKeyVersion %d and %d record the same code", p, v)
		}
		seen[h] = v
	}
}

// TestCodeHashIgnoresComments: a comment or a blank line does not
// change the hash (it does not change what is checked), code does.
func TestCodeHashIgnoresComments(t *testing.T) {
	dir := t.TempDir()
	write := func(src string) string {
		if err := os.WriteFile(filepath.Join(dir, "a.go"), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		h, err := codeHash([]string{dir})
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	base := write("package a\n\nfunc f() int { return 1 }\n")
	if h := write("// Package a.\npackage a\n\n// f is one.\nfunc f() int {\n\treturn 1 // one\n}\n"); h != base {
		t.Errorf("comments and layout changed the hash")
	}
	if h := write("package a\n\nfunc f() int { return 2 }\n"); h == base {
		t.Errorf("a change of code left the hash as it was")
	}
}

// codeHash hashes the tokens of the Go files named (a directory stands
// for its non-test files), in name order: comments and layout (the
// semicolons the scanner inserts at line ends) left out.
func codeHash(paths []string) (string, error) {
	var files []string
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return "", err
		}
		if !fi.IsDir() {
			files = append(files, p)
			continue
		}
		all, err := filepath.Glob(filepath.Join(p, "*.go"))
		if err != nil {
			return "", err
		}
		for _, f := range all {
			if !strings.HasSuffix(f, "_test.go") {
				files = append(files, f)
			}
		}
	}
	slices.Sort(files)
	h := sha256.New()
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			return "", err
		}
		fset := token.NewFileSet()
		var s scanner.Scanner
		var errs scanner.ErrorList
		s.Init(fset.AddFile(f, -1, len(src)), src, func(pos token.Position, msg string) { errs.Add(pos, msg) }, 0)
		fmt.Fprintf(h, "file %s\n", filepath.Base(f))
		for {
			_, tok, lit := s.Scan()
			if tok == token.EOF {
				break
			}
			if tok == token.SEMICOLON && lit == "\n" {
				continue // inserted at a line end: layout
			}
			fmt.Fprintf(h, "%s %q\n", tok, lit)
		}
		if err := errs.Err(); err != nil {
			return "", err
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
