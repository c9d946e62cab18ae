// Package buildinfo names the build a binary came from: the module version,
// the commit and its time, and the Go release, as the go command stamped
// them into the binary. `portal version`, the start-up log line and the
// readiness answer all show it.
package buildinfo

import (
	"fmt"
	"log/slog"
	"runtime/debug"
	"strings"
	"sync"
)

// Info describes one build.
type Info struct {
	// Version is the main module's version: a tag, a pseudo-version
	// derived from the commit, or "(devel)" when the go command had none.
	Version string `json:"version"`
	// Commit and CommitTime are empty for a build without VCS stamping
	// (go build -buildvcs=false, or a source tree without .git).
	Commit     string `json:"commit,omitempty"`
	CommitTime string `json:"commit_time,omitempty"`
	// Modified reports a build from a work tree with uncommitted changes.
	Modified  bool   `json:"modified"`
	GoVersion string `json:"go_version"`
}

// Read returns the running binary's build information.
var Read = sync.OnceValue(func() Info {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return Info{Version: "(unknown)", GoVersion: "(unknown)"}
	}
	return From(bi)
})

// From extracts Info from what the go command recorded.
func From(bi *debug.BuildInfo) Info {
	info := Info{Version: bi.Main.Version, GoVersion: bi.GoVersion}
	if info.Version == "" {
		info.Version = "(devel)"
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			info.Commit = s.Value
		case "vcs.time":
			info.CommitTime = s.Value
		case "vcs.modified":
			info.Modified = s.Value == "true"
		}
	}
	return info
}

// String is the one-line form: version, commit (with its time) and Go release.
func (i Info) String() string {
	var b strings.Builder
	b.WriteString(i.Version)
	if i.Commit != "" {
		fmt.Fprintf(&b, " commit %s", i.Commit)
		if i.CommitTime != "" {
			fmt.Fprintf(&b, " (%s)", i.CommitTime)
		}
		if i.Modified {
			b.WriteString(" modified")
		}
	}
	fmt.Fprintf(&b, " %s", i.GoVersion)
	return b.String()
}

// LogValue logs Info as a group: build.version=... build.commit=...
func (i Info) LogValue() slog.Value {
	attrs := []slog.Attr{slog.String("version", i.Version)}
	if i.Commit != "" {
		attrs = append(attrs, slog.String("commit", i.Commit), slog.String("commit_time", i.CommitTime),
			slog.Bool("modified", i.Modified))
	}
	attrs = append(attrs, slog.String("go", i.GoVersion))
	return slog.GroupValue(attrs...)
}
