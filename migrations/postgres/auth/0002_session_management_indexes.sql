-- Indexes that keep each cleanup layer and the admin views an index scan.
create index "sessionkeeper_session_expiresAt_idx" on "session" ("expiresAt");
create index "sessionkeeper_session_updatedAt_idx" on "session" ("updatedAt");
create index "sessionkeeper_session_userId_activity_idx" on "session" ("userId", "updatedAt" desc, "createdAt" desc, "id" desc);
create index "sessionkeeper_user_tenantId_idx" on "user" ("tenantId");
create index "sessionkeeper_session_createdAt_id_idx" on "session" ("createdAt" desc, "id" desc);
-- The admin statistics: per-user counts and the device breakdown as index-only scans.
create index "sessionkeeper_session_userId_expiresAt_updatedAt_idx" on "session" ("userId", "expiresAt", "updatedAt");
create index "sessionkeeper_session_userAgent_idx" on "session" ("userAgent");
