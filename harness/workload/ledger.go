// Package workload sends ledgered writes to a cluster: every write ends in the
// ledger as acknowledged (with the revision etcd answered), failed, or
// indeterminate.
package workload

import (
	"sync"
	"time"
	"unsafe"
)

// Kind is the kind of a write.
type Kind uint8

const (
	Put Kind = iota + 1
	Delete
)

func (k Kind) String() string {
	switch k {
	case Put:
		return "put"
	case Delete:
		return "delete"
	}
	return "unknown"
}

// Outcome is what became of a write.
type Outcome uint8

const (
	// Acknowledged: etcd answered with success; Revision is set.
	Acknowledged Outcome = iota + 1
	// Failed: etcd refused it; it was certainly not applied.
	Failed
	// Indeterminate: no answer (timeout, lost connection); it may or may not
	// have been applied.
	Indeterminate
)

func (o Outcome) String() string {
	switch o {
	case Acknowledged:
		return "acknowledged"
	case Failed:
		return "failed"
	case Indeterminate:
		return "indeterminate"
	}
	return "unknown"
}

// Epoch is the cluster a write was sent to: the one under test, or the one
// its recovery brought up.
type Epoch uint8

const (
	// Old is the cluster under test, before and through the fault.
	Old Epoch = iota
	// Recovered is the cluster the recovery brought up.
	Recovered
)

func (e Epoch) String() string {
	if e == Recovered {
		return "recovered"
	}
	return "old"
}

// Op is one write and what became of it.
type Op struct {
	Writer int
	Seq    int
	Kind   Kind
	Key    string
	// Value is unique across the whole drill (writer and sequence are in it),
	// so a value read back names the one write that put it.
	Value   string
	Outcome Outcome
	// Revision is the revision in the response header of an acknowledged
	// write: the key's mod revision for a put.
	Revision int64
	// Deleted is how many keys an acknowledged delete removed (0 or 1).
	Deleted int64
	// Txn is the number of puts of the transaction this put was one of (0:
	// none). A transaction's puts share Writer, Seq, Value and outcome.
	Txn int
	Err string
	// Sent is when the write was sent: one sent after a backup was taken
	// cannot be in it. Done is when its answer came (zero if none did).
	Sent, Done time.Time
	// Epoch is the cluster the write was sent to; Cluster is the ID of the
	// cluster that answered it (0 without an answer).
	Epoch   Epoch
	Cluster uint64
	// Lease is the lease a put attached its key to, or whose revocation
	// (or expiry) a delete was (0: none).
	Lease int64
}

// Read is one answered read of a key: when it was sent and answered, the
// store's revision in the answer's header, and what it found.
type Read struct {
	Writer      int
	Key         string
	Sent, Done  time.Time
	Revision    int64
	Present     bool
	Value       string
	ModRevision int64
	// Epoch and Cluster: as for Op.
	Epoch   Epoch
	Cluster uint64
}

// Ledger is the append-only record of every write, and of every answered
// read. It is safe for concurrent use.
//
// It keeps each write in about 48 bytes: the keys and values of the
// workload's shape (see Shape) are derived, not kept.
type Ledger struct {
	ops   compactOps
	reads appendOnly[Read]
}

// NewLedger returns an empty ledger.
func NewLedger() *Ledger { return &Ledger{} }

// Shape tells the ledger the workload's key prefix, run and value size, so
// that it keeps no key or value it can derive. Call it before Record.
func (l *Ledger) Shape(prefix, run string, valueSize int) {
	l.ops.mu.Lock()
	defer l.ops.mu.Unlock()
	l.ops.shape = shape{prefix: prefix, run: run, valueSize: valueSize}
}

// Record appends op.
func (l *Ledger) Record(op Op) { l.ops.add(op) }

// Ops returns every recorded write, rebuilt, in recording order.
func (l *Ledger) Ops() []Op { return l.ops.all() }

// BytesPerWrite estimates what the ledger holds per write.
func (l *Ledger) BytesPerWrite() float64 {
	n := l.ops.len()
	if n == 0 {
		return 0
	}
	return float64(l.ops.bytes()) / float64(n)
}

// RecordBytes is what the ledger keeps of one write, beside what is rare.
const RecordBytes = int(unsafe.Sizeof(record{}))

// RecordRead appends rd.
func (l *Ledger) RecordRead(rd Read) { l.reads.add(rd) }

// Reads returns a copy of every recorded read, in recording order.
func (l *Ledger) Reads() []Read { return l.reads.all() }

// appendOnly is a list that only grows, safe for concurrent use.
type appendOnly[T any] struct {
	mu    sync.Mutex
	items []T
}

func (a *appendOnly[T]) add(v T) {
	a.mu.Lock()
	a.items = append(a.items, v)
	a.mu.Unlock()
}

func (a *appendOnly[T]) all() []T {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]T(nil), a.items...)
}

// Counts tallies the writes by outcome.
type Counts struct {
	Acknowledged, Failed, Indeterminate int
}

// Total is the number of writes sent.
func (c Counts) Total() int { return c.Acknowledged + c.Failed + c.Indeterminate }

// Count tallies the ledger by outcome.
func (l *Ledger) Count() Counts {
	var c Counts
	l.ops.eachRecord(func(op record) {
		switch op.outcome {
		case Acknowledged:
			c.Acknowledged++
		case Failed:
			c.Failed++
		case Indeterminate:
			c.Indeterminate++
		}
	})
	return c
}

// AckedAfter counts acknowledged writes with a revision above rev: the writes
// a restore from a snapshot at rev is expected to lose.
func (l *Ledger) AckedAfter(rev int64) int {
	n := 0
	l.ops.eachRecord(func(op record) {
		if op.outcome == Acknowledged && op.revision > rev {
			n++
		}
	})
	return n
}

// MaxRevision is the highest revision any acknowledged write was answered with.
func (l *Ledger) MaxRevision() int64 {
	var m int64
	l.ops.eachRecord(func(op record) {
		if op.outcome == Acknowledged {
			m = max(m, op.revision)
		}
	})
	return m
}
