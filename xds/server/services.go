package server

import (
	clusterservice "github.com/envoyproxy/go-control-plane/envoy/service/cluster/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	endpointservice "github.com/envoyproxy/go-control-plane/envoy/service/endpoint/v3"
	listenerservice "github.com/envoyproxy/go-control-plane/envoy/service/listener/v3"
	routeservice "github.com/envoyproxy/go-control-plane/envoy/service/route/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
)

// The gRPC services minipilot serves, each a thin shell over Server.serve. Their Unimplemented
// embeddings answer the unary Fetch calls, which no Envoy uses.

type adsService struct {
	discoveryv3.UnimplementedAggregatedDiscoveryServiceServer
	s *Server
}

func (a adsService) StreamAggregatedResources(stream grpc.BidiStreamingServer[discoveryv3.DiscoveryRequest, discoveryv3.DiscoveryResponse]) error {
	return a.s.serve(stream, -1)
}

func (a adsService) DeltaAggregatedResources(stream grpc.BidiStreamingServer[discoveryv3.DeltaDiscoveryRequest, discoveryv3.DeltaDiscoveryResponse]) error {
	return a.s.refuseDelta(stream)
}

type clusterService struct {
	clusterservice.UnimplementedClusterDiscoveryServiceServer
	s *Server
}

func (c clusterService) StreamClusters(stream grpc.BidiStreamingServer[discoveryv3.DiscoveryRequest, discoveryv3.DiscoveryResponse]) error {
	return c.s.serve(stream, cds)
}

func (c clusterService) DeltaClusters(stream grpc.BidiStreamingServer[discoveryv3.DeltaDiscoveryRequest, discoveryv3.DeltaDiscoveryResponse]) error {
	return c.s.refuseDelta(stream)
}

type endpointService struct {
	endpointservice.UnimplementedEndpointDiscoveryServiceServer
	s *Server
}

func (e endpointService) StreamEndpoints(stream grpc.BidiStreamingServer[discoveryv3.DiscoveryRequest, discoveryv3.DiscoveryResponse]) error {
	return e.s.serve(stream, eds)
}

func (e endpointService) DeltaEndpoints(stream grpc.BidiStreamingServer[discoveryv3.DeltaDiscoveryRequest, discoveryv3.DeltaDiscoveryResponse]) error {
	return e.s.refuseDelta(stream)
}

type listenerService struct {
	listenerservice.UnimplementedListenerDiscoveryServiceServer
	s *Server
}

func (l listenerService) StreamListeners(stream grpc.BidiStreamingServer[discoveryv3.DiscoveryRequest, discoveryv3.DiscoveryResponse]) error {
	return l.s.serve(stream, lds)
}

func (l listenerService) DeltaListeners(stream grpc.BidiStreamingServer[discoveryv3.DeltaDiscoveryRequest, discoveryv3.DeltaDiscoveryResponse]) error {
	return l.s.refuseDelta(stream)
}

type routeService struct {
	routeservice.UnimplementedRouteDiscoveryServiceServer
	s *Server
}

func (r routeService) StreamRoutes(stream grpc.BidiStreamingServer[discoveryv3.DiscoveryRequest, discoveryv3.DiscoveryResponse]) error {
	return r.s.serve(stream, rds)
}

func (r routeService) DeltaRoutes(stream grpc.BidiStreamingServer[discoveryv3.DeltaDiscoveryRequest, discoveryv3.DeltaDiscoveryResponse]) error {
	return r.s.refuseDelta(stream)
}

// refuseDelta turns away an incremental (Delta) xDS stream, visibly: a warning naming the client,
// a metric, and a status that says what to configure instead.
func (s *Server) refuseDelta(stream grpc.BidiStreamingServer[discoveryv3.DeltaDiscoveryRequest, discoveryv3.DeltaDiscoveryResponse]) error {
	node := ""
	if req, err := stream.Recv(); err == nil {
		node = req.GetNode().GetId()
	}
	addr := ""
	if p, ok := peer.FromContext(stream.Context()); ok {
		addr = p.Addr.String()
	}
	s.opts.Metrics.refused.WithLabelValues("delta").Inc()
	s.log.Warn("refused a Delta xDS stream: minipilot serves State-of-the-World xDS only",
		zap.String("node", node), zap.String("peer", addr))
	return status.Error(codes.Unimplemented, "minipilot serves State-of-the-World xDS only: configure the client with GRPC, not DELTA_GRPC (for Istio's proxies, ISTIO_DELTA_XDS=false)")
}
