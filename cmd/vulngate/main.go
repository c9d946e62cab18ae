// Command vulngate reads govulncheck's JSON output (-format json) and fails
// when the code reaches a known vulnerability that the exclusions file
// doesn't exclude, or when an exclusion is past its look-again date.
// Vulnerabilities only in imported packages or required modules, whose
// vulnerable functions nothing calls, are counted but pass.
//
//	vulngate -exclusions vulncheck-exclusions.txt source.json binary.json
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"time"
)

func main() {
	exclusionsPath := flag.String("exclusions", "vulncheck-exclusions.txt", "file of excluded vulnerability IDs, each with a look-again date and a reason")
	flag.Parse()
	if flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: vulngate [-exclusions file] <govulncheck JSON>...")
		os.Exit(2)
	}
	ok, err := run(os.Stdout, *exclusionsPath, flag.Args(), time.Now().UTC())
	if err != nil {
		fmt.Fprintln(os.Stderr, "vulngate:", err)
		os.Exit(2)
	}
	if !ok {
		os.Exit(1)
	}
}

func run(out io.Writer, exclusionsPath string, scanPaths []string, today time.Time) (bool, error) {
	var exclusions []Exclusion
	text, err := os.ReadFile(exclusionsPath) //nolint:gosec // G304: the file named on the command line
	switch {
	case err == nil:
		if exclusions, err = ParseExclusions(bytes.NewReader(text)); err != nil {
			return false, fmt.Errorf("%s: %w", exclusionsPath, err)
		}
	case !errors.Is(err, fs.ErrNotExist):
		return false, err
	}
	var scans []*Scan
	for _, p := range scanPaths {
		data, err := os.ReadFile(p) //nolint:gosec // G304: the files named on the command line
		if err != nil {
			return false, err
		}
		s, err := ReadScan(p, bytes.NewReader(data))
		if err != nil {
			return false, err
		}
		scans = append(scans, s)
	}
	v := Judge(scans, exclusions, today)
	_, err = io.WriteString(out, report(scans, v))
	return v.Pass(), err
}

func report(scans []*Scan, v Verdict) string {
	var b strings.Builder
	for _, s := range scans {
		fmt.Fprintf(&b, "vulngate: %s scan of %s: %d reached, %d more in imported packages or required modules but not called\n",
			s.Mode, s.Name, len(s.Reached), s.Unreached)
	}
	for _, n := range v.Notes {
		b.WriteString("  note: " + n + "\n")
	}
	for _, f := range v.Failures {
		b.WriteString("  FAIL: " + f + "\n")
	}
	if v.Pass() {
		b.WriteString("vulngate: pass\n")
	} else {
		fmt.Fprintf(&b, "vulngate: %d failure(s)\n", len(v.Failures))
	}
	return b.String()
}
