package logs

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"time"
)

// Stats is what Analyze reads from a member log.
type Stats struct {
	// Lines is the number of lines kept in the file (not counting the
	// markers of a Capped writer, nor blank lines).
	Lines int64
	// DroppedLines and DroppedBytes are what a Capped writer left out, as
	// its markers say.
	DroppedLines, DroppedBytes int64
	// First and Last are the earliest and latest "ts" of the file's lines
	// (markers aside); zero when no line has one.
	First, Last time.Time
	// Top is the most repeated message ("msg", or the raw text of a line
	// that is not JSON) and TopCount how many kept lines hold it.
	Top      string
	TopCount int64
	// LinesPerSecond is (Lines+DroppedLines)/(Last-First), when that span
	// is at least a second; 0 otherwise.
	LinesPerSecond float64
}

// Thresholds of Flooding. A normal member of a 10-second drill writes a few
// hundred lines, its most repeated message at most a boot burst of 100-200
// lines, and etcd's sampling (per message and second: the first 100, then
// every 100th) keeps even a busy message under about 100 lines a second. A
// member spinning on one message writes 1,000 lines a second or more, after
// sampling, for as long as it spins.
const (
	// FloodRepeats: one message kept this many times is a flood, whatever
	// the rate (no sampled message of a normal 10-second drill gets there:
	// 100 a second at most, 1,000 in 10 s).
	FloodRepeats = 5000
	// FloodLines, FloodRate: a log that was written at least FloodLines
	// lines (kept or dropped) at FloodRate lines a second or more, most of
	// its kept lines one message, is a flood too, even when a small cap
	// kept fewer than FloodRepeats of it: 10 s of spinning at 1,000 lines a
	// second.
	FloodLines = 10000
	FloodRate  = 500
)

// Flooding says whether the member spun writing one message: its most
// repeated message was kept at least FloodRepeats times; or at least
// FloodLines lines were written, at FloodRate lines a second or more, and
// the most repeated message is at least half of the kept lines.
func (s Stats) Flooding() bool {
	if s.TopCount >= FloodRepeats {
		return true
	}
	return s.Lines+s.DroppedLines >= FloodLines && s.LinesPerSecond >= FloodRate && s.TopCount*2 >= s.Lines
}

func (s Stats) String() string {
	return fmt.Sprintf("%d lines (%d dropped, %d bytes), %.0f lines/s, top %q x%d", s.Lines, s.DroppedLines, s.DroppedBytes, s.LinesPerSecond, s.Top, s.TopCount)
}

// Limits of Analyze: how much of a line it looks at (a longer line is
// counted, its message read from this much of its start), how much of a
// line that is not JSON makes its message, and how many distinct messages
// it counts (later new ones are not counted).
const (
	analyzeBuf     = 1 << 20
	rawMsgMax      = 256
	maxDistinctMsg = 1 << 16
)

// Analyze reads a JSON-lines member log (etcd's format, or ToFile's):
// counts its lines and the most repeated message, sums the markers of a
// Capped writer and reads the span of its timestamps. A missing file is an
// error; lines of any length are counted.
func Analyze(path string) (Stats, error) {
	f, err := os.Open(path)
	if err != nil {
		return Stats{}, err
	}
	defer f.Close()
	s, err := AnalyzeReader(f)
	if err != nil {
		return s, fmt.Errorf("analyze %s: %w", path, err)
	}
	return s, nil
}

// AnalyzeReader is Analyze on a stream.
func AnalyzeReader(r io.Reader) (Stats, error) {
	a := analyzer{counts: map[string]*int64{}}
	br := bufio.NewReaderSize(r, analyzeBuf)
	for {
		line, err := br.ReadSlice('\n')
		whole := err != bufio.ErrBufferFull
		if len(line) > 0 {
			a.line(line, whole)
		}
		for err == bufio.ErrBufferFull { // the rest of a long line
			_, err = br.ReadSlice('\n')
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return a.stats(), err
		}
	}
	return a.stats(), nil
}

type analyzer struct {
	s      Stats
	counts map[string]*int64
	top    *int64
}

func (a *analyzer) stats() Stats {
	s := a.s
	if span := s.Last.Sub(s.First); span >= time.Second {
		s.LinesPerSecond = float64(s.Lines+s.DroppedLines) / span.Seconds()
	}
	return s
}

