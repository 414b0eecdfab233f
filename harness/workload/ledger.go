// Package workload sends ledgered writes to a cluster: every write ends in the
// ledger as acknowledged (with the revision etcd answered), failed, or
// indeterminate.
package workload

import (
	"sync"
	"time"
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
	Err     string
	// Sent is when the write was sent: one sent after a backup was taken
	// cannot be in it. Done is when its answer came (zero if none did).
	Sent, Done time.Time
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
}

// Ledger is the append-only record of every write, and of every answered
// read. It is safe for concurrent use.
type Ledger struct {
	mu    sync.Mutex
	ops   []Op
	reads []Read
}

// RecordRead appends rd.
func (l *Ledger) RecordRead(rd Read) {
	l.mu.Lock()
	l.reads = append(l.reads, rd)
	l.mu.Unlock()
}

// Reads returns a copy of every recorded read, in recording order.
func (l *Ledger) Reads() []Read {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Read(nil), l.reads...)
}

// NewLedger returns an empty ledger.
func NewLedger() *Ledger { return &Ledger{} }

// Record appends op.
func (l *Ledger) Record(op Op) {
	l.mu.Lock()
	l.ops = append(l.ops, op)
	l.mu.Unlock()
}

// Ops returns a copy of every recorded write, in recording order.
func (l *Ledger) Ops() []Op {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Op(nil), l.ops...)
}

// Counts tallies the writes by outcome.
type Counts struct {
	Acknowledged, Failed, Indeterminate int
}

// Total is the number of writes sent.
func (c Counts) Total() int { return c.Acknowledged + c.Failed + c.Indeterminate }

// Count tallies the ledger by outcome.
func (l *Ledger) Count() Counts {
	l.mu.Lock()
	defer l.mu.Unlock()
	var c Counts
	for _, op := range l.ops {
		switch op.Outcome {
		case Acknowledged:
			c.Acknowledged++
		case Failed:
			c.Failed++
		case Indeterminate:
			c.Indeterminate++
		}
	}
	return c
}

// AckedAfter counts acknowledged writes with a revision above rev: the writes
// a restore from a snapshot at rev is expected to lose.
func (l *Ledger) AckedAfter(rev int64) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, op := range l.ops {
		if op.Outcome == Acknowledged && op.Revision > rev {
			n++
		}
	}
	return n
}

// MaxRevision is the highest revision any acknowledged write was answered with.
func (l *Ledger) MaxRevision() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	var m int64
	for _, op := range l.ops {
		if op.Outcome == Acknowledged && op.Revision > m {
			m = op.Revision
		}
	}
	return m
}
