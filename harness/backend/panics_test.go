package backend

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// etcdPanicLog is the end of a real etcd v3.7.3 log (stack traces cut
// short): a member applying a MemberUpdate whose peer URL has no scheme.
// zap logs the panic as JSON, the scheduler that recovers it logs a second
// panic line, then Go prints its own panic and the goroutine trace.
const etcdPanicLog = `{"level":"info","ts":"2026-11-25T04:25:08.826430Z","caller":"embed/serve.go:219","msg":"serving client traffic insecurely; this is strongly discouraged!","traffic":"grpc+http","address":"127.0.0.1:20607"}
{"level":"info","ts":"2026-11-25T04:25:08.832356Z","caller":"membership/cluster.go:560","msg":"updated member","cluster-id":"22eaca3dec201701","local-member-id":"34e15d963f90148c","updated-remote-peer-id":"4920c8cf2d3c5293","updated-remote-peer-urls":["127.0.0.1:2380"],"updated-remote-peer-is-learner":false}
{"level":"panic","ts":"2026-11-25T04:25:08.832370Z","caller":"rafthttp/transport.go:380","msg":"failed NewURLs","urls":["127.0.0.1:2380"],"error":"parse \"127.0.0.1:2380\": first path segment in URL cannot contain colon","stacktrace":"go.etcd.io/etcd/server/v3/etcdserver/api/rafthttp.(*Transport).UpdatePeer\n\tgo.etcd.io/etcd/server/v3@v3.7.3/etcdserver/api/rafthttp/transport.go:380\ngo.etcd.io/etcd/server/v3/etcdserver.(*EtcdServer).applyConfChange\n\tgo.etcd.io/etcd/server/v3@v3.7.3/etcdserver/server.go:2076"}
{"level":"panic","ts":"2026-11-25T04:25:08.832794Z","caller":"schedule/schedule.go:202","msg":"execute job failed","job":"server_applyAll","panic":"failed NewURLs","stacktrace":"go.etcd.io/etcd/pkg/v3/schedule.(*fifo).executeJob.func1\n\tgo.etcd.io/etcd/pkg/v3@v3.7.3/schedule/schedule.go:202"}
panic: failed NewURLs [recovered]
	panic: execute job failed

goroutine 107 [running]:
go.uber.org/zap/zapcore.CheckWriteAction.OnWrite(0x2?, 0x115df18?, {0x0?, 0x0?, 0x22860f19cae0?})
	go.uber.org/zap@v1.27.1/zapcore/entry.go:196 +0x54
go.uber.org/zap/zapcore.(*CheckedEntry).Write(0x22860f3c2a90, {0x22860f2ce200, 0x2, 0x2})
	go.uber.org/zap@v1.27.1/zapcore/entry.go:272 +0x26e
go.etcd.io/etcd/server/v3/etcdserver/api/rafthttp.(*Transport).UpdatePeer(0x22860efc8000, 0x4920c8cf2d3c5293, {0x22860f3a7dd0, 0x1, 0x1})
	go.etcd.io/etcd/server/v3@v3.7.3/etcdserver/api/rafthttp/transport.go:380 +0x34b
created by go.etcd.io/etcd/pkg/v3/schedule.NewFIFOScheduler in goroutine 157
	go.etcd.io/etcd/pkg/v3@v3.7.3/schedule/schedule.go:101 +0x16f
`

const wantNewURLs = `failed NewURLs: parse "127.0.0.1:2380": first path segment in URL cannot contain colon`

// goPanicLog is a real Go panic with no JSON line: a nil dereference, whose
// first frame has no +0x offset.
const goPanicLog = `starting up
panic: runtime error: invalid memory address or nil pointer dereference
[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x4893a0]

goroutine 1 [running]:
main.get(0x1147e9e46738?)
	/tmp/gp/main.go:8
main.main()
	/tmp/gp/main.go:15 +0x2f
`

