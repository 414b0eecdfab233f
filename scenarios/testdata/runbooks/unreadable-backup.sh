#!/usr/bin/env bash
# A backup job that writes something that is not a snapshot (a truncated
# upload, an HTML error page saved as the file). The drill must fail at its
# snapshot step (exit 1), saying the backup cannot be read.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if [ "$1" != backup ]; then
	exec "$here/../../../recovery/runbooks/recovery-guide.sh" "$@"
fi
echo "<html><body>502 Bad Gateway</body></html>" >"$DRILL_SNAPSHOT"
