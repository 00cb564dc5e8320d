//go:build unix

package file

import (
	"os"
	"syscall"
)

// fileID names a file apart from its path: its device and inode. Zero where the platform does not
// say, and a zero ID never matches (the file is read).
type fileID struct{ dev, ino uint64 }

func idOf(info os.FileInfo) fileID {
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		return fileID{}
	}
	return fileID{dev: uint64(st.Dev), ino: st.Ino}
}
