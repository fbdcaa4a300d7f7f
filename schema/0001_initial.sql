-- trevor schema, migration 0001: every table of the domain (domain.md §2).
--
-- One source for both engines. Placeholders ({uuid}, {ts}, {json}, {bool},
-- {true}, {false}, {now}) are spelled per engine by libtrevor's dialect.
-- Sections after a "-- @engine: sqlite" or "-- @engine: postgresql" line apply to
-- that engine only, up to the next "-- @engine:" line; "-- @engine: all"
-- returns to shared SQL. Only triggers, and the audit table's database-assigned
-- sequence, differ between the engines.
--
-- Rules enforced here rather than in C++ (domain §1):
--   P1 audit_events is insert-only (triggers; privileges on PostgreSQL).
--   P2 output objects are immutable but for `state` (never out of SUPERSEDED)
--      and the one fill-in of an ingress slot's checksum and size.
--   P3 no DELETE of requests, objects, reviews, release or delivery records;
--      reviews are never updated; checker feedback is append-only.
--   P5 created_at / updated_at / occurred_at come from the database clock.
--   A user is never researcher and checker on the same project.

-- @engine: all

CREATE TABLE users (
  id           {uuid} NOT NULL PRIMARY KEY,
  subject      TEXT UNIQUE,
  username     TEXT NOT NULL UNIQUE CHECK (length(username) BETWEEN 1 AND 255),
  email        TEXT NOT NULL DEFAULT '',
  given_name   TEXT NOT NULL DEFAULT '',
  family_name  TEXT NOT NULL DEFAULT '',
  affiliation  TEXT NOT NULL DEFAULT '',
  active       {bool} NOT NULL DEFAULT {true},
  created_at   {ts} NOT NULL DEFAULT {now},
  updated_at   {ts} NOT NULL DEFAULT {now}
);

CREATE TABLE projects (
  id            {uuid} NOT NULL PRIMARY KEY,
  name          TEXT NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 255),
  display_name  TEXT NOT NULL DEFAULT '',
  status        TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'archived')),
  created_at    {ts} NOT NULL DEFAULT {now},
  updated_at    {ts} NOT NULL DEFAULT {now}
);

CREATE TABLE project_memberships (
  id           {uuid} NOT NULL PRIMARY KEY,
  user_id      {uuid} NOT NULL REFERENCES users (id),
  project_id   {uuid} NOT NULL REFERENCES projects (id),
  role         TEXT NOT NULL CHECK (role IN ('researcher', 'output_checker', 'senior_checker')),
  assigned_by  {uuid} REFERENCES users (id),
  created_at   {ts} NOT NULL DEFAULT {now},
  updated_at   {ts} NOT NULL DEFAULT {now},
  UNIQUE (user_id, project_id, role)
);
CREATE INDEX ix_project_memberships_project ON project_memberships (project_id, role);

CREATE TABLE airlock_requests (
  id            {uuid} NOT NULL PRIMARY KEY,
  project_id    {uuid} NOT NULL REFERENCES projects (id),
  direction     TEXT NOT NULL CHECK (direction IN ('egress', 'ingress')),
  status        TEXT NOT NULL DEFAULT 'DRAFT' CHECK (status IN (
                  'DRAFT', 'SUBMITTED', 'AGENT_REVIEW', 'HUMAN_REVIEW', 'CHANGES_REQUESTED',
                  'APPROVED', 'RELEASING', 'RELEASED', 'REJECTED', 'WITHDRAWN')),
  title         TEXT NOT NULL CHECK (length(title) BETWEEN 1 AND 300),
  description   TEXT NOT NULL DEFAULT '',
  owner_id      {uuid} NOT NULL REFERENCES users (id),
  review_round  BIGINT NOT NULL DEFAULT 1 CHECK (review_round >= 1),
  submitted_at  {ts},
  closed_at     {ts},
  created_at    {ts} NOT NULL DEFAULT {now},
  updated_at    {ts} NOT NULL DEFAULT {now}
);
-- Overview filters (project, status), stuck requests (status by age), owners'
-- lists, and metrics windows on creation time.
CREATE INDEX ix_airlock_requests_project_status ON airlock_requests (project_id, status);
CREATE INDEX ix_airlock_requests_status_updated ON airlock_requests (status, updated_at);
CREATE INDEX ix_airlock_requests_owner ON airlock_requests (owner_id);
CREATE INDEX ix_airlock_requests_created ON airlock_requests (created_at);

