// libFuzzer targets on libtrevor's parsers of untrusted text, chosen by the
// first input byte: the DATABASE_URL parser, the signed-link verifier, the
// SDC table checks (CSV through libcsv, content type through libmagic) and
// the SDC policy parser (JSON or YAML). Refusals are trevor::error; anything
// else escaping, a crash or a sanitizer report is a finding.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "trevor/database_url.hpp"
#include "trevor/error.hpp"
#include "trevor/sdc.hpp"
#include "trevor/signed_link.hpp"

namespace {

void database_url(std::string_view text) {
  (void)trevor::parse_database_url(text);
}

void link_token(std::string_view text) {
  static const trevor::link_signer signer(std::string(48, 's'));
  (void)signer.verify(text, trevor::link_purpose::release_download, trevor::uuid(),
                      trevor::timestamp(0));
}

void table(std::string_view text, const char* filename, const char* statbarn) {
  trevor::sdc::object_input in;
  in.object_id = "fuzz";
  in.filename = filename;
  in.output_type = trevor::output_type::tabular;
  in.statbarn = statbarn;
  in.researcher_justification = "fuzz";
  in.content = trevor::string_reader(std::string(text));
  (void)trevor::sdc::check_object(std::move(in), trevor::sdc::policy{});
}

void policy(std::string_view text) {
  const auto p = trevor::sdc::policy_config::parse(text);
  (void)trevor::sdc::canonical_json(p.effective("p", "p"));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  try {
    switch (data[0] % 5) {
      case 0: database_url(text); break;
      case 1: link_token(text); break;
      case 2: table(text, "t.csv", "Frequencies"); break;
      case 3: table(text, "t.tsv", "LinearAggregations"); break;
      default: policy(text); break;
    }
  } catch (const trevor::error&) {
  }
  return 0;
}
