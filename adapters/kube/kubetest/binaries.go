package kubetest

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

const (
	envBinDir    = "MINIPILOT_BIN_DIR"
	envAllowSkip = "MINIPILOT_ALLOW_SKIP_KUBE"
)

// binDir is $MINIPILOT_BIN_DIR, else <repo root>/bin, where the repo root is
// the closest ancestor of the working directory holding a go.mod (tests run in
// their package directory).
func binDir() (string, error) {
	if dir := os.Getenv(envBinDir); dir != "" {
		return filepath.Abs(dir)
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "bin"), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod found above the working directory")
		}
		dir = parent
	}
}

// requireBinary returns the path of an executable, looking in the bin dir and
// then, if allowed, on $PATH. When it is not found the test is skipped only if
// MINIPILOT_ALLOW_SKIP_KUBE=1; otherwise it fails, so CI never goes green by
// accident without having run anything.
func requireBinary(t testing.TB, name string, allowPATH bool) string {
	t.Helper()
	dir, err := binDir()
	if err != nil {
		t.Fatalf("kubetest: locating bin dir: %v", err)
	}
	path := filepath.Join(dir, name)
	if isExecutable(path) {
		return path
	}
	if allowPATH {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := "kubetest: " + path + " not found: run `make kube-bins` (or set " +
		envBinDir + "; set " + envAllowSkip + "=1 to skip instead of failing)"
	if os.Getenv(envAllowSkip) == "1" {
		t.Skip(msg)
	}
	t.Fatal(msg)
	return ""
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
}
