package faults

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// gate skips the suite unless FAULTS=1: it takes minutes, and plain `go
// test ./...` should not wait for it.
func gate(t *testing.T) {
	t.Helper()
	if os.Getenv("FAULTS") != "1" {
		t.Skip("fault-injection suite: runs with FAULTS=1 (make faults)")
	}
	if os.Getenv("TEMPORAL_CLI") == "" {
		t.Fatal("TEMPORAL_CLI is not set: run the suite with `make faults`, which builds the pinned Temporal CLI")
	}
}

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// portalBinary is the binary under test: PORTAL_BIN (make faults passes
// the one `make build` made), else one built once for the whole run.
func portalBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		if p := os.Getenv("PORTAL_BIN"); p != "" {
			binPath = p
			return
		}
		dir, err := os.MkdirTemp("", "portal-faults-bin")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "portal")
		out, err := exec.CommandContext(context.Background(), "go", "build", "-o", binPath, "github.com/portalaccess/portal/cmd/portal").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("build portal: %w\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}
