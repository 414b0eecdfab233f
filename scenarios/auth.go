package scenarios

import (
	"context"
	"fmt"
	"time"

	"github.com/etcd-drill/etcd-drill/harness"
	"github.com/etcd-drill/etcd-drill/harness/report"
	"github.com/etcd-drill/etcd-drill/harness/verify"
)

// enableAuth sets up the drill's users and roles on the cluster under test
// and enables authentication, before any write: from then on the workload
// writes as its user, the harness acts as root.
func (r *runner) enableAuth(ctx context.Context) (string, error) {
	cli, err := r.cluster.Client()
	if err != nil {
		return "", err
	}
	if err := r.d.Auth.Enable(ctx, cli); err != nil {
		return "", err
	}
	return "auth enabled: " + r.d.Auth.String(), nil
}

// checkAuth checks that the recovered cluster enforces the authentication
// the drill set up before the fault: a recovery that lost the auth store,
// or a part of it, fails with auth-lost.
func (r *runner) checkAuth(ctx context.Context) (string, error) {
	c := r.outcome.Cluster
	root, err := c.Client()
	if err != nil {
		return "", err
	}
	user, err := c.UserClient()
	if err != nil {
		return "", err
	}
	anon, err := harness.NewClient(harness.Endpoints(c.Live())...)
	if err != nil {
		return "", err
	}
	defer anon.Close()
	actx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	found := verify.CheckAuth(actx, verify.AuthClients{Root: root, User: user, Anonymous: anon}, r.d.Auth)
	for _, f := range found {
		r.rep.Findings = append(r.rep.Findings, report.Finding(f))
	}
	if len(found) > 0 {
		r.rep.Fail("%s: %d departures from the authentication set up before the fault (first: %s: want %s, got %s)",
			verify.KindAuthLost, len(found), found[0].Key, found[0].Want, found[0].Got)
		return fmt.Sprintf("%d auth-lost findings", len(found)), nil
	}
	return "auth enabled, users and roles as set up before the fault; anonymous read and the workload user's write outside its prefix refused; root reads every key", nil
}
