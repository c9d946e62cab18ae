package workflows

import (
	"encoding/json"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"
)

// durationsAsNanoseconds makes this process write durations as numbers, as
// versions before text durations did and as they can read.
var durationsAsNanoseconds atomic.Bool

// WriteDurationsAsNanoseconds sets how this process writes durations in
// workflow inputs and answers: as nanoseconds when on (WORKFLOW_DURATIONS
// =nanoseconds), as text otherwise. Every version reads both; only a
// version older than text durations cannot read text, so during a rolling
// deploy from one the new processes write numbers until no older worker
// or API process is left. A history holds whichever form was written and
// replays either way: the choice never reaches workflow logic.
func WriteDurationsAsNanoseconds(on bool) { durationsAsNanoseconds.Store(on) }

// Duration is a time.Duration that reads as a person writes it in
// workflow inputs and query answers ("72h", "90m"), where a bare
// time.Duration shows nanoseconds (259200000000000) in the Temporal UI.
// It still reads the numbers that older histories hold.
type Duration time.Duration

// Std is the duration as the time package has it.
func (d Duration) Std() time.Duration { return time.Duration(d) }

// String writes whole hours or minutes without the trailing zero units
// that time.Duration.String adds ("72h", not "72h0m0s").
func (d Duration) String() string {
	td := time.Duration(d)
	switch {
	case td == 0:
		return "0s"
	case td%time.Hour == 0:
		return strconv.FormatInt(int64(td/time.Hour), 10) + "h"
	case td%time.Minute == 0:
		return strconv.FormatInt(int64(td/time.Minute), 10) + "m"
	}
	return td.String()
}

// MarshalJSON writes the duration as text, or as nanoseconds while older
// versions may read it (WriteDurationsAsNanoseconds).
func (d Duration) MarshalJSON() ([]byte, error) {
	if durationsAsNanoseconds.Load() {
		return json.Marshal(int64(d))
	}
	return json.Marshal(d.String())
}

// UnmarshalJSON reads text ("72h") or, from histories recorded before
// durations were text, a number of nanoseconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		td, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("duration %q: %w", s, err)
		}
		*d = Duration(td)
		return nil
	}
	var n int64
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("duration %s: neither text nor nanoseconds", b)
	}
	*d = Duration(n)
	return nil
}
