package workload

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// DefaultPrefix is where the workload writes.
const DefaultPrefix = "/drill/"

// Config shapes the writes.
type Config struct {
	// Prefix under which every key is written.
	Prefix string
	// Concurrency is the number of writers; each owns its own keys, so the
	// writes to one key come from one writer, in order.
	Concurrency int
	// ValueSize is the length of every value, in bytes (at least long enough
	// for the writer id and sequence that make each value unique).
	ValueSize int
	// DeleteRatio and OverwriteRatio are the shares of deletes of a live key
	// and of puts to a key written before (maybe deleted since).
	DeleteRatio    float64
	OverwriteRatio float64
	// Seed makes the choice of keys and operations repeatable per writer.
	Seed uint64
	// Run names the drill in every value, so that no other run's data (a
	// snapshot of an earlier drill with the same seed) can match the ledger.
	Run string
	// OpTimeout bounds each write.
	OpTimeout time.Duration
	// ReadRatio is the chance that a writer, after a write, reads back one
	// of its own keys (a linearizable read, ledgered with its answer).
	ReadRatio float64
	// TxnRatio is the chance that a writer's next write is a transaction
	// putting TxnSize distinct keys of its own at one revision (each put
	// counts as a write).
	TxnRatio float64
	TxnSize  int
}

// DefaultConfig is what a drill uses unless told otherwise.
func DefaultConfig() Config {
	return Config{
		Prefix:         DefaultPrefix,
		Concurrency:    128,
		ValueSize:      64,
		DeleteRatio:    0.05,
		OverwriteRatio: 0.10,
		Seed:           1,
		OpTimeout:      5 * time.Second,
		ReadRatio:      0.1,
		TxnRatio:       0.05,
		TxnSize:        3,
	}
}

// Validate reports a config that cannot run.
func (c Config) Validate() error {
	switch {
	case c.Prefix == "":
		return errors.New("workload prefix is empty")
	case c.Concurrency < 1:
		return fmt.Errorf("workload concurrency %d: must be at least 1", c.Concurrency)
	case c.ValueSize < 1:
		return fmt.Errorf("workload value size %d: must be at least 1", c.ValueSize)
	case !(c.DeleteRatio >= 0) || !(c.OverwriteRatio >= 0) || !(c.DeleteRatio+c.OverwriteRatio <= 1): // NaN too
		return fmt.Errorf("workload ratios delete %.2f + overwrite %.2f: each must be in [0,1] and their sum at most 1", c.DeleteRatio, c.OverwriteRatio)
	case !(c.TxnRatio >= 0 && c.TxnRatio <= 1) || (c.TxnRatio > 0 && c.TxnSize < 2):
		return fmt.Errorf("workload txn ratio %.2f, size %d: the ratio must be in [0,1], and a transaction hold 2 puts or more", c.TxnRatio, c.TxnSize)
	case !(c.ReadRatio >= 0 && c.ReadRatio <= 1):
		return fmt.Errorf("workload read ratio %.2f: must be in [0,1]", c.ReadRatio)
	case c.OpTimeout <= 0:
		return fmt.Errorf("workload op timeout %v: must be positive", c.OpTimeout)
	}
	return nil
}

// Workload is a set of writers and the ledger they fill. Writers keep their
// state between Run calls, so a later phase goes on where the last stopped.
type Workload struct {
	cfg     Config
	ledger  *Ledger
	writers []*writer
}

type writer struct {
	id  int
	rng *rand.Rand
	// reads and txns choose the reads and which writes are transactions,
	// apart from rng: the read ratio does not change what a seed writes
	// (the txn ratio does: a transaction's keys come from rng).
	reads, txns *rand.Rand
	seq         int
	keys        []string        // every key this writer has written, in order of creation
	live        map[string]bool // keys whose last acknowledged write was a put
}

// New returns a workload recording into ledger.
func New(cfg Config, ledger *Ledger) (*Workload, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	w := &Workload{cfg: cfg, ledger: ledger}
	ledger.Shape(cfg.Prefix, cfg.Run, cfg.ValueSize)
	for i := range cfg.Concurrency {
		w.writers = append(w.writers, &writer{
			id:    i,
			rng:   rand.New(rand.NewPCG(cfg.Seed, uint64(i))),
			reads: rand.New(rand.NewPCG(cfg.Seed, uint64(i)|1<<32)),
			txns:  rand.New(rand.NewPCG(cfg.Seed, uint64(i)|2<<32)),
			live:  map[string]bool{},
		})
	}
	return w, nil
}

// Retire frees what the writers know of their keys: the workload writes no
// more (its ledger stays).
func (w *Workload) Retire() {
	for _, wr := range w.writers {
		wr.keys, wr.live = nil, nil
	}
}

// Ledger returns the ledger the workload fills.
func (w *Workload) Ledger() *Ledger { return w.ledger }

// Stats sums up one Run.
type Stats struct {
	Counts
	// Reads is how many reads were answered.
	Reads   int
	Elapsed time.Duration
}

