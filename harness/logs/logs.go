// Package logs opens the log files of members and drill steps, with a cap on
// how much of each it keeps (Capped), and reads them back (Analyze):
// etcd-drill writes no member log to the terminal.
package logs

import (
	"io"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// Sampling of ToFile's logger, as etcd's own logger does it: per message and
// second, the first samplingFirst entries, then every samplingThereafter-th.
const (
	samplingTick       = time.Second
	samplingFirst      = 100
	samplingThereafter = 100
)

// ToFile returns a JSON zap logger that appends to path through a Capped
// writer, sampling repeated messages as etcd's logger does, and a function
// that flushes and closes it (once; again does nothing). maxBytes is a
// budget as configured (see Budget): 0 means DefaultMaxBytes, negative no cap.
func ToFile(path string, maxBytes int64) (*zap.Logger, func(), error) {
	w, err := OpenCapped(path, Budget(maxBytes))
	if err != nil {
		return nil, nil, err
	}
	enc := zap.NewProductionEncoderConfig()
	enc.EncodeTime = zapcore.ISO8601TimeEncoder
	core := zapcore.NewCore(zapcore.NewJSONEncoder(enc), zapcore.AddSync(w), zapcore.InfoLevel)
	core = zapcore.NewSamplerWithOptions(core, samplingTick, samplingFirst, samplingThereafter)
	// A line logged after close (a client's goroutine that outlived its
	// step) is dropped: zap would say so on stderr, which is the drill's
	// terminal.
	lg := zap.New(core, zap.AddCaller(), zap.ErrorOutput(zapcore.AddSync(io.Discard)))
	return lg, func() { _ = lg.Sync(); _ = w.Close() }, nil
}
