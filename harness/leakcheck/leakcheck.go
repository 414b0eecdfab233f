// Package leakcheck tells whether a drill left goroutines or listening ports
// behind. Tests and suites use it after every run.
package leakcheck

import (
	"fmt"
	"net"
	"net/url"
	"time"

	"go.uber.org/goleak"
)

// Baseline is the set of goroutines running before a drill.
type Baseline struct{ ignore goleak.Option }

// Take records the goroutines running now.
func Take() Baseline { return Baseline{ignore: goleak.IgnoreCurrent()} }

// Goroutines waits up to timeout for every goroutine started since the
// baseline to end, and describes the ones still running if some are.
// Members close in the background, so a short wait is normal.
func (b Baseline) Goroutines(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		err := goleak.Find(b.ignore)
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("goroutines left %v after the drill: %w", timeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Ports checks that nothing listens on the hosts of urls any more.
func Ports(urls []string) error {
	for _, u := range urls {
		pu, err := url.Parse(u)
		if err != nil {
			return fmt.Errorf("parse %q: %w", u, err)
		}
		c, err := net.DialTimeout("tcp", pu.Host, time.Second)
		if err == nil {
			c.Close()
			return fmt.Errorf("%s still accepts connections after the drill", u)
		}
	}
	return nil
}
