-- trevor schema, migration 0007: revoked releases (libtrevor/README.md,
-- "Revoking a release"; the rule is listed in schema/README.md).
--
-- A released egress request can be revoked: its status becomes REVOKED, its
-- package is kept and its link refused. The status CHECK of airlock_requests
-- gains REVOKED, and a guard lets a request into REVOKED only from RELEASED,
-- only an egress one, and never out of it.
--
-- PostgreSQL replaces the CHECK constraint in place. SQLite cannot alter a
-- CHECK: the table is rebuilt inside this migration's transaction. Foreign
-- keys stay on, deferred to the commit (defer_foreign_keys resets itself
-- there): dropping the old table counts the rows of other tables that refer
-- to it as violations, and copying the rows back into the new table of the
-- same name settles each of them again. Dropping the table drops its
-- indexes and triggers; they are created again below, unchanged (0001,
-- 0002), so tests/unit/schema.expected still describes both engines.

-- @engine: sqlite

PRAGMA defer_foreign_keys = ON;

CREATE TABLE airlock_requests_0007 AS SELECT * FROM airlock_requests;

DROP TABLE airlock_requests;

CREATE TABLE airlock_requests (
  id            {uuid} NOT NULL PRIMARY KEY,
  project_id    {uuid} NOT NULL REFERENCES projects (id),
  direction     TEXT NOT NULL CHECK (direction IN ('egress', 'ingress')),
  status        TEXT NOT NULL DEFAULT 'DRAFT' CHECK (status IN (
                  'DRAFT', 'SUBMITTED', 'AGENT_REVIEW', 'HUMAN_REVIEW', 'CHANGES_REQUESTED',
                  'APPROVED', 'RELEASING', 'RELEASED', 'REJECTED', 'WITHDRAWN', 'REVOKED')),
  title         TEXT NOT NULL CHECK (length(title) BETWEEN 1 AND 300),
  description   TEXT NOT NULL DEFAULT '',
  owner_id      {uuid} NOT NULL REFERENCES users (id),
  review_round  BIGINT NOT NULL DEFAULT 1 CHECK (review_round >= 1),
  submitted_at  {ts},
  closed_at     {ts},
  created_at    {ts} NOT NULL DEFAULT {now},
  updated_at    {ts} NOT NULL DEFAULT {now}
);

INSERT INTO airlock_requests (id, project_id, direction, status, title, description, owner_id,
                              review_round, submitted_at, closed_at, created_at, updated_at)
SELECT id, project_id, direction, status, title, description, owner_id,
       review_round, submitted_at, closed_at, created_at, updated_at
FROM airlock_requests_0007;

DROP TABLE airlock_requests_0007;

CREATE INDEX ix_airlock_requests_project_status ON airlock_requests (project_id, status);
CREATE INDEX ix_airlock_requests_status_updated ON airlock_requests (status, updated_at);
CREATE INDEX ix_airlock_requests_owner ON airlock_requests (owner_id);
CREATE INDEX ix_airlock_requests_created ON airlock_requests (created_at);
CREATE INDEX ix_airlock_requests_updated ON airlock_requests (updated_at, id);

CREATE TRIGGER airlock_requests_no_delete BEFORE DELETE ON airlock_requests
BEGIN SELECT RAISE(ABORT, 'trevor: airlock_requests rows are never deleted'); END;
CREATE TRIGGER airlock_requests_touch AFTER UPDATE ON airlock_requests WHEN NEW.updated_at IS NOT {now}
BEGIN UPDATE airlock_requests SET updated_at = {now} WHERE id = NEW.id; END;

-- Into REVOKED only from RELEASED and only for egress; never out of REVOKED;
-- no request is created REVOKED.
CREATE TRIGGER airlock_requests_revoked_guard BEFORE UPDATE OF status ON airlock_requests
WHEN (NEW.status = 'REVOKED' AND OLD.status <> 'REVOKED'
      AND (OLD.status <> 'RELEASED' OR NEW.direction <> 'egress'))
  OR (OLD.status = 'REVOKED' AND NEW.status <> 'REVOKED')
BEGIN SELECT RAISE(ABORT, 'trevor: only a RELEASED egress request becomes REVOKED, and REVOKED is final'); END;
CREATE TRIGGER airlock_requests_revoked_insert BEFORE INSERT ON airlock_requests
WHEN NEW.status = 'REVOKED'
BEGIN SELECT RAISE(ABORT, 'trevor: only a RELEASED egress request becomes REVOKED, and REVOKED is final'); END;

-- @engine: postgresql

ALTER TABLE airlock_requests DROP CONSTRAINT airlock_requests_status_check;
ALTER TABLE airlock_requests ADD CONSTRAINT airlock_requests_status_check CHECK (status IN (
  'DRAFT', 'SUBMITTED', 'AGENT_REVIEW', 'HUMAN_REVIEW', 'CHANGES_REQUESTED',
  'APPROVED', 'RELEASING', 'RELEASED', 'REJECTED', 'WITHDRAWN', 'REVOKED'));

CREATE FUNCTION trevor_revoked_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF (TG_OP = 'INSERT' AND NEW.status = 'REVOKED')
     OR (TG_OP = 'UPDATE' AND NEW.status = 'REVOKED' AND OLD.status <> 'REVOKED'
         AND (OLD.status <> 'RELEASED' OR NEW.direction <> 'egress'))
     OR (TG_OP = 'UPDATE' AND OLD.status = 'REVOKED' AND NEW.status <> 'REVOKED') THEN
    RAISE EXCEPTION 'trevor: only a RELEASED egress request becomes REVOKED, and REVOKED is final';
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER airlock_requests_revoked_guard BEFORE UPDATE OF status ON airlock_requests
  FOR EACH ROW EXECUTE FUNCTION trevor_revoked_guard();
CREATE TRIGGER airlock_requests_revoked_insert BEFORE INSERT ON airlock_requests
  FOR EACH ROW WHEN (NEW.status = 'REVOKED') EXECUTE FUNCTION trevor_revoked_guard();
