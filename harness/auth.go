package harness

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Auth is etcd's authentication as a drill sets it up (--auth): the root
// user, whose client the harness uses for everything but the workload, and
// a workload user whose one role may read and write the workload's prefix
// only. The passwords are made per run and never written out.
type Auth struct {
	Root, RootPassword string
	User, Password     string
	// Role is the workload user's role, Prefix what it grants.
	Role, Prefix string
}

// NewAuth makes the users of a drill, with fresh random passwords, for the
// workload prefix.
func NewAuth(prefix string) (*Auth, error) {
	pw := func() (string, error) {
		var b [16]byte
		if _, err := rand.Read(b[:]); err != nil {
			return "", fmt.Errorf("make a password: %w", err)
		}
		return hex.EncodeToString(b[:]), nil
	}
	root, err := pw()
	if err != nil {
		return nil, err
	}
	user, err := pw()
	if err != nil {
		return nil, err
	}
	return &Auth{Root: "root", RootPassword: root, User: "drill-workload", Password: user, Role: "drill-workload", Prefix: prefix}, nil
}

// String names the users, never the passwords.
func (a *Auth) String() string {
	return fmt.Sprintf("users %s (role root) and %s (role %s: readwrite on %s)", a.Root, a.User, a.Role, a.Prefix)
}

// CtlUser is etcdctl's --user (or ETCDCTL_USER) for the root user.
func (a *Auth) CtlUser() string { return a.Root + ":" + a.RootPassword }

// Enable creates the root user and role, the workload user and its role,
// then enables authentication, through cli (a client of a cluster without
// auth yet).
func (a *Auth) Enable(ctx context.Context, cli *clientv3.Client) error {
	steps := []struct {
		what string
		do   func() error
	}{
		{"add user " + a.Root, func() error { _, err := cli.UserAdd(ctx, a.Root, a.RootPassword); return err }},
		{"add role root", func() error { _, err := cli.RoleAdd(ctx, "root"); return err }},
		{"grant role root to " + a.Root, func() error { _, err := cli.UserGrantRole(ctx, a.Root, "root"); return err }},
		{"add role " + a.Role, func() error { _, err := cli.RoleAdd(ctx, a.Role); return err }},
		{"grant " + a.Role + " readwrite on " + a.Prefix, func() error {
			_, err := cli.RoleGrantPermission(ctx, a.Role, a.Prefix, clientv3.GetPrefixRangeEnd(a.Prefix), clientv3.PermissionType(clientv3.PermReadWrite))
			return err
		}},
		{"add user " + a.User, func() error { _, err := cli.UserAdd(ctx, a.User, a.Password); return err }},
		{"grant role " + a.Role + " to " + a.User, func() error { _, err := cli.UserGrantRole(ctx, a.User, a.Role); return err }},
		{"enable auth", func() error { _, err := cli.AuthEnable(ctx); return err }},
	}
	for _, s := range steps {
		if err := s.do(); err != nil {
			return fmt.Errorf("auth: %s: %w", s.what, err)
		}
	}
	return nil
}
