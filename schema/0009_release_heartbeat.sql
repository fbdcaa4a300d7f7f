-- trevor schema, migration 0009: the heartbeat of a release in progress
-- (schema/README.md, "What the database itself enforces").
--
-- Each release attempt writes one row here, in the transaction that moves the
-- request to RELEASING: which release, which process (host:pid) and when it
-- last said it is alive (beat_at, the database's time, moved forward
-- periodically by the holder while it builds the package). The sweep returns
-- a RELEASING request whose latest heartbeat is older than a threshold to
-- APPROVED, whatever host the holder ran on. Rows are never deleted (P3):
-- once the release ends, its row stays as the record of which process built
-- it and when it was last heard from. Only beat_at ever changes: the request,
-- release, holder and start are fixed once written.

-- @engine: all

CREATE TABLE release_heartbeats (
  release_id  {uuid} NOT NULL PRIMARY KEY,
  request_id  {uuid} NOT NULL REFERENCES airlock_requests (id),
  holder      TEXT NOT NULL CHECK (length(holder) BETWEEN 1 AND 300),
  started_at  {ts} NOT NULL DEFAULT {now},
  beat_at     {ts} NOT NULL DEFAULT {now}
);
-- The sweep reads a request's latest attempt.
CREATE INDEX ix_release_heartbeats_request ON release_heartbeats (request_id, started_at);

-- @engine: sqlite

CREATE TRIGGER release_heartbeats_identity_immutable BEFORE UPDATE ON release_heartbeats
WHEN NEW.request_id IS NOT OLD.request_id OR NEW.release_id IS NOT OLD.release_id
  OR NEW.holder IS NOT OLD.holder OR NEW.started_at IS NOT OLD.started_at
BEGIN SELECT RAISE(ABORT, 'trevor: a release heartbeat''s request, release, holder and start are immutable'); END;
CREATE TRIGGER release_heartbeats_no_delete BEFORE DELETE ON release_heartbeats
BEGIN SELECT RAISE(ABORT, 'trevor: release_heartbeats rows are never deleted'); END;

-- @engine: postgresql

CREATE FUNCTION trevor_release_heartbeats_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.request_id IS DISTINCT FROM OLD.request_id
     OR NEW.release_id IS DISTINCT FROM OLD.release_id
     OR NEW.holder IS DISTINCT FROM OLD.holder
     OR NEW.started_at IS DISTINCT FROM OLD.started_at THEN
    RAISE EXCEPTION 'trevor: a release heartbeat''s request, release, holder and start are immutable';
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER release_heartbeats_identity_immutable BEFORE UPDATE ON release_heartbeats
  FOR EACH ROW EXECUTE FUNCTION trevor_release_heartbeats_guard();
CREATE TRIGGER release_heartbeats_no_delete BEFORE DELETE ON release_heartbeats
  FOR EACH ROW EXECUTE FUNCTION trevor_refuse('release_heartbeats rows are never deleted');
CREATE TRIGGER release_heartbeats_no_truncate BEFORE TRUNCATE ON release_heartbeats
  FOR EACH STATEMENT EXECUTE FUNCTION trevor_refuse('release_heartbeats rows are never deleted');
