DROP TABLE IF EXISTS password_changes;
ALTER TABLE credential_stages DROP COLUMN IF EXISTS account_id;
DROP TABLE IF EXISTS password_resets;
