package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The recordings are govulncheck v1.9.0's JSON output, trimmed of
// unrelated OSV entries: a scratch program calling chi v5.2.1's
// middleware.RedirectSlashes (GO-2025-3770), scanned as source and as a
// binary, and the portal's binary after its upgrades.

var today = time.Date(2026, 11, 29, 15, 0, 0, 0, time.UTC)

func readScan(t *testing.T, name string) *Scan {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	s, err := ReadScan(name, bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func exclusions(t *testing.T, text string) []Exclusion {
	t.Helper()
	e, err := ParseExclusions(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestReachedVulnerabilityFails(t *testing.T) {
	for _, name := range []string{"chi-reached.json", "chi-reached-binary.json"} {
		t.Run(name, func(t *testing.T) {
			s := readScan(t, name)
			if ids := s.IDs(); len(ids) != 1 || ids[0] != "GO-2025-3770" {
				t.Fatalf("reached %v, want only GO-2025-3770 (the others are imported, not called)", ids)
			}
			v := Judge([]*Scan{s}, nil, today)
			if v.Pass() || len(v.Failures) != 1 || !strings.Contains(v.Failures[0], "GO-2025-3770") ||
				!strings.Contains(v.Failures[0], "fixed in v5.2.2") || !strings.Contains(v.Failures[0], "RedirectSlashes") {
				t.Fatalf("verdict %+v", v)
			}
		})
	}
}

func TestSourceScanNamesTheCallingLine(t *testing.T) {
	s := readScan(t, "chi-reached.json")
	if got := s.Reached["GO-2025-3770"].Path; got != "main.go:10: plant.main -> middleware.RedirectSlashes" {
		t.Fatalf("path %q", got)
	}
}

func TestImportedButUncalledVulnerabilitiesPass(t *testing.T) {
	s := readScan(t, "chi-reached.json")
	if s.Unreached != 3 {
		t.Fatalf("unreached %d, want 3 (GO-2026-5774, -5775, -5777)", s.Unreached)
	}
}

func TestExcludedVulnerabilityPassesWithANote(t *testing.T) {
	s := readScan(t, "chi-reached.json")
	v := Judge([]*Scan{s}, exclusions(t, "# comment\n\nGO-2025-3770  2026-12-15  no fixed chi for our Go yet\n"), today)
	if !v.Pass() {
		t.Fatalf("failures %v", v.Failures)
	}
	if len(v.Notes) != 1 || !strings.Contains(v.Notes[0], "excluded until 2026-12-15 (no fixed chi for our Go yet)") {
		t.Fatalf("notes %v", v.Notes)
	}
}

func TestExclusionHoldsThroughItsDate(t *testing.T) {
	s := readScan(t, "chi-reached.json")
	if v := Judge([]*Scan{s}, exclusions(t, "GO-2025-3770 2026-11-29 look again today\n"), today); !v.Pass() {
		t.Fatalf("failures %v", v.Failures)
	}
}

func TestExpiredExclusionFails(t *testing.T) {
	s := readScan(t, "chi-reached.json")
	v := Judge([]*Scan{s}, exclusions(t, "GO-2025-3770  2026-11-28  no fixed chi for our Go yet\n"), today)
	if v.Pass() || len(v.Failures) != 1 || !strings.Contains(v.Failures[0], "exclusion of GO-2025-3770 (line 1) was to be looked at again by 2026-11-28") {
		t.Fatalf("verdict %+v", v)
	}
}

func TestExpiredExclusionFailsEvenWhenNothingReachesIt(t *testing.T) {
	s := readScan(t, "clean-binary.json")
	v := Judge([]*Scan{s}, exclusions(t, "GO-2025-3770  2026-01-31  chi was old\n"), today)
	if v.Pass() {
		t.Fatal("an expired exclusion passed")
	}
}

func TestCleanScanPassesAndStaleExclusionIsNoted(t *testing.T) {
	s := readScan(t, "clean-binary.json")
	if len(s.Reached) != 0 || s.Mode != "binary" {
		t.Fatalf("scan %+v", s)
	}
	v := Judge([]*Scan{s}, exclusions(t, "GO-2025-3770  2027-01-31  chi was old\n"), today)
	if !v.Pass() || len(v.Notes) != 1 || !strings.Contains(v.Notes[0], "matches nothing any more: remove it") {
		t.Fatalf("verdict %+v", v)
	}
}

func TestEmptyOutputIsNotACleanScan(t *testing.T) {
	if _, err := ReadScan("empty", strings.NewReader("")); err == nil {
		t.Fatal("empty output read as a scan")
	}
	if _, err := ReadScan("text", strings.NewReader("No vulnerabilities found.\n")); err == nil {
		t.Fatal("text output read as a scan")
	}
}

func TestMalformedExclusionsAreRejected(t *testing.T) {
	for _, text := range []string{
		"GO-2025-3770 2027-01-31\n",                              // no reason
		"GO-2025-3770 31/01/2027 reason\n",                       // date format
		"CVE-2025-1234 2027-01-31 reason\n",                      // not a Go ID
		"GO-2025-3770 2027-01-31 a\nGO-2025-3770 2027-02-01 b\n", // twice
	} {
		if _, err := ParseExclusions(strings.NewReader(text)); err == nil {
			t.Errorf("accepted %q", text)
		}
	}
}

func TestRunReportsAndExitsOnTheVerdict(t *testing.T) {
	dir := t.TempDir()
	excl := filepath.Join(dir, "exclusions.txt")
	if err := os.WriteFile(excl, []byte("# none\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	ok, err := run(&out, excl, []string{"testdata/clean-binary.json", "testdata/chi-reached.json"}, today)
	if err != nil || ok {
		t.Fatalf("ok %v err %v\n%s", ok, err, out.String())
	}
	for _, want := range []string{"binary scan of testdata/clean-binary.json: 0 reached", "FAIL: reached: GO-2025-3770", "1 failure(s)"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	out.Reset()
	if ok, err := run(&out, excl, []string{"testdata/clean-binary.json"}, today); err != nil || !ok {
		t.Fatalf("clean scan: ok %v err %v\n%s", ok, err, out.String())
	}
}
