package workflows

import (
	"fmt"
	"slices"
	"strings"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
)

// Cost is what one workflow run's history costs: its events, by type, and
// the actions Temporal Cloud bills for them.
type Cost struct {
	Events  int
	Actions int
	ByType  map[string]int
}

// HistoryCost counts a history's events by type and its billed actions: the
// start, each activity scheduled, timer started, signal, accepted update,
// search attribute or property change, child started or external signal,
// and one per workflow task that ran local activities (their markers are
// recorded together after the task completes).
func HistoryCost(h *historypb.History) Cost {
	c := Cost{ByType: map[string]int{}}
	localInTask := false
	for _, ev := range h.GetEvents() {
		c.Events++
		t := ev.GetEventType()
		c.ByType[t.String()]++
		switch t {
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED, enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED,
			enumspb.EVENT_TYPE_TIMER_STARTED, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,
			enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED, enumspb.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES,
			enumspb.EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED, enumspb.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED,
			enumspb.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED:
			c.Actions++
		case enumspb.EVENT_TYPE_MARKER_RECORDED:
			if ev.GetMarkerRecordedEventAttributes().GetMarkerName() == "LocalActivity" && !localInTask {
				c.Actions++
				localInTask = true
			}
		case enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
			localInTask = false
		}
	}
	return c
}

// String reads as the benchmark prints it: totals, then events by type.
func (c Cost) String() string {
	types := make([]string, 0, len(c.ByType))
	for t, n := range c.ByType {
		types = append(types, fmt.Sprintf("%s %d", t, n))
	}
	slices.Sort(types)
	return fmt.Sprintf("%d history events, about %d actions\n  %s\n", c.Events, c.Actions, strings.Join(types, ", "))
}
