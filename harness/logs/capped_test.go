package logs

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// numbered is line i of a test log: its number, then filler of a length
// that varies with i, so that a line cut anywhere is told from a whole one.
func numbered(i int) string {
	return fmt.Sprintf("line %07d %s end\n", i, strings.Repeat("x", 20+i*7919%180))
}

// checkNumbered parses a line numbered wrote, or fails.
func checkNumbered(t *testing.T, line string) int {
	t.Helper()
	f := strings.Fields(line)
	if len(f) != 4 || f[0] != "line" || f[3] != "end" {
		t.Fatalf("line %q is not whole", line)
	}
	i, err := strconv.Atoi(f[1])
	if err != nil || numbered(i) != line+"\n" {
		t.Fatalf("line %q is not whole", line)
	}
	return i
}

// marker is the cap's marker line as the tests read it back.
type marker = markerLine

// split reads a capped log: the lines before its marker, the marker (if
// any) and the lines after it.
func split(t *testing.T, data []byte) (head []string, m *marker, tail []string) {
	t.Helper()
	if len(data) > 0 && data[len(data)-1] != '\n' {
		t.Fatalf("log does not end with a newline: ...%q", data[max(0, len(data)-80):])
	}
	for _, l := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
		if strings.HasPrefix(l, "{") {
			if m != nil {
				t.Fatalf("a second marker: %s", l)
			}
			m = new(marker)
			if err := json.Unmarshal([]byte(l), m); err != nil {
				t.Fatalf("marker %q: %v", l, err)
			}
			continue
		}
		if m == nil {
			head = append(head, l)
		} else {
			tail = append(tail, l)
		}
	}
	return head, m, tail
}

