ALTER TABLE outbox_messages DROP COLUMN IF EXISTS idempotency_key;
ALTER TABLE contacts DROP COLUMN IF EXISTS import_id;
DROP TABLE IF EXISTS bulk_job_results, bulk_job_contacts, bulk_jobs;
