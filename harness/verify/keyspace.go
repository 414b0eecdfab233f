// Package verify compares what a recovered cluster holds with what the ledger
// says it must hold, and checks that members agree with each other.
package verify

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/etcd-drill/etcd-drill/harness/workload"
)

// KV is a key's value as read back, with its revisions. A zero
// CreateRevision means they were not read (only the value and ModRevision
// are compared then).
type KV struct {
	Value          string
	ModRevision    int64
	CreateRevision int64
	Version        int64
}

// Finding is one key that is not as the ledger says.
type Finding struct {
	Key  string `json:"key"`
	Kind string `json:"kind"` // lost, resurrected
	// Want and Got describe the expected and actual state, for people.
	Want string `json:"want"`
	Got  string `json:"got"`
}

// Result sums up a keyspace check.
type Result struct {
	// Expected is the number of keys the ledger says must be present.
	Expected int
	// Restored is the number of keys present under the prefix.
	Restored int
	// FromOld is nonzero when a key holds a value the old cluster was sent
	// (counted up to one only): zero, the backup held none of its data.
	FromOld int
	// Lost: keys whose acknowledged put at or below the revision is missing
	// or holds another value.
	Lost int
	// Resurrected: keys present that must not be (deleted at or below the
	// revision, written only after it, or never written).
	Resurrected int
	// Indeterminate: keys that differ from the acknowledged history in a way
	// an indeterminate write explains.
	Indeterminate int
	// Duplicates: puts applied twice. clientv3 v3.7.3 retries a put only
	// when no connection was made, so an acknowledged put is applied once
	// at the revision it answered: none is excused this way, and a value at
	// another revision is RevisionMismatch. Kept, always 0, for the report.
	Duplicates int
	// RevisionMismatch: keys holding the expected value at another
	// mod_revision, or with another create_revision or version than the
	// ledger's acknowledged history gives (a restore that kept values but
	// rewrote revisions: watchers and resourceVersions jump).
	RevisionMismatch int
	// Findings lists lost and resurrected keys, sorted by key.
	Findings []Finding
	// Partial lists the puts of transactions held in part (see
	// PartialTxns), LostBeforeFault the keys the old cluster lost before
	// the fault (see LostBeforeFault), each sorted by key.
	Partial         []Finding
	LostBeforeFault []Finding
}

// OK reports that nothing was lost or resurrected.
func (r Result) OK() bool { return r.Lost == 0 && r.Resurrected == 0 }

type state struct {
	present bool
	value   string
	rev     int64
	// create and version, when known (see createAndVersion).
	create, version int64
}

func (s state) String() string {
	if !s.present {
		return "absent"
	}
	return fmt.Sprintf("%q@%d", s.value, s.rev)
}

// CheckAt replays the ledger up to revision rev and compares the result with
// actual, the keys read back under the workload's prefix. Every acknowledged
// put at or below rev must be there with its value; every key deleted at or
// below rev, or written only above it, must be absent.
//
// rev bounds the old cluster's writes only (see Beyond): every write the
// recovered cluster acknowledged must be there, on top of the old ones up
// to rev.
func CheckAt(ops []workload.Op, rev int64, actual map[string]KV) Result {
	return CheckAcross(ops, rev, actual, time.Time{})
}

// CheckAcross is CheckAt for writers that were moved, at switched, from the
// old cluster's client to the recovered one's: a write in doubt sent
// through the old client before then may still have been on its way, and
// be applied after a later write of its writer sent through the new one.
func CheckAcross(ops []workload.Op, rev int64, actual map[string]KV, switched time.Time) Result {
	return fromMap(NewStream(ops, rev, switched), actual)
}

// expectedAt returns the key's state at rev by its acknowledged writes, and
// the index of the first op after the one that set it.
func expectedAt(kops []workload.Op, rev int64) (state, int) {
	want, from := state{}, 0
	for i, op := range kops {
		if op.Outcome != workload.Acknowledged || Beyond(op, rev) {
			continue
		}
		from = i + 1
		switch op.Kind {
		case workload.Put:
			want = state{present: true, value: op.Value, rev: op.Revision}
		case workload.Delete:
			want = state{rev: op.Revision}
		}
	}
	return want, from
}

// KindRevisionRewritten is a key that holds its value at other revisions
// than the ledger gives.
const KindRevisionRewritten = "revision-rewritten"

