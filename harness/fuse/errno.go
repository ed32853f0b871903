package fuse

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// Errno is an error number in rules and logs. It marshals to JSON as its
// symbolic name ("ENOSPC") and unmarshals from a name or a number, so
// configuration files stay readable.
type Errno int32

// Error makes Errno usable as an error; the text is the C library's.
func (e Errno) Error() string { return syscall.Errno(e).Error() }

// Name returns the symbolic name, e.g. "EIO", or the number if unknown.
func (e Errno) Name() string {
	if e == 0 {
		return "OK"
	}
	if n := unix.ErrnoName(syscall.Errno(e)); n != "" {
		return n
	}
	return strconv.Itoa(int(e))
}

// MarshalJSON encodes the errno as its name (0 as 0).
func (e Errno) MarshalJSON() ([]byte, error) {
	if e == 0 {
		return []byte("0"), nil
	}
	return json.Marshal(e.Name())
}

// UnmarshalJSON accepts "EIO", 5 or "5".
func (e *Errno) UnmarshalJSON(b []byte) error {
	var n int32
	if err := json.Unmarshal(b, &n); err == nil {
		*e = Errno(n)
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("errno: %w", err)
	}
	v, err := ParseErrno(s)
	if err != nil {
		return err
	}
	*e = v
	return nil
}

// ParseErrno accepts a symbolic name ("ENOSPC"), a number, or "" / "OK" (0).
func ParseErrno(s string) (Errno, error) {
	if s == "" || s == "OK" || s == "0" {
		return 0, nil
	}
	// x/sys/unix has no name-to-number table; the errno space is small.
	for e := syscall.Errno(1); e < 4096; e++ {
		if unix.ErrnoName(e) == s {
			return Errno(e), nil
		}
	}
	if n, err := strconv.ParseInt(s, 10, 32); err == nil && n > 0 {
		return Errno(n), nil
	}
	return 0, fmt.Errorf("unknown errno %q", s)
}

// toErrno maps an error from the store or the OS to an errno for a reply.
func toErrno(err error) Errno {
	if err == nil {
		return 0
	}
	var e Errno
	if errors.As(err, &e) {
		return e
	}
	var se syscall.Errno
	if errors.As(err, &se) {
		return Errno(se)
	}
	return Errno(syscall.EIO)
}
