package pilot

import (
	"encoding/json"
	"io"
	"net/http"

	"google.golang.org/protobuf/encoding/protojson"

	"github.com/minipilot/minipilot/adapters/file"
	"github.com/minipilot/minipilot/adapters/k8s"
	"github.com/minipilot/minipilot/model"
)

// maxPreviewBytes bounds a preview's manifests, as the file adapter bounds one file.
const maxPreviewBytes = 4 << 20

// PreviewResponse is what POST /debug/preview?node=<id> answers: the proxy's config now, and what it
// would be with the posted manifests applied (both Envoy admin config dumps), and the posted objects
// that could not be used.
type PreviewResponse struct {
	Node     string            `json:"node"`
	Current  json.RawMessage   `json:"current"`
	Preview  json.RawMessage   `json:"preview"`
	Rejected []model.Rejection `json:"rejected"`
}

// preview translates the current model plus the posted manifests for one connected proxy, without
// applying them: pilotctl preview shows the difference.
func (d *debugHandlers) preview(w http.ResponseWriter, r *http.Request) {
	node := r.URL.Query().Get("node")
	if node == "" {
		d.writeError(w, http.StatusBadRequest, "name the proxy with ?node=<node ID or pod.namespace> (see /debug/syncz for the connected ones)")
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxPreviewBytes+1))
	if err != nil {
		d.writeError(w, http.StatusBadRequest, "reading the manifests: "+err.Error())
		return
	}
	if len(body) > maxPreviewBytes {
		d.writeError(w, http.StatusRequestEntityTooLarge, "the manifests are over 4 MiB")
		return
	}
	overlay := file.Parse(map[string][]byte{"preview": body}, k8s.Options{DomainSuffix: d.store.DomainSuffix()})
	current, preview, err := d.xds.Preview(node, d.store.WithOverlay(overlay))
	if err != nil {
		d.writeError(w, http.StatusNotFound, err.Error())
		return
	}
	out := PreviewResponse{Node: node, Rejected: orEmpty(overlay.Rejections)}
	if out.Current, err = protojson.Marshal(current); err == nil {
		out.Preview, err = protojson.Marshal(preview)
	}
	if err != nil {
		d.writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	d.writeJSON(w, out)
}

// pushz lists the last pushes: what changed, which proxies were sent it, and when each took it.
func (d *debugHandlers) pushz(w http.ResponseWriter, _ *http.Request) {
	d.writeJSON(w, map[string]any{"pushes": orEmpty(d.xds.Pushes())})
}
