package logs

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeLines writes lines as the log dir/name and returns its path.
func writeLines(t *testing.T, dir, name string, lines ...string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLastSevere(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, lines ...string) string { return writeLines(t, dir, name, lines...) }
	for _, tc := range []struct {
		name, path, want string
		ok               bool
	}{
		{"fatal wins over a later error", write("a.log",
			`{"level":"info","msg":"starting"}`,
			`{"level":"error","msg":"Failed to validate schema","error":"version \"3.7.0\" is not supported"}`,
			`{"level":"fatal","msg":"discovery failed","error":"version \"3.7.0\" is not supported"}`,
			`{"level":"error","msg":"after"}`), `discovery failed: version "3.7.0" is not supported`, true},
		{"the last error without a fatal", write("b.log", `{"level":"error","msg":"one"}`, `not json`, `{"level":"error","msg":"two","error":"e"}`), "two: e", true},
		{"nothing severe", write("c.log", `{"level":"info","msg":"fine"}`, `{"level":"warn","msg":"slow"}`), "", false},
		{"no log", filepath.Join(dir, "missing.log"), "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := LastSevere(tc.path)
			if got != tc.want || ok != tc.ok {
				t.Fatalf("LastSevere = %q, %v; want %q, %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}

// TestPanicExcerpt: the lines before a panic, the panic and the lines after
// it; nothing for a log without one.
func TestPanicExcerpt(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, lines ...string) string { return writeLines(t, dir, name, lines...) }
	p := write("m1.log", "a", "b", "c", `{"level":"panic","msg":"boom"}`, "d", "e", "f")
	if got := strings.Join(PanicExcerpt(p, 2, 2), ","); got != `b,c,{"level":"panic","msg":"boom"},d,e` {
		t.Errorf("excerpt %q", got)
	}
	p = write("m2.log", "x", "panic: runtime error", "", "goroutine 1 [running]:", "main.f()")
	if got := strings.Join(PanicExcerpt(p, 5, 10), ","); got != "x,panic: runtime error,,goroutine 1 [running]:,main.f()" {
		t.Errorf("go panic excerpt %q", got)
	}
	if got := PanicExcerpt(write("m3.log", "a", "b"), 5, 5); got != nil {
		t.Errorf("no panic: %q", got)
	}
	if got := PanicExcerpt(filepath.Join(dir, "none.log"), 5, 5); got != nil {
		t.Errorf("no log: %q", got)
	}
}

// TestLogAfterCloseIsQuiet: a line logged to a closed log file is dropped,
// not reported on stderr (the drill's terminal).
func TestLogAfterCloseIsQuiet(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := os.Stderr
	os.Stderr = w
	lg, closeLog, err := ToFile(filepath.Join(t.TempDir(), "x.log"), 0)
	os.Stderr = stderr
	if err != nil {
		t.Fatal(err)
	}
	closeLog()
	lg.Info("after close")
	_ = lg.Sync()
	w.Close()
	b, _ := io.ReadAll(r)
	if len(b) != 0 {
		t.Errorf("stderr got %q", b)
	}
}
