#!/usr/bin/env bash
# The etcd recovery guide's own procedure, as an etcd-drill runbook:
#   backup:  etcdctl snapshot save from a live member
#   restore: etcdutl snapshot restore for every member of a NEW cluster
#            (new data dirs, the fresh --initial-cluster-token), then etcd
#            started for every member.
#
#   etcd-drill run quorum-loss/snapshot-restore --recovery runbook \
#       --runbook recovery/runbooks/recovery-guide.sh
#
# etcd-drill calls it as `recovery-guide.sh backup` before the fault and
# `recovery-guide.sh restore` after it; the environment is listed in README.
set -euo pipefail

phase=${1:?usage: $0 backup|restore}

case "$phase" in
backup)
	"$DRILL_ETCDCTL_BIN" --endpoints "$DRILL_SNAPSHOT_ENDPOINT" snapshot save "$DRILL_SNAPSHOT"
	;;
restore)
	for i in $(seq 1 "$DRILL_MEMBER_COUNT"); do
		name_var=DRILL_MEMBER_${i}_NAME data_var=DRILL_MEMBER_${i}_DATA_DIR peer_var=DRILL_MEMBER_${i}_PEER_URL
		"$DRILL_ETCDUTL_BIN" snapshot restore "$DRILL_SNAPSHOT" \
			--name "${!name_var}" \
			--data-dir "${!data_var}" \
			--initial-cluster "$DRILL_INITIAL_CLUSTER" \
			--initial-cluster-token "$DRILL_TOKEN" \
			--initial-advertise-peer-urls "${!peer_var}"
	done
	for i in $(seq 1 "$DRILL_MEMBER_COUNT"); do
		name_var=DRILL_MEMBER_${i}_NAME data_var=DRILL_MEMBER_${i}_DATA_DIR
		client_var=DRILL_MEMBER_${i}_CLIENT_URL peer_var=DRILL_MEMBER_${i}_PEER_URL log_var=DRILL_MEMBER_${i}_LOG
		"$DRILL_ETCD_BIN" \
			--name "${!name_var}" \
			--data-dir "${!data_var}" \
			--listen-client-urls "${!client_var}" \
			--advertise-client-urls "${!client_var}" \
			--listen-peer-urls "${!peer_var}" \
			--heartbeat-interval "$DRILL_HEARTBEAT_MS" \
			--election-timeout "$DRILL_ELECTION_MS" \
			>"${!log_var}" 2>&1 &
	done
	;;
*)
	echo "unknown phase $phase" >&2
	exit 2
	;;
esac
