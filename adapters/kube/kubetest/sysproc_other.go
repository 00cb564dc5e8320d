//go:build unix && !linux

package kubetest

import "syscall"

// sysProcAttr puts each child in its own process group so a stop signal
// reaches anything it spawned. Without Pdeathsig (Linux only) children can
// outlive a test binary that is killed before its cleanups run.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
