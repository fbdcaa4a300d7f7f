#include "store/audit_tree.hpp"

#include <array>

#include <fmt/format.h>

#include "store/audit_store.hpp"
#include "store/multi_insert.hpp"
#include "store/query.hpp"
#include "trevor/error.hpp"

namespace trevor::detail {
namespace {

// Leaves and nodes are read back in chunks of this many rows, so that a
// verification of millions of events holds one chunk at a time.
constexpr std::uint64_t chunk_rows = 10'000;

// Any constant: the key of the sealer's advisory lock on PostgreSQL.
constexpr long long sealer_lock_key = 0x7472'6576'6f72'0001;  // "trevor" 1

struct checkpoint_row {
  static constexpr sql_text columns{"tree_size, root_hash, note"};
  static stored_checkpoint read(row_reader& r) {
    stored_checkpoint cp;
    cp.tree_size = static_cast<std::uint64_t>(r.i64());
    cp.root = audit_hash_from_hex(r.text());
    cp.note = r.text();
    return cp;
  }
};

// audit_leaves joined with audit_events (LEFT: the verifier must see a leaf
// whose event is gone).
struct leaf_event_row {
  static constexpr sql_text columns = sql_text{
      "l.leaf_index, l.event_id, l.event_seq, l.leaf_hash, e.id, e.seq, "
      "{t:e.occurred_at}, e.actor, e.event_type, e.request_id, e.project_id, e.payload"};
  static stored_leaf read(row_reader& r) {
    stored_leaf l;
    l.index = static_cast<std::uint64_t>(r.i64());
    l.event_id = r.uuid();
    l.event_seq = r.i64();
    l.hash_hex = r.text();
    if (r.next_is_null()) {
      for (int i = 0; i < 8; ++i) (void)r.opt_text();
    } else {
      l.event = audit_event_row::read(r);
    }
    return l;
  }
};

/// Rows per multi-row INSERT of leaves and nodes: a few, in a statement
/// prepared once per connection. One of hundreds of rows costs SQLite time
/// quadratic in its named parameters to prepare and bind, and is no faster on
/// PostgreSQL (measured: tests/bench/audit_tree_bench).
std::size_t rows_per_insert(const connection&) {
  return max_prepared_insert_rows;
}

}  // namespace

void lock_audit_sealer(connection& c) {
  if (c.kind() != engine::postgresql) return;
  long long key = sealer_lock_key;
  static constexpr sql_text sql{"SELECT 1 FROM (SELECT pg_advisory_xact_lock(:k)) l"};
  (void)query_count(c, prepared(sql), key);
}

std::uint64_t audit_leaf_count(connection& c) {
  static constexpr sql_text sql{"SELECT COALESCE(MAX(leaf_index) + 1, 0) FROM audit_leaves"};
  return static_cast<std::uint64_t>(query_count(c, prepared(sql)));
}

std::int64_t max_sealed_seq(connection& c) {
  static constexpr sql_text sql{"SELECT COALESCE(MAX(event_seq), 0) FROM audit_leaves"};
  return query_count(c, prepared(sql));
}

std::vector<audit_event> unsealed_events(connection& c, std::int64_t after_seq, std::size_t limit) {
  static constexpr auto sql =
      "SELECT " + audit_event_row::columns +
      " FROM audit_events e WHERE e.seq > :after AND NOT EXISTS "
      "(SELECT 1 FROM audit_leaves l WHERE l.event_id = e.id) ORDER BY e.seq LIMIT :n";
  long long after = after_seq, n = static_cast<long long>(limit);
  return query_all(c, prepared(sql), audit_event_row::read, after, n);
}

namespace {

// Inserts `items` with multi-row statements of rows_per_insert() rows, each
// row's values written by `values_of` (in placeholder order).
template <class T, class ValuesOf>
void insert_in_chunks(connection& c, const char* head, const char* row, std::span<const T> items,
                      std::size_t per_row, ValuesOf&& values_of) {
  const std::size_t per_statement = rows_per_insert(c);
  for (std::size_t at = 0; at < items.size(); at += per_statement) {
    const auto part = items.subspan(at, std::min(per_statement, items.size() - at));
    std::vector<nullable_text> values;
    values.reserve(part.size() * per_row);
    for (const auto& item : part)
      for (auto& v : values_of(item)) values.emplace_back(std::optional<std::string>(std::move(v)));
    execute_multi_insert(c, head, row, part.size(), values);
  }
}

}  // namespace

void insert_audit_leaves(connection& c, std::span<const new_leaf> leaves) {
  static constexpr char head[] =
      "INSERT INTO audit_leaves (leaf_index, event_id, event_seq, leaf_hash)";
  static constexpr char row[] = "(CAST($ AS BIGINT), $, CAST($ AS BIGINT), $)";
  insert_in_chunks(c, head, row, leaves, 4, [](const new_leaf& l) {
    return std::array<std::string, 4>{std::to_string(l.index), l.event_id.str(),
                                      std::to_string(l.event_seq), to_hex(l.hash)};
  });
}

void insert_audit_nodes(connection& c, std::span<const new_node> nodes) {
  static constexpr char head[] = "INSERT INTO audit_tree_nodes (level, node_index, hash)";
  static constexpr char row[] = "(CAST($ AS BIGINT), CAST($ AS BIGINT), $)";
  insert_in_chunks(c, head, row, nodes, 3, [](const new_node& n) {
    return std::array<std::string, 3>{std::to_string(n.id.level), std::to_string(n.id.index),
                                      to_hex(n.hash)};
  });
}

std::vector<hash256> stored_tree::subtree_hashes(std::span<const subtree_id> ids) const {
  std::vector<hash256> out(ids.size());
  if (ids.empty()) return out;
  // One statement: the leaves by index, the nodes by (level, index).
  sql_builder st;
  bool first = true;
  for (const auto& id : ids) {
    if (id.level != 0) continue;
    st << (first ? "SELECT 0, leaf_index, leaf_hash FROM audit_leaves WHERE leaf_index IN ("
                 : ", ");
    st.integer(static_cast<long long>(id.index));
    first = false;
  }
  if (!first) st << ")";
  bool first_node = true;
  for (const auto& id : ids) {
    if (id.level == 0) continue;
    if (first_node)
      st << (first ? "" : " UNION ALL ")
         << "SELECT level, node_index, hash FROM audit_tree_nodes WHERE ";
    else
      st << " OR ";
    st << "(level = ";
    st.integer(id.level) << " AND node_index = ";
    st.integer(static_cast<long long>(id.index)) << ")";
    first_node = false;
  }
  struct found {
    subtree_id id;
    std::string hex;
  };
  const auto rows = query_all(c_, st, [](row_reader& r) {
    found f;
    f.id.level = static_cast<unsigned>(r.i64());
    f.id.index = static_cast<std::uint64_t>(r.i64());
    f.hex = r.text();
    return f;
  });
  std::vector<bool> filled(ids.size(), false);
  for (const auto& f : rows) {
    for (std::size_t i = 0; i < ids.size(); ++i) {
      if (!filled[i] && ids[i] == f.id) {
        out[i] = audit_hash_from_hex(f.hex);
        filled[i] = true;
      }
    }
  }
  for (std::size_t i = 0; i < ids.size(); ++i) {
    // Equal ids asked twice: the first match filled only one of them.
    if (!filled[i]) {
      for (std::size_t j = 0; j < i; ++j) {
        if (filled[j] && ids[j] == ids[i]) {
          out[i] = out[j];
          filled[i] = true;
          break;
        }
      }
    }
    if (!filled[i])
      throw error(errc::internal, fmt::format("the audit tree has no stored subtree (level {}, "
                                              "index {})",
                                              ids[i].level, ids[i].index));
  }
  return out;
}

std::optional<stored_checkpoint> latest_audit_checkpoint(connection& c) {
  static constexpr auto sql = "SELECT " + checkpoint_row::columns +
                              " FROM audit_checkpoints ORDER BY tree_size DESC LIMIT 1";
  return query_one(c, prepared(sql), checkpoint_row::read);
}

void insert_audit_checkpoint(connection& c, const stored_checkpoint& cp) {
  static constexpr sql_text sql{
      "INSERT INTO audit_checkpoints (tree_size, root_hash, note) VALUES (:size, :root, :note)"};
  long long size = static_cast<long long>(cp.tree_size);
  std::string root = to_hex(cp.root), note = cp.note;
  execute(c, one_time(sql), size, root, note);
}

void for_each_audit_checkpoint(connection& c, const std::function<void(stored_checkpoint)>& fn) {
  static constexpr auto sql =
      "SELECT " + checkpoint_row::columns + " FROM audit_checkpoints ORDER BY tree_size";
  for_each_row(c, one_time(sql),
               [&](const soci::row& r) { fn(read_row(r, checkpoint_row::read)); });
}

std::optional<std::uint64_t> audit_leaf_index(connection& c, const uuid& event_id) {
  static constexpr sql_text sql{"SELECT leaf_index FROM audit_leaves WHERE event_id = :id"};
  const std::string key = event_id.str();
  auto n = query_one(c, prepared(sql), read_count, key);
  if (!n) return std::nullopt;
  return static_cast<std::uint64_t>(*n);
}

std::optional<audit_event> find_audit_event(connection& c, const uuid& event_id) {
  static constexpr auto sql =
      "SELECT " + audit_event_row::columns + " FROM audit_events WHERE id = :id";
  const std::string key = event_id.str();
  return query_one(c, prepared(sql), audit_event_row::read, key);
}

std::vector<audit_event> audit_leaf_events(connection& c, std::uint64_t start, std::uint64_t end) {
  static constexpr auto sql =
      "SELECT " + leaf_event_row::columns +
      " FROM audit_leaves l LEFT JOIN audit_events e ON e.id = l.event_id "
      "WHERE l.leaf_index >= :a AND l.leaf_index < :b ORDER BY l.leaf_index";
  long long a = static_cast<long long>(start), b = static_cast<long long>(end);
  std::vector<audit_event> out;
  for (auto& l : query_all(c, prepared(sql), leaf_event_row::read, a, b)) {
    if (!l.event)
      throw error(errc::internal, fmt::format("leaf {}: event {} is missing from audit_events",
                                              l.index, l.event_id.str()));
    out.push_back(std::move(*l.event));
  }
  return out;
}

std::vector<std::pair<audit_event, std::optional<std::uint64_t>>> request_audit_leaves(
    connection& c, const uuid& request_id) {
  static constexpr auto sql =
      "SELECT " + audit_event_row::columns +
      ", (SELECT l.leaf_index FROM audit_leaves l WHERE l.event_id = "
      "audit_events.id) FROM audit_events WHERE request_id = :r ORDER BY seq";
  const std::string key = request_id.str();
  return query_all(
      c, prepared(sql),
      [](row_reader& r) {
        auto e = audit_event_row::read(r);
        auto index = r.opt_i64();
        return std::pair<audit_event, std::optional<std::uint64_t>>(
            std::move(e), index ? std::optional<std::uint64_t>(static_cast<std::uint64_t>(*index))
                                : std::nullopt);
      },
      key);
}

void for_each_audit_leaf(connection& c, const std::function<void(const stored_leaf&)>& fn) {
  static constexpr auto sql = "SELECT " + leaf_event_row::columns +
                              " FROM audit_leaves l LEFT JOIN audit_events e ON e.id = l.event_id "
                              "WHERE l.leaf_index >= :a ORDER BY l.leaf_index LIMIT :n";
  long long from = 0, n = static_cast<long long>(chunk_rows);
  for (;;) {
    const auto rows = query_all(c, prepared(sql), leaf_event_row::read, from, n);
    for (const auto& l : rows) fn(l);
    if (rows.size() < chunk_rows) return;
    from = static_cast<long long>(rows.back().index) + 1;
  }
}

void for_each_audit_node(connection& c, const std::function<void(const new_node&)>& fn) {
  // Keyset pages on (level, node_index); every stored level is ≥ 1. A row
  // value comparison, so that both engines seek the primary key to the page
  // (with `level > :l OR (…)` SQLite scanned the index from its start for
  // every page: quadratic in the nodes).
  static constexpr sql_text sql{
      "SELECT level, node_index, hash FROM audit_tree_nodes WHERE (level, node_index) > "
      "(:l, :i) ORDER BY level, node_index LIMIT :n"};
  long long level = 0, index = -1;
  const long long n = static_cast<long long>(chunk_rows);
  for (;;) {
    const auto rows = query_all(
        c, prepared(sql),
        [](row_reader& r) {
          new_node node;
          node.id.level = static_cast<unsigned>(r.i64());
          node.id.index = static_cast<std::uint64_t>(r.i64());
          node.hash = audit_hash_from_hex(r.text());
          return node;
        },
        level, index, n);
    for (const auto& node : rows) fn(node);
    if (rows.size() < chunk_rows) return;
    level = static_cast<long long>(rows.back().id.level);
    index = static_cast<long long>(rows.back().id.index);
  }
}

std::optional<audit_event> first_unsealed_before(connection& c, const timestamp& cutoff) {
  static constexpr auto sql =
      "SELECT " + audit_event_row::columns +
      " FROM audit_events e WHERE e.occurred_at < :cutoff AND NOT EXISTS "
      "(SELECT 1 FROM audit_leaves l WHERE l.event_id = e.id) ORDER BY e.seq LIMIT 1";
  const std::string at = cutoff.str();
  return query_one(c, one_time(sql), audit_event_row::read, at);
}

std::uint64_t audit_event_total(connection& c) {
  return static_cast<std::uint64_t>(count_audit_events(c));
}

}  // namespace trevor::detail
