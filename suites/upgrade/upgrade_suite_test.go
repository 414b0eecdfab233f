// Package upgrade_test is the upgrade-qualification suite: etcd 3.5, 3.6
// and 3.7 side by side (make bins-all), on the process backend.
package upgrade_test

import (
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

func TestUpgrade(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Upgrade qualification")
}
