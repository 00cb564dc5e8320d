// Package validation checks networking.istio.io objects the way a user needs to hear about mistakes:
// every problem names the field (as a path into the YAML) and the reason. The file adapter, the
// Kubernetes controller and the tests all use it, so a rule is judged the same wherever it comes from.
package validation

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/minipilot/minipilot/crds/networking"
)

// Problem is one thing wrong with an object.
type Problem struct {
	// Field is a path into the object, such as "spec.http[0].route[1].weight".
	Field  string
	Reason string
}

func (p Problem) String() string { return p.Field + ": " + p.Reason }

// Result collects the errors (the object is refused) and warnings (it is used, but probably wrong).
type Result struct {
	Errors   []Problem
	Warnings []Problem
}

// Err returns nil for a valid object, or one error listing every problem.
func (r Result) Err() error {
	if len(r.Errors) == 0 {
		return nil
	}
	msgs := make([]string, len(r.Errors))
	for i, p := range r.Errors {
		msgs[i] = p.String()
	}
	return fmt.Errorf("%s", strings.Join(msgs, "; "))
}

// path builds field paths without string concatenation noise at call sites.
type path string

func (p path) f(name string) path { return path(string(p) + "." + name) }
func (p path) i(index int) path   { return path(fmt.Sprintf("%s[%d]", p, index)) }
func (p path) k(key string) path  { return path(fmt.Sprintf("%s[%s]", p, key)) }
func (r *Result) errorf(p path, format string, args ...any) {
	r.Errors = append(r.Errors, Problem{Field: string(p), Reason: fmt.Sprintf(format, args...)})
}
func (r *Result) warnf(p path, format string, args ...any) {
	r.Warnings = append(r.Warnings, Problem{Field: string(p), Reason: fmt.Sprintf(format, args...)})
}

// duration checks a duration that is set (nil is fine) and says whether it passed.
func (r *Result) duration(p path, d *networking.Duration, min time.Duration) bool {
	if d == nil {
		return true
	}
	if err := d.Err(); err != nil {
		r.errorf(p, "%v", err)
		return false
	}
	if d.Duration < 0 {
		r.errorf(p, "duration %s is negative", d.Duration)
		return false
	}
	if d.Duration < min {
		r.errorf(p, "duration %s is shorter than the minimum %s", d.Duration, min)
		return false
	}
	return true
}

// msDuration checks a duration Istio passes through its ValidateDuration: besides the minimum,
// one of 1ms or more must be a whole number of milliseconds.
func (r *Result) msDuration(p path, d *networking.Duration, min time.Duration) {
	if r.duration(p, d, min) && d != nil && d.Duration >= time.Millisecond && d.Duration%time.Millisecond != 0 {
		r.errorf(p, "duration %s is not a whole number of milliseconds, which Istio requires", d.Duration)
	}
}

func (r *Result) percent(p path, pc *networking.Percent) {
	if pc != nil && (pc.Value < 0 || pc.Value > 100) {
		r.errorf(p.f("value"), "percentage %v is outside 0..100", pc.Value)
	}
}

func (r *Result) regex(p path, expr string) {
	if _, err := regexp.Compile(expr); err != nil {
		r.errorf(p, "%q is not a valid RE2 regular expression: %v", expr, unwrapRegexpError(err))
	}
}

func unwrapRegexpError(err error) string {
	msg := err.Error()
	return strings.TrimPrefix(msg, "error parsing regexp: ")
}

func (r *Result) stringMatch(p path, m *networking.StringMatch) {
	if m == nil {
		return
	}
	set := 0
	if m.Exact != nil {
		set++
	}
	if m.Prefix != nil {
		set++
	}
	if m.Regex != nil {
		set++
		r.regex(p.f("regex"), *m.Regex)
	}
	if set > 1 {
		r.errorf(p, "only one of exact, prefix and regex may be set")
	}
}

// dnsLabel is what Kubernetes accepts as a subset or port name.
var dnsLabel = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

// host checks a host as written in a rule: a DNS name, optionally starting with "*".
func (r *Result) host(p path, h string, allowWildcard bool) {
	if h == "" {
		r.errorf(p, "host must not be empty")
		return
	}
	name := h
	if strings.HasPrefix(h, "*") {
		if !allowWildcard {
			r.errorf(p, "wildcard host %q is not allowed here", h)
			return
		}
		name = strings.TrimPrefix(strings.TrimPrefix(h, "*"), ".")
		if name == "" {
			return
		}
	}
	for _, label := range strings.Split(name, ".") {
		if !dnsLabel.MatchString(strings.ToLower(label)) || len(label) > 63 {
			r.errorf(p, "%q is not a valid host name (label %q)", h, label)
			return
		}
	}
}

func (r *Result) destination(p path, d *networking.Destination) {
	if d == nil {
		r.errorf(p, "destination is required")
		return
	}
	r.host(p.f("host"), d.Host, false)
	if d.Subset != "" && !dnsLabel.MatchString(d.Subset) {
		r.errorf(p.f("subset"), "%q is not a valid subset name (lowercase letters, digits and '-')", d.Subset)
	}
	if d.Port != nil && (d.Port.Number == 0 || d.Port.Number > 65535) {
		r.errorf(p.f("port").f("number"), "port %d is outside 1..65535", d.Port.Number)
	}
}

func (r *Result) port(p path, n uint32) {
	if n > 65535 {
		r.errorf(p, "port %d is outside 1..65535", n)
	}
}

// weights checks the weights of a route's destinations: each 0..100 and, with several destinations,
// a sum of 100, as Istio requires.
func (r *Result) weights(p path, weights []int32) {
	sum := int32(0)
	for i, w := range weights {
		if w < 0 || w > 100 {
			r.errorf(p.i(i).f("weight"), "weight %d is outside 0..100", w)
		}
		sum += w
	}
	if len(weights) > 1 && sum != 100 {
		r.errorf(p, "the weights of the destinations add up to %d, not 100", sum)
	}
}
