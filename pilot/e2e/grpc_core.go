package e2e

import (
	"fmt"
	"os/exec"
	"strings"
	"testing"
)

// The C core client is Debian's python3-grpcio run by the system's Python (not a pyenv or virtualenv
// one, which would not see Debian's package); `make grpc-core` installs it.
const (
	corePython           = "/usr/bin/python3"
	envAllowSkipGRPCCore = "MINIPILOT_ALLOW_SKIP_GRPC_CORE"
)

// StartCoreClient runs a proxyless xDS client on gRPC's C core (the core of C++, Python, Ruby and
// PHP): a Python process running testdata/grpc_core_client.py, bootstrapped to xdsAddr as a
// proxyless node in namespace default. The core logs its xDS client at debug level
// (GRPC_TRACE=xds_client), so that its log says what it accepted and refused. Without
// python3-grpcio the test fails, or is skipped with MINIPILOT_ALLOW_SKIP_GRPC_CORE=1.
func StartCoreClient(t testing.TB, xdsAddr, nodeName string) *ScriptClient {
	t.Helper()
	if err := exec.Command(corePython, "-c", "import grpc").Run(); err != nil {
		needTool(t, envAllowSkipGRPCCore, fmt.Sprintf("%s cannot import grpc (%v)", corePython, err), "`make grpc-core` (apt-get install python3-grpcio)")
	}
	return startScriptClient(t, scriptSpec{
		impl:  "gRPC C core",
		argv:  []string{corePython, testdataScript("grpc_core_client.py")},
		env:   []string{"GRPC_TRACE=xds_client", "GRPC_VERBOSITY=debug"},
		nacks: coreNACKs,
	}, xdsAddr, nodeName)
}

// coreNACKs: a C core that refuses a response logs "... will NACK"; then the lines that say so, and
// those that say why ("invalid ..."), are its NACKs.
func coreNACKs(log string) []string {
	if !strings.Contains(log, "will NACK") {
		return nil
	}
	var out []string
	for _, line := range strings.Split(log, "\n") {
		if strings.Contains(line, "NACK") || strings.Contains(line, "invalid") {
			out = append(out, line)
		}
	}
	return out
}
