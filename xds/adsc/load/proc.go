package load

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Proc reads a process's CPU time and memory from /proc (Linux).
type Proc struct {
	Root string // "/proc"; tests give a directory of their own
	PID  int
}

// ProcSample is one reading.
type ProcSample struct {
	CPU time.Duration // user and system time since the process started
	RSS int64         // resident set, bytes
	HWM int64         // peak resident set since the process started, bytes
}

// userHZ is the unit of /proc/<pid>/stat times, fixed at 100 for user space on Linux.
const userHZ = 100

// Sample reads the process's CPU time and memory now.
func (p Proc) Sample() (ProcSample, error) {
	stat, err := os.ReadFile(filepath.Join(p.Root, strconv.Itoa(p.PID), "stat"))
	if err != nil {
		return ProcSample{}, err
	}
	// The command (field 2) is in parentheses and may hold spaces: count fields after its end.
	end := bytes.LastIndexByte(stat, ')')
	if end < 0 {
		return ProcSample{}, fmt.Errorf("unreadable %s/%d/stat", p.Root, p.PID)
	}
	f := strings.Fields(string(stat[end+1:]))
	if len(f) < 13 {
		return ProcSample{}, fmt.Errorf("short %s/%d/stat", p.Root, p.PID)
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64) // field 14
	stime, err2 := strconv.ParseInt(f[12], 10, 64) // field 15
	if err1 != nil || err2 != nil {
		return ProcSample{}, fmt.Errorf("unreadable CPU times in %s/%d/stat", p.Root, p.PID)
	}
	s := ProcSample{CPU: time.Duration(utime+stime) * time.Second / userHZ}
	status, err := os.ReadFile(filepath.Join(p.Root, strconv.Itoa(p.PID), "status"))
	if err != nil {
		return ProcSample{}, err
	}
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		key, value, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		switch key {
		case "VmRSS":
			s.RSS = kibibytes(value)
		case "VmHWM":
			s.HWM = kibibytes(value)
		}
	}
	return s, nil
}

func kibibytes(v string) int64 {
	n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
	return n * 1024
}

// FindListener finds the process listening on a TCP address's port: the socket's inode from
// /proc/net/tcp (or tcp6), then the process holding it. Only processes the caller may inspect (its
// own, or any as root) are found.
func FindListener(root, addr string) (int, error) {
	_, portText, err := net.SplitHostPort(addr)
	if err != nil {
		return 0, err
	}
	port, err := strconv.ParseUint(portText, 10, 16)
	if err != nil {
		return 0, fmt.Errorf("port of %s: %w", addr, err)
	}
	inodes := map[string]bool{}
	for _, table := range []string{"tcp", "tcp6"} {
		body, err := os.ReadFile(filepath.Join(root, "net", table))
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(body), "\n")[1:] {
			f := strings.Fields(line)
			// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
			if len(f) < 10 || f[3] != "0A" { // 0A: LISTEN
				continue
			}
			_, hexPort, _ := strings.Cut(f[1], ":")
			if p, err := strconv.ParseUint(hexPort, 16, 16); err == nil && p == port {
				inodes["socket:["+f[9]+"]"] = true
			}
		}
	}
	if len(inodes) == 0 {
		return 0, fmt.Errorf("nothing listens on port %d", port)
	}
	procs, err := os.ReadDir(root)
	if err != nil {
		return 0, err
	}
	for _, e := range procs {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		fds, err := os.ReadDir(filepath.Join(root, e.Name(), "fd"))
		if err != nil {
			continue
		}
		for _, fd := range fds {
			if target, err := os.Readlink(filepath.Join(root, e.Name(), "fd", fd.Name())); err == nil && inodes[target] {
				return pid, nil
			}
		}
	}
	return 0, fmt.Errorf("the process listening on port %d is not one this user may inspect (give --server-pid)", port)
}
