package cmd

import (
	"fmt"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// version overrides the build information when set at build time:
// -ldflags "-X github.com/tokengate/tokengate/cmd.version=v1.2.3" (the Dockerfile does, since an
// image is built without the .git directory).
var version string

// Version returns tokengate's version: the one set at build time, else the main module's version
// from the build information (a release tag when installed with `go install …@v1.2.3`, a
// pseudo-version naming the VCS revision when built with `go build` in a checkout), else the VCS
// revision, else "(devel)" (`go run`).
func Version() string {
	if version != "" {
		return version
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "(devel)"
	}
	if v := info.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	var rev, dirty string
	for _, s := range info.Settings {
		switch {
		case s.Key == "vcs.revision":
			rev = s.Value
		case s.Key == "vcs.modified" && s.Value == "true":
			dirty = "+dirty"
		}
	}
	if rev == "" {
		return "(devel)"
	}
	return rev[:min(len(rev), 12)] + dirty
}

func newVersionCmd(sio IO) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print tokengate's version",
		Long:  "Print tokengate's version: the module version or VCS revision it was built from.",
		Args:  noArgs,
		RunE: func(*cobra.Command, []string) error {
			_, err := fmt.Fprintln(sio.Stdout, "tokengate", Version())
			return err
		},
	}
}
