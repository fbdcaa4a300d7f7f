// The agent review's decision, summary and findings JSON (libtrevor/README.md, "SDC checks").
#include <string>

#include <fmt/format.h>
#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>

#include "trevor/sdc.hpp"

namespace trevor::sdc {
namespace {

std::string json_text(std::string_view s) {
  return boost::json::serialize(boost::json::string(s));
}

std::string without_period(std::string s) {
  while (!s.empty() && (s.back() == '.' || s.back() == ' ')) s.pop_back();
  return s;
}

}  // namespace

std::vector<std::string> summary_sentences(std::span<const object_findings> objects) {
  std::vector<std::string> out;
  for (const auto& o : objects) {
    std::string parts;
    for (const auto& c : o.checks) {
      if (c.status != status::fail && c.status != status::review) continue;
      if (!parts.empty()) parts += "; ";
      parts +=
          fmt::format("{} {}, {}", c.check, c.status == status::fail ? "failed" : "needs review",
                      without_period(c.detail));
    }
    if (parts.empty()) continue;
    out.push_back(fmt::format("{} ({}): {}.", o.filename, to_string(o.recommendation), parts));
  }
  return out;
}

std::string summary(std::span<const object_findings> objects) {
  const auto sentences = summary_sentences(objects);
  if (sentences.empty())
    return objects.size() == 1
               ? std::string("The object passed the SDC checks.")
               : fmt::format("All {} objects passed the SDC checks.", objects.size());
  std::string out;
  for (const auto& s : sentences) {
    if (!out.empty()) out += '\n';
    out += s;
  }
  return out;
}

std::string findings_json(const policy& p, std::span<const object_findings> objects) {
  // Written by hand so that the policy's reals keep their canonical form
  // (Boost.JSON's serializer would write 0.9 as 9E-1); strings are escaped
  // by Boost.JSON.
  std::string out = "{\"policy\":" + policy_document(p) + ",\"objects\":[";
  for (std::size_t i = 0; i < objects.size(); ++i) {
    const auto& o = objects[i];
    if (i) out += ',';
    out += fmt::format(
        "{{\"object_id\":{},\"filename\":{},\"statbarn\":{},\"recommendation\":{},\"checks\":[",
        json_text(o.object_id), json_text(o.filename), json_text(o.statbarn),
        json_text(to_string(o.recommendation)));
    for (std::size_t j = 0; j < o.checks.size(); ++j) {
      const auto& c = o.checks[j];
      if (j) out += ',';
      out += fmt::format("{{\"check\":{},\"status\":{},\"severity\":{},\"detail\":{},\"cells\":[",
                         json_text(c.check), json_text(to_string(c.status)),
                         json_text(to_string(c.severity)), json_text(c.detail));
      for (std::size_t k = 0; k < c.cells.size(); ++k) {
        if (k) out += ',';
        out += fmt::format("{{\"row\":{},\"column\":{}}}", c.cells[k].row,
                           json_text(c.cells[k].column));
      }
      out += "]}";
    }
    out += "]}";
  }
  out += "]}";
  return out;
}

}  // namespace trevor::sdc
