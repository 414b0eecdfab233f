package observe

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// spinLog writes an etcd-like JSON log: boot lines, optionally an applied
// leader snapshot, and refused publishes.
func spinLog(t *testing.T, snapshot uint64, refused int, otherError bool) string {
	t.Helper()
	var b strings.Builder
	b.WriteString(`{"level":"info","ts":"2026-12-03T08:00:00.000000Z","caller":"embed/etcd.go:1","msg":"starting an etcd server"}` + "\n")
	if snapshot > 0 {
		fmt.Fprintf(&b, `{"level":"info","ts":"2026-12-03T08:00:00.100000Z","msg":"applied snapshot","current-snapshot-index":0,"current-applied-index":0,"incoming-leader-snapshot-index":%d,"incoming-leader-snapshot-term":3}`+"\n", snapshot)
	}
	errText := "etcdserver: too many requests"
	if otherError {
		errText = "etcdserver: request timed out"
	}
	for i := range refused {
		fmt.Fprintf(&b, `{"level":"warn","ts":"2026-12-03T08:00:05.%06dZ","msg":"failed to publish local member to cluster through raft","publish-timeout":"5.5s","error":%q}`+"\n", i, errText)
	}
	p := filepath.Join(t.TempDir(), "m.log")
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPublishSpin(t *testing.T) {
	for _, tc := range []struct {
		name       string
		snapshot   uint64
		refused    int
		otherError bool
		want       bool
	}{
		{"a spin after a leader snapshot", 10129, 500, false, true},
		{"a spin without the snapshot line", 0, 50, false, true},
		{"a restarted member's short burst at boot", 0, spinLines - 1, false, false},
		{"publishes that time out are no spin", 10129, 500, true, false},
		{"no refused publish", 10129, 0, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sp, spinning, err := PublishSpin(spinLog(t, tc.snapshot, tc.refused, tc.otherError))
			if err != nil {
				t.Fatal(err)
			}
			if spinning != tc.want {
				t.Fatalf("spinning %v, want %v (%+v)", spinning, tc.want, sp)
			}
			if !tc.want {
				return
			}
			if sp.Refused != tc.refused || sp.SnapshotIndex != tc.snapshot || sp.Since.IsZero() {
				t.Fatalf("spin %+v: want %d refused after snapshot %d, with a time", sp, tc.refused, tc.snapshot)
			}
			wantLines := 3
			if tc.snapshot > 0 {
				wantLines = 4
				if !strings.Contains(sp.Excerpt[0], "applied snapshot") {
					t.Fatalf("excerpt starts %q, want the applied snapshot", sp.Excerpt[0])
				}
			}
			if len(sp.Excerpt) != wantLines || !strings.Contains(sp.Excerpt[len(sp.Excerpt)-1], "too many requests") {
				t.Fatalf("excerpt %q", sp.Excerpt)
			}
		})
	}
	if _, _, err := PublishSpin(filepath.Join(t.TempDir(), "missing.log")); err == nil {
		t.Fatal("a missing log is no error")
	}
}

// TestLinesLongLine: a line over maxLine is cut, not the end of the reading.
func TestLinesLongLine(t *testing.T) {
	in := "a\n" + strings.Repeat("x", maxLine+10) + "\nb"
	var got []int
	if err := Lines(strings.NewReader(in), func(l string) bool { got = append(got, len(l)); return true }); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != fmt.Sprint([]int{1, maxLine, 1}) {
		t.Fatalf("line lengths %v", got)
	}
}
