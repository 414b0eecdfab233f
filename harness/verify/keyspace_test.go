package verify

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc"

	"github.com/etcd-drill/etcd-drill/harness/etcdtest"
	"github.com/etcd-drill/etcd-drill/harness/workload"
)

// snapRev is the snapshot revision R the table tests restore to.
const snapRev = 100

// history builds the ops of one writer; seq numbers follow the order of calls.
type history struct {
	writer int
	seq    int
	ops    []workload.Op
	// recovered is the index of the first op sent to the recovered
	// cluster (0: none was; see then).
	recovered int
}

func (h *history) add(kind workload.Kind, key, value string, out workload.Outcome, rev int64) *history {
	h.seq++
	op := workload.Op{Writer: h.writer, Seq: h.seq, Kind: kind, Key: key, Value: value, Outcome: out}
	if out == workload.Acknowledged {
		op.Revision = rev
		if kind == workload.Delete {
			op.Deleted = 1
		}
	}
	h.ops = append(h.ops, op)
	return h
}

// put and del record acknowledged writes at rev; the others record writes
// without an answer, or refused ones.
func (h *history) put(key, value string, rev int64) *history {
	return h.add(workload.Put, key, value, workload.Acknowledged, rev)
}
func (h *history) del(key string, rev int64) *history {
	return h.add(workload.Delete, key, "", workload.Acknowledged, rev)
}
func (h *history) putIndet(key, value string) *history {
	return h.add(workload.Put, key, value, workload.Indeterminate, 0)
}
func (h *history) delIndet(key string) *history {
	return h.add(workload.Delete, key, "", workload.Indeterminate, 0)
}
func (h *history) putFailed(key, value string) *history {
	return h.add(workload.Put, key, value, workload.Failed, 0)
}
func (h *history) delFailed(key string) *history {
	return h.add(workload.Delete, key, "", workload.Failed, 0)
}

func w(id int) *history { return &history{writer: id} }

// deletedNothing records on h an acknowledged delete of key that found
// nothing to delete: etcd answers it with the revision as it was.
func deletedNothing(h *history, key string, rev int64) *history {
	h.del(key, rev)
	h.ops[len(h.ops)-1].Deleted = 0
	return h
}

// ledger joins writers' histories, interleaving them as a real run would
// (CheckAt must not depend on the order of the ledger).
func ledger(hs ...*history) []workload.Op {
	var out []workload.Op
	for i := 0; ; i++ {
		added := false
		for _, h := range hs {
			if i < len(h.ops) {
				out = append(out, h.ops[i])
				added = true
			}
		}
		if !added {
			return out
		}
	}
}

// counts is the numeric part of a Result.
type counts struct {
	Expected, Restored, Lost, Resurrected, Indeterminate, Duplicates, RevisionMismatch int
}

func countsOf(r Result) counts {
	return counts{r.Expected, r.Restored, r.Lost, r.Resurrected, r.Indeterminate, r.Duplicates, r.RevisionMismatch}
}

// finding is what a test expects of a Finding: Got must contain gotHas.
type finding struct {
	key, kind, want, gotHas string
}

func checkFindings(t *testing.T, got []Finding, want []finding) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%d findings, want %d: %+v", len(got), len(want), got)
		return
	}
	for i, f := range want {
		g := got[i]
		if g.Key != f.key || g.Kind != f.kind {
			t.Errorf("finding %d is %s %q, want %s %q", i, g.Kind, g.Key, f.kind, f.key)
		}
		if f.want != "" && g.Want != f.want {
			t.Errorf("finding %d (%s): Want %q, want %q", i, g.Key, g.Want, f.want)
		}
		if !strings.Contains(g.Got, f.gotHas) {
			t.Errorf("finding %d (%s): Got %q does not mention %q", i, g.Key, g.Got, f.gotHas)
		}
	}
}

