// Package dr_test is the disaster-recovery suite: every quorum-loss scenario
// of the catalogue, on every backend it selects by label.
package dr_test

import (
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

func TestDR(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Disaster recovery")
}
