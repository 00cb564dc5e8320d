package file

import (
	"cmp"
	"crypto/sha256"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// fileVersion is one file as read: what identifies this version of it, and what it holds.
type fileVersion struct {
	size  int64
	mtime time.Time
	file  fileID            // the file itself: a file renamed into place is another one
	sum   [sha256.Size]byte // of the content; zero when it was not read

	objs    []*object
	errs    []docError
	readErr string // the file could not be used as a whole (unreadable, over the size limit)
	data    []byte // the content, only until it is parsed
}

// same says whether two reads found the same content.
func (v *fileVersion) same(o *fileVersion) bool {
	return v.size == o.size && v.mtime.Equal(o.mtime) && v.sum == o.sum && v.readErr == o.readErr
}

// dirState is the directory as read at one moment, by path relative to it.
type dirState map[string]*fileVersion

// sameContent says whether two reads of the directory found the same files with the same content.
func (s dirState) sameContent(o dirState) bool {
	if len(s) != len(o) {
		return false
	}
	for name, v := range s {
		if w, ok := o[name]; !ok || !v.same(w) {
			return false
		}
	}
	return true
}

// read reads every manifest below the directory. A file whose content is that of its version in one
// of prevs is not parsed again. A file for which quiet gives the version the last read found,
// because nothing can have changed it since (no event named it), is not even read if it is still
// that file, with the size and modification time it had: at a thousand services, reading and
// hashing every file again made up most of an endpoint change's way through the adapter. quiet may
// be nil. read also says how many files it read.
func (a *Adapter) read(quiet func(name string) *fileVersion, prevs ...dirState) (dirState, int, error) {
	files, err := manifestFiles(a.dir)
	if err != nil {
		return nil, 0, err
	}
	state, read := dirState{}, 0
	for _, name := range files {
		if quiet != nil {
			if last := quiet(name); last != nil && a.stillSame(name, last) {
				state[name] = last
				continue
			}
		}
		read++
		v := a.readFile(name)
		if old := known(v, name, prevs); old != nil {
			v = old
		} else if v.readErr == "" {
			v.objs, v.errs = a.parseFile(name, v.data)
		}
		v.data = nil
		state[name] = v
	}
	return state, read, nil
}

func known(v *fileVersion, name string, prevs []dirState) *fileVersion {
	for _, prev := range prevs {
		if old, ok := prev[name]; ok && old.same(v) {
			return old
		}
	}
	return nil
}

// stillSame says whether a file is still the one a version was read from, with the same size and
// modification time.
func (a *Adapter) stillSame(name string, v *fileVersion) bool {
	info, err := os.Stat(filepath.Join(a.dir, name))
	if err != nil {
		return false
	}
	id := idOf(info)
	return v.readErr == "" && id != (fileID{}) && v.file == id && v.size == info.Size() && v.mtime.Equal(info.ModTime())
}

// readFile reads one file, refusing one over the size limit before reading it (and one that grows
// past it while it is read).
func (a *Adapter) readFile(name string) *fileVersion {
	v := &fileVersion{}
	f, err := os.Open(filepath.Join(a.dir, name))
	if err != nil {
		v.readErr = err.Error()
		return v
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		v.readErr = err.Error()
		return v
	}
	v.size, v.mtime, v.file = info.Size(), info.ModTime(), idOf(info)
	switch {
	case info.IsDir():
		v.readErr = "is a directory"
		return v
	case info.Size() > a.limits.fileBytes:
		v.readErr = a.limits.fileError(info.Size())
		return v
	}
	data, err := io.ReadAll(io.LimitReader(f, a.limits.fileBytes+1))
	switch {
	case err != nil:
		v.readErr = err.Error()
	case int64(len(data)) > a.limits.fileBytes:
		v.readErr = a.limits.fileError(int64(len(data)))
	default:
		v.sum = sha256.Sum256(data)
		v.size = int64(len(data))
		v.data = data
	}
	return v
}

// manifestFiles lists the YAML and JSON files below dir, relative to it, sorted. Hidden files and
// directories (editor swap files, temporary files renamed into place, Kubernetes ConfigMap volumes'
// "..data" link and "..2006_01_02_…" directories) are skipped, so a ConfigMap's file is read once,
// through its visible link.
func manifestFiles(dir string) ([]string, error) {
	root, err := filepath.EvalSymlinks(dir) // the directory may be a link (swapped to update it)
	if err != nil {
		return nil, fmt.Errorf("reading config directory %s: %w", dir, err)
	}
	var files []string
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != root && hidden(d.Name()) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.IsDir() && isManifestName(p) {
			rel, _ := filepath.Rel(root, p)
			files = append(files, rel)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading config directory %s: %w", dir, err)
	}
	slices.SortFunc(files, cmp.Compare)
	return files, nil
}

func hidden(name string) bool { return strings.HasPrefix(name, ".") }

// hiddenPath says whether a path relative to the directory is, or is below, a hidden entry (or
// outside the directory).
func hiddenPath(rel string) bool {
	for _, part := range strings.Split(rel, string(filepath.Separator)) {
		if hidden(part) {
			return true
		}
	}
	return false
}

func isManifestName(p string) bool {
	switch strings.ToLower(filepath.Ext(p)) {
	case ".yaml", ".yml", ".json":
		return true
	}
	return false
}

// isManifestPath says whether rel (relative to the directory) is a file manifestFiles would list.
func isManifestPath(rel string) bool { return !hiddenPath(rel) && isManifestName(rel) }

// dirPrint is a cheap summary of the directory (its identity, and each manifest's name, size,
// modification time and file) for the periodic rescan that recovers from missed events.
type dirPrint struct {
	dir   os.FileInfo
	files string
}

func fingerprint(dir string) (dirPrint, error) {
	info, err := os.Stat(dir)
	if err != nil {
		return dirPrint{}, err
	}
	files, err := manifestFiles(dir)
	if err != nil {
		return dirPrint{}, err
	}
	var b strings.Builder
	for _, name := range files {
		// The file a name leads to (through links, as a ConfigMap volume's do) is named by its
		// inode: a swapped link leads to another.
		if info, err := os.Stat(filepath.Join(dir, name)); err == nil {
			fmt.Fprintf(&b, "%q %d %d %v\n", name, info.Size(), info.ModTime().UnixNano(), idOf(info))
		} else {
			fmt.Fprintf(&b, "%q %v\n", name, err)
		}
	}
	return dirPrint{dir: info, files: b.String()}, nil
}

// equal says whether nothing changed between two fingerprints; the directory replaced by another
// (recreated, renamed over, a link to it swapped) counts as a change.
func (p dirPrint) equal(o dirPrint) bool {
	return p.dir != nil && o.dir != nil && os.SameFile(p.dir, o.dir) && p.files == o.files
}
