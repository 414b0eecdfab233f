//go:build !race

package logs

import "time"

// analyzeSpeedLimit bounds Analyze on 32 MiB: "well under a second" on two
// shared cores.
const analyzeSpeedLimit = time.Second