func TestCheckAt(t *testing.T) {
	const a, b, c, d = "/d/w0/k0", "/d/w0/k1", "/d/w1/k0", "/d/w1/k1"
	for _, tc := range []struct {
		name     string
		ops      []workload.Op
		actual   map[string]KV
		want     counts
		findings []finding
	}{
		// Damage.
		{
			name:     "key missing",
			ops:      ledger(w(0).put(a, "v1", 10).put(b, "v2", 11)),
			actual:   map[string]KV{b: {Value: "v2", ModRevision: 11}},
			want:     counts{Expected: 2, Restored: 1, Lost: 1},
			findings: []finding{{a, "lost", `"v1"@10`, "absent"}},
		},
		{
			name:     "key put exactly at R missing",
			ops:      ledger(w(0).put(a, "v1", snapRev)),
			actual:   map[string]KV{},
			want:     counts{Expected: 1, Lost: 1},
			findings: []finding{{a, "lost", `"v1"@100`, "absent"}},
		},
		{
			name:     "value changed to one the ledger never wrote",
			ops:      ledger(w(0).put(a, "v1", 10)),
			actual:   map[string]KV{a: {Value: "garbage", ModRevision: 10}},
			want:     counts{Expected: 1, Restored: 1, Lost: 1},
			findings: []finding{{a, "lost", `"v1"@10`, `"garbage"@10 (a value the ledger never wrote)`}},
		},
		{
			name:     "value rolled back to an older acknowledged one",
			ops:      ledger(w(0).put(a, "v1", 10).put(a, "v2", 20)),
			actual:   map[string]KV{a: {Value: "v1", ModRevision: 10}},
			want:     counts{Expected: 1, Restored: 1, Lost: 1},
			findings: []finding{{a, "lost", `"v2"@20`, `"v1"@10 (acknowledged write)`}},
		},
		{
			name:     "value from another writer's key",
			ops:      ledger(w(0).put(a, "v1", 10), w(1).put(c, "v2", 11)),
			actual:   map[string]KV{a: {Value: "v2", ModRevision: 11}, c: {Value: "v2", ModRevision: 11}},
			want:     counts{Expected: 2, Restored: 2, Lost: 1},
			findings: []finding{{a, "lost", `"v1"@10`, `"v2"@11 (a value the ledger never wrote)`}},
		},
		{
			name:     "deleted key back",
			ops:      ledger(w(0).put(a, "v1", 10).del(a, 20)),
			actual:   map[string]KV{a: {Value: "v1", ModRevision: 10}},
			want:     counts{Expected: 0, Restored: 1, Resurrected: 1},
			findings: []finding{{a, "resurrected", "absent", `"v1"@10 (acknowledged write)`}},
		},
		{
			name:     "key deleted exactly at R back",
			ops:      ledger(w(0).put(a, "v1", 10).del(a, snapRev)),
			actual:   map[string]KV{a: {Value: "v1", ModRevision: 10}},
			want:     counts{Restored: 1, Resurrected: 1},
			findings: []finding{{a, "resurrected", "absent", `"v1"@10`}},
		},
		{
			name:     "post-snapshot key present",
			ops:      ledger(w(0).put(a, "v1", 10).put(b, "v2", snapRev+1)),
			actual:   map[string]KV{a: {Value: "v1", ModRevision: 10}, b: {Value: "v2", ModRevision: snapRev + 1}},
			want:     counts{Expected: 1, Restored: 2, Resurrected: 1},
			findings: []finding{{b, "resurrected", "absent", "written after revision 100"}},
		},
		{
			name:     "key deleted before R, recreated after R, present",
			ops:      ledger(w(0).put(a, "v1", 10).del(a, 20).put(a, "v2", 150)),
			actual:   map[string]KV{a: {Value: "v2", ModRevision: 150}},
			want:     counts{Restored: 1, Resurrected: 1},
			findings: []finding{{a, "resurrected", "absent", "written after revision 100"}},
		},
		{
			name:     "key the ledger never wrote present",
			ops:      ledger(w(0).put(a, "v1", 10)),
			actual:   map[string]KV{a: {Value: "v1", ModRevision: 10}, "/d/stray": {Value: "x", ModRevision: 42}},
			want:     counts{Expected: 1, Restored: 2, Resurrected: 1},
			findings: []finding{{"/d/stray", "resurrected", "never written", `"x"@42`}},
		},
		{
			name:     "failed put's value present",
			ops:      ledger(w(0).put(a, "v1", 10).putFailed(a, "v2")),
			actual:   map[string]KV{a: {Value: "v2", ModRevision: 50}},
			want:     counts{Expected: 1, Restored: 1, Lost: 1},
			findings: []finding{{a, "lost", `"v1"@10`, "(failed write)"}},
		},
		{
			name:     "key of a failed put only present",
			ops:      ledger(w(0).putFailed(a, "v1")),
			actual:   map[string]KV{a: {Value: "v1", ModRevision: 50}},
			want:     counts{Restored: 1, Resurrected: 1},
			findings: []finding{{a, "resurrected", "absent", "(failed write)"}},
		},
		{
			name:     "failed delete does not explain an absence",
			ops:      ledger(w(0).put(a, "v1", 10).delFailed(a)),
			actual:   map[string]KV{},
			want:     counts{Expected: 1, Lost: 1},
			findings: []finding{{a, "lost", `"v1"@10`, "absent"}},
		},
		{
			name:   "several kinds of damage at once, findings sorted by key",
			ops:    ledger(w(1).put(d, "v4", 13).put(c, "v3", 12).del(c, 30), w(0).put(b, "v2", 11).put(a, "v1", 10)),
			actual: map[string]KV{a: {Value: "v1", ModRevision: 10}, c: {Value: "v3", ModRevision: 12}, "/d/a": {Value: "z", ModRevision: 7}},
			want:   counts{Expected: 3, Restored: 3, Lost: 2, Resurrected: 2},
			findings: []finding{
				{"/d/a", "resurrected", "never written", `"z"@7`},
				{b, "lost", `"v2"@11`, "absent"},
				{c, "resurrected", "absent", `"v3"@12`},
				{d, "lost", `"v4"@13`, "absent"},
			},
		},

		// Healthy keyspaces.
		{
			name:   "empty ledger, empty keyspace",
			want:   counts{},
			actual: map[string]KV{},
		},
		{
			name: "ledger replayed to R, with overwrites, deletes and later writes",
			// a: overwritten (v2), then refused (v5), then after R (v6).
			// b: deleted, then recreated (v4).
			// c: deleted, then a refused delete. d: only after R.
			ops: ledger(
				w(0).put(a, "v1", 10).put(a, "v2", 20).put(b, "v3", 11).del(b, 30).put(b, "v4", 40).putFailed(a, "v5").put(a, "v6", 150),
				w(1).put(c, "v7", 12).del(c, 50).put(d, "v8", 120).delFailed(c),
			),
			actual: map[string]KV{a: {Value: "v2", ModRevision: 20}, b: {Value: "v4", ModRevision: 40}},
			want:   counts{Expected: 2, Restored: 2},
		},
		{
			name:   "put acknowledged above R overwriting a put at or below R: the older value is expected",
			ops:    ledger(w(0).put(a, "v1", 10).put(a, "v2", snapRev+1)),
			actual: map[string]KV{a: {Value: "v1", ModRevision: 10}},
			want:   counts{Expected: 1, Restored: 1},
		},
		{
			name:     "put acknowledged above R overwriting a put at or below R: the newer value is damage",
			ops:      ledger(w(0).put(a, "v1", 10).put(a, "v2", snapRev+1)),
			actual:   map[string]KV{a: {Value: "v2", ModRevision: snapRev + 1}},
			want:     counts{Expected: 1, Restored: 1, Lost: 1},
			findings: []finding{{a, "lost", `"v1"@10`, "written after revision 100"}},
		},
		{
			name:   "delete acknowledged above R: the key is expected",
			ops:    ledger(w(0).put(a, "v1", 10).del(a, snapRev+1)),
			actual: map[string]KV{a: {Value: "v1", ModRevision: 10}},
			want:   counts{Expected: 1, Restored: 1},
		},
		{
			name:     "delete acknowledged above R: the key missing is damage",
			ops:      ledger(w(0).put(a, "v1", 10).del(a, snapRev+1)),
			actual:   map[string]KV{},
			want:     counts{Expected: 1, Lost: 1},
			findings: []finding{{a, "lost", `"v1"@10`, "absent"}},
		},

		// Revisions are data: a value at another revision is no excuse
		// (clientv3 retries a put only when no connection was made).
		{
			name:     "expected value at another mod revision",
			ops:      ledger(w(0).put(a, "v1", 10).put(b, "v2", 11)),
			actual:   map[string]KV{a: {Value: "v1", ModRevision: 14}, b: {Value: "v2", ModRevision: 11}},
			want:     counts{Expected: 2, Restored: 2, RevisionMismatch: 1},
			findings: []finding{{a, KindRevisionRewritten, "mod_revision 10", "mod_revision 14"}},
		},
		{
			name:     "expected value and mod revision, another create revision",
			ops:      ledger(w(0).put(a, "v1", 10).put(a, "v2", 12)),
			actual:   map[string]KV{a: {Value: "v2", ModRevision: 12, CreateRevision: 11, Version: 2}},
			want:     counts{Expected: 1, Restored: 1, RevisionMismatch: 1},
			findings: []finding{{a, KindRevisionRewritten, "create_revision 10, version 2", "create_revision 11"}},
		},
		{
			name:     "expected value and revisions, another version",
			ops:      ledger(w(0).put(a, "v1", 10).put(a, "v2", 12)),
			actual:   map[string]KV{a: {Value: "v2", ModRevision: 12, CreateRevision: 10, Version: 1}},
			want:     counts{Expected: 1, Restored: 1, RevisionMismatch: 1},
			findings: []finding{{a, KindRevisionRewritten, "create_revision 10, version 2", "version 1"}},
		},
		{
			name:   "create revision and version after a delete start again",
			ops:    ledger(w(0).put(a, "v1", 10).del(a, 11).put(a, "v2", 12)),
			actual: map[string]KV{a: {Value: "v2", ModRevision: 12, CreateRevision: 12, Version: 1}},
			want:   counts{Expected: 1, Restored: 1},
		},
		{
			name:   "a write in doubt before: create revision and version are not checked",
			ops:    ledger(w(0).putIndet(a, "v0").put(a, "v1", 12)),
			actual: map[string]KV{a: {Value: "v1", ModRevision: 12, CreateRevision: 11, Version: 2}},
			want:   counts{Expected: 1, Restored: 1},
		},

		// Indeterminate writes.
		{
			name:   "indeterminate put present, on a key nothing else wrote",
			ops:    ledger(w(0).putIndet(a, "v1")),
			actual: map[string]KV{a: {Value: "v1", ModRevision: 10}},
			want:   counts{Restored: 1, Indeterminate: 1},
		},
		{
			name:   "indeterminate put absent, on a key nothing else wrote",
			ops:    ledger(w(0).putIndet(a, "v1")),
			actual: map[string]KV{},
			want:   counts{},
		},
		{
			name:   "indeterminate put after the last acknowledged one, present",
			ops:    ledger(w(0).put(a, "v1", 10).putIndet(a, "v2")),
			actual: map[string]KV{a: {Value: "v2", ModRevision: 11}},
			want:   counts{Expected: 1, Restored: 1, Indeterminate: 1},
		},
		{
			name:   "indeterminate put after the last acknowledged one, not applied",
			ops:    ledger(w(0).put(a, "v1", 10).putIndet(a, "v2")),
			actual: map[string]KV{a: {Value: "v1", ModRevision: 10}},
			want:   counts{Expected: 1, Restored: 1},
		},
		{
			name:   "indeterminate put after an acknowledged delete, present",
			ops:    ledger(w(0).put(a, "v1", 10).del(a, 20).putIndet(a, "v2")),
			actual: map[string]KV{a: {Value: "v2", ModRevision: 21}},
			want:   counts{Restored: 1, Indeterminate: 1},
		},
		{
			name:   "absence explained by an indeterminate delete",
			ops:    ledger(w(0).put(a, "v1", 10).delIndet(a)),
			actual: map[string]KV{},
			want:   counts{Expected: 1, Indeterminate: 1},
		},
		{
			name:   "indeterminate put before an acknowledged put above R, present",
			ops:    ledger(w(0).put(a, "v1", 10).putIndet(a, "v2").put(a, "v3", snapRev+5)),
			actual: map[string]KV{a: {Value: "v2", ModRevision: 50}},
			want:   counts{Expected: 1, Restored: 1, Indeterminate: 1},
		},
		// The verifier's rule (explainedByIndeterminate): only an
		// indeterminate write after the last acknowledged one at or below R
		// explains a difference. One before it was overwritten by it.
		{
			name:     "indeterminate put followed by an acknowledged put at or below R: its value is a loss",
			ops:      ledger(w(0).putIndet(a, "v1").put(a, "v2", 20)),
			actual:   map[string]KV{a: {Value: "v1", ModRevision: 15}},
			want:     counts{Expected: 1, Restored: 1, Lost: 1},
			findings: []finding{{a, "lost", `"v2"@20`, `"v1"@15 (indeterminate write)`}},
		},
		{
			name:     "indeterminate put followed by an acknowledged delete at or below R: its value is a resurrection",
			ops:      ledger(w(0).put(a, "v1", 10).putIndet(a, "v2").del(a, 20)),
			actual:   map[string]KV{a: {Value: "v2", ModRevision: 15}},
			want:     counts{Restored: 1, Resurrected: 1},
			findings: []finding{{a, "resurrected", "absent", "(indeterminate write)"}},
		},
		{
			name:     "indeterminate delete followed by an acknowledged put at or below R: absence is a loss",
			ops:      ledger(w(0).put(a, "v1", 10).delIndet(a).put(a, "v2", 20)),
			actual:   map[string]KV{},
			want:     counts{Expected: 1, Lost: 1},
			findings: []finding{{a, "lost", `"v2"@20`, "absent"}},
		},
		// A writer sends its next write only once the last one has an
		// outcome: a write sent after one acknowledged above R comes after
		// R too, and cannot be in a snapshot taken at R.
		{
			name:     "indeterminate put after an acknowledged put above R, present",
			ops:      ledger(w(0).put(a, "v1", 10).put(a, "v2", snapRev+1).putIndet(a, "v3")),
			actual:   map[string]KV{a: {Value: "v3", ModRevision: snapRev + 2}},
			want:     counts{Expected: 1, Restored: 1, Lost: 1},
			findings: []finding{{a, "lost", `"v1"@10`, "(indeterminate write)"}},
		},
		{
			name:     "indeterminate put after an acknowledged put above R on a new key, present",
			ops:      ledger(w(0).put(a, "v1", snapRev+1).putIndet(a, "v2")),
			actual:   map[string]KV{a: {Value: "v2", ModRevision: snapRev + 2}},
			want:     counts{Restored: 1, Resurrected: 1},
			findings: []finding{{a, "resurrected", "absent", "(indeterminate write)"}},
		},
		{
			name:     "indeterminate delete after an acknowledged put above R does not explain an absence",
			ops:      ledger(w(0).put(a, "v1", 10).put(a, "v2", snapRev+1).delIndet(a)),
			actual:   map[string]KV{},
			want:     counts{Expected: 1, Lost: 1},
			findings: []finding{{a, "lost", `"v1"@10`, "absent"}},
		},
		// An indeterminate put excuses only its own value at a revision it
		// could have been applied at: above its writer's last acknowledged
		// write before it, and not one another acknowledged write took.
		{
			name:     "indeterminate put present below its writer's last acknowledged write before it",
			ops:      ledger(w(0).put(b, "x", 30).putIndet(a, "v1")),
			actual:   map[string]KV{a: {Value: "v1", ModRevision: 20}, b: {Value: "x", ModRevision: 30}},
			want:     counts{Expected: 1, Restored: 2, Resurrected: 1},
			findings: []finding{{a, "resurrected", "absent", `"v1"@20 (indeterminate write)`}},
		},
		{
			name:     "indeterminate put present at its writer's last acknowledged revision",
			ops:      ledger(w(0).put(a, "v1", 10).put(b, "x", 30).putIndet(a, "v2")),
			actual:   map[string]KV{a: {Value: "v2", ModRevision: 30}, b: {Value: "x", ModRevision: 30}},
			want:     counts{Expected: 2, Restored: 2, Lost: 1},
			findings: []finding{{a, "lost", `"v1"@10`, `"v2"@30 (indeterminate write)`}},
		},
		{
			name:     "indeterminate put present at a revision another writer's acknowledged put took",
			ops:      ledger(w(0).put(a, "v1", 10).putIndet(a, "v2"), w(1).put(c, "z", 12)),
			actual:   map[string]KV{a: {Value: "v2", ModRevision: 12}, c: {Value: "z", ModRevision: 12}},
			want:     counts{Expected: 2, Restored: 2, Lost: 1},
			findings: []finding{{a, "lost", `"v1"@10`, `"v2"@12 (indeterminate write)`}},
		},
		{
			name:   "indeterminate put present at the revision of a delete that deleted nothing (it took none)",
			ops:    ledger(w(0).put(a, "v1", 10).putIndet(a, "v2"), deletedNothing(w(1), d, 12)),
			actual: map[string]KV{a: {Value: "v2", ModRevision: 12}},
			want:   counts{Expected: 1, Restored: 1, Indeterminate: 1},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := CheckAt(tc.ops, snapRev, tc.actual)
			if got := countsOf(r); got != tc.want {
				t.Errorf("counts %+v\nwant   %+v", got, tc.want)
			}
			checkFindings(t, r.Findings, tc.findings)
			wantOK := tc.want.Lost == 0 && tc.want.Resurrected == 0
			if r.OK() != wantOK {
				t.Errorf("OK() = %v, want %v (%s)", r.OK(), wantOK, r.Summary())
			}
		})
	}
}

