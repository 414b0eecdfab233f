#!/usr/bin/env bash
# A "logical" restore: the backup is right; the restore phase reads every
# key out of it (through a throwaway etcd on unix sockets in its work dir)
# and puts them into a brand-new cluster. Every value comes back, at other
# revisions: watchers and Kubernetes resourceVersions would jump.
# The drill must fail at verify with revision-rewritten.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if [ "$1" != restore ]; then
	exec "$here/../../../recovery/runbooks/recovery-guide.sh" "$@"
fi
ctl() { "$DRILL_ETCDCTL_BIN" --command-timeout 5s "$@"; }
wait_healthy() {
	for _ in $(seq 1 400); do
		ctl --endpoints "$1" endpoint health >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	echo "no healthy etcd at $1" >&2
	return 1
}

# Read the backup out through a throwaway etcd.
reader=unix://reader-client.sock:0 reader_peer=unix://reader-peer.sock:0
"$DRILL_ETCDUTL_BIN" snapshot restore "$DRILL_SNAPSHOT" --name reader --data-dir reader.etcd \
	--initial-cluster "reader=$reader_peer" --initial-advertise-peer-urls "$reader_peer"
"$DRILL_ETCD_BIN" --name reader --data-dir reader.etcd \
	--listen-client-urls "$reader" --advertise-client-urls "$reader" \
	--listen-peer-urls "$reader_peer" --initial-advertise-peer-urls "$reader_peer" \
	--initial-cluster "reader=$reader_peer" >reader.log 2>&1 &
pid=$!
wait_healthy "$reader"
ctl --endpoints "$reader" get "" --from-key >keys.txt
kill -9 "$pid"
wait "$pid" 2>/dev/null || true

# A brand-new cluster on empty data dirs.
# shellcheck source=start-empty-members.sh
. "$here/start-empty-members.sh"
wait_healthy "$DRILL_ENDPOINTS"

# Put every key back, 100 to a transaction (etcd allows 128).
paste -d ' ' - - <keys.txt | split -l 100 - batch.
for b in batch.*; do
	{ echo; sed 's/^/put /' "$b"; echo; echo; } | ctl --endpoints "$DRILL_ENDPOINTS" txn >/dev/null
done
echo "put back $(wc -l <keys.txt | awk '{print $1/2}') keys"
