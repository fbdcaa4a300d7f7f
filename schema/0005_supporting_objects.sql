-- trevor schema, migration 0005: supporting objects (libtrevor/README.md,
-- "Supporting objects"; the rule is listed in schema/README.md).
--
-- An object uploaded as supporting is for the checkers only (an evidence
-- table, a log, the code that made an output): it is reviewed with the
-- request but never released, packaged or delivered, and the built-in agent
-- runs no output checks on it. Like an object's other identity columns, the
-- flag never changes once written.

-- @engine: all

ALTER TABLE output_objects ADD COLUMN supporting {bool} NOT NULL DEFAULT {false};

-- @engine: sqlite

CREATE TRIGGER output_objects_supporting_immutable BEFORE UPDATE ON output_objects
WHEN NEW.supporting IS NOT OLD.supporting
BEGIN SELECT RAISE(ABORT, 'trevor: output_objects identity and content are immutable (supporting)'); END;

-- @engine: postgresql

CREATE TRIGGER output_objects_supporting_immutable BEFORE UPDATE ON output_objects
  FOR EACH ROW WHEN (NEW.supporting IS DISTINCT FROM OLD.supporting)
  EXECUTE FUNCTION trevor_refuse('output_objects identity and content are immutable (supporting)');
