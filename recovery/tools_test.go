package recovery

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/etcd-drill/etcd-drill/harness"
	"github.com/etcd-drill/etcd-drill/harness/bins"
	"github.com/etcd-drill/etcd-drill/harness/etcdtest"
)

// TestToolsAgreeWithTheLinkedLibraries: with Drill.Tools set, a snapshot
// is saved by etcdctl, read and restored by etcdutl (the binaries of a
// drill's --etcd-version); with the pinned binaries, they must say what
// the linked libraries say of the same file, and etcdutl's refusal of a
// damaged snapshot must still read as ErrHashMismatch.
func TestToolsAgreeWithTheLinkedLibraries(t *testing.T) {
	b, err := bins.Find("")
	if err != nil {
		t.Skipf("no etcd binaries (make bins): %v", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	ep := etcdtest.Single(t, nil)
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{ep}, DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	for i := range 300 {
		if _, err := cli.Put(ctx, fmt.Sprintf("/t/k%03d", i), "v"); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "snapshot.db")
	if err := ctlSave(ctx, &b, nil, ep, path); err != nil {
		t.Fatal(err)
	}
	withTools, err := Describe(ctx, &harness.Drill{Tools: &b}, zap.NewNop(), path)
	if err != nil {
		t.Fatal(err)
	}
	linked, err := Describe(ctx, &harness.Drill{}, zap.NewNop(), path)
	if err != nil {
		t.Fatal(err)
	}
	if withTools != linked || withTools.Keys < 300 || withTools.Revision < 301 {
		t.Fatalf("etcdutl says %+v, the linked library %+v: want the same, with the 300 keys", withTools, linked)
	}
	d := &harness.Drill{Tools: &b}
	peer := "http://127.0.0.1:2380"
	target := restoreTarget{Name: "r1", DataDir: filepath.Join(dir, "r1.etcd"), PeerURL: peer, InitialCluster: "r1=" + peer, Token: "tools-test"}
	if err := restoreMember(ctx, d, zap.NewNop(), path, target, false, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(target.DataDir, "member", "snap", "db")); err != nil {
		t.Fatalf("etcdutl restored no db: %v", err)
	}
	// A damaged snapshot: etcdutl refuses it, in its own words.
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)/2] ^= 0xff
	bad := filepath.Join(dir, "damaged.db")
	if err := os.WriteFile(bad, data, 0o600); err != nil {
		t.Fatal(err)
	}
	target.DataDir = filepath.Join(dir, "r1-again.etcd")
	err = restoreMember(ctx, d, zap.NewNop(), bad, target, false, 0)
	if err == nil || !strings.Contains(err.Error(), ErrHashMismatch) || !strings.Contains(err.Error(), "etcdutl snapshot restore") {
		t.Fatalf("restore of a damaged snapshot: %v; want etcdutl's refusal with %q", err, ErrHashMismatch)
	}
}
