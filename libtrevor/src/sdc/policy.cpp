// The SDC policy (libtrevor/README.md, "SDC checks"): parsing, validation, overrides, canonical
// JSON and identity.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "domain/sha256.hpp"
#include "trevor/error.hpp"
#include "trevor/sdc.hpp"

namespace trevor::sdc {
namespace {

namespace json = boost::json;

[[noreturn]] void refuse(const std::string& key, const std::string& what) {
  throw error(errc::invalid_argument, fmt::format("sdc policy: '{}' {}", key, what));
}

std::string kind_of(const json::value& v) {
  switch (v.kind()) {
    case json::kind::null: return "null";
    case json::kind::bool_: return "a boolean";
    case json::kind::int64:
    case json::kind::uint64: return "an integer";
    case json::kind::double_: return "a real number";
    case json::kind::string: return "a string";
    case json::kind::array: return "a list";
    case json::kind::object: return "a mapping";
  }
  return "something else";
}

std::string shown(const json::value& v) {
  if (v.is_string()) return json::serialize(v);
  if (v.is_array() || v.is_object()) return kind_of(v);
  return json::serialize(v);
}

std::int64_t as_integer(const json::value& v, const std::string& key, std::int64_t min) {
  std::optional<std::int64_t> n;
  if (v.is_int64()) n = v.get_int64();
  if (v.is_uint64() && v.get_uint64() <= static_cast<std::uint64_t>(INT64_MAX))
    n = static_cast<std::int64_t>(v.get_uint64());
  if (!n) refuse(key, fmt::format("must be an integer, not {} ({})", kind_of(v), shown(v)));
  if (*n < min) refuse(key, fmt::format("must be at least {}, not {}", min, *n));
  return *n;
}

double as_number(const json::value& v, const std::string& key, double lo, bool lo_open, double hi) {
  double d = 0;
  if (v.is_int64())
    d = static_cast<double>(v.get_int64());
  else if (v.is_uint64())
    d = static_cast<double>(v.get_uint64());
  else if (v.is_double())
    d = v.get_double();
  else
    refuse(key, fmt::format("must be a number, not {} ({})", kind_of(v), shown(v)));
  if (!std::isfinite(d) || d < lo || (lo_open && d == lo) || d > hi)
    refuse(key, fmt::format("must be a number in {}{}, {}], not {}", lo_open ? "(" : "[", lo, hi,
                            shown(v)));
  return d;
}

std::string normalise_extension(std::string_view text, const std::string& key) {
  std::string e(text);
  std::transform(e.begin(), e.end(), e.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (!e.empty() && e.front() != '.') e.insert(e.begin(), '.');
  if (e.size() < 2 || e.find_first_of("/\\ \t", 0) != std::string::npos ||
      e.find('.', 1) != std::string::npos)
    refuse(key, fmt::format("holds \"{}\", which is not a file extension", text));
  return e;
}

/// Reads the keys of §3 from `o` into `out`; `prefix` names where `o` is.
void read_overrides(const json::object& o, const std::string& prefix, policy_overrides& out,
                    bool top_level) {
  for (const auto& [k, v] : o) {
    const std::string key = prefix + std::string(k);
    if (k == "threshold") {
      out.threshold = as_integer(v, key, 0);
    } else if (k == "zeros_are_disclosive") {
      if (!v.is_bool()) refuse(key, fmt::format("must be true or false, not {}", kind_of(v)));
      out.zeros_are_disclosive = v.get_bool();
    } else if (k == "round_base") {
      if (v.is_null())
        out.round_base = std::optional<std::int64_t>{};
      else
        out.round_base = std::optional<std::int64_t>{as_integer(v, key, 1)};
    } else if (k == "nk_n") {
      out.nk_n = as_integer(v, key, 1);
    } else if (k == "nk_k") {
      out.nk_k = as_number(v, key, 0, true, 1);
    } else if (k == "p_ratio") {
      out.p_ratio = as_number(v, key, 0, false, 1);
    } else if (k == "dof_threshold") {
      out.dof_threshold = as_integer(v, key, 0);
    } else if (k == "max_rows") {
      out.max_rows = as_integer(v, key, 1);
    } else if (k == "blocked_extensions") {
      if (!v.is_array())
        refuse(key, fmt::format("must be a list of extensions, not {}", kind_of(v)));
      std::vector<std::string> exts;
      for (const auto& e : v.get_array()) {
        if (!e.is_string())
          refuse(key, fmt::format("must hold strings only, not {} ({})", kind_of(e), shown(e)));
        exts.push_back(normalise_extension(e.get_string(), key));
      }
      std::sort(exts.begin(), exts.end());
      exts.erase(std::unique(exts.begin(), exts.end()), exts.end());
      out.blocked_extensions = std::move(exts);
    } else if (k == "projects" && top_level) {
      // read by the caller
    } else {
      refuse(key, top_level ? "is not a policy key" : "is not a policy key a project may override");
    }
  }
}

// --- YAML to JSON values -----------------------------------------------------

bool one_of(std::string_view s, std::initializer_list<std::string_view> words) {
  return std::find(words.begin(), words.end(), s) != words.end();
}

std::size_t digits_from(std::string_view s, std::size_t i) {
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
  return i;
}

// YAML 1.2 core schema: [-+]?[0-9]+
bool is_yaml_int(std::string_view s) {
  const std::size_t start = !s.empty() && (s[0] == '-' || s[0] == '+') ? 1 : 0;
  const std::size_t end = digits_from(s, start);
  return end > start && end == s.size();
}

// YAML 1.2 core schema: [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?
bool is_yaml_real(std::string_view s) {
  std::size_t i = !s.empty() && (s[0] == '-' || s[0] == '+') ? 1 : 0;
  if (i < s.size() && s[i] == '.') {
    const std::size_t end = digits_from(s, i + 1);
    if (end == i + 1) return false;
    i = end;
  } else {
    const std::size_t end = digits_from(s, i);
    if (end == i) return false;
    i = end;
    if (i < s.size() && s[i] == '.') i = digits_from(s, i + 1);
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    std::size_t j = i + 1;
    if (j < s.size() && (s[j] == '-' || s[j] == '+')) ++j;
    const std::size_t end = digits_from(s, j);
    if (end == j) return false;
    i = end;
  }
  return i == s.size();
}

json::value yaml_scalar(const YAML::Node& n) {
  const std::string& s = n.Scalar();
  if (n.Tag() == "!") return json::string(s);  // quoted: a string whatever it holds
  if (one_of(s, {"~", "null", "Null", "NULL", ""})) return nullptr;
  if (one_of(s, {"true", "True", "TRUE"})) return true;
  if (one_of(s, {"false", "False", "FALSE"})) return false;
  if (is_yaml_int(s)) {
    std::int64_t v = 0;
    const char* b = s.data() + (s.front() == '+' ? 1 : 0);
    auto [p, ec] = std::from_chars(b, s.data() + s.size(), v);
    if (ec == std::errc() && p == s.data() + s.size()) return v;
    return json::string(s);  // out of range: a string, refused by the key's check
  }
  if (is_yaml_real(s)) {
    double v = 0;
    const char* b = s.data() + (s.front() == '+' ? 1 : 0);
    auto [p, ec] = std::from_chars(b, s.data() + s.size(), v);
    if (ec == std::errc() && p == s.data() + s.size()) return v;
  }
  return json::string(s);
}

json::value from_yaml(const YAML::Node& n, const std::string& where) {
  switch (n.Type()) {
    case YAML::NodeType::Undefined:
    case YAML::NodeType::Null: return nullptr;
    case YAML::NodeType::Scalar: return yaml_scalar(n);
    case YAML::NodeType::Sequence: {
      json::array a;
      for (const auto& item : n) a.push_back(from_yaml(item, where));
      return a;
    }
    case YAML::NodeType::Map: {
      json::object o;
      for (const auto& kv : n) {
        if (!kv.first.IsScalar())
          throw error(errc::invalid_argument,
                      fmt::format("sdc policy: a key under '{}' is not a plain name",
                                  where.empty() ? "(top level)" : where));
        const std::string key = kv.first.Scalar();
        const std::string path = where.empty() ? key : where + "." + key;
        if (o.contains(key)) refuse(path, "appears twice");
        o[key] = from_yaml(kv.second, path);
      }
      return o;
    }
  }
  return nullptr;
}

json::value parse_document(std::string_view text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first != std::string_view::npos && text[first] == '{') {
    boost::system::error_code ec;
    auto v = json::parse(json::string_view(text.data(), text.size()), ec);
    if (ec)
      throw error(errc::invalid_argument,
                  fmt::format("sdc policy: not valid JSON: {}", ec.message()));
    return v;
  }
  try {
    return from_yaml(YAML::Load(std::string(text)), "");
  } catch (const YAML::Exception& e) {
    throw error(errc::invalid_argument,
                fmt::format("sdc policy: not valid YAML (line {}): {}", e.mark.line + 1, e.msg));
  }
}

// --- canonical form ------------------------------------------------------------

std::string real_text(double d) {
  char buf[64];
  auto [p, ec] = std::to_chars(buf, buf + sizeof buf, d);
  (void)ec;
  return std::string(buf, p);
}

std::string canonical_body(const policy& p) {
  std::string exts;
  for (std::size_t i = 0; i < p.blocked_extensions.size(); ++i) {
    if (i) exts += ',';
    exts += json::serialize(json::string(p.blocked_extensions[i]));
  }
  return fmt::format(
      "\"blocked_extensions\":[{}],\"dof_threshold\":{},\"max_rows\":{},\"nk_k\":{},\"nk_n\":{},"
      "\"p_ratio\":{},\"round_base\":{},\"threshold\":{},\"zeros_are_disclosive\":{}",
      exts, p.dof_threshold, p.max_rows, real_text(p.nk_k), p.nk_n, real_text(p.p_ratio),
      p.round_base ? std::to_string(*p.round_base) : std::string("null"), p.threshold,
      p.zeros_are_disclosive ? "true" : "false");
}

bool iequal(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

}  // namespace

policy apply(policy base, const policy_overrides& o) {
  if (o.threshold) base.threshold = *o.threshold;
  if (o.zeros_are_disclosive) base.zeros_are_disclosive = *o.zeros_are_disclosive;
  if (o.round_base) base.round_base = *o.round_base;
  if (o.nk_n) base.nk_n = *o.nk_n;
  if (o.nk_k) base.nk_k = *o.nk_k;
  if (o.p_ratio) base.p_ratio = *o.p_ratio;
  if (o.dof_threshold) base.dof_threshold = *o.dof_threshold;
  if (o.max_rows) base.max_rows = *o.max_rows;
  if (o.blocked_extensions) base.blocked_extensions = *o.blocked_extensions;
  return base;
}

policy_config policy_config::parse(std::string_view text) {
  const json::value doc = parse_document(text);
  policy_config out;
  if (doc.is_null()) return out;
  if (!doc.is_object())
    throw error(
        errc::invalid_argument,
        fmt::format("sdc policy: the document must be a mapping of keys, not {}", kind_of(doc)));
  const auto& root = doc.get_object();
  policy_overrides top;
  read_overrides(root, "", top, true);
  out.base_ = apply(policy{}, top);
  if (const auto* projects = root.if_contains("projects")) {
    if (projects->is_null()) return out;
    if (!projects->is_object())
      refuse("projects",
             fmt::format("must map project ids or names to overrides, not {}", kind_of(*projects)));
    for (const auto& [name, v] : projects->get_object()) {
      const std::string where = "projects." + std::string(name);
      policy_overrides o;
      if (!v.is_null()) {
        if (!v.is_object())
          refuse(where, fmt::format("must be a mapping of policy keys, not {}", kind_of(v)));
        read_overrides(v.get_object(), where + ".", o, false);
      }
      out.projects_[std::string(name)] = std::move(o);
    }
  }
  return out;
}

policy_config policy_config::load(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw error(errc::not_found, fmt::format("sdc policy: cannot read {}", path.string()));
  std::ostringstream text;
  text << in.rdbuf();
  try {
    return parse(text.str());
  } catch (const error& e) {
    throw error(e.code(), fmt::format("{}: {}", path.string(), e.what()));
  }
}

policy policy_config::effective(std::string_view project_id, std::string_view project_name) const {
  policy p = base_;
  if (!project_name.empty())
    if (auto it = projects_.find(std::string(project_name)); it != projects_.end())
      p = apply(p, it->second);
  if (!project_id.empty())
    for (const auto& [key, o] : projects_)
      if (iequal(key, project_id) && key != project_name) {
        p = apply(p, o);
        break;
      }
  return p;
}

std::string canonical_json(const policy& p) {
  return "{" + canonical_body(p) + "}";
}

std::string policy_id(const policy& p) {
  return detail::sha256_hex(canonical_json(p));
}

std::string policy_document(const policy& p) {
  return "{\"id\":\"" + policy_id(p) + "\"," + canonical_body(p) + "}";
}

}  // namespace trevor::sdc
