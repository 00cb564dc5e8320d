package e2e

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/minipilot/minipilot/adapters/kube/kubefixture"
)

// versionWatch polls /debug/syncz in the background and records every set of versions the proxy was
// on, so that a push in between two looks (an empty one, say) cannot go unseen for long.
type versionWatch struct {
	stopCh chan struct{}
	done   chan struct{}
	mu     sync.Mutex
	seen   map[string]int // "cds=..,eds=..,lds=..,rds=.." → samples
	errs   int
}

func watchVersions(p *Pilot) *versionWatch {
	w := &versionWatch{stopCh: make(chan struct{}), done: make(chan struct{}), seen: map[string]int{}}
	go func() {
		defer close(w.done)
		for {
			v, err := proxyVersions(p)
			w.mu.Lock()
			if err != nil {
				w.errs++
			} else {
				w.seen[fmt.Sprintf("cds=%s,eds=%s,lds=%s,rds=%s", v["cds"], v["eds"], v["lds"], v["rds"])]++
			}
			w.mu.Unlock()
			select {
			case <-w.stopCh:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	return w
}

func (w *versionWatch) stop() map[string]int {
	close(w.stopCh)
	<-w.done
	return w.seen
}

// TestKubeSurvivesRestarts: proxies keep their config and their traffic while the API server is down
// and restarted, nothing at all is pushed meanwhile (so never an empty config), and changes made after
// the restart arrive; pilot-discovery restarted, clients reconnect to the same versions.
func TestKubeSurvivesRestarts(t *testing.T) {
	b := startKubeBookinfo(t)
	pilot := b.startPilot(t, "--log-level", "debug")
	client := XDSClient(t, pilot.GRPCAddr, "productpage-v1", reviewsTarget)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if got := Count(ctx, client, 100); got.Failed > 0 {
		t.Fatalf("traffic before the faults: %s", got)
	}
	var before map[string]string
	Eventually(t, 10*time.Second, "the proxy to ack its config", func() (err error) {
		before, err = proxyVersions(pilot)
		return err
	})

	t.Run("API server stopped and restarted", func(t *testing.T) {
		logOffset := len(pilot.Logs())
		watch := watchVersions(pilot)
		tr := startTraffic(ctx, client)
		b.cluster.Stop()
		time.Sleep(time.Second) // the informers' watches break and they retry against nothing
		b.cluster.Restart()

		// Probes, one per informer kind that matters, prove the informers are back (they re-list or
		// resume their watches first) without touching what the proxy uses.
		kubefixture.Service(t, b.client, "default", "probe", map[string]string{"app": "probe"},
			corev1.ServicePort{Name: "http", Port: 80})
		kubefixture.Apply(t, b.cluster, "apiVersion: networking.istio.io/v1\nkind: DestinationRule\n"+
			"metadata: {name: probe, namespace: default}\nspec: {host: probe}\n")
		Eventually(t, 60*time.Second, "the probes to reach pilot", func() error {
			for _, path := range []string{"/debug/registryz", "/debug/configz"} {
				body, err := pilot.Get(path)
				if err != nil {
					return err
				}
				if !strings.Contains(string(body), "probe") {
					return fmt.Errorf("%s does not show the probe yet", path)
				}
			}
			return nil
		})
		tr.stop(t, "while the API server was down and restarted")
		if seen := watch.stop(); len(seen) != 1 {
			t.Fatalf("the proxy's config changed while nothing it uses changed in the cluster: %v", seen)
		}
		if got, err := proxyVersions(pilot); err != nil || !sameVersions(got, before) {
			t.Fatalf("versions went from %v to %v (%v)", before, got, err)
		}
		// Pilot runs at debug level here: every object its handlers saw change is logged. Re-listing
		// an unchanged cluster must find nothing new but the probes.
		for _, line := range strings.Split(pilot.Logs()[logOffset:], "\n") {
			if (strings.Contains(line, `"object changed"`) || strings.Contains(line, `"rule accepted"`) ||
				strings.Contains(line, `"rule deleted"`)) && !strings.Contains(line, "/probe") {
				t.Errorf("pilot saw a change the cluster did not have: %s", line)
			}
		}

		// Changes after the restart arrive, both to the rules and to the endpoints.
		kubefixture.Apply(t, b.cluster, routing(weights("v1", 100)))
		b.writeSlice(t, nil, "reviews-v2")
		Eventually(t, 30*time.Second, "the new rule and endpoints", func() error {
			if got := Count(ctx, client, 20); got.ByBackend["reviews-v1"] != 20 {
				return fmt.Errorf("got %s", got)
			}
			body, err := pilot.Get("/debug/registryz")
			if err != nil {
				return err
			}
			if strings.Contains(string(body), b.netns.Addr(22)) {
				return fmt.Errorf("registryz still lists reviews-v2 at %s", b.netns.Addr(22))
			}
			return nil
		})
	})

	t.Run("pilot-discovery restarted", func(t *testing.T) {
		var want map[string]string
		Eventually(t, 10*time.Second, "the proxy to ack its config", func() (err error) {
			want, err = proxyVersions(pilot)
			return err
		})
		tr := startTraffic(ctx, client)
		pilot.Restart()
		Eventually(t, 60*time.Second, "the client to reconnect and ack the same versions", func() error {
			got, err := proxyVersions(pilot)
			if err != nil {
				return err
			}
			if !sameVersions(got, want) {
				return fmt.Errorf("versions %v, want %v", got, want)
			}
			return nil
		})
		tr.stop(t, "while pilot-discovery restarted")
	})
}
