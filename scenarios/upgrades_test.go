package scenarios

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/etcd-drill/etcd-drill/faults"
	"github.com/etcd-drill/etcd-drill/harness"
	"github.com/etcd-drill/etcd-drill/harness/bins"
	"github.com/etcd-drill/etcd-drill/harness/leakcheck"
	"github.com/etcd-drill/etcd-drill/harness/workload"
)

// needVersions skips a test without the binaries of the lines it names,
// unless CI is set (.ci/run builds them: there, their absence fails).
func needVersions(t *testing.T, lines ...string) {
	t.Helper()
	for _, l := range lines {
		if _, err := bins.FindVersion("", l); errors.Is(err, bins.ErrNotFound) && os.Getenv("CI") == "" {
			t.Skipf("%v", err)
		}
	}
}

// sabotagedRoll is a rolling upgrade that deletes acknowledged keys behind
// the ledger's back just before its first checkpoint, as an upgrade that
// lost data would: the checkpoint must find them lost, at that stage.
type sabotagedRoll struct {
	faults.RollingUpgrade
}

func (s sabotagedRoll) Inject(ctx context.Context, env faults.Env) (harness.Effect, error) {
	check, first := env.Checkpoint, true
	env.Checkpoint = func(ctx context.Context, st faults.Stage) error {
		if first {
			first = false
			if err := deleteAcked(ctx, env, 20); err != nil {
				return err
			}
		}
		return check(ctx, st)
	}
	return s.RollingUpgrade.Inject(ctx, env)
}

// deleteAcked deletes n keys whose last ledgered write is an acknowledged
// put, none of them a leased key.
func deleteAcked(ctx context.Context, env faults.Env, n int) error {
	last := map[string]workload.Op{}
	var order []string
	for _, op := range env.Ledger.Ops() {
		if _, ok := last[op.Key]; !ok {
			order = append(order, op.Key)
		}
		last[op.Key] = op
	}
	cli, err := env.Cluster.Client()
	if err != nil {
		return err
	}
	for _, k := range order {
		if op := last[k]; n > 0 && op.Kind == workload.Put && op.Outcome == workload.Acknowledged && op.Lease == 0 && op.Txn == 0 {
			if _, err := cli.Delete(ctx, k); err != nil {
				return err
			}
			n--
		}
	}
	return nil
}

// TestUpgradeCheckpointFindsLostKeys: keys deleted behind the ledger's back
// during a roll are found lost at the next member's checkpoint, which names
// the stage and stops the upgrade there.
func TestUpgradeCheckpointFindsLostKeys(t *testing.T) {
	needVersions(t, "3.6")
	sc := lookupScenario(t, "upgrade/rolling")
	sc.Fault = sabotagedRoll{faults.RollingUpgrade{Settle: 10 * time.Second}}
	o := smallOptions(t)
	o.Backend, o.EtcdVersion, o.UpgradeTo, o.TrafficRate = "process", "3.6", "3.7", 500
	rep, err := runDrill(t, sc, o)
	if err == nil || rep.Passed {
		t.Fatalf("drill: %v, passed %v; want it to fail at the first checkpoint", err, rep.Passed)
	}
	if want := "checkpoint: at m1 on 3.7."; !strings.Contains(failedStepError(rep, "fault"), want) || !strings.Contains(failedStepError(rep, "fault"), "lost") {
		t.Fatalf("fault step: %q; want %q and lost keys", failedStepError(rep, "fault"), want)
	}
	if rep.Upgrade == nil || len(rep.Upgrade.Checkpoints) != 1 || rep.Upgrade.Checkpoints[0].Passed || rep.Upgrade.Checkpoints[0].Lost == 0 {
		t.Fatalf("upgrade %+v: want one failed checkpoint with lost keys", rep.Upgrade)
	}
	lost := 0
	for _, f := range rep.Findings {
		if f.Kind == "lost" {
			lost++
		}
	}
	if lost == 0 {
		t.Errorf("findings %v: want the lost keys named", rep.Findings)
	}
	leftNothing(t, rep, o.BaseDir)
}

