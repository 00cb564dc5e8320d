package k8s

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
)

// PodInfo is what conversion reads of a Pod: its name, namespace and labels (the endpoints that
// refer to it take them) and its IP (checked). The Kubernetes adapter caches Pods in this form: a
// mesh has many more Pods than anything else, and a Pod is 1.1 KB before its spec holds anything.
type PodInfo struct {
	metav1.ObjectMeta // Name, Namespace, Labels and ResourceVersion only
	IP                string
}

// PodInfoOf keeps what conversion reads of p (nil for nil). It shares p's strings and labels.
func PodInfoOf(p *corev1.Pod) *PodInfo {
	if p == nil {
		return nil
	}
	return &PodInfo{
		ObjectMeta: metav1.ObjectMeta{Name: p.Name, Namespace: p.Namespace, Labels: p.Labels, ResourceVersion: p.ResourceVersion},
		IP:         p.Status.PodIP,
	}
}

// PodLookup finds a Pod by namespace and name; nil when unknown.
type PodLookup func(namespace, name string) *PodInfo

// indexPods indexes the Pods whose labels endpoints may take: a Pod the API server would refuse is
// left out, so the endpoints that refer to it have no labels (and no subset selects them).
func (c *converter) indexPods(pods []*corev1.Pod) PodLookup {
	m := make(map[string]*PodInfo, len(pods))
	for _, p := range pods {
		if info := PodInfoOf(p); info != nil && c.checkPod(info) {
			m[p.Namespace+"/"+p.Name] = info
		}
	}
	return func(ns, name string) *PodInfo { return m[ns+"/"+name] }
}

// checkPod checks what endpoints read of a Pod; one the API server would refuse is reported.
func (c *converter) checkPod(p *PodInfo) (ok bool) {
	c.guard(KindPod, p, func() {
		var ps problems
		ok = ps.objectName(p.Name, p.Namespace, "Pod", validation.IsDNS1123Subdomain)
		ok = ps.labels("metadata.labels", p.Labels) && ok
		if p.IP != "" {
			ok = ps.ip("status.podIP", p.IP, anyIP, "") && ok
		}
		c.report(KindPod, p, ps, !ok, " (the endpoints that refer to it get no labels)")
	})
	return ok
}
