package scenarios

import "github.com/etcd-drill/etcd-drill/harness/bins"

// Incompatibility is a cross-version path etcd does not support, declared
// with its reason and etcd's reference: a matrix cell on it shows as
// declared, and its failure does not fail the matrix.
type Incompatibility struct {
	// From and To are minor lines (X.Y): the snapshot's etcd and the one
	// that restores and serves it.
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
		Reason: `etcd 3.6 refuses a 3.7 db: "Failed to validate schema: version \"3.7.0\" is not supported"; ` +
			`after etcdutl 3.7 migrate --target-version 3.6 (--migrate) it panics "invalid downgrade; server version is lower than determined cluster version" (the db keeps cluster version 3.7): ` +
			`the way down is etcdctl downgrade enable 3.6 on the live 3.7 cluster, then a member at a time`,
		Ref: "https://etcd.io/docs/v3.7/downgrades/downgrade_3_7/",
	}}
}

// Declared returns the declared incompatibility of restoring a snapshot of
// version from (X.Y or X.Y.Z) on version to, if any, from list.
func Declared(list []Incompatibility, from, to string) (Incompatibility, bool) {
	for _, in := range list {
		if bins.SameLine(from, in.From) && bins.SameLine(to, in.To) {
			return in, true
		}
	}
	return Incompatibility{}, false
}
