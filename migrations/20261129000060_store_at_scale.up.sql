-- Indexes that keep every list, search, filter and export as cheap at a
-- million rows as at ten thousand: each query reads the rows it returns
-- (and the page's neighbours), never the table up to them.

-- Substring search of contacts (q=) by trigrams: a search for a few
-- letters anywhere in an address or a name reads the matching rows, not
-- the table, whether it matches nothing, few or many.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX IF NOT EXISTS contacts_email_trgm ON contacts USING gin (lower(email) gin_trgm_ops);
CREATE INDEX IF NOT EXISTS contacts_name_trgm ON contacts USING gin (lower(name) gin_trgm_ops);

-- The contact list's other filters, in the list's order (by id).
CREATE INDEX IF NOT EXISTS contacts_by_verified ON contacts (verified, id);
CREATE INDEX IF NOT EXISTS contacts_without_email ON contacts (id) WHERE email IS NULL;

-- Invitations filtered by status, newest first: the filter leads, so a
-- page of expired invitations never reads past the newer pending ones.
CREATE INDEX IF NOT EXISTS invitations_by_status ON invitations (help_center_id, status, created_at DESC, id DESC);

-- A contact's latest invitation to a help center (the users export's
-- sending record, one index probe a row).
CREATE INDEX IF NOT EXISTS invitations_by_contact ON invitations (contact_id, help_center_id, created_at DESC);

-- A help center's users by account id, any status (the status filter has
-- portal_access_by_help_center).
CREATE INDEX IF NOT EXISTS portal_access_by_help_center_account ON portal_access (help_center_id, account_id);
