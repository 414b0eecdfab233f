package leakcheck

import (
	"bytes"
	"fmt"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/etcd-drill/etcd-drill/harness/sockets"
)

// What a process holds, read from /proc: its open descriptors, its
// descendants, the loopback ports they listen on, and its goroutines. A soak
// (etcd-drill soak) counts these before its first drill and after each one.

// FDs lists this process's open descriptors and what each points to (a path,
// socket:[inode], pipe:[inode], anon_inode:[eventpoll]...). The descriptor
// used to read /proc/self/fd is in the list, as it is on every call.
func FDs() (map[int]string, error) {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return nil, fmt.Errorf("list descriptors: %w", err)
	}
	out := make(map[int]string, len(entries))
	for _, e := range entries {
		fd, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		target, err := os.Readlink("/proc/self/fd/" + e.Name())
		if err != nil {
			continue // closed meanwhile (the directory's own descriptor)
		}
		out[fd] = target
	}
	return out, nil
}

// Process is a descendant process.
type Process struct {
	PID, PPID int
	Comm      string
	// State is /proc/PID/stat's: R, S, D, Z (a zombie nobody reaped)...
	State byte
}

func (p Process) String() string {
	s := fmt.Sprintf("pid %d %s", p.PID, p.Comm)
	if p.State == 'Z' {
		s += " (zombie)"
	}
	return s
}

// Descendants lists the processes whose parent is pid, and theirs, down to
// the last generation, keyed by pid. Zombies are included: a child that
// ended and was never waited for is a leak too.
func Descendants(pid int) (map[int]Process, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("list processes: %w", err)
	}
	children := map[int][]Process{}
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue // ended meanwhile
		}
		proc, ok := parseStat(p, b)
		if ok {
			children[proc.PPID] = append(children[proc.PPID], proc)
		}
	}
	out := map[int]Process{}
	queue := []int{pid}
	for len(queue) > 0 {
		parent := queue[0]
		queue = queue[1:]
		for _, c := range children[parent] {
			if _, seen := out[c.PID]; seen {
				continue
			}
			out[c.PID] = c
			queue = append(queue, c.PID)
		}
	}
	return out, nil
}

// parseStat reads "pid (comm) S ppid ...", where comm may hold spaces and
// parentheses.
func parseStat(pid int, stat []byte) (Process, bool) {
	open, end := bytes.IndexByte(stat, '('), bytes.LastIndexByte(stat, ')')
	if open < 0 || end < open || end+2 >= len(stat) {
		return Process{}, false
	}
	f := strings.Fields(string(stat[end+2:]))
	if len(f) < 2 || len(f[0]) == 0 {
		return Process{}, false
	}
	ppid, err := strconv.Atoi(f[1])
	if err != nil {
		return Process{}, false
	}
	return Process{PID: pid, PPID: ppid, Comm: string(stat[open+1 : end]), State: f[0][0]}, true
}

// LoopbackListeners lists the TCP sockets listening on 127.0.0.1 that one
// of pids holds open, as "127.0.0.1:PORT" -> the pid holding it.
func LoopbackListeners(pids ...int) (map[string]int, error) {
	return sockets.LoopbackListeners(pids...)
}

// GoroutineIDs lists the goroutines running now, each with what names it
// best in a leak report: the function that created it ("created by ...", or
// its own top function when the runtime gives no creator) and its state.
func GoroutineIDs() map[uint64]string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	out := map[uint64]string{}
	for _, block := range strings.Split(string(buf), "\n\n") {
		lines := strings.Split(strings.TrimSpace(block), "\n")
		if len(lines) < 2 || !strings.HasPrefix(lines[0], "goroutine ") {
			continue
		}
		head := strings.Fields(strings.TrimPrefix(lines[0], "goroutine "))
		id, err := strconv.ParseUint(head[0], 10, 64)
		if err != nil {
			continue
		}
		state := strings.TrimSuffix(strings.Join(head[1:], " "), ":")
		name := funcName(lines[1])
		for _, l := range lines {
			if c, ok := strings.CutPrefix(l, "created by "); ok {
				name = "created by " + strings.Fields(c)[0]
				break
			}
		}
		out[id] = name + " " + state
	}
	return out
}

// NewGoroutines describes the goroutines of now that base (a GoroutineIDs
// of earlier) did not hold, net of those of the same creator that ended
// since: a connection's reader replaced by the next connection's is no
// leak, but an unrelated goroutine that ended does not hide a new one (a
// net count would: CI saw a leak check pass with a goroutine left over).
func NewGoroutines(base, now map[uint64]string) []string {
	ended := map[string]int{}
	for id, d := range base {
		if _, ok := now[id]; !ok {
			ended[creator(d)]++
		}
	}
	ids := make([]uint64, 0, len(now))
	for id := range now {
		if _, ok := base[id]; !ok {
			ids = append(ids, id)
		}
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	var out []string
	for _, id := range ids {
		d := now[id]
		if c := creator(d); ended[c] > 0 {
			ended[c]--
			continue
		}
		out = append(out, d)
	}
	return out
}

// creator is a GoroutineIDs description without its state ("[select, 2
// minutes]"), which changes while the goroutine waits.
func creator(desc string) string {
	if i := strings.LastIndex(desc, " ["); i >= 0 {
		return desc[:i]
	}
	return desc
}

// funcName is the function of a stack line "pkg.fn(args...)".
func funcName(line string) string {
	if i := strings.LastIndexByte(line, '('); i > 0 {
		return line[:i]
	}
	return line
}

// Summarize groups descriptions (of goroutines, descriptors...) by text,
// most frequent first, at most limit groups: "3× a; 1× b; 2 more".
func Summarize(items []string, limit int) string {
	counts := map[string]int{}
	for _, it := range items {
		counts[it]++
	}
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if counts[keys[i]] != counts[keys[j]] {
			return counts[keys[i]] > counts[keys[j]]
		}
		return keys[i] < keys[j]
	})
	var parts []string
	for i, k := range keys {
		if i == limit {
			parts = append(parts, fmt.Sprintf("%d more", len(keys)-limit))
			break
		}
		parts = append(parts, fmt.Sprintf("%d× %s", counts[k], k))
	}
	return strings.Join(parts, "; ")
}

// Poll calls clean every 50 ms until it reports true or timeout passes, and
// says whether it did: goroutines and descriptors of a finished drill are
// released in the background, so a short wait is normal.
func Poll(timeout time.Duration, clean func() bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		if clean() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
}
