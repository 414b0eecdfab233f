//go:build race

package logs

import "time"

// analyzeSpeedLimit is looser under the race detector, which slows
// everything down.
const analyzeSpeedLimit = 20 * time.Second
