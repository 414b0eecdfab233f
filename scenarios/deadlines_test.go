package scenarios

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/etcd-drill/etcd-drill/faults"
	"github.com/etcd-drill/etcd-drill/harness"
	"github.com/etcd-drill/etcd-drill/harness/leakcheck"
	"github.com/etcd-drill/etcd-drill/recovery"
)

// TestStepDeadlinesFollowTheDrill: deadlines grow with the writes, the
// members and the election timeout, and the default drill's deadline is far
// above what the drill takes (2 s) yet bounded.
func TestStepDeadlinesFollowTheDrill(t *testing.T) {
	base := DefaultOptions()
	bigger := func(f func(o *Options)) Options {
		o := DefaultOptions()
		f(&o)
		return o
	}
	for _, tc := range []struct {
		name  string
		step  string
		large Options
	}{
		{"more keys, longer workload", "workload", bigger(func(o *Options) { o.Keys *= 10 })},
		{"more keys, longer verify", "verify", bigger(func(o *Options) { o.Keys *= 10 })},
		{"bigger values, longer snapshot", "snapshot", bigger(func(o *Options) { o.Workload.ValueSize *= 100 })},
		{"more members, longer start", "start-cluster", bigger(func(o *Options) { o.Members = 5 })},
		{"more members, longer recovery", "recover", bigger(func(o *Options) { o.Members = 5 })},
		{"slower raft, longer confirmation", "confirm-fault", bigger(func(o *Options) { o.Timing.Election = 5 * time.Second })},
		{"a runbook, longer recovery", "recover", bigger(func(o *Options) { o.Recovery = "runbook" })},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if b, l := base.StepDeadline(tc.step), tc.large.StepDeadline(tc.step); l <= b {
				t.Fatalf("%s: deadline %v for the larger drill, not above %v", tc.step, l, b)
			}
		})
	}
	if d := base.DrillDeadline(); d < time.Minute || d > 30*time.Minute {
		t.Fatalf("default drill deadline %v: want between 1 and 30 minutes", d)
	}
	o := bigger(func(o *Options) {
		o.Timeout = 7 * time.Second
		o.StepDeadlines = map[string]time.Duration{"verify": time.Second}
	})
	if o.DrillDeadline() != 7*time.Second || o.StepDeadline("verify") != time.Second {
		t.Fatalf("--timeout and overrides not taken: %v, %v", o.DrillDeadline(), o.StepDeadline("verify"))
	}
}

// startOneOfThree is a recovery that starts one member of a new
// three-member cluster: it never has quorum, so waiting for it never ends.
type startOneOfThree struct{ recovery.SnapshotRestore }

func (startOneOfThree) Recover(ctx context.Context, env recovery.Env) (recovery.Outcome, error) {
	env.Old.Kill()
	d := env.Drill
	specs, err := d.Plan(harness.Layout{Prefix: "r", Dir: "restored", Token: d.Token + "-r", Size: 3})
	if err != nil {
		return recovery.Outcome{}, err
	}
	c, err := d.StartMembers(ctx, specs[:1])
	return recovery.Outcome{Cluster: c}, err
}

// TestStepDeadlineEndsAHang: a recovery that waits forever for a member
// that cannot become healthy fails at its step's deadline, naming the step,
// what it waited for and the member's log; the run directory is kept as
// evidence; the cleanup runs and nothing else is left.
func TestStepDeadlineEndsAHang(t *testing.T) {
	sc := lookupScenario(t, "quorum-loss/snapshot-restore")
	sc.Recovery = startOneOfThree{}
	o := smallOptions(t)
	o.StepDeadlines = map[string]time.Duration{"recover": 3 * time.Second}
	base := leakcheck.Take()
	start := time.Now()
	rep, err := runDrill(t, sc, o)
	took := time.Since(start)
	if !errors.Is(err, ErrDeadline) {
		t.Fatalf("error %v, want a deadline", err)
	}
	if took > 20*time.Second {
		t.Fatalf("the drill took %v with a 3 s recovery deadline", took)
	}
	dl := rep.Deadline
	if dl == nil || dl.Step != "recover" || dl.Drill || dl.Seconds != 3 {
		t.Fatalf("report deadline %+v, want the recover step's 3 s", dl)
	}
	if !strings.Contains(dl.WaitingFor, "member r1 not healthy") {
		t.Fatalf("waiting for %q, want the member r1 not healthy", dl.WaitingFor)
	}
	if len(dl.Logs) != 1 || filepath.Base(dl.Logs[0]) != "r1.log" {
		t.Fatalf("logs to read %v, want r1's", dl.Logs)
	}
	if len(rep.Failures) != 1 || !strings.Contains(rep.Failures[0], "step recover passed its deadline of 3s") || !strings.Contains(rep.Failures[0], "r1.log") {
		t.Fatalf("failures %q, want the recover step's deadline with r1's log", rep.Failures)
	}
	cleanedUp(t, rep)
	if !rep.Kept || rep.RunDir == "" {
		t.Fatalf("kept=%v run dir %q: a drill that passed a deadline keeps its run dir", rep.Kept, rep.RunDir)
	}
	if _, err := os.Stat(dl.Logs[0]); err != nil {
		t.Fatalf("the log to read is not kept: %v", err)
	}
	if _, err := os.Stat(filepath.Join(rep.RunDir, "report.json")); err != nil {
		t.Fatalf("the kept run dir has no report: %v", err)
	}
	if err := leakcheck.Ports(rep.URLs); err != nil {
		t.Fatal(err)
	}
	if err := base.Goroutines(10 * time.Second); err != nil {
		t.Fatal(err)
	}
}

