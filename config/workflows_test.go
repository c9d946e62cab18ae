package config

import (
	"slices"
	"strings"
	"testing"
)

func TestBulkAndMailQueueSettingsDefaultAndParse(t *testing.T) {
	c, err := load(map[string]string{"TOKEN_SECRET": secret, "MAIL_DRIVER": "outbox"})
	if err != nil {
		t.Fatal(err)
	}
	if c.BulkPageSize != 100 || c.BulkWindow != 25 || c.BulkChildrenPerRun != 500 || len(c.MailTaskQueueFormer) != 0 || c.DurationsAsNanoseconds() {
		t.Fatalf("defaults %+v", c.WorkflowSettings)
	}
	c, err = load(map[string]string{"TOKEN_SECRET": secret, "MAIL_DRIVER": "outbox", "BULK_PAGE_SIZE": "250",
		"BULK_WINDOW": "50", "BULK_CHILDREN_PER_RUN": "1000", "MAIL_TASK_QUEUE_FORMER": "mail-v1,mail-v2",
		"WORKFLOW_DURATIONS": "nanoseconds"})
	if err != nil {
		t.Fatal(err)
	}
	if c.BulkPageSize != 250 || c.BulkWindow != 50 || c.BulkChildrenPerRun != 1000 || !c.DurationsAsNanoseconds() ||
		!slices.Equal(c.MailTaskQueueFormer, []string{"mail-v1", "mail-v2"}) {
		t.Fatalf("parsed %+v", c.WorkflowSettings)
	}
}

func TestBadBulkAndMailQueueSettingsNameTheVariable(t *testing.T) {
	for want, env := range map[string]map[string]string{
		"BULK_PAGE_SIZE":         {"BULK_PAGE_SIZE": "5000"},
		"BULK_WINDOW":            {"BULK_WINDOW": "-1"},
		"BULK_CHILDREN_PER_RUN":  {"BULK_CHILDREN_PER_RUN": "10"},
		"MAIL_TASK_QUEUE_FORMER": {"MAIL_TASK_QUEUE_FORMER": "portal-mail"},
		"WORKFLOW_DURATIONS":     {"WORKFLOW_DURATIONS": "days"},
	} {
		env["TOKEN_SECRET"], env["MAIL_DRIVER"] = secret, "outbox"
		_, err := load(env)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v", want, err)
		}
	}
}
