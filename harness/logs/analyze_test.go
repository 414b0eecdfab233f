package logs

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
)

var t0 = time.Date(2026, 12, 3, 8, 1, 2, 0, time.UTC)

// etcdLine is a line as etcd writes it, at t0+at.
func etcdLine(at time.Duration, level, msg string, fields string) string {
	return fmt.Sprintf(`{"level":%q,"ts":%q,"caller":"etcdserver/server.go:2108","msg":%q%s}`+"\n",
		level, t0.Add(at).Format("2006-01-02T15:04:05.000000Z07:00"), msg, fields)
}

const spin = "failed to publish local member to cluster through raft"

// writeLog writes lines to a new file and returns its path.
func writeLog(t *testing.T, lines func(w *bufio.Writer)) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "member.log")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	lines(w)
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// normalMember is a member of a short drill: a boot, a burst of 150 of the
// same line (a restarted member catching up), then 200 varied lines.
func normalMember(w *bufio.Writer, d time.Duration) {
	for i := range 150 {
		w.WriteString(etcdLine(time.Duration(i)*time.Millisecond, "warn", "prober detected unhealthy status", `,"round-tripper-name":"ROUND_TRIPPER_SNAPSHOT","remote-peer-id":"8e9e05c52164694d"`))
	}
	for i := range 200 {
		w.WriteString(etcdLine(200*time.Millisecond+d*time.Duration(i)/200, "info", fmt.Sprintf("message kind %d", i%40), fmt.Sprintf(`,"index":%d`, i)))
	}
}

func TestAnalyzeFlood(t *testing.T) {
	path := writeLog(t, func(w *bufio.Writer) {
		for i := range 50000 {
			w.WriteString(etcdLine(time.Duration(i)*20*time.Second/50000, "warn", spin, `,"publish-timeout":"7s","error":"etcdserver: request timed out"`))
		}
	})
	s, err := Analyze(path)
	if err != nil {
		t.Fatal(err)
	}
	if !s.Flooding() || s.Top != spin || s.TopCount != 50000 || s.Lines != 50000 {
		t.Fatalf("%v: want Flooding, top %q x50000", s, spin)
	}
	if s.First != t0 || s.Last.Sub(s.First) < 19*time.Second || s.LinesPerSecond < 2400 || s.LinesPerSecond > 2600 {
		t.Fatalf("%v: span %v..%v, want 20 s at 2500 lines/s", s, s.First, s.Last)
	}
}

func TestAnalyzeNormalMember(t *testing.T) {
	for _, d := range []time.Duration{500 * time.Millisecond, 10 * time.Second} {
		path := writeLog(t, func(w *bufio.Writer) { normalMember(w, d) })
		s, err := Analyze(path)
		if err != nil {
			t.Fatal(err)
		}
		if s.Flooding() {
			t.Fatalf("over %v: %v is Flooding", d, s)
		}
		if s.Lines != 350 || s.TopCount != 150 || s.Top != "prober detected unhealthy status" || s.DroppedLines != 0 {
			t.Fatalf("over %v: %v, want 350 lines, top the burst of 150", d, s)
		}
	}
}

// TestAnalyzeFloodingThresholds: both sides of each of Flooding's rules.
func TestAnalyzeFloodingThresholds(t *testing.T) {
	for _, tc := range []struct {
		name string
		s    Stats
		want bool
	}{
		{"one message kept FloodRepeats times", Stats{Lines: 5000, TopCount: 5000}, true},
		{"one message kept just under", Stats{Lines: 4999, TopCount: 4999}, false},
		// etcd's sampling keeps a busy message at 100 lines a second: 20 s of it.
		{"a busy sampled message over 20 s", Stats{Lines: 2300, TopCount: 2000, LinesPerSecond: 115}, false},
		{"a small cap over a flood", Stats{Lines: 3000, DroppedLines: 9000, TopCount: 2900, LinesPerSecond: 1200}, true},
		{"a small cap, the flood too slow", Stats{Lines: 3000, DroppedLines: 9000, TopCount: 2900, LinesPerSecond: 499}, false},
		{"a small cap, too few lines", Stats{Lines: 3000, DroppedLines: 6999, TopCount: 2900, LinesPerSecond: 1200}, false},
		{"a small cap over many messages", Stats{Lines: 3000, DroppedLines: 9000, TopCount: 1000, LinesPerSecond: 1200}, false},
	} {
		if got := tc.s.Flooding(); got != tc.want {
			t.Errorf("%s: %v Flooding = %v, want %v", tc.name, tc.s, got, tc.want)
		}
	}
}

