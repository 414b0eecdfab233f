// Package membership_test is the membership-fault suite: wrong peer URLs
// and the crash loops they cause, on backends whose members can crash.
package membership_test

import (
	"testing"

	tclog "github.com/testcontainers/testcontainers-go/log"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

func TestMembership(t *testing.T) {
	RegisterFailHandler(Fail)
	// testcontainers logs its connection to Docker on stderr; specs report
	// what matters.
	tclog.SetDefault(tclog.NewNoopLogger())
	RunSpecs(t, "Membership faults")
}
