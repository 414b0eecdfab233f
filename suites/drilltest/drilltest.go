// Package drilltest runs a scenario inside a Ginkgo spec and checks, when
// the spec ends, that the drill left no goroutine, listening port or run
// directory behind.
package drilltest

import (
	"context"
	"os"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/etcd-drill/etcd-drill/harness/backend/container"
	"github.com/etcd-drill/etcd-drill/harness/leakcheck"
	"github.com/etcd-drill/etcd-drill/harness/report"
	"github.com/etcd-drill/etcd-drill/scenarios"
)

// Backends are the backends the suites run on, each a Ginkgo label.
func Backends() []string { return []string{"embedded", "process", "container"} }

// SkipWithoutDocker skips a container spec, saying so plainly, when no
// Docker engine answers.
func SkipWithoutDocker(ctx context.Context, backend string) {
	if backend != "container" {
		return
	}
	if err := container.Available(ctx); err != nil {
		Skip("container backend skipped: " + err.Error())
	}
}

// Options are the default options on backend, with fewer writes: suites
// check behaviour, benchmarks check speed.
func Options(backend string, members, keys int) scenarios.Options {
	o := scenarios.DefaultOptions()
	o.Backend, o.Members, o.Keys = backend, members, keys
	return o
}

// Run runs scenario name with o and registers the leak checks.
func Run(ctx context.Context, name string, o scenarios.Options) *report.Report {
	GinkgoHelper()
	rep, err := run(ctx, name, o, false)
	Expect(err).NotTo(HaveOccurred(), "drill %s", name)
	return rep
}

// RunFailing runs scenario name with o, which must fail (a sabotage): it
// returns the report of the failed drill, whose run directory is kept, and
// still checks that nothing else was left behind.
func RunFailing(ctx context.Context, name string, o scenarios.Options) *report.Report {
	GinkgoHelper()
	rep, _ := run(ctx, name, o, true)
	Expect(rep).NotTo(BeNil(), "drill %s made no report", name)
	Expect(rep.Passed).To(BeFalse(), "drill %s passed with a sabotage", name)
	Expect(rep.Failures).NotTo(BeEmpty())
	return rep
}

// RunRefusedAsDeclared runs an upgrade scenario on a path the catalogue
// declares unsupported: etcd must refuse it, the drill record that as
// declared, keep its run directory (the fallen members' data dirs are
// evidence) and pass; nothing else may be left behind.
func RunRefusedAsDeclared(ctx context.Context, name string, o scenarios.Options) *report.Report {
	GinkgoHelper()
	rep, err := run(ctx, name, o, true)
	Expect(err).NotTo(HaveOccurred(), "drill %s", name)
	Expect(rep.Passed).To(BeTrue(), "%v", rep.Failures)
	Expect(rep.Upgrade).NotTo(BeNil())
	Expect(rep.Upgrade.RefusedAsDeclared).To(BeTrue(), "etcd refused the path as declared")
	Expect(rep.Kept).To(BeTrue(), "the fallen members' data dirs are kept")
	return rep
}

func run(ctx context.Context, name string, o scenarios.Options, mayKeep bool) (*report.Report, error) {
	GinkgoHelper()
	SkipWithoutDocker(ctx, o.Backend)
	sc, err := scenarios.Lookup(name)
	Expect(err).NotTo(HaveOccurred())
	o.BaseDir = GinkgoT().TempDir()
	base := leakcheck.Take()
	var rep *report.Report
	// Registered first, so a failed drill is checked for leftovers too.
	DeferCleanup(func() {
		Expect(base.Goroutines(10 * time.Second)).To(Succeed())
		if rep != nil {
			Expect(leakcheck.Ports(rep.URLs)).To(Succeed())
			if o.Backend == "container" {
				Expect(container.Leftovers(context.WithoutCancel(ctx), rep.RunID)).To(BeZero(), "containers and networks of run %s", rep.RunID)
			}
		}
		entries, err := os.ReadDir(o.BaseDir)
		Expect(err).NotTo(HaveOccurred())
		if mayKeep && rep != nil && rep.Kept {
			Expect(entries).To(HaveLen(1), "only the kept run directory is left")
			return
		}
		Expect(entries).To(BeEmpty(), "the run directory is removed")
	})
	rep, err = scenarios.Run(ctx, sc, o)
	return rep, err
}

// ExpectRestoredFromSnapshot checks what every restore from a snapshot
// promises: nothing acknowledged at or below the snapshot revision lost,
// nothing resurrected, a new cluster of the same size whose members agree.
func ExpectRestoredFromSnapshot(rep *report.Report, members int) {
	GinkgoHelper()
	Expect(rep.Failures).To(BeEmpty())
	Expect(rep.Passed).To(BeTrue())
	Expect(rep.Verified).To(BeTrue())
	Expect(rep.Keys.Lost).To(BeZero())
	Expect(rep.Keys.Resurrected).To(BeZero())
	Expect(rep.Keys.Expected).To(BeNumerically(">", 0))
	// Keys a write in doubt explains may be there or not.
	Expect(rep.Keys.Restored).To(BeNumerically("~", rep.Keys.Expected, rep.Keys.Indeterminate))
	if rep.Traffic != nil {
		// The writers ran through the fault and moved to the recovered
		// cluster: RTO is what they saw.
		Expect(rep.Traffic.Recovered.Acknowledged).To(BeNumerically(">", 0))
		Expect(rep.Traffic.LongestWriterGapSeconds).To(BeNumerically(">=", rep.RTOSeconds))
	}
	Expect(rep.Snapshot.Revision).To(BeNumerically(">", 0))
	Expect(rep.Cluster.IDChanged).To(BeTrue())
	Expect(rep.Cluster.HashKVConsistent).To(BeTrue())
	Expect(rep.Cluster.Members).To(HaveLen(members))
	Expect(rep.RTOSeconds).To(BeNumerically(">", 0))
	Expect(rep.Compaction).NotTo(BeNil(), "the history was compacted before the backup")
	Expect(rep.Compaction.WatchRefused).To(BeTrue(), "a watch from below the compaction is refused")
}
