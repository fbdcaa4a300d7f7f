-- trevor schema, migration 0006: notifications that leave the database
-- (libtrevor/README.md, "Notification delivery"; the rules are listed in
-- schema/README.md).
--
-- Every notification row is delivered on each configured channel (e-mail,
-- webhook) by trevor::notifier, outside the transaction that wrote it.
--   notification_deliveries          one row per notification and channel:
--                                    its state (pending, then delivered,
--                                    given_up or skipped, which are final),
--                                    the attempts so far, when the next one
--                                    is due, and the claim (lease) of the
--                                    dispatcher delivering it now
--   notification_delivery_attempts   every attempt with its outcome and
--                                    error; insert-only (UPDATE, DELETE and
--                                    TRUNCATE refused by triggers)

-- @engine: all

CREATE TABLE notification_deliveries (
  notification_id  {uuid} NOT NULL REFERENCES notifications (id),
  channel          TEXT NOT NULL CHECK (channel IN ('email', 'webhook')),
  state            TEXT NOT NULL DEFAULT 'pending'
                   CHECK (state IN ('pending', 'delivered', 'given_up', 'skipped')),
  attempts         BIGINT NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  next_attempt_at  {ts} NOT NULL DEFAULT {now},
  claimed_by       TEXT,
  claimed_until    {ts},
  last_error       TEXT NOT NULL DEFAULT '' CHECK (length(last_error) <= 2000),
  created_at       {ts} NOT NULL DEFAULT {now},
  updated_at       {ts} NOT NULL DEFAULT {now},
  PRIMARY KEY (notification_id, channel)
);
-- The dispatchers' claim: pending rows by due time.
CREATE INDEX ix_notification_deliveries_due ON notification_deliveries (next_attempt_at)
  WHERE state = 'pending';
-- A dispatcher reads back the rows it has just claimed.
CREATE INDEX ix_notification_deliveries_claim ON notification_deliveries (claimed_by)
  WHERE claimed_by IS NOT NULL;
-- The admin read model: rows of a state.
CREATE INDEX ix_notification_deliveries_state ON notification_deliveries (state, created_at);
-- The dispatchers look for recent notifications without a delivery row.
CREATE INDEX ix_notifications_created ON notifications (created_at);

CREATE TABLE notification_delivery_attempts (
  id               {uuid} NOT NULL PRIMARY KEY,
  notification_id  {uuid} NOT NULL REFERENCES notifications (id),
  channel          TEXT NOT NULL CHECK (channel IN ('email', 'webhook')),
  attempt          BIGINT NOT NULL CHECK (attempt >= 1),
  outcome          TEXT NOT NULL CHECK (outcome IN ('delivered', 'failed', 'given_up', 'skipped')),
  error            TEXT NOT NULL DEFAULT '' CHECK (length(error) <= 2000),
  duration_ms      BIGINT NOT NULL DEFAULT 0 CHECK (duration_ms >= 0),
  dispatcher       TEXT NOT NULL DEFAULT '',
  recorded_at      {ts} NOT NULL DEFAULT {now},
  UNIQUE (notification_id, channel, attempt)
);

-- @engine: sqlite

CREATE TRIGGER notification_delivery_attempts_no_update BEFORE UPDATE ON notification_delivery_attempts
BEGIN SELECT RAISE(ABORT, 'trevor: notification_delivery_attempts is insert-only (UPDATE refused)'); END;
CREATE TRIGGER notification_delivery_attempts_no_delete BEFORE DELETE ON notification_delivery_attempts
BEGIN SELECT RAISE(ABORT, 'trevor: notification_delivery_attempts is insert-only (DELETE refused)'); END;
CREATE TRIGGER notification_deliveries_no_delete BEFORE DELETE ON notification_deliveries
BEGIN SELECT RAISE(ABORT, 'trevor: notification_deliveries rows are never deleted'); END;
CREATE TRIGGER notification_deliveries_settled BEFORE UPDATE ON notification_deliveries
WHEN (OLD.state <> 'pending' AND (NEW.state IS NOT OLD.state OR NEW.attempts IS NOT OLD.attempts))
  OR NEW.notification_id IS NOT OLD.notification_id OR NEW.channel IS NOT OLD.channel
  OR NEW.attempts < OLD.attempts
BEGIN SELECT RAISE(ABORT, 'trevor: a settled notification delivery never changes; attempts only grow'); END;
CREATE TRIGGER notification_deliveries_touch AFTER UPDATE ON notification_deliveries
WHEN NEW.updated_at IS NOT {now}
BEGIN UPDATE notification_deliveries SET updated_at = {now}
  WHERE notification_id = NEW.notification_id AND channel = NEW.channel; END;

-- @engine: postgresql

CREATE TRIGGER notification_delivery_attempts_no_update BEFORE UPDATE ON notification_delivery_attempts
  FOR EACH ROW EXECUTE FUNCTION trevor_refuse('notification_delivery_attempts is insert-only (UPDATE refused)');
CREATE TRIGGER notification_delivery_attempts_no_delete BEFORE DELETE ON notification_delivery_attempts
  FOR EACH ROW EXECUTE FUNCTION trevor_refuse('notification_delivery_attempts is insert-only (DELETE refused)');
CREATE TRIGGER notification_delivery_attempts_no_truncate BEFORE TRUNCATE ON notification_delivery_attempts
  FOR EACH STATEMENT EXECUTE FUNCTION trevor_refuse('notification_delivery_attempts is insert-only (TRUNCATE refused)');
CREATE TRIGGER notification_deliveries_no_delete BEFORE DELETE ON notification_deliveries
  FOR EACH ROW EXECUTE FUNCTION trevor_refuse('notification_deliveries rows are never deleted');
CREATE TRIGGER notification_deliveries_no_truncate BEFORE TRUNCATE ON notification_deliveries
  FOR EACH STATEMENT EXECUTE FUNCTION trevor_refuse('notification_deliveries is never truncated');
CREATE TRIGGER notification_deliveries_settled BEFORE UPDATE ON notification_deliveries
  FOR EACH ROW WHEN ((OLD.state <> 'pending' AND (NEW.state IS DISTINCT FROM OLD.state
      OR NEW.attempts IS DISTINCT FROM OLD.attempts))
    OR NEW.notification_id IS DISTINCT FROM OLD.notification_id
    OR NEW.channel IS DISTINCT FROM OLD.channel OR NEW.attempts < OLD.attempts)
  EXECUTE FUNCTION trevor_refuse('a settled notification delivery never changes; attempts only grow');
CREATE TRIGGER notification_deliveries_touch BEFORE UPDATE ON notification_deliveries
  FOR EACH ROW EXECUTE FUNCTION trevor_touch();
