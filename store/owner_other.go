//go:build !unix

package store

import (
	"io/fs"
	"os"
)

// keepOwner does nothing where file ownership is not POSIX.
func keepOwner(*os.File, fs.FileInfo) {}
