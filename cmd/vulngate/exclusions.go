package main

import (
	"bufio"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"
)

// Exclusion lets the gate pass a reached vulnerability that can't be fixed
// yet, until a date by which someone looks at it again.
type Exclusion struct {
	ID        string
	LookAgain time.Time
	Reason    string
	Line      int
}

var osvID = regexp.MustCompile(`^GO-\d{4}-\d{4,}$`)

// ParseExclusions reads the exclusions file: one exclusion a line,
//
//	GO-2026-1234  2027-01-31  reason, in a few words
//
// with blank lines and lines starting with # ignored.
func ParseExclusions(r io.Reader) ([]Exclusion, error) {
	var out []Exclusion
	seen := map[string]int{}
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		if len(fields) < 3 {
			return nil, fmt.Errorf("line %d: want <ID> <look-again date YYYY-MM-DD> <reason>, got %q", n, line)
		}
		if !osvID.MatchString(fields[0]) {
			return nil, fmt.Errorf("line %d: %q is not a Go vulnerability ID such as GO-2026-1234", n, fields[0])
		}
		date, err := time.Parse(time.DateOnly, fields[1])
		if err != nil {
			return nil, fmt.Errorf("line %d: look-again date %q: want YYYY-MM-DD", n, fields[1])
		}
		if prev, dup := seen[fields[0]]; dup {
			return nil, fmt.Errorf("line %d: %s is already excluded on line %d", n, fields[0], prev)
		}
		seen[fields[0]] = n
		out = append(out, Exclusion{ID: fields[0], LookAgain: date, Reason: strings.Join(fields[2:], " "), Line: n})
	}
	return out, sc.Err()
}

// Expired reports whether the look-again date has passed: the exclusion
// holds through its date and fails the day after.
func (e Exclusion) Expired(today time.Time) bool {
	y, m, d := today.Date()
	return e.LookAgain.Before(time.Date(y, m, d, 0, 0, 0, 0, time.UTC))
}
