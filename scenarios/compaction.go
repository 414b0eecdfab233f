package scenarios

import (
	"context"
	"fmt"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/etcd-drill/etcd-drill/harness"
	"github.com/etcd-drill/etcd-drill/harness/report"
)

// FindingCompactionLost is a recovered cluster that did not refuse a watch
// from below the compaction made before the backup: a client resuming its
// watch there would not be told that it missed events.
const FindingCompactionLost = "compaction-lost"

// compact compacts the old cluster's history at half its revision, as a
// cluster in use is compacted (Kubernetes does every 5 minutes), so that the
// backup holds a compacted history.
func (r *runner) compact(ctx context.Context) (string, error) {
	cli, err := r.cluster.Client()
	if err != nil {
		return "", err
	}
	resp, err := cli.Get(ctx, harness.ProbePrefix+"revision")
	if err != nil {
		return "", fmt.Errorf("read the revision to compact at: %w", err)
	}
	at := resp.Header.Revision / 2
	if at < 2 {
		return fmt.Sprintf("nothing to compact at revision %d", resp.Header.Revision), nil
	}
	if _, err := cli.Compact(ctx, at, clientv3.WithCompactPhysical()); err != nil {
		return "", fmt.Errorf("compact at revision %d: %w", at, err)
	}
	r.rep.Compaction = &report.Compaction{Revision: at}
	return fmt.Sprintf("compacted at revision %d of %d", at, resp.Header.Revision), nil
}

// watchRefusalWait bounds the wait for a recovered cluster to refuse a watch
// from below its compaction: etcd answers at once.
const watchRefusalWait = 5 * time.Second

// checkCompaction watches from just below the compaction on the recovered
// cluster: etcd must cancel the watch as compacted. One that streams events,
// or says nothing, has lost the compaction. A learner serves no watch: the
// watch goes through each member in turn until one that is not answers.
// Failing to watch at all is the harness's error, not a finding.
func (r *runner) checkCompaction(ctx context.Context) error {
	c := r.rep.Compaction
	if c == nil {
		return nil
	}
	from := c.Revision - 1
	for _, m := range r.outcome.Cluster.Members() {
		cli, err := r.outcome.Cluster.Client(m)
		if err != nil {
			return fmt.Errorf("watch from below the compaction: %w", err)
		}
		refused, got := watchRefused(ctx, cli, r.o.Workload.Prefix, from)
		if got == errLearner {
			continue
		}
		c.WatchRefused = refused
		if !refused {
			r.rep.Fail("%s: a watch from revision %d through %s, below the compaction at %d made before the backup, was not refused (%s): a client resuming there would not know it missed events",
				FindingCompactionLost, from, m.Name(), c.Revision, got)
		}
		return nil
	}
	return fmt.Errorf("watch from below the compaction: every member of %s is a learner", strings.Join(harness.Names(r.outcome.Cluster.Members()), ","))
}

// errLearner is what watchRefused says of a learner, which serves no watch.
const errLearner = "a learner"

// watchRefused watches prefix from revision from; refused says etcd
// cancelled the watch as compacted, got what it did instead.
func watchRefused(ctx context.Context, cli *clientv3.Client, prefix string, from int64) (refused bool, got string) {
	wctx, cancel := context.WithTimeout(clientv3.WithRequireLeader(ctx), watchRefusalWait)
	defer cancel()
	select {
	case resp, ok := <-cli.Watch(wctx, prefix, clientv3.WithPrefix(), clientv3.WithRev(from)):
		switch {
		case ok && resp.CompactRevision > 0:
			return true, ""
		case resp.Err() != nil && strings.Contains(resp.Err().Error(), "not supported for learner"):
			return false, errLearner
		}
		return false, fmt.Sprintf("it got %d events, error %v", len(resp.Events), resp.Err())
	case <-wctx.Done():
		return false, fmt.Sprintf("nothing within %v", watchRefusalWait)
	}
}