// revisionsDiffer compares the revisions of a key that holds the expected
// value: its mod_revision is the acknowledged put's, always; its
// create_revision (the first put after the last delete) and version (the
// puts since) only when the history up to it is certain (no write in doubt)
// and the read gave them.
func revisionsDiffer(want, have state, upTo []workload.Op, rev int64) (w, g string, bad bool) {
	if want.rev != have.rev {
		return fmt.Sprintf("mod_revision %d", want.rev), fmt.Sprintf("mod_revision %d", have.rev), true
	}
	create, version, exact := createAndVersion(upTo, rev)
	if !exact || have.create == 0 {
		return "", "", false
	}
	if create != have.create || version != have.version {
		return fmt.Sprintf("create_revision %d, version %d", create, version), fmt.Sprintf("create_revision %d, version %d", have.create, have.version), true
	}
	return "", "", false
}

// createAndVersion gives a key's create_revision and version from its writes in
// program order, up to and including the one that set its expected value;
// exact is false when a write in doubt may have changed them. Writes of
// the old cluster above rev are not kept, and count for nothing.
func createAndVersion(ops []workload.Op, rev int64) (create, version int64, exact bool) {
	for _, op := range ops {
		switch {
		case op.Outcome == workload.Indeterminate:
			return 0, 0, false
		case op.Outcome != workload.Acknowledged || Beyond(op, rev):
		case op.Kind == workload.Delete:
			create, version = 0, 0
		case op.Kind == workload.Put:
			if version == 0 {
				create = op.Revision
			}
			version++
		}
	}
	return create, version, true
}

// explainedByIndeterminate: the actual state is what an indeterminate write
// after the last acknowledged one would have left: a put its own value at a
// revision it could have been applied at, a delete an absence. A writer
// sends a write only once the one before has an outcome, so a write to the
// old cluster sent after one it acknowledged above rev was applied, if at
// all, above rev too: it explains nothing. One to the recovered cluster
// still may.
func explainedByIndeterminate(later []workload.Op, rev int64, have state, doubt windows) bool {
	past := false
	for _, op := range later {
		if Beyond(op, rev) {
			past = true
		}
		if op.Outcome != workload.Indeterminate || (past && op.Epoch == workload.Old) {
			continue
		}
		if op.Kind == workload.Put && have.present && have.value == op.Value && doubt.could(op, have.rev) {
			return true
		}
		if op.Kind == workload.Delete && !have.present {
			return true
		}
	}
	return false
}

// appliedLate: the actual state is what a write in doubt sent through the
// old client before switched left, applied after the write that set the
// expected state, the last of earlier, sent through the new one: a write
// whose client was dropped may still be on its way to the cluster. A put
// then holds its value at a revision above the expected write's, a delete
// leaves an absence. Through one client (one connection, in order) a
// writer's next write is sent only once the one before has an outcome.
func appliedLate(earlier []workload.Op, want, have state, doubt windows, switched time.Time) bool {
	if switched.IsZero() || len(earlier) == 0 || earlier[len(earlier)-1].Sent.Before(switched) {
		return false
	}
	for _, op := range earlier {
		if op.Outcome != workload.Indeterminate || !op.Sent.Before(switched) {
			continue
		}
		if op.Kind == workload.Put && have.present && have.value == op.Value && have.rev > want.rev && doubt.could(op, have.rev) {
			return true
		}
		if op.Kind == workload.Delete && !have.present {
			return true
		}
	}
	return false
}

// windows knows, for each write in doubt, the revisions it could have been
// applied at.
type windows struct {
	// after: the revision of its writer's last acknowledged write before
	// it to the same cluster; it was sent after that answer, so it was
	// applied above it.
	after map[opID]int64
	// taken: revisions acknowledged writes were answered with, by epoch; a
	// write in doubt cannot have been applied at one of them (a revision is
	// one transaction). The recovered cluster's history holds the old one's
	// up to rev. Sorted, for a binary search: a million revisions take 8
	// MB so, far less than in a map.
	taken [workload.Recovered + 1][]int64
	rev   int64
}

type opID struct {
	writer, seq int
	epoch       workload.Epoch
}

