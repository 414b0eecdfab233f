package upgrade_test

import (
	"errors"
	"os"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/etcd-drill/etcd-drill/harness/bins"
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
					Expect(recoverErr).To(ContainSubstring("its log says:"), "etcd's own words, from the member's log")
					Expect(recoverErr).To(ContainSubstring("is not supported"))
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
			o := drilltest.Options("process", 3, 1000)
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
		})
	}
})
