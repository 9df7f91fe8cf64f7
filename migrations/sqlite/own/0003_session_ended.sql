-- Termination records: one row per session sessionkeeper ended (never its token or hash).
create table if not exists "sessionkeeper_session_ended" (
  "sessionId" text not null,
  "userId" text not null,
  "tenantId" text,
  "createdAt" text not null,
  "lastActiveAt" text not null,
  "ipAddress" text,
  "userAgent" text,
  "endedAt" text not null,
  "reason" text not null,
  "actor" text not null
);
create index if not exists "sessionkeeper_session_ended_endedAt_idx" on "sessionkeeper_session_ended" ("endedAt" desc, "sessionId" desc);
create index if not exists "sessionkeeper_session_ended_user_idx" on "sessionkeeper_session_ended" ("userId", "endedAt" desc, "sessionId" desc);
create index if not exists "sessionkeeper_session_ended_tenant_idx" on "sessionkeeper_session_ended" ("tenantId", "endedAt" desc, "sessionId" desc);
