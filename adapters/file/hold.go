package file

import (
	"fmt"
	"slices"
	"time"

	"github.com/minipilot/minipilot/model"
)

// changedFiles lists the files that differ between two reads: changed, added or removed.
func changedFiles(accepted, state dirState) []string {
	var names []string
	for name, v := range state {
		if old, ok := accepted[name]; !ok || !old.same(v) {
			names = append(names, name)
		}
	}
	for name := range accepted {
		if _, ok := state[name]; !ok {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}

// heldNotes says, for /debug/configz, which files have content that is not in force yet and why.
func heldNotes(accepted, state dirState, hold time.Duration) []model.Rejection {
	var notes []model.Rejection
	for _, name := range changedFiles(accepted, state) {
		reason := fmt.Sprintf("changed, perhaps still being written: its new content is used once it has stayed the same for %v; until then its previous content stays in force", hold)
		if _, ok := state[name]; !ok {
			reason = fmt.Sprintf("removed: its objects are withdrawn once it has stayed away for %v", hold)
		}
		notes = append(notes, model.Rejection{Meta: model.Meta{Source: name}, Reason: reason})
	}
	return notes
}
