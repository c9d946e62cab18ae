-- A help center's sender name, reply-to and optional from address.
ALTER TABLE help_centers ADD COLUMN IF NOT EXISTS sender jsonb NOT NULL DEFAULT '{}';

-- The outbox shows what a provider would receive beyond the content.
ALTER TABLE outbox_messages
  ADD COLUMN IF NOT EXISTS from_header text NOT NULL DEFAULT '',
  ADD COLUMN IF NOT EXISTS reply_to text,
  ADD COLUMN IF NOT EXISTS headers jsonb NOT NULL DEFAULT '{}',
  ADD COLUMN IF NOT EXISTS tracking jsonb;
