create table if not exists "sessionkeeper_cleanup_run" (
  "id" text primary key,
  "trigger" text not null,
  "dryRun" integer not null,
  "policy" text not null,
  "expired" integer not null default 0,
  "inactive" integer not null default 0,
  "excess" integer not null default 0,
  "total" integer not null default 0,
  "startedAt" text not null,
  "finishedAt" text,
  "durationMs" integer,
  "outcome" text not null,
  "error" text,
  "instance" text not null default ''
);
create index if not exists "sessionkeeper_cleanup_run_startedAt_idx" on "sessionkeeper_cleanup_run" ("startedAt" desc, "id" desc);
create table if not exists "sessionkeeper_lease" (
  "name" text primary key,
  "holder" text not null,
  "runId" text,
  "expiresAt" text not null
);
create table if not exists "sessionkeeper_audit" (
  "id" text primary key,
  "at" text not null,
  "actor" text not null,
  "action" text not null,
  "target" text,
  "criteria" text,
  "count" integer not null default 0,
  "tenantId" text
);
create index if not exists "sessionkeeper_audit_at_idx" on "sessionkeeper_audit" ("at" desc, "id" desc);
create index if not exists "sessionkeeper_audit_tenantId_at_idx" on "sessionkeeper_audit" ("tenantId", "at" desc, "id" desc);