func TestCappedKeepsHeadAndTail(t *testing.T) {
	const budget = 1 << 20
	path := filepath.Join(t.TempDir(), "m.log")
	c, err := OpenCapped(path, budget)
	if err != nil {
		t.Fatal(err)
	}
	var all []string
	total := 0
	for i := 0; total < 10<<20; i++ {
		l := numbered(i)
		all = append(all, l)
		total += len(l)
	}
	// One Write a line, as zap writes.
	for _, l := range all {
		if n, err := c.Write([]byte(l)); n != len(l) || err != nil {
			t.Fatalf("Write = %d, %v", n, err)
		}
	}
	if c.ring == nil {
		t.Fatal("no tail ring past the head")
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := c.Write([]byte("late\n")); err == nil {
		t.Fatal("Write after Close succeeded")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	head, m, tail := split(t, data)
	if m == nil {
		t.Fatal("no marker in a capped log")
	}
	// Exactly: the head is the longest run of whole lines within half the
	// budget; the tail the longest run of last lines within what is left.
	wantHead, hb := 0, 0
	for hb+len(all[wantHead]) <= budget/2 {
		hb += len(all[wantHead])
		wantHead++
	}
	wantTail, tb := 0, 0
	for tb+len(all[len(all)-1-wantTail]) <= budget-hb {
		tb += len(all[len(all)-1-wantTail])
		wantTail++
	}
	if len(head) != wantHead || len(tail) != wantTail {
		t.Fatalf("kept %d head and %d tail lines, want %d and %d", len(head), len(tail), wantHead, wantTail)
	}
	for i, l := range head {
		if n := checkNumbered(t, l); n != i {
			t.Fatalf("head line %d is number %d", i, n)
		}
	}
	for i, l := range tail {
		if n, want := checkNumbered(t, l), len(all)-wantTail+i; n != want {
			t.Fatalf("tail line %d is number %d, want %d", i, n, want)
		}
	}
	dropLines := int64(len(all) - wantHead - wantTail)
	dropBytes := int64(total - hb - tb)
	if m.DroppedLines != dropLines || m.DroppedBytes != dropBytes || m.MaxLogBytes != budget || m.Msg != CappedMsg || m.Level != "warn" {
		t.Fatalf("marker %+v, want %d lines and %d bytes dropped of budget %d", *m, dropLines, dropBytes, budget)
	}
	if int64(len(data)) > budget+300 {
		t.Fatalf("capped log is %d bytes, budget %d", len(data), budget)
	}
	st := c.Stats()
	if st.Bytes != int64(total) || st.Lines != int64(len(all)) || st.DroppedLines != dropLines || st.DroppedBytes != dropBytes {
		t.Fatalf("Stats %+v, want %d bytes, %d lines, dropped %d lines, %d bytes", st, total, len(all), dropLines, dropBytes)
	}
}

// TestCappedChunks writes 10 MB of lines in chunks that cut lines anywhere,
// as exec's copier does: every kept line is whole, the first and last are
// kept, and the marker's counts add up.
func TestCappedChunks(t *testing.T) {
	const budget = 1 << 20
	for seed := uint64(1); seed <= 3; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "m.log")
			if err := os.WriteFile(path, []byte("earlier run\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			c, err := OpenCapped(path, budget)
			if err != nil {
				t.Fatal(err)
			}
			if c.Offset() != int64(len("earlier run\n")) {
				t.Fatalf("Offset %d, want the size of the earlier run", c.Offset())
			}
			var buf bytes.Buffer
			n := 0
			for ; buf.Len() < 10<<20; n++ {
				buf.WriteString(numbered(n))
			}
			all := buf.Bytes()
			rng := rand.New(rand.NewPCG(seed, seed))
			for p := all; len(p) > 0; {
				k := min(len(p), 1+rng.IntN(40000))
				c.Write(p[:k])
				p = p[k:]
			}
			if err := c.Close(); err != nil {
				t.Fatal(err)
			}
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			data = bytes.TrimPrefix(data, []byte("earlier run\n"))
			if len(data) > budget+300 {
				t.Fatalf("log is %d bytes, budget %d", len(data), budget)
			}
			head, m, tail := split(t, data)
			if m == nil || len(head) == 0 || len(tail) == 0 {
				t.Fatalf("%d head lines, marker %v, %d tail lines", len(head), m, len(tail))
			}
			for _, l := range append(head, tail...) {
				checkNumbered(t, l)
			}
			if checkNumbered(t, head[0]) != 0 || checkNumbered(t, tail[len(tail)-1]) != n-1 {
				t.Fatalf("first kept %q, last kept %q: want lines 0 and %d", head[0], tail[len(tail)-1], n-1)
			}
			kept := int64(len(data)) - int64(len(mustMarshal(t, m)))
			if m.DroppedBytes != int64(len(all))-kept || m.DroppedLines != int64(n-len(head)-len(tail)) {
				t.Fatalf("marker %+v: kept %d of %d bytes, %d+%d of %d lines", *m, kept, len(all), len(head), len(tail), n)
			}
		})
	}
}

func mustMarshal(t *testing.T, m *marker) []byte {
	t.Helper()
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n')
}

func TestCappedUnderBudgetOrUncapped(t *testing.T) {
	var want bytes.Buffer
	for i := range 5000 {
		want.WriteString(numbered(i))
	}
	for _, budget := range []int64{0, -1, int64(want.Len()), int64(want.Len()) + 1} {
		path := filepath.Join(t.TempDir(), "m.log")
		c, err := OpenCapped(path, budget)
		if err != nil {
			t.Fatal(err)
		}
		for p := want.Bytes(); len(p) > 0; p = p[min(len(p), 3000):] {
			c.Write(p[:min(len(p), 3000)])
		}
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
		got, _ := os.ReadFile(path)
		if !bytes.Equal(got, want.Bytes()) {
			t.Fatalf("budget %d: the log differs from what was written (%d bytes, want %d)", budget, len(got), want.Len())
		}
		if st := c.Stats(); st.DroppedBytes != 0 || st.Lines != 5000 || st.Bytes != int64(want.Len()) {
			t.Fatalf("budget %d: Stats %+v", budget, st)
		}
	}
}

