package server

import (
	"encoding/json"
	"strconv"
	"strings"

	adminv3 "github.com/envoyproxy/go-control-plane/envoy/admin/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	statusv3 "github.com/envoyproxy/go-control-plane/envoy/service/status/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// istiod's debug types, which istioctl asks for over ADS (istio.io/istio pilot/pkg/xds/statusgen.go):
// the sync status of every proxy (as Envoy's CSDS ClientConfig, one per proxy), and one proxy's
// config dump.
const (
	debugTypePrefix     = "istio.io/debug"
	debugTypeSyncz      = debugTypePrefix + "/syncz"
	debugTypeConfigDump = debugTypePrefix + "/config_dump"
)

type adsStream = grpc.BidiStreamingServer[discoveryv3.DiscoveryRequest, discoveryv3.DiscoveryResponse]

// serveADS serves an ADS stream: a debug stream (istioctl, or a node of type "debug") when its first
// request asks for one of istiod's debug types, a proxy's otherwise. A debug stream is never a proxy:
// it is not counted, listed or pushed to.
func (s *Server) serveADS(stream adsStream) error {
	first, err := recvRequest(stream)
	if err != nil {
		return err
	}
	if isDebugRequest(first.msg) {
		req, err := first.decoded()
		first.free()
		if err != nil {
			return err
		}
		return s.serveDebug(stream, req)
	}
	return s.serve(&replayStream{adsStream: stream, first: first}, -1)
}

func isDebugRequest(req *discoveryv3.DiscoveryRequest) bool {
	return strings.HasPrefix(req.GetTypeUrl(), debugTypePrefix) || strings.HasPrefix(req.GetNode().GetId(), "debug~")
}

// replayStream hands out a request already read before the stream's own.
type replayStream struct {
	adsStream
	first *request
}

func (r *replayStream) RecvMsg(m any) error {
	if req, ok := m.(*request); ok && r.first != nil {
		*req, r.first = *r.first, nil
		return nil
	}
	return r.adsStream.RecvMsg(m)
}

// serveDebug answers each debug request with the state at that moment, whatever nonce it carries
// (istioctl sends a made-up one and never ACKs), unless it answers the last response: an ACK from
// a client that does send them. Other types are ignored.
func (s *Server) serveDebug(stream adsStream, req *discoveryv3.DiscoveryRequest) error {
	var nonce int64
	for {
		if strings.HasPrefix(req.GetTypeUrl(), debugTypePrefix) && (nonce == 0 || req.GetResponseNonce() != strconv.FormatInt(nonce, 10)) {
			nonce++
			resp := s.debugResponse(req)
			resp.Nonce = strconv.FormatInt(nonce, 10)
			if err := stream.Send(resp); err != nil {
				return err
			}
		}
		var err error
		if req, err = stream.Recv(); err != nil {
			return nil // the client is done
		}
	}
}

func (s *Server) debugResponse(req *discoveryv3.DiscoveryRequest) *discoveryv3.DiscoveryResponse {
	resp := &discoveryv3.DiscoveryResponse{TypeUrl: req.GetTypeUrl(), ControlPlane: s.controlPlane()}
	switch req.GetTypeUrl() {
	case debugTypeSyncz:
		resp.Resources = s.clientConfigs()
	case debugTypeConfigDump:
		if names := req.GetResourceNames(); len(names) == 1 {
			dump, err := s.ConfigDump(names[0])
			if err != nil {
				s.log.Info("debug config dump", zap.Error(err))
				break // like istiod: no resources, and istioctl tries another replica
			}
			resp.Resources = dump.Configs
		}
	}
	return resp
}

// controlPlane identifies this pilot the way istiod does, as JSON istioctl reads into its
// IstioControlPlaneInstance (Component, ID, Info.version).
func (s *Server) controlPlane() *corev3.ControlPlane {
	id, _ := json.Marshal(map[string]any{
		"Component": "minipilot",
		"ID":        s.opts.InstanceID,
		"Info":      map[string]string{"version": s.opts.Version},
	})
	return &corev3.ControlPlane{Identifier: string(id)}
}

// clientConfigs is the sync status of every proxy stream as Envoy's CSDS ClientConfig, one per
// stream, with Istio's node metadata (NAMESPACE, CLUSTER_ID, ISTIO_VERSION) so that istioctl
// filters and prints them as it does istiod's.
func (s *Server) clientConfigs() []*anypb.Any {
	var out []*anypb.Any
	for _, ps := range s.SyncStatus() {
		cc := &statusv3.ClientConfig{Node: &corev3.Node{Id: ps.ID, Metadata: &structpb.Struct{Fields: map[string]*structpb.Value{
			"NAMESPACE":     structpb.NewStringValue(ps.Namespace),
			"CLUSTER_ID":    structpb.NewStringValue(ps.ClusterID),
			"ISTIO_VERSION": structpb.NewStringValue(ps.IstioVersion),
		}}}}
		for t := range numTypes {
			ts := ps.Types[typeShort[t]]
			if ts.Subscribed == nil && ts.Sent.Nonce == "" {
				continue // not watched: istiod lists only what a proxy asked for
			}
			cfg := &statusv3.ClientConfig_GenericXdsConfig{TypeUrl: typeURLs[t], ConfigStatus: configStatus(ts.Status)}
			if !ts.Sent.At.IsZero() {
				cfg.LastUpdated = timestamppb.New(ts.Sent.At)
			}
			if ts.Status == "ERROR" && ts.LastNack != nil {
				cfg.ErrorState = &adminv3.UpdateFailureState{LastUpdateAttempt: timestamppb.New(ts.LastNack.At), Details: ts.LastNack.Message}
			}
			cc.GenericXdsConfigs = append(cc.GenericXdsConfigs, cfg)
		}
		out = append(out, mustAny(cc))
	}
	return out
}

func configStatus(status string) statusv3.ConfigStatus {
	switch status {
	case "SYNCED":
		return statusv3.ConfigStatus_SYNCED
	case "STALE":
		return statusv3.ConfigStatus_STALE
	case "ERROR":
		return statusv3.ConfigStatus_ERROR
	default:
		return statusv3.ConfigStatus_NOT_SENT
	}
}
