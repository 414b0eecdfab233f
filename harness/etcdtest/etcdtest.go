// Package etcdtest starts a one-member embedded etcd for unit tests that need
// a real server but no drill.
package etcdtest

import (
	"net/url"
	"strconv"
	"testing"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"

	"github.com/etcd-drill/etcd-drill/harness/ports"
)

// Single starts a one-member etcd on locked loopback ports, data in a temp
// dir, fsync off, logs discarded; tweak may change its config first. It
// returns the client URL; the server is closed when the test ends.
func Single(tb testing.TB, tweak func(*embed.Config)) string {
	tb.Helper()
	alloc := ports.New()
	tb.Cleanup(alloc.ReleaseAll)
	ps, err := alloc.Reserve(2)
	if err != nil {
		tb.Fatal(err)
	}
	curl := url.URL{Scheme: "http", Host: "127.0.0.1:" + strconv.Itoa(ps[0])}
	purl := url.URL{Scheme: "http", Host: "127.0.0.1:" + strconv.Itoa(ps[1])}
	cfg := embed.NewConfig()
	cfg.Dir = tb.TempDir()
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{curl}, []url.URL{curl}
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{purl}, []url.URL{purl}
	cfg.InitialCluster = cfg.Name + "=" + purl.String()
	cfg.UnsafeNoFsync = true
	cfg.Logger = "zap"
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.NewNop())
	if tweak != nil {
		tweak(cfg)
	}
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		tb.Fatalf("start etcd: %v", err)
	}
	tb.Cleanup(e.Close)
	select {
	case <-e.Server.ReadyNotify():
	case err := <-e.Err():
		tb.Fatalf("etcd failed: %v", err)
	case <-time.After(10 * time.Second):
		tb.Fatal("etcd not ready after 10s")
	}
	return curl.String()
}
