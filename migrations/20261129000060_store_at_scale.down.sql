DROP INDEX IF EXISTS portal_access_by_help_center_account;
DROP INDEX IF EXISTS invitations_by_contact;
DROP INDEX IF EXISTS invitations_by_status;
DROP INDEX IF EXISTS contacts_without_email;
DROP INDEX IF EXISTS contacts_by_verified;
DROP INDEX IF EXISTS contacts_name_trgm;
DROP INDEX IF EXISTS contacts_email_trgm;
-- pg_trgm stays: another schema object may use it.
