// The file is grpcjs.go, not grpc_js.go: a name ending in _js.go builds only for GOOS=js.

package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// The grpc-js client runs on the system's Node.js with @grpc/grpc-js and @grpc/grpc-js-xds as
// tools/grpcjs/package-lock.json pins them; `make grpc-js` installs them into bin/grpcjs.
const (
	jsNode             = "node"
	envAllowSkipGRPCJS = "MINIPILOT_ALLOW_SKIP_GRPC_JS"
)

// StartJSClient runs a proxyless xDS client on gRPC's Node.js implementation (grpc-js with its xDS
// plugin): a Node process running testdata/grpc_js_client.js, bootstrapped to xdsAddr as a
// proxyless node in namespace default. grpc-js traces its xDS client at debug level
// (GRPC_TRACE=xds_client), so that its log holds every request it sends, NACKs included. Without
// the installed modules the test fails, or is skipped with MINIPILOT_ALLOW_SKIP_GRPC_JS=1.
func StartJSClient(t testing.TB, xdsAddr, nodeName string) *ScriptClient {
	t.Helper()
	modules := grpcJSModules()
	if _, err := os.Stat(filepath.Join(modules, "@grpc", "grpc-js-xds", "package.json")); err != nil {
		needTool(t, envAllowSkipGRPCJS, "@grpc/grpc-js-xds is not installed: "+err.Error(), "`make grpc-js` (npm ci)")
	}
	if _, err := exec.LookPath(jsNode); err != nil {
		needTool(t, envAllowSkipGRPCJS, err.Error(), "`make grpc-js` after installing Node.js 20+ and npm")
	}
	return startScriptClient(t, scriptSpec{
		impl:  "grpc-js",
		argv:  []string{jsNode, testdataScript("grpc_js_client.js")},
		env:   []string{"NODE_PATH=" + modules, "GRPC_TRACE=xds_client", "GRPC_VERBOSITY=DEBUG"},
		nacks: jsNACKs,
	}, xdsAddr, nodeName)
}

// grpcJSModules is where `make grpc-js` installs the modules: bin/grpcjs at the repository's root.
func grpcJSModules() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "bin", "grpcjs", "node_modules")
}

// jsNACKs: grpc-js traces each discovery request it sends as indented JSON; one that refuses a
// response carries an error_detail object (an ACK says "error_detail": null), whose message, a line
// or two on, says why.
func jsNACKs(log string) []string {
	var out []string
	lines := strings.Split(log, "\n")
	for i, line := range lines {
		if strings.Contains(line, `"error_detail": {`) {
			out = append(out, lines[i:min(i+4, len(lines))]...)
		}
	}
	return out
}
