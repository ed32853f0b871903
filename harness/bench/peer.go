package bench

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// PeerRow is one row of scripts/bench-fuse-peer.sh: sequential 1 MiB
// O_DIRECT dd throughput on one host FUSE mount, in MB/s (10^6 B/s),
// with the ratios to the peer (go-fuse memfs) row.
type PeerRow struct {
	Server    string  `json:"server"` // "ours" or "peer"
	Mode      string  `json:"mode"`
	WriteMBps float64 `json:"write_mb_per_s"`
	WriteMin  float64 `json:"write_min"`
	WriteMax  float64 `json:"write_max"`
	ReadMBps  float64 `json:"read_mb_per_s"`
	ReadMin   float64 `json:"read_min"`
	ReadMax   float64 `json:"read_max"`
	// WriteToPeer and ReadToPeer are the medians over the peer's.
	WriteToPeer float64 `json:"write_to_peer"`
	ReadToPeer  float64 `json:"read_to_peer"`
}

// ParsePeerTSV reads the script's TSV output: the setup line and the rows.
func ParsePeerTSV(b []byte) (setup string, rows []PeerRow, err error) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	var peer *PeerRow
	for sc.Scan() {
		line := sc.Text()
		if s, ok := strings.CutPrefix(line, "# "); ok {
			setup = s
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) != 8 {
			return "", nil, fmt.Errorf("bench: peer row %q: %d fields, want 8", line, len(f))
		}
		var v [6]float64
		for i := range v {
			if v[i], err = strconv.ParseFloat(f[i+2], 64); err != nil {
				return "", nil, fmt.Errorf("bench: peer row %q: %w", line, err)
			}
		}
		rows = append(rows, PeerRow{Server: f[0], Mode: f[1],
			WriteMBps: v[0], WriteMin: v[1], WriteMax: v[2], ReadMBps: v[3], ReadMin: v[4], ReadMax: v[5]})
	}
	if err := sc.Err(); err != nil {
		return "", nil, err
	}
	for i := range rows {
		if rows[i].Server == "peer" {
			peer = &rows[i]
		}
	}
	if peer == nil || peer.WriteMBps <= 0 || peer.ReadMBps <= 0 {
		return "", nil, errors.New("bench: peer TSV has no usable peer row")
	}
	for i := range rows {
		rows[i].WriteToPeer = rows[i].WriteMBps / peer.WriteMBps
		rows[i].ReadToPeer = rows[i].ReadMBps / peer.ReadMBps
	}
	return setup, rows, nil
}
