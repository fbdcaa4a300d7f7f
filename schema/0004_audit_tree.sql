-- trevor schema, migration 0004: the verifiable audit trail (libtrevor/README.md,
-- "Verifiable audit trail"; the rules are listed in schema/README.md).
--
-- Every audit event becomes one leaf of an RFC 9162 Merkle tree, in the order
-- the sealer finds committed events; the sealer is the only writer.
--   audit_leaves       leaf_index 0, 1, 2, … (dense), the event (id and seq)
--                      and its leaf hash
--   audit_tree_nodes   the hash of every complete aligned subtree above the
--                      leaves: level L, index k covers leaves [k·2^L, (k+1)·2^L)
--   audit_checkpoints  every signed checkpoint (C2SP tlog-checkpoint as a
--                      signed note), one per tree size
-- All three are insert-only, like audit_events: UPDATE, DELETE and TRUNCATE are
-- refused by triggers, and the application role is granted SELECT and INSERT
-- only. Hashes are lower-case hex.

-- @engine: all

CREATE TABLE audit_leaves (
  leaf_index  BIGINT NOT NULL PRIMARY KEY CHECK (leaf_index >= 0),
  event_id    {uuid} NOT NULL UNIQUE REFERENCES audit_events (id),
  event_seq   BIGINT NOT NULL,
  leaf_hash   TEXT NOT NULL CHECK (length(leaf_hash) = 64),
  sealed_at   {ts} NOT NULL DEFAULT {now}
);

-- The sealer looks for unsealed events from just below the highest sealed seq.
CREATE INDEX ix_audit_leaves_seq ON audit_leaves (event_seq);

CREATE TABLE audit_tree_nodes (
  level       BIGINT NOT NULL CHECK (level BETWEEN 1 AND 62),
  node_index  BIGINT NOT NULL CHECK (node_index >= 0),
  hash        TEXT NOT NULL CHECK (length(hash) = 64),
  PRIMARY KEY (level, node_index)
);

CREATE TABLE audit_checkpoints (
  tree_size   BIGINT NOT NULL PRIMARY KEY CHECK (tree_size >= 1),
  root_hash   TEXT NOT NULL CHECK (length(root_hash) = 64),
  note        TEXT NOT NULL,
  created_at  {ts} NOT NULL DEFAULT {now}
);

-- @engine: sqlite

CREATE TRIGGER audit_leaves_no_update BEFORE UPDATE ON audit_leaves
BEGIN SELECT RAISE(ABORT, 'trevor: audit_leaves is insert-only (UPDATE refused)'); END;
CREATE TRIGGER audit_leaves_no_delete BEFORE DELETE ON audit_leaves
BEGIN SELECT RAISE(ABORT, 'trevor: audit_leaves is insert-only (DELETE refused)'); END;
CREATE TRIGGER audit_tree_nodes_no_update BEFORE UPDATE ON audit_tree_nodes
BEGIN SELECT RAISE(ABORT, 'trevor: audit_tree_nodes is insert-only (UPDATE refused)'); END;
CREATE TRIGGER audit_tree_nodes_no_delete BEFORE DELETE ON audit_tree_nodes
BEGIN SELECT RAISE(ABORT, 'trevor: audit_tree_nodes is insert-only (DELETE refused)'); END;
CREATE TRIGGER audit_checkpoints_no_update BEFORE UPDATE ON audit_checkpoints
BEGIN SELECT RAISE(ABORT, 'trevor: audit_checkpoints is insert-only (UPDATE refused)'); END;
CREATE TRIGGER audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints
BEGIN SELECT RAISE(ABORT, 'trevor: audit_checkpoints is insert-only (DELETE refused)'); END;

-- @engine: postgresql

CREATE TRIGGER audit_leaves_no_update BEFORE UPDATE ON audit_leaves
  FOR EACH ROW EXECUTE FUNCTION trevor_refuse('audit_leaves is insert-only (UPDATE refused)');
CREATE TRIGGER audit_leaves_no_delete BEFORE DELETE ON audit_leaves
  FOR EACH ROW EXECUTE FUNCTION trevor_refuse('audit_leaves is insert-only (DELETE refused)');
CREATE TRIGGER audit_leaves_no_truncate BEFORE TRUNCATE ON audit_leaves
  FOR EACH STATEMENT EXECUTE FUNCTION trevor_refuse('audit_leaves is insert-only (TRUNCATE refused)');
CREATE TRIGGER audit_tree_nodes_no_update BEFORE UPDATE ON audit_tree_nodes
  FOR EACH ROW EXECUTE FUNCTION trevor_refuse('audit_tree_nodes is insert-only (UPDATE refused)');
CREATE TRIGGER audit_tree_nodes_no_delete BEFORE DELETE ON audit_tree_nodes
  FOR EACH ROW EXECUTE FUNCTION trevor_refuse('audit_tree_nodes is insert-only (DELETE refused)');
CREATE TRIGGER audit_tree_nodes_no_truncate BEFORE TRUNCATE ON audit_tree_nodes
  FOR EACH STATEMENT EXECUTE FUNCTION trevor_refuse('audit_tree_nodes is insert-only (TRUNCATE refused)');
CREATE TRIGGER audit_checkpoints_no_update BEFORE UPDATE ON audit_checkpoints
  FOR EACH ROW EXECUTE FUNCTION trevor_refuse('audit_checkpoints is insert-only (UPDATE refused)');
CREATE TRIGGER audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints
  FOR EACH ROW EXECUTE FUNCTION trevor_refuse('audit_checkpoints is insert-only (DELETE refused)');
CREATE TRIGGER audit_checkpoints_no_truncate BEFORE TRUNCATE ON audit_checkpoints
  FOR EACH STATEMENT EXECUTE FUNCTION trevor_refuse('audit_checkpoints is insert-only (TRUNCATE refused)');