CREATE TABLE output_objects (
  id                 {uuid} NOT NULL PRIMARY KEY,
  request_id         {uuid} NOT NULL REFERENCES airlock_requests (id),
  logical_object_id  {uuid} NOT NULL,
  version            BIGINT NOT NULL CHECK (version >= 1),
  replaces_id        {uuid} REFERENCES output_objects (id),
  filename           TEXT NOT NULL CHECK (length(filename) BETWEEN 1 AND 255),
  output_type        TEXT NOT NULL CHECK (output_type IN
                       ('tabular', 'figure', 'model', 'code', 'report', 'other')),
  statbarn           TEXT NOT NULL DEFAULT '',
  storage_key        TEXT NOT NULL,
  checksum_sha256    TEXT NOT NULL DEFAULT '' CHECK (checksum_sha256 = '' OR length(checksum_sha256) = 64),
  size_bytes         BIGINT NOT NULL DEFAULT 0 CHECK (size_bytes >= 0),
  state              TEXT NOT NULL DEFAULT 'PENDING' CHECK (state IN
                       ('PENDING', 'APPROVED', 'CHANGES_REQUESTED', 'REJECTED', 'SUPERSEDED')),
  uploaded_by        {uuid} NOT NULL REFERENCES users (id),
  created_at         {ts} NOT NULL DEFAULT {now},
  UNIQUE (logical_object_id, version),
  CHECK ((version = 1) = (replaces_id IS NULL))
);
-- At most one live (non-SUPERSEDED) version of each logical object.
CREATE UNIQUE INDEX ux_output_objects_live ON output_objects (logical_object_id)
  WHERE state <> 'SUPERSEDED';
CREATE INDEX ix_output_objects_request ON output_objects (request_id, state);

CREATE TABLE output_object_metadata (
  logical_object_id         {uuid} NOT NULL PRIMARY KEY,
  request_id                {uuid} NOT NULL REFERENCES airlock_requests (id),
  title                     TEXT NOT NULL DEFAULT '',
  description               TEXT NOT NULL DEFAULT '',
  researcher_justification  TEXT NOT NULL DEFAULT '',
  suppression_notes         TEXT NOT NULL DEFAULT '',
  tags                      {json} NOT NULL DEFAULT '{}',
  checker_feedback          {json} NOT NULL DEFAULT '[]',
  lock_version              BIGINT NOT NULL DEFAULT 1 CHECK (lock_version >= 1),
  created_at                {ts} NOT NULL DEFAULT {now},
  updated_at                {ts} NOT NULL DEFAULT {now}
);
CREATE INDEX ix_output_object_metadata_request ON output_object_metadata (request_id);

CREATE TABLE reviews (
  id                       {uuid} NOT NULL PRIMARY KEY,
  request_id               {uuid} NOT NULL REFERENCES airlock_requests (id),
  round                    BIGINT NOT NULL CHECK (round >= 1),
  reviewer_type            TEXT NOT NULL CHECK (reviewer_type IN ('agent', 'human')),
  reviewer_id              {uuid} REFERENCES users (id),
  decision                 TEXT NOT NULL CHECK (decision IN
                             ('approved', 'changes_requested', 'rejected', 'escalated')),
  accepted_agent_findings  {bool} NOT NULL DEFAULT {false},
  summary                  TEXT NOT NULL DEFAULT '',
  findings                 {json} NOT NULL DEFAULT '[]',
  created_at               {ts} NOT NULL DEFAULT {now},
  CHECK ((reviewer_type = 'agent') = (reviewer_id IS NULL)),
  CHECK (decision <> 'escalated' OR reviewer_type = 'agent'),
  UNIQUE (request_id, round, reviewer_id)
);
-- The agent (reviewer_id NULL) reviews a round at most once too.
CREATE UNIQUE INDEX ux_reviews_agent_round ON reviews (request_id, round)
  WHERE reviewer_type = 'agent';
CREATE INDEX ix_reviews_reviewer ON reviews (reviewer_id, created_at);

