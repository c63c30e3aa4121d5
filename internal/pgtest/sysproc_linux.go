package pgtest

import (
	"fmt"
	"os"
	"os/user"
	"strconv"
	"syscall"
)

// procAttr says how to run PostgreSQL's programs. As root they run as the postgres OS user (made
// by Debian's package), because initdb and postgres refuse to run as root; own hands a directory
// to that user. Otherwise they run as this process's user and own does nothing. The children are
// killed if the test binary dies without cleaning up (the postmaster's own children notice its
// death and exit by themselves).
func procAttr() (attr *syscall.SysProcAttr, own func(dir string) error, err error) {
	attr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if os.Geteuid() != 0 {
		return attr, func(string) error { return nil }, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, nil, fmt.Errorf("running as root, and there is no postgres OS user to run PostgreSQL as (%v): %s", err, missing)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err1 != nil || err2 != nil {
		return nil, nil, fmt.Errorf("postgres OS user has a non-numeric uid %q or gid %q", u.Uid, u.Gid)
	}
	attr.Credential = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), NoSetGroups: true}
	return attr, func(dir string) error { return os.Chown(dir, int(uid), int(gid)) }, nil
}
