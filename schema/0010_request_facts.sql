-- trevor schema, migration 0010: per-request facts for the dashboard's
-- aggregates (libtrevor/README.md, "Dashboard read models"; schema/README.md,
-- "Decisions").
--
-- request_facts holds, for every request, what the pipeline metrics and the
-- project summaries aggregate: its status, round, project and direction, and
-- the times they derive durations from — created, latest and first
-- submission, first human review, the current decision — as integer
-- microseconds since the Unix epoch, plus its object counts. request_stays
-- holds one row per status change (a request.* audit event whose payload
-- names the state entered, `to`): the state, when it was entered and when
-- the request's next change left it (NULL while it is the current state).
-- review_facts holds, for every human review, what checker performance
-- aggregates: reviewer, decision, whether the agent approved that round, and
-- when the review and its round began (the request's k-th submission event
-- opens round k).
--
-- Both are derived data, written only by the triggers below in the
-- transaction of the change they follow, whoever writes it (the library or
-- raw SQL). The triggers do not assume that events arrive in time order: an
-- event inserted between two earlier ones splits the stay it falls in. The
-- audit trail stays the record; tests/unit/read_models_test.cpp checks these
-- tables against it. Rows are never deleted, as requests and events are not.
-- On SQLite the three tables are WITHOUT ROWID: request_facts rows are
-- stored in creation order, a request's stays together, and each write
-- touches one B-tree fewer.
-- On PostgreSQL the trigger functions run as the schema owner and the
-- application role may only read these tables (trevord db grant-app-role).

-- @engine: all

CREATE TABLE request_facts (
  request_id             {uuid} NOT NULL UNIQUE REFERENCES airlock_requests (id),
  project_id             {uuid} NOT NULL,
  direction              TEXT NOT NULL,
  status                 TEXT NOT NULL,
  review_round           BIGINT NOT NULL,
  created_us             BIGINT NOT NULL,
  -- airlock_requests.submitted_at: the latest submission.
  submitted_us           BIGINT,
  -- The earliest request.submitted event (DRAFT -> SUBMITTED, once).
  first_submitted_us     BIGINT,
  -- The earliest human review, of any round.
  first_human_review_us  BIGINT,
  -- When the current decision was taken: closed_at, or for
  -- CHANGES_REQUESTED the request's last change (updated_at).
  decided_us             BIGINT,
  -- Every version uploaded to the request, and those APPROVED.
  objects                BIGINT NOT NULL DEFAULT 0,
  objects_approved       BIGINT NOT NULL DEFAULT 0,
  -- Ordered by creation: the metrics read a window of requests created in
  -- [since, until), the project summaries every row, both in this order
  -- (on SQLite the rows themselves are kept in it).
  PRIMARY KEY (created_us, request_id)
){without_rowid};

CREATE TABLE request_stays (
  request_id  {uuid} NOT NULL REFERENCES airlock_requests (id),
  entered_us  BIGINT NOT NULL,
  -- The entering event's seq: events of the same microsecond keep their order.
  event_seq   BIGINT NOT NULL,
  state       TEXT NOT NULL,
  left_us     BIGINT,
  PRIMARY KEY (request_id, entered_us, event_seq)
){without_rowid};

CREATE TABLE review_facts (
  review_id                {uuid} NOT NULL UNIQUE REFERENCES reviews (id),
  request_id               {uuid} NOT NULL,
  project_id               {uuid} NOT NULL,
  reviewer_id              {uuid} NOT NULL,
  round                    BIGINT NOT NULL,
  decision                 TEXT NOT NULL,
  accepted_agent_findings  {bool} NOT NULL,
  created_us               BIGINT NOT NULL,
  -- The round's start: the request's round-th submission event (NULL until
  -- that event is recorded).
  round_started_us         BIGINT,
  -- The agent approved this round: the only rounds where accepting its
  -- findings is allowed.
  agent_approved           {bool} NOT NULL,
  -- Ordered by the review's time: checker performance reads a window of it.
  PRIMARY KEY (created_us, review_id)
){without_rowid};
CREATE INDEX ix_review_facts_request ON review_facts (request_id, round);