CREATE TABLE notifications (
  id          {uuid} NOT NULL PRIMARY KEY,
  user_id     {uuid} NOT NULL REFERENCES users (id),
  event_type  TEXT NOT NULL,
  title       TEXT NOT NULL,
  body        TEXT NOT NULL DEFAULT '',
  request_id  {uuid} REFERENCES airlock_requests (id),
  read        {bool} NOT NULL DEFAULT {false},
  created_at  {ts} NOT NULL DEFAULT {now},
  updated_at  {ts} NOT NULL DEFAULT {now}
);
-- Own rows newest first with a (created_at, id) keyset cursor; unread counts.
CREATE INDEX ix_notifications_user_created ON notifications (user_id, created_at, id);
CREATE INDEX ix_notifications_user_unread ON notifications (user_id) WHERE NOT read;

CREATE TABLE release_records (
  id                     {uuid} NOT NULL PRIMARY KEY,
  request_id             {uuid} NOT NULL UNIQUE REFERENCES airlock_requests (id),
  crate_storage_key      TEXT NOT NULL,
  crate_checksum_sha256  TEXT NOT NULL CHECK (length(crate_checksum_sha256) = 64),
  download_url           TEXT NOT NULL,
  url_expires_at         {ts} NOT NULL,
  expiry_warned_at       {ts},
  released_by            {uuid} NOT NULL REFERENCES users (id),
  created_at             {ts} NOT NULL DEFAULT {now},
  updated_at             {ts} NOT NULL DEFAULT {now}
);
CREATE INDEX ix_release_records_expiry ON release_records (url_expires_at)
  WHERE expiry_warned_at IS NULL;

CREATE TABLE delivery_records (
  id              {uuid} NOT NULL PRIMARY KEY,
  request_id      {uuid} NOT NULL UNIQUE REFERENCES airlock_requests (id),
  delivered_by    {uuid} NOT NULL REFERENCES users (id),
  object_count    BIGINT NOT NULL CHECK (object_count >= 0),
  url_expires_at  {ts} NOT NULL,
  created_at      {ts} NOT NULL DEFAULT {now}
);

-- @engine: sqlite

-- seq is the rowid: AUTOINCREMENT never reuses a value, so it strictly increases.
CREATE TABLE audit_events (
  seq          INTEGER PRIMARY KEY AUTOINCREMENT,
  id           {uuid} NOT NULL UNIQUE,
  occurred_at  {ts} NOT NULL DEFAULT {now},
  actor        TEXT NOT NULL CHECK (length(actor) BETWEEN 1 AND 255),
  event_type   TEXT NOT NULL CHECK (length(event_type) BETWEEN 3 AND 100),
  request_id   {uuid} REFERENCES airlock_requests (id),
  project_id   {uuid} REFERENCES projects (id),
  payload      {json} NOT NULL DEFAULT '{}'
);

-- @engine: postgresql

-- Byte-order collation on the filtered text columns, as SQLite's default, so
-- that event-type prefix searches are index range scans in any database locale.
CREATE TABLE audit_events (
  seq          BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
  id           {uuid} NOT NULL PRIMARY KEY,
  occurred_at  {ts} NOT NULL DEFAULT {now},
  actor        TEXT COLLATE "C" NOT NULL CHECK (length(actor) BETWEEN 1 AND 255),
  event_type   TEXT COLLATE "C" NOT NULL CHECK (length(event_type) BETWEEN 3 AND 100),
  request_id   {uuid} REFERENCES airlock_requests (id),
  project_id   {uuid} REFERENCES projects (id),
  payload      {json} NOT NULL DEFAULT '{}'
);

-- @engine: all

-- Audit search: every filter is an index prefix followed by the sort key
-- (occurred_at, seq); event-type prefixes are range scans.
CREATE INDEX ix_audit_events_time ON audit_events (occurred_at, seq);
CREATE INDEX ix_audit_events_request ON audit_events (request_id, occurred_at, seq);
CREATE INDEX ix_audit_events_project ON audit_events (project_id, occurred_at, seq);
CREATE INDEX ix_audit_events_actor ON audit_events (actor, occurred_at, seq);
CREATE INDEX ix_audit_events_type ON audit_events (event_type, occurred_at, seq);

-- @engine: sqlite

-- P1: the audit trail is insert-only.
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN SELECT RAISE(ABORT, 'trevor: audit_events is insert-only (UPDATE refused)'); END;
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN SELECT RAISE(ABORT, 'trevor: audit_events is insert-only (DELETE refused)'); END;

