package probe

import (
	"errors"
	"fmt"
)

// SkipError says a scenario cannot run because a probe it needs is not
// attached on this kernel. Scenarios report it as SKIP, never as PASS or
// FAIL.
type SkipError struct {
	Probe  string // program or attach-point name
	Reason string
}

func (e *SkipError) Error() string {
	return fmt.Sprintf("probe %s unavailable: %s", e.Probe, e.Reason)
}

// IsSkip reports whether err is (or wraps) a *SkipError.
func IsSkip(err error) bool {
	var s *SkipError
	return errors.As(err, &s)
}

// ErrNotRecording is returned by Stop when Start was not called.
var ErrNotRecording = errors.New("probe: not recording")

// DropError is returned by Stop (together with the events that did arrive)
// when the ring buffer overflowed: the record is incomplete.
type DropError struct {
	Dropped uint64
}

func (e *DropError) Error() string {
	return fmt.Sprintf("probe: %d events dropped (ring buffer full); increase Options.RingBufferSize", e.Dropped)
}
