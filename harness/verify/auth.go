package verify

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/etcd-drill/etcd-drill/harness"
)

// KindAuthLost: the recovered cluster does not enforce the authentication
// the old one had: auth disabled, a user or role gone or changed, an
// anonymous request or a write outside the workload's prefix let through,
// or root unable to read.
const KindAuthLost = "auth-lost"

// AuthClients are the three ways the check reaches the recovered cluster.
type AuthClients struct {
	// Root and User authenticate as a's users; Anonymous as nobody.
	Root, User, Anonymous *clientv3.Client
}

// CheckAuth checks that the cluster enforces a as the drill set it up
// before the fault (never as the cluster says it is): auth enabled; exactly
// the users root and a.User and the roles root and a.Role, the workload
// user holding its role alone, the role readwrite on a.Prefix alone; an
// anonymous read refused; the workload user refused a write outside its
// prefix and let read inside it; root able to read every key. Each
// departure is one auth-lost finding.
func CheckAuth(ctx context.Context, cl AuthClients, a *harness.Auth) []Finding {
	var out []Finding
	bad := func(what, want, got string) {
		out = append(out, Finding{Key: what, Kind: KindAuthLost, Want: want, Got: got})
	}
	st, err := cl.Root.AuthStatus(ctx)
	switch {
	case err != nil:
		bad("auth status", "enabled, read as root", err.Error())
	case !st.Enabled:
		bad("auth status", "enabled", "disabled")
	}
	if users, err := cl.Root.UserList(ctx); err != nil {
		bad("users", "listed as root", err.Error())
	} else if got, want := sorted(users.Users), sorted([]string{a.Root, a.User}); !slices.Equal(got, want) {
		bad("users", strings.Join(want, ","), strings.Join(got, ","))
	}
	if roles, err := cl.Root.RoleList(ctx); err != nil {
		bad("roles", "listed as root", err.Error())
	} else if got, want := sorted(roles.Roles), sorted([]string{"root", a.Role}); !slices.Equal(got, want) {
		bad("roles", strings.Join(want, ","), strings.Join(got, ","))
	}
	if u, err := cl.Root.UserGet(ctx, a.User); err != nil {
		bad("user "+a.User, "role "+a.Role, err.Error())
	} else if !slices.Equal(u.Roles, []string{a.Role}) {
		bad("user "+a.User, "role "+a.Role, "roles "+strings.Join(u.Roles, ","))
	}
	if r, err := cl.Root.RoleGet(ctx, a.Role); err != nil {
		bad("role "+a.Role, "readwrite on "+a.Prefix, err.Error())
	} else {
		end := clientv3.GetPrefixRangeEnd(a.Prefix)
		ok := len(r.Perm) == 1 && string(r.Perm[0].Key) == a.Prefix && string(r.Perm[0].RangeEnd) == end &&
			r.Perm[0].PermType == clientv3.PermReadWrite
		if !ok {
			var got []string
			for _, p := range r.Perm {
				got = append(got, fmt.Sprintf("%v [%q, %q)", p.PermType, p.Key, p.RangeEnd))
			}
			bad("role "+a.Role, "readwrite on "+a.Prefix+" alone", strings.Join(got, "; "))
		}
	}
	if _, err := cl.Anonymous.Get(ctx, a.Prefix, clientv3.WithPrefix(), clientv3.WithCountOnly()); !refused(err) {
		bad("anonymous read of "+a.Prefix, "refused", outcome(err))
	}
	outside := "/drill-auth-check/outside"
	if strings.HasPrefix(outside, a.Prefix) {
		outside = "\x00" + outside
	}
	if _, err := cl.User.Put(ctx, outside, "x"); !refused(err) {
		bad(a.User+" writes "+outside, "refused: outside its prefix", outcome(err))
	}
	if _, err := cl.User.Get(ctx, a.Prefix, clientv3.WithPrefix(), clientv3.WithCountOnly()); err != nil {
		bad(a.User+" reads "+a.Prefix, "let through", err.Error())
	}
	if _, err := cl.Root.Get(ctx, "", clientv3.WithFromKey(), clientv3.WithCountOnly()); err != nil {
		bad(a.Root+" reads every key", "let through", err.Error())
	}
	return out
}

// refused says whether err is etcd refusing a request for want of
// authentication or permission.
func refused(err error) bool {
	e := rpctypes.Error(err)
	return errors.Is(e, rpctypes.ErrPermissionDenied) || errors.Is(e, rpctypes.ErrUserEmpty) ||
		errors.Is(e, rpctypes.ErrInvalidAuthToken) || errors.Is(e, rpctypes.ErrAuthFailed)
}

func outcome(err error) string {
	if err == nil {
		return "let through"
	}
	return err.Error()
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	slices.Sort(out)
	return out
}
