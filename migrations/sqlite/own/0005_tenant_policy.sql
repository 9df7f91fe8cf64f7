-- Per-tenant session policy (issue 13, part 5): each column overrides the global setting of
-- the same meaning for that tenant's sessions; NULL falls back to the global policy.
create table if not exists "sessionkeeper_tenant_policy" (
  "tenantId" text primary key,
  "maxSessionsPerUser" integer,
  "inactivityTimeoutSeconds" integer,
  "absoluteTimeoutSeconds" integer,
  "maxSessionsPerTenant" integer,
  "updatedAt" text not null,
  "updatedBy" text not null
);
