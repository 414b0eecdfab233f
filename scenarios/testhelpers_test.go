package scenarios

// Helpers shared by the drill tests: the fail paths, the hazards, the
// deadlines and the verdict's sabotages run a catalogue scenario, check what
// it left behind, and strike the recovered cluster with test double faults.

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/etcd-drill/etcd-drill/faults"
	"github.com/etcd-drill/etcd-drill/harness"
	"github.com/etcd-drill/etcd-drill/harness/leakcheck"
	"github.com/etcd-drill/etcd-drill/harness/report"
)

// lookupScenario returns the catalogue scenario called name, failing the
// test if there is none.
func lookupScenario(t *testing.T, name string) Scenario {
	t.Helper()
	sc, err := Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

// runDrill runs sc on o and logs the report's steps, notes and hazards; it
// fails the test if Run returned no report.
func runDrill(t *testing.T, sc Scenario, o Options) (*report.Report, error) {
	t.Helper()
	rep, err := Run(context.Background(), sc, o)
	if rep == nil {
		t.Fatalf("run returned no report: %v", err)
	}
	for _, s := range rep.Steps {
		t.Log(report.StepLine(s))
	}
	for _, n := range rep.Notes {
		t.Log("note: " + n)
	}
	for _, h := range rep.Hazards {
		t.Logf("hazard %s: %s", h.Name, h.Detail)
	}
	return rep, err
}

// cleanedUp checks that the drill's last step is a cleanup without error.
func cleanedUp(t *testing.T, rep *report.Report) {
	t.Helper()
	if len(rep.Steps) == 0 {
		t.Fatal("the report has no step")
	}
	if last := rep.Steps[len(rep.Steps)-1]; last.Name != "cleanup" || last.Error != "" {
		t.Fatalf("last step %+v, want a clean cleanup", last)
	}
}

// leftNothing checks what a drill that keeps no run directory leaves once it
// is over: a clean cleanup as its last step, an empty base dir and no member
// still listening on the report's URLs.
func leftNothing(t *testing.T, rep *report.Report, baseDir string) {
	t.Helper()
	cleanedUp(t, rep)
	assertEmpty(t, baseDir)
	if err := leakcheck.Ports(rep.URLs); err != nil {
		t.Fatal(err)
	}
}

// assertEmpty fails the test unless dir exists and holds nothing.
func assertEmpty(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 0 {
		t.Fatalf("%s holds %d entries, first %s", dir, len(entries), entries[0].Name())
	}
}

// strikeRecovered starts the effect of the test double fault called name,
// which strikes the recovered cluster after the recovery, and returns a
// client of that cluster to strike it with.
func strikeRecovered(env faults.Env, name string) (harness.Effect, *clientv3.Client, error) {
	e := harness.Effect{Fault: name, At: time.Now()}
	cli, err := env.Recovered.Client()
	if err != nil {
		return e, nil, fmt.Errorf("test double %s: client of the recovered cluster: %w", name, err)
	}
	return e, cli, nil
}

// onEmbeddedAndProcess runs f on the embedded and the process backends, each
// with smallOptions: a sabotage must fail the drill on both.
func onEmbeddedAndProcess(t *testing.T, f func(t *testing.T, o Options)) {
	t.Helper()
	for _, b := range []string{"embedded", "process"} {
		t.Run(b, func(t *testing.T) {
			o := smallOptions(t)
			o.Backend = b
			f(t, o)
		})
	}
}

// restoredAsExpected says whether a drill's keyspace holds every expected
// key and no other, but for keys a write in doubt explains (which live
// traffic through the fault leaves).
func restoredAsExpected(k report.Keys) bool {
	diff := k.Restored - k.Expected
	return k.Expected > 0 && k.Lost == 0 && k.Resurrected == 0 && diff <= k.Indeterminate && -diff <= k.Indeterminate
}

// phased makes o write on a healthy cluster only: for a test whose double
// needs a history that stands still around the fault.
func phased(o Options) Options {
	o.Traffic = TrafficPhased
	return o
}
