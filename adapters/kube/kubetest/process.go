package kubetest

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// process is one child (etcd or kube-apiserver) whose stdout and stderr are
// appended to a log file that survives restarts.
type process struct {
	name    string
	logPath string
	cmd     *exec.Cmd
	done    chan struct{} // closed once the child has been reaped
	err     error         // exit status; read only after done is closed
}

func startProcess(name, logPath, bin string, args ...string) (*process, error) {
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(logFile, "=== %s starting: %s %s\n",
		time.Now().Format(time.RFC3339Nano), bin, strings.Join(args, " "))

	cmd := exec.Command(bin, args...)
	// An *os.File is handed to the child as-is: no copy goroutines that could
	// block Wait, and output is on disk even if the test binary dies.
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}

	p := &process{name: name, logPath: logPath, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		fmt.Fprintf(logFile, "=== %s exited: %v\n", time.Now().Format(time.RFC3339Nano), p.err)
		logFile.Close()
		close(p.done)
	}()
	return p, nil
}

// errExited marks a child that died on its own before it was ready, most
// likely because another process took its port; such starts are retried.
var errExited = errors.New("exited before becoming ready")

// exited returns nil while the process runs, else an error wrapping
// errExited with the exit status and the log tail.
func (p *process) exited() error {
	select {
	case <-p.done:
		return fmt.Errorf("%s %w (%v); log tail:\n%s", p.name, errExited, p.err, tailFile(p.logPath))
	default:
		return nil
	}
}

// stop sends SIGTERM to the whole process group, escalates to SIGKILL after
// grace, and returns once the child is reaped. Safe to call repeatedly.
func (p *process) stop(grace time.Duration) {
	pgid := p.cmd.Process.Pid // Setpgid makes the child its group's leader.
	select {
	case <-p.done:
	default:
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(grace):
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			<-p.done
		}
	}
	// Reap anything the leader left behind in its group (ESRCH if none).
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
}

// tailFile returns roughly the last 8 KiB of a log, starting at a line.
func tailFile(path string) string {
	const max = 8 << 10
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(reading %s: %v)", path, err)
	}
	if len(b) > max {
		b = b[len(b)-max:]
		if i := strings.IndexByte(string(b), '\n'); i >= 0 {
			b = b[i+1:]
		}
	}
	return string(b)
}

// freePort asks the kernel for an unused loopback port. Another process could
// grab it before the child binds it; callers retry a start that fails early.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
