-- Pulls from the platforms' open APIs are ingestion runs too: where a run's records came from
-- (a file, or a platform's API) and, for a pull, the update-time window it asked for (UTC).
-- The next pull starts from the last successful window's end (less an overlap), and Data
-- health measures each platform's lag against it.
alter table ingestion_runs add column source varchar not null default 'file';  -- file api
alter table ingestion_runs add column window_start timestamp;
alter table ingestion_runs add column window_end timestamp;
