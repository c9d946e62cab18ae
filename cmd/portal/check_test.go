package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/portalaccess/portal/store"
)

// The text report has a line a finding naming its kind, help center and
// IDs, then the counts; only inconsistencies count toward exit status 1.
func TestReportWritesFindingsAsTextAndCountsInconsistencies(t *testing.T) {
	var out bytes.Buffer
	r := &report{w: &out}
	if err := r.finding(store.Finding{Kind: store.FindingLostAccept, HelpCenterID: 7, IDs: []string{"inv-1", "account:3"}, Detail: "no access record"}); err != nil {
		t.Fatal(err)
	}
	if err := r.note(store.Finding{Kind: failedKind, IDs: []string{"invitation/acme/1", "run-1"}, Detail: "invited again since"}); err != nil {
		t.Fatal(err)
	}
	r.failed = 1
	if err := r.summary(); err != nil {
		t.Fatal(err)
	}
	want := "accepted_invitation_without_access\thelp center 7\tinv-1 account:3\tno access record\n" +
		"failed_invitation_workflow\t-\tinvitation/acme/1 run-1\tinvited again since\n" +
		"1 failed invitations, 0 restarted; 1 inconsistencies\n"
	if out.String() != want {
		t.Fatalf("got\n%s\nwant\n%s", out.String(), want)
	}
	if r.found != 1 {
		t.Fatalf("found %d, want 1: a note is not an inconsistency", r.found)
	}
}

// With -json each line is one object a script can read, and nothing else
// is written.
func TestReportWritesOneJSONObjectALine(t *testing.T) {
	var out bytes.Buffer
	r := &report{w: &out, json: true}
	if err := r.finding(store.Finding{Kind: store.FindingBulkCounts, HelpCenterID: 2, IDs: []string{"job-1"}, Detail: "d"}); err != nil {
		t.Fatal(err)
	}
	if err := r.note(store.Finding{Kind: failedKind, IDs: []string{"wf", "run"}}); err != nil {
		t.Fatal(err)
	}
	if err := r.summary(); err != nil {
		t.Fatal(err)
	}
	var lines []map[string]any
	sc := bufio.NewScanner(strings.NewReader(out.String()))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		lines = append(lines, m)
	}
	if len(lines) != 2 {
		t.Fatalf("%d lines, want 2: %s", len(lines), out.String())
	}
	if lines[0]["kind"] != store.FindingBulkCounts || lines[0]["help_center_id"] != float64(2) || lines[0]["inconsistent"] != true {
		t.Fatalf("first line %v", lines[0])
	}
	if ids, _ := lines[0]["ids"].([]any); len(ids) != 1 || ids[0] != "job-1" {
		t.Fatalf("ids %v", lines[0]["ids"])
	}
	if lines[1]["kind"] != failedKind || lines[1]["inconsistent"] != false {
		t.Fatalf("second line %v", lines[1])
	}
}
