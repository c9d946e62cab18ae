-- A contact's latest email from their invitation or sign-up to a help
-- center, by the workflow that sent it: the user list and export read it
-- with one probe per user, newest first.
CREATE INDEX IF NOT EXISTS email_log_by_workflow ON email_log (workflow_id, id DESC);

--bun:split

-- A sign-up whose verification email bounced or drew a complaint closes
-- as undeliverable.
ALTER TABLE signups DROP CONSTRAINT IF EXISTS signups_status_check;
ALTER TABLE signups ADD CONSTRAINT signups_status_check
  CHECK (status IN ('verifying', 'pending_approval', 'active', 'rejected', 'expired', 'undeliverable'));
