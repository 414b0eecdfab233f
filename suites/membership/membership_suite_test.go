// Package membership_test is the membership-fault suite: wrong peer URLs
// and the crash loops they cause, on backends whose members can crash.
package membership_test

import (
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

func TestMembership(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Membership faults")
}