-- P3: no deletes of the workflow's records; reviews are never changed.
CREATE TRIGGER airlock_requests_no_delete BEFORE DELETE ON airlock_requests
BEGIN SELECT RAISE(ABORT, 'trevor: airlock_requests rows are never deleted'); END;
CREATE TRIGGER output_objects_no_delete BEFORE DELETE ON output_objects
BEGIN SELECT RAISE(ABORT, 'trevor: output_objects rows are never deleted'); END;
CREATE TRIGGER reviews_no_delete BEFORE DELETE ON reviews
BEGIN SELECT RAISE(ABORT, 'trevor: reviews rows are never deleted'); END;
CREATE TRIGGER reviews_no_update BEFORE UPDATE ON reviews
BEGIN SELECT RAISE(ABORT, 'trevor: reviews are immutable'); END;
CREATE TRIGGER release_records_no_delete BEFORE DELETE ON release_records
BEGIN SELECT RAISE(ABORT, 'trevor: release_records rows are never deleted'); END;
CREATE TRIGGER delivery_records_no_delete BEFORE DELETE ON delivery_records
BEGIN SELECT RAISE(ABORT, 'trevor: delivery_records rows are never deleted'); END;

-- P2: an object's identity and content never change; its state never leaves
-- SUPERSEDED; an ingress slot's empty checksum and zero size are filled once.
CREATE TRIGGER output_objects_immutable BEFORE UPDATE ON output_objects
WHEN NEW.id IS NOT OLD.id OR NEW.request_id IS NOT OLD.request_id
  OR NEW.logical_object_id IS NOT OLD.logical_object_id OR NEW.version IS NOT OLD.version
  OR NEW.replaces_id IS NOT OLD.replaces_id OR NEW.filename IS NOT OLD.filename
  OR NEW.output_type IS NOT OLD.output_type OR NEW.statbarn IS NOT OLD.statbarn
  OR NEW.storage_key IS NOT OLD.storage_key OR NEW.uploaded_by IS NOT OLD.uploaded_by
  OR NEW.created_at IS NOT OLD.created_at
  OR ((NEW.checksum_sha256 IS NOT OLD.checksum_sha256 OR NEW.size_bytes IS NOT OLD.size_bytes)
      AND NOT (OLD.checksum_sha256 = '' AND OLD.size_bytes = 0 AND NEW.checksum_sha256 <> ''))
BEGIN SELECT RAISE(ABORT, 'trevor: output_objects identity and content are immutable'); END;
CREATE TRIGGER output_objects_superseded_final BEFORE UPDATE OF state ON output_objects
WHEN OLD.state = 'SUPERSEDED' AND NEW.state <> 'SUPERSEDED'
BEGIN SELECT RAISE(ABORT, 'trevor: a SUPERSEDED object never changes state'); END;

-- checker_feedback is append-only: every earlier entry stays, unchanged, in place.
CREATE TRIGGER output_object_metadata_feedback_append_only BEFORE UPDATE OF checker_feedback
ON output_object_metadata
WHEN json_array_length(NEW.checker_feedback) < json_array_length(OLD.checker_feedback)
  OR EXISTS (SELECT 1 FROM json_each(OLD.checker_feedback) o
             WHERE json_extract(NEW.checker_feedback, '$[' || o.key || ']') IS NOT o.value)
BEGIN SELECT RAISE(ABORT, 'trevor: checker_feedback is append-only'); END;

-- A researcher on a project is never also a checker on it, and vice versa.
CREATE TRIGGER project_memberships_role_conflict BEFORE INSERT ON project_memberships
WHEN EXISTS (SELECT 1 FROM project_memberships m
             WHERE m.user_id = NEW.user_id AND m.project_id = NEW.project_id
               AND (m.role = 'researcher') <> (NEW.role = 'researcher'))
BEGIN SELECT RAISE(ABORT, 'trevor: a user cannot be researcher and checker on one project'); END;
CREATE TRIGGER project_memberships_role_conflict_update BEFORE UPDATE ON project_memberships
WHEN EXISTS (SELECT 1 FROM project_memberships m
             WHERE m.id <> NEW.id AND m.user_id = NEW.user_id AND m.project_id = NEW.project_id
               AND (m.role = 'researcher') <> (NEW.role = 'researcher'))
BEGIN SELECT RAISE(ABORT, 'trevor: a user cannot be researcher and checker on one project'); END;

