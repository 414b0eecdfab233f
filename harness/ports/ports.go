// Package ports hands out loopback TCP ports that no other etcd-drill run on this
// machine holds at the same time.
//
// A port is claimed in two steps: a lock that only one process can hold (an
// abstract unix socket named after the port, which the kernel frees when the
// process dies, so a killed run leaves nothing behind), then a test bind on
// 127.0.0.1 to be sure no other program listens there. Ports come from below the
// kernel's ephemeral range, so outgoing connections cannot take them between the
// check and etcd's own bind.
package ports

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// Range is the span of ports handed out, [Low, High].
type Range struct{ Low, High int }

// Defaults stay below Linux's default ephemeral range (32768-60999).
const (
	defaultLow  = 20000
	defaultHigh = 32000
)

// Allocator reserves ports for one run. Its zero value is not usable: call New.
type Allocator struct {
	rng  Range
	mu   sync.Mutex
	held map[int]net.Listener // the lock of each reserved port
}

// New returns an allocator over a range that avoids this machine's ephemeral ports.
func New() *Allocator {
	return &Allocator{rng: pickRange(), held: map[int]net.Listener{}}
}

// NewWithRange returns an allocator over r (tests use a narrow range).
func NewWithRange(r Range) *Allocator {
	return &Allocator{rng: r, held: map[int]net.Listener{}}
}

// pickRange keeps ports below the ephemeral range read from /proc.
func pickRange() Range {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return Range{Low: defaultLow, High: defaultHigh}
	}
	f := strings.Fields(string(b))
	if len(f) != 2 {
		return Range{Low: defaultLow, High: defaultHigh}
	}
	lo, err1 := strconv.Atoi(f[0])
	hi, err2 := strconv.Atoi(f[1])
	if err1 != nil || err2 != nil {
		return Range{Low: defaultLow, High: defaultHigh}
	}
	return rangeOutside(lo, hi)
}

// minSpan is the fewest ports a range outside the ephemeral ones must hold.
const minSpan = 1000

// rangeOutside picks ports outside the ephemeral range [lo, hi]: the default
// range cut below lo, or else the ports above hi, or, if neither is wide
// enough, the default range (a collision is then caught by the test bind).
func rangeOutside(lo, hi int) Range {
	r := Range{Low: defaultLow, High: min(defaultHigh, lo-1)}
	if r.High-r.Low+1 >= minSpan {
		return r
	}
	if above := (Range{Low: hi + 1, High: 65535}); above.High-above.Low+1 >= minSpan {
		return above
	}
	return Range{Low: defaultLow, High: defaultHigh}
}

// ErrExhausted is returned when no free port is left in the range.
var ErrExhausted = errors.New("no free loopback port left in range")

// Reserve claims n ports. They stay claimed until Release or ReleaseAll.
func (a *Allocator) Reserve(n int) ([]int, error) {
	var got []int
	span := a.rng.High - a.rng.Low + 1
	start := rand.IntN(span)
	for i := 0; i < span && len(got) < n; i++ {
		p := a.rng.Low + (start+i)%span
		if a.tryClaim(p) {
			got = append(got, p)
		}
	}
	if len(got) < n {
		a.Release(got...)
		return nil, fmt.Errorf("reserve %d ports in %d-%d: %w", n, a.rng.Low, a.rng.High, ErrExhausted)
	}
	return got, nil
}

func (a *Allocator) tryClaim(p int) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, ok := a.held[p]; ok {
		return false
	}
	lock, err := lockPort(p)
	if err != nil {
		return false
	}
	// Someone outside etcd-drill may listen there: check with a real bind.
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
	if err != nil {
		lock.Close()
		return false
	}
	l.Close()
	a.held[p] = lock
	return true
}

// lockPort takes the machine-wide lock of port p: an abstract unix socket.
func lockPort(p int) (net.Listener, error) {
	return net.Listen("unix", "@etcd-drill/port/"+strconv.Itoa(p))
}

// Release gives ports back.
func (a *Allocator) Release(ports ...int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, p := range ports {
		if l, ok := a.held[p]; ok {
			l.Close()
			delete(a.held, p)
		}
	}
}

// ReleaseAll gives back every port this allocator holds.
func (a *Allocator) ReleaseAll() {
	a.mu.Lock()
	defer a.mu.Unlock()
	for p, l := range a.held {
		l.Close()
		delete(a.held, p)
	}
}

// Held reports how many ports are reserved now.
func (a *Allocator) Held() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.held)
}

// IsAddrInUse tells whether err is a bind failure because the address is taken,
// so a caller can retry a start with other ports.
func IsAddrInUse(err error) bool {
	return errors.Is(err, syscall.EADDRINUSE)
}
