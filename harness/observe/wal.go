package observe

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/server/v3/storage/wal"
	"go.etcd.io/etcd/server/v3/storage/wal/walpb"
	"go.etcd.io/raft/v3/raftpb"
	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"
)

// The one WAL reader of the harness: what a member's raft log says, read
// from its data dir, read-only, once the member has let go of it.

// WALDir is the WAL folder of a member's data dir.
func WALDir(dataDir string) string { return filepath.Join(dataDir, "member", "wal") }

// HasWAL says whether dataDir holds a WAL (a destroyed data dir does not).
func HasWAL(dataDir string) bool { return wal.Exist(WALDir(dataDir)) }

// Identity is what a member's WAL says it is.
type Identity struct{ Member, Cluster uint64 }

// WALIdentity reads the metadata record a WAL starts with (etcd's
// etcdserverpb.Metadata: member ID and cluster ID).
func WALIdentity(dataDir string) (Identity, error) {
	md, _, err := readWAL(dataDir)
	if len(md) == 0 {
		if err == nil {
			err = errors.New("no metadata record")
		}
		return Identity{}, err
	}
	var meta etcdserverpb.Metadata
	if err := proto.Unmarshal(md, &meta); err != nil {
		return Identity{}, fmt.Errorf("decode WAL metadata: %w", err)
	}
	return Identity{Member: meta.GetNodeID(), Cluster: meta.GetClusterID()}, nil
}

func readWAL(dataDir string) ([]byte, []*raftpb.Entry, error) {
	w, err := wal.OpenForRead(zap.NewNop(), WALDir(dataDir), &walpb.Snapshot{})
	if err != nil {
		return nil, nil, err
	}
	defer w.Close()
	md, _, ents, err := w.ReadAll()
	return md, ents, err
}

// WALSplice compares the raft log of a member forced into a new cluster
// with an old member's. Raft's log matching rests on this: two entries with
// the same index and term are the same entry, and so is everything before
// them. It says where the two logs hold different entries under the same
// index and term, and which entries of the old log the forced member then
// took after them; "" when there is no such place.
func WALSplice(forcedDir, oldDir, oldName string) (string, error) {
	_, fe, err := readWAL(forcedDir)
	if err != nil {
		return "", err
	}
	_, oe, err := readWAL(oldDir)
	if err != nil {
		return "", err
	}
	old := make(map[uint64]*raftpb.Entry, len(oe))
	for _, e := range oe {
		old[e.GetIndex()] = e // a later entry at an index replaces an earlier one
	}
	var clash, took []string
	for _, e := range fe {
		o, ok := old[e.GetIndex()]
		if !ok || o.GetTerm() != e.GetTerm() {
			continue
		}
		same := o.GetType() == e.GetType() && bytes.Equal(o.Data, e.Data)
		switch {
		case !same:
			clash = append(clash, fmt.Sprintf("%d (term %d): %s here, %s in %s's", e.GetIndex(), e.GetTerm(), describeEntry(e), describeEntry(o), oldName))
		case len(clash) > 0:
			took = append(took, fmt.Sprintf("%d (%s)", e.GetIndex(), describeEntry(e)))
		}
	}
	if len(clash) == 0 {
		return "", nil
	}
	line := "RAFT LOG MATCHING BROKEN: --force-new-cluster wrote its membership entries in the old term, at indexes the old leader had used: " +
		strings.Join(clash, "; ")
	if len(took) > 5 {
		took = append(took[:5], fmt.Sprintf("and %d more", len(took)-5))
	}
	if len(took) > 0 {
		line += "; the forced member then took the old leader's entries after them, as if the logs matched: " + strings.Join(took, ", ")
	}
	return line, nil
}

// describeEntry says what a raft entry of etcd does, in a few words.
func describeEntry(e *raftpb.Entry) string {
	if e.GetType() != raftpb.EntryType_EntryNormal {
		return "a membership change"
	}
	if len(e.Data) == 0 {
		return "an empty entry"
	}
	var r etcdserverpb.InternalRaftRequest
	if err := proto.Unmarshal(e.Data, &r); err != nil {
		return "an undecodable entry"
	}
	switch {
	case r.Put != nil:
		return "put " + string(r.Put.Key)
	case r.DeleteRange != nil:
		return "delete " + string(r.DeleteRange.Key)
	case r.Txn != nil:
		return "a transaction"
	case r.ClusterMemberAttrSet != nil:
		return "member attributes"
	}
	return "a request"
}
