-- The admin statistics' snapshot: one row per scope ('all', or 'tenant:<id>') with the counts
-- as JSON, and the row '#epoch' whose number every deletion that the statistics must show at
-- once (cleanup runs, bulk deletes, admin revocations) raises. A scope's row counts only while
-- its epoch is the current one, and a recount that began before a raise is not stored.
create table if not exists "sessionkeeper_stats_snapshot" (
  "scope" text primary key,
  "epoch" integer not null,
  "asOf" text,
  "body" text
);
insert into "sessionkeeper_stats_snapshot" ("scope", "epoch") values ('#epoch', 0) on conflict ("scope") do nothing;
