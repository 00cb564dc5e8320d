package file

import (
	"go.uber.org/zap"

	"github.com/minipilot/minipilot/adapters/k8s"
	"github.com/minipilot/minipilot/model"
)

// Parse reads manifests exactly as the adapter reads its directory (the same decoding, limits,
// validation and conversion), from content in hand rather than a directory: for tools that check or
// preview manifests without serving them (pilotctl analyze and preview, the preview endpoint).
// files maps a name, used in messages, to its content. What cannot be used is in the Part's
// rejections, with file, document, object and reason.
func Parse(files map[string][]byte, opts k8s.Options) model.Part {
	a := New("", opts, zap.NewNop())
	state := dirState{}
	for name, data := range files {
		v := &fileVersion{size: int64(len(data))}
		if int64(len(data)) > a.limits.fileBytes {
			v.readErr = a.limits.fileError(int64(len(data)))
		} else {
			v.objs, v.errs = a.parseFile(name, data)
		}
		state[name] = v
	}
	a.accept(state)
	return a.Part()
}
