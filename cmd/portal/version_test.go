package main

import (
	"bytes"
	"testing"

	"github.com/portalaccess/portal/buildinfo"
)

func TestPrintVersionNamesCommitAndGoRelease(t *testing.T) {
	var out bytes.Buffer
	err := printVersion(&out, buildinfo.Info{Version: "v0.0.0-20261129145100-3ec3ab0d1e2f", Commit: "3ec3ab0d1e2f00112233445566778899aabbccdd",
		CommitTime: "2026-11-29T14:51:00Z", GoVersion: "go1.27.3"})
	want := "version:     v0.0.0-20261129145100-3ec3ab0d1e2f\n" +
		"commit:      3ec3ab0d1e2f00112233445566778899aabbccdd\n" +
		"commit time: 2026-11-29T14:51:00Z\n" +
		"modified:    false\n" +
		"go:          go1.27.3\n"
	if err != nil || out.String() != want {
		t.Fatalf("got\n%s\nwant\n%s", out.String(), want)
	}
}
