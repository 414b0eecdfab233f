package scenarios

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/etcd-drill/etcd-drill/harness"
	"github.com/etcd-drill/etcd-drill/harness/report"
	"github.com/etcd-drill/etcd-drill/harness/verify"
	"github.com/etcd-drill/etcd-drill/harness/workload"
	"github.com/etcd-drill/etcd-drill/recovery"
)

// authDropped is a recovery that loses part of the authentication after
// it is done, as a procedure that rebuilt the cluster without its auth
// store, or touched it, would.
type authDropped struct {
	recovery.Recovery
	damage func(ctx context.Context, root *clientv3.Client) error
}

func (r authDropped) Recover(ctx context.Context, env recovery.Env) (recovery.Outcome, error) {
	out, err := r.Recovery.Recover(ctx, env)
	if err != nil || out.Cluster == nil {
		return out, err
	}
	root, err := out.Cluster.Client()
	if err != nil {
		return out, err
	}
	if err := r.damage(ctx, root); err != nil {
		return out, fmt.Errorf("test double: %w", err)
	}
	return out, nil
}

// TestAuthKeptThroughTheRestore: with --auth, the restored cluster enforces
// the users, roles and permissions set up before the fault, and the drill
// passes with its check-auth step.
func TestAuthKeptThroughTheRestore(t *testing.T) {
	for _, be := range []string{"embedded", "process"} {
		t.Run(be, func(t *testing.T) {
			o := smallOptions(t)
			o.Backend, o.Auth = be, true
			rep, err := runDrill(t, lookupScenario(t, "quorum-loss/snapshot-restore"), o)
			if err != nil || !rep.Passed {
				t.Fatalf("drill: %v, failures %v", err, rep.Failures)
			}
			ran := map[string]bool{}
			for _, s := range rep.Steps {
				ran[s.Name] = true
			}
			if !ran["enable-auth"] || !ran["check-auth"] {
				t.Fatalf("steps %v: want enable-auth and check-auth", rep.Steps)
			}
			leftNothing(t, rep, o.BaseDir)
		})
	}
}

// TestFailPathAuthLost: a recovery that disables auth, or widens the
// workload user's role, fails the drill with auth-lost, naming what.
func TestFailPathAuthLost(t *testing.T) {
	for _, tc := range []struct {
		name   string
		damage func(ctx context.Context, root *clientv3.Client) error
		want   string
	}{
		{"auth disabled", func(ctx context.Context, root *clientv3.Client) error {
			_, err := root.AuthDisable(ctx)
			return err
		}, "auth status"},
		{"the workload's role widened", func(ctx context.Context, root *clientv3.Client) error {
			_, err := root.RoleGrantPermission(ctx, "drill-workload", "/", "\x00", clientv3.PermissionType(clientv3.PermReadWrite))
			return err
		}, "role drill-workload"},
		{"a user added", func(ctx context.Context, root *clientv3.Client) error {
			_, err := root.UserAdd(ctx, "backdoor", "x")
			return err
		}, "users"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc := lookupScenario(t, "quorum-loss/snapshot-restore")
			sc.Recovery = authDropped{sc.Recovery, tc.damage}
			o := smallOptions(t)
			o.Auth = true
			rep, err := runFailPath(t, sc, o)
			if err != nil {
				t.Fatalf("run: %v; want the drill to run to its end and fail its auth check", err)
			}
			if len(rep.Failures) != 1 || !strings.HasPrefix(rep.Failures[0], verify.KindAuthLost+":") {
				t.Fatalf("failures %q: want one, %s", rep.Failures, verify.KindAuthLost)
			}
			found := false
			for _, f := range rep.Findings {
				found = found || (f.Kind == verify.KindAuthLost && strings.Contains(f.Key, tc.want))
			}
			if !found {
				t.Fatalf("findings %+v: want an %s finding about %q", rep.Findings, verify.KindAuthLost, tc.want)
			}
		})
	}
}

// TestAuthSecretsStaySecret: no password of the drill's users is in the
// report, the summary, the page, the JUnit file or any file of the kept
// run directory (member logs, the harness's and the runbook's own), though
// the guide's runbook authenticated as root throughout.
func TestAuthSecretsStaySecret(t *testing.T) {
	a, err := harness.NewAuth(workload.DefaultPrefix)
	if err != nil {
		t.Fatal(err)
	}
	o := runbookOptions(t, "../recovery/runbooks/recovery-guide.sh")
	o.Backend, o.Auth, o.Credentials, o.Keep = "process", true, a, true
	rep, err := runDrill(t, lookupScenario(t, "quorum-loss/snapshot-restore"), o)
	if err != nil || !rep.Passed {
		t.Fatalf("drill: %v, failures %v", err, rep.Failures)
	}
	var outs bytes.Buffer
	rep.WriteSummary(&outs, true)
	if err := rep.WriteHTML(&outs); err != nil {
		t.Fatal(err)
	}
	j := filepath.Join(t.TempDir(), "j.xml")
	if err := report.WriteJUnit(j, rep.JUnit()); err != nil {
		t.Fatal(err)
	}
	files := 0
	err = filepath.WalkDir(rep.RunDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(p, ".db") || strings.Contains(p, ".etcd/") {
			// Data dirs and snapshots hold the auth store, hashed: etcd's.
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		files++
		outs.WriteString("\n== " + p + "\n")
		outs.Write(b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(j); err == nil {
		outs.Write(b)
	}
	if files < 5 {
		t.Fatalf("%d files read in the run dir %s: the check saw nothing", files, rep.RunDir)
	}
	for _, secret := range []string{a.RootPassword, a.Password} {
		if i := bytes.Index(outs.Bytes(), []byte(secret)); i >= 0 {
			lo := max(0, i-200)
			t.Errorf("a password is in the outputs: ...%s...", outs.Bytes()[lo:i])
		}
	}
}
