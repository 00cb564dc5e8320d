package server

// subscription is what a client asked for of one type.
type subscription struct {
	requested bool // the client has asked for this type at all
	wildcard  bool
	names     map[string]bool
}

func newSubscription(names []string) subscription {
	sub := subscription{requested: true, wildcard: len(names) == 0, names: map[string]bool{}}
	for _, n := range names {
		if n == "*" {
			sub.wildcard = true
			continue
		}
		sub.names[n] = true
	}
	return sub
}

func (s subscription) sameAs(o subscription) bool {
	if s.requested != o.requested || s.wildcard != o.wildcard || len(s.names) != len(o.names) {
		return false
	}
	for n := range s.names {
		if !o.names[n] {
			return false
		}
	}
	return true
}
