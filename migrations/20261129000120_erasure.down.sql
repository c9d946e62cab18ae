DROP TABLE IF EXISTS password_reset_requests;
DROP TABLE IF EXISTS contact_erasures;
DELETE FROM tickets WHERE contact_id IS NULL;
ALTER TABLE tickets ALTER COLUMN contact_id SET NOT NULL;
