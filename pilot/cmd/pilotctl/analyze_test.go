package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden outputs")

// TestAnalyze runs pilotctl analyze on bookinfo with a file of mistakes, and on bookinfo alone: every
// analyzer reports, with its code, object, file and field, and errors make the exit status 3.
func TestAnalyze(t *testing.T) {
	for _, tc := range []struct {
		name   string
		args   []string
		golden string
		code   int
	}{
		{"clean", []string{"analyze", "../../../examples/bookinfo"}, "clean.txt", exitOK},
		{"mistakes", []string{"analyze", "-f", "../../../examples/bookinfo", "-f", "testdata/analyze/mistakes.yaml"}, "mistakes.txt", exitProblems},
		{"json", []string{"analyze", "-o", "json", "-f", "testdata/analyze/mistakes.yaml"}, "mistakes-alone.json", exitProblems},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := run(tc.args, &stdout, &stderr); code != tc.code {
				t.Errorf("exit status %d, want %d; stderr: %s", code, tc.code, stderr.String())
			}
			golden := filepath.Join("testdata", "analyze", tc.golden)
			if *update {
				if err := os.WriteFile(golden, stdout.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if stdout.String() != string(want) {
				t.Errorf("output differs from %s (go test -update rewrites it):\n%s", golden, stdout.String())
			}
		})
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{{"nope"}, {"analyze"}, {"proxy-config", "clusters"}, {"proxy-config", "things", "x"},
		{"preview", "--node", "x"}, {"trace", "--bogus"}} {
		var stdout, stderr bytes.Buffer
		if code := run(args, &stdout, &stderr); code != exitUsage || !bytes.Contains(stderr.Bytes(), []byte("--help")) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and a hint", args, code, stderr.String())
		}
	}
	var stdout bytes.Buffer
	if code := run([]string{"proxy-status", "--help"}, &stdout, &stdout); code != exitOK || !bytes.Contains(stdout.Bytes(), []byte("--addr")) {
		t.Errorf("--help: exit %d, %q", code, stdout.String())
	}
}
