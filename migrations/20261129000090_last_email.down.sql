DROP INDEX IF EXISTS email_log_by_workflow;
UPDATE signups SET status = 'expired' WHERE status = 'undeliverable';
ALTER TABLE signups DROP CONSTRAINT IF EXISTS signups_status_check;
ALTER TABLE signups ADD CONSTRAINT signups_status_check
  CHECK (status IN ('verifying', 'pending_approval', 'active', 'rejected', 'expired'));
