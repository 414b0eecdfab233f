package membership_test

import (
	"errors"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/etcd-drill/etcd-drill/faults"
	"github.com/etcd-drill/etcd-drill/scenarios"
	"github.com/etcd-drill/etcd-drill/suites/drilltest"
)

var _ = Describe("A peer URL without a scheme", func() {
	for _, backend := range []string{"process", "container"} {
		It("makes every other member panic, and again on restart, until a restore from snapshot, on the "+backend+" backend", Label(backend), func(ctx SpecContext) {
			expectCrashLoopThenRestore(ctx, backend)
		})
	}

	It("crash-loops on 5 members too, where a follower may miss the commit and stay up without quorum, on the process backend", Label("process"), func(ctx SpecContext) {
		rep := drilltest.Run(ctx, "wrong-peer-urls/snapshot-restore", drilltest.Options("process", 5, 2000))
		Expect(rep.Passed).To(BeTrue(), "%v", rep.Failures)
		Expect(rep.Fault.QuorumLost).To(BeTrue())
		Expect(len(rep.Fault.Members)).To(BeNumerically(">=", 2), "the members that panicked: enough to lose quorum")
		count := map[string]int{}
		for _, p := range rep.Panics {
			Expect(p.Message).To(ContainSubstring(faults.PanicNewURLs))
			count[p.Member]++
		}
		twice := 0
		for _, n := range count {
			if n == 2 {
				twice++
			}
		}
		Expect(twice).To(BeNumerically(">=", 1), "a restarted member panics again: %v", rep.Panics)
		drilltest.ExpectRestoredFromSnapshot(rep, 5)
	})

	It("is refused up front on the embedded backend, where a panic would take the harness down", Label("embedded"), func(ctx SpecContext) {
		sc, err := scenarios.Lookup("wrong-peer-urls/snapshot-restore")
		Expect(err).NotTo(HaveOccurred())
		o := drilltest.Options("embedded", 3, 100)
		o.BaseDir = GinkgoT().TempDir()
		rep, err := scenarios.Run(ctx, sc, o)
		Expect(errors.Is(err, scenarios.ErrBadInput)).To(BeTrue())
		Expect(err).To(MatchError(ContainSubstring("backends that can run it: process, container")))
		Expect(rep).To(BeNil())
	})
})

func expectCrashLoopThenRestore(ctx SpecContext, backend string) {
	GinkgoHelper()
	rep := drilltest.Run(ctx, "wrong-peer-urls/snapshot-restore", drilltest.Options(backend, 3, 2000))

	By("panicking with failed NewURLs on the members that applied it")
	Expect(rep.Fault.Members).To(ConsistOf("m1", "m2"))
	var panicked []string
	for _, p := range rep.Panics {
		Expect(p.Message).To(ContainSubstring(faults.PanicNewURLs))
		Expect(p.Caller).NotTo(BeEmpty())
		panicked = append(panicked, p.Member)
	}
	By("panicking again when a member restarts on its data dir: a crash loop")
	Expect(panicked).To(ConsistOf("m1", "m1", "m2"))
	Expect(rep.Fault.QuorumLost).To(BeTrue())

	By("coming back from the snapshot taken before the mistake")
	drilltest.ExpectRestoredFromSnapshot(rep, 3)
	Expect(rep.Snapshot.HashChecked).To(BeTrue())
}

var _ = Describe("Well-formed peer URLs where nothing listens", func() {
	for _, backend := range drilltest.Backends() {
		It("are recorded for what the cluster does, then restored from snapshot, on the "+backend+" backend", Label(backend), func(ctx SpecContext) {
			rep := drilltest.Run(ctx, "wrong-peer-urls-unreachable/snapshot-restore", drilltest.Options(backend, 3, 2000))
			Expect(rep.Fault.Members).To(HaveLen(2), "a majority of 3 is updated")
			Expect(rep.Fault.Detail).To(SatisfyAny(ContainSubstring("quorum kept"), ContainSubstring("quorum lost")))
			Expect(rep.Panics).To(BeEmpty())
			drilltest.ExpectRestoredFromSnapshot(rep, 3)
		})
	}
})
