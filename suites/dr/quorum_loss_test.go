package dr_test

import (
	"context"
	"os"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/etcd-drill/etcd-drill/harness/leakcheck"
	"github.com/etcd-drill/etcd-drill/harness/report"
	"github.com/etcd-drill/etcd-drill/scenarios"
)

// drill runs a scenario and checks that it left nothing behind.
func drill(ctx context.Context, name string, o scenarios.Options) *report.Report {
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
		}
		entries, err := os.ReadDir(o.BaseDir)
		Expect(err).NotTo(HaveOccurred())
		Expect(entries).To(BeEmpty(), "the run directory is removed")
	})
	rep, err = scenarios.Run(ctx, sc, o)
	Expect(err).NotTo(HaveOccurred(), "drill %s", name)
	return rep
}

var _ = Describe("A cluster that lost quorum", Label("embedded"), func() {
	DescribeTable("is restored from a snapshot into a new cluster that kept every acknowledged key",
		func(ctx SpecContext, members, keys int) {
			o := scenarios.DefaultOptions()
			o.Members, o.Keys = members, keys
			rep := drill(ctx, "quorum-loss/snapshot-restore", o)

			By("having really lost quorum")
			Expect(rep.Fault).NotTo(BeNil())
			Expect(rep.Fault.QuorumLost).To(BeTrue())
			Expect(rep.Fault.Members).To(HaveLen(members/2 + 1))

			By("keeping every key acknowledged at or below the snapshot revision, and nothing after it")
			Expect(rep.Failures).To(BeEmpty())
			Expect(rep.Passed).To(BeTrue())
			Expect(rep.Keys.Lost).To(BeZero())
			Expect(rep.Keys.Resurrected).To(BeZero())
			Expect(rep.Keys.Restored).To(Equal(rep.Keys.Expected))
			Expect(rep.Keys.Expected).To(BeNumerically(">", 0))
			Expect(rep.Snapshot.Revision).To(BeNumerically(">", 0))
			Expect(rep.Snapshot.HashChecked).To(BeTrue())

			By("counting the writes after the snapshot as the recovery point")
			Expect(rep.RPO.WritesAfterSnapshot).To(BeNumerically(">", 0))
			Expect(rep.Keys.Acknowledged).To(BeNumerically(">=", keys))

			By("being a new logical cluster whose members agree")
			Expect(rep.Cluster.IDChanged).To(BeTrue())
			Expect(rep.Cluster.HashKVConsistent).To(BeTrue())
			Expect(rep.Cluster.Members).To(HaveLen(members))
			Expect(rep.RTOSeconds).To(BeNumerically(">", 0))
		},
		Entry("with 1 member", 1, 1000),
		Entry("with 3 members", 3, 3000),
		Entry("with 5 members", 5, 3000),
	)
})