-- P5: updated_at is the database's. The library's own UPDATEs set it to
-- {now} (so that RETURNING reports it); any other value, or none, is replaced
-- here. 'now' is fixed for the duration of one statement, so the WHEN clause
-- recognises the statement's own {now}. recursive_triggers stays off: the
-- inner UPDATE does not fire the trigger again.
CREATE TRIGGER users_touch AFTER UPDATE ON users WHEN NEW.updated_at IS NOT {now}
BEGIN UPDATE users SET updated_at = {now} WHERE id = NEW.id; END;
CREATE TRIGGER projects_touch AFTER UPDATE ON projects WHEN NEW.updated_at IS NOT {now}
BEGIN UPDATE projects SET updated_at = {now} WHERE id = NEW.id; END;
CREATE TRIGGER project_memberships_touch AFTER UPDATE ON project_memberships WHEN NEW.updated_at IS NOT {now}
BEGIN UPDATE project_memberships SET updated_at = {now} WHERE id = NEW.id; END;
CREATE TRIGGER airlock_requests_touch AFTER UPDATE ON airlock_requests WHEN NEW.updated_at IS NOT {now}
BEGIN UPDATE airlock_requests SET updated_at = {now} WHERE id = NEW.id; END;
CREATE TRIGGER output_object_metadata_touch AFTER UPDATE ON output_object_metadata WHEN NEW.updated_at IS NOT {now}
BEGIN UPDATE output_object_metadata SET updated_at = {now} WHERE logical_object_id = NEW.logical_object_id; END;
CREATE TRIGGER notifications_touch AFTER UPDATE ON notifications WHEN NEW.updated_at IS NOT {now}
BEGIN UPDATE notifications SET updated_at = {now} WHERE id = NEW.id; END;
CREATE TRIGGER release_records_touch AFTER UPDATE ON release_records WHEN NEW.updated_at IS NOT {now}
BEGIN UPDATE release_records SET updated_at = {now} WHERE id = NEW.id; END;

-- @engine: postgresql

CREATE FUNCTION trevor_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'trevor: %', TG_ARGV[0];
END $$;

CREATE FUNCTION trevor_touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.updated_at := now();
  RETURN NEW;
END $$;

CREATE FUNCTION trevor_output_objects_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.id IS DISTINCT FROM OLD.id OR NEW.request_id IS DISTINCT FROM OLD.request_id
     OR NEW.logical_object_id IS DISTINCT FROM OLD.logical_object_id
     OR NEW.version IS DISTINCT FROM OLD.version OR NEW.replaces_id IS DISTINCT FROM OLD.replaces_id
     OR NEW.filename IS DISTINCT FROM OLD.filename OR NEW.output_type IS DISTINCT FROM OLD.output_type
     OR NEW.statbarn IS DISTINCT FROM OLD.statbarn OR NEW.storage_key IS DISTINCT FROM OLD.storage_key
     OR NEW.uploaded_by IS DISTINCT FROM OLD.uploaded_by
     OR NEW.created_at IS DISTINCT FROM OLD.created_at
     OR ((NEW.checksum_sha256 IS DISTINCT FROM OLD.checksum_sha256
          OR NEW.size_bytes IS DISTINCT FROM OLD.size_bytes)
         AND NOT (OLD.checksum_sha256 = '' AND OLD.size_bytes = 0 AND NEW.checksum_sha256 <> '')) THEN
    RAISE EXCEPTION 'trevor: output_objects identity and content are immutable';
  END IF;
  RETURN NEW;
END $$;

CREATE FUNCTION trevor_feedback_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF jsonb_array_length(NEW.checker_feedback) < jsonb_array_length(OLD.checker_feedback)
     OR EXISTS (SELECT 1 FROM jsonb_array_elements(OLD.checker_feedback) WITH ORDINALITY o(entry, n)
                WHERE NEW.checker_feedback -> (o.n::int - 1) IS DISTINCT FROM o.entry) THEN
    RAISE EXCEPTION 'trevor: checker_feedback is append-only';
  END IF;
  RETURN NEW;
END $$;

CREATE FUNCTION trevor_membership_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- Serialise membership changes per user so two concurrent inserts cannot
  -- both pass the check below.
  PERFORM 1 FROM users WHERE id = NEW.user_id FOR UPDATE;
  IF EXISTS (SELECT 1 FROM project_memberships m
             WHERE m.id <> NEW.id AND m.user_id = NEW.user_id AND m.project_id = NEW.project_id
               AND (m.role = 'researcher') <> (NEW.role = 'researcher')) THEN
    RAISE EXCEPTION 'trevor: a user cannot be researcher and checker on one project';
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
  FOR EACH ROW EXECUTE FUNCTION trevor_refuse('audit_events is insert-only (UPDATE refused)');
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
  FOR EACH ROW EXECUTE FUNCTION trevor_refuse('audit_events is insert-only (DELETE refused)');
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
  FOR EACH STATEMENT EXECUTE FUNCTION trevor_refuse('audit_events is insert-only (TRUNCATE refused)');