// PerSecond is the rate of acknowledged writes.
func (s Stats) PerSecond() float64 {
	if s.Elapsed <= 0 {
		return 0
	}
	return float64(s.Acknowledged) / s.Elapsed.Seconds()
}

// Run sends n writes through cli, spread over the writers, and returns when
// every one of them has an outcome. progress, if not nil, is called with the
// number of writes done so far (from several goroutines). Run stops early
// when ctx ends.
func (w *Workload) Run(ctx context.Context, cli *clientv3.Client, n int, progress func(done int)) (Stats, error) {
	start := time.Now()
	var tickets, done atomic.Int64
	var t tally
	var wg sync.WaitGroup
	for _, wr := range w.writers {
		wg.Go(func() {
			for ctx.Err() == nil {
				// A transaction of k puts takes k of the n writes.
				k := int64(wr.nextSize(w.cfg))
				first := tickets.Add(k) - k
				if first >= int64(n) {
					break
				}
				ops := w.turn(ctx, cli, Old, wr, int(min(k, int64(n)-first)), &t)
				d := done.Add(int64(len(ops)))
				if progress != nil {
					progress(int(d))
				}
			}
		})
	}
	wg.Wait()
	st := t.stats(time.Since(start))
	if err := ctx.Err(); err != nil {
		return st, fmt.Errorf("workload stopped after %d of %d writes: %w", st.Total(), n, err)
	}
	return st, nil
}

// tally counts outcomes and reads, per epoch, from many writers.
type tally struct {
	outcomes [Recovered + 1][Indeterminate + 1]atomic.Int64
	reads    atomic.Int64
}

func (t *tally) stats(elapsed time.Duration) Stats {
	st := Stats{Reads: int(t.reads.Load()), Elapsed: elapsed}
	for e := range t.outcomes {
		st.Acknowledged += int(t.outcomes[e][Acknowledged].Load())
		st.Failed += int(t.outcomes[e][Failed].Load())
		st.Indeterminate += int(t.outcomes[e][Indeterminate].Load())
	}
	return st
}

// nextSize draws how many puts the writer's next write holds: 1, or
// TxnSize for a transaction.
func (wr *writer) nextSize(cfg Config) int {
	if wr.txns.Float64() < cfg.TxnRatio {
		return cfg.TxnSize
	}
	return 1
}

// turn is one writer's next write of k puts (or one put or delete) through
// cli, recorded with its outcome, then maybe a read of one of its keys.
func (w *Workload) turn(ctx context.Context, cli *clientv3.Client, epoch Epoch, wr *writer, k int, t *tally) []Op {
	ops := wr.nextTxn(w.cfg, k)
	sent := time.Now()
	cluster := w.send(ctx, cli, ops)
	for _, op := range ops {
		op.Sent, op.Epoch, op.Cluster = sent, epoch, cluster
		if op.Outcome != Indeterminate {
			op.Done = time.Now()
		}
		wr.settle(op)
		w.ledger.Record(op)
		t.outcomes[epoch][op.Outcome].Add(1)
	}
	if len(wr.keys) > 0 && wr.reads.Float64() < w.cfg.ReadRatio {
		if rd, ok := w.read(ctx, cli, wr.id, wr.keys[wr.reads.IntN(len(wr.keys))]); ok {
			rd.Epoch = epoch
			w.ledger.RecordRead(rd)
			t.reads.Add(1)
		}
	}
	return ops
}

// next picks the writer's next write.
func (wr *writer) next(cfg Config) Op {
	wr.seq++
	op := Op{Writer: wr.id, Seq: wr.seq}
	r := wr.rng.Float64()
	switch {
	case r < cfg.DeleteRatio && len(wr.live) > 0:
		op.Kind = Delete
		op.Key = wr.pickLive()
	case r < cfg.DeleteRatio+cfg.OverwriteRatio && len(wr.keys) > 0:
		op.Kind = Put
		op.Key = wr.keys[wr.rng.IntN(len(wr.keys))]
	default:
		op.Kind = Put
		op.Key = cfg.Prefix + "w" + strconv.Itoa(wr.id) + "/k" + strconv.Itoa(len(wr.keys))
		wr.keys = append(wr.keys, op.Key)
	}
	if op.Kind == Put {
		op.Value = value(cfg.Run, wr.id, wr.seq, cfg.ValueSize)
	}
	return op
}

// nextTxn picks the writer's next write: one op, or k > 1 puts of distinct
// keys for one transaction, sharing a sequence number (and so a value) and
// marked with their count.
func (wr *writer) nextTxn(cfg Config, k int) []Op {
	if k == 1 {
		return []Op{wr.next(cfg)}
	}
	wr.seq++
	val := value(cfg.Run, wr.id, wr.seq, cfg.ValueSize)
	ops := make([]Op, 0, k)
	in := map[string]bool{}
	for len(ops) < k {
		key := ""
		if len(wr.keys) > len(in) && wr.rng.Float64() < cfg.OverwriteRatio {
			key = wr.keys[wr.rng.IntN(len(wr.keys))]
		}
		if key == "" || in[key] {
			key = cfg.Prefix + "w" + strconv.Itoa(wr.id) + "/k" + strconv.Itoa(len(wr.keys))
			wr.keys = append(wr.keys, key)
		}
		in[key] = true
		ops = append(ops, Op{Writer: wr.id, Seq: wr.seq, Kind: Put, Key: key, Value: val, Txn: k})
	}
	return ops
}

