package logs

import (
	"bufio"
	"os"
	"strings"
)

// excerptLine bounds each line of an excerpt: etcd's panic lines carry a
// whole stack trace.
const excerptLine = 600

// PanicExcerpt returns the lines of the member log at path around its first
// panic: up to before lines ahead of it, the panic itself (etcd's JSON line
// at level panic, or Go's "panic: " line) and up to after lines behind it
// (a plain Go panic's stack), each cut to 600 bytes. Without a log or a
// panic in it, it returns nil.
func PanicExcerpt(path string, before, after int) []string {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	var ring []string
	var out []string
	left := -1
	for sc.Scan() {
		line := sc.Text()
		if len(line) > excerptLine {
			line = line[:excerptLine] + "..."
		}
		if left >= 0 {
			if left == 0 {
				break
			}
			out = append(out, line)
			left--
			continue
		}
		if strings.Contains(line, `"level":"panic"`) || strings.HasPrefix(line, "panic: ") {
			out = append(append(out, ring...), line)
			left = after
			continue
		}
		ring = append(ring, line)
		if len(ring) > before {
			ring = ring[1:]
		}
	}
	return out
}
