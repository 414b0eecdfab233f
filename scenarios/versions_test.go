package scenarios

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/etcd-drill/etcd-drill/faults"
	"github.com/etcd-drill/etcd-drill/harness/bins"
	"github.com/etcd-drill/etcd-drill/harness/leakcheck"
	"github.com/etcd-drill/etcd-drill/harness/report"
)

// TestOtherEtcdVersions runs the default drill on the process backend on
// each other minor line `make bins-all` builds: every member says (Status)
// it runs that line, the snapshot is handled by that line's own tools, and
// nothing is lost or left behind. Without those binaries it is skipped,
// saying how to build them, unless CI is set (.ci/run builds them).
func TestOtherEtcdVersions(t *testing.T) {
	for _, line := range []string{"3.5", "3.6"} {
		t.Run(line, func(t *testing.T) {
			b, err := bins.FindVersion("", line)
			if errors.Is(err, bins.ErrNotFound) && os.Getenv("CI") == "" {
				t.Skipf("%v", err)
			}
			if err != nil {
				t.Fatal(err)
			}
			full, err := b.Version()
			if err != nil {
				t.Fatal(err)
			}
			o := smallOptions(t)
			o.Backend, o.EtcdVersion = "process", line
			base := leakcheck.Take()
			rep, err := runDrill(t, lookupScenario(t, "quorum-loss/snapshot-restore"), o)
			if err != nil || !rep.Passed {
				t.Fatalf("drill on etcd %s: %v, failures %v", full, err, rep.Failures)
			}
			if rep.EtcdVersion != full || len(rep.MemberVersions) != 2*o.Members {
				t.Fatalf("etcd_version %q, member_versions %v: want %s for the %d old and %d restored members", rep.EtcdVersion, rep.MemberVersions, full, o.Members, o.Members)
			}
			for name, v := range rep.MemberVersions {
				if v != full {
					t.Errorf("member %s says it runs %s, want %s", name, v, full)
				}
			}
			noted := false
			for _, n := range rep.Notes {
				noted = noted || strings.Contains(n, "restored by its etcdutl ("+b.Dir+")")
			}
			if !noted {
				t.Errorf("no note names %s's etcdutl: %v", full, rep.Notes)
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

// TestRestoreOnAnOlderLine restores a 3.7 snapshot on 3.6 (the declared
// incompatibility of the matrix): etcd 3.6 refuses the 3.7 schema, in its
// own words; with the operator's migrate first, it panics on the cluster
// version the db keeps. Either way the drill fails at the recovery, saying
// what etcd said, and leaves nothing behind.
func TestRestoreOnAnOlderLine(t *testing.T) {
	if _, err := bins.FindVersion("", "3.6"); errors.Is(err, bins.ErrNotFound) && os.Getenv("CI") == "" {
		t.Skipf("%v", err)
	}
	// A snapshot taken before the 3.7 leader wrote the storage version
	// (its first seconds) passes 3.6's schema check: 3.6 then panics on
	// the cluster version instead. Either is etcd's refusal (CI saw both).
	panics := `panic "invalid downgrade; server version is lower than determined cluster version"`
	for _, tc := range []struct {
		migrate bool
		want    []string
	}{
		{false, []string{`its log says: discovery failed: version "3.7.0" is not supported`, panics}},
		{true, []string{panics}},
	} {
		t.Run(fmt.Sprintf("migrate=%v", tc.migrate), func(t *testing.T) {
			o := smallOptions(t)
			o.Backend, o.EtcdVersion, o.RestoreVersion, o.Migrate = "process", "3.7", "3.6", tc.migrate
			base := leakcheck.Take()
			rep, err := runDrill(t, lookupScenario(t, "quorum-loss/snapshot-restore"), o)
			said := failedStepError(rep, "recover")
			if err == nil || rep.Passed || !slices.ContainsFunc(tc.want, func(w string) bool { return strings.Contains(said, w) }) {
				t.Fatalf("drill: %v, recover step %q; want it refused with one of %q", err, said, tc.want)
			}
			if rep.RestoreVersion != "3.6.17" && !strings.HasPrefix(rep.RestoreVersion, "3.6.") {
				t.Errorf("restore_version %q, want 3.6.x", rep.RestoreVersion)
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

func failedStepError(rep *report.Report, name string) string {
	for _, s := range rep.Steps {
		if s.Name == name {
			return s.Error
		}
	}
	return ""
}

// TestRollingUpgrade rolls a 3.6 cluster to 3.7 under traffic, the middle
// member killed: every member then runs 3.7, the cluster version has moved,
// and every acknowledged write is there. A roll that leaves a member on
// 3.6 (a test double) fails the fault's confirmation, naming it.
func TestRollingUpgrade(t *testing.T) {
	if _, err := bins.FindVersion("", "3.6"); errors.Is(err, bins.ErrNotFound) && os.Getenv("CI") == "" {
		t.Skipf("%v", err)
	}
	for _, tc := range []struct {
		name string
		skip int
		want string
	}{
		{"every member", 0, ""},
		{"m3 left behind", 3, "not-upgraded: member m3 runs 3.6."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc := lookupScenario(t, "upgrade/rolling")
			sc.Fault = faults.RollingUpgrade{Skip: tc.skip, Settle: 10 * time.Second}
			o := smallOptions(t)
			o.Backend, o.EtcdVersion, o.UpgradeTo = "process", "3.6", "3.7"
			base := leakcheck.Take()
			rep, err := runDrill(t, sc, o)
			if tc.want != "" {
				if err == nil || rep.Passed || !strings.Contains(failedStepError(rep, "confirm-fault"), tc.want) {
					t.Fatalf("drill: %v, confirm-fault %q; want it to fail with %q", err, failedStepError(rep, "confirm-fault"), tc.want)
				}
			} else {
				if err != nil || !rep.Passed || rep.Keys.Lost != 0 || rep.Keys.Resurrected != 0 {
					t.Fatalf("drill: %v, failures %v, keys %+v", err, rep.Failures, rep.Keys)
				}
				if !strings.Contains(rep.Fault.Detail, "m2 killed and started on 3.7.") || !strings.Contains(rep.Fault.Detail, "cluster version 3.7.0") {
					t.Errorf("fault detail %q: want the killed member and the cluster version moved", rep.Fault.Detail)
				}
				if v := rep.MemberVersions["m1"]; !strings.HasPrefix(v, "3.7.") {
					t.Errorf("m1 runs %q at the verify, want 3.7.x", v)
				}
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
