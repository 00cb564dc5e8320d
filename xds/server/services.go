package server

import (
	clusterservice "github.com/envoyproxy/go-control-plane/envoy/service/cluster/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	endpointservice "github.com/envoyproxy/go-control-plane/envoy/service/endpoint/v3"
	listenerservice "github.com/envoyproxy/go-control-plane/envoy/service/listener/v3"
	routeservice "github.com/envoyproxy/go-control-plane/envoy/service/route/v3"
	"google.golang.org/grpc"
)

// The gRPC services minipilot serves, each a thin shell over Server.serve (State of the World) and
// Server.serveDelta (incremental). Their Unimplemented embeddings answer the unary Fetch calls,
// which no Envoy uses.

type adsService struct {
	discoveryv3.UnimplementedAggregatedDiscoveryServiceServer
	s *Server
}

func (a adsService) StreamAggregatedResources(stream grpc.BidiStreamingServer[discoveryv3.DiscoveryRequest, discoveryv3.DiscoveryResponse]) error {
	return a.s.serveADS(stream)
}

func (a adsService) DeltaAggregatedResources(stream grpc.BidiStreamingServer[discoveryv3.DeltaDiscoveryRequest, discoveryv3.DeltaDiscoveryResponse]) error {
	return a.s.serveDelta(stream, -1)
}

type clusterService struct {
	clusterservice.UnimplementedClusterDiscoveryServiceServer
	s *Server
}

func (c clusterService) StreamClusters(stream grpc.BidiStreamingServer[discoveryv3.DiscoveryRequest, discoveryv3.DiscoveryResponse]) error {
	return c.s.serve(stream, cds)
}

func (c clusterService) DeltaClusters(stream grpc.BidiStreamingServer[discoveryv3.DeltaDiscoveryRequest, discoveryv3.DeltaDiscoveryResponse]) error {
	return c.s.serveDelta(stream, cds)
}

type endpointService struct {
	endpointservice.UnimplementedEndpointDiscoveryServiceServer
	s *Server
}

func (e endpointService) StreamEndpoints(stream grpc.BidiStreamingServer[discoveryv3.DiscoveryRequest, discoveryv3.DiscoveryResponse]) error {
	return e.s.serve(stream, eds)
}

func (e endpointService) DeltaEndpoints(stream grpc.BidiStreamingServer[discoveryv3.DeltaDiscoveryRequest, discoveryv3.DeltaDiscoveryResponse]) error {
	return e.s.serveDelta(stream, eds)
}

type listenerService struct {
	listenerservice.UnimplementedListenerDiscoveryServiceServer
	s *Server
}

func (l listenerService) StreamListeners(stream grpc.BidiStreamingServer[discoveryv3.DiscoveryRequest, discoveryv3.DiscoveryResponse]) error {
	return l.s.serve(stream, lds)
}

func (l listenerService) DeltaListeners(stream grpc.BidiStreamingServer[discoveryv3.DeltaDiscoveryRequest, discoveryv3.DeltaDiscoveryResponse]) error {
	return l.s.serveDelta(stream, lds)
}

type routeService struct {
	routeservice.UnimplementedRouteDiscoveryServiceServer
	s *Server
}

func (r routeService) StreamRoutes(stream grpc.BidiStreamingServer[discoveryv3.DiscoveryRequest, discoveryv3.DiscoveryResponse]) error {
	return r.s.serve(stream, rds)
}

func (r routeService) DeltaRoutes(stream grpc.BidiStreamingServer[discoveryv3.DeltaDiscoveryRequest, discoveryv3.DeltaDiscoveryResponse]) error {
	return r.s.serveDelta(stream, rds)
}
