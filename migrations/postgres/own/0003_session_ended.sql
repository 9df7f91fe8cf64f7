-- Termination records: one row per session sessionkeeper ended (never its token or hash).
create table if not exists "sessionkeeper_session_ended" (
  "sessionId" text not null,
  "userId" text not null,
  "tenantId" text,
  "createdAt" timestamptz not null,
  "lastActiveAt" timestamptz not null,
  "ipAddress" text,
  "userAgent" text,
  "endedAt" timestamptz not null,
  "reason" text not null,
  "actor" text not null
);
create index if not exists "sessionkeeper_ended_endedAt_idx" on "sessionkeeper_session_ended" ("endedAt" desc, "sessionId" desc);
create index if not exists "sessionkeeper_ended_user_idx" on "sessionkeeper_session_ended" ("userId", "endedAt" desc, "sessionId" desc);
-- Partial: a deployment without tenants (every tenantId NULL) does not maintain it.
create index if not exists "sessionkeeper_ended_tenant_idx" on "sessionkeeper_session_ended" ("tenantId", "endedAt" desc, "sessionId" desc) where "tenantId" is not null;
-- The transactional outbox of lifecycle events: one row per event and receiver (`endpoint`,
-- the index in WEBHOOK_URLS), written in the transaction of the change that causes it.
create table if not exists "sessionkeeper_outbox" (
  "seq" bigserial primary key,
  "endpoint" integer not null,
  "type" text not null,
  "orderKey" text not null,
  "sessionId" text,
  "userId" text,
  "tenantId" text,
  "reason" text,
  "actor" text,
  "data" text,
  "occurredAt" timestamptz not null,
  "attempts" integer not null default 0,
  "nextAttemptAt" timestamptz not null,
  "lockedUntil" timestamptz,
  "deliveredAt" timestamptz,
  "failedAt" timestamptz,
  "lastError" text
);
create index if not exists "sessionkeeper_outbox_due_idx" on "sessionkeeper_outbox" ("nextAttemptAt", "seq") where "deliveredAt" is null and "failedAt" is null;
-- Finds an earlier undelivered event of the same key. `session.ended` is always the last event
-- of its session, so never the earlier one: leaving it out spares every cleanup delete a random
-- insert into this index per session.
create index if not exists "sessionkeeper_outbox_order_idx" on "sessionkeeper_outbox" ("orderKey", "endpoint", "seq") where "deliveredAt" is null and "failedAt" is null and "type" <> 'session.ended';
create index if not exists "sessionkeeper_outbox_failed_idx" on "sessionkeeper_outbox" ("seq") where "failedAt" is not null;