func doubtWindows(ops []workload.Op, rev int64) windows {
	w := windows{after: map[opID]int64{}, rev: rev}
	for _, op := range ops {
		// A delete that deleted nothing answers with the revision as it
		// was: it made none.
		if op.Outcome == workload.Acknowledged && (op.Kind == workload.Put || op.Deleted > 0) {
			w.taken[op.Epoch] = append(w.taken[op.Epoch], op.Revision)
		}
	}
	for _, t := range w.taken {
		slices.Sort(t)
	}
	// Each writer's writes to each cluster in program order, by index: a
	// large ledger is not copied.
	idx := make([]int32, len(ops))
	for i := range idx {
		idx[i] = int32(i)
	}
	sort.Slice(idx, func(i, j int) bool {
		a, b := &ops[idx[i]], &ops[idx[j]]
		if a.Writer != b.Writer || a.Epoch != b.Epoch {
			return a.Writer < b.Writer || (a.Writer == b.Writer && a.Epoch < b.Epoch)
		}
		return a.Seq < b.Seq
	})
	var last int64
	for n, i := range idx {
		op := &ops[i]
		if n > 0 {
			if prev := &ops[idx[n-1]]; prev.Writer != op.Writer || prev.Epoch != op.Epoch {
				last = 0
			}
		}
		switch op.Outcome {
		case workload.Acknowledged:
			last = max(last, op.Revision)
		case workload.Indeterminate:
			w.after[opID{op.Writer, op.Seq, op.Epoch}] = last
		}
	}
	return w
}

// could says whether op, a put in doubt, could have been applied at rev.
func (w windows) could(op workload.Op, rev int64) bool {
	taken := w.took(op.Epoch, rev) || (op.Epoch == workload.Recovered && rev <= w.rev && w.took(workload.Old, rev))
	return rev > w.after[opID{op.Writer, op.Seq, op.Epoch}] && !taken
}

// took says whether an acknowledged write to epoch's cluster was answered
// with rev.
func (w windows) took(epoch workload.Epoch, rev int64) bool {
	_, found := slices.BinarySearch(w.taken[epoch], rev)
	return found
}

// Beyond says whether op is a write the old cluster acknowledged above rev:
// a recovery to rev does not keep it. Every write of the recovered cluster
// is kept, whatever its revision.
func Beyond(op workload.Op, rev int64) bool {
	return op.Epoch == workload.Old && op.Outcome == workload.Acknowledged && op.Revision > rev
}

// EitherCluster returns ops with each write in doubt sent to the old
// cluster at or after from also as one of the recovered cluster: where the
// recovered cluster serves on the old one's addresses, a write still in
// flight when it came up may have reached it. It appends to ops.
func EitherCluster(ops []workload.Op, from time.Time) []workload.Op {
	out := ops
	for _, op := range ops[:len(ops):len(ops)] {
		if op.Outcome == workload.Indeterminate && op.Epoch == workload.Old && !op.Sent.Before(from) {
			op.Epoch = workload.Recovered
			out = append(out, op)
		}
	}
	return out
}

// MayBeKept puts the old cluster's writes acknowledged above rev in doubt:
// a recovered cluster that kept an unknown part of them above rev may hold
// each or not, at the revision it was acknowledged at. It changes ops in
// place (a large ledger is not copied) and returns it.
func MayBeKept(ops []workload.Op, rev int64) []workload.Op {
	for i, op := range ops {
		if Beyond(op, rev) {
			ops[i].Outcome = workload.Indeterminate
			ops[i].Err = fmt.Sprintf("acknowledged at revision %d, above %d: kept or not", op.Revision, rev)
		}
	}
	return ops
}

// SentBefore makes ops as a backup taken at t holds them: a write in doubt
// sent to the old cluster after t cannot be in it, so it counts as not
// applied (failed) and excuses nothing. A zero t bounds nothing. It changes
// ops in place (a large ledger is not copied) and returns it.
func SentBefore(ops []workload.Op, t time.Time) []workload.Op {
	if t.IsZero() {
		return ops
	}
	for i, op := range ops {
		if op.Outcome == workload.Indeterminate && op.Epoch == workload.Old && op.Sent.After(t) {
			ops[i].Outcome = workload.Failed
			ops[i].Err = "sent after the backup was taken: " + op.Err
		}
	}
	return ops
}

// describe says what is there, and names the write it came from if the
// ledger knows it (a write from after rev is worth naming).
func describe(have state, kops []workload.Op, rev int64) string {
	s := have.String()
	if !have.present {
		return s
	}
	for _, op := range kops {
		if op.Kind == workload.Put && op.Value == have.value {
			if Beyond(op, rev) {
				return s + fmt.Sprintf(" (written after revision %d)", rev)
			}
			return s + " (" + op.Outcome.String() + " write)"
		}
	}
	return s + " (a value the ledger never wrote)"
}

