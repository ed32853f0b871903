// Package image makes what a guest boots with: the initramfs holding the
// guest agent (a cpio "newc" archive, gzip-compressed) and the disk
// images for the ext4 and XFS scenarios.
package image

import (
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"strings"
)

// Entry is one file, directory or symlink of an initramfs.
type Entry struct {
	// Path inside the archive, without leading slash.
	Path string
	// Mode holds the permission bits; the type comes from the fields.
	Mode uint32
	// Dir makes a directory.
	Dir bool
	// Link makes a symlink to this target.
	Link string
	// Source is a host file to copy; Data is used when Source is "".
	Source string
	Data   []byte
}

const (
	typeDir  = 0o040000
	typeFile = 0o100000
	typeLink = 0o120000
)

// WriteInitramfs writes a gzip-compressed newc archive of entries to w.
// Parent directories are created as needed; entries are written in
// path order so the archive is reproducible.
func WriteInitramfs(w io.Writer, entries []Entry) error {
	all := withParents(entries)
	zw, err := gzip.NewWriterLevel(w, gzip.BestSpeed)
	if err != nil {
		return err
	}
	cw := &cpioWriter{w: zw, ino: 1}
	for _, e := range all {
		if err := cw.add(e); err != nil {
			return fmt.Errorf("initramfs %s: %w", e.Path, err)
		}
	}
	if err := cw.trailer(); err != nil {
		return err
	}
	return zw.Close()
}

// AppendFiles writes to dst a copy of the initramfs base followed by a
// second gzip-compressed archive of entries. The kernel unpacks
// concatenated archives in order, so a small per-boot file (the guest
// plan) rides on the large cached agent initramfs without repacking
// it. Both parts being compressed, no alignment is needed between them
// (only an uncompressed archive must start on a 4-byte boundary).
func AppendFiles(dst, base string, entries []Entry) error {
	in, err := os.Open(base)
	if err != nil {
		return fmt.Errorf("initramfs: %w", err)
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return fmt.Errorf("initramfs: %w", err)
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("initramfs: copy %s: %w", base, err)
	}
	if err := WriteInitramfs(out, entries); err != nil {
		out.Close()
		return fmt.Errorf("initramfs: append to %s: %w", dst, err)
	}
	return out.Close()
}

func withParents(entries []Entry) []Entry {
	seen := map[string]bool{}
	var out []Entry
	for _, e := range entries {
		e.Path = strings.TrimPrefix(path.Clean("/"+e.Path), "/")
		for dir := path.Dir(e.Path); dir != "." && !seen[dir]; dir = path.Dir(dir) {
			seen[dir] = true
			out = append(out, Entry{Path: dir, Dir: true, Mode: 0o755})
		}
		if !seen[e.Path] {
			seen[e.Path] = true
			out = append(out, e)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

type cpioWriter struct {
	w   io.Writer
	ino uint32
	off int64
}

func (c *cpioWriter) add(e Entry) error {
	mode := e.Mode & 0o7777
	var data []byte
	switch {
	case e.Dir:
		mode |= typeDir
	case e.Link != "":
		mode |= typeLink
		data = []byte(e.Link)
	default:
		mode |= typeFile
		data = e.Data
		if e.Source != "" {
			b, err := os.ReadFile(e.Source)
			if err != nil {
				return err
			}
			data = b
			if e.Mode == 0 {
				if fi, err := os.Stat(e.Source); err == nil {
					mode |= uint32(fi.Mode().Perm())
				}
			}
		}
	}
	return c.record(e.Path, mode, data)
}

func (c *cpioWriter) record(name string, mode uint32, data []byte) error {
	nlink := 1
	if mode&typeDir != 0 {
		nlink = 2
	}
	hdr := fmt.Sprintf("070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
		c.ino, mode, 0, 0, nlink, 0, len(data), 0, 0, 0, 0, len(name)+1, 0)
	c.ino++
	if err := c.write([]byte(hdr)); err != nil {
		return err
	}
	if err := c.write(append([]byte(name), 0)); err != nil {
		return err
	}
	if err := c.pad(); err != nil {
		return err
	}
	if err := c.write(data); err != nil {
		return err
	}
	return c.pad()
}

func (c *cpioWriter) trailer() error {
	return c.record("TRAILER!!!", 0, nil)
}

func (c *cpioWriter) write(b []byte) error {
	n, err := c.w.Write(b)
	c.off += int64(n)
	return err
}

func (c *cpioWriter) pad() error {
	if r := c.off % 4; r != 0 {
		return c.write(make([]byte, 4-r))
	}
	return nil
}
