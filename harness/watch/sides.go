package watch

import (
	"context"
	"errors"
	"fmt"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/etcd-drill/etcd-drill/harness"
	"github.com/etcd-drill/etcd-drill/harness/backend"
)

// side is one side of a cluster split in two (a member forced into a new
// cluster, and the old members it left): written to and read through its
// own members only.
type side struct {
	name    string
	cluster *harness.Cluster
	members []backend.Member
	// key is where this side's probe writes go (under ProbePrefix).
	key string
	// acked and refused count the probe writes; last is the value of the
	// last acknowledged one, lastOK whether the last attempt was taken.
	acked, refused int
	last           string
	lastOK         bool
	// final: the side took a write when the window was over (see settle).
	final bool
}

func (s *side) alive() []backend.Member {
	var out []backend.Member
	for _, m := range s.members {
		select {
		case <-m.Exited():
		default:
			out = append(out, m)
		}
	}
	return out
}

// healthy: every member of the side runs and it took the final write.
func (s *side) healthy() bool { return len(s.alive()) == len(s.members) && s.final }

// settle retries a final write through the side for up to wait: a single
// slow write at the end of the window must not count the side out.
func (s *side) settle(ctx context.Context, wait, attempt time.Duration) {
	end := time.Now().Add(wait)
	for len(s.alive()) > 0 && time.Now().Before(end) && ctx.Err() == nil {
		s.put(ctx, "final", attempt)
		if s.lastOK {
			s.final = true
			return
		}
		select {
		case <-ctx.Done():
		case <-time.After(attempt / 2):
		}
	}
}

// put writes the side's probe key with value through its own live members.
func (s *side) put(ctx context.Context, value string, attempt time.Duration) {
	live := s.alive()
	err := errors.New("no member left")
	if len(live) > 0 {
		if cli := s.client(live); cli != nil {
			err = harness.Probe{Client: cli, Key: s.key, Attempt: attempt}.Write(ctx, value)
		}
	}
	if err != nil {
		s.refused++
		s.lastOK = false
		return
	}
	s.acked++
	s.last, s.lastOK = value, true
}

// read reads the probe key of another side through this side's own live
// members: its value, or why not.
func (s *side) read(ctx context.Context, key string, attempt time.Duration) (string, bool, error) {
	live := s.alive()
	if len(live) == 0 {
		return "", false, errors.New("no member left")
	}
	cli := s.client(live)
	if cli == nil {
		return "", false, errors.New("no client")
	}
	actx, cancel := context.WithTimeout(ctx, attempt)
	defer cancel()
	resp, err := cli.Get(actx, harness.ProbePrefix+key)
	if err != nil {
		return "", false, err
	}
	if len(resp.Kvs) == 0 {
		return "", false, nil
	}
	return string(resp.Kvs[0].Value), true, nil
}

func (s *side) client(live []backend.Member) *clientv3.Client {
	cli, err := s.cluster.Client(live...)
	if err != nil {
		return nil
	}
	return cli
}

// sees says what side from sees of side of's last write; diverged is set
// when it has something else.
func sees(ctx context.Context, from, of *side, attempt time.Duration, diverged *bool) string {
	if of.last == "" {
		return fmt.Sprintf("%s took no write to be seen", of.name)
	}
	v, ok, err := from.read(ctx, of.key, attempt)
	switch {
	case err != nil:
		return fmt.Sprintf("%s's last write could not be read through %s (%v)", of.name, from.name, err)
	case !ok || v != of.last:
		*diverged = true
		got := "nothing"
		if ok {
			got = fmt.Sprintf("%q", v)
		}
		return fmt.Sprintf("%s does NOT see %s's last write %q (it has %s)", from.name, of.name, of.last, got)
	}
	return fmt.Sprintf("%s sees %s's last write", from.name, of.name)
}

func (s *side) line() string {
	last := "a final write taken"
	if !s.final {
		last = "no final write taken within 2s"
	}
	return fmt.Sprintf("%s: %d probe writes acknowledged, %d refused, %s", s.name, s.acked, s.refused, last)
}
