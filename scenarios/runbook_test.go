package scenarios

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/etcd-drill/etcd-drill/harness/bins"
	"github.com/etcd-drill/etcd-drill/harness/leakcheck"
	"github.com/etcd-drill/etcd-drill/harness/report"
	"github.com/etcd-drill/etcd-drill/harness/verify"
)

// runbookOptions runs the default scenario with the runbook at path.
func runbookOptions(t *testing.T, path string) Options {
	t.Helper()
	if _, err := bins.Find(""); err != nil {
		t.Fatalf("%v (make test builds them)", err)
	}
	o := smallOptions(t)
	o.Recovery, o.Runbook = "runbook", path
	o.RunbookTimeout = 20 * time.Second
	return o
}

func runRunbook(t *testing.T, o Options) *report.Report {
	t.Helper()
	sc, err := Lookup("quorum-loss/snapshot-restore")
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Run(context.Background(), sc, o)
	if rep == nil {
		t.Fatalf("run: %v", err)
	}
	// Whatever the runbook did, nothing it started may be left running.
	if err := leakcheck.Ports(rep.URLs); err != nil {
		t.Error(err)
	}
	return rep
}

func TestRecoveryGuideRunbookPasses(t *testing.T) {
	o := runbookOptions(t, "../recovery/runbooks/recovery-guide.sh")
	rep := runRunbook(t, o)
	if !rep.Passed {
		t.Fatalf("the recovery guide's procedure failed: %v", rep.Failures)
	}
	if !restoredAsExpected(rep.Keys) {
		t.Fatalf("keys %+v", rep.Keys)
	}
	if !rep.Cluster.IDChanged || !rep.Cluster.HashKVConsistent || len(rep.Cluster.Members) != 3 {
		t.Fatalf("cluster %+v", rep.Cluster)
	}
	if rep.Kept || len(rep.RunbookLogs) != 0 {
		t.Fatalf("a passing runbook keeps nothing: kept=%v logs=%v", rep.Kept, rep.RunbookLogs)
	}
	if c := rep.Compaction; c == nil || c.Revision < 2 || !c.WatchRefused {
		t.Fatalf("compaction %+v: want the restored cluster to refuse a watch from below it", c)
	}
	if entries, _ := os.ReadDir(o.BaseDir); len(entries) != 0 {
		t.Fatalf("left %s behind", entries[0].Name())
	}
}

func TestRunbookThatDeletesAKeyFailsWithThatKeyLost(t *testing.T) {
	// Phased: writers running on the restored cluster may put the deleted
	// key again (a writer overwrites its own keys), and then nothing is
	// lost (CI saw it once).
	rep := runRunbook(t, phased(runbookOptions(t, "testdata/runbooks/delete-a-key.sh")))
	if rep.Passed {
		t.Fatal("the drill passed although the runbook deleted a key")
	}
	b, err := os.ReadFile(filepath.Join(rep.RunDir, "runbook", "deleted-key"))
	if err != nil {
		t.Fatalf("the run directory is kept with the runbook's work dir: %v", err)
	}
	deleted := strings.TrimSpace(string(b))
	// The key may be one of a transaction's: then that transaction is
	// partial too, and that is the only other finding.
	var lost int
	for _, f := range rep.Findings {
		switch {
		case f.Key == deleted && f.Kind == "lost":
			lost++
		case f.Key == deleted && f.Kind == verify.KindPartialTxn && rep.Keys.PartialTxns == 1:
		default:
			t.Fatalf("deleted %s; finding %+v", deleted, f)
		}
	}
	if rep.Keys.Lost != 1 || lost != 1 {
		t.Fatalf("deleted %s; keys %+v, findings %+v", deleted, rep.Keys, rep.Findings)
	}
	checkKeptLogs(t, rep)
}

