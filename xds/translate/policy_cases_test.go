package translate_test

import (
	"slices"
	"time"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"

	"github.com/minipilot/minipilot/crds/networking"
	"github.com/minipilot/minipilot/model"
	"github.com/minipilot/minipilot/xds/translate"
)

// sidecarCases: every DestinationRule field, every ServiceEntry field and the TCP/TLS route fields,
// as an Envoy sidecar sees them. Two fields have no case because their value is the default and so
// cannot change the output: loadBalancer.simple LEAST_REQUEST (and its old name LEAST_CONN), Istio's
// default balancer. ServiceEntry location only decides Istio's mutual TLS and telemetry, which
// minipilot does not generate; model tests check that it is read (Service.MeshExternal).
func sidecarCases() []policyCase {
	rc := func(r *translate.Resources) *clusterv3.Cluster { return cluster(r, reviewsCluster) }
	od := func(w *world) *networking.OutlierDetection {
		w.reviews.OutlierDetection = &networking.OutlierDetection{}
		return w.reviews.OutlierDetection
	}
	tlsSimple := func(w *world) *networking.ClientTLSSettings {
		w.reviews.TLS = &networking.ClientTLSSettings{Mode: "SIMPLE", CaCertificates: "/ca.pem"}
		return w.reviews.TLS
	}
	locality := func(w *world, s *networking.LocalityLoadBalancerSetting) {
		w.reviews.LoadBalancer = &networking.LoadBalancerSettings{LocalityLbSetting: s}
		w.reviews.OutlierDetection = &networking.OutlierDetection{}
		w.proxy.Locality = model.Locality{Region: "eu", Zone: "z1"}
	}
	priorityOf := func(r *translate.Resources, region string) uint32 {
		for _, lle := range cla(r, reviewsCluster).Endpoints {
			if lle.Locality.Region == region {
				return lle.Priority
			}
		}
		return 99
	}
	dbProxy := func(r *translate.Resources) string { return firstTCPProxy(listener(r, dbListener)).GetCluster() }
	return []policyCase{
		{"dr.host", func(w *world) { w.dr.Host = "ratings"; w.reviews.LoadBalancer = lb("RANDOM") },
			func(r *translate.Resources) bool { return cluster(r, reviewsV1).Name == "" }},
		{"dr.exportTo", func(w *world) { w.dr.ExportTo = []string{"other"} },
			func(r *translate.Resources) bool { return cluster(r, reviewsV1).Name == "" }},
		{"dr.workloadSelector", func(w *world) {
			w.dr.WorkloadSelector = &networking.WorkloadSelector{MatchLabels: map[string]string{"app": "other"}}
		}, func(r *translate.Resources) bool { return cluster(r, reviewsV1).Name == "" }},
		{"loadBalancer.simple ROUND_ROBIN", func(w *world) { w.reviews.LoadBalancer = lb("ROUND_ROBIN") },
			func(r *translate.Resources) bool { return rc(r).LbPolicy == clusterv3.Cluster_ROUND_ROBIN }},
		{"loadBalancer.simple RANDOM", func(w *world) { w.reviews.LoadBalancer = lb("RANDOM") },
			func(r *translate.Resources) bool { return rc(r).LbPolicy == clusterv3.Cluster_RANDOM }},
		{"loadBalancer.simple PASSTHROUGH", func(w *world) { w.reviews.LoadBalancer = lb("PASSTHROUGH") },
			func(r *translate.Resources) bool { return rc(r).GetType() == clusterv3.Cluster_ORIGINAL_DST }},
		{"loadBalancer.warmupDurationSecs", func(w *world) {
			w.reviews.LoadBalancer = &networking.LoadBalancerSettings{WarmupDurationSecs: networking.NewDuration(20 * time.Second)}
		}, func(r *translate.Resources) bool {
			return rc(r).GetLeastRequestLbConfig().GetSlowStartConfig().GetSlowStartWindow().AsDuration() == 20*time.Second
		}},
		{"consistentHash.httpHeaderName", func(w *world) { w.reviews.LoadBalancer = hash(&networking.ConsistentHashLB{HTTPHeaderName: "x-user"}) },
			func(r *translate.Resources) bool { return rc(r).LbPolicy == clusterv3.Cluster_RING_HASH }},
		{"consistentHash.httpCookie", func(w *world) {
			w.reviews.LoadBalancer = hash(&networking.ConsistentHashLB{HTTPCookie: &networking.HTTPCookie{Name: "user", Path: "/", TTL: networking.NewDuration(time.Hour)}})
		}, func(r *translate.Resources) bool {
			c := reviewsHash(r).GetCookie()
			return c.GetName() == "user" && c.GetPath() == "/" && c.GetTtl().AsDuration() == time.Hour
		}},
		{"consistentHash.httpQueryParameterName", func(w *world) {
			w.reviews.LoadBalancer = hash(&networking.ConsistentHashLB{HTTPQueryParameterName: "u"})
		}, func(r *translate.Resources) bool { return reviewsHash(r).GetQueryParameter().GetName() == "u" }},
		{"consistentHash.useSourceIp (TCP)", func(w *world) {
			w.part.DestinationRules[1].Spec.TrafficPolicy = &networking.TrafficPolicy{LoadBalancer: hash(&networking.ConsistentHashLB{UseSourceIP: true})}
		}, func(r *translate.Resources) bool { return len(firstTCPProxy(listener(r, dbListener)).HashPolicy) == 1 }},
		{"consistentHash.ringHash.minimumRingSize", func(w *world) {
			w.reviews.LoadBalancer = hash(&networking.ConsistentHashLB{HTTPHeaderName: "x", RingHash: &networking.RingHash{MinimumRingSize: 4096}})
		}, func(r *translate.Resources) bool {
			return rc(r).GetRingHashLbConfig().GetMinimumRingSize().GetValue() == 4096
		}},
		{"consistentHash.minimumRingSize (deprecated)", func(w *world) {
			w.reviews.LoadBalancer = hash(&networking.ConsistentHashLB{HTTPHeaderName: "x", MinimumRingSize: 512})
		}, func(r *translate.Resources) bool {
			return rc(r).GetRingHashLbConfig().GetMinimumRingSize().GetValue() == 512
		}},
		{"consistentHash.maglev.tableSize", func(w *world) {
			w.reviews.LoadBalancer = hash(&networking.ConsistentHashLB{HTTPHeaderName: "x", Maglev: &networking.MagLev{TableSize: 65537}})
		}, func(r *translate.Resources) bool { return rc(r).GetMaglevLbConfig().GetTableSize().GetValue() == 65537 }},
		{"localityLbSetting.distribute", func(w *world) {
			locality(w, &networking.LocalityLoadBalancerSetting{Distribute: []*networking.LocalityDistribute{{From: "eu/*", To: map[string]uint32{"us/*": 100}}}})
		}, func(r *translate.Resources) bool { return len(cla(r, reviewsCluster).Endpoints) == 1 }},
		{"localityLbSetting.failover", func(w *world) {
			locality(w, &networking.LocalityLoadBalancerSetting{Failover: []*networking.LocalityFailover{{From: "eu", To: "us"}}})
		}, func(r *translate.Resources) bool {
			// By proximity alone us and ap would share priority 1; the rule puts ap below us.
			return priorityOf(r, "eu") == 0 && priorityOf(r, "us") == 1 && priorityOf(r, "ap") == 2
		}},
		{"localityLbSetting.failoverPriority", func(w *world) {
			locality(w, &networking.LocalityLoadBalancerSetting{FailoverPriority: []string{"version=v2"}})
		}, func(r *translate.Resources) bool { return priorityOf(r, "us") == 0 && priorityOf(r, "eu") == 1 }},
		{"localityLbSetting.enabled", func(w *world) {
			f := false
			locality(w, &networking.LocalityLoadBalancerSetting{Enabled: &f})
		}, func(r *translate.Resources) bool {
			// The proxy is in eu, with outlier detection: only a disabled setting keeps us at priority 0.
			return rc(r).GetOutlierDetection() != nil && priorityOf(r, "us") == 0 && priorityOf(r, "eu") == 0
		}},
		{"proxy locality", func(w *world) {
			w.reviews.OutlierDetection = &networking.OutlierDetection{}
			w.proxy.Locality = model.Locality{Region: "us"}
		},
			func(r *translate.Resources) bool { return priorityOf(r, "eu") == 1 }},
		{"connectionPool.tcp.maxConnections", func(w *world) { w.reviews.ConnectionPool = pool(&networking.TCPSettings{MaxConnections: 7}, nil) },
			func(r *translate.Resources) bool { return thresholds(rc(r)).GetMaxConnections().GetValue() == 7 }},
		{"connectionPool.tcp.connectTimeout", func(w *world) {
			w.reviews.ConnectionPool = pool(&networking.TCPSettings{ConnectTimeout: networking.NewDuration(time.Second)}, nil)
		}, func(r *translate.Resources) bool { return rc(r).ConnectTimeout.AsDuration() == time.Second }},
		{"connectionPool.tcp.tcpKeepalive", func(w *world) {
			w.reviews.ConnectionPool = pool(&networking.TCPSettings{TCPKeepalive: &networking.TCPKeepalive{Probes: 4, Time: networking.NewDuration(time.Minute), Interval: networking.NewDuration(5 * time.Second)}}, nil)
		}, func(r *translate.Resources) bool {
			k := rc(r).GetUpstreamConnectionOptions().GetTcpKeepalive()
			return k.GetKeepaliveProbes().GetValue() == 4 && k.GetKeepaliveTime().GetValue() == 60 && k.GetKeepaliveInterval().GetValue() == 5
		}},
		{"connectionPool.tcp.maxConnectionDuration (HTTP)", func(w *world) {
			w.reviews.ConnectionPool = pool(&networking.TCPSettings{MaxConnectionDuration: networking.NewDuration(time.Hour)}, nil)
		}, func(r *translate.Resources) bool {
			return httpOptions(rc(r)).GetCommonHttpProtocolOptions().GetMaxConnectionDuration().AsDuration() == time.Hour
		}},
		{"connectionPool.tcp.idleTimeout (TCP)", func(w *world) {
			w.part.DestinationRules[1].Spec.TrafficPolicy = &networking.TrafficPolicy{ConnectionPool: pool(&networking.TCPSettings{IdleTimeout: networking.NewDuration(time.Minute)}, nil)}
		}, func(r *translate.Resources) bool {
			return firstTCPProxy(listener(r, dbListener)).GetIdleTimeout().AsDuration() == time.Minute
		}},
		{"connectionPool.tcp.maxConnectionDuration (TCP)", func(w *world) {
			w.part.DestinationRules[1].Spec.TrafficPolicy = &networking.TrafficPolicy{ConnectionPool: pool(&networking.TCPSettings{MaxConnectionDuration: networking.NewDuration(time.Hour)}, nil)}
		}, func(r *translate.Resources) bool {
			return firstTCPProxy(listener(r, dbListener)).GetMaxDownstreamConnectionDuration().AsDuration() == time.Hour
		}},
		{"connectionPool.http.http1MaxPendingRequests", func(w *world) {
			w.reviews.ConnectionPool = pool(nil, &networking.HTTPSettings{HTTP1MaxPendingRequests: 3})
		},
			func(r *translate.Resources) bool { return thresholds(rc(r)).GetMaxPendingRequests().GetValue() == 3 }},
		{"connectionPool.http.http2MaxRequests", func(w *world) { w.reviews.ConnectionPool = pool(nil, &networking.HTTPSettings{HTTP2MaxRequests: 9}) },
			func(r *translate.Resources) bool { return thresholds(rc(r)).GetMaxRequests().GetValue() == 9 }},
		{"connectionPool.http.maxRetries", func(w *world) { w.reviews.ConnectionPool = pool(nil, &networking.HTTPSettings{MaxRetries: 2}) },
			func(r *translate.Resources) bool { return thresholds(rc(r)).GetMaxRetries().GetValue() == 2 }},
		{"connectionPool.http.maxRequestsPerConnection", func(w *world) {
			w.reviews.ConnectionPool = pool(nil, &networking.HTTPSettings{MaxRequestsPerConnection: 1})
		},
			func(r *translate.Resources) bool {
				return httpOptions(rc(r)).GetCommonHttpProtocolOptions().GetMaxRequestsPerConnection().GetValue() == 1
			}},
		{"connectionPool.http.idleTimeout", func(w *world) {
			w.reviews.ConnectionPool = pool(nil, &networking.HTTPSettings{IdleTimeout: networking.NewDuration(time.Minute)})
		}, func(r *translate.Resources) bool {
			return httpOptions(rc(r)).GetCommonHttpProtocolOptions().GetIdleTimeout().AsDuration() == time.Minute
		}},
		{"connectionPool.http.h2UpgradePolicy", func(w *world) {
			w.reviews.ConnectionPool = pool(nil, &networking.HTTPSettings{H2UpgradePolicy: "UPGRADE"})
		},
			func(r *translate.Resources) bool {
				return httpOptions(rc(r)).GetExplicitHttpConfig().GetHttp2ProtocolOptions() != nil
			}},
		{"connectionPool.http.maxConcurrentStreams", func(w *world) {
			w.reviews.ConnectionPool = pool(nil, &networking.HTTPSettings{H2UpgradePolicy: "UPGRADE", MaxConcurrentStreams: 10})
		}, func(r *translate.Resources) bool {
			return httpOptions(rc(r)).GetExplicitHttpConfig().GetHttp2ProtocolOptions().GetMaxConcurrentStreams().GetValue() == 10
		}},
		{"connectionPool.http.useClientProtocol", func(w *world) {
			w.reviews.ConnectionPool = pool(nil, &networking.HTTPSettings{UseClientProtocol: true})
		},
			func(r *translate.Resources) bool { return httpOptions(rc(r)).GetUseDownstreamProtocolConfig() != nil }},
		{"outlierDetection.consecutive5xxErrors", func(w *world) { od(w).Consecutive5xxErrors = u32(7) },
			func(r *translate.Resources) bool {
				return rc(r).GetOutlierDetection().GetConsecutive_5Xx().GetValue() == 7
			}},
		{"outlierDetection.consecutiveGatewayErrors", func(w *world) { od(w).ConsecutiveGatewayErrors = u32(4) },
			func(r *translate.Resources) bool {
				o := rc(r).GetOutlierDetection()
				return o.GetConsecutiveGatewayFailure().GetValue() == 4 && o.GetEnforcingConsecutiveGatewayFailure().GetValue() == 100
			}},
		{"outlierDetection.splitExternalLocalOriginErrors", func(w *world) { od(w).SplitExternalLocalOriginErrors = true },
			func(r *translate.Resources) bool {
				return rc(r).GetOutlierDetection().GetSplitExternalLocalOriginErrors()
			}},
		{"outlierDetection.consecutiveLocalOriginFailures", func(w *world) {
			o := od(w)
			o.SplitExternalLocalOriginErrors, o.ConsecutiveLocalOriginFailures = true, u32(2)
		}, func(r *translate.Resources) bool {
			return rc(r).GetOutlierDetection().GetConsecutiveLocalOriginFailure().GetValue() == 2
		}},
		{"outlierDetection.interval", func(w *world) { od(w).Interval = networking.NewDuration(3 * time.Second) },
			func(r *translate.Resources) bool {
				return rc(r).GetOutlierDetection().GetInterval().AsDuration() == 3*time.Second
			}},
		{"outlierDetection.baseEjectionTime", func(w *world) { od(w).BaseEjectionTime = networking.NewDuration(time.Minute) },
			func(r *translate.Resources) bool {
				return rc(r).GetOutlierDetection().GetBaseEjectionTime().AsDuration() == time.Minute
			}},
		{"outlierDetection.maxEjectionPercent", func(w *world) { od(w).MaxEjectionPercent = 40 },
			func(r *translate.Resources) bool {
				return rc(r).GetOutlierDetection().GetMaxEjectionPercent().GetValue() == 40
			}},
		{"outlierDetection.minHealthPercent", func(w *world) { od(w).MinHealthPercent = 30 },
			func(r *translate.Resources) bool {
				return rc(r).GetCommonLbConfig().GetHealthyPanicThreshold().GetValue() == 30
			}},
		{"tls.mode SIMPLE", func(w *world) { tlsSimple(w) },
			func(r *translate.Resources) bool { return upstreamTLS(rc(r)).GetCommonTlsContext() != nil }},
		{"tls.mode MUTUAL, clientCertificate, privateKey", func(w *world) {
			t := tlsSimple(w)
			t.Mode, t.ClientCertificate, t.PrivateKey = "MUTUAL", "/c.pem", "/k.pem"
		}, func(r *translate.Resources) bool {
			c := upstreamTLS(rc(r)).GetCommonTlsContext().GetTlsCertificates()
			return len(c) == 1 && c[0].GetCertificateChain().GetFilename() == "/c.pem" && c[0].GetPrivateKey().GetFilename() == "/k.pem"
		}},
		{"tls.caCertificates", func(w *world) { tlsSimple(w) },
			func(r *translate.Resources) bool {
				return upstreamTLS(rc(r)).GetCommonTlsContext().GetValidationContext().GetTrustedCa().GetFilename() == "/ca.pem"
			}},
		{"tls.subjectAltNames", func(w *world) { tlsSimple(w).SubjectAltNames = []string{"r.example.com"} },
			func(r *translate.Resources) bool {
				//lint:ignore SA1019 Istio matches SANs of any type, which only this field does
				sans := upstreamTLS(rc(r)).GetCommonTlsContext().GetValidationContext().GetMatchSubjectAltNames()
				return len(sans) == 1 && sans[0].GetExact() == "r.example.com"
			}},
		{"tls.sni", func(w *world) { tlsSimple(w).Sni = "r.example.com" },
			func(r *translate.Resources) bool { return upstreamTLS(rc(r)).GetSni() == "r.example.com" }},
		{"tls.insecureSkipVerify", func(w *world) {
			skip := true
			w.reviews.TLS = &networking.ClientTLSSettings{Mode: "SIMPLE", InsecureSkipVerify: &skip}
		}, func(r *translate.Resources) bool {
			return rc(r).TransportSocket != nil && !warned(r, "does not verify")
		}},
		{"tls.caCrl", func(w *world) { tlsSimple(w).CaCrl = "/crl.pem" },
			func(r *translate.Resources) bool {
				return upstreamTLS(rc(r)).GetCommonTlsContext().GetValidationContext().GetCrl().GetFilename() == "/crl.pem"
			}},
		{"tls.mode DISABLE (subset)", func(w *world) {
			tlsSimple(w)
			w.dr.Subsets[0].TrafficPolicy = &networking.TrafficPolicy{TLS: &networking.ClientTLSSettings{Mode: "DISABLE"}}
		}, func(r *translate.Resources) bool {
			return rc(r).TransportSocket != nil && cluster(r, reviewsV1).TransportSocket == nil
		}},
		{"portLevelSettings", func(w *world) {
			w.reviews.PortLevelSettings = []*networking.PortTrafficPolicy{{Port: &networking.PortSelector{Number: 9080}, LoadBalancer: lb("RANDOM")}}
		}, func(r *translate.Resources) bool { return rc(r).LbPolicy == clusterv3.Cluster_RANDOM }},
		{"subsets.trafficPolicy", func(w *world) { w.dr.Subsets[0].TrafficPolicy = &networking.TrafficPolicy{LoadBalancer: lb("RANDOM")} },
			func(r *translate.Resources) bool {
				return cluster(r, reviewsV1).LbPolicy == clusterv3.Cluster_RANDOM && rc(r).LbPolicy != clusterv3.Cluster_RANDOM
			}},
		{"subsets.name", func(w *world) { w.dr.Subsets[0].Name = "gold" },
			func(r *translate.Resources) bool {
				return cluster(r, "outbound|9080|gold|reviews.default.svc.cluster.local").Name != ""
			}},
		{"subsets.labels", func(w *world) { w.dr.Subsets[0].Labels = map[string]string{"version": "v2"} },
			func(r *translate.Resources) bool {
				eps := cla(r, reviewsV1).GetEndpoints()
				return len(eps) == 1 && eps[0].LbEndpoints[0].GetEndpoint().GetAddress().GetSocketAddress().GetAddress() == "10.1.0.22"
			}},
		// VirtualService tcp routes.
		{"tcp.route.destination.subset", func(w *world) { w.db.TCP[0].Route[0].Destination.Subset = "replica" },
			func(r *translate.Resources) bool {
				return dbProxy(r) == "outbound|3306|replica|db.default.svc.cluster.local"
			}},
		{"tcp.route.weight", func(w *world) {
			w.db.TCP[0].Route = []*networking.RouteDestination{
				{Destination: &networking.Destination{Host: "db", Subset: "primary"}, Weight: 70},
				{Destination: &networking.Destination{Host: "db", Subset: "replica"}, Weight: 30}}
		}, func(r *translate.Resources) bool {
			return len(firstTCPProxy(listener(r, dbListener)).GetWeightedClusters().GetClusters()) == 2
		}},
		{"tcp.match.port", func(w *world) { w.db.TCP[0].Match[0].Port = 1234 },
			func(r *translate.Resources) bool { return dbProxy(r) == "outbound|3306||db.default.svc.cluster.local" }},
		{"tcp.match.sourceLabels", func(w *world) { w.db.TCP[0].Match[0].SourceLabels = map[string]string{"app": "other"} },
			func(r *translate.Resources) bool { return dbProxy(r) == "outbound|3306||db.default.svc.cluster.local" }},
		{"tcp.match.sourceNamespace", func(w *world) { w.db.TCP[0].Match[0].SourceNamespace = "other" },
			func(r *translate.Resources) bool { return dbProxy(r) == "outbound|3306||db.default.svc.cluster.local" }},
		{"tcp.match.gateways", func(w *world) { w.db.TCP[0].Match[0].Gateways = []string{"gw"} },
			func(r *translate.Resources) bool { return dbProxy(r) == "outbound|3306||db.default.svc.cluster.local" }},
		{"tcp.match.destinationSubnets", func(w *world) { w.db.TCP[0].Match[0].DestinationSubnets = []string{"10.96.0.0/16"} },
			func(r *translate.Resources) bool {
				l := listener(r, dbListener)
				return len(l.FilterChains) == 2 && len(l.FilterChains[0].GetFilterChainMatch().GetPrefixRanges()) == 1
			}},
		{"virtualService.gateways", func(w *world) { w.part.VirtualServices[0].Spec.Gateways = []string{"gw"} },
			func(r *translate.Resources) bool { return dbProxy(r) == "outbound|3306||db.default.svc.cluster.local" }},
		// VirtualService tls routes.
		{"tls.match.sniHosts", func(w *world) { w.api.TLS[0].Match[0].SniHosts = []string{"other.example.com"} },
			func(r *translate.Resources) bool {
				return slices.Contains(listener(r, "0.0.0.0_443").FilterChains[0].GetFilterChainMatch().GetServerNames(), "other.example.com")
			}},
		{"tls.match.destinationSubnets", func(w *world) { w.api.TLS[0].Match[0].DestinationSubnets = []string{"1.2.3.0/24"} },
			func(r *translate.Resources) bool {
				return len(listener(r, "0.0.0.0_443").FilterChains[0].GetFilterChainMatch().GetPrefixRanges()) == 1
			}},
		{"tls.match.port", func(w *world) { w.api.TLS[0].Match[0].Port = 8443 },
			func(r *translate.Resources) bool {
				return firstTCPProxy(listener(r, "0.0.0.0_443")).GetCluster() == "outbound|443||api.example.com"
			}},
		{"tls.route.destination.port", func(w *world) {
			w.se.Ports = append(w.se.Ports, &networking.ServicePort{Number: 8443, Name: "alt", Protocol: "TLS"})
			w.api.TLS[0].Route[0].Destination = &networking.Destination{Host: "api.example.com", Port: &networking.PortSelector{Number: 8443}}
		}, func(r *translate.Resources) bool {
			return firstTCPProxy(listener(r, "0.0.0.0_443")).GetCluster() == "outbound|8443||api.example.com"
		}},
		// ServiceEntry fields.
		{"se.hosts", func(w *world) { w.se.Hosts = []string{"api2.example.com"} },
			func(r *translate.Resources) bool { return cluster(r, "outbound|443||api2.example.com").Name != "" }},
		{"se.addresses", func(w *world) { w.se.Addresses = []string{"240.1.1.1"} },
			func(r *translate.Resources) bool { return listener(r, "240.1.1.1_443").Name != "" }},
		{"se.ports.number", func(w *world) { w.se.Ports[0].Number = 8443 },
			func(r *translate.Resources) bool { return cluster(r, "outbound|8443||api.example.com").Name != "" }},
		{"se.ports.protocol", func(w *world) { w.se.Ports[0].Protocol = "HTTP" },
			func(r *translate.Resources) bool { return routeConfig(r, "443").Name != "" }},
		{"se.ports.targetPort", func(w *world) { w.se.Ports[0].TargetPort = 8443 },
			func(r *translate.Resources) bool { return dnsPort(r, "outbound|443||api.example.com") == 8443 }},
		{"se.resolution", func(w *world) { w.se.Resolution = "DNS_ROUND_ROBIN" },
			func(r *translate.Resources) bool {
				return cluster(r, "outbound|443||api.example.com").GetType() == clusterv3.Cluster_LOGICAL_DNS
			}},
		{"se.endpoints", func(w *world) {
			w.se.Endpoints = []*networking.WorkloadEntry{{Address: "api-1.example.com", Ports: map[string]uint32{"tls": 9443}, Weight: 5, Locality: "eu/z1"}}
		}, func(r *translate.Resources) bool { return dnsPort(r, "outbound|443||api.example.com") == 9443 }},
		{"se.endpoints.weight, locality", func(w *world) {
			w.se.Endpoints = []*networking.WorkloadEntry{{Address: "api-1.example.com", Weight: 5, Locality: "eu/z1"}}
		}, func(r *translate.Resources) bool {
			lle := cluster(r, "outbound|443||api.example.com").GetLoadAssignment().GetEndpoints()
			return len(lle) == 1 && lle[0].GetLocality().GetZone() == "z1" && lle[0].LbEndpoints[0].GetLoadBalancingWeight().GetValue() == 5
		}},
		{"se.endpoints.labels", func(w *world) {
			w.se.Resolution = "STATIC"
			w.se.Endpoints = []*networking.WorkloadEntry{{Address: "10.9.0.1", Labels: map[string]string{"tier": "gold"}}, {Address: "10.9.0.2"}}
			w.part.DestinationRules = append(w.part.DestinationRules, &model.DestinationRule{
				Meta: model.Meta{Kind: model.KindDestinationRule, Name: "api", Namespace: "default"},
				Spec: &networking.DestinationRule{Host: "api.example.com", Subsets: []*networking.Subset{{Name: "gold", Labels: map[string]string{"tier": "gold"}}}}})
		}, func(r *translate.Resources) bool {
			eps := cla(r, "outbound|443|gold|api.example.com").GetEndpoints()
			return len(eps) == 1 && len(eps[0].LbEndpoints) == 1
		}},
		{"se.workloadSelector", func(w *world) {
			w.se.Resolution, w.se.WorkloadSelector = "STATIC", &networking.EntryWorkloadSelector{Labels: map[string]string{"role": "replica"}}
		}, func(r *translate.Resources) bool {
			return len(cla(r, "outbound|443||api.example.com").GetEndpoints()) == 1
		}},
		{"se.exportTo", func(w *world) { w.part.ServiceEntries[0].Namespace = "other"; w.se.ExportTo = []string{"."} },
			func(r *translate.Resources) bool { return cluster(r, "outbound|443||api.example.com").Name == "" }},
		{"se.subjectAltNames", func(w *world) {
			w.se.SubjectAltNames = []string{"api.example.com"}
			w.part.DestinationRules = append(w.part.DestinationRules, &model.DestinationRule{
				Meta: model.Meta{Kind: model.KindDestinationRule, Name: "api", Namespace: "default"},
				Spec: &networking.DestinationRule{Host: "api.example.com", TrafficPolicy: &networking.TrafficPolicy{
					TLS: &networking.ClientTLSSettings{Mode: "SIMPLE", CaCertificates: "/ca.pem"}}}})
		}, func(r *translate.Resources) bool {
			//lint:ignore SA1019 Istio matches SANs of any type, which only this field does
			return len(upstreamTLS(cluster(r, "outbound|443||api.example.com")).GetCommonTlsContext().GetValidationContext().GetMatchSubjectAltNames()) == 1
		}},
	}
}

