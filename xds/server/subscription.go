package server

// subscription is what a client asked for of one type.
type subscription struct {
	requested bool // the client has asked for this type at all
	wildcard  bool
	names     map[string]bool // never written to once made: streams may share it
	shared    *sharedNames    // the table's entry names is from, kept alive by the streams holding it
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

// namesNotIn lists the names s subscribes to by name that o does not name; nil when s is a
// wildcard or o is not a subscription yet.
func (s subscription) namesNotIn(o subscription) []string {
	if s.wildcard || o.wildcard || !o.requested {
		return nil
	}
	var out []string
	for n := range s.names {
		if !o.names[n] {
			out = append(out, n)
		}
	}
	return out
}

// changed applies a Delta request's subscription changes. A type's first request that names
// nothing subscribes to everything (the legacy wildcard); "*" subscribes and unsubscribes the
// wildcard explicitly.
func (s subscription) changed(first bool, subscribe, unsubscribe []string) subscription {
	out := subscription{requested: true, wildcard: s.wildcard || first && len(subscribe) == 0,
		names: make(map[string]bool, len(s.names)+len(subscribe))}
	for n := range s.names {
		out.names[n] = true
	}
	for _, n := range subscribe {
		if n == "*" {
			out.wildcard = true
			continue
		}
		out.names[n] = true
	}
	for _, n := range unsubscribe {
		if n == "*" {
			out.wildcard = false
			continue
		}
		delete(out.names, n)
	}
	return out
}
