#!/usr/bin/env bash
# A broken procedure: the recovery guide's, then one acknowledged key deleted.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
"$here/../../../recovery/runbooks/recovery-guide.sh" "$@"
[ "$1" = restore ] || exit 0
ep=${DRILL_ENDPOINTS%%,*}
for _ in $(seq 1 200); do
	key=$("$DRILL_ETCDCTL_BIN" --endpoints "$ep" --command-timeout 1s get /drill/ --prefix --keys-only --limit 1 2>/dev/null | head -1) && [ -n "$key" ] && break
	sleep 0.05
done
"$DRILL_ETCDCTL_BIN" --endpoints "$ep" del "$key"
echo "$key" >"$DRILL_WORKDIR/deleted-key"
