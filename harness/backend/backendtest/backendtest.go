// Package backendtest holds what the tests of every backend share.
package backendtest

import (
	"testing"
	"time"

	"github.com/etcd-drill/etcd-drill/harness/backend"
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
