// Package linearize checks a ledgered history for linearizability with
// porcupine, against a model of one etcd key: puts, deletes and reads, each
// answered with the store's revision. The history is partitioned by key, so
// a check stays fast however many keys there are.
//
// A write without an answer (indeterminate) is taken as applied at some
// moment after it was sent: its response time is the end of time, so it can
// be placed last, where applying it changes nothing anyone saw. A refused
// write (failed) was not applied and is left out.
package linearize

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/etcd-drill/etcd-drill/harness/workload"
)

// FindingNotLinearizable names a history no order of its operations explains.
const FindingNotLinearizable = "not-linearizable"

// input is what an operation asked.
type input struct {
	kind  workload.Kind // 0: a read; restore: the recovery
	value string
	// to is the state a restore sets.
	to state
}

// restore is the recovery of a key in the recovered cluster: its state
// jumps to what the ledger says the backup holds.
const restore workload.Kind = 255

// output is what etcd answered; known is false for a write in doubt.
type output struct {
	known    bool
	revision int64
	deleted  int64
	present  bool
	value    string
	modRev   int64
}

// state is one key as the model holds it: its value and the revision that
// set it (-1: a write in doubt set it, at a revision no one was told), and
// the highest store revision any answer about it carried, which the store
// never goes back below.
type state struct {
	present bool
	value   string
	modRev  int64
	seen    int64
	// unknown: restored from a backup that a write in doubt may or may
	// not be in; the first answer about the key tells.
	unknown bool
}

// step applies one operation to a key; ok is false when the answer cannot
// follow from st.
func step(st state, in input, out output) (bool, state) {
	if st.unknown && in.kind != restore {
		return stepUnknown(st, in, out)
	}
	switch in.kind {
	case restore:
		return true, in.to
	case workload.Put:
		if !out.known {
			return true, state{present: true, value: in.value, modRev: -1, seen: st.seen}
		}
		return out.revision > st.seen, state{present: true, value: in.value, modRev: out.revision, seen: out.revision}
	case workload.Delete:
		if !out.known {
			return true, state{seen: st.seen}
		}
		if out.deleted == 1 {
			return st.present && out.revision > st.seen, state{seen: out.revision}
		}
		return !st.present && out.revision >= st.seen, state{seen: out.revision}
	default: // a read
		if out.revision < st.seen || out.present != st.present {
			return false, st
		}
		if out.present && (out.value != st.value || (st.modRev >= 0 && out.modRev != st.modRev)) {
			return false, st
		}
		next := st
		next.seen = out.revision
		if out.present && st.modRev < 0 {
			// The read tells the revision the write in doubt got.
			next.modRev = out.modRev
			if out.modRev <= st.seen {
				return false, st
			}
		}
		return true, next
	}
}

// stepUnknown applies an operation to a key whose restored state is not
// known: a write sets it, an answer tells it, as long as the store's
// revision does not go back.
func stepUnknown(st state, in input, out output) (bool, state) {
	switch {
	case in.kind == 0:
		if out.revision < st.seen {
			return false, st
		}
		return true, state{present: out.present, value: out.value, modRev: out.modRev, seen: out.revision}
	case !out.known:
		return step(state{present: in.kind == workload.Put, seen: st.seen}, in, out)
	case out.revision <= st.seen:
		return false, st
	case in.kind == workload.Delete:
		return true, state{seen: out.revision}
	}
	return true, state{present: true, value: in.value, modRev: out.revision, seen: out.revision}
}

// model is the porcupine model of one key.
func model() porcupine.Model {
	return porcupine.Model{
		Partition: byKey,
		Init:      func() any { return state{} },
		Step: func(s, in, out any) (bool, any) {
			return step(s.(state), in.(input), out.(output))
		},
		DescribeOperation: func(in, out any) string { return describe(in.(input), out.(output)) },
		DescribeState: func(s any) string {
			st := s.(state)
			if !st.present {
				return fmt.Sprintf("absent (store at %d)", st.seen)
			}
			return fmt.Sprintf("%q@%d (store at %d)", st.value, st.modRev, st.seen)
		},
		DescribeOperationMetadata: func(m any) string { return m.(string) },
	}
}