// stubbornFault ignores its context: its Inject returns only when the
// drill's cleanup runs.
type stubbornFault struct {
	faults.KillMajority
	returned *atomic.Bool
}

func (f stubbornFault) Inject(ctx context.Context, env faults.Env) (harness.Effect, error) {
	release := make(chan struct{})
	env.Drill.OnClose(func(context.Context) error { close(release); return nil })
	<-release
	f.returned.Store(true)
	return harness.Effect{Fault: "stubborn"}, errors.New("released by the cleanup")
}

// TestStepIgnoringItsDeadlineIsLeftBehind: a step that does not return at
// its deadline is left after a grace period so that the cleanup runs (which
// ends what it waits on); the drill then waits for it and ends.
func TestStepIgnoringItsDeadlineIsLeftBehind(t *testing.T) {
	sc := lookupScenario(t, "quorum-loss/snapshot-restore")
	var returned atomic.Bool
	sc.Fault = stubbornFault{returned: &returned}
	o := smallOptions(t)
	o.StepDeadlines = map[string]time.Duration{"fault": time.Second}
	start := time.Now()
	rep, err := runDrill(t, sc, o)
	took := time.Since(start)
	if !errors.Is(err, ErrDeadline) || !strings.Contains(err.Error(), "did not return 5s after it was told to stop") {
		t.Fatalf("error %v, want the fault step abandoned after its deadline", err)
	}
	if !returned.Load() {
		t.Fatal("Run returned before the abandoned step did")
	}
	if took > time.Second+abandonAfter+15*time.Second {
		t.Fatalf("the drill took %v", took)
	}
	cleanedUp(t, rep)
	os.RemoveAll(rep.RunDir)
}

// TestDrillTimeout: the whole drill's deadline ends a long workload, and
// says it was the drill's, not the step's.
func TestDrillTimeout(t *testing.T) {
	sc := lookupScenario(t, "quorum-loss/snapshot-restore")
	o := smallOptions(t)
	o.Keys = 2_000_000
	o.Timeout = 2 * time.Second
	rep, err := runDrill(t, sc, o)
	if !errors.Is(err, ErrDeadline) {
		t.Fatalf("error %v, want the drill's deadline", err)
	}
	if dl := rep.Deadline; dl == nil || !dl.Drill || dl.Step != "workload" {
		t.Fatalf("deadline %+v, want the drill's, in the workload", dl)
	}
	if !strings.Contains(rep.Failures[0], "the drill passed its deadline (--timeout 2s) in step workload") {
		t.Fatalf("failures %q", rep.Failures)
	}
	if rep.Workload.Writes >= o.Keys {
		t.Fatalf("the workload wrote all %d keys: the deadline did not stop it", rep.Workload.Writes)
	}
	os.RemoveAll(rep.RunDir)
}

// TestDiskTooSmallRefused: a work dir with less free space than the drill
// needs is bad input, and nothing is created.
func TestDiskTooSmallRefused(t *testing.T) {
	sc := lookupScenario(t, "quorum-loss/snapshot-restore")
	o := smallOptions(t)
	o.FreeSpace = func(string) (uint64, error) { return 100 << 20, nil }
	if need := o.DiskNeed(); need <= 100<<20 {
		t.Fatalf("a 3-member drill needs %d bytes by the estimate: not above 100 MiB", need)
	}
	rep, err := Run(context.Background(), sc, o)
	if rep != nil || !errors.Is(err, ErrBadInput) || !strings.Contains(err.Error(), "has 100 MiB free") {
		t.Fatalf("report %v, error %v: want bad input naming the free space", rep, err)
	}
	assertEmpty(t, o.BaseDir)
}

// TestDiskRunsShort: free space falling below the floor while the drill
// runs stops it cleanly with a disk-low failure.
func TestDiskRunsShort(t *testing.T) {
	sc := lookupScenario(t, "quorum-loss/snapshot-restore")
	o := smallOptions(t)
	o.Keys = 2_000_000
	var calls atomic.Int32
	o.FreeSpace = func(string) (uint64, error) {
		if calls.Add(1) <= 2 { // the check before the start, and the first poll
			return 100 << 30, nil
		}
		return 10 << 20, nil
	}
	rep, err := runFailPath(t, sc, o)
	if err == nil || !strings.Contains(err.Error(), "disk-low") || !strings.Contains(err.Error(), "10 MiB free") {
		t.Fatalf("error %v, want disk-low", err)
	}
	if rep.Workload.Writes >= o.Keys {
		t.Fatalf("the workload wrote all %d keys: the low disk did not stop it", rep.Workload.Writes)
	}
}
