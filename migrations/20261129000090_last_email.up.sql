-- A contact's latest email from their invitation or sign-up to a help
-- center, by the workflow that sent it: the user list and export read it
-- with one probe per user, newest first.
CREATE INDEX IF NOT EXISTS email_log_by_workflow ON email_log (workflow_id, id DESC);
