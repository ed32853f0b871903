package fuse

import (
	"encoding/json"
	"fmt"
	"time"
)

// Duration is a time.Duration that marshals to JSON as a string ("10ms") and
// unmarshals from a string or a number of nanoseconds, for readable configs.
type Duration time.Duration

// D returns the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// String formats like time.Duration.
func (d Duration) String() string { return time.Duration(d).String() }

// MarshalJSON encodes the duration as a string.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// UnmarshalJSON accepts "1.5s" or a number of nanoseconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var n int64
	if err := json.Unmarshal(b, &n); err == nil {
		*d = Duration(n)
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration: %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("duration: %w", err)
	}
	*d = Duration(v)
	return nil
}

// toTimeout splits a duration into the protocol's (sec, nsec) validity.
func toTimeout(d time.Duration) timeout {
	if d <= 0 {
		return timeout{}
	}
	return timeout{sec: uint64(d / time.Second), nsec: uint32(d % time.Second)}
}
