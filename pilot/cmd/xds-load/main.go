// Command xds-load measures a running pilot-discovery under many sidecars: it connects N Envoy-like
// ADS clients (ordered subscriptions, ACK/NACK with nonces) and reports how long they took to get a
// complete config. With --write-mesh it instead writes a large mesh of manifests to serve first:
//
//	xds-load --write-mesh /tmp/mesh --services 1000 --endpoints 10
//	pilot-discovery --config-dir /tmp/mesh &
//	xds-load --addr 127.0.0.1:15010 --proxies 200
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/minipilot/minipilot/model/modeltest"
	"github.com/minipilot/minipilot/xds/adsc/load"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:15010", "pilot-discovery's xDS address")
	proxies := flag.Int("proxies", 100, "sidecars to connect")
	namespace := flag.String("namespace", "ns-0", "namespace the sidecars run in")
	deadline := flag.Duration("deadline", 2*time.Minute, "give up after this long")
	writeMesh := flag.String("write-mesh", "", "write a generated mesh of manifests into this directory and exit")
	services := flag.Int("services", 1000, "with --write-mesh: services in the mesh")
	endpoints := flag.Int("endpoints", 10, "with --write-mesh: endpoints per service")
	flag.Parse()

	if *writeMesh != "" {
		if err := os.MkdirAll(*writeMesh, 0o755); err != nil {
			fail(err)
		}
		if err := modeltest.WriteManifests(*writeMesh, *services, *endpoints); err != nil {
			fail(err)
		}
		fmt.Printf("wrote %d services × %d endpoints to %s\n", *services, *endpoints, *writeMesh)
		return
	}
	res, err := load.Run(context.Background(), load.Options{Addr: *addr, Proxies: *proxies, Namespace: *namespace, Deadline: *deadline})
	fmt.Println(res)
	if err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "xds-load:", err)
	os.Exit(1)
}
