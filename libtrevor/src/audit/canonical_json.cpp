#include "audit/canonical_json.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <system_error>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/string.hpp>

#include "trevor/error.hpp"

namespace trevor::detail {
namespace {

[[noreturn]] void refuse(std::string_view why) {
  throw error(errc::invalid_argument, fmt::format("canonical JSON: {}", why));
}

// UTF-16 code units of a UTF-8 string; refuses malformed UTF-8 (overlong
// forms, surrogates, code points above U+10FFFF, truncated sequences).
std::u16string utf16_of(std::string_view s) {
  std::u16string out;
  out.reserve(s.size());
  std::size_t i = 0;
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  while (i < s.size()) {
    const unsigned char b0 = byte(i);
    std::uint32_t cp = 0;
    std::size_t len = 0;
    if (b0 < 0x80) {
      cp = b0;
      len = 1;
    } else if ((b0 & 0xE0) == 0xC0) {
      cp = b0 & 0x1Fu;
      len = 2;
    } else if ((b0 & 0xF0) == 0xE0) {
      cp = b0 & 0x0Fu;
      len = 3;
    } else if ((b0 & 0xF8) == 0xF0) {
      cp = b0 & 0x07u;
      len = 4;
    } else {
      refuse("a string is not valid UTF-8");
    }
    if (i + len > s.size()) refuse("a string is not valid UTF-8 (truncated sequence)");
    for (std::size_t k = 1; k < len; ++k) {
      const unsigned char b = byte(i + k);
      if ((b & 0xC0) != 0x80) refuse("a string is not valid UTF-8");
      cp = (cp << 6) | (b & 0x3Fu);
    }
    static constexpr std::uint32_t min_for_len[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min_for_len[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
      refuse("a string is not valid UTF-8 (overlong form, surrogate or out of range)");
    if (cp >= 0x10000) {
      const std::uint32_t v = cp - 0x10000;
      out.push_back(static_cast<char16_t>(0xD800 + (v >> 10)));
      out.push_back(static_cast<char16_t>(0xDC00 + (v & 0x3FF)));
    } else {
      out.push_back(static_cast<char16_t>(cp));
    }
    i += len;
  }
  return out;
}

void write_string(std::string& out, std::string_view s) {
  (void)utf16_of(s);  // validates
  static constexpr char hex[] = "0123456789abcdef";
  out.push_back('"');
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\t': out += "\\t"; break;
      case '\n': out += "\\n"; break;
      case '\f': out += "\\f"; break;
      case '\r': out += "\\r"; break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out.push_back(hex[c >> 4]);
          out.push_back(hex[c & 0x0F]);
        } else {
          out.push_back(ch);
        }
    }
  }
  out.push_back('"');
}

void write_value(std::string& out, const boost::json::value& v);

void write_object(std::string& out, const boost::json::object& o) {
  std::vector<std::pair<std::u16string, const boost::json::key_value_pair*>> members;
  members.reserve(o.size());
  for (const auto& kv : o) members.emplace_back(utf16_of(kv.key()), &kv);
  std::sort(members.begin(), members.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  out.push_back('{');
  bool first = true;
  for (const auto& [name, kv] : members) {
    if (!first) out.push_back(',');
    first = false;
    write_string(out, kv->key());
    out.push_back(':');
    write_value(out, kv->value());
  }
  out.push_back('}');
}

void write_value(std::string& out, const boost::json::value& v) {
  switch (v.kind()) {
    case boost::json::kind::null: out += "null"; break;
    case boost::json::kind::bool_: out += v.get_bool() ? "true" : "false"; break;
    case boost::json::kind::int64:
      out += es_number_to_string(static_cast<double>(v.get_int64()));
      break;
    case boost::json::kind::uint64:
      out += es_number_to_string(static_cast<double>(v.get_uint64()));
      break;
    case boost::json::kind::double_: out += es_number_to_string(v.get_double()); break;
    case boost::json::kind::string: write_string(out, v.get_string()); break;
    case boost::json::kind::array: {
      out.push_back('[');
      bool first = true;
      for (const auto& e : v.get_array()) {
        if (!first) out.push_back(',');
        first = false;
        write_value(out, e);
      }
      out.push_back(']');
      break;
    }
    case boost::json::kind::object: write_object(out, v.get_object()); break;
  }
}

// What boost::json::parse does not keep: each number's exact value (Boost
// 1.81 rounds some decimal texts to a neighbouring double, where JCS needs
// the correctly rounded one) and each object's member count in the text
// (parse keeps the last of duplicate names silently). Gathered from the
// text, which parse has already validated, in document order.
struct text_facts {
  std::vector<double> numbers;
  std::vector<std::size_t> member_counts;  // per object, in pre-order
};

text_facts scan_json_text(std::string_view t) {
  text_facts f;
  std::vector<std::size_t> open;  // indexes into member_counts
  std::size_t i = 0;
  while (i < t.size()) {
    const char c = t[i];
    if (c == '"') {
      std::size_t j = i + 1;
      while (t[j] != '"') j += t[j] == '\\' ? std::size_t{2} : std::size_t{1};
      i = j + 1;
      std::size_t k = i;
      while (k < t.size() && (t[k] == ' ' || t[k] == '\t' || t[k] == '\n' || t[k] == '\r')) ++k;
      if (k < t.size() && t[k] == ':' && !open.empty()) ++f.member_counts[open.back()];
    } else if (c == '{') {
      open.push_back(f.member_counts.size());
      f.member_counts.push_back(0);
      ++i;
    } else if (c == '}') {
      open.pop_back();
      ++i;
    } else if (c == '-' || (c >= '0' && c <= '9')) {
      std::size_t j = i;
      while (j < t.size() && (t[j] == '-' || t[j] == '+' || t[j] == '.' || t[j] == 'e' ||
                              t[j] == 'E' || (t[j] >= '0' && t[j] <= '9')))
        ++j;
      double d = 0;
      const auto r = std::from_chars(t.data() + i, t.data() + j, d);
      if (r.ec != std::errc{} || r.ptr != t.data() + j)
        refuse(fmt::format("number {} is out of the range of a double", t.substr(i, j - i)));
      f.numbers.push_back(d);
      i = j;
    } else {
      ++i;
    }
  }
  return f;
}

void apply_facts(boost::json::value& v, const text_facts& f, std::size_t& number,
                 std::size_t& object) {
  switch (v.kind()) {
    case boost::json::kind::int64:
    case boost::json::kind::uint64:
    case boost::json::kind::double_:
      if (number >= f.numbers.size()) refuse("numbers out of step with the text");
      v = f.numbers[number++];
      break;
    case boost::json::kind::array:
      for (auto& e : v.get_array()) apply_facts(e, f, number, object);
      break;
    case boost::json::kind::object: {
      auto& o = v.get_object();
      if (object >= f.member_counts.size() || f.member_counts[object] != o.size())
        refuse("an object has a duplicate member name");
      ++object;
      for (auto& kv : o) apply_facts(kv.value(), f, number, object);
      break;
    }
    default: break;
  }
}

}  // namespace

std::string es_number_to_string(double d) {
  if (std::isnan(d)) refuse("NaN is not a JSON number");
  if (std::isinf(d)) refuse("an infinity is not a JSON number");
  if (d == 0) return "0";  // both +0 and -0

  // Shortest round-trip digits, in scientific form: "d[.ddd]e±x".
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
  if (r.ec != std::errc{}) refuse("number formatting failed");
  const std::string_view sci(buf, static_cast<std::size_t>(r.ptr - buf));

  std::string out;
  std::size_t pos = 0;
  if (sci[0] == '-') {
    out.push_back('-');
    pos = 1;
  }
  const std::size_t e_at = sci.find('e');
  std::string digits;
  for (std::size_t i = pos; i < e_at; ++i)
    if (sci[i] != '.') digits.push_back(sci[i]);
  int exp10 = 0;
  {
    std::string_view e = sci.substr(e_at + 1);
    if (!e.empty() && e[0] == '+') e.remove_prefix(1);
    std::from_chars(e.data(), e.data() + e.size(), exp10);
  }
  // ECMAScript terms: value = digits × 10^(n − k), k digits.
  const int k = static_cast<int>(digits.size());
  const int n = exp10 + 1;
  if (k <= n && n <= 21) {
    out += digits;
    out.append(static_cast<std::size_t>(n - k), '0');
  } else if (0 < n && n <= 21) {
    out.append(digits, 0, static_cast<std::size_t>(n));
    out.push_back('.');
    out.append(digits, static_cast<std::size_t>(n));
  } else if (-6 < n && n <= 0) {
    out += "0.";
    out.append(static_cast<std::size_t>(-n), '0');
    out += digits;
  } else {
    out.push_back(digits[0]);
    if (k > 1) {
      out.push_back('.');
      out.append(digits, 1);
    }
    out.push_back('e');
    out.push_back(n - 1 < 0 ? '-' : '+');
    out += std::to_string(n - 1 < 0 ? 1 - n : n - 1);
  }
  return out;
}

std::string canonical_json(const boost::json::value& v) {
  std::string out;
  write_value(out, v);
  return out;
}

boost::json::value parse_json_exactly(std::string_view text) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(text, ec);
  if (ec) refuse(fmt::format("not JSON ({})", ec.message()));
  const auto facts = scan_json_text(text);
  std::size_t number = 0, object = 0;
  apply_facts(v, facts, number, object);
  if (number != facts.numbers.size() || object != facts.member_counts.size())
    refuse("an object has a duplicate member name");
  return v;
}

