package ktap

import (
	"bufio"
	"errors"
	"fmt"
	"io"
)

// maxLine bounds the length of a line the parser looks at. Longer lines
// cannot be KTAP written by this package and are skipped as noise.
const maxLine = 64 << 10

// Parse reads KTAP from r and returns the report for the first top-level
// document. Lines that are not KTAP are ignored, as is a final line without
// a terminating newline (the writer died mid-line, so it may be cut short).
// A read error is returned wrapped, together with the report of everything
// read before it.
func Parse(r io.Reader) (*Report, error) {
	p := NewParser()
	tail, err := eachLine(r, func(s string) { p.Feed(s) })
	if tail != "" && classify(tail).kind != kindUnknown {
		p.lineNo++
		p.problemf("unterminated last line %q ignored", tail)
	}
	rep := p.Report()
	if err != nil {
		return rep, fmt.Errorf("ktap: read: %w", err)
	}
	return rep, nil
}

// eachLine calls fn for every newline-terminated line of r that is at most
// maxLine bytes long. It returns the unterminated remainder at EOF (if it
// is short enough to be of interest) and any read error other than EOF.
func eachLine(r io.Reader, fn func(string)) (tail string, err error) {
	br := bufio.NewReaderSize(r, maxLine)
	tooLong := false
	for {
		b, err := br.ReadSlice('\n')
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			tooLong = true
			continue
		case errors.Is(err, io.EOF):
			if tooLong {
				return "", nil
			}
			return string(b), nil
		case err != nil:
			return "", err
		}
		if !tooLong {
			fn(string(b))
		}
		tooLong = false
	}
}
