package scenarios

import "github.com/etcd-drill/etcd-drill/harness/bins"

// Incompatibility is a cross-version path etcd does not support, declared
// with its reason and etcd's reference: a matrix cell on it shows as
// declared, and its failure does not fail the matrix.
type Incompatibility struct {
	// Path is what crosses versions: PathRestore (the default), PathUpgrade
	// or PathDowngrade (in place).
	Path string
	// From and To are minor lines (X.Y): the snapshot's etcd and the one
	// that restores and serves it, or the cluster's and the one it is
	// moved to in place.
	From, To string
	Reason   string
	// Ref is where etcd says so (docs, an issue).
	Ref string
}

// Incompatibilities lists the declared ones. Measured on 3.5.36, 3.6.17
// and 3.7.3 (README): every other cell restores its ledger intact,
// the downgrades to 3.5 included (3.5 checks no storage version).
func Incompatibilities() []Incompatibility {
	return []Incompatibility{{
		From: "3.7", To: "3.6",
		Reason: `etcd 3.6 refuses a 3.7 db: "Failed to validate schema: version \"3.7.0\" is not supported" (a db saved before the 3.7 leader wrote its storage version, in its first seconds, passes that check and 3.6 panics on the cluster version instead); ` +
			`after etcdutl 3.7 migrate --target-version 3.6 (--migrate) it panics "invalid downgrade; server version is lower than determined cluster version" (the db keeps cluster version 3.7): ` +
			`the way down is etcdctl downgrade enable 3.6 on the live 3.7 cluster, then a member at a time`,
		Ref: "https://etcd.io/docs/v3.7/downgrades/downgrade_3_7/",
	}, {
		Path: PathUpgrade, From: "3.5", To: "3.7",
		Reason: "etcd upgrades one minor line at a time (3.5 -> 3.6 -> 3.7); a 3.7 member started on a 3.5 member's data dir panics applying its WAL: " +
			`"unmarshal should never fail (proto: cannot parse invalid wire-format data)"`,
		Ref: "https://etcd.io/docs/v3.7/upgrades/upgrade_3_7/",
	}, {
		Path: PathDowngrade, From: "3.7", To: "3.5",
		Reason: "etcd downgrades one minor line at a time: etcdctl downgrade validate refuses a target two lines down",
		Ref:    "https://etcd.io/docs/v3.7/downgrades/downgrade_3_7/",
	}}
}

// The paths across versions an incompatibility is declared for.
const (
	PathRestore   = ""
	PathUpgrade   = "upgrade"
	PathDowngrade = "downgrade"
)

// Declared returns the declared incompatibility of restoring a snapshot of
// version from (X.Y or X.Y.Z) on version to, if any, from list.
func Declared(list []Incompatibility, from, to string) (Incompatibility, bool) {
	return DeclaredPath(list, PathRestore, from, to)
}

// DeclaredPath returns the declared incompatibility of moving from version
// from to version to by path, if any, from list.
func DeclaredPath(list []Incompatibility, path, from, to string) (Incompatibility, bool) {
	for _, in := range list {
		if in.Path == path && bins.SameLine(from, in.From) && bins.SameLine(to, in.To) {
			return in, true
		}
	}
	return Incompatibility{}, false
}
