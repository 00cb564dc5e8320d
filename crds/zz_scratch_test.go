package crds_test

import (
	"testing"

	"github.com/minipilot/minipilot/adapters/kube/kubetest"
)

func testValidManifests(t *testing.T, c *kubetest.Cluster)   {}
func testRefused(t *testing.T, c *kubetest.Cluster)          {}
func testAcceptedBySchema(t *testing.T, c *kubetest.Cluster) {}
func testExamplesDryRun(t *testing.T, c *kubetest.Cluster)   {}
