//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package main

import "syscall"

// reusePort does nothing where SO_REUSEPORT is unknown: start the backends before Envoy there.
func reusePort(_, _ string, _ syscall.RawConn) error { return nil }
