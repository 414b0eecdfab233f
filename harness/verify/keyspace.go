// Package verify compares what a recovered cluster holds with what the ledger
// says it must hold, and checks that members agree with each other.
package verify

import (
	"context"
	"fmt"
	"sort"
	"strings"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/etcd-drill/etcd-drill/harness/workload"
)

// KV is a key's value as read back.
type KV struct {
	Value       string
	ModRevision int64
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
	// Lost: keys whose acknowledged put at or below the revision is missing
	// or holds another value.
	Lost int
	// Resurrected: keys present that must not be (deleted at or below the
	// revision, written only after it, or never written).
	Resurrected int
	// Indeterminate: keys that differ from the acknowledged history in a way
	// an indeterminate write explains.
	Indeterminate int
	// Duplicates: keys holding the expected value at another mod revision:
	// the same put applied twice (a client retry), not a loss.
	Duplicates int
	// Findings lists lost and resurrected keys, sorted by key.
	Findings []Finding
}

// OK reports that nothing was lost or resurrected.
func (r Result) OK() bool { return r.Lost == 0 && r.Resurrected == 0 }

type state struct {
	present bool
	value   string
	rev     int64
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
func CheckAt(ops []workload.Op, rev int64, actual map[string]KV) Result {
	byKey := map[string][]workload.Op{}
	for _, op := range ops {
		byKey[op.Key] = append(byKey[op.Key], op)
	}
	var r Result
	for key, kops := range byKey {
		// One writer owns a key, so its sequence numbers give program order.
		sort.Slice(kops, func(i, j int) bool { return kops[i].Seq < kops[j].Seq })
		want, from := expectedAt(kops, rev)
		if want.present {
			r.Expected++
		}
		got, ok := actual[key]
		have := state{present: ok, value: got.Value, rev: got.ModRevision}
		switch {
		case want.present && have.present && want.value == have.value:
			if want.rev != have.rev {
				r.Duplicates++
			}
		case !want.present && !have.present:
		case explainedByIndeterminate(kops[from:], rev, have):
			r.Indeterminate++
		case want.present:
			r.Lost++
			r.Findings = append(r.Findings, Finding{Key: key, Kind: "lost", Want: want.String(), Got: describe(have, kops, rev)})
		default:
			r.Resurrected++
			r.Findings = append(r.Findings, Finding{Key: key, Kind: "resurrected", Want: want.String(), Got: describe(have, kops, rev)})
		}
	}
	for key, kv := range actual {
		r.Restored++
		if _, known := byKey[key]; !known {
			r.Resurrected++
			r.Findings = append(r.Findings, Finding{Key: key, Kind: "resurrected", Want: "never written", Got: state{true, kv.Value, kv.ModRevision}.String()})
		}
	}
	sort.Slice(r.Findings, func(i, j int) bool { return r.Findings[i].Key < r.Findings[j].Key })
	return r
}

// expectedAt returns the key's state at rev by its acknowledged writes, and
// the index of the first op after the one that set it.
func expectedAt(kops []workload.Op, rev int64) (state, int) {
	want, from := state{}, 0
	for i, op := range kops {
		if op.Outcome != workload.Acknowledged || op.Revision > rev {
			continue
		}
		from = i + 1
		switch op.Kind {
		case workload.Put:
			want = state{present: true, value: op.Value, rev: op.Revision}
		case workload.Delete:
			want = state{}
		}
	}
	return want, from
}

// explainedByIndeterminate: the actual state is what an indeterminate write
// after the last acknowledged one would have left. A writer sends a write only
// once the one before has an outcome, so a write sent after one acknowledged
// above rev was applied, if at all, above rev too: it explains nothing.
func explainedByIndeterminate(later []workload.Op, rev int64, have state) bool {
	for _, op := range later {
		if op.Outcome == workload.Acknowledged && op.Revision > rev {
			return false
		}
		if op.Outcome != workload.Indeterminate {
			continue
		}
		if op.Kind == workload.Put && have.present && have.value == op.Value {
			return true
		}
		if op.Kind == workload.Delete && !have.present {
			return true
		}
	}
	return false
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
			if op.Outcome == workload.Acknowledged && op.Revision > rev {
				return s + fmt.Sprintf(" (written after revision %d)", rev)
			}
			return s + " (" + op.Outcome.String() + " write)"
		}
	}
	return s + " (a value the ledger never wrote)"
}

// ReadKeyspace reads every key under prefix, page by page, at one revision.
func ReadKeyspace(ctx context.Context, cli *clientv3.Client, prefix string) (map[string]KV, int64, error) {
	const page = 5000
	out := map[string]KV{}
	end := clientv3.GetPrefixRangeEnd(prefix)
	key := prefix
	var rev int64
	for {
		opts := []clientv3.OpOption{clientv3.WithRange(end), clientv3.WithLimit(page)}
		if rev > 0 {
			opts = append(opts, clientv3.WithRev(rev))
		}
		resp, err := cli.Get(ctx, key, opts...)
		if err != nil {
			return nil, 0, fmt.Errorf("read keyspace under %s from %s: %w", prefix, key, err)
		}
		if rev == 0 {
			rev = resp.Header.Revision
		}
		for _, kv := range resp.Kvs {
			out[string(kv.Key)] = KV{Value: string(kv.Value), ModRevision: kv.ModRevision}
		}
		if !resp.More || len(resp.Kvs) == 0 {
			return out, rev, nil
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
	return b.String()
}
