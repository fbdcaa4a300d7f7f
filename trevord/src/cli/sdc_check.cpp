#include "cli/sdc_check.hpp"

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <optional>
#include <span>
#include <string_view>

#include <fmt/format.h>

#include "trevor/enums.hpp"
#include "trevor/error.hpp"
#include "trevor/sdc.hpp"

namespace trevord {

namespace {

constexpr const char* sdc_usage_text =
    "usage: trevord sdc check FILE --statbarn S [--output-type T] [--policy P] "
    "[--project NAME] [--evidence E] [--justification TEXT]";

int usage_error(std::string_view why) {
  std::fprintf(stderr, "trevord: %.*s\n%s\n", static_cast<int>(why.size()), why.data(),
               sdc_usage_text);
  return sdc_usage;
}

/// tabular for a table's extension, else other (the upload's output_type
/// says it for the agent; --output-type says it here).
trevor::output_type output_type_of(const std::filesystem::path& file) {
  auto ext = file.extension().string();
  for (auto& ch : ext) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return ext == ".csv" || ext == ".tsv" ? trevor::output_type::tabular : trevor::output_type::other;
}

}  // namespace

int sdc_command(const std::vector<std::string>& args) {
  if (args.empty() || args[0] != "check") return usage_error("unknown sdc command");
  std::optional<std::string> file, statbarn, output_type, policy_file, project, evidence,
      justification;
  for (std::size_t i = 1; i < args.size(); ++i) {
    const auto& a = args[i];
    auto value = [&](std::optional<std::string>& into) {
      if (i + 1 >= args.size()) return false;
      into = args[++i];
      return true;
    };
    bool ok = true;
    if (a == "--statbarn")
      ok = value(statbarn);
    else if (a == "--output-type")
      ok = value(output_type);
    else if (a == "--policy")
      ok = value(policy_file);
    else if (a == "--project")
      ok = value(project);
    else if (a == "--evidence")
      ok = value(evidence);
    else if (a == "--justification")
      ok = value(justification);
    else if (a.rfind("--", 0) == 0)
      return usage_error(fmt::format("unknown option {}", a));
    else if (file)
      return usage_error(fmt::format("one FILE only ({} and {})", *file, a));
    else
      file = a;
    if (!ok) return usage_error(fmt::format("{} needs a value", a));
  }
  if (!file) return usage_error("FILE is required");
  if (!statbarn) return usage_error("--statbarn is required");

  try {
    trevor::sdc::object_input in;
    in.filename = std::filesystem::path(*file).filename().string();
    in.statbarn = *statbarn;
    in.researcher_justification = justification.value_or("");
    if (output_type) {
      try {
        in.output_type = trevor::parse_enum_or_throw<trevor::output_type>(*output_type);
      } catch (const trevor::error& e) {
        return usage_error(fmt::format("--output-type: {}", e.what()));
      }
    } else {
      in.output_type = output_type_of(*file);
    }
    in.content = trevor::file_reader(*file);
    if (evidence)
      in.evidence = trevor::sdc::evidence_input{
          std::filesystem::path(*evidence).filename().string(), trevor::file_reader(*evidence)};
    // The policy: --policy, else TREVOR_SDC_POLICY (the daemon's), else the defaults.
    if (!policy_file)
      if (const char* env = std::getenv("TREVOR_SDC_POLICY"); env && *env) policy_file = env;
    const auto config =
        policy_file ? trevor::sdc::policy_config::load(*policy_file) : trevor::sdc::policy_config{};
    const auto p = project ? config.effective(*project, *project) : config.defaults();

    std::vector<trevor::sdc::object_findings> findings{trevor::sdc::check_object(std::move(in), p)};
    const auto json = trevor::sdc::findings_json(p, findings);
    std::fwrite(json.data(), 1, json.size(), stdout);
    std::fputc('\n', stdout);
    switch (trevor::sdc::decide(std::span<const trevor::sdc::object_findings>(findings))) {
      case trevor::review_decision::approved: return sdc_approved;
      case trevor::review_decision::escalated: return sdc_escalated;
      default: return sdc_changes_requested;
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "trevord: %s\n", e.what());
    return sdc_could_not_check;
  }
}

}  // namespace trevord
