ALTER TABLE bulk_jobs DROP COLUMN IF EXISTS skipped_declined;
DROP TABLE IF EXISTS invitation_declines;
ALTER TABLE invitations DROP CONSTRAINT IF EXISTS invitations_status_check;
ALTER TABLE invitations ADD CONSTRAINT invitations_status_check
  CHECK (status IN ('pending', 'accepted', 'expired', 'revoked', 'undeliverable'));