-- The backfill: the same facts from the rows already there.
INSERT INTO request_facts (request_id, project_id, direction, status, review_round, created_us,
                           submitted_us, first_submitted_us, first_human_review_us, decided_us,
                           objects, objects_approved)
SELECT r.id, r.project_id, r.direction, r.status, r.review_round, {us:r.created_at},
       {us:r.submitted_at},
       (SELECT min({us:a.occurred_at}) FROM audit_events a
         WHERE a.request_id = r.id AND a.event_type = 'request.submitted'),
       (SELECT min({us:v.created_at}) FROM reviews v
         WHERE v.request_id = r.id AND v.reviewer_type = 'human'),
       CASE WHEN r.status = 'CHANGES_REQUESTED' THEN {us:r.updated_at} ELSE {us:r.closed_at} END,
       (SELECT count(*) FROM output_objects o WHERE o.request_id = r.id),
       (SELECT count(*) FROM output_objects o WHERE o.request_id = r.id AND o.state = 'APPROVED')
FROM airlock_requests r;

INSERT INTO review_facts (review_id, request_id, project_id, reviewer_id, round, decision,
                          accepted_agent_findings, created_us, round_started_us, agent_approved)
SELECT v.id, v.request_id, r.project_id, v.reviewer_id, v.round, v.decision,
       v.accepted_agent_findings, {us:v.created_at},
       (SELECT x.at_us FROM (SELECT {us:a.occurred_at} AS at_us,
                                    row_number() OVER (ORDER BY a.occurred_at, a.seq) AS k
                             FROM audit_events a
                             WHERE a.request_id = v.request_id
                               AND a.event_type IN ('request.submitted', 'request.resubmitted')) x
         WHERE x.k = v.round),
       EXISTS (SELECT 1 FROM reviews ag
                WHERE ag.request_id = v.request_id AND ag.round = v.round
                  AND ag.reviewer_type = 'agent' AND ag.decision = 'approved')
FROM reviews v JOIN airlock_requests r ON r.id = v.request_id
WHERE v.reviewer_type = 'human';

INSERT INTO request_stays (request_id, entered_us, event_seq, state, left_us)
SELECT e.request_id, e.at_us, e.seq, e.state,
       lead(e.at_us) OVER (PARTITION BY e.request_id ORDER BY e.at_us, e.seq)
FROM (SELECT a.request_id, {us:a.occurred_at} AS at_us, a.seq, a.payload ->> 'to' AS state
      FROM audit_events a
      WHERE a.request_id IS NOT NULL AND a.event_type >= 'request.' AND a.event_type < 'request/'
        AND (a.payload ->> 'to') IS NOT NULL) e;

-- @engine: sqlite

CREATE TRIGGER request_facts_on_insert AFTER INSERT ON airlock_requests
BEGIN
  INSERT INTO request_facts (request_id, project_id, direction, status, review_round, created_us,
                             submitted_us, decided_us)
  VALUES (NEW.id, NEW.project_id, NEW.direction, NEW.status, NEW.review_round,
          {us:NEW.created_at}, {us:NEW.submitted_at},
          CASE WHEN NEW.status = 'CHANGES_REQUESTED' THEN {us:NEW.updated_at}
               ELSE {us:NEW.closed_at} END);
END;

