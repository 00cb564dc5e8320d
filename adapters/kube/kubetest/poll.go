package kubetest

import (
	"errors"
	"fmt"
	"time"
)

const pollInterval = 100 * time.Millisecond

// permanentError stops poll at once instead of retrying until the timeout.
type permanentError struct{ err error }

func (e permanentError) Error() string { return e.err.Error() }
func (e permanentError) Unwrap() error { return e.err }

func permanent(err error) error { return permanentError{err} }

// poll runs check until it returns nil or a permanent error, or timeout
// passes; on timeout the last transient error explains what was missing.
func poll(timeout time.Duration, what string, check func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := check()
		if err == nil {
			return nil
		}
		var perm permanentError
		if errors.As(err, &perm) {
			return perm.err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out after %s waiting for %s: %w", timeout, what, err)
		}
		time.Sleep(pollInterval)
	}
}
