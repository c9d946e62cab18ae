ALTER TABLE portal_access DROP COLUMN IF EXISTS last_change;
ALTER TABLE bulk_jobs DROP COLUMN IF EXISTS skipped_pending_approval, DROP COLUMN IF EXISTS skipped_rejected, DROP COLUMN IF EXISTS started_at;
