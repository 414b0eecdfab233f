// Package backendtest holds what the tests of every backend share.
package backendtest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/etcd-drill/etcd-drill/harness"
	"github.com/etcd-drill/etcd-drill/harness/backend"
	"github.com/etcd-drill/etcd-drill/harness/ports"
)

// Eventually polls f every 10 ms until it returns nil, and fails the test
// with what and f's last error if that takes longer than d.
func Eventually(tb testing.TB, d time.Duration, what string, f func() error) {
	tb.Helper()
	deadline := time.Now().Add(d)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("%s: not within %v: %v", what, d, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Exited says whether m has ended.
func Exited(m backend.Member) bool {
	select {
	case <-m.Exited():
		return true
	default:
		return false
	}
}

// PauseResume pauses the one member of c, checks it answers no Get (and,
// if whilePaused is set, whatever else it checks), resumes it and waits
// for it to answer again with the key it held.
func PauseResume(tb testing.TB, c *harness.Cluster, whilePaused func(m backend.Member)) {
	tb.Helper()
	m := c.Members()[0]
	p, ok := m.(backend.Pauser)
	if !ok {
		tb.Fatalf("member %T is no backend.Pauser", m)
	}
	ctx := context.Background()
	cli, err := c.Client()
	if err != nil {
		tb.Fatal(err)
	}
	pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	_, err = cli.Put(pctx, "k", "v")
	cancel()
	if err != nil {
		tb.Fatal(err)
	}
	if err := p.Pause(); err != nil {
		tb.Fatal(err)
	}
	paused := true
	defer func() {
		if paused {
			p.Resume()
		}
	}()
	if whilePaused != nil {
		whilePaused(m)
	}
	gctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	_, err = cli.Get(gctx, "k")
	cancel()
	if err == nil {
		tb.Fatal("a paused member answered a Get")
	}
	if Exited(m) {
		tb.Fatalf("a paused member exited: %+v", m.ExitStatus())
	}
	if err := p.Resume(); err != nil {
		tb.Fatal(err)
	}
	paused = false
	Eventually(tb, 10*time.Second, "Get after Resume", func() error {
		gctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
		defer cancel()
		resp, err := cli.Get(gctx, "k")
		if err != nil {
			return err
		}
		if len(resp.Kvs) != 1 || string(resp.Kvs[0].Value) != "v" {
			return fmt.Errorf("got %v, want k=v", resp.Kvs)
		}
		return nil
	})
}

// Start starts the members of specs on be within wait, as one cluster that
// tb closes (and whose ports it gives back) when the test ends.
func Start(tb testing.TB, be backend.Backend, alloc *ports.Allocator, specs []backend.MemberSpec, wait time.Duration) *harness.Cluster {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	c, err := harness.Start(ctx, be, alloc, specs)
	if err != nil {
		alloc.ReleaseAll()
		tb.Fatal(err)
	}
	// Cleanups run last-in first-out: the cluster closes before the backend.
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := c.Close(ctx); err != nil {
			tb.Error(err)
		}
		alloc.ReleaseAll()
	})
	return c
}

// ExpectKey reads key through c and fails the test unless its value is want.
func ExpectKey(ctx context.Context, tb testing.TB, c *harness.Cluster, key, want string) {
	tb.Helper()
	cli, err := c.Client()
	if err != nil {
		tb.Fatal(err)
	}
	resp, err := cli.Get(ctx, key)
	if err != nil {
		tb.Fatal(err)
	}
	if len(resp.Kvs) != 1 || string(resp.Kvs[0].Value) != want {
		tb.Fatalf("%s is %v, want %q: written before the restart", key, resp.Kvs, want)
	}
}
