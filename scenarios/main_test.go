package scenarios

import (
	"os"
	"testing"

	tclog "github.com/testcontainers/testcontainers-go/log"
)

func TestMain(m *testing.M) {
	// testcontainers logs its connection to Docker on stderr, once per process.
	tclog.SetDefault(tclog.NewNoopLogger())
	os.Exit(m.Run())
}