// pickLive picks a live key in a repeatable way (map order is random).
func (wr *writer) pickLive() string {
	start := wr.rng.IntN(len(wr.keys))
	for i := range wr.keys {
		k := wr.keys[(start+i)%len(wr.keys)]
		if wr.live[k] {
			return k
		}
	}
	return wr.keys[start]
}

// settle updates what the writer believes of its keys.
func (wr *writer) settle(op Op) {
	switch {
	case op.Outcome != Acknowledged:
		// Unknown; a live key stays a candidate for a delete.
	case op.Kind == Put:
		wr.live[op.Key] = true
	case op.Kind == Delete:
		delete(wr.live, op.Key)
	}
}

// value makes the unique value of write seq of writer id.
func value(run string, id, seq, size int) string {
	v := "w" + strconv.Itoa(id) + "-s" + strconv.Itoa(seq) + "-"
	if run != "" {
		v = "r" + run + "-" + v
	}
	if len(v) < size {
		v += strings.Repeat("x", size-len(v))
	}
	return v
}

// read reads key linearizably; ok is false when no answer came (a read
// changes nothing, so one without an answer tells nothing).
func (w *Workload) read(ctx context.Context, cli *clientv3.Client, writer int, key string) (Read, bool) {
	octx, cancel := context.WithTimeout(ctx, w.cfg.OpTimeout)
	defer cancel()
	rd := Read{Writer: writer, Key: key, Sent: time.Now()}
	resp, err := cli.Get(octx, key)
	if err != nil {
		return rd, false
	}
	rd.Done = time.Now()
	rd.Revision, rd.Cluster = resp.Header.Revision, resp.Header.ClusterId
	if len(resp.Kvs) > 0 {
		kv := resp.Kvs[0]
		rd.Present, rd.Value, rd.ModRevision = true, string(kv.Value), kv.ModRevision
	}
	return rd, true
}

// send sends ops: one put or delete, or the puts of one transaction, and
// records the outcome (the same for all of a transaction's puts). It
// returns the ID of the cluster that answered (0: none did).
func (w *Workload) send(ctx context.Context, cli *clientv3.Client, ops []Op) uint64 {
	octx, cancel := context.WithTimeout(ctx, w.cfg.OpTimeout)
	defer cancel()
	var rev, deleted int64
	var cluster uint64
	var err error
	switch op := ops[0]; {
	case len(ops) > 1:
		puts := make([]clientv3.Op, len(ops))
		for i, o := range ops {
			puts[i] = clientv3.OpPut(o.Key, o.Value)
		}
		var resp *clientv3.TxnResponse
		if resp, err = cli.Txn(octx).Then(puts...).Commit(); err == nil {
			rev, cluster = resp.Header.Revision, resp.Header.ClusterId
		}
	case op.Kind == Put:
		var resp *clientv3.PutResponse
		var opts []clientv3.OpOption
		if op.Lease != 0 {
			opts = append(opts, clientv3.WithLease(clientv3.LeaseID(op.Lease)))
		}
		if resp, err = cli.Put(octx, op.Key, op.Value, opts...); err == nil {
			rev, cluster = resp.Header.Revision, resp.Header.ClusterId
		}
	case op.Kind == Delete:
		var resp *clientv3.DeleteResponse
		if resp, err = cli.Delete(octx, op.Key); err == nil {
			rev, deleted, cluster = resp.Header.Revision, resp.Deleted, resp.Header.ClusterId
		}
	}
	outcome, msg := Classify(err)
	for i := range ops {
		ops[i].Outcome, ops[i].Err, ops[i].Revision, ops[i].Deleted = outcome, msg, rev, deleted
	}
	return cluster
}

// Classify sorts a write's error into an outcome. Only errors that say etcd
// refused the request before applying it count as failed; a timeout or a lost
// connection may hide an applied write.
func Classify(err error) (Outcome, string) {
	if err == nil {
		return Acknowledged, ""
	}
	// clientv3 returns etcd's own errors as rpctypes.EtcdError, which is not
	// a gRPC status error: take its code from it.
	code := codes.Unknown
	var etcdErr rpctypes.EtcdError
	if errors.As(err, &etcdErr) {
		code = etcdErr.Code()
	} else if st, ok := status.FromError(err); ok {
		code = st.Code()
	}
	switch code {
	case codes.InvalidArgument, codes.FailedPrecondition, codes.ResourceExhausted,
		codes.PermissionDenied, codes.Unauthenticated, codes.OutOfRange,
		codes.AlreadyExists, codes.NotFound:
		return Failed, err.Error()
	}
	return Indeterminate, err.Error()
}
