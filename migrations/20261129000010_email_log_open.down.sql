DROP INDEX IF EXISTS email_log_open;
