package harness

import (
	"context"
	"fmt"
	"time"

	"github.com/etcd-drill/etcd-drill/harness/backend"
	"github.com/etcd-drill/etcd-drill/harness/observe"
	"github.com/etcd-drill/etcd-drill/harness/report"
)

// IncidentPublishSpin names etcd 3.7.3's publish loop: a member brought up to
// date by a leader's snapshot keeps its applied index at 0 (applySnapshot
// never sets it), so every proposal fails "too many requests" while the
// committed index is more than 5,000 above it, and publishV3 retries that
// with no pause. The member never serves clients; on an idle cluster nothing
// ends it. One applied entry does: a write through any other member.
const IncidentPublishSpin = "etcd-publish-spin"

// publishTimeout is etcd's request timeout for the cluster's members (5 s
// and two election timeouts): how long a member waits for its own publish
// before it tries again, and so before a spin can show.
func (c *Cluster) publishTimeout() time.Duration {
	return 5*time.Second + 2*c.timing.Election
}

// spinWatch looks for the publish spin while a member is awaited.
type spinWatch struct {
	c     *Cluster
	m     backend.Member
	start time.Time
	next  time.Time
	// found is the index of the incident recorded, or -1.
	found int
}

func (c *Cluster) watchSpin(m backend.Member) *spinWatch {
	now := time.Now()
	return &spinWatch{c: c, m: m, start: now, next: now.Add(c.publishTimeout() + time.Second), found: -1}
}

// check reads the member's log once its publish has had time to succeed;
// on a spin it records the incident with its evidence and, as an operator
// who knows the bug would, writes one key through another member.
func (w *spinWatch) check(ctx context.Context) {
	if w.found >= 0 || time.Now().Before(w.next) {
		return
	}
	w.next = time.Now().Add(time.Second)
	sp, spinning, err := observe.PublishSpin(w.m.LogPath())
	if err != nil || !spinning {
		return
	}
	stuck := time.Since(w.start)
	if !sp.Since.IsZero() {
		stuck = time.Since(sp.Since)
	}
	inc := report.Incident{
		Name:        IncidentPublishSpin,
		Member:      w.m.Name(),
		EtcdVersion: w.c.Backend.EtcdVersion(),
		Message:     "failed to publish local member to cluster through raft: etcdserver: too many requests",
		Detail: fmt.Sprintf("member %s applied the leader's snapshot at index %d, then had %d publishes refused with \"too many requests\" in %v "+
			"(applySnapshot left its applied index at 0: committed > applied + 5000); it serves no client",
			w.m.Name(), sp.SnapshotIndex, sp.Refused, stuck.Round(time.Millisecond)),
		Log:     w.m.LogPath(),
		Excerpt: sp.Excerpt,
	}
	inc.Workaround = w.c.repairSpin(ctx, w.m)
	w.c.mu.Lock()
	w.found = len(w.c.incidents)
	w.c.incidents = append(w.c.incidents, inc)
	w.c.mu.Unlock()
}

// healed notes, once the member answers, how long the workaround took.
func (w *spinWatch) healed() {
	if w.found < 0 {
		return
	}
	w.c.mu.Lock()
	defer w.c.mu.Unlock()
	w.c.incidents[w.found].Workaround += fmt.Sprintf("; %s served reads %v after it was first awaited", w.m.Name(), time.Since(w.start).Round(time.Millisecond))
}

// repairSpin writes one key through the other live members: the spinning
// member applies that entry, which sets its applied index.
func (c *Cluster) repairSpin(ctx context.Context, stuck backend.Member) string {
	var others []backend.Member
	for _, m := range c.Live() {
		if m.Name() != stuck.Name() {
			others = append(others, m)
		}
	}
	if len(others) == 0 {
		return "none possible: no other live member to write through"
	}
	cli, err := c.Client(others...)
	if err != nil {
		return "the repair write could not be sent: " + err.Error()
	}
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := cli.Put(wctx, ProbePrefix+"publish-spin-repair", stuck.Name()); err != nil {
		return "the repair write failed: " + err.Error()
	}
	return fmt.Sprintf("wrote one key (%spublish-spin-repair) through %v, as an operator who knows the bug would: one applied entry sets the applied index",
		ProbePrefix, Names(others))
}

// Incidents returns what etcd did wrong in this cluster, with the evidence.
func (c *Cluster) Incidents() []report.Incident {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]report.Incident(nil), c.incidents...)
}
