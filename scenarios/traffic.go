package scenarios

import (
	"context"
	"fmt"
	"time"

	"github.com/etcd-drill/etcd-drill/harness"
	"github.com/etcd-drill/etcd-drill/harness/report"
	"github.com/etcd-drill/etcd-drill/harness/workload"
)

// startTraffic sets the writers going on their own through the cluster,
// until the recovered cluster has taken its share (recoveredTraffic) or the
// drill ends (ctx is the drill's, not the step's).
func (r *runner) startTraffic(ctx context.Context) (string, error) {
	cli, err := r.cluster.UserClient()
	if err != nil {
		return "", err
	}
	n := r.o.trafficRate()
	r.traffic = r.workload.Start(ctx, cli, n)
	rate := "as fast as the cluster takes them"
	if n > 0 {
		rate = fmt.Sprintf("%d writes/s", n)
	}
	return fmt.Sprintf("%d writers through %d members at %s, on until the recovered cluster has acknowledged %d writes",
		r.o.Workload.Concurrency, len(r.cluster.Members()), rate, r.o.writesRecovered()), nil
}

// trafficAfterSnapshot waits until the running writers have had n more
// writes acknowledged since the backup: the recovery point window.
func (r *runner) trafficAfterSnapshot(ctx context.Context, n int) (string, error) {
	from := r.traffic.Acked(workload.Old)
	if err := r.traffic.WaitAcked(ctx, workload.Old, from+n); err != nil {
		return "", err
	}
	r.rep.Workload.AfterSnapshot = r.traffic.Acked(workload.Old) - from
	return fmt.Sprintf("%d writes acknowledged since the backup (%d writes sent in all so far)", r.traffic.Acked(workload.Old)-from, r.traffic.Written()), nil
}

// recoveredTraffic moves the writers to the recovered cluster, as clients
// given its endpoints, waits until it has acknowledged its share, stops
// them, and measures the outage they saw.
func (r *runner) recoveredTraffic(ctx context.Context) (string, error) {
	c := r.outcome.Cluster
	cli, err := c.UserClient()
	if err != nil {
		return "", err
	}
	r.switched = time.Now()
	r.traffic.Point(cli, workload.Recovered)
	waitErr := r.traffic.WaitAcked(ctx, workload.Recovered, r.o.writesRecovered())
	st := r.stopTraffic()
	if waitErr != nil {
		return "", fmt.Errorf("the recovered cluster (%s): %w", harness.Names(c.Members()), waitErr)
	}
	ops := r.landed(r.ledger().Ops())
	down := workload.MeasureDowntime(ops)
	t := &report.Traffic{
		Mode:       TrafficContinuous,
		LastOldAck: down.LastOld, FirstRecoveredAck: down.FirstRecovered,
		LongestWriterGapSeconds: down.Longest.Seconds(), Writer: down.LongestWriter,
	}
	for _, op := range ops {
		e := &t.Old
		if op.Epoch == workload.Recovered {
			e = &t.Recovered
		}
		switch op.Outcome {
		case workload.Acknowledged:
			e.Acknowledged++
		case workload.Failed:
			e.Failed++
		case workload.Indeterminate:
			e.Indeterminate++
		}
	}
	r.rep.Traffic = t
	r.rep.RTOSeconds = down.RTO().Seconds()
	return fmt.Sprintf("client RTO %v (last acknowledgement of the old cluster to first of the recovered); longest writer gap %v (writer %d); old cluster %d acknowledged, %d indeterminate, %d failed; recovered %d acknowledged, %d indeterminate, %d failed; %.0f acked/s overall",
		down.RTO().Round(time.Millisecond), down.Longest.Round(time.Millisecond), down.LongestWriter,
		t.Old.Acknowledged, t.Old.Indeterminate, t.Old.Failed, t.Recovered.Acknowledged, t.Recovered.Indeterminate, t.Recovered.Failed, st.PerSecond()), nil
}

// stopTraffic stops the writers, if they run, and adds what they did to the
// report's workload.
func (r *runner) stopTraffic() workload.Stats {
	if r.traffic == nil {
		return workload.Stats{}
	}
	st := r.traffic.Stop()
	r.traffic = nil
	r.rep.Workload.Writes += st.Total()
	r.rep.Workload.Reads += st.Reads
	return st
}

// landed gives each write and read the epoch of the cluster that answered
// it, where the ledger's (the cluster it was sent to) may be wrong: a
// recovery that restarts a member on its old address (force-new-cluster)
// answers writes sent to the old cluster. With two cluster IDs, the answer
// names its cluster; with one, an answer after the recovery began came
// from the recovered cluster, as the old one had stopped answering (or is
// the same cluster). Writes without an answer keep the cluster they were
// sent to. It changes ops, a copy of the ledger's, in place.
func (r *runner) landed(ops []workload.Op) []workload.Op {
	for i, op := range ops {
		if op.Outcome == workload.Acknowledged {
			ops[i].Epoch = r.epochOf(op.Cluster, op.Done)
		}
	}
	return ops
}

func (r *runner) landedReads(reads []workload.Read) []workload.Read {
	for i, rd := range reads {
		reads[i].Epoch = r.epochOf(rd.Cluster, rd.Done)
	}
	return reads
}

func (r *runner) epochOf(cluster uint64, answered time.Time) workload.Epoch {
	switch {
	case r.recoverStart.IsZero():
		return workload.Old
	case r.newID != 0 && r.newID != r.oldID:
		if cluster == r.newID {
			return workload.Recovered
		}
		return workload.Old
	case !answered.Before(r.recoverStart):
		return workload.Recovered
	}
	return workload.Old
}
