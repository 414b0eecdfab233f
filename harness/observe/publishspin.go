// Package observe reads what members did from their logs, without touching
// them: evidence for the report when etcd itself misbehaves.
package observe

import (
	"bufio"
	"encoding/json"
	"io"
	"os"
	"strings"
	"time"
)

// Messages of etcd 3.7.3 that show a member spinning in its publish loop
// (etcdserver.publishV3 retrying a proposal that exceedsRequestLimit refuses
// at once, since applySnapshot left the applied index at 0).
const (
	msgPublishFailed   = "failed to publish local member to cluster through raft"
	errTooManyRequests = "etcdserver: too many requests"
	msgAppliedSnapshot = "applied snapshot"
)

// spinLines is how many refused publishes make a spin: a restarted member
// logs a short burst of them at boot and then publishes.
const spinLines = 10

// Spin is a member caught in etcd's publish loop, with its evidence.
type Spin struct {
	// Refused counts the publishes refused with "too many requests".
	Refused int
	// SnapshotIndex is the leader snapshot the member applied before it
	// spun (0 if its log does not say).
	SnapshotIndex uint64
	// Since is when the first refused publish was logged.
	Since time.Time
	// Excerpt holds the log lines that are the evidence: the applied
	// snapshot and the first refused publishes.
	Excerpt []string
}

// PublishSpin reads a member's log and reports the spin, if the log shows one.
func PublishSpin(path string) (Spin, bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return Spin{}, false, err
	}
	defer f.Close()
	var sp Spin
	var snapLine string
	err = Lines(f, func(line string) bool {
		switch {
		case strings.Contains(line, msgAppliedSnapshot):
			var e struct {
				Index uint64 `json:"incoming-leader-snapshot-index"`
			}
			if json.Unmarshal([]byte(line), &e) == nil && e.Index > 0 {
				sp.SnapshotIndex, snapLine = e.Index, line
			}
		case strings.Contains(line, msgPublishFailed) && strings.Contains(line, errTooManyRequests):
			if sp.Refused == 0 {
				sp.Since = lineTime(line)
				if snapLine != "" {
					sp.Excerpt = append(sp.Excerpt, snapLine)
				}
			}
			if sp.Refused < 3 {
				sp.Excerpt = append(sp.Excerpt, line)
			}
			sp.Refused++
		}
		return true
	})
	return sp, sp.Refused >= spinLines, err
}

// lineTime is the "ts" of an etcd JSON log line (zero if it has none).
func lineTime(line string) time.Time {
	var e struct {
		TS string `json:"ts"`
	}
	if json.Unmarshal([]byte(line), &e) != nil {
		return time.Time{}
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.000Z0700"} {
		if t, err := time.Parse(layout, e.TS); err == nil {
			return t
		}
	}
	return time.Time{}
}

// maxLine is how much of one log line Lines hands on; the rest of a longer
// line is skipped, not the end of the reading. etcd's panic lines carry
// their stack: 4 MiB keeps them whole.
const maxLine = 4 << 20

// Lines calls f with each line of r, without its line ending, until f
// returns false or r ends.
func Lines(r io.Reader, f func(line string) bool) error {
	br := bufio.NewReaderSize(r, 64*1024)
	for {
		var b []byte
		var err error
		for {
			var frag []byte
			frag, err = br.ReadSlice('\n')
			if n := maxLine - len(b); n > 0 {
				b = append(b, frag[:min(n, len(frag))]...)
			}
			if err != bufio.ErrBufferFull {
				break
			}
		}
		if len(b) > 0 && !f(strings.TrimRight(string(b), "\r\n")) {
			return nil
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}
