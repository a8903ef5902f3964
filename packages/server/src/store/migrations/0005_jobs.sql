-- Durable background jobs (packages/server/src/jobs/): $reindex today, bulk $export next.
-- A worker claims a job with `for update skip locked` and holds a lease that it renews at every
-- checkpoint; a job whose lease expired (its node crashed) is claimed again and resumed from
-- `progress`, the last checkpoint its handler saved.
create table job (
  id uuid primary key,
  kind text not null,
  status text not null check (status in ('queued', 'running', 'completed', 'failed', 'cancelled')),
  params jsonb not null default '{}',
  -- The handler's last checkpoint: counts for people (done, total, phase) and its resume key.
  progress jsonb not null default '{}',
  result jsonb,
  error text,
  -- How many times a worker claimed it: more than one means it was resumed.
  attempts integer not null default 0,
  created_at timestamptz not null default now(),
  started_at timestamptz,
  updated_at timestamptz not null default now(),
  finished_at timestamptz,
  lease_owner text,
  lease_expires_at timestamptz
);
-- Workers look for queued jobs and running jobs whose lease expired, oldest first.
create index job_claimable on job (created_at) where status in ('queued', 'running');
create index job_kind_created on job (kind, created_at);

-- What finished reindex jobs leave behind: every current resource of `resource_type` has index
-- rows for the custom SearchParameter `search_parameter_id` as of its version written at history
-- `version_seq`. A custom parameter is searchable on a type once this holds for its current version.
create table search_parameter_coverage (
  search_parameter_id text not null,
  resource_type text not null,
  version_seq bigint not null,
  primary key (search_parameter_id, resource_type)
);
