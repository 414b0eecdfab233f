package dr_test

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/etcd-drill/etcd-drill/harness/report"
	"github.com/etcd-drill/etcd-drill/recovery"
	"github.com/etcd-drill/etcd-drill/suites/drilltest"
)

var _ = Describe("Every recovery path of the recovery guide", func() {
	for _, backend := range drilltest.Backends() {
		Context("on the "+backend+" backend", Label(backend), func() {
			It("restores a db copied from a data dir only with --skip-hash-check", func(ctx SpecContext) {
				rep := drilltest.Run(ctx, "copied-db/skip-hash-check", drilltest.Options(backend, 3, 2000))
				Expect(rep.Notes).To(ContainElement(ContainSubstring(recovery.ErrNoHash)), "refused without --skip-hash-check")
				Expect(rep.Snapshot.HashChecked).To(BeFalse())
				drilltest.ExpectRestoredFromSnapshot(rep, 3)
			})

			It("refuses a corrupt snapshot and leaves no data dir behind", func(ctx SpecContext) {
				rep := drilltest.Run(ctx, "corrupt-snapshot/rejected", drilltest.Options(backend, 3, 1000))
				Expect(rep.Passed).To(BeTrue(), "%v", rep.Failures)
				Expect(stepDetail(rep, "recover")).To(ContainSubstring(recovery.ErrHashMismatch))
				Expect(rep.Verified).To(BeFalse(), "there is no restored cluster to verify")
			})

			It("forces a new cluster from the most up-to-date survivor and regrows it", func(ctx SpecContext) {
				rep := drilltest.Run(ctx, "quorum-loss/force-new-cluster", drilltest.Options(backend, 3, 2000))
				Expect(rep.Passed).To(BeTrue(), "%v", rep.Failures)
				Expect(rep.RPO.Baseline).To(ContainSubstring("survivor"))
				Expect(rep.Cluster.IDChanged).To(BeFalse(), "force-new-cluster keeps the cluster ID")
				Expect(rep.Cluster.HashKVConsistent).To(BeTrue())
				Expect(rep.Cluster.Members).To(HaveLen(3))
				Expect(rep.Keys.Lost).To(BeZero())
			})

			It("restores from a snapshot after a majority lost its disks", func(ctx SpecContext) {
				rep := drilltest.Run(ctx, "disk-loss/snapshot-restore", drilltest.Options(backend, 3, 2000))
				Expect(rep.Fault.Detail).To(ContainSubstring("data dirs destroyed"))
				drilltest.ExpectRestoredFromSnapshot(rep, 3)
			})

			It("replaces a member lost for good without losing any acknowledged write", func(ctx SpecContext) {
				rep := drilltest.Run(ctx, "minority-loss/member-replace", drilltest.Options(backend, 3, 2000))
				Expect(rep.Passed).To(BeTrue(), "%v", rep.Failures)
				Expect(rep.RPO.Baseline).To(Equal("every acknowledged write"))
				Expect(rep.RPO.AcknowledgedNotKept).To(BeZero())
				Expect(rep.Snapshot.Revision).To(BeZero(), "no snapshot involved")
				Expect(rep.Cluster.IDChanged).To(BeFalse())
				Expect(rep.Cluster.Members).To(ContainElement("n1"))
				Expect(rep.Cluster.Members).NotTo(ContainElement(rep.Fault.Members[0]))
			})

			It("restores one seed member and grows it one member at a time", func(ctx SpecContext) {
				rep := drilltest.Run(ctx, "quorum-loss/restore-seed-and-grow", drilltest.Options(backend, 3, 2000))
				drilltest.ExpectRestoredFromSnapshot(rep, 3)
				Expect(rep.Cluster.Members).To(ConsistOf("r1", "r2", "r3"))
			})

			It("restores with a revision bump so that revisions never go back", func(ctx SpecContext) {
				rep := drilltest.Run(ctx, "quorum-loss/snapshot-restore-bump-revision", drilltest.Options(backend, 3, 2000))
				drilltest.ExpectRestoredFromSnapshot(rep, 3)
				Expect(rep.Cluster.RevisionBumpedFrom).To(BeNumerically(">", rep.Snapshot.Revision))
				Expect(rep.Cluster.HashKVRevision).To(BeNumerically(">", rep.Cluster.RevisionBumpedFrom))
			})

			It("comes back by itself when a partition of the majority heals", func(ctx SpecContext) {
				rep := drilltest.Run(ctx, "partition/majority-isolated", drilltest.Options(backend, 3, 2000))
				Expect(rep.Passed).To(BeTrue(), "%v", rep.Failures)
				Expect(rep.Fault.QuorumLost).To(BeTrue())
				Expect(rep.HealSeconds).To(BeNumerically(">", 0))
				Expect(rep.RPO.AcknowledgedNotKept).To(BeZero())
				Expect(rep.Keys.Lost).To(BeZero())
				Expect(rep.Cluster.IDChanged).To(BeFalse())
			})
		})
	}
})

func stepDetail(rep *report.Report, name string) string {
	for _, s := range rep.Steps {
		if s.Name == name {
			return s.Detail
		}
	}
	return ""
}
