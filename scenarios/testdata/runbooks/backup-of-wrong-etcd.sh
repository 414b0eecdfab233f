#!/usr/bin/env bash
# A backup job pointed at the wrong etcd: the backup phase saves a snapshot
# of a fresh etcd of its own (on unix sockets in its work dir) instead of
# the cluster under test; the restore phase is the recovery guide's.
# The drill must fail at its snapshot step with stale-backup: the backup's
# revision is below the writes acknowledged before it was asked for.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if [ "$1" != backup ]; then
	exec "$here/../../../recovery/runbooks/recovery-guide.sh" "$@"
fi
ep=unix://wrong-client.sock:0
"$DRILL_ETCD_BIN" --name wrong --data-dir wrong.etcd \
	--listen-client-urls "$ep" --advertise-client-urls "$ep" \
	--listen-peer-urls unix://wrong-peer.sock:0 --initial-advertise-peer-urls unix://wrong-peer.sock:0 \
	--initial-cluster wrong=unix://wrong-peer.sock:0 >wrong-etcd.log 2>&1 &
pid=$!
trap 'kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null || true' EXIT
for _ in $(seq 1 200); do
	"$DRILL_ETCDCTL_BIN" --endpoints "$ep" --command-timeout 1s endpoint health >/dev/null 2>&1 && break
	sleep 0.05
done
"$DRILL_ETCDCTL_BIN" --endpoints "$ep" snapshot save "$DRILL_SNAPSHOT"
