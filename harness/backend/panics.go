package backend

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/etcd-drill/etcd-drill/harness/observe"
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
	var goPanic, jsonPanic Panic
	inTrace := false
	_ = observe.Lines(r, func(line string) bool {
		if strings.HasPrefix(line, "{") && strings.Contains(line, `"level":"panic"`) {
			var e struct {
				Msg        string `json:"msg"`
				Caller     string `json:"caller"`
				Error      string `json:"error"`
				Panic      string `json:"panic"`
				Stacktrace string `json:"stacktrace"`
			}
			if json.Unmarshal([]byte(line), &e) == nil {
				jsonPanic = Panic{Message: e.Msg, Caller: e.Caller}
				for _, more := range []string{e.Error, e.Panic} {
					if more != "" {
						jsonPanic.Message += ": " + more
					}
				}
				if at, fn, ok := panickedAt(e.Stacktrace); ok {
					// A Go panic etcd recovered and logged where it
					// caught it (its job scheduler): where it began says
					// more.
					jsonPanic.Caller = fmt.Sprintf("%s in %s, recovered at %s", at, fn, e.Caller)
				}
				return false
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
		return true
	})
	if jsonPanic.Message != "" {
		return jsonPanic, true
	}
	return goPanic, goPanic.Message != ""
}

// panickedAt finds, in a zap stack trace, the frame that called panic (the
// one under runtime.gopanic): its file:line, relative to its module, and
// its function without the package path.
func panickedAt(trace string) (at, fn string, ok bool) {
	lines := strings.Split(trace, "\n")
	for i := 0; i+3 < len(lines); i++ {
		if lines[i] != "runtime.gopanic" {
			continue
		}
		fn = lines[i+2]
		if j := strings.LastIndexByte(fn, '/'); j >= 0 {
			fn = fn[j+1:]
		}
		at = strings.TrimSpace(lines[i+3])
		if j := strings.Index(at, "@"); j >= 0 {
			if k := strings.IndexByte(at[j:], '/'); k >= 0 {
				at = at[j+k+1:]
			}
		}
		return at, fn, fn != "" && at != ""
	}
	return "", "", false
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
