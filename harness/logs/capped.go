package logs

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// DefaultMaxBytes is the budget of one log writer when none is set: 32 MiB
// per file (per run of a member, as a restarted member appends).
const DefaultMaxBytes = 32 << 20

// Budget maps a configured budget to a Capped writer's: 0 means
// DefaultMaxBytes, a negative budget no cap (0).
func Budget(maxBytes int64) int64 {
	switch {
	case maxBytes == 0:
		return DefaultMaxBytes
	case maxBytes < 0:
		return 0
	}
	return maxBytes
}

// CappedMsg is the message of the marker line a Capped writer puts where it
// dropped output.
const CappedMsg = "etcd-drill: log capped"

// Capped is an io.WriteCloser over a log file that keeps at most about
// maxBytes of what is written to it: the first half of the budget (the head)
// goes straight to the file; past it the writer keeps only the most recent
// bytes that fit in the rest of the budget (the tail), in a ring in memory,
// and on Close writes one JSON marker line that says how much it dropped,
// then the tail cut to whole lines. Output that fits in the budget is written
// unchanged and gets no marker.
//
// The head ends on a line boundary where it can: a line that straddles the
// head limit is left to the tail side, unless the head already holds its
// start; then the head may finish it within a quarter of the budget (the
// tail gives up what the head took), or else the rest of the line is
// dropped and Close ends the head's part with a newline. Until Close, the
// tail is not in the file.
//
// Writes are safe from several goroutines, and never fail because of the
// cap: an error of the file is kept and returned by Close, so that a child
// process whose output is copied here does not die of a broken pipe.
type Capped struct {
	mu   sync.Mutex
	f    *os.File
	path string
	// offset is the size of the file when the writer took it over.
	offset int64

	max     int64 // 0: no cap
	headMax int64
	slack   int64 // how far the head may go past headMax to finish a line

	inHead      bool
	head        int64 // bytes written to the file by the head
	headPartial bool  // the head's last byte is not a newline
	skipping    bool  // dropping the rest of a line the head cut
	cappedAt    time.Time

	ring     []byte // allocated when the head ends
	rpos     int    // where the next byte of the ring goes
	rlen     int    // bytes held in the ring
	ringCut  bool   // the ring dropped its oldest bytes
	cutAtNL  bool   // ... and the last byte it dropped was a newline
	dropped  WriteStats
	total    WriteStats
	lastNL   bool // the last byte written was a newline
	closed   bool
	err      error
	closeErr error
}

// WriteStats counts what was written to a Capped writer, and what it dropped.
type WriteStats struct {
	// Bytes and Lines: all that was written (Lines counts a last line that
	// has no newline too).
	Bytes, Lines int64
	// DroppedBytes and DroppedLines: what the cap left out so far; final
	// after Close (which cuts the tail to whole lines).
	DroppedBytes, DroppedLines int64
}

// OpenCapped opens path for appending (creating it) with a budget of maxBytes;
// maxBytes <= 0 means no cap.
func OpenCapped(path string, maxBytes int64) (*Capped, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open log %s: %w", path, err)
	}
	c, err := NewCapped(f, maxBytes)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("log %s: %w", path, err)
	}
	return c, nil
}

// NewCapped caps what is written to f, from its current end on; Close
// closes f.
func NewCapped(f *os.File, maxBytes int64) (*Capped, error) {
	off, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return nil, err
	}
	c := &Capped{f: f, path: f.Name(), offset: off, inHead: true, lastNL: true}
	if maxBytes > 0 {
		c.max = max(maxBytes, 2)
		c.headMax = c.max / 2
		c.slack = c.max / 4
	}
	return c, nil
}

// Offset is where this writer's output starts in its file: the size the
// file had when the writer opened it.
func (c *Capped) Offset() int64 { return c.offset }

// Path is the file's name.
func (c *Capped) Path() string { return c.path }

// MaxBytes is the budget; 0 means no cap.
func (c *Capped) MaxBytes() int64 { return c.max }

// Stats says what was written and dropped so far.
func (c *Capped) Stats() WriteStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.total
	if !c.lastNL {
		s.Lines++
	}
	s.DroppedBytes, s.DroppedLines = c.dropped.DroppedBytes, c.dropped.DroppedLines
	return s
}

// Write keeps p, or the part of it the budget allows; it reports all of p
// written unless the writer is closed.
func (c *Capped) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return 0, os.ErrClosed
	}
	n := len(p)
	if n == 0 {
		return 0, nil
	}
	c.total.Bytes += int64(n)
	c.total.Lines += int64(bytes.Count(p, nl))
	c.lastNL = p[n-1] == '\n'
	if c.max == 0 {
		c.writeFile(p)
		return n, nil
	}
	if c.inHead {
		p = c.writeHead(p)
	}
	if c.skipping && len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			c.dropped.DroppedBytes += int64(len(p))
			return n, nil
		}
		// The line's start is in the head: it is no dropped line.
		c.dropped.DroppedBytes += int64(i + 1)
		p = p[i+1:]
		c.skipping = false
	}
	if len(p) > 0 {
		c.writeTail(p)
	}
	return n, nil
}

var nl = []byte{'\n'}

