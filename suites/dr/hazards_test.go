package dr_test

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/etcd-drill/etcd-drill/harness/report"
	"github.com/etcd-drill/etcd-drill/harness/watch"
	"github.com/etcd-drill/etcd-drill/suites/drilltest"
)

var _ = Describe("The hazards around a recovery", func() {
	for _, backend := range drilltest.Backends() {
		Context("on the "+backend+" backend", Label(backend), func() {
			It("flags a restore with the old token and old peer URLs: it yields the old cluster ID", func(ctx SpecContext) {
				rep := drilltest.Run(ctx, "hazard/restore-old-token", drilltest.Options(backend, 3, 1000))
				Expect(rep.Passed).To(BeTrue(), "%v", rep.Failures)
				Expect(hazardNames(rep)).To(ContainElement(watch.HazardOldClusterID))
				Expect(rep.Cluster.IDChanged).To(BeFalse())
			})

			It("shows an old member rejected by the restored cluster, whose data stays untouched", func(ctx SpecContext) {
				rep := drilltest.Run(ctx, "hazard/old-member-rejoins", drilltest.Options(backend, 3, 1000))
				Expect(rep.Passed).To(BeTrue(), "%v", rep.Failures)
				Expect(hazardNames(rep)).To(ContainElement(watch.HazardOldMemberMismatch))
				Expect(rep.Keys.Lost).To(BeZero())
				Expect(rep.Keys.Resurrected).To(BeZero())
				Expect(rep.Cluster.HashKVConsistent).To(BeTrue())
			})

			if backend != "embedded" {
				It("records what force-new-cluster does while the old members still run", func(ctx SpecContext) {
					rep := drilltest.Run(ctx, "hazard/force-new-cluster-while-alive", drilltest.Options(backend, 3, 1000))
					Expect(rep.Passed).To(BeTrue(), "%v", rep.Failures)
					Expect(hazardNames(rep)).To(ContainElement(watch.HazardForceNewWhileAlive))
					Expect(rep.Keys.Lost).To(BeZero(), "the recovered old majority keeps every acknowledged write")
				})
			}
		})
	}
})

func hazardNames(rep *report.Report) []string {
	var names []string
	for _, h := range rep.Hazards {
		names = append(names, h.Name)
	}
	return names
}
