// Package dr_test is the disaster-recovery suite: every quorum-loss scenario
// of the catalogue, on every backend it selects by label.
package dr_test

import (
	"testing"

	tclog "github.com/testcontainers/testcontainers-go/log"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

func TestDR(t *testing.T) {
	RegisterFailHandler(Fail)
	// testcontainers logs its connection to Docker on stderr; specs report
	// what matters.
	tclog.SetDefault(tclog.NewNoopLogger())
	RunSpecs(t, "Disaster recovery")
}