// The order of the ledger does not matter: writers interleave arbitrarily.
// TestSentBefore: a write in doubt sent after the backup was taken cannot be
// in it, so it excuses nothing; one sent before it still does.
func TestSentBefore(t *testing.T) {
	const a, b = "/d/w0/k0", "/d/w1/k0"
	taken := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	ops := ledger(w(0).put(a, "v1", 10).delIndet(a), w(1).put(b, "x", 11).putIndet(b, "y"))
	for i := range ops {
		// In ledger order: a's put, b's put, a's delete sent at taken, b's
		// put in doubt a second after.
		ops[i].Sent = taken.Add(time.Duration(i-2) * time.Second)
	}
	// What the restored cluster holds: a deleted, b holding y, each as
	// its write in doubt would have left it.
	actual := map[string]KV{b: {Value: "y", ModRevision: 12}}
	for _, tc := range []struct {
		name  string
		taken time.Time
		want  counts
	}{
		{"no bound: both writes in doubt excuse", time.Time{}, counts{Expected: 2, Restored: 1, Indeterminate: 2}},
		{"both sent before the backup", taken.Add(time.Minute), counts{Expected: 2, Restored: 1, Indeterminate: 2}},
		{"the delete sent before, the put after", taken, counts{Expected: 2, Restored: 1, Indeterminate: 1, Lost: 1}},
		{"both sent after the backup", taken.Add(-time.Minute), counts{Expected: 2, Restored: 1, Lost: 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := countsOf(CheckAt(SentBefore(slices.Clone(ops), tc.taken), snapRev, actual)); got != tc.want {
				t.Errorf("counts %+v\nwant   %+v", got, tc.want)
			}
		})
	}
	if changed := SentBefore(ops, taken); changed[3].Outcome != workload.Failed || &changed[0] != &ops[0] {
		t.Errorf("SentBefore did not mark, in place, the write in doubt sent after the backup: %+v", changed)
	}
}

