// Package logs opens the log files of members and drill steps: etcd-drill
// writes no member log to the terminal.
package logs

import (
	"fmt"
	"os"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// ToFile returns a JSON zap logger that appends to path, and a function that
// flushes and closes it.
func ToFile(path string) (*zap.Logger, func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, nil, fmt.Errorf("open log %s: %w", path, err)
	}
	enc := zap.NewProductionEncoderConfig()
	enc.EncodeTime = zapcore.ISO8601TimeEncoder
	core := zapcore.NewCore(zapcore.NewJSONEncoder(enc), zapcore.AddSync(f), zapcore.InfoLevel)
	lg := zap.New(core, zap.AddCaller())
	return lg, func() { _ = lg.Sync(); f.Close() }, nil
}
