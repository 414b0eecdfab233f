package scenarios

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/etcd-drill/etcd-drill/harness"
	"github.com/etcd-drill/etcd-drill/harness/linearize"
	"github.com/etcd-drill/etcd-drill/harness/report"
)

// checkHistory checks the ledgered history for linearizability: every answer
// etcd gave must follow from some order of the operations that respects
// real time. An illegal history fails the drill and keeps the run directory
// with porcupine's view of it.
func (r *runner) checkHistory(ctx context.Context) (string, error) {
	// porcupine takes a timeout, not a context: leave the step time to
	// write the view.
	timeout := 10 * time.Second
	if dl, ok := ctx.Deadline(); ok {
		timeout = max(time.Until(dl)-5*time.Second, time.Second)
	}
	res := linearize.Check(r.history(), timeout)
	l := &report.Linearizability{Operations: res.Operations, Seconds: res.Elapsed.Seconds(), Verdict: string(res.Verdict)}
	r.rep.Linearizability = l
	detail := fmt.Sprintf("%d operations: %s in %v", res.Operations, res.Verdict, res.Elapsed.Round(time.Millisecond))
	switch res.Verdict {
	case porcupine.Unknown:
		r.rep.Note(fmt.Sprintf("the linearizability check of %d operations was not decided within %v", res.Operations, timeout))
	case porcupine.Illegal:
		path := filepath.Join(r.d.RunDir, "history.html")
		if err := writeView(path, res); err != nil {
			return detail, err
		}
		l.Visualization = path
		r.nonLinear = true
		r.rep.Fail("%s: no order of the %d operations explains the answers etcd gave (porcupine's view: %s)",
			linearize.FindingNotLinearizable, res.Operations, path)
	}
	return detail, nil
}

func writeView(path string, res linearize.Result) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("write the history's view: %w", err)
	}
	if err := res.Visualize(f); err != nil {
		f.Close()
		return fmt.Errorf("write the history's view: %w", err)
	}
	return f.Close()
}

// history is the ledger as porcupine operations: one history where the
// recovered cluster keeps every write (or there is none), else the old
// cluster's and the recovered one's, the second starting from the ledger's
// state at the baseline.
func (r *runner) history() []porcupine.Operation {
	ops, reads := r.landed(r.ledger().Ops()), r.landedReads(r.ledger().Reads())
	base := r.outcome.Baseline
	if r.outcome.Cluster == nil || base.Revision == harness.AllWrites {
		return linearize.History(ops, reads)
	}
	// The old cluster's part first: expected changes ops in place to the
	// backup's view of them (a write in doubt sent after the backup counts
	// as refused), which is not what they did on the old cluster.
	split := linearize.SplitOld(ops, reads)
	return split.Recovered(r.expected(ops), base.Revision)
}