// TestUpgradeRefusedOnlyAsDeclared: etcd 3.7 on a 3.5 member's data (a line
// skipped) does not come up. With the catalogue's declaration the drill
// expects that: it records the member's panic as an upgrade finding, keeps
// its data dir, rolls it back to 3.5 as an operator would, checks every
// acknowledged write, and passes as refused. Without the declaration the
// same refusal fails the drill.
func TestUpgradeRefusedOnlyAsDeclared(t *testing.T) {
	needVersions(t, "3.5")
	for _, declared := range []bool{true, false} {
		t.Run(map[bool]string{true: "declared", false: "undeclared"}[declared], func(t *testing.T) {
			o := smallOptions(t)
			o.Backend, o.EtcdVersion, o.UpgradeTo, o.Members, o.TrafficRate = "process", "3.5", "3.7", 1, 500
			if !declared {
				o.Incompatibilities = []Incompatibility{}
			}
			base := leakcheck.Take()
			rep, err := runDrill(t, lookupScenario(t, "upgrade/rolling"), o)
			u := rep.Upgrade
			if u == nil || len(u.Findings) == 0 {
				t.Fatalf("drill: %v; upgrade %+v: want an upgrade finding", err, u)
			}
			f := u.Findings[0]
			if f.Member != "m1" || !strings.HasPrefix(f.Version, "3.7.") || !strings.HasPrefix(f.From, "3.5.") || f.DataDir == "" || f.Log == "" ||
				!strings.Contains(f.Message, "unmarshal should never fail") || !strings.Contains(f.Caller, "pbutil") || !strings.Contains(f.Replay, "--etcd-version 3.5 --to 3.7") {
				t.Errorf("finding %+v: want m1's panic on 3.7 from 3.5, its caller, log, data dir and replay", f)
			}
			if !rep.Kept {
				t.Error("the run dir is not kept: the member's data dir is evidence")
			} else if _, err := os.Stat(f.DataDir); err != nil {
				t.Errorf("data dir not kept: %v", err)
			}
			if declared {
				if err != nil || !rep.Passed || !u.RefusedAsDeclared || !strings.Contains(u.Unsupported, "one minor line at a time") {
					t.Fatalf("drill: %v, failures %v, upgrade %+v; want refused as declared", err, rep.Failures, u)
				}
				last := u.Checkpoints[len(u.Checkpoints)-1]
				if !last.Passed || last.Expected == 0 || !strings.Contains(last.Stage, "after etcd refused") {
					t.Errorf("last checkpoint %+v: want every acknowledged write held after the roll back", last)
				}
				if v := rep.MemberVersions["m1"]; v != "" && !strings.HasPrefix(v, "3.5.") {
					t.Errorf("m1 at %s", v)
				}
			} else if err == nil || rep.Passed || u.RefusedAsDeclared || !strings.Contains(failedStepError(rep, "fault"), faults.FindingMemberDown) {
				t.Fatalf("drill: %v, passed %v, fault step %q; want it to fail with %s", err, rep.Passed, failedStepError(rep, "fault"), faults.FindingMemberDown)
			}
			cleanedUp(t, rep)
			if err := base.Goroutines(10 * time.Second); err != nil {
				t.Fatal(err)
			}
			if err := leakcheck.Ports(rep.URLs); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestUpgradePath: --path as given; else --from and --to, with every line
// between them as a hop for upgrade/hops only.
func TestUpgradePath(t *testing.T) {
	hops, rolling := Scenario{Upgrade: UpgradeHops}, Scenario{Upgrade: UpgradeRolling}
	for _, tc := range []struct {
		sc       Scenario
		from, to string
		path     []string
		want     string
	}{
		{hops, "3.5", "3.7", nil, "3.5,3.6,3.7"},
		{hops, "3.5.36", "3.8", nil, "3.5.36,3.6,3.7,3.8"},
		{hops, "3.6", "3.7", nil, "3.6,3.7"},
		{rolling, "3.5", "3.7", nil, "3.5,3.7"},
		{hops, "", "", []string{"3.5", "3.7"}, "3.5,3.7"},
		{rolling, "", "", nil, ""},
		{hops, "3.7", "4.0", nil, "3.7,4.0"},
	} {
		o := Options{EtcdVersion: tc.from, UpgradeTo: tc.to, Path: tc.path}
		if got := strings.Join(o.upgradePath(tc.sc), ","); got != tc.want {
			t.Errorf("%s --from %s --to %s --path %v: %s, want %s", tc.sc.Upgrade, tc.from, tc.to, tc.path, got, tc.want)
		}
	}
}

// TestDowngradeTwoLinesRefused: etcdctl downgrade validate refuses a target
// two lines down (3.7 to 3.5). Declared unsupported, the drill checks the
// cluster and passes as refused; undeclared, it fails with
// downgrade-refused, in etcd's words.
func TestDowngradeTwoLinesRefused(t *testing.T) {
	needVersions(t, "3.5")
	for _, declared := range []bool{true, false} {
		t.Run(map[bool]string{true: "declared", false: "undeclared"}[declared], func(t *testing.T) {
			o := smallOptions(t)
			o.Backend, o.EtcdVersion, o.UpgradeTo, o.Members, o.TrafficRate = "process", "3.7", "3.5", 1, 500
			if !declared {
				o.Incompatibilities = []Incompatibility{}
			}
			rep, err := runDrill(t, lookupScenario(t, "downgrade/one-minor"), o)
			u := rep.Upgrade
			if u == nil {
				t.Fatalf("drill: %v; no upgrade section", err)
			}
			if declared {
				if err != nil || !rep.Passed || !u.RefusedAsDeclared || len(u.Checkpoints) == 0 || !u.Checkpoints[len(u.Checkpoints)-1].Passed {
					t.Fatalf("drill: %v, failures %v, upgrade %+v; want refused as declared, every write checked", err, rep.Failures, u)
				}
			} else if fe := failedStepError(rep, "fault"); err == nil || rep.Passed || !strings.Contains(fe, faults.FindingDowngradeRefused) || !strings.Contains(fe, "downgrade validate 3.5") {
				t.Fatalf("drill: %v, fault step %q; want it to fail with %s", err, fe, faults.FindingDowngradeRefused)
			}
			leftNothing(t, rep, o.BaseDir)
		})
	}
}