// TestAnalyzeCappedFlood: a member spinning at etcd's sampled rate (1,000
// lines a second for 12 s) into a small cap keeps fewer than FloodRepeats of
// its message, and is still Flooding by the marker's counts.
func TestAnalyzeCappedFlood(t *testing.T) {
	path := filepath.Join(t.TempDir(), "member.log")
	c, err := OpenCapped(path, 512<<10)
	if err != nil {
		t.Fatal(err)
	}
	var buf strings.Builder
	bw := bufio.NewWriter(&buf)
	normalMember(bw, 0)
	bw.Flush()
	c.Write([]byte(buf.String()))
	const n = 12000
	for i := range n {
		c.Write([]byte(etcdLine(time.Second+time.Duration(i)*time.Millisecond, "warn", spin, `,"publish-timeout":"7s","error":"etcdserver: request timed out"`)))
	}
	c.Write([]byte(etcdLine(time.Second+n*time.Millisecond, "info", "received signal; shutting down", `,"signal":"terminated"`)))
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	s, err := Analyze(path)
	if err != nil {
		t.Fatal(err)
	}
	if s.DroppedLines == 0 || s.TopCount >= FloodRepeats || s.Top != spin || !s.Flooding() {
		t.Fatalf("%v: want dropped lines, fewer than %d of the spin kept, Flooding", s, FloodRepeats)
	}
	if total := s.Lines + s.DroppedLines; total != 350+n+1 || s.DroppedBytes != c.Stats().DroppedBytes {
		t.Fatalf("%v: %d lines kept and dropped, want %d; writer %+v", s, total, 350+n+1, c.Stats())
	}
	if s.Last != t0.Add(time.Second+n*time.Millisecond) {
		t.Fatalf("Last %v: not the tail's last line", s.Last)
	}
}

func TestAnalyzeFormats(t *testing.T) {
	path := writeLog(t, func(w *bufio.Writer) {
		w.WriteString(`{"level":"info","ts":"2026-12-03T08:01:02.123Z","caller":"embed/etcd.go:1","msg":"starting"}` + "\n")
		w.WriteString(`{"level":"info","ts":"2026-12-03T09:01:03.500+0100","msg":"quoted \"name\" \u00e9","n":1}` + "\r\n")
		w.WriteString("\n")
		w.WriteString("panic: failed NewURLs\n")
		w.WriteString("goroutine 1 [running]:\n")
		w.WriteString(`{"ts":1796284863.25,"level":"info","message":"no msg key"}` + "\n")
		w.WriteString(`{"level":"info", "ts": "2026-12-03T08:01:01.000001Z", "msg": "spaced"}` + "\n")
		w.WriteString(`{"level":"info","ts":"2026-12-03T08:01:04.123456Z","msg":"quoted \"name\" \u00e9"}`) // no newline at the end
	})
	s, err := Analyze(path)
	if err != nil {
		t.Fatal(err)
	}
	if s.Lines != 7 {
		t.Fatalf("%v: want 7 lines (the blank one not counted)", s)
	}
	if s.Top != `quoted "name" é` || s.TopCount != 2 {
		t.Fatalf("%v: want the unquoted message twice on top", s)
	}
	first := time.Date(2026, 12, 3, 8, 1, 1, 1000, time.UTC)
	last := time.Date(2026, 12, 3, 8, 1, 4, 123456000, time.UTC)
	if !s.First.Equal(first) || !s.Last.Equal(last) {
		t.Fatalf("span %v..%v, want %v..%v", s.First, s.Last, first, last)
	}
	if s.LinesPerSecond < 7/3.2 || s.LinesPerSecond > 7/3.0 {
		t.Fatalf("%v lines/s over %v", s.LinesPerSecond, s.Last.Sub(s.First))
	}
	if ts, ok := parseTS([]byte("1796284863.25")); !ok || ts.Unix() != 1796284863 {
		t.Fatalf("epoch ts read as %v, %v", ts, ok)
	}
	if _, err := Analyze(filepath.Join(t.TempDir(), "none.log")); err == nil {
		t.Fatal("Analyze of a missing file succeeded")
	}
}

