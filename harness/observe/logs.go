package observe

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// Readers of etcd's JSON member logs, each from an offset on (a restarted
// member appends to its log: only what it wrote since counts). All go
// through Lines.

// Entry is what the readers here take from one log line.
type Entry struct {
	Level string `json:"level"`
	Msg   string `json:"msg"`
	Error string `json:"error"`
}

// FileFrom calls f with each line of the file at path from byte offset on,
// until f returns false. A missing file has no line.
func FileFrom(path string, offset int64, f func(line string) bool) error {
	fh, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer fh.Close()
	if _, err := fh.Seek(offset, io.SeekStart); err != nil {
		return err
	}
	return Lines(fh, f)
}

// Size is a file's size now: the offset from which a reader sees only what
// is written later (0 for a missing file).
func Size(path string) int64 {
	st, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return st.Size()
}

// Complaint is why a member's log says it ended, from offset on: its panic
// or fatal message, else its "server error", else its last warning or error
// (each with its error field, if any).
func Complaint(path string, offset int64) string {
	best, bestRank := "", 0
	_ = FileFrom(path, offset, func(line string) bool {
		var e Entry
		if json.Unmarshal([]byte(line), &e) != nil {
			return true
		}
		rank := 0
		switch {
		case e.Level == "panic" || e.Level == "fatal" || e.Level == "dpanic":
			rank = 3
		case e.Msg == "server error":
			rank = 2
		case e.Level == "warn" || e.Level == "error":
			rank = 1
		}
		// The first of the highest rank, but the last plain warning.
		if rank > bestRank || rank == 1 && bestRank == 1 {
			best, bestRank = e.Msg, rank
			if e.Error != "" {
				best += ": " + e.Error
			}
		}
		return true
	})
	return best
}

// FollowedOther returns the first leader other than the member itself that
// its log says it followed from offset on ("elected leader X at term T").
func FollowedOther(path string, offset int64) string {
	out := ""
	_ = FileFrom(path, offset, func(line string) bool {
		var e Entry
		if !strings.Contains(line, "elected leader") || json.Unmarshal([]byte(line), &e) != nil {
			return true
		}
		// "raft.node: <self> elected leader <leader> at term <t>"
		var self, leader string
		var term uint64
		if _, err := fmt.Sscanf(e.Msg, "raft.node: %s elected leader %s at term %d", &self, &leader, &term); err == nil && self != leader {
			out = fmt.Sprintf("%s (term %d)", leader, term)
			return false
		}
		return true
	})
	return out
}

// Mismatch is a cluster ID mismatch a member logged: the message and the
// two cluster IDs it names.
type Mismatch struct {
	Msg, Local, Remote string
}

// Log messages of etcd 3.7.3 (rafthttp) about a cluster ID mismatch: the
// receiving member's, and the sender's (stream and pipeline).
const (
	MsgRequestMismatch = "request cluster ID mismatch"
	MsgIgnoredMismatch = "cluster ID mismatch"
)

// FirstMismatch finds the first line from offset on whose message contains
// want (MsgRequestMismatch for a receiver, MsgIgnoredMismatch for a
// sender). A line still being written, without its newline, is left for a
// later look.
func FirstMismatch(path string, offset int64, want string) (Mismatch, bool, error) {
	var m Mismatch
	found := false
	err := FileFrom(path, offset, func(line string) bool {
		if !strings.Contains(line, want) {
			return true
		}
		var e map[string]any
		if json.Unmarshal([]byte(line), &e) != nil {
			return true // cut short: not yet whole
		}
		if msg, _ := e["msg"].(string); strings.Contains(msg, want) {
			m = Mismatch{Msg: msg, Local: str(e["local-member-cluster-id"]), Remote: str(e["remote-peer-cluster-id"])}
			found = true
			return false
		}
		return true
	})
	return m, found, err
}

func str(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	return "?"
}
