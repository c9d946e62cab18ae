DROP INDEX IF EXISTS tickets_of_contact;

--bun:split

ALTER TABLE tickets DROP COLUMN IF EXISTS updated_at;