func TestCappedNoRingBeforeTheHeadEnds(t *testing.T) {
	c, err := OpenCapped(filepath.Join(t.TempDir(), "m.log"), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i := 0; i < 1000; i++ {
		c.Write([]byte(numbered(i)))
	}
	if c.ring != nil {
		t.Fatal("tail ring allocated before the head is full")
	}
}

// TestCappedLongLines: lines longer than the head, the tail or the whole
// budget leave a log of whole lines and a marker.
func TestCappedLongLines(t *testing.T) {
	const budget = 4096
	path := filepath.Join(t.TempDir(), "m.log")
	c, err := OpenCapped(path, budget)
	if err != nil {
		t.Fatal(err)
	}
	long := func(i, n int) string { return fmt.Sprintf("long %d %s\n", i, strings.Repeat("y", n)) }
	lines := []string{"short a\n", long(1, 1500), long(2, 10000), "short b\n", long(3, 3000), "short c\n", "short d\n"}
	// The second long line in pieces: the head holds its start.
	c.Write([]byte(lines[0] + lines[1] + lines[2][:100]))
	c.Write([]byte(lines[2][100:5000]))
	c.Write([]byte(lines[2][5000:] + lines[3]))
	c.Write([]byte(lines[4]))
	c.Write([]byte(lines[5] + lines[6]))
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	head, m, tail := split(t, data)
	if m == nil {
		t.Fatalf("no marker in\n%s", data)
	}
	if len(data) > budget+300 {
		t.Fatalf("log is %d bytes, budget %d", len(data), budget)
	}
	// The head keeps short a and long 1 whole, and cuts long 2 (dropping its
	// rest); the tail keeps the last lines that fit whole.
	if len(head) != 3 || head[0]+"\n" != lines[0] || head[1]+"\n" != lines[1] || !strings.HasPrefix(lines[2], head[2]) {
		t.Fatalf("head %.40q", head)
	}
	if want := []string{"short c", "short d"}; len(tail) < 2 || strings.Join(tail[len(tail)-2:], ",") != strings.Join(want, ",") {
		t.Fatalf("tail %.40q, want it to end with %q", tail, want)
	}
	for _, l := range tail {
		if !slicesContains(lines, l+"\n") {
			t.Fatalf("tail line %.40q is not whole", l)
		}
	}
	st := c.Stats()
	if st.Lines != int64(len(lines)) || m.DroppedBytes != st.DroppedBytes {
		t.Fatalf("Stats %+v, marker %+v", st, *m)
	}
}

func slicesContains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// TestCappedConcurrentWriters: writers from many goroutines (run with
// -race) leave whole lines, and every line is kept or counted as dropped.
func TestCappedConcurrentWriters(t *testing.T) {
	const writers, each, budget = 8, 3000, 64 << 10
	path := filepath.Join(t.TempDir(), "m.log")
	c, err := OpenCapped(path, budget)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range writers {
		wg.Go(func() {
			for i := range each {
				l := fmt.Sprintf("writer %d line %d %s\n", g, i, strings.Repeat("z", i%50))
				if _, err := c.Write([]byte(l)); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Add(1)
	go func() { defer wg.Done(); _ = c.Stats() }()
	wg.Wait()
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	head, m, tail := split(t, data)
	if m == nil {
		t.Fatal("no marker")
	}
	for _, l := range append(head, tail...) {
		var g, i int
		if n, _ := fmt.Sscanf(l, "writer %d line %d", &g, &i); n != 2 || l != fmt.Sprintf("writer %d line %d %s", g, i, strings.Repeat("z", i%50)) {
			t.Fatalf("line %q is not whole", l)
		}
	}
	if got := int64(len(head)+len(tail)) + m.DroppedLines; got != writers*each {
		t.Fatalf("%d kept + %d dropped lines, want %d", len(head)+len(tail), m.DroppedLines, writers*each)
	}
	if len(data) > budget+300 {
		t.Fatalf("log is %d bytes, budget %d", len(data), budget)
	}
}

func TestBudget(t *testing.T) {
	for in, want := range map[int64]int64{0: DefaultMaxBytes, -1: 0, 4096: 4096} {
		if got := Budget(in); got != want {
			t.Errorf("Budget(%d) = %d, want %d", in, got, want)
		}
	}
}