// TestAnalyzeLongLines: lines over 1 MiB, JSON or not, are counted and
// their messages read.
func TestAnalyzeLongLines(t *testing.T) {
	big := strings.Repeat("a", 3<<20)
	path := writeLog(t, func(w *bufio.Writer) {
		w.WriteString(etcdLine(0, "info", "big request", `,"request":"`+big+`"`))
		w.WriteString(etcdLine(time.Second, "info", "after", ""))
		w.WriteString(big + "\n")
		w.WriteString(etcdLine(2*time.Second, "info", "big request", `,"request":"`+big[:2<<20]+`"`))
		w.WriteString(etcdLine(3*time.Second, "info", "last", ""))
	})
	s, err := Analyze(path)
	if err != nil {
		t.Fatal(err)
	}
	if s.Lines != 5 || s.Top != "big request" || s.TopCount != 2 || !s.Last.Equal(t0.Add(3*time.Second)) {
		t.Fatalf("%v, last %v: want 5 lines, big request twice, last at +3s", s, s.Last)
	}
}

// TestAnalyzeSpeed: a 32 MiB log (a capped flood's worth) reads in well
// under a second.
func TestAnalyzeSpeed(t *testing.T) {
	path := writeLog(t, func(w *bufio.Writer) {
		for i, n := 0, 0; n < DefaultMaxBytes; i++ {
			msg := spin
			if i%10 == 0 {
				msg = fmt.Sprintf("other message %d", i%1000)
			}
			k, _ := w.WriteString(etcdLine(time.Duration(i)*100*time.Microsecond, "warn", msg, `,"publish-timeout":"7s","error":"etcdserver: request timed out"`))
			n += k
		}
	})
	start := time.Now()
	s, err := Analyze(path)
	took := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("Analyze of 32 MiB (%d lines): %v", s.Lines, took)
	if !s.Flooding() || s.Top != spin {
		t.Fatalf("%v: want Flooding by %q", s, spin)
	}
	if limit := analyzeSpeedLimit; took > limit {
		t.Fatalf("Analyze of 32 MiB took %v, want under %v", took, limit)
	}
}

// TestToFileSamples: ToFile's logger samples a repeated message as etcd's
// does, and leaves other messages alone.
func TestToFileSamples(t *testing.T) {
	path := filepath.Join(t.TempDir(), "member.log")
	lg, closeLog, err := ToFile(path, DefaultMaxBytes)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 10000 {
		lg.Info(spin, zap.Int("i", i))
	}
	lg.Info("other")
	closeLog()
	s, err := Analyze(path)
	if err != nil {
		t.Fatal(err)
	}
	// 100 a second, then every 100th: 199 within one second, under 500
	// however the seconds fall.
	if s.Top != spin || s.TopCount < 100 || s.TopCount >= 500 || s.Lines != s.TopCount+1 {
		t.Fatalf("%v: want 100 to 500 of 10,000 identical messages and the other one", s)
	}
}

// TestToFileCaps: ToFile's logger writes through a Capped writer.
func TestToFileCaps(t *testing.T) {
	path := filepath.Join(t.TempDir(), "member.log")
	lg, closeLog, err := ToFile(path, 64<<10)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5000 {
		lg.Info(fmt.Sprintf("message %d", i)) // all distinct: no sampling
	}
	lg.Info("the end")
	closeLog()
	closeLog() // twice is harmless
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() > 64<<10+300 {
		t.Fatalf("log is %d bytes, budget %d", fi.Size(), 64<<10)
	}
	s, err := Analyze(path)
	if err != nil {
		t.Fatal(err)
	}
	if s.DroppedLines == 0 || s.Lines+s.DroppedLines != 5001 {
		t.Fatalf("%v: want dropped lines, 5001 in all", s)
	}
	data, _ := os.ReadFile(path)
	if !strings.HasSuffix(string(data), "\"msg\":\"the end\"}\n") || !strings.Contains(string(data), `"msg":"message 0"`) {
		t.Fatal("the capped log lost its first or last message")
	}
}
