module dioharness

go 1.26.0

require (
	github.com/bitfield/script v0.25.2
	github.com/cilium/ebpf v0.22.0
	github.com/google/go-cmp v0.7.0
	golang.org/x/sys v0.49.0
	mvdan.cc/sh/v3 v3.7.0
)

require (
	github.com/itchyny/gojq v0.12.13 // indirect
	github.com/itchyny/timefmt-go v0.1.5 // indirect
)
