ALTER TABLE bulk_jobs DROP COLUMN IF EXISTS reinvite_pending_days, DROP COLUMN IF EXISTS reinvite_status;
DELETE FROM bulk_jobs WHERE selection = 'invitations';
ALTER TABLE bulk_jobs DROP CONSTRAINT IF EXISTS bulk_jobs_selection_check;
ALTER TABLE bulk_jobs ADD CONSTRAINT bulk_jobs_selection_check CHECK (selection IN ('ids', 'filter', 'all'));
ALTER TABLE bulk_jobs DROP COLUMN IF EXISTS skipped_suppressed;
DROP INDEX IF EXISTS suppressions_by_id;
ALTER TABLE suppressions DROP COLUMN IF EXISTS id;
