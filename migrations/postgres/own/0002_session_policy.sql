-- A session's last activity, known to within SESSION_ACTIVITY_RESOLUTION_SECONDS. Our own table
-- keyed by session id, so shared mode leaves Better Auth's tables untouched. Milliseconds since
-- the epoch: the flush keeps the larger of two values with one comparison on both backends.
create table if not exists "sessionkeeper_activity" (
  "sessionId" text primary key,
  "lastActiveAt" bigint not null
);

-- The cleanup's `verifications` layer: expired rows of Better Auth's verification table.
alter table "sessionkeeper_cleanup_run" add column "verifications" bigint not null default 0;

-- The cleanup's `absolute` layer: sessions past SESSION_ABSOLUTE_TIMEOUT_*.
alter table "sessionkeeper_cleanup_run" add column "absolute" bigint not null default 0;
