package portal_test

import (
	"testing"
	"time"

	"github.com/portalaccess/portal"
)

func TestParseRateReadsCountAndPeriodAndRefusesNonsense(t *testing.T) {
	r, err := portal.ParseRate("30/1m")
	if err != nil || r.Count != 30 || r.Per != time.Minute || r.Interval() != 2*time.Second {
		t.Fatalf("30/1m = %+v, %v", r, err)
	}
	if r.String() != "30/1m0s" {
		t.Fatalf("String() = %q", r.String())
	}
	for _, bad := range []string{"", "30", "0/1m", "-1/1m", "x/1m", "30/", "30/abc", "30/500ms", "30/-1m"} {
		if _, err := portal.ParseRate(bad); err == nil {
			t.Errorf("ParseRate(%q) accepted", bad)
		}
	}
}

func TestPerSecondKeepsTheRateInABucketOfAboutASecond(t *testing.T) {
	for _, c := range []struct {
		n        float64
		count    int
		interval time.Duration
	}{
		{50, 50, 20 * time.Millisecond},
		{1, 1, time.Second},
		{0.5, 1, 2 * time.Second},
		{2.5, 3, 400 * time.Millisecond},
	} {
		r := portal.PerSecond(c.n)
		if r.Count != c.count || r.Interval() != c.interval {
			t.Errorf("PerSecond(%v) = %v, interval %v; want count %d, interval %v", c.n, r, r.Interval(), c.count, c.interval)
		}
	}
	if r := portal.PerSecond(0); r.Count != 0 {
		t.Errorf("PerSecond(0) = %v, want no rate", r)
	}
}

func TestLoginLockoutDoublesFromTheThresholdUpToTheCap(t *testing.T) {
	l := portal.DefaultLoginLockout
	want := map[int]time.Duration{1: 0, 9: 0, 10: time.Minute, 11: 2 * time.Minute, 12: 4 * time.Minute,
		15: 32 * time.Minute, 16: time.Hour, 17: time.Hour, 1000: time.Hour}
	for n, d := range want {
		if got := l.Lock(n); got != d {
			t.Errorf("Lock(%d) = %v, want %v", n, got, d)
		}
	}
}

func TestRetryWordsRoundsUpToAUnitAPersonReads(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "in 1 second", 300 * time.Millisecond: "in 1 second", time.Second: "in 1 second",
		41 * time.Second: "in 41 seconds", time.Minute: "in 1 minute", 61 * time.Second: "in 2 minutes",
		90 * time.Minute: "in 90 minutes", 91 * time.Minute: "in 2 hours", 3 * time.Hour: "in 3 hours",
	} {
		if got := portal.RetryWords(d); got != want {
			t.Errorf("RetryWords(%v) = %q, want %q", d, got, want)
		}
	}
}
