package logs

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"os"
)

// severeTail is how much of a log's end LastSevere reads: an exiting
// member's last words are near the end, however big the log.
const severeTail = 256 << 10

// LastSevere returns the last line of the member log at path that etcd
// wrote at level fatal, panic or dpanic (else error), as "msg: error"; ok is
// false when there is none (or no log). It is etcd's own word on why a
// member exited, for a finding's evidence.
func LastSevere(path string) (line string, ok bool) {
	f, err := os.Open(path)
	if err != nil {
		return "", false
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Size() > severeTail {
		if _, err := f.Seek(fi.Size()-severeTail, io.SeekStart); err != nil {
			return "", false
		}
	}
	var fatal, errLine string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		b := sc.Bytes()
		if !bytes.Contains(b, []byte(`"level"`)) {
			continue
		}
		var l struct {
			Level string `json:"level"`
			Msg   string `json:"msg"`
			Error string `json:"error"`
		}
		if json.Unmarshal(b, &l) != nil {
			continue
		}
		s := l.Msg
		if l.Error != "" {
			s += ": " + l.Error
		}
		switch l.Level {
		case "fatal", "panic", "dpanic":
			fatal = s
		case "error":
			errLine = s
		}
	}
	if fatal != "" {
		return fatal, true
	}
	return errLine, errLine != ""
}
