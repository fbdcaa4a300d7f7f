-- trevor schema, migration 0009: the heartbeat of a release in progress
-- (schema/README.md, "What the database itself enforces").
--
-- While a process builds a release package it holds one row here, written in
-- the transaction that moves the request to RELEASING: which release, which
-- process (host:pid) and when it last said it is alive (beat_at, the
-- database's time, moved forward periodically by the holder). The sweep
-- returns a RELEASING request whose heartbeat is older than a threshold to
-- APPROVED, whatever host the holder ran on. The row goes when the release
-- ends (released, failed or returned by the sweep). Only beat_at ever
-- changes: the request, release, holder and start are fixed once written.

-- @engine: all

CREATE TABLE release_heartbeats (
  request_id  {uuid} NOT NULL PRIMARY KEY REFERENCES airlock_requests (id),
  release_id  {uuid} NOT NULL,
  holder      TEXT NOT NULL CHECK (length(holder) BETWEEN 1 AND 300),
  started_at  {ts} NOT NULL DEFAULT {now},
  beat_at     {ts} NOT NULL DEFAULT {now}
);

-- @engine: sqlite

CREATE TRIGGER release_heartbeats_identity_immutable BEFORE UPDATE ON release_heartbeats
WHEN NEW.request_id IS NOT OLD.request_id OR NEW.release_id IS NOT OLD.release_id
  OR NEW.holder IS NOT OLD.holder OR NEW.started_at IS NOT OLD.started_at
BEGIN SELECT RAISE(ABORT, 'trevor: a release heartbeat''s request, release, holder and start are immutable'); END;

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
