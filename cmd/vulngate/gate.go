package main

import (
	"fmt"
	"time"
)

// Verdict is the gate's answer over one or more scans.
type Verdict struct {
	Failures []string // each fails the gate
	Notes    []string // worth reading, not failing
}

// Pass reports whether nothing failed.
func (v Verdict) Pass() bool { return len(v.Failures) == 0 }

// Judge fails every reached vulnerability that no exclusion covers, and
// every exclusion past its look-again date, whether or not it is still
// reached: an exclusion never outlives its date silently.
func Judge(scans []*Scan, exclusions []Exclusion, today time.Time) Verdict {
	var v Verdict
	excluded := map[string]Exclusion{}
	for _, e := range exclusions {
		excluded[e.ID] = e
		if e.Expired(today) {
			v.Failures = append(v.Failures, fmt.Sprintf("exclusion of %s (line %d) was to be looked at again by %s: fix it, or move the date with today's reason",
				e.ID, e.Line, e.LookAgain.Format(time.DateOnly)))
		}
	}
	stillReached := map[string]bool{}
	for _, s := range scans {
		for _, id := range s.IDs() {
			r := s.Reached[id]
			stillReached[id] = true
			fixed := "no fixed version yet"
			if r.Fixed != "" {
				fixed = "fixed in " + r.Fixed
			}
			line := fmt.Sprintf("%s (%s scan of %s): %s in %s, %s\n      %s", id, s.Mode, s.Name, r.Summary, r.Module, fixed, r.Path)
			if e, ok := excluded[id]; ok {
				v.Notes = append(v.Notes, fmt.Sprintf("excluded until %s (%s): %s", e.LookAgain.Format(time.DateOnly), e.Reason, line))
				continue
			}
			v.Failures = append(v.Failures, "reached: "+line)
		}
	}
	for _, e := range exclusions {
		if !stillReached[e.ID] {
			v.Notes = append(v.Notes, fmt.Sprintf("exclusion of %s (line %d) matches nothing any more: remove it", e.ID, e.Line))
		}
	}
	return v
}
