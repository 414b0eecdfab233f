#!/usr/bin/env bash
# Sourced by the sabotaging runbooks: start every member of a brand-new
# cluster on its (empty) data dir, in the background.
for i in $(seq 1 "$DRILL_MEMBER_COUNT"); do
	name_var=DRILL_MEMBER_${i}_NAME data_var=DRILL_MEMBER_${i}_DATA_DIR
	client_var=DRILL_MEMBER_${i}_CLIENT_URL peer_var=DRILL_MEMBER_${i}_PEER_URL log_var=DRILL_MEMBER_${i}_LOG
	"$DRILL_ETCD_BIN" --name "${!name_var}" --data-dir "${!data_var}" \
		--listen-client-urls "${!client_var}" --advertise-client-urls "${!client_var}" \
		--listen-peer-urls "${!peer_var}" --initial-advertise-peer-urls "${!peer_var}" \
		--initial-cluster "$DRILL_INITIAL_CLUSTER" --initial-cluster-token "$DRILL_TOKEN" \
		--heartbeat-interval "$DRILL_HEARTBEAT_MS" --election-timeout "$DRILL_ELECTION_MS" \
		>"${!log_var}" 2>&1 &
done
