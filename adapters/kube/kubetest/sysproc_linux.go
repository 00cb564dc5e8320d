package kubetest

import "syscall"

// sysProcAttr puts each child in its own process group, so a stop signal
// reaches anything it spawned, and asks the kernel to SIGKILL it if the test
// binary dies without running cleanups (go test -timeout panic, SIGKILL).
// Pdeathsig fires when the forking OS thread exits; Go only retires threads
// of goroutines that exit while locked to them, which test code does not do.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
