package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestUsageErrorsArePlain: every mistake on the command line is a plain line naming it, then the
// hint, with exit status 2: no JSON, no stack trace.
func TestUsageErrorsArePlain(t *testing.T) {
	file := filepath.Join(t.TempDir(), "routing.yaml")
	if err := os.WriteFile(file, []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "no config source"},
		{[]string{"--confg-dir", "x"}, "unknown flag --confg-dir"},
		{[]string{"--config-dir", "/no/such/dir"}, "--config-dir /no/such/dir: no such directory"},
		{[]string{"--config-dir", file}, "is a file, not a directory"},
		{[]string{"--config-dir", t.TempDir(), "--log-format", "xml"}, `--log-format "xml"`},
		{[]string{"--config-dir", t.TempDir(), "extra"}, `unexpected argument "extra"`},
	} {
		var stdout, stderr bytes.Buffer
		code := run(tc.args, &stdout, &stderr)
		lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
		if code != 2 || len(lines) != 2 || !strings.Contains(lines[0], tc.want) || !strings.Contains(lines[1], "--help") || strings.Contains(stderr.String(), "{") {
			t.Errorf("%v: exit %d, stderr:\n%s\nwant 2, a line with %q and the hint", tc.args, code, stderr.String(), tc.want)
		}
	}
}

func TestVersionAndHelp(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run([]string{"--version"}, &stdout, &stderr); code != 0 || !strings.HasPrefix(stdout.String(), "pilot-discovery ") {
		t.Errorf("--version: exit %d, %q", code, stdout.String())
	}
	stdout.Reset()
	if code := run([]string{"--help"}, &stdout, &stderr); code != 0 {
		t.Fatalf("--help: exit %d", code)
	}
	help := stdout.String()
	for _, group := range []string{"Config sources (at least one):", "Kubernetes:", "Serving:", "Pushing:", "Logging:"} {
		if !strings.Contains(help, group) {
			t.Errorf("--help lacks the group %q:\n%s", group, help)
		}
	}
	if strings.Contains(help, "\nOther:") {
		t.Errorf("a flag is in no group:\n%s", help)
	}
}
