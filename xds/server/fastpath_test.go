package server_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"

	"github.com/minipilot/minipilot/model"
	"github.com/minipilot/minipilot/model/modeltest"
	"github.com/minipilot/minipilot/xds/adsc"
	"github.com/minipilot/minipilot/xds/server"
)

// An endpoint change to one service of a large mesh reaches every Envoy as one EDS response carrying
// that service's assignment alone, after the short endpoint debounce; no CDS, LDS or RDS response.
func TestEndpointChangeSendsOnlyItsEndpoints(t *testing.T) {
	forBoth(t, func(t *testing.T, delta bool) {
		f := startWith(t, modeltest.Mesh(50, 3), server.Options{Debounce: time.Hour, MaxDelay: time.Hour, StageTimeout: time.Minute})
		f.delta = delta
		var clients []*adsc.Client
		for i := range 3 {
			c := f.dial(adsc.Options{NodeID: fmt.Sprintf("sidecar~10.200.0.%d~p%d.ns-0~ns-0.svc.cluster.local", i, i)})
			clients = append(clients, c)
		}
		// The config debounce is an hour: only the startup push (which waits for sync, not debounce)
		// and the endpoint fast path can send anything in this test.
		for _, c := range clients {
			settle(t, c, allTypes...)
		}
		f.source.Update(func(p *model.Part) {
			e := *p.Endpoints[0]
			e.Address = "10.250.0.1"
			p.Endpoints = append(p.Endpoints, &e)
		})
		for _, c := range clients {
			got := collect(t, c, resourcev3.EndpointType)
			// The new endpoint is a v1 pod: the service's assignment and its v1 subset's change.
			want := []string{"outbound|8080|v1|svc-0.ns-0.svc.cluster.local", "outbound|8080||svc-0.ns-0.svc.cluster.local"}
			if len(got) != 1 || !slices.Equal(got[0].Names, want) {
				t.Fatalf("an endpoint change of svc-0 sent %v, want EDS%v", describeNames(got), want)
			}
			quiet(t, c, "after the endpoint push")
			if n := len(c.Resources(resourcev3.EndpointType)); n < 150 {
				t.Fatalf("the client holds %d assignments after a partial response; it must keep the others", n)
			}
		}
	})
}

func describeNames(rs []adsc.Response) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = fmt.Sprintf("%s%v", short(r.TypeURL), r.Names)
	}
	return out
}
