package client_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
)

// TestGeneratedClientMatchesTheDocument regenerates the client from
// api/openapi.yaml with the oapi-codegen pinned in go.mod and the
// committed settings, and fails when client.gen.go differs: a change to
// the document must come with `make client`.
func TestGeneratedClientMatchesTheDocument(t *testing.T) {
	settings, err := os.ReadFile("oapi-codegen.yaml")
	if err != nil {
		t.Fatal(err)
	}
	fresh := filepath.Join(t.TempDir(), "client.gen.go")
	config := filepath.Join(t.TempDir(), "oapi-codegen.yaml")
	output := regexp.MustCompile(`(?m)^output: .*$`)
	if !output.Match(settings) {
		t.Fatal("oapi-codegen.yaml names no output file")
	}
	settings = output.ReplaceAll(settings, []byte("output: "+fresh))
	//nolint:gosec // config is a file in the test's own temporary directory
	if err := os.WriteFile(config, settings, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), "go", "tool", "oapi-codegen", "-config", config, "../api/openapi.yaml")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("oapi-codegen: %v\n%s", err, out)
	}
	want, err := os.ReadFile(fresh)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("client.gen.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("client/client.gen.go does not match api/openapi.yaml: run `make client` and commit the result")
	}
}
