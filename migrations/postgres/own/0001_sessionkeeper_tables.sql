create table if not exists "sessionkeeper_cleanup_run" (
  "id" text primary key,
  "trigger" text not null,
  "dryRun" boolean not null,
  "policy" text not null,
  "expired" bigint not null default 0,
  "inactive" bigint not null default 0,
  "excess" bigint not null default 0,
  "total" bigint not null default 0,
  "startedAt" timestamptz not null,
  "finishedAt" timestamptz,
  "durationMs" bigint,
  "outcome" text not null,
  "error" text,
  "instance" text not null default ''
);
create index if not exists "sessionkeeper_cleanup_run_startedAt_idx" on "sessionkeeper_cleanup_run" ("startedAt" desc, "id" desc);
create table if not exists "sessionkeeper_lease" (
  "name" text primary key,
  "holder" text not null,
  "runId" text,
  "expiresAt" timestamptz not null
);
create table if not exists "sessionkeeper_audit" (
  "id" text primary key,
  "at" timestamptz not null,
  "actor" text not null,
  "action" text not null,
  "target" text,
  "criteria" text,
  "count" bigint not null default 0,
  "tenantId" text
);
create index if not exists "sessionkeeper_audit_at_idx" on "sessionkeeper_audit" ("at" desc, "id" desc);
create index if not exists "sessionkeeper_audit_tenantId_at_idx" on "sessionkeeper_audit" ("tenantId", "at" desc, "id" desc);