func describe(in input, out output) string {
	var what string
	switch in.kind {
	case restore:
	case workload.Put:
		what = fmt.Sprintf("put %q", in.value)
	case workload.Delete:
		what = "delete"
	default:
		what = "get"
	}
	switch {
	case !out.known:
		return what + " -> no answer"
	case in.kind == restore && in.to.unknown:
		return "restore -> unknown (a write in doubt may be in the backup)"
	case in.kind == restore && in.to.present:
		return fmt.Sprintf("restore -> %q mod %d", in.to.value, in.to.modRev)
	case in.kind == restore:
		return "restore -> absent"
	case in.kind == workload.Delete:
		return fmt.Sprintf("%s -> deleted %d @%d", what, out.deleted, out.revision)
	case in.kind == 0 && out.present:
		return fmt.Sprintf("%s -> %q mod %d @%d", what, out.value, out.modRev, out.revision)
	case in.kind == 0:
		return fmt.Sprintf("%s -> absent @%d", what, out.revision)
	}
	return fmt.Sprintf("%s -> @%d", what, out.revision)
}

// byKey partitions a history by the key in each operation's metadata.
func byKey(history []porcupine.Operation) [][]porcupine.Operation {
	idx := map[string]int{}
	var parts [][]porcupine.Operation
	for _, op := range history {
		k := op.Metadata.(string)
		i, ok := idx[k]
		if !ok {
			i = len(parts)
			idx[k] = i
			parts = append(parts, nil)
		}
		parts[i] = append(parts[i], op)
	}
	return parts
}

// History turns ledgered writes, and reads if any, into porcupine operations.
// Times are taken from the earliest send on the monotonic clock, so that a
// step of the wall clock cannot reorder them.
func History(ops []workload.Op, reads []workload.Read) []porcupine.Operation {
	return operations(ops, reads, false)
}

// operations turns ops and reads into porcupine operations; split puts
// those of the recovered cluster in partitions of their own.
func operations(ops []workload.Op, reads []workload.Read, split bool) []porcupine.Operation {
	return convert(ops, reads, split, start(ops, reads), func(workload.Epoch) bool { return true })
}

// start is the earliest send of ops and reads: the history's clock starts
// there, on the monotonic clock, so that a step of the wall clock cannot
// reorder them.
func start(ops []workload.Op, reads []workload.Read) time.Time {
	var base time.Time
	for _, op := range ops {
		if base.IsZero() || op.Sent.Before(base) {
			base = op.Sent
		}
	}
	for _, r := range reads {
		if base.IsZero() || r.Sent.Before(base) {
			base = r.Sent
		}
	}
	return base
}

// convert turns the ops and reads of the epochs keep takes into porcupine
// operations on the clock that starts at base.
func convert(ops []workload.Op, reads []workload.Read, split bool, base time.Time, keep func(workload.Epoch) bool) []porcupine.Operation {
	part := func(key string, e workload.Epoch) string {
		if split && e == workload.Recovered {
			return key + recoveredSuffix
		}
		return key
	}
	since := func(t time.Time) int64 { return int64(t.Sub(base)) }
	var out []porcupine.Operation
	for _, op := range ops {
		if op.Outcome == workload.Failed || !keep(op.Epoch) {
			continue
		}
		o := porcupine.Operation{
			ClientId: op.Writer,
			Input:    input{kind: op.Kind, value: op.Value},
			Call:     since(op.Sent),
			Return:   math.MaxInt64,
			Output:   output{},
			Metadata: part(op.Key, op.Epoch),
		}
		if op.Outcome == workload.Acknowledged {
			o.Return = since(op.Done)
			o.Output = output{known: true, revision: op.Revision, deleted: op.Deleted}
		}
		out = append(out, o)
	}
	for _, r := range reads {
		if !keep(r.Epoch) {
			continue
		}
		out = append(out, porcupine.Operation{
			ClientId: r.Writer,
			Input:    input{},
			Call:     since(r.Sent),
			Return:   since(r.Done),
			Output:   output{known: true, revision: r.Revision, present: r.Present, value: r.Value, modRev: r.ModRevision},
			Metadata: part(r.Key, r.Epoch),
		})
	}
	return out
}

// Across turns the history of two clusters into porcupine operations: the
// old cluster's, and the recovered cluster's, which begins, for each key it
// touched, with the key restored to what the old cluster's acknowledged
// writes at or below base left (the ledger's state at the backup, not the
// recovered cluster's word), or to "unknown" where a write in doubt may be
// in the backup. The two are one history on one clock, each key of each
// cluster its own partition. ops serve both: see Split where the backup's
// view of the old writes differs from what they did on the old cluster.
func Across(ops []workload.Op, reads []workload.Read, base int64) []porcupine.Operation {
	return SplitOld(ops, reads).Recovered(ops, base)
}

