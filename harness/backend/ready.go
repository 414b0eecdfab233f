package backend

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

// WaitPeerServing polls a starting member's peer server until it answers
// GET /version (etcd serves peers only after its bootstrap), the member
// ends (exited closes: the caller sees that in Exited; a crash loop starts
// like this), or ctx ends, at the latest after within. peerURL says where
// the peer server is; it is asked again on each try, as a member may be
// published elsewhere meanwhile.
func WaitPeerServing(ctx context.Context, within time.Duration, exited <-chan struct{}, peerURL func() string) error {
	ctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	hc := &http.Client{Timeout: 200 * time.Millisecond, Transport: &http.Transport{DisableKeepAlives: true}}
	defer hc.CloseIdleConnections()
	for {
		u := peerURL()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u+"/version", nil)
		if err != nil {
			return fmt.Errorf("peer server %s: %w", u, err)
		}
		if resp, err := hc.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-exited:
			return nil
		case <-ctx.Done():
			return fmt.Errorf("peer server %s not serving: %w", u, ctx.Err())
		case <-time.After(5 * time.Millisecond):
		}
	}
}
