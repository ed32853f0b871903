package fuse

import (
	"syscall"
)

// InitInfo is the outcome of INIT negotiation.
type InitInfo struct {
	KernelMajor uint32 `json:"kernel_major"`
	KernelMinor uint32 `json:"kernel_minor"`
	// Minor is the protocol minor in use: min(kernel, 41).
	Minor uint32 `json:"minor"`
	// Offered are the kernel's capability bits (flags | flags2<<32);
	// Wanted what the Config asked for; Granted what the reply claimed
	// (Wanted & Offered).
	Offered      uint64 `json:"offered"`
	Wanted       uint64 `json:"wanted"`
	Granted      uint64 `json:"granted"`
	MaxWrite     uint32 `json:"max_write"`
	MaxPages     uint16 `json:"max_pages"`
	MaxReadahead uint32 `json:"max_readahead"`
	// ReplySize is the size of the fuse_init_out sent (compat sizes for
	// old kernels).
	ReplySize int `json:"reply_size"`
}

// Has reports whether the reply claimed capability bit c.
func (i InitInfo) Has(c uint64) bool { return i.Granted&c == c }

// initReplySize sizes fuse_init_out for the negotiated minor: kernels older
// than 7.5 and 7.23 read only the compat prefixes.
func initReplySize(minor uint32) int {
	switch {
	case minor < 5:
		return compatInitOutSize
	case minor < 23:
		return compat22InitOutSize
	}
	return initOutSize
}

func (s *Server) opInit(r *request) error {
	d := decoder{b: r.body}
	major, minor, maxRA, flags := d.u32(), d.u32(), d.u32(), d.u32()
	if d.err != nil {
		return Errno(syscall.EIO)
	}
	offered := uint64(flags)
	if flags&uint32(CapInitExt) != 0 && len(r.body) >= initInFlags2Off+4 {
		offered |= uint64(ne.Uint32(r.body[initInFlags2Off:])) << capFlags2Shift
	}
	if major < KernelVersion {
		return Errno(syscall.EPROTO)
	}
	if major > KernelVersion {
		// Reply with our major only; the kernel retries INIT with it.
		r.out.u32(KernelVersion)
		r.out.u32(KernelMinorVersion)
		return nil
	}
	caps := s.cfg.Capabilities
	info := InitInfo{
		KernelMajor: major, KernelMinor: minor, Minor: min(minor, KernelMinorVersion),
		Offered: offered, Wanted: caps.wanted(),
		MaxWrite: caps.MaxWrite, MaxPages: caps.MaxPages, MaxReadahead: maxRA,
	}
	info.Granted = info.Wanted & offered
	if info.Granted&CapInitExt == 0 {
		// Without FUSE_INIT_EXT the kernel ignores flags2.
		info.Granted &= capLowMask
	}
	if caps.MaxReadahead != 0 {
		info.MaxReadahead = min(caps.MaxReadahead, maxRA)
	}
	var stackDepth uint32
	if info.Granted&CapPassthrough != 0 {
		stackDepth = caps.MaxStackDepth
	}
	e := &r.out
	e.u32(KernelVersion)
	e.u32(info.Minor)
	e.u32(info.MaxReadahead)
	e.u32(uint32(info.Granted))
	e.u16(caps.MaxBackground)
	e.u16(caps.CongestionThreshold)
	e.u32(caps.MaxWrite)
	e.u32(caps.TimeGran)
	e.u16(caps.MaxPages)
	e.u16(0) // map_alignment
	e.u32(uint32(info.Granted >> capFlags2Shift))
	e.u32(stackDepth)
	e.zero(6 * 4)
	info.ReplySize = initReplySize(info.Minor)
	r.out.b = r.out.b[:outHeaderSize+info.ReplySize]
	r.afterReply = func() { s.setInit(info) }
	return nil
}

func (s *Server) opDestroy(r *request) error {
	return nil
}
