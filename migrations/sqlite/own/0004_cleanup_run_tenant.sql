-- The tenant a manual run was confined to (null: every tenant), so that a tenant admin's run
-- history lists their own runs only. A run is now written as "running" when it starts and
-- rewritten after each batch; no column is needed for that.
alter table "sessionkeeper_cleanup_run" add column "tenantId" text;
