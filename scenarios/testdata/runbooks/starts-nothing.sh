#!/usr/bin/env bash
# A procedure that restores the data dirs but never starts etcd.
set -euo pipefail
[ "$1" = backup ] && exit 0
for i in $(seq 1 "$DRILL_MEMBER_COUNT"); do
	name_var=DRILL_MEMBER_${i}_NAME data_var=DRILL_MEMBER_${i}_DATA_DIR peer_var=DRILL_MEMBER_${i}_PEER_URL
	"$DRILL_ETCDUTL_BIN" snapshot restore "$DRILL_SNAPSHOT" --name "${!name_var}" --data-dir "${!data_var}" \
		--initial-cluster "$DRILL_INITIAL_CLUSTER" --initial-cluster-token "$DRILL_TOKEN" \
		--initial-advertise-peer-urls "${!peer_var}"
done
