package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/minipilot/minipilot/adapters/kube/kubefixture"
)

// TestABrokenPilotFailsTheE2ETests builds pilot-discovery with a main that exits at once (through a
// build overlay, the tree untouched) and runs an e2e test against it in a child `go test`: it must
// fail, never pass as cached or unseen.
func TestABrokenPilotFailsTheE2ETests(t *testing.T) {
	if os.Getenv(EnvBuildOverlay) != "" {
		t.Skip("already the child run")
	}
	t.Parallel()
	root, err := kubefixture.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	broken := filepath.Join(dir, "main.go")
	if err := os.WriteFile(broken, []byte("package main\n\nimport \"os\"\n\nfunc main() { os.Exit(3) }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// Every other file of the command is hidden, so that only the broken main is built.
	replace := map[string]string{filepath.Join(root, "pilot", "cmd", "pilot-discovery", "main.go"): broken}
	others, _ := filepath.Glob(filepath.Join(root, "pilot", "cmd", "pilot-discovery", "*.go"))
	for _, f := range others {
		if filepath.Base(f) != "main.go" {
			replace[f] = ""
		}
	}
	overlay, _ := json.Marshal(map[string]any{"Replace": replace})
	overlayFile := filepath.Join(dir, "overlay.json")
	if err := os.WriteFile(overlayFile, overlay, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "test", "-race", "-run", "^TestPilotctlAgainstTheFileAdapter$", "./pilot/e2e/")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), EnvBuildOverlay+"="+overlayFile)
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "pilot-discovery exited") {
		t.Fatalf("an e2e test against a pilot-discovery that exits at once: %v, want a failure saying it exited:\n%s", err, out)
	}
}
