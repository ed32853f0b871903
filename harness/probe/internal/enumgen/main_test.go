package main

import "testing"

func TestGoName(t *testing.T) {
	tests := map[string]string{
		"KIND_DIO_BEGIN":             "DIOBegin",
		"KIND_CACHED_IO_OPEN_ENTER":  "CachedIOOpenEnter",
		"KIND_EXT4WRITE_BEGIN":       "Ext4WriteBegin", // bpf2go drops '_' after a digit
		"KIND_XFS_IOMAP_VALID_FALSE": "XFSIomapValidFalse",
		"KIND_TRACE_IOMODE":          "TraceIOMode",
		"KIND_NONE":                  "None",
	}
	for in, want := range tests {
		if got := goName(in, "KIND_"); got != want {
			t.Errorf("goName(%s) = %s, want %s", in, got, want)
		}
	}
}
