package main

import (
	"os"
	"path/filepath"
	"testing"
)

// A new dev server database runs with one partition a task queue from its
// first start on; one made before keeps four, whose waiting tasks would
// otherwise be stranded.
func TestOnePartitionOnlyForADatabaseMadeWithIt(t *testing.T) {
	dir := t.TempDir()
	fresh := filepath.Join(dir, "temporal.db")
	for start := 1; start <= 2; start++ {
		one, err := onePartitionDatabase(fresh)
		if err != nil || !one {
			t.Fatalf("start %d of a new database: one partition %v, %v", start, one, err)
		}
		// The server makes its file at the first start, and startTemporal
		// marks it once the server answers.
		if err := os.WriteFile(fresh, []byte("sqlite"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(fresh+onePartitionMarker, nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// A server that made its file but never answered left no marker.
	unmarked := filepath.Join(dir, "unmarked.db")
	if one, err := onePartitionDatabase(unmarked); err != nil || !one {
		t.Fatalf("a new database: one partition %v, %v", one, err)
	}
	if err := os.WriteFile(unmarked, []byte("sqlite"), 0o600); err != nil {
		t.Fatal(err)
	}
	if one, err := onePartitionDatabase(unmarked); err != nil || one {
		t.Fatalf("a database made without its marker: one partition %v, %v", one, err)
	}
	older := filepath.Join(dir, "older.db")
	if err := os.WriteFile(older, []byte("sqlite"), 0o600); err != nil {
		t.Fatal(err)
	}
	for start := 1; start <= 2; start++ {
		if one, err := onePartitionDatabase(older); err != nil || one {
			t.Fatalf("start %d of an older database: one partition %v, %v", start, one, err)
		}
	}
}