CREATE TRIGGER airlock_requests_no_delete BEFORE DELETE ON airlock_requests
  FOR EACH ROW EXECUTE FUNCTION trevor_refuse('airlock_requests rows are never deleted');
CREATE TRIGGER output_objects_no_delete BEFORE DELETE ON output_objects
  FOR EACH ROW EXECUTE FUNCTION trevor_refuse('output_objects rows are never deleted');
CREATE TRIGGER reviews_no_delete BEFORE DELETE ON reviews
  FOR EACH ROW EXECUTE FUNCTION trevor_refuse('reviews rows are never deleted');
CREATE TRIGGER reviews_no_update BEFORE UPDATE ON reviews
  FOR EACH ROW EXECUTE FUNCTION trevor_refuse('reviews are immutable');
CREATE TRIGGER release_records_no_delete BEFORE DELETE ON release_records
  FOR EACH ROW EXECUTE FUNCTION trevor_refuse('release_records rows are never deleted');
CREATE TRIGGER delivery_records_no_delete BEFORE DELETE ON delivery_records
  FOR EACH ROW EXECUTE FUNCTION trevor_refuse('delivery_records rows are never deleted');
-- TRUNCATE bypasses row triggers: refuse it on the tables that are never emptied.
CREATE TRIGGER airlock_requests_no_truncate BEFORE TRUNCATE ON airlock_requests
  FOR EACH STATEMENT EXECUTE FUNCTION trevor_refuse('airlock_requests is never truncated');
CREATE TRIGGER output_objects_no_truncate BEFORE TRUNCATE ON output_objects
  FOR EACH STATEMENT EXECUTE FUNCTION trevor_refuse('output_objects is never truncated');
CREATE TRIGGER reviews_no_truncate BEFORE TRUNCATE ON reviews
  FOR EACH STATEMENT EXECUTE FUNCTION trevor_refuse('reviews is never truncated');

CREATE TRIGGER output_objects_immutable BEFORE UPDATE ON output_objects
  FOR EACH ROW EXECUTE FUNCTION trevor_output_objects_guard();
CREATE TRIGGER output_objects_superseded_final BEFORE UPDATE OF state ON output_objects
  FOR EACH ROW WHEN (OLD.state = 'SUPERSEDED' AND NEW.state <> 'SUPERSEDED')
  EXECUTE FUNCTION trevor_refuse('a SUPERSEDED object never changes state');

CREATE TRIGGER output_object_metadata_feedback_append_only BEFORE UPDATE OF checker_feedback
  ON output_object_metadata FOR EACH ROW EXECUTE FUNCTION trevor_feedback_guard();

CREATE TRIGGER project_memberships_role_conflict BEFORE INSERT ON project_memberships
  FOR EACH ROW EXECUTE FUNCTION trevor_membership_guard();
CREATE TRIGGER project_memberships_role_conflict_update BEFORE UPDATE ON project_memberships
  FOR EACH ROW EXECUTE FUNCTION trevor_membership_guard();

CREATE TRIGGER users_touch BEFORE UPDATE ON users
  FOR EACH ROW EXECUTE FUNCTION trevor_touch();
CREATE TRIGGER projects_touch BEFORE UPDATE ON projects
  FOR EACH ROW EXECUTE FUNCTION trevor_touch();
CREATE TRIGGER project_memberships_touch BEFORE UPDATE ON project_memberships
  FOR EACH ROW EXECUTE FUNCTION trevor_touch();
CREATE TRIGGER airlock_requests_touch BEFORE UPDATE ON airlock_requests
  FOR EACH ROW EXECUTE FUNCTION trevor_touch();
CREATE TRIGGER output_object_metadata_touch BEFORE UPDATE ON output_object_metadata
  FOR EACH ROW EXECUTE FUNCTION trevor_touch();
CREATE TRIGGER notifications_touch BEFORE UPDATE ON notifications
  FOR EACH ROW EXECUTE FUNCTION trevor_touch();
CREATE TRIGGER release_records_touch BEFORE UPDATE ON release_records
  FOR EACH ROW EXECUTE FUNCTION trevor_touch();