// line takes one line; whole is false for the start of a line longer than
// the buffer.
func (a *analyzer) line(b []byte, whole bool) {
	b = bytes.TrimRight(b, "\r\n")
	if len(bytes.TrimSpace(b)) == 0 {
		return
	}
	msg, ts, ok := fastFields(b)
	if !ok && b[0] == '{' && whole {
		msg, ts, ok = slowFields(b)
	}
	if ok {
		// A marker is no line of the member's, nor its time.
		if string(msg) == CappedMsg && whole && a.marker(b) {
			return
		}
		a.ts(ts)
	} else {
		msg = b[:min(len(b), rawMsgMax)]
	}
	a.s.Lines++
	a.count(msg)
}

func (a *analyzer) count(msg []byte) {
	p := a.counts[string(msg)]
	if p == nil {
		if len(a.counts) >= maxDistinctMsg {
			return
		}
		p = new(int64)
		a.counts[string(msg)] = p
	}
	*p++
	if *p > a.s.TopCount {
		a.s.TopCount = *p
		if p != a.top {
			a.top = p
			a.s.Top = string(msg)
		}
	}
}

// marker adds up a Capped writer's marker line; false if b is not one.
func (a *analyzer) marker(b []byte) bool {
	var m struct {
		DroppedBytes *int64 `json:"dropped-bytes"`
		DroppedLines *int64 `json:"dropped-lines"`
	}
	if json.Unmarshal(b, &m) != nil || m.DroppedBytes == nil || m.DroppedLines == nil {
		return false
	}
	a.s.DroppedBytes += *m.DroppedBytes
	a.s.DroppedLines += *m.DroppedLines
	return true
}

func (a *analyzer) ts(raw []byte) {
	t, ok := parseTS(raw)
	if !ok {
		return
	}
	if a.s.First.IsZero() || t.Before(a.s.First) {
		a.s.First = t
	}
	if t.After(a.s.Last) {
		a.s.Last = t
	}
}

var (
	msgKey = []byte(`"msg":"`)
	tsKey  = []byte(`"ts":`)
)

// fastFields reads "msg" (unquoted) and "ts" (raw: quoted string or number)
// of a zap JSON line without decoding all of it: zap writes them as the first
// keys of the object, and a quote inside a string is escaped, so the first
// `"msg":"` of a line is its own.
func fastFields(b []byte) (msg, ts []byte, ok bool) {
	if b[0] != '{' {
		return nil, nil, false
	}
	i := bytes.Index(b, msgKey)
	if i < 0 {
		return nil, nil, false
	}
	v := b[i+len(msgKey):]
	end, escaped := -1, false
	for j := 0; j < len(v); j++ {
		if v[j] == '\\' {
			escaped = true
			j++
			continue
		}
		if v[j] == '"' {
			end = j
			break
		}
	}
	if end < 0 {
		return nil, nil, false
	}
	msg = v[:end]
	if escaped {
		var s string
		if json.Unmarshal(b[i+len(msgKey)-1:i+len(msgKey)+end+1], &s) != nil {
			return nil, nil, false
		}
		msg = []byte(s)
	}
	if k := bytes.Index(b, tsKey); k >= 0 {
		t := bytes.TrimLeft(b[k+len(tsKey):], " ")
		if len(t) > 0 && t[0] == '"' {
			if e := bytes.IndexByte(t[1:], '"'); e >= 0 {
				ts = t[:e+2]
			}
		} else if e := bytes.IndexAny(t, ",}"); e > 0 {
			ts = t[:e]
		}
	}
	return msg, ts, true
}

// slowFields decodes a JSON line that fastFields could not read; a line
// with no "msg" has its text as message.
func slowFields(b []byte) (msg, ts []byte, ok bool) {
	var e struct {
		Msg *string         `json:"msg"`
		TS  json.RawMessage `json:"ts"`
	}
	if json.Unmarshal(b, &e) != nil {
		return nil, nil, false
	}
	if e.Msg == nil { // no message: the line's text is
		return b[:min(len(b), rawMsgMax)], e.TS, true
	}
	return []byte(*e.Msg), e.TS, true
}

// tsLayouts are the "ts" formats of etcd (RFC 3339, microseconds) and of
// zap's ISO 8601 encoder (milliseconds, a zone offset without a colon).
var tsLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999Z0700"}

// parseTS reads a raw "ts": a quoted time, or seconds since the epoch.
func parseTS(raw []byte) (time.Time, bool) {
	if len(raw) >= 2 && raw[0] == '"' && raw[len(raw)-1] == '"' {
		s := string(raw[1 : len(raw)-1])
		for _, l := range tsLayouts {
			if t, err := time.Parse(l, s); err == nil {
				return t, true
			}
		}
		return time.Time{}, false
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil || f <= 0 || math.IsInf(f, 0) || math.IsNaN(f) || f > 1e11 {
		return time.Time{}, false
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)), true
}
