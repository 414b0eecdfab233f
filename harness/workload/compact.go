package workload

import (
	"math"
	"strconv"
	"strings"
	"sync"
	"time"
	"unsafe"
)

// record is an Op as the ledger keeps it: about 48 bytes. Its key and value
// are not kept when the workload's shape derives them (a writer's key k<n>,
// the value of its write seq); what is rare (an error, a lease, a key or
// value of another shape) is kept beside, by record index.
type record struct {
	writer, seq, key int32 // key: the writer's key index, or -1 (see keys)
	kind             Kind
	outcome          Outcome
	epoch            Epoch
	txn              uint8
	cluster          uint8 // index into clusters, 0: none
	deleted          bool
	derived          bool // the value is value(run, writer, seq, size)
	revision         int64
	sent, done       int64 // since the ledger's start; noTime: zero
}

const noTime = math.MinInt64

// shape is what the ledger derives keys and values from.
type shape struct {
	prefix, run string
	valueSize   int
}

// compactOps is the ledger's list of writes, safe for concurrent use.
type compactOps struct {
	mu       sync.Mutex
	shape    shape
	start    time.Time
	recs     []record
	clusters []uint64
	keys     map[int]string // keys not of the writer's k<n> shape
	values   map[int]string // values not derived, of puts
	errs     map[int]string
	leases   map[int]int64
}

func (c *compactOps) add(op Op) {
	if op.Deleted > 1 || op.Txn > math.MaxUint8 || op.Writer > math.MaxInt32 || op.Seq > math.MaxInt32 || op.Writer < 0 || op.Seq < 0 {
		// The workload deletes one key at a time, puts at most 100 in a
		// transaction, and numbers its writers and writes from 0.
		panic("workload ledger: op out of the workload's range")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.start.IsZero() {
		c.start = time.Now()
	}
	i := len(c.recs)
	r := record{
		writer: int32(op.Writer), seq: int32(op.Seq), key: -1, kind: op.Kind, outcome: op.Outcome, epoch: op.Epoch,
		txn: uint8(min(op.Txn, math.MaxUint8)), deleted: op.Deleted != 0, revision: op.Revision,
		sent: c.since(op.Sent), done: c.since(op.Done),
	}
	if n, ok := c.keyIndex(op); ok {
		r.key = int32(n)
	} else {
		c.side(&c.keys, i, op.Key)
	}
	if op.Value != "" {
		if c.shape.valueSize > 0 && op.Value == value(c.shape.run, op.Writer, op.Seq, c.shape.valueSize) {
			r.derived = true
		} else {
			c.side(&c.values, i, op.Value)
		}
	}
	if op.Cluster != 0 {
		r.cluster = c.clusterIndex(op.Cluster)
	}
	if op.Err != "" {
		c.side(&c.errs, i, op.Err)
	}
	if op.Lease != 0 {
		if c.leases == nil {
			c.leases = map[int]int64{}
		}
		c.leases[i] = op.Lease
	}
	c.recs = append(c.recs, r)
}

func (c *compactOps) side(m *map[int]string, i int, s string) {
	if *m == nil {
		*m = map[int]string{}
	}
	(*m)[i] = s
}

// keyIndex is n where op.Key is the shape's key k<n> of op's writer.
func (c *compactOps) keyIndex(op Op) (int, bool) {
	if c.shape.prefix == "" {
		return 0, false
	}
	head := c.shape.prefix + "w" + strconv.Itoa(op.Writer) + "/k"
	rest, ok := strings.CutPrefix(op.Key, head)
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(rest)
	if err != nil || n < 0 || n > math.MaxInt32 || strconv.Itoa(n) != rest {
		return 0, false
	}
	return n, true
}

func (c *compactOps) clusterIndex(id uint64) uint8 {
	for i, x := range c.clusters {
		if x == id {
			return uint8(i + 1)
		}
	}
	if len(c.clusters) == math.MaxUint8 {
		panic("workload ledger: more than 255 clusters")
	}
	c.clusters = append(c.clusters, id)
	return uint8(len(c.clusters))
}

func (c *compactOps) since(t time.Time) int64 {
	if t.IsZero() {
		return noTime
	}
	return int64(t.Sub(c.start))
}

func (c *compactOps) at(d int64) time.Time {
	if d == noTime {
		return time.Time{}
	}
	return c.start.Add(time.Duration(d))
}

// op rebuilds record i.
func (c *compactOps) op(i int) Op {
	r := c.recs[i]
	op := Op{
		Writer: int(r.writer), Seq: int(r.seq), Kind: r.kind, Outcome: r.outcome, Epoch: r.epoch,
		Txn: int(r.txn), Revision: r.revision, Sent: c.at(r.sent), Done: c.at(r.done),
		Err: c.errs[i], Lease: c.leases[i],
	}
	if r.deleted {
		op.Deleted = 1
	}
	if r.cluster > 0 {
		op.Cluster = c.clusters[r.cluster-1]
	}
	if r.key >= 0 {
		op.Key = c.shape.prefix + "w" + strconv.Itoa(op.Writer) + "/k" + strconv.Itoa(int(r.key))
	} else {
		op.Key = c.keys[i]
	}
	if r.derived {
		op.Value = value(c.shape.run, op.Writer, op.Seq, c.shape.valueSize)
	} else {
		op.Value = c.values[i]
	}
	return op
}

func (c *compactOps) all() []Op {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]Op, len(c.recs))
	for i := range c.recs {
		out[i] = c.op(i)
	}
	return out
}

// eachRecord calls f on every record in order, without rebuilding them.
func (c *compactOps) eachRecord(f func(record)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, r := range c.recs {
		f(r)
	}
}

func (c *compactOps) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.recs)
}

// bytes estimates what the ledger holds for its writes: the records, and
// what is kept beside (strings and a map entry each).
func (c *compactOps) bytes() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := cap(c.recs) * int(unsafe.Sizeof(record{}))
	for _, m := range []map[int]string{c.keys, c.values, c.errs} {
		for _, s := range m {
			n += len(s) + 48
		}
	}
	return n + 24*len(c.leases)
}
