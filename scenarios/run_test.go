package scenarios

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/etcd-drill/etcd-drill/harness/leakcheck"
)

func smallOptions(t *testing.T) Options {
	o := DefaultOptions()
	o.Keys = 300
	o.BaseDir = t.TempDir()
	return o
}

func TestRunLeavesNothingBehind(t *testing.T) {
	sc, err := Lookup("quorum-loss/snapshot-restore")
	if err != nil {
		t.Fatal(err)
	}
	o := smallOptions(t)
	base := leakcheck.Take()
	rep, err := Run(context.Background(), sc, o)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if !rep.Passed {
		t.Fatalf("drill failed: %v", rep.Failures)
	}
	start := time.Now()
	if err := base.Goroutines(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	t.Logf("goroutines drained %v after the run", time.Since(start))
	if len(rep.URLs) != 12 {
		t.Fatalf("report lists %d URLs, want 12 (client and peer of 3 old and 3 restored members)", len(rep.URLs))
	}
	if err := leakcheck.Ports(rep.URLs); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(o.BaseDir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 0 {
		t.Fatalf("run left %d entries in its base dir, first %s", len(entries), entries[0].Name())
	}
}
