package portal

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Rate is how many attempts are allowed per period: "30/1m" is thirty a
// minute, and they may all come at once, after which one more is allowed
// every two seconds.
type Rate struct {
	Count int
	Per   time.Duration
}

// ParseRate reads a rate written "count/period", such as "30/1m" or
// "10/15m".
func ParseRate(s string) (Rate, error) {
	count, per, ok := strings.Cut(strings.TrimSpace(s), "/")
	if !ok {
		return Rate{}, fmt.Errorf("%q is not a rate; write count/period, such as 30/1m", s)
	}
	n, err := strconv.Atoi(count)
	if err != nil || n < 1 {
		return Rate{}, fmt.Errorf("%q: the count must be a whole number of at least 1", s)
	}
	d, err := time.ParseDuration(per)
	if err != nil || d < time.Second {
		return Rate{}, fmt.Errorf("%q: the period must be a duration of at least 1s, such as 1m", s)
	}
	return Rate{Count: n, Per: d}, nil
}

func (r Rate) String() string { return fmt.Sprintf("%d/%s", r.Count, r.Per) }

// PerSecond is a rate of n a second (none when n is 0 or less), as a
// bucket of about a second's worth: a fraction of one a second is one
// per period of more than a second.
func PerSecond(n float64) Rate {
	if n <= 0 {
		return Rate{}
	}
	count := max(1, int(math.Round(n)))
	return Rate{Count: count, Per: time.Duration(float64(count) / n * float64(time.Second))}
}

// Interval is the time one attempt takes to earn back.
func (r Rate) Interval() time.Duration { return r.Per / time.Duration(r.Count) }

// LoginLockout is when failed logins lock an address out: after Threshold
// failures with no quiet Window between them, each further failure locks
// the address for twice as long as the one before, from Base up to Max.
// Whatever the password, a locked address cannot log in; a successful
// login or a password reset clears the count.
type LoginLockout struct {
	Threshold int
	Window    time.Duration
	Base, Max time.Duration
}

// DefaultLoginLockout locks an address for a minute after ten failures in
// fifteen minutes, then for 2, 4, 8... minutes, at most an hour, while the
// failures go on.
var DefaultLoginLockout = LoginLockout{Threshold: 10, Window: 15 * time.Minute, Base: time.Minute, Max: time.Hour}

// Lock is how long the failures-th failure in a row locks the address
// for: nothing below the threshold.
func (l LoginLockout) Lock(failures int) time.Duration {
	if failures < l.Threshold {
		return 0
	}
	d := l.Base
	for range failures - l.Threshold {
		if d >= l.Max {
			break
		}
		d *= 2
	}
	return min(d, l.Max)
}

// RetryWords says in words when a refused attempt may be tried again:
// "in 40 seconds", "in 3 minutes", "in 2 hours".
func RetryWords(d time.Duration) string {
	plural := func(n int64, unit string) string {
		if n == 1 {
			return "in 1 " + unit
		}
		return fmt.Sprintf("in %d %ss", n, unit)
	}
	switch {
	case d < time.Minute:
		return plural(max(1, int64((d+time.Second-1)/time.Second)), "second")
	case d <= 90*time.Minute:
		return plural(int64((d+time.Minute-1)/time.Minute), "minute")
	default:
		return plural(int64((d+time.Hour-1)/time.Hour), "hour")
	}
}