const infoLog = `{"level":"info","ts":"2026-11-25T04:25:08.826504Z","caller":"etcdmain/main.go:44","msg":"notifying init daemon"}
{"level":"info","ts":"2026-11-25T04:25:08.826598Z","caller":"etcdmain/main.go:50","msg":"successfully notified init daemon"}
{"level":"warn","ts":"2026-11-25T04:25:09.000000Z","caller":"etcdserver/util.go:170","msg":"apply request took too long","took":"120ms","request":"panic: not one, only a request that says so"}
`

func parse(t *testing.T, log string) (Panic, bool) {
	t.Helper()
	return ParsePanic(strings.NewReader(log))
}

func TestParsePanicEtcdJSON(t *testing.T) {
	p, ok := parse(t, etcdPanicLog)
	if !ok {
		t.Fatal("no panic found in an etcd panic log")
	}
	// The first JSON panic line wins, with its error, over the scheduler's
	// second line and Go's own "panic:" line.
	if p.Message != wantNewURLs {
		t.Errorf("message %q, want %q", p.Message, wantNewURLs)
	}
	if p.Caller != "rafthttp/transport.go:380" {
		t.Errorf("caller %q, want rafthttp/transport.go:380", p.Caller)
	}
}

func TestParsePanicJSONWithoutError(t *testing.T) {
	log := `{"level":"panic","ts":"x","caller":"etcdserver/server.go:1","msg":"unexpected sum of modifies","stacktrace":"a\n\tb"}` + "\n"
	p, ok := parse(t, log)
	if !ok || p.Message != "unexpected sum of modifies" || p.Caller != "etcdserver/server.go:1" {
		t.Fatalf("got %+v %v, want the msg alone and its caller", p, ok)
	}
}

func TestParsePanicPlainGo(t *testing.T) {
	p, ok := parse(t, goPanicLog)
	if !ok {
		t.Fatal("no panic found in a Go panic")
	}
	if want := "runtime error: invalid memory address or nil pointer dereference"; p.Message != want {
		t.Errorf("message %q, want %q", p.Message, want)
	}
	if p.Caller != "/tmp/gp/main.go:8" {
		t.Errorf("caller %q, want the first frame /tmp/gp/main.go:8", p.Caller)
	}
}

func TestParsePanicPlainGoOffsetStripped(t *testing.T) {
	log := "panic: boom\n\ngoroutine 7 [running]:\nmain.f()\n\t/src/f.go:12 +0x1d\nmain.main()\n\t/src/main.go:3 +0x9\n"
	p, ok := parse(t, log)
	if !ok || p.Message != "boom" || p.Caller != "/src/f.go:12" {
		t.Fatalf("got %+v %v, want boom at /src/f.go:12", p, ok)
	}
	// A log cut short after the first frame, with no final newline.
	p, ok = parse(t, "panic: boom\n\ngoroutine 7 [running]:\nmain.f()\n\t/src/f.go:12 +0x1d")
	if !ok || p.Message != "boom" || p.Caller != "/src/f.go:12" {
		t.Fatalf("log cut short: got %+v %v, want boom at /src/f.go:12", p, ok)
	}
}

func TestParsePanicNone(t *testing.T) {
	for name, log := range map[string]string{
		"info lines": infoLog,
		"empty":      "",
		// A trace of a goroutine that is not panicking is no panic.
		"goroutine dump": "goroutine 1 [running]:\nmain.main()\n\t/src/main.go:3 +0x9\n",
	} {
		if p, ok := parse(t, log); ok || p != (Panic{}) {
			t.Errorf("%s: got %+v %v, want no panic", name, p, ok)
		}
	}
}

func TestParsePanicAfterLongLines(t *testing.T) {
	for _, n := range []int{64*1024 + 1, 1 << 20, 5 << 20} {
		long := `{"level":"warn","msg":"` + strings.Repeat("x", n) + `"}` + "\n"
		for name, log := range map[string]string{"json": long + etcdPanicLog, "go": long + long + goPanicLog} {
			p, ok := parse(t, log)
			if !ok {
				t.Errorf("%s after a %d-byte line: no panic found", name, n)
				continue
			}
			if name == "json" && p.Message != wantNewURLs {
				t.Errorf("%s after a %d-byte line: message %q", name, n, p.Message)
			}
			if name == "go" && p.Caller != "/tmp/gp/main.go:8" {
				t.Errorf("%s after a %d-byte line: caller %q", name, n, p.Caller)
			}
		}
	}
}

