package translate

import (
	matcherv3 "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
)

// toAny packs a message. Packing fails only for a message that cannot be marshalled at all, which
// would be a bug in this package, so it panics rather than make every caller handle the impossible.
func toAny(m proto.Message) *anypb.Any {
	a, err := anypb.New(m)
	if err != nil {
		panic("translate: packing " + string(proto.MessageName(m)) + ": " + err.Error())
	}
	return a
}

func exactMatcher(s string) *matcherv3.StringMatcher {
	return &matcherv3.StringMatcher{MatchPattern: &matcherv3.StringMatcher_Exact{Exact: s}}
}
