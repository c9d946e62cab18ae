ALTER TABLE portal_access DROP COLUMN IF EXISTS signup_id, DROP COLUMN IF EXISTS changes;
ALTER TABLE credential_stages DROP COLUMN IF EXISTS signup_id;
DROP TABLE IF EXISTS signups, auto_invites;
ALTER TABLE tickets DROP COLUMN IF EXISTS department_id, DROP COLUMN IF EXISTS body, DROP COLUMN IF EXISTS channel;
ALTER TABLE help_centers DROP COLUMN IF EXISTS self_signup, DROP COLUMN IF EXISTS signup_requires_approval, DROP COLUMN IF EXISTS auto_invite;
DROP TABLE IF EXISTS departments;
