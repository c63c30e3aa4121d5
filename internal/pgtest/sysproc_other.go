//go:build !linux

package pgtest

import (
	"errors"
	"os"
	"syscall"
)

// procAttr runs PostgreSQL's programs as this process's user; outside Linux the tests do not
// switch users, so they cannot run as root (initdb refuses to).
func procAttr() (attr *syscall.SysProcAttr, own func(dir string) error, err error) {
	if os.Geteuid() == 0 {
		return nil, nil, errors.New("pgtest runs PostgreSQL as root only on Linux (as the postgres user)")
	}
	return nil, func(string) error { return nil }, nil
}