// writeHead writes what of p fits in the head and returns the rest.
func (c *Capped) writeHead(p []byte) []byte {
	room := max(c.headMax-c.head, 0)
	if int64(len(p)) <= room {
		c.writeFile(p)
		c.head += int64(len(p))
		c.headPartial = p[len(p)-1] != '\n'
		return nil
	}
	cut := bytes.LastIndexByte(p[:room], '\n') + 1
	switch {
	case cut > 0:
	case c.headPartial:
		// The head holds the start of a line: finish it if it ends soon.
		limit := c.headMax + c.slack - c.head
		if i := bytes.IndexByte(p, '\n'); i >= 0 && int64(i) < limit {
			cut = i + 1
		} else if i < 0 && int64(len(p)) <= limit {
			c.writeFile(p)
			c.head += int64(len(p))
			return nil
		} else {
			c.endHead()
			c.skipping = true
			return p
		}
	default:
		c.endHead()
		return p
	}
	c.writeFile(p[:cut])
	c.head += int64(cut)
	c.headPartial = false
	c.endHead()
	return p[cut:]
}

func (c *Capped) endHead() {
	c.inHead = false
	c.cappedAt = time.Now()
}

// writeTail keeps p in the ring, dropping its oldest bytes as needed.
func (c *Capped) writeTail(p []byte) {
	if c.ring == nil {
		c.ring = make([]byte, max(c.max-c.head, 1))
	}
	size := len(c.ring)
	if len(p) >= size {
		c.dropRing(c.rlen)
		drop := p[:len(p)-size]
		if len(drop) > 0 {
			c.dropBytes(drop)
		}
		copy(c.ring, p[len(p)-size:])
		c.rpos, c.rlen = 0, size
		return
	}
	if over := c.rlen + len(p) - size; over > 0 {
		c.dropRing(over)
	}
	k := copy(c.ring[c.rpos:], p)
	copy(c.ring, p[k:])
	c.rpos = (c.rpos + len(p)) % size
	c.rlen += len(p)
}

// dropRing drops the oldest n bytes of the ring.
func (c *Capped) dropRing(n int) {
	if n == 0 {
		return
	}
	size := len(c.ring)
	start := (c.rpos - c.rlen + size) % size
	if end := start + n; end <= size {
		c.dropBytes(c.ring[start:end])
	} else {
		c.dropBytes(c.ring[start:])
		c.dropBytes(c.ring[:end-size])
	}
	c.rlen -= n
}

func (c *Capped) dropBytes(b []byte) {
	c.ringCut = true
	c.cutAtNL = b[len(b)-1] == '\n'
	c.dropped.DroppedBytes += int64(len(b))
	c.dropped.DroppedLines += int64(bytes.Count(b, nl))
}

func (c *Capped) writeFile(p []byte) {
	if _, err := c.f.Write(p); err != nil && c.err == nil {
		c.err = err
	}
}

// Close writes the marker and the tail, if the cap dropped anything, and
// closes the file. Closing again does nothing and returns the same error.
func (c *Capped) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return c.closeErr
	}
	c.closed = true
	tail := c.tail()
	if c.dropped.DroppedBytes > 0 {
		if c.headPartial {
			c.writeFile(nl)
		}
		c.writeFile(c.marker())
	}
	c.writeFile(tail)
	c.ring = nil
	err := c.f.Close()
	if c.err != nil {
		err = c.err
	}
	if err != nil {
		c.closeErr = fmt.Errorf("log %s: %w", c.path, err)
	}
	return c.closeErr
}

// tail returns the ring's bytes in order, from a line boundary if the ring
// dropped its oldest bytes (counting what it cuts as dropped).
func (c *Capped) tail() []byte {
	if c.rlen == 0 {
		return nil
	}
	size := len(c.ring)
	start := (c.rpos - c.rlen + size) % size
	var t []byte
	if start+c.rlen <= size {
		t = c.ring[start : start+c.rlen]
	} else {
		t = append(append(make([]byte, 0, c.rlen), c.ring[start:]...), c.ring[:c.rpos]...)
	}
	if c.ringCut && !c.cutAtNL {
		i := bytes.IndexByte(t, '\n')
		if i < 0 {
			i = len(t) - 1 // one line longer than the tail: none of it is kept
		}
		c.dropped.DroppedBytes += int64(i + 1)
		c.dropped.DroppedLines++
		t = t[i+1:]
	}
	return t
}

// markerLine is the JSON line, in etcd's format, that says what the cap
// dropped; its "ts" is when the head ended, so that the file stays in time
// order.
type markerLine struct {
	Level        string `json:"level"`
	TS           string `json:"ts"`
	Msg          string `json:"msg"`
	DroppedBytes int64  `json:"dropped-bytes"`
	DroppedLines int64  `json:"dropped-lines"`
	MaxLogBytes  int64  `json:"max-log-bytes"`
}

func (c *Capped) marker() []byte {
	b, _ := json.Marshal(markerLine{"warn", c.cappedAt.UTC().Format(tsLayout), CappedMsg, c.dropped.DroppedBytes, c.dropped.DroppedLines, c.max})
	return append(b, '\n')
}

// tsLayout is how etcd writes "ts".
const tsLayout = "2006-01-02T15:04:05.000000Z07:00"
