package verify

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/etcd-drill/etcd-drill/harness/workload"
)

// Stream checks a keyspace against the ledger one key at a time, the keys
// coming in ascending byte order as etcd ranges them: the ledger's writes,
// sorted by key, are walked beside the pages read back, so that neither the
// keyspace nor a map of the ledger by key is ever held. It finds what
// CheckAcross, PartialTxns and LostBeforeFault find (they are this, fed
// from a map).
type Stream struct {
	ops []workload.Op
	// order indexes ops by key, then program order (a writer owns its keys:
	// its sequence numbers order their writes); next is the first of order
	// not yet checked.
	order    []int32
	next     int
	rev      int64
	switched time.Time
	doubt    windows
	last     string
	started  bool
	kops     []workload.Op // the current key's writes (reused)
	res      Result
	partial  map[opID]*txnHeld
	early    []Finding
}

// txnHeld is what the keyspace holds of one transaction's puts that were
// their keys' last writes.
type txnHeld struct {
	first   workload.Op
	held    []string
	missing []string
	at      map[int64]bool
}

// NewStream checks a keyspace read at revision rev of the old cluster's
// writes (see CheckAcross for rev and switched). ops is not changed.
func NewStream(ops []workload.Op, rev int64, switched time.Time) *Stream {
	order := make([]int32, len(ops))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortStableFunc(order, func(a, b int32) int {
		if c := strings.Compare(ops[a].Key, ops[b].Key); c != 0 {
			return c
		}
		return ops[a].Seq - ops[b].Seq
	})
	return &Stream{ops: ops, order: order, rev: rev, switched: switched, doubt: doubtWindows(ops, rev), partial: map[opID]*txnHeld{}}
}

// Add checks key, read back with kv. Keys must come in ascending order,
// each once.
func (s *Stream) Add(key string, kv KV) error {
	if s.started && key <= s.last {
		return fmt.Errorf("keyspace read out of order: %q after %q", key, s.last)
	}
	s.started, s.last = true, key
	s.absentBelow(key)
	kops := s.take(key)
	s.res.Restored++
	if len(kops) == 0 {
		s.res.Resurrected++
		s.res.Findings = append(s.res.Findings, Finding{Key: key, Kind: "resurrected", Want: "never written", Got: state{present: true, value: kv.Value, rev: kv.ModRevision}.String()})
		return nil
	}
	if s.res.FromOld == 0 {
		for _, op := range kops {
			if op.Epoch == workload.Old && op.Kind == workload.Put && op.Value == kv.Value {
				s.res.FromOld++
				break
			}
		}
	}
	s.check(key, kops, state{present: true, value: kv.Value, rev: kv.ModRevision, create: kv.CreateRevision, version: kv.Version}, kv)
	return nil
}

// Done checks every key of the ledger not read back as absent, and returns
// what the stream found, each list sorted by key.
func (s *Stream) Done() Result {
	s.absentBelow("")
	for _, t := range s.partial {
		if len(t.held) == 0 || (len(t.missing) == 0 && len(t.at) == 1) {
			continue
		}
		want := fmt.Sprintf("all %d puts of %s transaction w%d-s%d, at one revision", t.first.Txn, t.first.Outcome, t.first.Writer, t.first.Seq)
		for _, k := range t.missing {
			s.res.Partial = append(s.res.Partial, Finding{Key: k, Kind: KindPartialTxn, Want: want, Got: fmt.Sprintf("%d of them held, this one not", len(t.held))})
		}
		if len(t.missing) == 0 {
			slices.Sort(t.held)
			s.res.Partial = append(s.res.Partial, Finding{Key: t.held[0], Kind: KindPartialTxn, Want: want, Got: fmt.Sprintf("its puts at %d revisions", len(t.at))})
		}
	}
	for _, l := range [][]Finding{s.res.Findings, s.res.Partial, s.early} {
		sort.SliceStable(l, func(i, j int) bool { return l[i].Key < l[j].Key })
	}
	s.res.LostBeforeFault = s.early
	return s.res
}

// absentBelow checks every ledger key below key (all of them if key is
// empty) as absent: the keyspace did not hold it.
func (s *Stream) absentBelow(key string) {
	for s.next < len(s.order) {
		k := s.ops[s.order[s.next]].Key
		if key != "" && k >= key {
			return
		}
		s.check(k, s.take(k), state{}, KV{})
	}
}

// take returns the ledger's writes of key, in program order, and moves past
// them.
func (s *Stream) take(key string) []workload.Op {
	s.kops = s.kops[:0]
	for s.next < len(s.order) && s.ops[s.order[s.next]].Key == key {
		s.kops = append(s.kops, s.ops[s.order[s.next]])
		s.next++
	}
	return s.kops
}

// check compares one key of the ledger, written by kops, with what the
// keyspace holds of it.
func (s *Stream) check(key string, kops []workload.Op, have state, kv KV) {
	r := &s.res
	want, from := expectedAt(kops, s.rev)
	if want.present {
		r.Expected++
	}
	switch {
	case want.present && have.present && want.value == have.value:
		if w, g, bad := revisionsDiffer(want, have, kops[:from], s.rev); bad {
			r.RevisionMismatch++
			r.Findings = append(r.Findings, Finding{Key: key, Kind: KindRevisionRewritten, Want: w, Got: g})
		}
	case !want.present && !have.present:
	case explainedByIndeterminate(kops[from:], s.rev, have, s.doubt), appliedLate(kops[:from], want, have, s.doubt, s.switched):
		r.Indeterminate++
	case want.present:
		r.Lost++
		r.Findings = append(r.Findings, Finding{Key: key, Kind: "lost", Want: want.String(), Got: describe(have, kops, s.rev)})
	default:
		r.Resurrected++
		r.Findings = append(r.Findings, Finding{Key: key, Kind: "resurrected", Want: want.String(), Got: describe(have, kops, s.rev)})
	}
	s.txnPuts(kops, have.present, kv)
	if f, ok := lostBeforeFault(key, kops, s.rev); ok {
		s.early = append(s.early, f)
	}
}

// txnPuts notes, for each transaction that put this key last (at or below
// rev, see PartialTxns), whether the keyspace holds that put.
func (s *Stream) txnPuts(kops []workload.Op, present bool, kv KV) {
	for _, p := range kops {
		if p.Txn < 2 || p.Outcome == workload.Failed || Beyond(p, s.rev) || !lastAt(kops, p, s.rev) {
			continue
		}
		id := opID{p.Writer, p.Seq, p.Epoch}
		t := s.partial[id]
		if t == nil {
			t = &txnHeld{first: p, at: map[int64]bool{}}
			s.partial[id] = t
		}
		if present && kv.Value == p.Value && (p.Outcome != workload.Acknowledged || kv.ModRevision == p.Revision) {
			t.held = append(t.held, p.Key)
			t.at[kv.ModRevision] = true
			continue
		}
		t.missing = append(t.missing, p.Key)
	}
}

// fromMap feeds a keyspace held in a map to a stream, in key order.
func fromMap(s *Stream, actual map[string]KV) Result {
	keys := make([]string, 0, len(actual))
	for k := range actual {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		_ = s.Add(k, actual[k]) // sorted and distinct: never out of order
	}
	return s.Done()
}