// reviewsHash is the hash policy of reviews' default route on port 9080.
func reviewsHash(r *translate.Resources) *routev3.RouteAction_HashPolicy {
	for _, vh := range routeConfig(r, "9080").GetVirtualHosts() {
		if vh.Name == "reviews.default.svc.cluster.local:9080" && len(vh.Routes) > 0 {
			if hp := vh.Routes[0].GetRoute().GetHashPolicy(); len(hp) > 0 {
				return hp[0]
			}
		}
	}
	return nil
}

func dnsPort(r *translate.Resources, name string) uint32 {
	for _, lle := range cluster(r, name).GetLoadAssignment().GetEndpoints() {
		for _, e := range lle.LbEndpoints {
			return e.GetEndpoint().GetAddress().GetSocketAddress().GetPortValue()
		}
	}
	return 0
}

// proxylessCases: what a gRPC client gets for the settings gRPC implements.
func proxylessCases() []policyCase {
	rc := func(r *translate.Resources) *clusterv3.Cluster { return cluster(r, reviewsCluster) }
	return []policyCase{
		{"outlierDetection.consecutive5xxErrors → failure percentage", func(w *world) {
			w.reviews.OutlierDetection = &networking.OutlierDetection{Consecutive5xxErrors: u32(2)}
		}, func(r *translate.Resources) bool {
			o := rc(r).GetOutlierDetection()
			return o.GetFailurePercentageRequestVolume().GetValue() == 2 && o.GetEnforcingFailurePercentage().GetValue() == 100 &&
				o.GetFailurePercentageMinimumHosts().GetValue() == 1 && warned(r, "gRFC A50")
		}},
		{"loadBalancer.simple LEAST_REQUEST", func(w *world) { w.reviews.LoadBalancer = lb("LEAST_REQUEST") },
			func(r *translate.Resources) bool { return rc(r).LbPolicy == clusterv3.Cluster_LEAST_REQUEST }},
		{"consistentHash.httpHeaderName", func(w *world) { w.reviews.LoadBalancer = hash(&networking.ConsistentHashLB{HTTPHeaderName: "x-user"}) },
			func(r *translate.Resources) bool {
				route := routeConfig(r, "reviews.default.svc.cluster.local:9080").GetVirtualHosts()[0].Routes[0]
				return rc(r).LbPolicy == clusterv3.Cluster_RING_HASH && route.GetRoute().GetHashPolicy()[0].GetHeader().GetHeaderName() == "x-user"
			}},
		{"connectionPool.http.http2MaxRequests", func(w *world) { w.reviews.ConnectionPool = pool(nil, &networking.HTTPSettings{HTTP2MaxRequests: 1}) },
			func(r *translate.Resources) bool { return thresholds(rc(r)).GetMaxRequests().GetValue() == 1 }},
		{"localityLbSetting.failover", func(w *world) {
			w.reviews.OutlierDetection = &networking.OutlierDetection{}
			w.proxy.Locality = model.Locality{Region: "us", Zone: "z1"}
		}, func(r *translate.Resources) bool {
			for _, lle := range cla(r, reviewsCluster).Endpoints {
				if lle.Locality.Region == "eu" && lle.Priority == 1 {
					return true
				}
			}
			return false
		}},
	}
}

