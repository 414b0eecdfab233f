#!/usr/bin/env bash
# A restore into the wrong directory: the backup is right, and the restore
# phase restores it, but into a directory of its own; the members then start
# on their empty data dirs and form a brand-new, empty cluster.
# The drill must fail at verify with empty-backup: the recovered cluster
# holds none of the workload's keys.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if [ "$1" != restore ]; then
	exec "$here/../../../recovery/runbooks/recovery-guide.sh" "$@"
fi
for i in $(seq 1 "$DRILL_MEMBER_COUNT"); do
	name_var=DRILL_MEMBER_${i}_NAME peer_var=DRILL_MEMBER_${i}_PEER_URL
	# The mistake: --data-dir names a directory the member will not use.
	"$DRILL_ETCDUTL_BIN" snapshot restore "$DRILL_SNAPSHOT" \
		--name "${!name_var}" --data-dir "restored-${!name_var}.etcd" \
		--initial-cluster "$DRILL_INITIAL_CLUSTER" --initial-cluster-token "$DRILL_TOKEN" \
		--initial-advertise-peer-urls "${!peer_var}"
done
# shellcheck source=start-empty-members.sh
. "$here/start-empty-members.sh"
