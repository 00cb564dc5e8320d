package networking

import (
	"encoding/json"
	"fmt"
	"time"
)

// Duration is a duration written as a string ("1s", "0.5s", "5m", "100ms"), as Istio accepts it.
//
// Decoding never fails on a malformed duration: the text is kept and Err reports it, so that the
// validator can name the field that holds it (encoding/json would report the error without a path).
//
// In the CRD schema it is a string in Go's time.ParseDuration syntax without a minus (negative
// durations are refused by the validator anyway); MaxLength bounds the CEL cost of the rule. Fields
// with a minimum add a rule on duration(self) that repeats the format test first, so that a
// malformed value is reported once, by the rule below, rather than also as a conversion error.
//
// +kubebuilder:validation:Type=string
// +kubebuilder:validation:MaxLength=64
// +kubebuilder:validation:XValidation:rule=`self.matches('^[+]?(0|(([0-9]+([.][0-9]*)?|[.][0-9]+)(ns|us|µs|μs|ms|s|m|h))+)$')`,message="must be a duration such as 1s, 250ms or 5m"
type Duration struct {
	time.Duration
	raw string
	err error
}

// NewDuration returns a valid Duration of d.
func NewDuration(d time.Duration) *Duration { return &Duration{Duration: d} }

// Err says why the text did not parse as a duration; nil when it did.
func (d *Duration) Err() error { return d.err }

// UnmarshalJSON accepts a duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		d.raw, d.err = string(b), fmt.Errorf("a duration must be a string such as \"1s\" or \"250ms\", got %s", b)
		return nil
	}
	parsed, err := time.ParseDuration(s)
	if err != nil {
		d.raw, d.err = s, fmt.Errorf("%q is not a duration (examples: \"1s\", \"250ms\", \"5m\")", s)
		return nil
	}
	d.Duration, d.raw, d.err = parsed, s, nil
	return nil
}

// MarshalJSON writes the duration as it was written, or in Go's notation.
func (d Duration) MarshalJSON() ([]byte, error) {
	if d.raw != "" {
		return json.Marshal(d.raw)
	}
	return json.Marshal(d.Duration.String())
}
