-- Sends left open (claimed, or ended unconfirmed) are few; the operations
-- gauges count them at every scrape without reading the whole log.
CREATE INDEX IF NOT EXISTS email_log_open ON email_log (status, updated_at) WHERE status IN ('sending', 'unconfirmed');