// pageBytes bounds one page of ReadKeyspace: far below gRPC's 2 GiB limit
// on a message, whatever the value size.
const pageBytes = 32 << 20

// PageKeys is how many keys of about valueSize bytes fit in a page: at
// most 5,000, at least 1.
func PageKeys(valueSize int) int64 {
	return int64(min(max(pageBytes/(valueSize+256), 1), 5000))
}

// ReadKeyspace reads every key under prefix, page by page, at one revision,
// for values of about 64 bytes: see ReadKeyspaceProgress.
func ReadKeyspace(ctx context.Context, cli *clientv3.Client, prefix string) (map[string]KV, int64, error) {
	return ReadKeyspaceProgress(ctx, cli, prefix, 64, nil)
}

// ReadKeyspaceProgress reads every key under prefix at one revision into
// a map (see Keyspace), telling progress, if not nil, how many keys of how
// many it has read after each page.
func ReadKeyspaceProgress(ctx context.Context, cli *clientv3.Client, prefix string, valueSize int, progress func(done, total int)) (map[string]KV, int64, error) {
	ks, err := OpenKeyspace(ctx, cli, prefix, valueSize)
	if err != nil {
		return nil, 0, err
	}
	out := make(map[string]KV, ks.Count)
	err = ks.Each(ctx, func(key string, kv KV) error {
		out[key] = kv
		return nil
	}, progress)
	if err != nil {
		return nil, 0, err
	}
	return out, ks.Rev, nil
}

// Keyspace is the keys under a prefix at one revision, read page by page
// (pages of PageKeys(valueSize) keys, near 32 MiB): only one page is held
// at a time.
type Keyspace struct {
	cli         *clientv3.Client
	prefix, end string
	page        int64
	// Rev is the revision every page is read at; Count is how many keys
	// are under the prefix at it.
	Rev   int64
	Count int
}

// OpenKeyspace fixes the revision to read the keys under prefix at (the
// store's current one) and counts them.
func OpenKeyspace(ctx context.Context, cli *clientv3.Client, prefix string, valueSize int) (*Keyspace, error) {
	end := clientv3.GetPrefixRangeEnd(prefix)
	resp, err := cli.Get(ctx, prefix, clientv3.WithRange(end), clientv3.WithCountOnly())
	if err != nil {
		return nil, fmt.Errorf("count keys under %s: %w", prefix, err)
	}
	return &Keyspace{cli: cli, prefix: prefix, end: end, page: PageKeys(valueSize), Rev: resp.Header.Revision, Count: int(resp.Count)}, nil
}

// Each calls fn with every key and its value, in ascending key order, and
// progress, if not nil, after each page with the keys read so far and
// Count. It stops at fn's first error.
func (k *Keyspace) Each(ctx context.Context, fn func(key string, kv KV) error, progress func(done, total int)) error {
	key, done := k.prefix, 0
	for {
		resp, err := k.cli.Get(ctx, key, clientv3.WithRange(k.end), clientv3.WithLimit(k.page), clientv3.WithRev(k.Rev))
		if err != nil {
			return fmt.Errorf("read keyspace under %s at revision %d from %s: %w", k.prefix, k.Rev, key, err)
		}
		for _, kv := range resp.Kvs {
			if err := fn(string(kv.Key), KV{Value: string(kv.Value), ModRevision: kv.ModRevision, CreateRevision: kv.CreateRevision, Version: kv.Version}); err != nil {
				return err
			}
		}
		done += len(resp.Kvs)
		if progress != nil {
			progress(done, k.Count)
		}
		if !resp.More || len(resp.Kvs) == 0 {
			return nil
		}
		key = string(resp.Kvs[len(resp.Kvs)-1].Key) + "\x00"
	}
}

// Summary says in a line what a result found.
func (r Result) Summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "expected %d, restored %d, lost %d, resurrected %d, indeterminate %d",
		r.Expected, r.Restored, r.Lost, r.Resurrected, r.Indeterminate)
	if r.Duplicates > 0 {
		fmt.Fprintf(&b, ", duplicates %d", r.Duplicates)
	}
	if r.RevisionMismatch > 0 {
		fmt.Fprintf(&b, ", revisions rewritten %d", r.RevisionMismatch)
	}
	return b.String()
}
