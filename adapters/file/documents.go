//lint:file-ignore SA1019 v1 Endpoints are read on purpose: Services without a selector list external addresses there.

package file

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/minipilot/minipilot/adapters/k8s"
	"github.com/minipilot/minipilot/model"
)

// object is one decoded manifest: exactly one of its pointers is set.
type object struct {
	key    string // Kind/namespace/name
	source string // file#document
	file   string

	service       *corev1.Service
	endpointSlice *discoveryv1.EndpointSlice
	endpoints     *corev1.Endpoints
	pod           *corev1.Pod
	node          *corev1.Node
	config        model.Config
}

// docError is a document that could not be used. key is empty when the document could not even be
// read far enough to tell which object it is.
type docError struct {
	key    string
	meta   model.Meta
	reason string
}

// header is the part of every manifest that says what it is.
type header struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
	} `json:"metadata"`
}

// supportedKinds lists what a manifest may be, for the message that refuses anything else.
const supportedKinds = "v1 Service, Endpoints, Pod, Node and List; discovery.k8s.io/v1 EndpointSlice; " +
	"networking.istio.io/{v1,v1beta1,v1alpha3} VirtualService, DestinationRule, ServiceEntry, Gateway, Sidecar"

// parseFile splits a multi-document YAML (or JSON) file and decodes each document.
func (a *Adapter) parseFile(name string, data []byte) ([]*object, []docError) {
	if int64(len(data)) > a.limits.fileBytes {
		return nil, []docError{{meta: model.Meta{Source: name}, reason: a.limits.fileError(int64(len(data)))}}
	}
	var objs []*object
	var errs []docError
	reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	for index := 1; ; index++ {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		source := fmt.Sprintf("%s#%d", name, index)
		if err != nil {
			errs = append(errs, docError{meta: model.Meta{Source: source}, reason: fmt.Sprintf("reading YAML: %v", err)})
			break
		}
		if len(bytes.TrimSpace(stripComments(doc))) == 0 {
			index-- // an empty document ("---" at the top) is not counted, as kubectl does not
			continue
		}
		o, derr := a.parseYAMLDocument(name, source, doc)
		objs = append(objs, o...)
		errs = append(errs, derr...)
	}
	return objs, errs
}

// parseYAMLDocument checks one document against the limits, converts it to JSON as Kubernetes does,
// and decodes it.
func (a *Adapter) parseYAMLDocument(file, source string, doc []byte) (objs []*object, errs []docError) {
	refuse := func(reason string, args ...any) ([]*object, []docError) {
		return nil, []docError{{meta: model.Meta{Source: source}, reason: fmt.Sprintf(reason, args...)}}
	}
	defer func() {
		if r := recover(); r != nil {
			objs, errs = refuse("internal error: %v", r)
			a.log.Error("recovered from a panic reading a manifest", zap.String("source", source), zap.Any("panic", r), zap.StackSkip("stack", 1))
		}
	}()
	if err := a.limits.checkDocument(doc); err != nil {
		return refuse("%v", err)
	}
	js, err := yaml.YAMLToJSON(doc)
	if err != nil {
		return refuse("invalid YAML: %v", err)
	}
	if err := a.limits.checkJSON(len(doc), len(js)); err != nil {
		return refuse("%v", err)
	}
	return a.parseDocument(file, source, js)
}

func stripComments(doc []byte) []byte {
	var out bytes.Buffer
	for _, line := range bytes.Split(doc, []byte("\n")) {
		if t := bytes.TrimSpace(line); len(t) > 0 && t[0] != '#' {
			out.Write(line)
			out.WriteByte('\n')
		}
	}
	return out.Bytes()
}