func TestParsePanicFileFromOffset(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m1.log")
	// First run: panics.
	if err := os.WriteFile(path, []byte(etcdPanicLog), 0o644); err != nil {
		t.Fatal(err)
	}
	if p, ok := ParsePanicFile(path, 0); !ok || p.Message != wantNewURLs {
		t.Fatalf("first run from 0: %+v %v", p, ok)
	}
	// Second run, restarted on the same log: starts at the end of the first.
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	second := fi.Size()
	appendTo(t, path, infoLog)
	if p, ok := ParsePanicFile(path, second); ok {
		t.Fatalf("second run without a panic: found %+v from the first run", p)
	}
	// The second run then panics otherwise.
	appendTo(t, path, goPanicLog)
	p, ok := ParsePanicFile(path, second)
	if !ok || !strings.HasPrefix(p.Message, "runtime error:") || p.Caller != "/tmp/gp/main.go:8" {
		t.Fatalf("second run's own panic: got %+v %v", p, ok)
	}
	// From the start, the first run's panic is the first one.
	if p, ok := ParsePanicFile(path, 0); !ok || p.Message != wantNewURLs {
		t.Fatalf("whole log: got %+v %v, want the first run's panic", p, ok)
	}
}

func TestParsePanicFileMissingOrPastEnd(t *testing.T) {
	dir := t.TempDir()
	if p, ok := ParsePanicFile(filepath.Join(dir, "none.log"), 0); ok {
		t.Fatalf("missing file: got %+v", p)
	}
	path := filepath.Join(dir, "m1.log")
	if err := os.WriteFile(path, []byte(etcdPanicLog), 0o644); err != nil {
		t.Fatal(err)
	}
	if p, ok := ParsePanicFile(path, int64(len(etcdPanicLog))+100); ok {
		t.Fatalf("offset past the end: got %+v", p)
	}
}

func appendTo(t *testing.T, path, s string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestParsePanicRecoveredJob: a Go panic etcd's job scheduler recovered and
// logged is named by its panic value and the frame that panicked, not only
// by the scheduler's own "execute job failed" at its own line.
func TestParsePanicRecoveredJob(t *testing.T) {
	trace := "go.etcd.io/etcd/pkg/v3/schedule.(*fifo).executeJob.func1\n\tgo.etcd.io/etcd/pkg/v3@v3.7.3/schedule/schedule.go:202\n" +
		"runtime.gopanic\n\truntime/panic.go:860\n" +
		"go.etcd.io/etcd/pkg/v3/pbutil.MustUnmarshalMessage\n\tgo.etcd.io/etcd/pkg/v3@v3.7.3/pbutil/pbutil.go:63\n" +
		"go.etcd.io/etcd/server/v3/etcdserver/apply.Apply\n\tgo.etcd.io/etcd/server/v3@v3.7.3/etcdserver/apply/apply.go:29"
	line, err := json.Marshal(map[string]string{"level": "panic", "caller": "schedule/schedule.go:202", "msg": "execute job failed",
		"panic": "unmarshal should never fail (bad data)", "stacktrace": trace})
	if err != nil {
		t.Fatal(err)
	}
	p, ok := ParsePanic(strings.NewReader(`{"level":"info","msg":"starting"}` + "\n" + string(line) + "\n"))
	if !ok {
		t.Fatal("no panic found")
	}
	if want := "execute job failed: unmarshal should never fail (bad data)"; p.Message != want {
		t.Errorf("message %q, want %q", p.Message, want)
	}
	if want := "pbutil/pbutil.go:63 in pbutil.MustUnmarshalMessage, recovered at schedule/schedule.go:202"; p.Caller != want {
		t.Errorf("caller %q, want %q", p.Caller, want)
	}
}
