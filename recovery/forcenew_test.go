package recovery

import (
	"strings"
	"testing"

	"github.com/etcd-drill/etcd-drill/harness"
)

func TestKeptHistory(t *testing.T) {
	for _, tc := range []struct {
		name   string
		at     int64
		before int64
		fails  bool
	}{
		{"came back where it was", 500, 500, false},
		{"came back further (entries it had committed but not yet applied)", 510, 500, false},
		{"came back with a shorter history", 480, 500, true},
		{"nothing measured before the fault: no floor", 480, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := keptHistory("m3", tc.at, harness.MemberState{Revision: tc.before})
			if (err != nil) != tc.fails {
				t.Fatalf("error %v, want failing %v", err, tc.fails)
			}
			if err != nil && !strings.HasPrefix(err.Error(), FindingSurvivorLostHistory+": survivor m3 came back at revision 480, below the 500") {
				t.Fatalf("error %q", err)
			}
		})
	}
}
