package config

import (
	"fmt"
	"strings"
)

// WorkflowSettings size bulk jobs and name the mail task queues.
type WorkflowSettings struct {
	// BulkPageSize, BulkWindow and BulkChildrenPerRun size new bulk jobs:
	// contacts read per page, invitation starts in flight at once, and
	// invitations per run before the job continues as new. The starter
	// clamps them and passes them in the job's input, so a change reaches
	// new jobs only. Zero means the default.
	BulkPageSize       int `env:"BULK_PAGE_SIZE, default=100"`
	BulkWindow         int `env:"BULK_WINDOW, default=25"`
	BulkChildrenPerRun int `env:"BULK_CHILDREN_PER_RUN, default=500"`

	// MailTaskQueueFormer lists mail task queues used before a rename of
	// MAIL_TASK_QUEUE: the worker keeps polling them, so the emails of
	// workflows started with a former name are still sent.
	MailTaskQueueFormer []string `env:"MAIL_TASK_QUEUE_FORMER"`

	// WorkflowDurations is how durations are written in workflow inputs
	// and answers: "text" ("72h", readable in the Temporal UI) or
	// "nanoseconds", which versions before text durations can read too:
	// set it while upgrading from one of those with a rolling deploy, and
	// remove it once none of their processes is left.
	WorkflowDurations string `env:"WORKFLOW_DURATIONS, default=text"`
}

// DurationsAsNanoseconds tells whether durations are written as numbers.
func (w WorkflowSettings) DurationsAsNanoseconds() bool { return w.WorkflowDurations == "nanoseconds" }

// Bounds of the bulk settings; the starter clamps to the same.
const (
	minBulkPageSize       = 10
	maxBulkPageSize       = 1000
	maxBulkWindow         = 200
	minBulkChildrenPerRun = 50
	maxBulkChildrenPerRun = 2000
)

func (c *Config) validateWorkflows() error {
	switch {
	case c.BulkPageSize != 0 && (c.BulkPageSize < minBulkPageSize || c.BulkPageSize > maxBulkPageSize):
		return fmt.Errorf("BULK_PAGE_SIZE: must be %d to %d (0: default), got %d", minBulkPageSize, maxBulkPageSize, c.BulkPageSize)
	case c.BulkWindow < 0 || c.BulkWindow > maxBulkWindow:
		return fmt.Errorf("BULK_WINDOW: must be 1 to %d (0: default), got %d", maxBulkWindow, c.BulkWindow)
	case c.BulkChildrenPerRun != 0 && (c.BulkChildrenPerRun < minBulkChildrenPerRun || c.BulkChildrenPerRun > maxBulkChildrenPerRun):
		return fmt.Errorf("BULK_CHILDREN_PER_RUN: must be %d to %d (0: default), got %d", minBulkChildrenPerRun, maxBulkChildrenPerRun, c.BulkChildrenPerRun)
	}
	if c.WorkflowDurations != "text" && c.WorkflowDurations != "nanoseconds" {
		return fmt.Errorf("WORKFLOW_DURATIONS: must be text or nanoseconds, got %q", c.WorkflowDurations)
	}
	for _, q := range c.MailTaskQueueFormer {
		switch q = strings.TrimSpace(q); q {
		case "":
			return fmt.Errorf("MAIL_TASK_QUEUE_FORMER: a name is empty")
		case c.MailTaskQueue, c.TemporalTaskQueue:
			return fmt.Errorf("MAIL_TASK_QUEUE_FORMER: %q is a queue in use, not a former one", q)
		}
	}
	return nil
}
