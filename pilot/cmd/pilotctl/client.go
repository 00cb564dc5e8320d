package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/minipilot/minipilot/pilot"
)

func versionLine() string { return pilot.VersionLine("pilotctl") }

// client talks to a running pilot's debug port.
type client struct {
	base    string
	http    *http.Client
	stderr  io.Writer
	timeout time.Duration
}

// pilotFlags adds --addr and --timeout to a command's flags.
func pilotFlags(fs *flag.FlagSet, e *env) func() *client {
	def := os.Getenv("PILOTCTL_ADDR")
	if def == "" {
		def = "127.0.0.1:15014"
	}
	addr := fs.String("addr", def, "pilot's debug address (host:port or a URL); $PILOTCTL_ADDR sets the default")
	timeout := fs.Duration("timeout", 30*time.Second, "how long to wait for pilot")
	return func() *client {
		base := *addr
		if !strings.Contains(base, "://") {
			if strings.HasPrefix(base, ":") {
				base = "127.0.0.1" + base
			}
			base = "http://" + base
		}
		return &client{base: strings.TrimSuffix(base, "/"), http: &http.Client{Timeout: *timeout}, stderr: e.stderr, timeout: *timeout}
	}
}

// do sends a request and returns the body of a 200 answer; anything else is an error with pilot's
// message.
func (c *client) do(method, path string, body []byte) ([]byte, error) {
	req, err := http.NewRequest(method, c.base+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	// Say so when pilot is slow to answer, rather than hang in silence.
	slow := time.AfterFunc(2*time.Second, func() { fmt.Fprintf(c.stderr, "waiting for pilot at %s...\n", c.base) })
	resp, err := c.http.Do(req)
	slow.Stop()
	if err != nil {
		return nil, fmt.Errorf("cannot reach pilot at %s (is it running? for a pilot in a cluster: kubectl port-forward deploy/minipilot 15014): %w", c.base, err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(out, &e) == nil && e.Error != "" {
			return nil, fmt.Errorf("%s", e.Error)
		}
		return nil, fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, bytes.TrimSpace(out))
	}
	return out, nil
}

func (c *client) getJSON(path string, v any) error {
	body, err := c.do(http.MethodGet, path, nil)
	if err != nil {
		return err
	}
	return json.Unmarshal(body, v)
}

func (c *client) configDump(node string) ([]byte, error) {
	return c.do(http.MethodGet, "/debug/config_dump?node="+url.QueryEscape(node), nil)
}

// previewed is pilot's answer to a preview.
type previewed struct{ pilot.PreviewResponse }

func (c *client) preview(node string, manifests []byte) (*previewed, error) {
	body, err := c.do(http.MethodPost, "/debug/preview?node="+url.QueryEscape(node), manifests)
	if err != nil {
		return nil, err
	}
	var out previewed
	return &out, json.Unmarshal(body, &out.PreviewResponse)
}

// resources splits both config dumps of a preview into resources: what the proxy has, and what it
// would get.
func (p *previewed) resources() (current, preview map[string][]resourceJSON, err error) {
	if current, err = dumpResources(p.Current); err != nil {
		return nil, nil, err
	}
	preview, err = dumpResources(p.Preview)
	return current, preview, err
}