func TestCheckAtLedgerOrder(t *testing.T) {
	h := w(0).put("/k", "v1", 10).putIndet("/k", "v2").put("/k", "v3", 20).del("/k", 30).put("/k", "v4", 40)
	actual := map[string]KV{"/k": {Value: "v4", ModRevision: 40}}
	forward := CheckAt(h.ops, snapRev, actual)
	rev := slices.Clone(h.ops)
	slices.Reverse(rev)
	backward := CheckAt(rev, snapRev, actual)
	want := counts{Expected: 1, Restored: 1}
	if countsOf(forward) != want || countsOf(backward) != want {
		t.Errorf("forward %+v, backward %+v; want %+v", countsOf(forward), countsOf(backward), want)
	}
}

func TestSummary(t *testing.T) {
	r := Result{Expected: 5, Restored: 4, Lost: 1, Resurrected: 2, Indeterminate: 3}
	if got, want := r.Summary(), "expected 5, restored 4, lost 1, resurrected 2, indeterminate 3"; got != want {
		t.Errorf("Summary() = %q, want %q", got, want)
	}
	r.Duplicates = 6
	if got := r.Summary(); !strings.HasSuffix(got, ", duplicates 6") {
		t.Errorf("Summary() = %q, want it to end with duplicates 6", got)
	}
}