std::string canonical_json_text(std::string_view json_text) {
  return canonical_json(parse_json_exactly(json_text));
}

std::string audit_leaf_bytes(const audit_leaf_fields& f) {
  constexpr std::int64_t max_exact = std::int64_t{1} << 53;
  if (f.seq > max_exact || f.seq < -max_exact)
    refuse(fmt::format("audit event seq {} is beyond 2^53", f.seq));
  const auto text_or_null = [](const std::optional<std::string>& s) -> boost::json::value {
    if (!s) return nullptr;
    return boost::json::value(boost::json::string(*s));
  };
  boost::json::value payload = nullptr;
  if (f.payload_json) {
    boost::system::error_code ec;
    payload = boost::json::parse(*f.payload_json, ec);
    if (ec) refuse(fmt::format("audit event {}: payload is not JSON ({})", f.id, ec.message()));
  }
  boost::json::object o;
  o["id"] = f.id;
  o["seq"] = f.seq;
  o["occurred_at"] = f.occurred_at;
  o["event_type"] = f.event_type;
  o["actor"] = text_or_null(f.actor);
  o["request_id"] = text_or_null(f.request_id);
  o["project_id"] = text_or_null(f.project_id);
  o["payload"] = std::move(payload);
  return canonical_json(o);
}

}  // namespace trevor::detail
