package buildinfo

import (
	"bytes"
	"log/slog"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

func TestFromReadsVersionCommitAndGoRelease(t *testing.T) {
	bi := &debug.BuildInfo{
		GoVersion: "go1.27.3",
		Main:      debug.Module{Path: "github.com/portalaccess/portal", Version: "v0.0.0-20261129145100-3ec3ab0d1e2f+dirty"},
		Settings: []debug.BuildSetting{
			{Key: "-trimpath", Value: "true"},
			{Key: "vcs", Value: "git"},
			{Key: "vcs.revision", Value: "3ec3ab0d1e2f00112233445566778899aabbccdd"},
			{Key: "vcs.time", Value: "2026-11-29T14:51:00Z"},
			{Key: "vcs.modified", Value: "true"},
		},
	}
	got := From(bi)
	want := Info{Version: "v0.0.0-20261129145100-3ec3ab0d1e2f+dirty", Commit: "3ec3ab0d1e2f00112233445566778899aabbccdd",
		CommitTime: "2026-11-29T14:51:00Z", Modified: true, GoVersion: "go1.27.3"}
	if got != want {
		t.Fatalf("From = %+v, want %+v", got, want)
	}
	if s := got.String(); s != "v0.0.0-20261129145100-3ec3ab0d1e2f+dirty commit 3ec3ab0d1e2f00112233445566778899aabbccdd (2026-11-29T14:51:00Z) modified go1.27.3" {
		t.Fatalf("String = %q", s)
	}
}

func TestFromWithoutVCSStampingSaysDevel(t *testing.T) {
	got := From(&debug.BuildInfo{GoVersion: "go1.27.3"})
	if got != (Info{Version: "(devel)", GoVersion: "go1.27.3"}) {
		t.Fatalf("From = %+v", got)
	}
	if s := got.String(); s != "(devel) go1.27.3" {
		t.Fatalf("String = %q", s)
	}
}

func TestReadNamesTheRunningGoRelease(t *testing.T) {
	if got := Read().GoVersion; got != runtime.Version() {
		t.Fatalf("GoVersion = %q, want %q", got, runtime.Version())
	}
}

func TestLogValueGroupsTheFields(t *testing.T) {
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("starting", "build",
		Info{Version: "v1.2.3", Commit: "abc", CommitTime: "2026-11-29T14:51:00Z", GoVersion: "go1.27.3"})
	for _, want := range []string{"build.version=v1.2.3", "build.commit=abc", "build.commit_time=2026-11-29T14:51:00Z", "build.modified=false", "build.go=go1.27.3"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("log line %q lacks %q", buf.String(), want)
		}
	}
}
