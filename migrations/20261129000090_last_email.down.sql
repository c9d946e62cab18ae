DROP INDEX IF EXISTS email_log_by_workflow;
