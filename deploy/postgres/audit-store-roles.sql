-- Roles for the shared PostgreSQL audit store, so that the people who run the gateways cannot rewrite
-- the evidence (deploy/README.md, "FFIEC"). Run by the database team (not the gateway's admins) as a
-- superuser or the database owner, connected to the audit database:
--   psql -v ON_ERROR_STOP=1 -d custos_audit -f deploy/postgres/audit-store-roles.sql
-- then set passwords (\password custos_gateway, ...) and migrate as the owner (README, step 3): gateways
-- refuse to start on a store that needs migrating, since their roles may not create anything.
-- Re-runnable: roles are created once, grants are idempotent. Exercised by test/deploy/audit-store.test.ts
-- against a real PostgreSQL.

DO $$
BEGIN
  -- Owns the tables; used only to migrate (new Custos versions). Its password stays with the DB team.
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'custos_audit_owner') THEN
    CREATE ROLE custos_audit_owner LOGIN;
  END IF;
  -- Every gateway's runtime role (CUSTOS_AUDIT_URL): appends, never rewrites.
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'custos_gateway') THEN
    CREATE ROLE custos_gateway LOGIN;
  END IF;
  -- Examiners, internal audit and the SIEM: `custos audit verify`, `custos sessions`, exports.
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'custos_auditor') THEN
    CREATE ROLE custos_auditor LOGIN;
  END IF;
END $$;

CREATE SCHEMA IF NOT EXISTS drizzle AUTHORIZATION custos_audit_owner;
GRANT USAGE, CREATE ON SCHEMA public TO custos_audit_owner;
GRANT USAGE ON SCHEMA public, drizzle TO custos_gateway, custos_auditor;
-- Names resolve to the owner's tables only, never to a look-alike in a schema named after the role.
ALTER ROLE custos_gateway SET search_path = public;
ALTER ROLE custos_auditor SET search_path = public;

-- Only the owner migrates. A gateway opens a migrated store without running the migrator: it compares
-- drizzle.__drizzle_migrations (which the runtime roles may read, below) with the migrations it ships,
-- and against a store that still needs migrating it refuses to start, naming the owner's command.
-- So the runtime roles create nothing: no CREATE on the database or on any schema. The REVOKEs take
-- back what earlier versions of this file granted them.
DO $$
BEGIN
  EXECUTE format('GRANT CREATE ON DATABASE %I TO custos_audit_owner', current_database());
  EXECUTE format('REVOKE CREATE ON DATABASE %I FROM custos_gateway, custos_auditor', current_database());
END $$;
REVOKE CREATE ON SCHEMA drizzle FROM custos_gateway, custos_auditor;

-- Tables created by the owner's migrations get these grants automatically, including future ones
-- (SELECT on drizzle.__drizzle_migrations is how a gateway sees that the store is migrated).
ALTER DEFAULT PRIVILEGES FOR ROLE custos_audit_owner IN SCHEMA public
  GRANT SELECT ON TABLES TO custos_gateway, custos_auditor;
ALTER DEFAULT PRIVILEGES FOR ROLE custos_audit_owner IN SCHEMA drizzle
  GRANT SELECT ON TABLES TO custos_gateway, custos_auditor;

-- What the gateway writes, once the owner has migrated (run this file again after each migration).
-- The append-only evidence: INSERT and SELECT, no UPDATE, DELETE or TRUNCATE.
DO $$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['audit_logs', 'audit_events', 'checkpoints', 'recordings', 'approval_decisions']
  LOOP
    IF to_regclass('public.' || t) IS NOT NULL THEN
      EXECUTE format('REVOKE ALL ON public.%I FROM custos_gateway, custos_auditor', t);
      EXECUTE format('GRANT SELECT, INSERT ON public.%I TO custos_gateway', t);
      EXECUTE format('GRANT SELECT ON public.%I TO custos_auditor', t);
    END IF;
  END LOOP;
  -- Retention (audit.retention) empties event bodies and recording payloads past their period, and only
  -- those columns: leaf hashes, SHA-256s and every other column stay, so what was pruned still verifies,
  -- and `audit verify` fails a body emptied without a logged audit.prune claim.
  IF to_regclass('public.audit_events') IS NOT NULL THEN
    GRANT UPDATE (body, pruned_at) ON public.audit_events TO custos_gateway;
  END IF;
  IF to_regclass('public.recordings') IS NOT NULL THEN
    GRANT UPDATE (data, pruned_at) ON public.recordings TO custos_gateway;
  END IF;
  -- The session index: the gateway fills in the end and the counters. The evidence for a session is its
  -- events in audit_events (hashed into the signed Merkle log), not this row.
  IF to_regclass('public.sessions') IS NOT NULL THEN
    REVOKE ALL ON public.sessions FROM custos_gateway, custos_auditor;
    GRANT SELECT, INSERT ON public.sessions TO custos_gateway;
    GRANT UPDATE (ended_at, end_reason, statements, bytes_in, bytes_out) ON public.sessions TO custos_gateway;
    GRANT SELECT ON public.sessions TO custos_auditor;
  END IF;
  -- Approval requests change state (pending -> approved/denied/abandoned, consumed); each decision is
  -- also an audit event. No DELETE.
  IF to_regclass('public.approval_requests') IS NOT NULL THEN
    REVOKE ALL ON public.approval_requests FROM custos_gateway, custos_auditor;
    GRANT SELECT, INSERT, UPDATE ON public.approval_requests TO custos_gateway;
    GRANT SELECT ON public.approval_requests TO custos_auditor;
  END IF;
  -- SIEM cursors: each sink's position moves forward as deliveries are acknowledged. No DELETE.
  IF to_regclass('public.siem_cursors') IS NOT NULL THEN
    REVOKE ALL ON public.siem_cursors FROM custos_gateway, custos_auditor;
    GRANT SELECT, INSERT, UPDATE ON public.siem_cursors TO custos_gateway;
    GRANT SELECT ON public.siem_cursors TO custos_auditor;
  END IF;
END $$;
