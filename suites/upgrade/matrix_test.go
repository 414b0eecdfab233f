package upgrade_test

import (
	"errors"
	"os"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/etcd-drill/etcd-drill/harness/bins"
	"github.com/etcd-drill/etcd-drill/harness/report"
	"github.com/etcd-drill/etcd-drill/scenarios"
	"github.com/etcd-drill/etcd-drill/suites/drilltest"
)

// lines are the minor lines side by side.
var lines = []string{"3.5", "3.6", "3.7"}

// needVersions skips a spec when make bins-all has not built the lines,
// unless CI is set (.ci/run builds them: there, their absence fails).
func needVersions() {
	GinkgoHelper()
	for _, l := range lines {
		if _, err := bins.FindVersion("", l); err != nil {
			if errors.Is(err, bins.ErrNotFound) && os.Getenv("CI") == "" {
				Skip(err.Error())
			}
			Expect(err).NotTo(HaveOccurred())
		}
	}
}

var _ = Describe("A snapshot of one etcd line restored on another", Label("upgrade", "process"), func() {
	for _, from := range lines {
		for _, to := range lines {
			_, declared := scenarios.Declared(scenarios.Incompatibilities(), from, to)
			if declared {
				It("is refused by etcd "+to+" itself when taken on "+from+", as declared", func(ctx SpecContext) {
					needVersions()
					o := drilltest.Options("process", 3, 1000)
					o.EtcdVersion, o.RestoreVersion = from, to
					rep := drilltest.RunFailing(ctx, "quorum-loss/snapshot-restore", o)
					var recoverErr string
					for _, s := range rep.Steps {
						if s.Name == "recover" {
							recoverErr = s.Error
						}
					}
					Expect(recoverErr).To(Or(ContainSubstring("its log says:"), ContainSubstring("panic ")), "etcd's own words, from the member's log")
					// A snapshot taken before 3.7 wrote its storage version
					// passes 3.6's schema check, which then panics on the
					// cluster version instead: both are etcd's refusal.
					Expect(recoverErr).To(Or(ContainSubstring("is not supported"), ContainSubstring("invalid downgrade")))
				})
				continue
			}
			It("keeps every acknowledged write when taken on "+from+" and restored and served by "+to, func(ctx SpecContext) {
				needVersions()
				o := drilltest.Options("process", 3, 1000)
				o.EtcdVersion, o.RestoreVersion = from, to
				rep := drilltest.Run(ctx, "quorum-loss/snapshot-restore", o)
				drilltest.ExpectRestoredFromSnapshot(rep, 3)
				Expect(rep.Keys.RevisionMismatch).To(BeZero(), "revisions are data too")
				for name, v := range rep.MemberVersions {
					want := from
					if strings.HasPrefix(name, "r") {
						want = to
					}
					Expect(v).To(HavePrefix(want+"."), "member %s", name)
				}
			})
		}
	}
})

var _ = Describe("A rolling upgrade in place", Label("upgrade", "process"), func() {
	for _, path := range [][2]string{{"3.5", "3.6"}, {"3.6", "3.7"}} {
		It("from "+path[0]+" to "+path[1]+", a member killed mid-roll, keeps every acknowledged write and moves the cluster version after the last member", func(ctx SpecContext) {
			needVersions()
			o := inPlaceOptions()
			o.EtcdVersion, o.UpgradeTo = path[0], path[1]
			rep := drilltest.Run(ctx, "upgrade/rolling", o)
			Expect(rep.Passed).To(BeTrue(), "%v", rep.Failures)
			Expect(rep.Keys.Lost).To(BeZero())
			Expect(rep.Keys.Resurrected).To(BeZero())
			Expect(rep.Cluster.IDChanged).To(BeFalse())
			Expect(rep.Fault.Detail).To(ContainSubstring("killed and started on " + path[1] + "."))
			Expect(rep.Fault.Detail).To(ContainSubstring("cluster version " + path[1] + ".0"))
			for _, m := range []string{"m1", "m2", "m3"} {
				Expect(rep.MemberVersions[m]).To(HavePrefix(path[1]+"."), "member %s at the verify", m)
			}
			expectCheckpoints(rep, 3)
		})
	}

	It("from 3.5 straight to 3.7, a line skipped, is refused by etcd as declared, and the members rolled back keep every acknowledged write", func(ctx SpecContext) {
		needVersions()
		o := inPlaceOptions()
		o.EtcdVersion, o.UpgradeTo = "3.5", "3.7"
		rep := drilltest.RunRefusedAsDeclared(ctx, "upgrade/rolling", o)
		u := rep.Upgrade
		Expect(u.Unsupported).To(ContainSubstring("one minor line at a time"))
		Expect(u.Findings).NotTo(BeEmpty())
		for _, f := range u.Findings {
			Expect(f.Version).To(HavePrefix("3.7."))
			Expect(f.From).To(HavePrefix("3.5."))
			Expect(f.Message).To(ContainSubstring("unmarshal should never fail"), "etcd's own panic, member %s", f.Member)
			Expect(f.DataDir).To(BeADirectory())
		}
		last := u.Checkpoints[len(u.Checkpoints)-1]
		Expect(last.Stage).To(ContainSubstring("after etcd refused"))
		Expect(last.Passed).To(BeTrue())
		Expect(last.Expected).To(BeNumerically(">", 1000))
	})
})

