package modeltest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Dir is a generated mesh kept as a directory of manifests, one file per object group. Every write is
// atomic, a hidden temporary file renamed into place, which pilot's file adapter applies at once
// (and never reads half-written).
type Dir struct {
	path   string
	groups map[string][]Object
}

// WriteDir writes a mesh into a directory that holds no manifests yet (it is created if needed).
func WriteDir(path string, objs []Object) (*Dir, error) {
	if err := os.MkdirAll(path, 0o755); err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), ".") {
			return nil, fmt.Errorf("%s is not empty (it holds %s): a generated mesh goes into a directory of its own", path, e.Name())
		}
	}
	d := newDir(path, objs)
	for _, g := range d.sortedGroups() {
		if err := d.writeGroup(g); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// OpenDir takes a directory WriteDir wrote with the same objects, for changing it; every file must
// hold what these objects render to, so that a scenario never changes a mesh other than the one it
// was told of.
func OpenDir(path string, objs []Object) (*Dir, error) {
	d := newDir(path, objs)
	for _, g := range d.sortedGroups() {
		got, err := os.ReadFile(d.file(g))
		if err != nil {
			return nil, fmt.Errorf("%w (was the mesh written with the same flags?)", err)
		}
		if !bytes.Equal(got, render(d.groups[g])) {
			return nil, fmt.Errorf("%s does not hold the generated mesh (was it written with the same flags?)", d.file(g))
		}
	}
	return d, nil
}

func newDir(path string, objs []Object) *Dir {
	d := &Dir{path: path, groups: map[string][]Object{}}
	for _, o := range objs {
		d.groups[o.Group] = append(d.groups[o.Group], o)
	}
	return d
}

// Write adds or replaces the objects in apply and removes those in remove (by kind, namespace and
// name), rewriting each file they touch once. A file left without objects stays, empty: pilot takes a
// rename into place at once, but holds a removed file (and every change with it) for a second.
func (d *Dir) Write(_ context.Context, apply, remove []Object) error {
	touched := map[string]bool{}
	for _, o := range remove {
		objs := d.groups[o.Group]
		if i := slices.IndexFunc(objs, func(x Object) bool { return x.Key() == o.Key() }); i >= 0 {
			d.groups[o.Group] = slices.Delete(objs, i, i+1)
			touched[o.Group] = true
		}
	}
	for _, o := range apply {
		objs := d.groups[o.Group]
		if i := slices.IndexFunc(objs, func(x Object) bool { return x.Key() == o.Key() }); i >= 0 {
			objs[i] = o
		} else {
			d.groups[o.Group] = append(objs, o)
		}
		touched[o.Group] = true
	}
	groups := make([]string, 0, len(touched))
	for g := range touched {
		groups = append(groups, g)
	}
	slices.Sort(groups)
	for _, g := range groups {
		if err := d.writeGroup(g); err != nil {
			return err
		}
	}
	return nil
}

func (d *Dir) sortedGroups() []string {
	out := make([]string, 0, len(d.groups))
	for g := range d.groups {
		out = append(out, g)
	}
	slices.Sort(out)
	return out
}

func (d *Dir) file(group string) string { return filepath.Join(d.path, group+".yaml") }

// writeGroup writes a group's file atomically: a hidden temporary file (which pilot does not read),
// then a rename into place.
func (d *Dir) writeGroup(group string) error {
	tmp, err := os.CreateTemp(d.path, ".tmp-"+group+"-")
	if err != nil {
		return err
	}
	_, werr := tmp.Write(render(d.groups[group]))
	if err := errors.Join(werr, tmp.Chmod(0o644), tmp.Close()); err != nil {
		_ = os.Remove(tmp.Name())
		return err
	}
	if err := os.Rename(tmp.Name(), d.file(group)); err != nil {
		_ = os.Remove(tmp.Name())
		return err
	}
	return nil
}

// render is a multi-document YAML file of JSON documents (JSON is YAML).
func render(objs []Object) []byte {
	var b bytes.Buffer
	for _, o := range objs {
		b.WriteString("---\n")
		b.Write(o.JSON())
		b.WriteByte('\n')
	}
	return b.Bytes()
}