// Split is a history across a recovery, built in two steps: the old
// cluster's part from its writes as they happened, then the recovered
// cluster's from the backup's view of them (verify.SentBefore refuses a
// write in doubt sent after the backup was taken: it cannot be in the
// backup, but it may well have been applied on the old cluster, and read
// there, when a slow kill let a majority go on for a while).
type Split struct {
	old   []porcupine.Operation
	reads []workload.Read
	start time.Time
}

// SplitOld takes the old cluster's part of the history now: ops may be
// changed in place afterwards (a large ledger is not copied).
func SplitOld(ops []workload.Op, reads []workload.Read) *Split {
	t := start(ops, reads)
	old := convert(ops, reads, true, t, func(e workload.Epoch) bool { return e == workload.Old })
	return &Split{old: old, reads: reads, start: t}
}

// Recovered completes the history with the recovered cluster's part: its
// writes and reads, and a restore of each key it touched to the state
// ops, as the backup holds them, give at base.
func (s *Split) Recovered(ops []workload.Op, base int64) []porcupine.Operation {
	out := append(s.old, convert(ops, s.reads, true, s.start, func(e workload.Epoch) bool { return e == workload.Recovered })...)
	touched := map[string]bool{}
	for _, o := range out {
		if key, ok := strings.CutSuffix(o.Metadata.(string), recoveredSuffix); ok {
			touched[key] = true
		}
	}
	for key, st := range restoredStates(ops, base, touched) {
		out = append(out, porcupine.Operation{
			ClientId: -1, Input: input{kind: restore, to: st},
			Call: -2, Return: -1, Output: output{known: true}, Metadata: key + recoveredSuffix,
		})
	}
	return out
}

// recoveredSuffix marks the partition of a key in the recovered cluster.
const recoveredSuffix = " (recovered)"

// restoredStates is the state of each key of keys as the old cluster's
// writes at or below base left it, by the ledger; unknown once a write in
// doubt may have changed it. Only the keys the recovered cluster touched
// need one: at a million keys, a state for each would take half a GB.
func restoredStates(ops []workload.Op, base int64, keys map[string]bool) map[string]state {
	byKey := map[string][]workload.Op{}
	for key := range keys {
		byKey[key] = nil
	}
	for _, op := range ops {
		if op.Epoch == workload.Old && keys[op.Key] {
			byKey[op.Key] = append(byKey[op.Key], op)
		}
	}
	out := map[string]state{}
	for key, kops := range byKey {
		sort.SliceStable(kops, func(i, j int) bool { return kops[i].Seq < kops[j].Seq })
		var st state
		for _, op := range kops {
			switch {
			case op.Outcome == workload.Indeterminate:
				st = state{unknown: true}
			case op.Outcome != workload.Acknowledged || op.Revision > base || st.unknown:
			case op.Kind == workload.Put:
				st = state{present: true, value: op.Value, modRev: op.Revision, seen: op.Revision}
			default:
				st = state{}
			}
		}
		out[key] = st
	}
	return out
}

// Result is what a check found.
type Result struct {
	// Operations checked, and how long the check took.
	Operations int
	Elapsed    time.Duration
	// Verdict is porcupine's: Ok, Illegal, or Unknown (out of time).
	Verdict porcupine.CheckResult
	info    porcupine.LinearizationInfo
}

// OK says no violation was found (Unknown, out of time, is not a violation
// found; the report says it).
func (r Result) OK() bool { return r.Verdict != porcupine.Illegal }

// Check checks history within timeout.
func Check(history []porcupine.Operation, timeout time.Duration) Result {
	start := time.Now()
	verdict, info := porcupine.CheckOperationsVerbose(model(), history, timeout)
	return Result{Operations: len(history), Elapsed: time.Since(start), Verdict: verdict, info: info}
}

// Visualize writes porcupine's HTML view of the history: each key's
// operations on a time line, the longest linearizable prefix, where it
// breaks.
func (r Result) Visualize(w io.Writer) error {
	return porcupine.Visualize(model(), r.info, w)
}
