-- A customer's requests page shows when each request last changed, and
-- pages through them newest first by id.
ALTER TABLE tickets ADD COLUMN IF NOT EXISTS updated_at timestamptz;

--bun:split

UPDATE tickets SET updated_at = created_at WHERE updated_at IS NULL;

--bun:split

ALTER TABLE tickets ALTER COLUMN updated_at SET DEFAULT now(), ALTER COLUMN updated_at SET NOT NULL;

--bun:split

CREATE INDEX IF NOT EXISTS tickets_of_contact ON tickets (contact_id, help_center_id, id DESC);
