package guestproto

import (
	"fmt"
	"path"
	"strings"
)

// Disk is a block device the host attached for this boot, as the guest
// finds it: by Name ("ext4", "xfs", "ext4-noextent" for the scenarios;
// "root", "test", "scratch" and "results" for fstests), never by the
// order the host attached the disks in.
type Disk struct {
	Name string `json:"name"`
	// Device is the guest's block device ("/dev/vdb").
	Device string `json:"device"`
	// FSType is the filesystem the host made on it, "" for a blank
	// disk the guest formats itself.
	FSType string `json:"fstype,omitempty"`
}

// Disks are the disks of a plan.
type Disks []Disk

// Named returns the disk called name.
func (ds Disks) Named(name string) (Disk, bool) {
	for _, d := range ds {
		if d.Name == name {
			return d, true
		}
	}
	return Disk{}, false
}

// Validate checks names are unique and devices are device paths.
func (ds Disks) Validate() error {
	seen := map[string]bool{}
	devices := map[string]bool{}
	for _, d := range ds {
		switch {
		case d.Name == "" || strings.ContainsAny(d.Name, " \t\n/"):
			return fmt.Errorf("plan: bad disk name %q", d.Name)
		case seen[d.Name]:
			return fmt.Errorf("plan: disk %s listed twice", d.Name)
		case !strings.HasPrefix(d.Device, "/dev/") || path.Clean(d.Device) != d.Device:
			return fmt.Errorf("plan: disk %s: bad device %q, want a /dev/ path", d.Name, d.Device)
		case devices[d.Device]:
			return fmt.Errorf("plan: disk %s: device %s is another disk's", d.Name, d.Device)
		}
		seen[d.Name], devices[d.Device] = true, true
	}
	return nil
}
