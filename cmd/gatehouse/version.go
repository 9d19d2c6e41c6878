package main

import (
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// Set at build time to override what the Go toolchain recorded, e.g.
//
//	go build -ldflags "-X main.version=v1.2.0 -X main.commit=$(git rev-parse HEAD) -X main.date=$(date -u +%FT%TZ)" ./cmd/gatehouse
var version, commit, date string

// build is what `gatehouse version` reports.
type build struct {
	Version string `json:"version"`
	Commit  string `json:"commit"`
	// Date is -X main.date (the release's build date) or else the commit's
	// time, the one reproducible date the toolchain records.
	Date string `json:"date"`
	// Modified: the binary was built from a work tree with uncommitted changes.
	Modified bool   `json:"modified"`
	Go       string `json:"go"`
}

// readBuild reads the module version and the VCS stamp the toolchain put
// in the binary (go build in a git checkout records vcs.revision and
// vcs.time); -ldflags -X values win.
func readBuild() build {
	b := build{Version: "dev", Commit: "unknown", Date: "unknown", Go: runtime.Version()}
	if bi, ok := debug.ReadBuildInfo(); ok {
		b = fromBuildInfo(b, bi)
	}
	for _, o := range []struct {
		to *string
		v  string
	}{{&b.Version, version}, {&b.Commit, commit}, {&b.Date, date}} {
		if o.v != "" {
			*o.to = o.v
		}
	}
	return b
}

func fromBuildInfo(b build, bi *debug.BuildInfo) build {
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		b.Version = v
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			b.Commit = s.Value
		case "vcs.time":
			b.Date = s.Value
		case "vcs.modified":
			b.Modified = s.Value == "true"
		}
	}
	return b
}

func versionCmd(stdout io.Writer) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version, commit and build date",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			b := readBuild()
			if asJSON {
				return json.NewEncoder(stdout).Encode(b)
			}
			dirty := ""
			if b.Modified {
				dirty = " (modified)"
			}
			_, err := fmt.Fprintf(stdout, "gatehouse %s\ncommit  %s%s\ndate    %s\ngo      %s\n", b.Version, b.Commit, dirty, b.Date, b.Go)
			return err
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object")
	return cmd
}
