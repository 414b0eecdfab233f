package harness

import (
	"context"
	"fmt"
	"net/url"
	"time"

	"go.etcd.io/etcd/pkg/v3/proxy"
	"go.uber.org/zap"

	"github.com/etcd-drill/etcd-drill/harness/backend"
)

// DelayPeerListener makes the peer URL of member name, when it next
// starts, refuse connections for d after its start: its peer proxy starts
// only then. The member itself dials its peers as usual, so it hears from
// the leader and proposes, while the leader cannot send it anything over
// its own connections (a snapshot, say) until d has passed. It returns false
// when the member has no peer proxy (the layout did not ask for them).
func (c *Cluster) DelayPeerListener(spec backend.MemberSpec, d time.Duration) bool {
	if !proxied(spec) {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.lateProxies == nil {
		c.lateProxies = map[string]time.Duration{}
	}
	c.lateProxies[spec.Name] = d
	return true
}

func proxied(spec backend.MemberSpec) bool {
	return spec.ListenPeerURL != "" && spec.ListenPeerURL != spec.PeerURL
}

// startProxy starts the peer proxy of spec, if it has one and it is not
// running already (a restarted member keeps its proxy); a delayed one (see
// DelayPeerListener) in the background, once its delay has passed.
func (c *Cluster) startProxy(ctx context.Context, spec backend.MemberSpec) error {
	if !proxied(spec) {
		return nil
	}
	c.mu.Lock()
	_, running := c.proxies[spec.Name]
	late := c.lateProxies[spec.Name]
	delete(c.lateProxies, spec.Name)
	if late > 0 {
		c.lateWG.Add(1)
	}
	c.mu.Unlock()
	if running {
		if late > 0 {
			c.lateWG.Done()
		}
		return nil
	}
	if late > 0 {
		go func() {
			defer c.lateWG.Done()
			t := time.NewTimer(late)
			defer t.Stop()
			select {
			case <-t.C:
			case <-ctx.Done():
				return
			}
			c.mu.Lock()
			closed := c.closed
			c.mu.Unlock()
			if !closed {
				_ = c.openProxy(context.WithoutCancel(ctx), spec)
			}
		}()
		return nil
	}
	return c.openProxy(ctx, spec)
}

// openProxy starts the peer proxy of spec and keeps it.
func (c *Cluster) openProxy(ctx context.Context, spec backend.MemberSpec) error {
	from, err := url.Parse(spec.PeerURL)
	if err != nil {
		return fmt.Errorf("proxy of %s: %w", spec.Name, err)
	}
	to, err := url.Parse(spec.ListenPeerURL)
	if err != nil {
		return fmt.Errorf("proxy of %s: %w", spec.Name, err)
	}
	p := proxy.NewServer(proxy.ServerConfig{
		Logger:        zap.NewNop(),
		From:          *from,
		To:            *to,
		DialTimeout:   time.Second,
		RetryInterval: 10 * time.Millisecond,
	})
	select {
	case <-p.Ready():
	case err := <-p.Error():
		p.Close()
		return fmt.Errorf("proxy of %s at %s: %w", spec.Name, spec.PeerURL, err)
	case <-ctx.Done():
		p.Close()
		return ctx.Err()
	}
	c.mu.Lock()
	if c.proxies == nil {
		c.proxies = map[string]proxy.Server{}
	}
	c.proxies[spec.Name] = p
	c.mu.Unlock()
	return nil
}

// Isolate cuts the named members off their peers: through their peer
// proxies (every byte to and from their peer listeners black-holed, client
// traffic untouched), or, on a backend that cuts networks itself, by it.
func (c *Cluster) Isolate(ctx context.Context, names ...string) error {
	if p, ok := c.Backend.(backend.Partitioner); ok && !c.hasProxies() {
		for _, n := range names {
			m := c.Member(n)
			if m == nil {
				return fmt.Errorf("isolate %s: no such member", n)
			}
			if err := p.Isolate(ctx, m); err != nil {
				return err
			}
			c.mu.Lock()
			c.isolated = append(c.isolated, m)
			c.mu.Unlock()
		}
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, n := range names {
		p, ok := c.proxies[n]
		if !ok {
			return fmt.Errorf("isolate %s: it has no peer proxy (the cluster was not laid out with PeerProxies)", n)
		}
		p.BlackholeTx()
		p.BlackholeRx()
	}
	return nil
}

// Heal lets all peer traffic through again.
func (c *Cluster) Heal(ctx context.Context) error {
	c.mu.Lock()
	isolated := c.isolated
	c.isolated = nil
	for _, p := range c.proxies {
		p.UnblackholeTx()
		p.UnblackholeRx()
	}
	c.mu.Unlock()
	if p, ok := c.Backend.(backend.Partitioner); ok {
		for _, m := range isolated {
			if err := p.Heal(ctx, m); err != nil {
				return err
			}
		}
	}
	return nil
}

// CanPartition says whether Isolate can cut this cluster's peer traffic.
func (c *Cluster) CanPartition() bool {
	_, ok := c.Backend.(backend.Partitioner)
	return ok || c.hasProxies()
}

func (c *Cluster) hasProxies() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.proxies) > 0
}

func (c *Cluster) closeProxies() {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.lateWG.Wait() // a delayed proxy that was starting has started
	c.mu.Lock()
	ps := c.proxies
	c.proxies = nil
	c.mu.Unlock()
	for _, p := range ps {
		p.Close()
	}
}

// HandOver closes the peer proxy of member name, if it has one, so that a
// member started on the same spec in another cluster (restarted with
// --force-new-cluster, say) can have its own.
func (c *Cluster) HandOver(name string) {
	c.mu.Lock()
	p, ok := c.proxies[name]
	delete(c.proxies, name)
	c.mu.Unlock()
	if ok {
		p.Close()
	}
}
