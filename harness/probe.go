package harness

import (
	"context"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Probe is the one way the harness asks "does this cluster take writes": it
// writes one key through a client, attempt after attempt, and counts what it
// met. Fault confirmations (no write for a window), observations (how many
// over a window), the heal and the first write after a recovery (the first
// within a bound) all use it.
type Probe struct {
	Client *clientv3.Client
	// Key is written under ProbePrefix.
	Key string
	// Attempt bounds each write.
	Attempt time.Duration
	// Pause is the wait after an acknowledged write (0: none).
	Pause time.Duration
	// Retry is the wait after a refused write; 0 waits out the attempt (a
	// write refused at once, with no leader, must not spin).
	Retry time.Duration
}

// Tally is what a probe met.
type Tally struct {
	Acked, Refused int
	// LastOK: the last write was acknowledged; LastErr why it was not.
	LastOK  bool
	LastErr error
	// First is when the first write was acknowledged, since the probe began
	// (0: none was).
	First time.Duration
}

// Run writes until within has passed, or until enough says the tally is
// enough (nil: never). It returns ctx's error if ctx ends first.
func (p Probe) Run(ctx context.Context, within time.Duration, enough func(Tally) bool) (Tally, error) {
	var t Tally
	start := time.Now()
	end := start.Add(within)
	for time.Now().Before(end) {
		if err := ctx.Err(); err != nil {
			return t, err
		}
		attempt := min(p.Attempt, time.Until(end))
		actx, cancel := context.WithTimeout(ctx, attempt)
		_, err := p.Client.Put(actx, ProbePrefix+p.Key, time.Now().Format(time.RFC3339Nano))
		t.LastOK, t.LastErr = err == nil, err
		if err == nil {
			cancel()
			t.Acked++
			if t.First == 0 {
				t.First = time.Since(start)
			}
			if enough != nil && enough(t) {
				return t, nil
			}
			wait(ctx, p.Pause)
			continue
		}
		t.Refused++
		if p.Retry > 0 {
			cancel()
			wait(ctx, p.Retry)
			continue
		}
		<-actx.Done()
		cancel()
	}
	return t, ctx.Err()
}

// Once writes once: nil if the write was acknowledged.
func (p Probe) Once(ctx context.Context) error {
	return p.Write(ctx, time.Now().Format(time.RFC3339Nano))
}

// Write writes value once: nil if the write was acknowledged.
func (p Probe) Write(ctx context.Context, value string) error {
	actx, cancel := context.WithTimeout(ctx, p.Attempt)
	defer cancel()
	_, err := p.Client.Put(actx, ProbePrefix+p.Key, value)
	return err
}

// FirstAck stops a probe at its first acknowledged write.
func FirstAck(t Tally) bool { return t.Acked > 0 }

func wait(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}
