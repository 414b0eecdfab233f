package dr_test

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/etcd-drill/etcd-drill/harness/verify"
	"github.com/etcd-drill/etcd-drill/scenarios"
	"github.com/etcd-drill/etcd-drill/suites/drilltest"
)

var _ = Describe("A cluster that lost quorum", func() {
	for _, backend := range drilltest.Backends() {
		Context("on the "+backend+" backend", Label(backend), func() {
			DescribeTable("is restored from a snapshot into a new cluster that kept every acknowledged key",
				func(ctx SpecContext, members, keys int) {
					rep := drilltest.Run(ctx, "quorum-loss/snapshot-restore", drilltest.Options(backend, members, keys))

					By("having really lost quorum")
					Expect(rep.Backend).To(Equal(backend))
					Expect(rep.Fault).NotTo(BeNil())
					Expect(rep.Fault.QuorumLost).To(BeTrue())
					Expect(rep.Fault.Members).To(HaveLen(members/2 + 1))

					By("keeping every key acknowledged at or below the snapshot revision, and nothing after it")
					drilltest.ExpectRestoredFromSnapshot(rep, members)
					Expect(rep.Snapshot.HashChecked).To(BeTrue(), "etcdutl checked the snapshot's integrity hash")
					Expect(rep.RPO.WritesAfterSnapshot).To(BeNumerically(">", 0), "the writes after the snapshot are its RPO")
					// Every write is sent; one caught in a leader change under
					// load is indeterminate, which is no failure of the drill.
					Expect(rep.Workload.Writes).To(BeNumerically(">=", keys))
					Expect(rep.Keys.Acknowledged).To(And(BeNumerically(">", 0), BeNumerically("<=", rep.Workload.Writes)))
				},
				Entry("with 1 member", 1, 1000),
				Entry("with 3 members", 3, 3000),
				Entry("with 5 members", 5, 3000),
			)
		})
	}

	Context("recovered by the operator's runbook", Label("runbook"), func() {
		for _, backend := range []string{"process", "container"} {
			Context("on the "+backend+" backend", Label(backend), func() {
				It("passes with the recovery guide's own procedure", func(ctx SpecContext) {
					o := drilltest.Options(backend, 3, 2000)
					o.Recovery, o.Runbook = "runbook", "../../recovery/runbooks/recovery-guide.sh"
					rep := drilltest.Run(ctx, "quorum-loss/snapshot-restore", o)
					drilltest.ExpectRestoredFromSnapshot(rep, 3)
					Expect(rep.Backend).To(Equal(backend))
					Expect(rep.Snapshot.HashChecked).To(BeFalse(), "what the runbook checked is its own business")
				})

				DescribeTable("fails a runbook that loses the data, with its named finding",
					func(ctx SpecContext, runbook, finding string, atSnapshot bool) {
						o := drilltest.Options(backend, 3, 2000)
						o.Recovery, o.Runbook = "runbook", "../../scenarios/testdata/runbooks/"+runbook
						rep := drilltest.RunFailing(ctx, "quorum-loss/snapshot-restore", o)
						Expect(rep.Kept).To(BeTrue(), "a failed runbook keeps its run directory")
						if atSnapshot {
							Expect(rep.Failures).To(ConsistOf(HavePrefix("step snapshot: " + finding + ": ")))
							Expect(rep.Verified).To(BeFalse())
							return
						}
						// Among others: writes in doubt around the fault that a
						// logical restore rewrites are unexplained too.
						Expect(rep.Failures).To(ContainElement(HavePrefix(finding + ": ")))
						Expect(rep.Verified).To(BeTrue())
						Expect(rep.Cluster.HashKVConsistent).To(BeTrue(), "the members agree: it is the data that is wrong")
					},
					Entry("a backup of the wrong etcd", "backup-of-wrong-etcd.sh", scenarios.FindingStaleBackup, true),
					Entry("a restore into the wrong data dirs", "restore-into-wrong-dir.sh", scenarios.FindingEmptyBackup, false),
					Entry("a logical restore (every key put again)", "logical-restore.sh", verify.KindRevisionRewritten, false),
				)
			})
		}
	})
})
