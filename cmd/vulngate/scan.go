package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"
)

// message is one value of govulncheck's JSON stream (-format json), with
// only the parts the gate reads.
type message struct {
	Config *struct {
		ScanMode string `json:"scan_mode"`
	} `json:"config"`
	OSV *struct {
		ID      string `json:"id"`
		Summary string `json:"summary"`
	} `json:"osv"`
	Finding *finding `json:"finding"`
}

type finding struct {
	OSV          string  `json:"osv"`
	FixedVersion string  `json:"fixed_version"`
	Trace        []frame `json:"trace"`
}

// frame is one step of a finding's trace; the first is the vulnerable
// symbol (or only its package or module), the last the code that reaches it.
type frame struct {
	Module   string `json:"module"`
	Version  string `json:"version"`
	Package  string `json:"package"`
	Function string `json:"function"`
	Receiver string `json:"receiver"`
	Position *struct {
		Filename string `json:"filename"`
		Line     int    `json:"line"`
	} `json:"position"`
}

// Scan is what one govulncheck run found.
type Scan struct {
	Name string // where it was read from
	Mode string // source or binary
	// Reached holds, by ID, the vulnerabilities whose vulnerable
	// functions the code calls: the ones that fail the gate.
	Reached map[string]*Vuln
	// Unreached counts the others: in packages the code imports or
	// modules it requires, but no vulnerable function is called.
	Unreached int
}

// Vuln is a reached vulnerability, with the shortest path to it.
type Vuln struct {
	ID, Summary    string
	Module         string // module@version, or the standard library's release
	Fixed          string // the first version without it; empty when none yet
	Path           string // e.g. main.go:10: plant.main -> middleware.RedirectSlashes
	shortestFrames int
}

// ReadScan reads govulncheck's JSON stream.
func ReadScan(name string, r io.Reader) (*Scan, error) {
	s := &Scan{Name: name, Reached: map[string]*Vuln{}}
	summaries := map[string]string{}
	all := map[string]bool{}
	sawConfig := false
	dec := json.NewDecoder(r)
	for {
		var m message
		err := dec.Decode(&m)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: not govulncheck JSON output: %w", name, err)
		}
		switch {
		case m.Config != nil:
			sawConfig, s.Mode = true, m.Config.ScanMode
		case m.OSV != nil:
			summaries[m.OSV.ID] = m.OSV.Summary
		case m.Finding != nil:
			all[m.Finding.OSV] = true
			s.add(m.Finding)
		}
	}
	if !sawConfig {
		// An empty file is a scan that never ran, not a clean one.
		return nil, fmt.Errorf("%s: no govulncheck config message: not a scan's output", name)
	}
	for id, v := range s.Reached {
		v.Summary = summaries[id]
	}
	s.Unreached = len(all) - len(s.Reached)
	return s, nil
}

func (s *Scan) add(f *finding) {
	if len(f.Trace) == 0 || f.Trace[0].Function == "" {
		return // module or package level: not called
	}
	v := s.Reached[f.OSV]
	if v == nil {
		top := f.Trace[0]
		module, fixed := top.Module+"@"+top.Version, f.FixedVersion
		if top.Module == "stdlib" {
			// govulncheck writes Go releases as semantic versions.
			module = "the standard library of go" + strings.TrimPrefix(top.Version, "v")
			if fixed != "" {
				fixed = "go" + strings.TrimPrefix(fixed, "v")
			}
		}
		v = &Vuln{ID: f.OSV, Module: module, Fixed: fixed}
		s.Reached[f.OSV] = v
	}
	if v.Path == "" || len(f.Trace) < v.shortestFrames {
		v.Path, v.shortestFrames = describe(f.Trace), len(f.Trace)
	}
}

// describe writes a trace from the calling code to the vulnerable symbol.
func describe(trace []frame) string {
	names := make([]string, 0, len(trace))
	for i := len(trace) - 1; i >= 0; i-- {
		names = append(names, symbol(trace[i]))
	}
	where := ""
	if p := trace[len(trace)-1].Position; p != nil {
		where = fmt.Sprintf("%s:%d: ", p.Filename, p.Line)
	}
	return where + strings.Join(names, " -> ")
}

var majorVersion = regexp.MustCompile(`/v[0-9]+$`)

func symbol(f frame) string {
	// The package's last element names it, but for a major version
	// suffix: github.com/go-chi/chi/v5 is chi.
	path := majorVersion.ReplaceAllString(f.Package, "")
	pkg := path[strings.LastIndex(path, "/")+1:]
	if f.Receiver != "" {
		return pkg + "." + strings.TrimPrefix(f.Receiver, "*") + "." + f.Function
	}
	return pkg + "." + f.Function
}

// IDs lists the reached vulnerabilities' IDs in order.
func (s *Scan) IDs() []string {
	ids := make([]string, 0, len(s.Reached))
	for id := range s.Reached {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}
