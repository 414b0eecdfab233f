package main

import (
	"strings"
	"testing"
	"time"

	"github.com/etcd-drill/etcd-drill/scenarios"
)

// TestReplayCommandRunsTheSameDrill: the command a report gives to replay a
// drill, parsed by run's own flags, gives back the options that matter,
// the etcd versions included (a replay on the pinned etcd would not show a
// bug of another line).
func TestReplayCommandRunsTheSameDrill(t *testing.T) {
	sc, err := scenarios.Lookup("quorum-loss/snapshot-restore")
	if err != nil {
		t.Fatal(err)
	}
	for _, tweak := range []func(*scenarios.Options){
		func(o *scenarios.Options) {},
		func(o *scenarios.Options) {
			o.Backend, o.Members, o.Keys, o.Seed = "process", 5, 6000, 7
			o.EtcdVersion, o.RestoreVersion, o.Migrate = "3.7", "3.6", true
			o.Timing.Election = 500 * time.Millisecond
			o.Workload.ValueSize = 300
		},
		func(o *scenarios.Options) { o.Backend, o.EtcdVersion, o.UpgradeTo = "process", "3.5", "3.6" },
		func(o *scenarios.Options) {
			o.Backend, o.EtcdVersion, o.UpgradeTo, o.Path, o.HopWrites = "process", "3.5", "3.7", []string{"3.5", "3.6", "3.7"}, 40
		},
	} {
		want := scenarios.DefaultOptions()
		tweak(&want)
		line := scenarios.ReplayCommand(sc, want)
		fs, rf := newRunFlags()
		args := strings.Fields(line)
		pos, err := parseInterleaved(fs, args[2:])
		if err != nil || len(pos) != 1 || pos[0] != sc.Name {
			t.Fatalf("%s: parse: %v, arguments %v", line, err, pos)
		}
		got := rf.opts
		if got.Backend != want.Backend || got.Members != want.Members || got.Keys != want.Keys || got.Seed != want.Seed ||
			got.EtcdVersion != want.EtcdVersion || got.RestoreVersion != want.RestoreVersion || got.UpgradeTo != want.UpgradeTo ||
			got.Migrate != want.Migrate || got.Timing != want.Timing || got.Workload.ValueSize != want.Workload.ValueSize ||
			strings.Join(got.Path, ",") != strings.Join(want.Path, ",") || got.HopWrites != want.HopWrites {
			t.Errorf("%s\n gives %+v\n want %+v", line, got, want)
		}
	}
}