// parseDocument decodes one document (as JSON). A panic while decoding or validating it refuses
// that document alone, as an internal error; the rest of the directory is served. (Converting the
// Kubernetes kinds into the model, later, guards each object the same way: k8s.Objects.Part.)
func (a *Adapter) parseDocument(file, source string, js []byte) (objs []*object, errs []docError) {
	var h header
	if err := json.Unmarshal(js, &h); err != nil {
		return nil, []docError{{meta: model.Meta{Source: source}, reason: fmt.Sprintf("not a Kubernetes object: %v", err)}}
	}
	if h.Metadata.Namespace == "" {
		h.Metadata.Namespace = "default" // as kubectl does
	}
	meta := model.Meta{Kind: model.Kind(h.Kind), Name: h.Metadata.Name, Namespace: h.Metadata.Namespace, Source: source}
	fail := func(reason string, args ...any) ([]*object, []docError) {
		key := ""
		if h.Kind != "" && h.Metadata.Name != "" {
			key = meta.Key()
		}
		return nil, []docError{{key: key, meta: meta, reason: fmt.Sprintf(reason, args...)}}
	}
	defer func() {
		if r := recover(); r != nil {
			objs, errs = fail("internal error: %v", r)
			a.log.Error("recovered from a panic handling a manifest", zap.String("source", source),
				zap.String("object", objectName(meta)), zap.Any("panic", r), zap.StackSkip("stack", 1))
		}
	}()
	if h.Kind == "" || h.APIVersion == "" {
		return fail("apiVersion and kind are required")
	}
	if h.APIVersion == "v1" && h.Kind == "List" {
		return a.parseList(file, source, js)
	}
	if h.Metadata.Name == "" {
		return fail("metadata.name is required")
	}
	o := &object{key: meta.Key(), source: source, file: file}
	group, _, _ := strings.Cut(h.APIVersion, "/")
	var target any
	switch {
	case h.APIVersion == "v1" && h.Kind == "Service":
		o.service = &corev1.Service{}
		target = o.service
	case h.APIVersion == "v1" && h.Kind == "Endpoints":
		o.endpoints = &corev1.Endpoints{}
		target = o.endpoints
	case h.APIVersion == "v1" && h.Kind == "Pod":
		o.pod = &corev1.Pod{}
		target = o.pod
	case h.APIVersion == "v1" && h.Kind == "Node":
		o.node = &corev1.Node{}
		target = o.node
	case h.APIVersion == "discovery.k8s.io/v1" && h.Kind == "EndpointSlice":
		o.endpointSlice = &discoveryv1.EndpointSlice{}
		target = o.endpointSlice
	case group == k8s.IstioGroup && k8s.IsIstioKind(h.Kind):
		if !validIstioVersion(h.APIVersion) {
			return fail("apiVersion %q is not served (want %s/v1, v1beta1 or v1alpha3)", h.APIVersion, k8s.IstioGroup)
		}
		cfg, err := a.decodeIstio(meta, js)
		if err != nil {
			return fail("%v", err)
		}
		o.config = cfg
		return []*object{o}, nil
	default:
		return fail("unknown kind %s %s (supported: %s)", h.APIVersion, h.Kind, supportedKinds)
	}
	if err := k8s.DecodeStrict(js, target, ""); err != nil {
		return fail("%v", err)
	}
	setDefaultNamespace(target, h.Metadata.Namespace)
	return []*object{o}, nil
}

func validIstioVersion(apiVersion string) bool {
	for _, v := range k8s.IstioVersions {
		if apiVersion == k8s.IstioGroup+"/"+v {
			return true
		}
	}
	return false
}

// istioObject is a networking.istio.io manifest; the spec is decoded by kind.
type istioObject struct {
	APIVersion string            `json:"apiVersion"`
	Kind       string            `json:"kind"`
	Metadata   metav1.ObjectMeta `json:"metadata"`
	Spec       json.RawMessage   `json:"spec"`
	Status     json.RawMessage   `json:"status,omitempty"`
}

func (a *Adapter) decodeIstio(meta model.Meta, js []byte) (model.Config, error) {
	var obj istioObject
	if err := k8s.DecodeStrict(js, &obj, ""); err != nil {
		return nil, err
	}
	meta.CreationTimestamp = obj.Metadata.CreationTimestamp.Time
	meta.Generation = obj.Metadata.Generation
	meta.ResourceVersion = obj.Metadata.ResourceVersion
	decode := k8s.DecodeConfig
	if a.decodeConfig != nil {
		decode = a.decodeConfig
	}
	cfg, _, err := decode(meta, obj.Spec)
	return cfg, err
}

func (a *Adapter) parseList(file, source string, js []byte) ([]*object, []docError) {
	var list struct {
		Items []json.RawMessage `json:"items"`
	}
	if err := json.Unmarshal(js, &list); err != nil {
		return nil, []docError{{meta: model.Meta{Source: source}, reason: fmt.Sprintf("invalid List: %v", err)}}
	}
	var objs []*object
	var errs []docError
	for i, item := range list.Items {
		o, e := a.parseDocument(file, fmt.Sprintf("%s.items[%d]", source, i), item)
		objs = append(objs, o...)
		errs = append(errs, e...)
	}
	return objs, errs
}

// setDefaultNamespace fills in "default" where a manifest has no namespace, as kubectl does.
func setDefaultNamespace(obj any, ns string) {
	switch o := obj.(type) {
	case *corev1.Service:
		o.Namespace = ns
	case *corev1.Endpoints:
		o.Namespace = ns
	case *corev1.Pod:
		o.Namespace = ns
	case *discoveryv1.EndpointSlice:
		o.Namespace = ns
	}
}

// value is the decoded object, whichever kind it is.
func (o *object) value() any {
	switch {
	case o.service != nil:
		return o.service
	case o.endpointSlice != nil:
		return o.endpointSlice
	case o.endpoints != nil:
		return o.endpoints
	case o.pod != nil:
		return o.pod
	case o.node != nil:
		return o.node
	}
	return o.config
}
