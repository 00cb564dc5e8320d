package e2e

import (
	"os"
	"testing"
)

// TestMain removes the binaries the tests built in /tmp once they are done.
func TestMain(m *testing.M) {
	code := m.Run()
	RemoveBuilt()
	os.Exit(code)
}
