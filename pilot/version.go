package pilot

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// version is stamped by `-ldflags -X github.com/minipilot/minipilot/pilot.version=...` (make build
// does); without it, the module version and VCS revision Go records in the binary are used.
var version = ""

// Version says which minipilot this is: "v1.2.3", or the VCS revision it was built from.
func Version() string {
	if version != "" {
		return version
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	v, rev, dirty := info.Main.Version, "", false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if (v == "" || v == "(devel)") && rev != "" {
		v = rev[:min(12, len(rev))]
		if dirty {
			v += "-dirty"
		}
	}
	if v == "" {
		v = "(devel)"
	}
	return v
}

// VersionLine is what --version prints.
func VersionLine(binary string) string {
	return fmt.Sprintf("%s %s (%s, %s/%s)", binary, Version(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
}