// expectCheckpoints: the ledger was checked at n stages of the roll, and
// every one held every acknowledged write.
func expectCheckpoints(rep *report.Report, n int) {
	GinkgoHelper()
	Expect(rep.Upgrade).NotTo(BeNil())
	Expect(rep.Upgrade.Checkpoints).To(HaveLen(n))
	for _, c := range rep.Upgrade.Checkpoints {
		Expect(c.Passed).To(BeTrue(), "checkpoint %+v", c)
		Expect(c.Expected).To(BeNumerically(">", 0), "checkpoint %s", c.Stage)
	}
}

var _ = Describe("An upgrade hop by hop", Label("upgrade", "process"), func() {
	It("from 3.5 through 3.6 to 3.7 keeps every acknowledged write after every member and every hop", func(ctx SpecContext) {
		needVersions()
		o := inPlaceOptions()
		o.Path = lines
		rep := drilltest.Run(ctx, "upgrade/hops", o)
		Expect(rep.Passed).To(BeTrue(), "%v", rep.Failures)
		Expect(rep.Upgrade.Path).To(HaveLen(3))
		// Three members on 3.6, the hop's writes, three members on 3.7.
		expectCheckpoints(rep, 7)
		Expect(rep.Upgrade.Checkpoints[3].Stage).To(ContainSubstring("after hop 1"))
		Expect(rep.Fault.Detail).To(ContainSubstring("cluster version 3.6.0"))
		Expect(rep.Fault.Detail).To(ContainSubstring("cluster version 3.7.0"))
		for _, m := range []string{"m1", "m2", "m3"} {
			Expect(rep.MemberVersions[m]).To(HavePrefix("3.7."), "member %s at the verify", m)
		}
	})
})

var _ = Describe("A downgrade by etcd's procedure", Label("upgrade", "process"), func() {
	It("from 3.7 to 3.6 and back up keeps every acknowledged write after every member", func(ctx SpecContext) {
		needVersions()
		o := inPlaceOptions()
		o.EtcdVersion, o.UpgradeTo = "3.7", "3.6"
		rep := drilltest.Run(ctx, "downgrade/one-minor", o)
		Expect(rep.Passed).To(BeTrue(), "%v", rep.Failures)
		// Three members down, the downgraded cluster, three members up.
		expectCheckpoints(rep, 7)
		Expect(rep.Fault.Detail).To(ContainSubstring("downgrade enable 3.6"))
		Expect(rep.Fault.Detail).To(ContainSubstring("cluster version 3.6.0"))
		Expect(rep.Fault.Detail).To(ContainSubstring("etcd ended the downgrade"))
		for _, m := range []string{"m1", "m2", "m3"} {
			Expect(rep.MemberVersions[m]).To(HavePrefix("3.7."), "member %s back up at the verify", m)
		}
	})
})

// inPlaceOptions are a suite's options for a drill in place: writers at
// 1,000 a second, as an application's steady load, so that every member's
// check reads a keyspace of tens of thousands of keys, not hundreds.
func inPlaceOptions() scenarios.Options {
	o := drilltest.Options("process", 3, 1000)
	o.TrafficRate = 1000
	return o
}