func TestRunbookThatExitsNonZeroFails(t *testing.T) {
	rep := runRunbook(t, runbookOptions(t, "testdata/runbooks/fails.sh"))
	if rep.Passed || !strings.Contains(strings.Join(rep.Failures, "\n"), "exited with status 3") {
		t.Fatalf("failures %v, want the runbook's exit status", rep.Failures)
	}
	checkKeptLogs(t, rep)
	out, err := os.ReadFile(rep.RunbookLogs[len(rep.RunbookLogs)-1])
	if err != nil || !strings.Contains(string(out), "giving up") {
		t.Fatalf("the restore log holds the runbook's output: %q, %v", out, err)
	}
}

func TestRunbookThatLeavesNoHealthyClusterFails(t *testing.T) {
	o := runbookOptions(t, "testdata/runbooks/starts-nothing.sh")
	o.RunbookTimeout = 2 * time.Second
	rep := runRunbook(t, o)
	if rep.Passed || !strings.Contains(strings.Join(rep.Failures, "\n"), "no healthy cluster") {
		t.Fatalf("failures %v, want no healthy cluster", rep.Failures)
	}
	checkKeptLogs(t, rep)
}

// checkKeptLogs: a failed runbook drill keeps its run directory and names
// the runbook's output.
func checkKeptLogs(t *testing.T, rep *report.Report) {
	t.Helper()
	if !rep.Kept || rep.RunDir == "" {
		t.Fatalf("a failed runbook keeps the run directory: kept=%v dir=%q", rep.Kept, rep.RunDir)
	}
	if len(rep.RunbookLogs) != 2 {
		t.Fatalf("runbook logs %v, want backup and restore", rep.RunbookLogs)
	}
	for _, l := range rep.RunbookLogs {
		if _, err := os.Stat(l); err != nil {
			t.Fatalf("runbook log %s: %v", l, err)
		}
	}
	if _, err := os.Stat(filepath.Join(rep.RunDir, "report.json")); err != nil {
		t.Fatalf("kept run directory has no report.json: %v", err)
	}
}

// A runbook stands in for a plain restore only: where the recovery is what
// a scenario asserts, it is refused up front.
func TestRunbookCannotReplaceAnAssertingRecovery(t *testing.T) {
	for _, name := range []string{"corrupt-snapshot/rejected", "copied-db/skip-hash-check", "hazard/old-member-rejoins", "quorum-loss/force-new-cluster"} {
		sc, err := Lookup(name)
		if err != nil {
			t.Fatal(err)
		}
		o := runbookOptions(t, "../recovery/runbooks/recovery-guide.sh")
		rep, err := Run(context.Background(), sc, o)
		if rep != nil || !errors.Is(err, ErrBadInput) || !strings.Contains(err.Error(), "a runbook cannot replace it") {
			t.Fatalf("%s with a runbook: report %v, error %v; want bad input", name, rep, err)
		}
		if entries, _ := os.ReadDir(o.BaseDir); len(entries) != 0 {
			t.Fatalf("%s: bad input left %s behind", name, entries[0].Name())
		}
	}
}

// TestRunbookLogicalRestoreLosesTheCompaction: a logical restore puts every
// key into a brand-new cluster, whose history starts over: a watch from
// below the old compaction is not refused.
func TestRunbookLogicalRestoreLosesTheCompaction(t *testing.T) {
	// Phased: with writes in doubt around the fault, rewritten revisions
	// also make them unexplained (lost, resurrected, not linearizable).
	rep := runRunbook(t, phased(runbookOptions(t, "testdata/runbooks/logical-restore.sh")))
	// It loses the leases too: it puts every key without one.
	var kinds []string
	for _, f := range rep.Failures {
		kind, _, _ := strings.Cut(f, ":")
		if len(kinds) == 0 || kinds[len(kinds)-1] != kind {
			kinds = append(kinds, kind)
		}
	}
	want := []string{verify.KindRevisionRewritten, FindingCompactionLost, verify.KindLeaseLost, verify.KindLeaseNotExpired}
	if !slices.Equal(kinds, want) {
		t.Fatalf("failures %q: want %v", rep.Failures, want)
	}
	if c := rep.Compaction; c == nil || c.WatchRefused {
		t.Fatalf("compaction %+v", c)
	}
	checkKeptLogs(t, rep)
}
