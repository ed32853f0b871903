package fstests

import "time"

// DefaultTests is what make fstests runs: the tests that mix direct
// I/O with buffered I/O and mmap on one file, the paths the series
// change (fsx with O_DIRECT, fio's mixed job, the AIO-DIO invalidation
// race, page faults on the buffer of a direct read or write).
const DefaultTests = "generic/091 generic/095 generic/208 generic/263 generic/647 generic/729"

// SmokeTests is what make test runs when FSTESTS is set: two of the
// default tests per setup, the two quickest under TCG.
const SmokeTests = "generic/647 generic/729"

// SmokeSetups are the setups of the smoke run: one per filesystem, FUSE
// in the direct-io mode whose paths the series change.
const SmokeSetups = "ext4,xfs,fuse-direct-io"

// DefaultTimeout bounds one test in the guest. Under TCG the default
// tests took 90 s to 670 s each with two guests per core.
const DefaultTimeout = 20 * time.Minute

// DefaultDiskMiB is the size of the test and scratch disks (sparse).
const DefaultDiskMiB = 4096