// step is one write of a simulated history.
type step struct {
	kind workload.Kind
	key  string
	out  workload.Outcome
	// applied: whether an indeterminate write did reach the keyspace.
	applied bool
}

// TestCheckAtSimulatedHistory plays a small history against a model of the
// keyspace, assigning revisions the way etcd does (one per applied write),
// keeps the model's state at every revision, and checks that CheckAt finds
// each of those states healthy and expects the number of keys worked out
// by hand.
func TestCheckAtSimulatedHistory(t *testing.T) {
	const (
		P  = workload.Put
		D  = workload.Delete
		A  = workload.Acknowledged
		F  = workload.Failed
		In = workload.Indeterminate
	)
	// Two writers, each with its own keys; the steps are in real-time order.
	type wstep struct {
		writer int
		step
	}
	steps := []wstep{
		{0, step{P, "a", A, true}},   // rev 2: a
		{1, step{P, "x", A, true}},   // rev 3: a x
		{0, step{P, "b", A, true}},   // rev 4: a b x
		{0, step{P, "a", A, true}},   // rev 5: a b x (a overwritten)
		{1, step{P, "y", F, false}},  // refused
		{1, step{D, "x", A, true}},   // rev 6: a b
		{0, step{P, "c", In, true}},  // rev 7: a b c (applied, never answered)
		{1, step{P, "y", A, true}},   // rev 8: a b c y
		{0, step{D, "b", In, false}}, // lost in transit
		{0, step{D, "a", A, true}},   // rev 9: b c y
		{1, step{P, "z", In, false}}, // never applied
		{1, step{P, "x", A, true}},   // rev 10: b c x y
		{0, step{D, "c", In, true}},  // rev 11: b x y (applied, never answered)
		{0, step{P, "b", A, true}},   // rev 12: b x y (b overwritten)
	}
	// Keys the ledger expects at each revision: the model minus what only
	// indeterminate writes put there (c at 7..10, counted as indeterminate;
	// from 11 on c is absent, as the ledger expects of a key with no
	// acknowledged write).
	wantExpected := map[int64]int{1: 0, 2: 1, 3: 2, 4: 3, 5: 3, 6: 2, 7: 2, 8: 3, 9: 2, 10: 3, 11: 3, 12: 3}
	wantIndeterminate := map[int64]int{7: 1, 8: 1, 9: 1, 10: 1}

	hs := []*history{w(0), w(1)}
	model := map[string]KV{}
	snaps := map[int64]map[string]KV{1: {}}
	var rev int64 = 1
	for i, s := range steps {
		h := hs[s.writer]
		key := "/sim/w" + strconv.Itoa(s.writer) + "/" + s.key
		value := fmt.Sprintf("w%d-s%d", s.writer, h.seq+1)
		if s.applied {
			rev++
			if s.kind == P {
				model[key] = KV{Value: value, ModRevision: rev}
			} else {
				if _, ok := model[key]; !ok {
					t.Fatalf("step %d deletes %s, which is not there", i, key)
				}
				delete(model, key)
			}
			snaps[rev] = maps.Clone(model)
		}
		h.add(s.kind, key, value, s.out, rev)
	}
	if rev != 12 {
		t.Fatalf("history ends at revision %d, want 12", rev)
	}
	ops := ledger(hs...)
	if len(ops) != len(steps) {
		t.Fatalf("%d ops, want %d", len(ops), len(steps))
	}
	for r := int64(1); r <= rev; r++ {
		res := CheckAt(ops, r, snaps[r])
		if !res.OK() {
			t.Errorf("revision %d: %s: %+v", r, res.Summary(), res.Findings)
		}
		if res.Expected != wantExpected[r] || res.Restored != len(snaps[r]) || res.Indeterminate != wantIndeterminate[r] {
			t.Errorf("revision %d: expected %d restored %d indeterminate %d; want %d, %d, %d",
				r, res.Expected, res.Restored, res.Indeterminate, wantExpected[r], len(snaps[r]), wantIndeterminate[r])
		}
	}
	// And the snapshot of one revision is damage at another: at 5, the
	// state of 6 has lost x; the state of 4 at 6 has x back.
	if res := CheckAt(ops, 5, snaps[6]); res.Lost != 1 || res.Resurrected != 0 {
		t.Errorf("state of 6 checked at 5: %s", res.Summary())
	}
	if res := CheckAt(ops, 6, snaps[4]); res.Resurrected != 1 || res.Lost != 1 {
		// x is back, and a holds its value of revision 2 instead of 5.
		t.Errorf("state of 4 checked at 6: %s", res.Summary())
	}
}

