ALTER TABLE bulk_jobs
    ADD COLUMN skipped_pending_approval integer NOT NULL DEFAULT 0,
    ADD COLUMN skipped_rejected integer NOT NULL DEFAULT 0;

--bun:split

-- When the job's workflow was started: the sweeper starts only jobs that
-- never were, so a finished run that Temporal has forgotten is not rerun.
ALTER TABLE bulk_jobs ADD COLUMN started_at timestamptz;

--bun:split

-- The access-change request that made the last change, so a retried
-- request recognises its own change instead of taking it for a repeat.
ALTER TABLE portal_access ADD COLUMN last_change text;
