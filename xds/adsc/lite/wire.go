package lite

import (
	"errors"

	"google.golang.org/protobuf/encoding/protowire"
)

// Field numbers of the few xDS fields the client reads or writes (wire_test.go checks each against
// the generated descriptors).
const (
	// envoy.service.discovery.v3.DiscoveryRequest
	reqVersionInfo   = 1
	reqNode          = 2
	reqResourceNames = 3
	reqTypeURL       = 4
	reqResponseNonce = 5
	reqErrorDetail   = 6

	// envoy.service.discovery.v3.DiscoveryResponse
	respVersionInfo = 1
	respResources   = 2
	respTypeURL     = 4
	respNonce       = 5

	// google.protobuf.Any
	anyTypeURL = 1
	anyValue   = 2

	// Cluster, ClusterLoadAssignment, Listener and RouteConfiguration all have their name as field 1.
	resourceName = 1

	// envoy.config.cluster.v3.Cluster
	clusterType             = 2
	clusterEdsClusterConfig = 3
	edsServiceName          = 2 // Cluster.EdsClusterConfig.service_name
	clusterTypeEDS          = 3 // Cluster.DiscoveryType EDS

	// envoy.config.listener.v3.Listener, FilterChain, Filter
	listenerFilterChains       = 3
	listenerDefaultFilterChain = 25
	filterChainFilters         = 3
	filterTypedConfig          = 4

	// envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager and Rds
	hcmRds             = 3
	rdsRouteConfigName = 2
)

const hcmTypeURL = "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"

var errTruncated = errors.New("truncated protobuf")

// fields calls f with each field of a message; f gets the raw bytes of length-delimited fields and
// the value of varints (other wire types are skipped).
func fields(b []byte, f func(num protowire.Number, typ protowire.Type, bytes []byte, varint uint64) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return errTruncated
		}
		b = b[n:]
		var val []byte
		var v uint64
		switch typ {
		case protowire.BytesType:
			val, n = protowire.ConsumeBytes(b)
		case protowire.VarintType:
			v, n = protowire.ConsumeVarint(b)
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return errTruncated
		}
		b = b[n:]
		if err := f(num, typ, val, v); err != nil {
			return err
		}
	}
	return nil
}

// Resource is one resource of a response as it came off the wire: its name and its serialized
// message (the Any's value). Both alias the response's buffer.
type Resource struct {
	Name []byte
	Body []byte
}

// wireResponse is what the client reads of a DiscoveryResponse.
type wireResponse struct {
	version, typeURL, nonce []byte
	resources               []Resource
}

// parseResponse reads a DiscoveryResponse, reusing res for the resources.
func parseResponse(b []byte, res []Resource) (wireResponse, error) {
	out := wireResponse{resources: res[:0]}
	err := fields(b, func(num protowire.Number, typ protowire.Type, val []byte, _ uint64) error {
		if typ != protowire.BytesType {
			return nil
		}
		switch num {
		case respVersionInfo:
			out.version = val
		case respTypeURL:
			out.typeURL = val
		case respNonce:
			out.nonce = val
		case respResources:
			var body []byte
			if err := fields(val, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
				if num == anyValue && typ == protowire.BytesType {
					body = v
				}
				return nil
			}); err != nil {
				return err
			}
			name, err := firstString(body, resourceName)
			if err != nil {
				return err
			}
			out.resources = append(out.resources, Resource{Name: name, Body: body})
		}
		return nil
	})
	return out, err
}

// firstString finds a string (or message) field; a deterministic marshaller writes fields in number
// order, so a name (field 1) is found at once.
func firstString(b []byte, field protowire.Number) ([]byte, error) {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return nil, errTruncated
		}
		b = b[n:]
		if num == field && typ == protowire.BytesType {
			val, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return nil, errTruncated
			}
			return val, nil
		}
		if n = protowire.ConsumeFieldValue(num, typ, b); n < 0 {
			return nil, errTruncated
		}
		b = b[n:]
	}
	return nil, nil
}

