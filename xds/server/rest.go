package server

import (
	"context"
	"errors"

	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	cachev3 "github.com/envoyproxy/go-control-plane/pkg/cache/v3"
	"google.golang.org/protobuf/types/known/anypb"
)

// fetch answers one REST poll (POST /v3/discovery:clusters and the like).
func (s *Server) fetch(ctx context.Context, req *cachev3.Request) (cachev3.Response, error) {
	t, ok := typeIndex(req.GetTypeUrl())
	if !ok {
		return nil, errors.New("minipilot serves clusters, endpoints, listeners and routes only")
	}
	proxy, err := proxyFromNode(req.GetNode())
	if err != nil {
		return nil, err
	}
	snap := s.snapshot.Load()
	if snap == nil {
		return nil, errors.New("not ready: the model has not synced yet")
	}
	var listeners []string
	if proxy.Proxyless {
		listeners = req.GetResourceNames()
	}
	set := s.translationsOf(snap).get(snap, proxy, listeners).sets[t].filter(newSubscription(req.GetResourceNames()))
	if set.version == req.GetVersionInfo() {
		return nil, &types.SkipFetchError{}
	}
	resp := &discoveryv3.DiscoveryResponse{VersionInfo: set.version, TypeUrl: req.GetTypeUrl()}
	for _, item := range set.items {
		a, err := anypb.New(item)
		if err != nil {
			return nil, err
		}
		resp.Resources = append(resp.Resources, a)
	}
	return &cachev3.PassthroughResponse{Request: req, DiscoveryResponse: resp}, ctx.Err()
}
