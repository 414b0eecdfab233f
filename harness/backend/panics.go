package backend

import (
	"bufio"
	"encoding/json"
	"io"
	"os"
	"strings"
)

// Panic is a member's panic as its log tells it.
type Panic struct {
	Message string
	Caller  string
}

// ParsePanic finds the first panic in a member's log: etcd's own JSON line
// at level "panic" (message, error and caller), or else Go's "panic: " line
// and the first frame under it.
func ParsePanic(r io.Reader) (Panic, bool) {
	br := bufio.NewReaderSize(r, 64*1024)
	var goPanic Panic
	inTrace := false
	for {
		line, err := readLine(br)
		if err != nil && line == "" {
			break
		}
		if strings.HasPrefix(line, "{") && strings.Contains(line, `"level":"panic"`) {
			var e struct {
				Msg    string `json:"msg"`
				Caller string `json:"caller"`
				Error  string `json:"error"`
			}
			if json.Unmarshal([]byte(line), &e) == nil {
				msg := e.Msg
				if e.Error != "" {
					msg += ": " + e.Error
				}
				return Panic{Message: msg, Caller: e.Caller}, true
			}
		}
		switch {
		case goPanic.Message == "" && strings.HasPrefix(line, "panic: "):
			goPanic.Message = strings.TrimPrefix(line, "panic: ")
		case goPanic.Message != "" && strings.HasPrefix(line, "goroutine ") && strings.HasSuffix(line, "[running]:"):
			inTrace = true
		case inTrace && goPanic.Caller == "" && strings.HasPrefix(line, "\t"):
			goPanic.Caller = strings.TrimSpace(line)
			if i := strings.LastIndex(goPanic.Caller, " +0x"); i > 0 {
				goPanic.Caller = goPanic.Caller[:i]
			}
		}
		if err != nil {
			break
		}
	}
	return goPanic, goPanic.Message != ""
}

// maxLine is how much of one log line ParsePanic looks at.
const maxLine = 4 * 1024 * 1024

// readLine returns the next line without its line ending, cut to maxLine
// bytes: a longer line is skipped past, not the end of the reading (as it is
// for a bufio.Scanner, which would miss a panic logged after it).
func readLine(br *bufio.Reader) (string, error) {
	var b []byte
	for {
		frag, err := br.ReadSlice('\n')
		if n := maxLine - len(b); n > 0 {
			b = append(b, frag[:min(n, len(frag))]...)
		}
		if err != bufio.ErrBufferFull {
			return strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r"), err
		}
	}
}

// ParsePanicFile is ParsePanic on a log file from byte offset on (a member
// restarted on the same log appends to it); a missing file has no panic.
func ParsePanicFile(path string, offset int64) (Panic, bool) {
	f, err := os.Open(path)
	if err != nil {
		return Panic{}, false
	}
	defer f.Close()
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return Panic{}, false
	}
	return ParsePanic(f)
}