// edsServiceNames appends the names of the endpoint sets an EDS cluster asks for: the EDS service
// name, or the cluster's own name.
func edsServiceNames(out []string, cluster []byte) ([]string, error) {
	var name, service []byte
	eds := false
	err := fields(cluster, func(num protowire.Number, typ protowire.Type, val []byte, v uint64) error {
		switch {
		case num == resourceName && typ == protowire.BytesType:
			name = val
		case num == clusterType && typ == protowire.VarintType:
			eds = v == clusterTypeEDS
		case num == clusterEdsClusterConfig && typ == protowire.BytesType:
			s, err := firstString(val, edsServiceName)
			if err != nil {
				return err
			}
			service = s
		}
		return nil
	})
	if err != nil || !eds {
		return out, err
	}
	if len(service) > 0 {
		return append(out, string(service)), nil
	}
	return append(out, string(name)), nil
}

// routeConfigNames appends the route configs a listener's HTTP connection managers ask RDS for.
func routeConfigNames(out []string, listener []byte) ([]string, error) {
	chain := func(fc []byte) error {
		return fields(fc, func(num protowire.Number, typ protowire.Type, filter []byte, _ uint64) error {
			if num != filterChainFilters || typ != protowire.BytesType {
				return nil
			}
			return fields(filter, func(num protowire.Number, typ protowire.Type, any []byte, _ uint64) error {
				if num != filterTypedConfig || typ != protowire.BytesType {
					return nil
				}
				typeURL, err := firstString(any, anyTypeURL)
				if err != nil || string(typeURL) != hcmTypeURL {
					return err
				}
				hcm, err := firstString(any, anyValue)
				if err != nil {
					return err
				}
				return fields(hcm, func(num protowire.Number, typ protowire.Type, rds []byte, _ uint64) error {
					if num != hcmRds || typ != protowire.BytesType {
						return nil
					}
					name, err := firstString(rds, rdsRouteConfigName)
					if err == nil {
						out = append(out, string(name))
					}
					return err
				})
			})
		})
	}
	err := fields(listener, func(num protowire.Number, typ protowire.Type, val []byte, _ uint64) error {
		if (num == listenerFilterChains || num == listenerDefaultFilterChain) && typ == protowire.BytesType {
			return chain(val)
		}
		return nil
	})
	return out, err
}

// request is a DiscoveryRequest to encode. names is the resource_names field already encoded
// (encodeNames), so that streams subscribed to the same names share one encoding.
type request struct {
	node                    []byte // the encoded Node, sent on a stream's first request only
	version, typeURL, nonce string
	names                   []byte
	nack                    error
}

// encode encodes the request as a message whose names are the shared encoding itself, not a copy:
// an Envoy's EDS ACK names every cluster, and copying them into every ACK of every stream made up
// most of what the load tool allocated on an endpoint push.
func (r request) encode() *message {
	return &message{head: r.appendHead(nil), names: r.names}
}

// appendHead appends every field but the names: the order of fields does not matter in protobuf.
func (r request) appendHead(b []byte) []byte {
	if r.version != "" {
		b = protowire.AppendTag(b, reqVersionInfo, protowire.BytesType)
		b = protowire.AppendString(b, r.version)
	}
	if r.node != nil {
		b = protowire.AppendTag(b, reqNode, protowire.BytesType)
		b = protowire.AppendBytes(b, r.node)
	}
	b = protowire.AppendTag(b, reqTypeURL, protowire.BytesType)
	b = protowire.AppendString(b, r.typeURL)
	if r.nonce != "" {
		b = protowire.AppendTag(b, reqResponseNonce, protowire.BytesType)
		b = protowire.AppendString(b, r.nonce)
	}
	if r.nack != nil {
		// google.rpc.Status{code: 3 (INVALID_ARGUMENT), message}
		var st []byte
		st = protowire.AppendTag(st, 1, protowire.VarintType)
		st = protowire.AppendVarint(st, 3)
		st = protowire.AppendTag(st, 2, protowire.BytesType)
		st = protowire.AppendString(st, r.nack.Error())
		b = protowire.AppendTag(b, reqErrorDetail, protowire.BytesType)
		b = protowire.AppendBytes(b, st)
	}
	return b
}

// encodeNames encodes names as the resource_names field of a request.
func encodeNames(names []string) []byte {
	var b []byte
	for _, n := range names {
		b = protowire.AppendTag(b, reqResourceNames, protowire.BytesType)
		b = protowire.AppendString(b, n)
	}
	return b
}