CREATE TRIGGER request_facts_on_update AFTER UPDATE ON airlock_requests
-- (updated_at matters only to a request asked for changes: the touch
-- trigger's own UPDATE of it passes by otherwise)
WHEN NEW.status IS NOT OLD.status OR NEW.review_round IS NOT OLD.review_round
  OR NEW.submitted_at IS NOT OLD.submitted_at OR NEW.closed_at IS NOT OLD.closed_at
  OR NEW.project_id IS NOT OLD.project_id OR NEW.direction IS NOT OLD.direction
  OR (NEW.status = 'CHANGES_REQUESTED' AND NEW.updated_at IS NOT OLD.updated_at)
BEGIN
  UPDATE request_facts
     SET project_id = NEW.project_id, direction = NEW.direction, status = NEW.status,
         review_round = NEW.review_round, submitted_us = {us:NEW.submitted_at},
         decided_us = CASE WHEN NEW.status = 'CHANGES_REQUESTED' THEN {us:NEW.updated_at}
                           ELSE {us:NEW.closed_at} END
   WHERE request_id = NEW.id;
END;

CREATE TRIGGER request_facts_on_submitted AFTER INSERT ON audit_events
WHEN NEW.request_id IS NOT NULL AND NEW.event_type = 'request.submitted'
BEGIN
  UPDATE request_facts
     SET first_submitted_us = min(coalesce(first_submitted_us, {us:NEW.occurred_at}),
                                  {us:NEW.occurred_at})
   WHERE request_id = NEW.request_id;
END;

CREATE TRIGGER request_stays_on_change AFTER INSERT ON audit_events
WHEN NEW.request_id IS NOT NULL AND NEW.event_type >= 'request.' AND NEW.event_type < 'request/'
  AND (NEW.payload ->> 'to') IS NOT NULL
BEGIN
  -- The stay this change falls in (the latest that began before it) ends here.
  UPDATE request_stays SET left_us = {us:NEW.occurred_at}
   WHERE request_id = NEW.request_id
     AND (entered_us, event_seq) = (
       SELECT entered_us, event_seq FROM request_stays
        WHERE request_id = NEW.request_id
          AND (entered_us, event_seq) < ({us:NEW.occurred_at}, NEW.seq)
        ORDER BY entered_us DESC, event_seq DESC LIMIT 1);
  -- The new stay ends where the next change (if one is already recorded) begins.
  INSERT INTO request_stays (request_id, entered_us, event_seq, state, left_us)
  VALUES (NEW.request_id, {us:NEW.occurred_at}, NEW.seq, NEW.payload ->> 'to',
          (SELECT min(entered_us) FROM request_stays
            WHERE request_id = NEW.request_id
              AND (entered_us, event_seq) > ({us:NEW.occurred_at}, NEW.seq)));
END;

CREATE TRIGGER request_facts_on_review AFTER INSERT ON reviews
WHEN NEW.reviewer_type = 'human'
BEGIN
  UPDATE request_facts
     SET first_human_review_us = min(coalesce(first_human_review_us, {us:NEW.created_at}),
                                     {us:NEW.created_at})
   WHERE request_id = NEW.request_id;
  INSERT INTO review_facts (review_id, request_id, project_id, reviewer_id, round, decision,
                            accepted_agent_findings, created_us, round_started_us,
                            agent_approved)
  VALUES (NEW.id, NEW.request_id,
          (SELECT project_id FROM airlock_requests WHERE id = NEW.request_id),
          NEW.reviewer_id, NEW.round, NEW.decision, NEW.accepted_agent_findings,
          {us:NEW.created_at},
          -- The round-th submission: the request's events in order, by index.
          (SELECT {us:a.occurred_at} FROM audit_events a
            WHERE a.request_id = NEW.request_id
              AND a.event_type IN ('request.submitted', 'request.resubmitted')
            ORDER BY a.occurred_at, a.seq LIMIT 1 OFFSET NEW.round - 1),
          EXISTS (SELECT 1 FROM reviews ag
                   WHERE ag.request_id = NEW.request_id AND ag.round = NEW.round
                     AND ag.reviewer_type = 'agent' AND ag.decision = 'approved'));
END;

CREATE TRIGGER review_facts_on_agent_approval AFTER INSERT ON reviews
WHEN NEW.reviewer_type = 'agent' AND NEW.decision = 'approved'
BEGIN
  UPDATE review_facts SET agent_approved = 1
   WHERE request_id = NEW.request_id AND round = NEW.round;
END;

-- A submission recorded after reviews of its round (or before an earlier
-- one) renumbers the rounds' starts: each is read again.
CREATE TRIGGER review_facts_on_round_start AFTER INSERT ON audit_events
WHEN NEW.request_id IS NOT NULL
  AND NEW.event_type IN ('request.submitted', 'request.resubmitted')
BEGIN
  UPDATE review_facts
     SET round_started_us = (
       SELECT x.at_us FROM (SELECT {us:a.occurred_at} AS at_us,
                                   row_number() OVER (ORDER BY a.occurred_at, a.seq) AS k
                            FROM audit_events a
                            WHERE a.request_id = NEW.request_id
                              AND a.event_type IN ('request.submitted',
                                                   'request.resubmitted')) x
        WHERE x.k = review_facts.round)
   WHERE request_id = NEW.request_id;
END;

CREATE TRIGGER request_facts_on_object AFTER INSERT ON output_objects
BEGIN
  UPDATE request_facts
     SET objects = objects + 1,
         objects_approved = objects_approved + (CASE WHEN NEW.state = 'APPROVED' THEN 1 ELSE 0 END)
   WHERE request_id = NEW.request_id;
END;

CREATE TRIGGER request_facts_on_object_state AFTER UPDATE OF state ON output_objects
WHEN (NEW.state = 'APPROVED') <> (OLD.state = 'APPROVED')
BEGIN
  UPDATE request_facts
     SET objects_approved = objects_approved + (CASE WHEN NEW.state = 'APPROVED' THEN 1 ELSE -1 END)
   WHERE request_id = NEW.request_id;
END;

CREATE TRIGGER request_facts_no_delete BEFORE DELETE ON request_facts
BEGIN SELECT RAISE(ABORT, 'trevor: request_facts rows are never deleted'); END;
CREATE TRIGGER request_stays_no_delete BEFORE DELETE ON request_stays
BEGIN SELECT RAISE(ABORT, 'trevor: request_stays rows are never deleted'); END;
CREATE TRIGGER review_facts_no_delete BEFORE DELETE ON review_facts
BEGIN SELECT RAISE(ABORT, 'trevor: review_facts rows are never deleted'); END;

-- @engine: postgresql

-- The triggers carry the same names as SQLite's. SECURITY DEFINER: the
-- functions write the facts as the schema owner, so that the application
-- role needs (and has) no write access to them.
CREATE FUNCTION trevor_request_facts_request() RETURNS trigger LANGUAGE plpgsql
SECURITY DEFINER SET search_path FROM CURRENT AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO request_facts (request_id, project_id, direction, status, review_round,
                               created_us, submitted_us, decided_us)
    VALUES (NEW.id, NEW.project_id, NEW.direction, NEW.status, NEW.review_round,
            {us:NEW.created_at}, {us:NEW.submitted_at},
            CASE WHEN NEW.status = 'CHANGES_REQUESTED' THEN {us:NEW.updated_at}
                 ELSE {us:NEW.closed_at} END);
  ELSE
    UPDATE request_facts
       SET project_id = NEW.project_id, direction = NEW.direction, status = NEW.status,
           review_round = NEW.review_round, submitted_us = {us:NEW.submitted_at},
           decided_us = CASE WHEN NEW.status = 'CHANGES_REQUESTED' THEN {us:NEW.updated_at}
                             ELSE {us:NEW.closed_at} END
     WHERE request_id = NEW.id;
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER request_facts_on_insert AFTER INSERT ON airlock_requests
  FOR EACH ROW EXECUTE FUNCTION trevor_request_facts_request();
CREATE TRIGGER request_facts_on_update AFTER UPDATE ON airlock_requests
  FOR EACH ROW WHEN (NEW.status IS DISTINCT FROM OLD.status
                     OR NEW.review_round IS DISTINCT FROM OLD.review_round
                     OR NEW.submitted_at IS DISTINCT FROM OLD.submitted_at
                     OR NEW.closed_at IS DISTINCT FROM OLD.closed_at
                     OR NEW.project_id IS DISTINCT FROM OLD.project_id
                     OR NEW.direction IS DISTINCT FROM OLD.direction
                     OR (NEW.status = 'CHANGES_REQUESTED'
                         AND NEW.updated_at IS DISTINCT FROM OLD.updated_at))
  EXECUTE FUNCTION trevor_request_facts_request();

CREATE FUNCTION trevor_request_facts_submitted() RETURNS trigger LANGUAGE plpgsql
SECURITY DEFINER SET search_path FROM CURRENT AS $$
BEGIN
  -- LEAST ignores NULL: the first one sets it.
  UPDATE request_facts SET first_submitted_us = LEAST(first_submitted_us, {us:NEW.occurred_at})
   WHERE request_id = NEW.request_id;
  RETURN NULL;
END $$;
CREATE TRIGGER request_facts_on_submitted AFTER INSERT ON audit_events
  FOR EACH ROW WHEN (NEW.request_id IS NOT NULL AND NEW.event_type = 'request.submitted')
  EXECUTE FUNCTION trevor_request_facts_submitted();

CREATE FUNCTION trevor_request_stays_change() RETURNS trigger LANGUAGE plpgsql
SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
  at_us BIGINT := {us:NEW.occurred_at};
BEGIN
  -- The stay this change falls in (the latest that began before it) ends here.
  UPDATE request_stays SET left_us = at_us
   WHERE request_id = NEW.request_id
     AND (entered_us, event_seq) = (
       SELECT s.entered_us, s.event_seq FROM request_stays s
        WHERE s.request_id = NEW.request_id AND (s.entered_us, s.event_seq) < (at_us, NEW.seq)
        ORDER BY s.entered_us DESC, s.event_seq DESC LIMIT 1);
  -- The new stay ends where the next change (if one is already recorded) begins.
  INSERT INTO request_stays (request_id, entered_us, event_seq, state, left_us)
  VALUES (NEW.request_id, at_us, NEW.seq, NEW.payload ->> 'to',
          (SELECT min(s.entered_us) FROM request_stays s
            WHERE s.request_id = NEW.request_id AND (s.entered_us, s.event_seq) > (at_us, NEW.seq)));
  RETURN NULL;
END $$;
CREATE TRIGGER request_stays_on_change AFTER INSERT ON audit_events
  FOR EACH ROW WHEN (NEW.request_id IS NOT NULL AND NEW.event_type >= 'request.'
                     AND NEW.event_type < 'request/' AND (NEW.payload ->> 'to') IS NOT NULL)
  EXECUTE FUNCTION trevor_request_stays_change();

-- The round-th submission event of a request: when its round began.
CREATE FUNCTION trevor_round_started_us(request {uuid}, round BIGINT) RETURNS BIGINT
LANGUAGE sql STABLE SET search_path FROM CURRENT AS $$
  SELECT {us:a.occurred_at} FROM audit_events a
   WHERE a.request_id = request
     AND a.event_type IN ('request.submitted', 'request.resubmitted')
   ORDER BY a.occurred_at, a.seq LIMIT 1 OFFSET round - 1
$$;

CREATE FUNCTION trevor_request_facts_review() RETURNS trigger LANGUAGE plpgsql
SECURITY DEFINER SET search_path FROM CURRENT AS $$
BEGIN
  UPDATE request_facts
     SET first_human_review_us = LEAST(first_human_review_us, {us:NEW.created_at})
   WHERE request_id = NEW.request_id;
  INSERT INTO review_facts (review_id, request_id, project_id, reviewer_id, round, decision,
                            accepted_agent_findings, created_us, round_started_us,
                            agent_approved)
  VALUES (NEW.id, NEW.request_id,
          (SELECT project_id FROM airlock_requests WHERE id = NEW.request_id),
          NEW.reviewer_id, NEW.round, NEW.decision, NEW.accepted_agent_findings,
          {us:NEW.created_at}, trevor_round_started_us(NEW.request_id, NEW.round),
          EXISTS (SELECT 1 FROM reviews ag
                   WHERE ag.request_id = NEW.request_id AND ag.round = NEW.round
                     AND ag.reviewer_type = 'agent' AND ag.decision = 'approved'));
  RETURN NULL;
END $$;
CREATE TRIGGER request_facts_on_review AFTER INSERT ON reviews
  FOR EACH ROW WHEN (NEW.reviewer_type = 'human')
  EXECUTE FUNCTION trevor_request_facts_review();

CREATE FUNCTION trevor_review_facts_agent_approval() RETURNS trigger LANGUAGE plpgsql
SECURITY DEFINER SET search_path FROM CURRENT AS $$
BEGIN
  UPDATE review_facts SET agent_approved = TRUE
   WHERE request_id = NEW.request_id AND round = NEW.round;
  RETURN NULL;
END $$;
CREATE TRIGGER review_facts_on_agent_approval AFTER INSERT ON reviews
  FOR EACH ROW WHEN (NEW.reviewer_type = 'agent' AND NEW.decision = 'approved')
  EXECUTE FUNCTION trevor_review_facts_agent_approval();

-- A submission recorded after reviews of its round (or before an earlier
-- one) renumbers the rounds' starts: each is read again.
CREATE FUNCTION trevor_review_facts_round_start() RETURNS trigger LANGUAGE plpgsql
SECURITY DEFINER SET search_path FROM CURRENT AS $$
BEGIN
  UPDATE review_facts SET round_started_us = trevor_round_started_us(NEW.request_id, round)
   WHERE request_id = NEW.request_id;
  RETURN NULL;
END $$;
CREATE TRIGGER review_facts_on_round_start AFTER INSERT ON audit_events
  FOR EACH ROW WHEN (NEW.request_id IS NOT NULL
                     AND NEW.event_type IN ('request.submitted', 'request.resubmitted'))
  EXECUTE FUNCTION trevor_review_facts_round_start();

CREATE FUNCTION trevor_request_facts_object() RETURNS trigger LANGUAGE plpgsql
SECURITY DEFINER SET search_path FROM CURRENT AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    UPDATE request_facts
       SET objects = objects + 1,
           objects_approved = objects_approved + (CASE WHEN NEW.state = 'APPROVED' THEN 1 ELSE 0 END)
     WHERE request_id = NEW.request_id;
  ELSE
    UPDATE request_facts
       SET objects_approved = objects_approved + (CASE WHEN NEW.state = 'APPROVED' THEN 1 ELSE -1 END)
     WHERE request_id = NEW.request_id;
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER request_facts_on_object AFTER INSERT ON output_objects
  FOR EACH ROW EXECUTE FUNCTION trevor_request_facts_object();
CREATE TRIGGER request_facts_on_object_state AFTER UPDATE OF state ON output_objects
  FOR EACH ROW WHEN ((NEW.state = 'APPROVED') <> (OLD.state = 'APPROVED'))
  EXECUTE FUNCTION trevor_request_facts_object();

CREATE TRIGGER request_facts_no_delete BEFORE DELETE ON request_facts
  FOR EACH ROW EXECUTE FUNCTION trevor_refuse('request_facts rows are never deleted');
CREATE TRIGGER request_facts_no_truncate BEFORE TRUNCATE ON request_facts
  FOR EACH STATEMENT EXECUTE FUNCTION trevor_refuse('request_facts rows are never deleted');
CREATE TRIGGER request_stays_no_delete BEFORE DELETE ON request_stays
  FOR EACH ROW EXECUTE FUNCTION trevor_refuse('request_stays rows are never deleted');
CREATE TRIGGER request_stays_no_truncate BEFORE TRUNCATE ON request_stays
  FOR EACH STATEMENT EXECUTE FUNCTION trevor_refuse('request_stays rows are never deleted');
CREATE TRIGGER review_facts_no_delete BEFORE DELETE ON review_facts
  FOR EACH ROW EXECUTE FUNCTION trevor_refuse('review_facts rows are never deleted');
CREATE TRIGGER review_facts_no_truncate BEFORE TRUNCATE ON review_facts
  FOR EACH STATEMENT EXECUTE FUNCTION trevor_refuse('review_facts rows are never deleted');