func newClient(t *testing.T, ep string, opts ...grpc.DialOption) *clientv3.Client {
	t.Helper()
	cli, err := clientv3.New(clientv3.Config{
		Endpoints:   []string{ep},
		DialTimeout: 5 * time.Second,
		DialOptions: opts,
		Logger:      zap.NewNop(),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

func TestReadKeyspaceAgainstEmbeddedEtcd(t *testing.T) {
	ep := etcdtest.Single(t, nil)
	writer := newClient(t, ep)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// 12,000 keys under the prefix, plus the prefix itself as a key: more
	// than two pages of 5000.
	const prefix, n = "/ks/", 12000
	want := map[string]KV{}
	var lastRev int64
	var ops []clientv3.Op
	keys := []string{prefix}
	for i := range n {
		keys = append(keys, fmt.Sprintf("%sk%05d", prefix, i))
	}
	flush := func() {
		resp, err := writer.Txn(ctx).Then(ops...).Commit()
		if err != nil {
			t.Fatal(err)
		}
		lastRev = resp.Header.Revision
		ops = ops[:0]
	}
	var batch []string
	for _, k := range keys {
		ops = append(ops, clientv3.OpPut(k, "value of "+k))
		batch = append(batch, k)
		if len(ops) == 100 {
			flush()
			for _, k := range batch {
				want[k] = KV{Value: "value of " + k, ModRevision: lastRev, CreateRevision: lastRev, Version: 1}
			}
			batch = batch[:0]
		}
	}
	flush()
	for _, k := range batch {
		want[k] = KV{Value: "value of " + k, ModRevision: lastRev, CreateRevision: lastRev, Version: 1}
	}
	// Keys just outside the prefix, on both sides of its range.
	for _, k := range []string{"/kr/z", "/ks", "/ks.", "/ks0", "/ks0/k00001", "/kt"} {
		resp, err := writer.Put(ctx, k, "outside")
		if err != nil {
			t.Fatal(err)
		}
		lastRev = resp.Header.Revision
	}

	// Count the ranges ReadKeyspace asks for (a count, which fixes the
	// revision, then the pages); after the first, change the keyspace: the
	// read must still show it as of the count.
	var ranges atomic.Int32
	var changed int64
	reader := newClient(t, ep, grpc.WithChainUnaryInterceptor(
		func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
			err := invoker(ctx, method, req, reply, cc, opts...)
			if strings.HasSuffix(method, "/Range") && ranges.Add(1) == 1 {
				resp, err := writer.Txn(ctx).Then(
					clientv3.OpPut(prefix+"new", "after the first page"),
					clientv3.OpDelete(prefix+"k11999"),
					clientv3.OpPut(prefix+"k06000", "changed"),
				).Commit()
				if err != nil {
					t.Errorf("change between pages: %v", err)
				} else {
					changed = resp.Header.Revision
				}
			}
			return err
		}))

	got, rev, err := ReadKeyspace(ctx, reader, prefix)
	if err != nil {
		t.Fatal(err)
	}
	if rev != lastRev {
		t.Errorf("read at revision %d, want %d (the last write before the read)", rev, lastRev)
	}
	if changed != lastRev+1 {
		t.Errorf("the change between pages landed at revision %d, want %d", changed, lastRev+1)
	}
	if p := ranges.Load(); p != 4 {
		t.Errorf("ReadKeyspace asked for %d ranges, want a count and 3 pages for %d keys", p, len(want))
	}
	if len(got) != len(want) {
		t.Errorf("read %d keys, want %d", len(got), len(want))
	}
	bad := 0
	for k, kv := range want {
		if g, ok := got[k]; !ok || g != kv {
			if bad++; bad <= 5 {
				t.Errorf("key %q: got %+v (present %v), want %+v", k, g, ok, kv)
			}
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			if bad++; bad <= 10 {
				t.Errorf("read %q, which is not under %s or came after the read's revision", k, prefix)
			}
		}
	}

	// Reading again sees the change.
	again, rev2, err := ReadKeyspace(ctx, reader, prefix)
	if err != nil {
		t.Fatal(err)
	}
	if rev2 != changed || len(again) != len(want) || again[prefix+"k06000"].Value != "changed" {
		t.Errorf("second read at %d: %d keys, k06000=%+v", rev2, len(again), again[prefix+"k06000"])
	}

	// With progress: told after each page, ending at every key of the
	// count it read first.
	var seen [][2]int
	withProgress, rev3, err := ReadKeyspaceProgress(ctx, reader, prefix, 64, func(done, total int) { seen = append(seen, [2]int{done, total}) })
	if err != nil || rev3 != changed || len(withProgress) != len(again) {
		t.Errorf("read with progress at %d: %d keys, %v", rev3, len(withProgress), err)
	}
	if len(seen) != 3 || seen[0] != [2]int{5000, len(again)} || seen[2] != [2]int{len(again), len(again)} {
		t.Errorf("progress %v: want 3 pages, from 5000 to %d of %d", seen, len(again), len(again))
	}

	// A prefix with no keys reads as empty.
	empty, _, err := ReadKeyspace(ctx, reader, "/nothing/")
	if err != nil || len(empty) != 0 {
		t.Errorf("empty prefix: %d keys, %v", len(empty), err)
	}
}

// A real workload against a real member, read back and checked at the
// member's current revision, is healthy; checked at an earlier revision,
// the later writes show up as damage.
func TestCheckAtWorkloadAgainstEmbeddedEtcd(t *testing.T) {
	ep := etcdtest.Single(t, nil)
	cli := newClient(t, ep)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	cfg := workload.DefaultConfig()
	cfg.Prefix = "/wl/"
	cfg.Concurrency = 8
	cfg.DeleteRatio, cfg.OverwriteRatio = 0.15, 0.25
	wl, err := workload.New(cfg, workload.NewLedger())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := wl.Run(ctx, cli, 600, nil); err != nil {
		t.Fatal(err)
	}
	actual, rev, err := ReadKeyspace(ctx, cli, cfg.Prefix)
	if err != nil {
		t.Fatal(err)
	}
	ops := wl.Ledger().Ops()
	res := CheckAt(ops, rev, actual)
	if !res.OK() || res.Expected != len(actual) || res.Restored != len(actual) || res.Indeterminate != 0 || res.Duplicates != 0 {
		t.Fatalf("at the current revision %d: %s, findings %+v", rev, res.Summary(), res.Findings)
	}
	if len(actual) == 0 {
		t.Fatal("workload left no keys")
	}

	// Drop one acknowledged key and change another: both are found.
	var victim, changed string
	for k := range actual {
		if victim == "" {
			victim = k
		} else if changed == "" {
			changed = k
		}
	}
	damaged := maps.Clone(actual)
	delete(damaged, victim)
	damaged[changed] = KV{Value: "not what was written", ModRevision: damaged[changed].ModRevision}
	res = CheckAt(ops, rev, damaged)
	if res.Lost != 2 || res.Resurrected != 0 || len(res.Findings) != 2 {
		t.Errorf("two keys damaged: %s, %+v", res.Summary(), res.Findings)
	}

	// The keyspace of now, checked as if restored from a snapshot at an
	// earlier revision, has the writes of after it: each key whose state
	// differs between then and now is a finding.
	earlier := rev - 100
	res = CheckAt(ops, earlier, actual)
	if res.OK() {
		t.Errorf("keyspace at %d checked at %d: %s", rev, earlier, res.Summary())
	}
	if res.Lost+res.Resurrected != len(res.Findings) || len(res.Findings) == 0 {
		t.Errorf("keyspace at %d checked at %d: %s with %d findings", rev, earlier, res.Summary(), len(res.Findings))
	}
}

// TestStreamTakesKeysInOrder: the stream walks the ledger beside the pages,
// so a key out of order (or twice) is refused, not checked against the
// wrong writes; keys between the ledger's, never written, are resurrected,
// and the ledger's keys never read are lost.
func TestStreamTakesKeysInOrder(t *testing.T) {
	ops := []workload.Op{
		{Writer: 0, Seq: 1, Kind: workload.Put, Key: "/d/b", Value: "b1", Outcome: workload.Acknowledged, Revision: 2},
		{Writer: 0, Seq: 2, Kind: workload.Put, Key: "/d/d", Value: "d1", Outcome: workload.Acknowledged, Revision: 3},
		{Writer: 0, Seq: 3, Kind: workload.Put, Key: "/d/f", Value: "f1", Outcome: workload.Acknowledged, Revision: 4},
	}
	s := NewStream(ops, 10, time.Time{})
	for _, k := range []struct {
		key string
		kv  KV
	}{{"/d/a", KV{Value: "x", ModRevision: 5}}, {"/d/b", KV{Value: "b1", ModRevision: 2}}, {"/d/c", KV{Value: "y", ModRevision: 6}}, {"/d/f", KV{Value: "f1", ModRevision: 4}}} {
		if err := s.Add(k.key, k.kv); err != nil {
			t.Fatal(err)
		}
	}
	for _, k := range []string{"/d/f", "/d/e"} {
		if err := s.Add(k, KV{Value: "f1", ModRevision: 4}); err == nil {
			t.Fatalf("Add(%q) after /d/f: want an out-of-order error", k)
		}
	}
	r := s.Done()
	var got []string
	for _, f := range r.Findings {
		got = append(got, f.Kind+" "+f.Key)
	}
	want := []string{"resurrected /d/a", "resurrected /d/c", "lost /d/d"}
	if !slices.Equal(got, want) || r.Expected != 3 || r.Restored != 4 || r.Lost != 1 || r.Resurrected != 2 {
		t.Fatalf("findings %v (expected %d, restored %d, lost %d, resurrected %d), want %v, 3, 4, 1, 2", got, r.Expected, r.Restored, r.Lost, r.Resurrected, want)
	}
}