// gatewayCases: the Gateway fields, as the router they select sees them. A server's name has no case:
// Istio uses it only in status and statistics names, not in the config a proxy routes by.
func gatewayCases() []policyCase {
	server := func(w *world) *networking.Server { return w.gw.Servers[0] }
	https := func(r *translate.Resources) *tlsv3.DownstreamTlsContext {
		return downstreamTLS(listener(r, "0.0.0.0_443"))
	}
	vhost := func(r *translate.Resources, rc string) *routev3.VirtualHost {
		if vhs := routeConfig(r, rc).GetVirtualHosts(); len(vhs) > 0 {
			return vhs[0]
		}
		return &routev3.VirtualHost{}
	}
	return []policyCase{
		{"selector", func(w *world) { w.gw.Selector = map[string]string{"istio": "egressgateway"} },
			func(r *translate.Resources) bool { return len(r.Listeners) == 0 }},
		{"servers.port.number", func(w *world) { server(w).Port.Number = 8443 },
			func(r *translate.Resources) bool { return listener(r, "0.0.0.0_8443").Name != "" }},
		{"servers.port.protocol", func(w *world) { server(w).Port.Protocol, server(w).TLS = "HTTP", nil },
			func(r *translate.Resources) bool { return routeConfig(r, "http.443").Name != "" }},
		{"servers.port.name", func(w *world) { server(w).Port.Name = "web" },
			func(r *translate.Resources) bool { return routeConfig(r, "https.443.web.gw.default").Name != "" }},
		{"servers.bind", func(w *world) { server(w).Bind = "10.1.0.100" },
			func(r *translate.Resources) bool { return listener(r, "10.1.0.100_443").Name != "" }},
		{"servers.hosts", func(w *world) { server(w).Hosts = []string{"other.example.com"} },
			func(r *translate.Resources) bool { return vhost(r, httpsRoutes).Name == "blackhole:443" }},
		{"servers.tls.httpsRedirect", func(w *world) {
			w.gw.Servers = append(w.gw.Servers, &networking.Server{Port: &networking.Port{Number: 80, Name: "http", Protocol: "HTTP"},
				Hosts: []string{"bookinfo.example.com"}, TLS: &networking.ServerTLSSettings{HTTPSRedirect: true}})
		}, func(r *translate.Resources) bool { return vhost(r, "http.80").RequireTls == routev3.VirtualHost_ALL }},
		{"servers.tls.mode PASSTHROUGH", func(w *world) {
			server(w).TLS = &networking.ServerTLSSettings{Mode: "PASSTHROUGH"}
			w.part.VirtualServices[2].Spec.TLS = []*networking.TLSRoute{{Match: []*networking.TLSMatchAttributes{{SniHosts: []string{"bookinfo.example.com"}}},
				Route: []*networking.RouteDestination{{Destination: &networking.Destination{Host: "reviews"}}}}}
		}, func(r *translate.Resources) bool {
			return firstTCPProxy(listener(r, "0.0.0.0_443")).GetCluster() == reviewsCluster
		}},
		{"servers.tls.serverCertificate, privateKey", func(w *world) { server(w).TLS.ServerCertificate = "/other.pem" },
			func(r *translate.Resources) bool {
				return https(r).GetCommonTlsContext().GetTlsCertificates()[0].GetCertificateChain().GetFilename() == "/other.pem"
			}},
		{"servers.tls.mode MUTUAL, caCertificates, subjectAltNames", func(w *world) {
			t := server(w).TLS
			t.Mode, t.CaCertificates, t.SubjectAltNames = "MUTUAL", "/ca.pem", []string{"client.example.com"}
		}, func(r *translate.Resources) bool {
			v := https(r).GetCommonTlsContext().GetValidationContext()
			//lint:ignore SA1019 Istio matches SANs of any type
			sans := v.GetMatchSubjectAltNames()
			return https(r).GetRequireClientCertificate().GetValue() && v.GetTrustedCa().GetFilename() == "/ca.pem" && len(sans) == 1
		}},
		{"servers.tls.minProtocolVersion", func(w *world) { server(w).TLS.MinProtocolVersion = "TLSV1_3" },
			func(r *translate.Resources) bool {
				return https(r).GetCommonTlsContext().GetTlsParams().GetTlsMinimumProtocolVersion() == tlsv3.TlsParameters_TLSv1_3
			}},
		{"servers.tls.maxProtocolVersion", func(w *world) { server(w).TLS.MaxProtocolVersion = "TLSV1_2" },
			func(r *translate.Resources) bool {
				return https(r).GetCommonTlsContext().GetTlsParams().GetTlsMaximumProtocolVersion() == tlsv3.TlsParameters_TLSv1_2
			}},
		{"servers.tls.cipherSuites", func(w *world) { server(w).TLS.CipherSuites = []string{"ECDHE-RSA-AES128-GCM-SHA256"} },
			func(r *translate.Resources) bool {
				return len(https(r).GetCommonTlsContext().GetTlsParams().GetCipherSuites()) == 1
			}},
		{"virtualService.gateways", func(w *world) { w.part.VirtualServices[2].Spec.Gateways = []string{"other/gw"} },
			func(r *translate.Resources) bool { return vhost(r, httpsRoutes).Name == "blackhole:443" }},
		{"http.match.gateways", func(w *world) {
			w.part.VirtualServices[2].Spec.HTTP[0].Match = []*networking.HTTPMatchRequest{{Gateways: []string{"default/other"}}}
		}, func(r *translate.Resources) bool { return vhost(r, httpsRoutes).Name == "blackhole:443" }},
	}
}
