package dr_test

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/etcd-drill/etcd-drill/harness"
	"github.com/etcd-drill/etcd-drill/suites/drilltest"
)

// The regression scenarios of etcd's own bugs: each must see its bug and
// report it with evidence. Slow (about 45 s each: joins until the race
// hits), labelled so: LABELS='!slow' leaves them out.
var _ = Describe("etcd's own bugs, made to happen on purpose", func() {
	for _, backend := range []string{"process", "container"} {
		Context("on the "+backend+" backend", Label(backend, "slow"), func() {
			It("sees a rejoining member spin in its publish loop, repairs it with one write and loses nothing", func(ctx SpecContext) {
				rep := drilltest.Run(ctx, "etcd-bug/rejoin-publish-spin", drilltest.Options(backend, 3, 6000))
				Expect(rep.Passed).To(BeTrue(), "%v", rep.Failures)
				Expect(rep.Incidents).NotTo(BeEmpty())
				spin := rep.Incidents[0]
				Expect(spin.Name).To(Equal(harness.IncidentPublishSpin))
				Expect(spin.Excerpt).To(ContainElement(ContainSubstring("too many requests")))
				Expect(spin.Workaround).To(ContainSubstring("wrote one key"))
				Expect(spin.Replay).To(ContainSubstring("etcd-drill run etcd-bug/rejoin-publish-spin --backend " + backend))
				Expect(rep.Keys.Lost).To(BeZero())
				Expect(rep.Cluster.Members).To(HaveLen(3))
				Expect(rep.Cluster.HashKVConsistent).To(BeTrue())
			})
		})
	}
})
