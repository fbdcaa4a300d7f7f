// Audit proofs without a database: RFC 8785 canonical JSON, RFC 9162 Merkle
// trees and proofs, C2SP signed notes and checkpoints — each against
// published known answers and, for the tree, against an independent naive
// implementation of RFC 9162's recursive definitions.
//
// Where the known answers come from:
//   - canonical JSON: the JCS authors' test data (github.com/cyberphone/
//     json-canonicalization, testdata/input and testdata/output; "values" is
//     the RFC 8785 §3.2.2 example, its output the bytes of §3.2.4) and the
//     number table of RFC 8785 Appendix B;
//   - Merkle tree: the RFC 6962 reference tree of 8 leaves used by
//     transparency-dev/merkle (testonly/constants.go: leaves, node hashes,
//     roots; testonly/reference_test.go and cmd/proofgen/main.go: inclusion
//     and consistency proofs);
//   - signed notes: golang.org/x/mod/sumdb/note (note_test.go: the
//     PeterNeumann key pair and signed note) and the C2SP signed-note and
//     tlog-checkpoint examples (github.com/C2SP/C2SP).
#include <bit>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include <doctest/doctest.h>
#include <fmt/format.h>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include "audit/canonical_json.hpp"
#include "audit/merkle.hpp"
#include "audit/signed_note.hpp"
#include "support.hpp"
#include "trevor/audit_proof.hpp"

namespace trevor {
namespace {

using detail::hash256;
using test::thrown_by;

bool contains(const std::string& s, std::string_view part) {
  return s.find(part) != std::string::npos;
}

std::string message_of(const std::function<void()>& f) {
  const auto e = thrown_by(f);
  CHECK(e.code() == errc::invalid_argument);
  return e.what();
}

std::string bytes_of_hex(std::string_view hex) {
  std::string out;
  for (std::size_t i = 0; i < hex.size(); i += 2)
    out.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  return out;
}

hash256 h(std::string_view hex) {
  return audit_hash_from_hex(hex);
}

// ---------------------------------------------------------------------------
// RFC 8785 canonical JSON

std::string jcs(std::string_view json_text) {
  return detail::canonical_json_text(json_text);
}

TEST_CASE("audit proof: canonical JSON of the JCS authors' test data (RFC 8785 §3.2.2-3.2.4)") {
  struct sample {
    const char* name;
    const char* input;
    const char* output;
  };
  const sample samples[] = {
      {"arrays", "[   56,   {     \"d\": true,     \"10\": null,     \"1\": [ ]   } ] ",
       "[56,{\"1\":[],\"10\":null,\"d\":true}]"},
      {"french",
       "{   \"peach\": \"This sorting order\",   \"p\xC3\xA9"
       "ch\xC3\xA9\": \"is wrong according to French\",   \"p\xC3\xAA"
       "che\": \"but canonicalization MUST\",   \"sin\":   \"ignore locale\" } ",
       "{\"peach\":\"This sorting order\",\"p\xC3\xA9"
       "ch\xC3\xA9\":\"is wrong according to French\",\"p\xC3\xAA"
       "che\":\"but canonicalization MUST\",\"sin\":\"ignore locale\"}"},
      {"structures",
       "{   \"1\": {\"f\": {\"f\": \"hi\",\"F\": 5} ,\"\\n\": 56.0},   \"10\": { },   \"\": "
       "\"empty\",   \"a\": { },   \"111\": [ {\"e\": \"yes\",\"E\": \"no\" } ],   \"A\": { } }",
       "{\"\":\"empty\",\"1\":{\"\\n\":56,\"f\":{\"F\":5,\"f\":\"hi\"}},\"10\":{},\"111\":[{\"E\":"
       "\"no\",\"e\":\"yes\"}],\"A\":{},\"a\":{}}"},
      {"unicode", "{   \"Unnormalized Unicode\":\"A\\u030a\" } ",
       "{\"Unnormalized Unicode\":\"A\xCC\x8A\"}"},
      {"values",
       "{   \"numbers\": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],   "
       "\"string\": \"\\u20ac$\\u000F\\u000aA'\\u0042\\u0022\\u005c\\\\\\\"\\/\",   \"literals\": "
       "[null, true, false] }",
       "{\"literals\":[null,true,false],\"numbers\":[333333333.3333333,1e+30,4.5,0.002,1e-27],"
       "\"string\":\"\xE2\x82\xAC$\\u000f\\nA'B\\\"\\\\\\\\\\\"/\"}"},
      {"weird",
       "{   \"\\u20ac\": \"Euro Sign\",   \"\\r\": \"Carriage Return\",   \"\\u000a\": "
       "\"Newline\", "
       "  \"1\": \"One\",   \"\\u0080\": \"Control\\u007f\",   \"\\ud83d\\ude02\": \"Smiley\",   "
       "\"\\u00f6\": \"Latin Small Letter O With Diaeresis\",   \"\\ufb33\": \"Hebrew Letter Dalet "
       "With Dagesh\",   \"</script>\": \"Browser Challenge\" } ",
       "{\"\\n\":\"Newline\",\"\\r\":\"Carriage "
       "Return\",\"1\":\"One\",\"</script>\":\"Browser "
       "Challenge\",\"\xC2\x80\":\"Control\x7F\",\"\xC3\xB6\":\"Latin Small Letter O With "
       "Diaeresis\",\"\xE2\x82\xAC\":\"Euro "
       "Sign\",\"\xF0\x9F\x98\x82\":\"Smiley\",\"\xEF\xAC\xB3\":"
       "\"Hebrew Letter Dalet With Dagesh\"}"},
  };
  for (const auto& s : samples) {
    CAPTURE(s.name);
    CHECK(jcs(s.input) == s.output);
    // Canonical output is a fixed point.
    CHECK(jcs(s.output) == s.output);
  }
  // RFC 8785 §3.2.4: the "values" example as bytes (testdata/outhex/values.txt).
  CHECK(jcs(samples[4].input) ==
        bytes_of_hex("7b226c69746572616c73223a5b6e756c6c2c747275652c66616c73655d2c226e"
                     "756d62657273223a5b3333333333333333332e333333333333332c31652b3330"
                     "2c342e352c302e3030322c31652d32375d2c22737472696e67223a22e282ac24"
                     "5c75303030665c6e4127425c225c5c5c5c5c222f227d"));
}

TEST_CASE("audit proof: RFC 8785 §3.2.3 sorts names by UTF-16 code units, not code points") {
  // The RFC's example: U+1F600 (surrogates D83D DE00) sorts before U+FB33.
  const auto out = jcs(
      R"({"\u20ac":"Euro Sign","\r":"Carriage Return","\ufb33":"Hebrew Letter Dalet With Dagesh",)"
      R"("1":"One","\ud83d\ude00":"Emoji: Grinning Face","\u0080":"Control",)"
      R"("\u00f6":"Latin Small Letter O With Diaeresis"})");
  const auto values = boost::json::parse(out).as_object();
  std::vector<std::string> order;
  for (const auto& kv : values) order.emplace_back(kv.value().as_string());
  CHECK(order == std::vector<std::string>{
                     "Carriage Return", "One", "Control", "Latin Small Letter O With Diaeresis",
                     "Euro Sign", "Emoji: Grinning Face", "Hebrew Letter Dalet With Dagesh"});
}

TEST_CASE("audit proof: RFC 8785 Appendix B number serialisation") {
  struct row {
    std::uint64_t ieee;
    const char* text;
  };
  const row table[] = {
      {0x0000000000000000, "0"},
      {0x8000000000000000, "0"},
      {0x0000000000000001, "5e-324"},
      {0x8000000000000001, "-5e-324"},
      {0x7fefffffffffffff, "1.7976931348623157e+308"},
      {0xffefffffffffffff, "-1.7976931348623157e+308"},
      {0x4340000000000000, "9007199254740992"},
      {0xc340000000000000, "-9007199254740992"},
      {0x4430000000000000, "295147905179352830000"},
      {0x44b52d02c7e14af5, "9.999999999999997e+22"},
      {0x44b52d02c7e14af6, "1e+23"},
      {0x44b52d02c7e14af7, "1.0000000000000001e+23"},
      {0x444b1ae4d6e2ef4e, "999999999999999700000"},
      {0x444b1ae4d6e2ef4f, "999999999999999900000"},
      {0x444b1ae4d6e2ef50, "1e+21"},
      {0x3eb0c6f7a0b5ed8c, "9.999999999999997e-7"},
      {0x3eb0c6f7a0b5ed8d, "0.000001"},
      {0x41b3de4355555553, "333333333.3333332"},
      {0x41b3de4355555554, "333333333.33333325"},
      {0x41b3de4355555555, "333333333.3333333"},
      {0x41b3de4355555556, "333333333.3333334"},
      {0x41b3de4355555557, "333333333.33333343"},
      {0xbecbf647612f3696, "-0.0000033333333333333333"},
      {0x43143ff3c1cb0959, "1424953923781206.2"},
      // The JCS authors' sample lines (testdata/README.md).
      {0x4340000000000001, "9007199254740994"},
      {0x4340000000000002, "9007199254740996"},
  };
  for (const auto& r : table) {
    const auto d = std::bit_cast<double>(r.ieee);
    CAPTURE(r.text);
    CHECK(detail::es_number_to_string(d) == r.text);
    CHECK(detail::canonical_json(boost::json::value(d)) == r.text);
  }
  // NaN and the infinities (Appendix B: "N/A") are refused.
  for (const std::uint64_t bad :
       {std::uint64_t{0x7fffffffffffffff}, std::uint64_t{0x7ff0000000000000},
        std::uint64_t{0xfff0000000000000}}) {
    const auto m = message_of([&] { detail::es_number_to_string(std::bit_cast<double>(bad)); });
    CHECK(contains(m, "canonical JSON"));
  }
  // Integers are numbers too: JCS sees them as doubles.
  CHECK(jcs("[1, -1, 0, -0, 100, 1.0, 1e2, 123456789012]") == "[1,-1,0,0,100,1,100,123456789012]");
  CHECK(jcs("[1e21, 1e20, 1e-7, 1e-6, 0.1, 1.5e-9]") ==
        "[1e+21,100000000000000000000,1e-7,0.000001,0.1,1.5e-9]");
}

TEST_CASE("audit proof: canonical JSON reads numbers exactly and refuses duplicate names") {
  // The correctly rounded double of 333333333.33333329 is 0x41b3de4355555555.
  CHECK(detail::parse_json_exactly("[333333333.33333329]").as_array()[0].as_double() ==
        std::bit_cast<double>(std::uint64_t{0x41b3de4355555555}));
  CHECK(jcs(R"({"a":{"b":[1,{"c":2.50}],"d":{}},"e":-0})") ==
        R"({"a":{"b":[1,{"c":2.5}],"d":{}},"e":0})");
  CHECK(contains(message_of([] { jcs(R"({"a":1,"b":2,"a":3})"); }), "duplicate member name"));
  CHECK(contains(message_of([] { jcs(R"([{"a":"x","a":"y"}])"); }), "duplicate member name"));
  CHECK(
      contains(message_of([] { jcs(R"({"x":{"a":{},"\u0061":{}}})"); }), "duplicate member name"));
  CHECK(contains(message_of([] { jcs("[1e400]"); }), "canonical JSON"));
  CHECK(contains(message_of([] { jcs("{nope"); }), "not JSON"));
}

TEST_CASE("audit proof: canonical JSON escapes only what JCS escapes and refuses bad UTF-8") {
  std::string all_controls = "\"";
  for (int c = 0; c < 0x20; ++c) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "\\u%04x", c);
    all_controls += buf;
  }
  all_controls += "\"";
  CHECK(jcs(all_controls) ==
        "\"\\u0000\\u0001\\u0002\\u0003\\u0004\\u0005\\u0006\\u0007\\b\\t\\n\\u000b\\f\\r\\u000e"
        "\\u000f\\u0010\\u0011\\u0012\\u0013\\u0014\\u0015\\u0016\\u0017\\u0018\\u0019\\u001a"
        "\\u001b\\u001c\\u001d\\u001e\\u001f\"");
  CHECK(jcs(R"("a/b \"q\" back\\slash \u007f \u00e9 \u2028")") ==
        "\"a/b \\\"q\\\" back\\\\slash \x7F \xC3\xA9 \xE2\x80\xA8\"");
  // Names are escaped the same way; nesting and arrays keep their order.
  CHECK(jcs(R"({"b\n":[3,{"z":1,"y":[true,null]}],"a\"":{}})") ==
        R"({"a\"":{},"b\n":[3,{"y":[true,null],"z":1}]})");
  // Strings built in code are checked: overlong, surrogate, truncated.
  for (const char* bad : {"\xC0\xAF", "\xED\xA0\x80", "\xE2\x82", "\xFF", "\xF4\x90\x80\x80"}) {
    boost::json::value v = boost::json::string(bad);
    CHECK(contains(message_of([&] { detail::canonical_json(v); }), "UTF-8"));
    boost::json::object o;
    o[bad] = 1;
    CHECK(contains(message_of([&] { detail::canonical_json(o); }), "UTF-8"));
  }
  boost::json::value inf = std::numeric_limits<double>::infinity();
  CHECK(contains(message_of([&] {
                   detail::canonical_json(boost::json::array{1, inf});
                 }),
                 "infinity"));
}

TEST_CASE("audit proof: an audit event's leaf bytes") {
  detail::audit_leaf_fields f;
  f.id = "0190f3a4-0000-7000-8000-000000000001";
  f.seq = 42;
  f.occurred_at = "2026-01-01T00:00:00.000000Z";
  f.event_type = "request.submitted";
  f.actor = "0190f3a4-0000-7000-8000-0000000000aa";
  f.request_id = "0190f3a4-0000-7000-8000-0000000000bb";
  f.project_id = std::nullopt;
  f.payload_json = R"({ "z": 1.50, "a": ["x", {"\u00e9": null}] })";
  CHECK(detail::audit_leaf_bytes(f) ==
        "{\"actor\":\"0190f3a4-0000-7000-8000-0000000000aa\","
        "\"event_type\":\"request.submitted\","
        "\"id\":\"0190f3a4-0000-7000-8000-000000000001\","
        "\"occurred_at\":\"2026-01-01T00:00:00.000000Z\","
        "\"payload\":{\"a\":[\"x\",{\"\xC3\xA9\":null}],\"z\":1.5},"
        "\"project_id\":null,"
        "\"request_id\":\"0190f3a4-0000-7000-8000-0000000000bb\","
        "\"seq\":42}");
  // The same event stored with other whitespace or member order: same bytes.
  auto g = f;
  g.payload_json = R"({"a":["x",{"é":null}],"z":15e-1})";
  CHECK(detail::audit_leaf_bytes(g) == detail::audit_leaf_bytes(f));
  // Any change to any field changes the bytes.
  g = f;
  g.seq = 43;
  CHECK(detail::audit_leaf_bytes(g) != detail::audit_leaf_bytes(f));
  g = f;
  g.project_id = "";
  CHECK(detail::audit_leaf_bytes(g) != detail::audit_leaf_bytes(f));
  g = f;
  g.payload_json = std::nullopt;
  CHECK(contains(detail::audit_leaf_bytes(g), "\"payload\":null"));
  g.payload_json = "{not json";
  CHECK(contains(message_of([&] { detail::audit_leaf_bytes(g); }), "payload is not"));
  g = f;
  g.seq = (std::int64_t{1} << 53) + 1;
  CHECK(contains(message_of([&] { detail::audit_leaf_bytes(g); }), "2^53"));
}

// ---------------------------------------------------------------------------
// RFC 9162 Merkle trees

// transparency-dev/merkle testonly/constants.go: LeafInputs().
const std::vector<std::string>& reference_leaves() {
  static const std::vector<std::string> leaves = {
      bytes_of_hex(""),
      bytes_of_hex("00"),
      bytes_of_hex("10"),
      bytes_of_hex("2021"),
      bytes_of_hex("3031"),
      bytes_of_hex("40414243"),
      bytes_of_hex("5051525354555657"),
      bytes_of_hex("606162636465666768696a6b6c6d6e6f"),
  };
  return leaves;
}

// RootHashes(), indexed by tree size.
const char* const reference_roots[] = {
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
};

// NodeHashes(): [level][index] of every complete subtree of the 8-leaf tree.
const std::vector<std::vector<const char*>> reference_nodes = {
    {"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
     "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
     "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
     "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
     "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
     "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
     "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
     "46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1"},
    {"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
     "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
     "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
     "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"},
    {"d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
     "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"},
    {"5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"},
};

std::vector<hash256> hashes(std::initializer_list<const char*> hex) {
  std::vector<hash256> out;
  for (const auto* x : hex) out.push_back(h(x));
  return out;
}

detail::memory_tree reference_tree(std::size_t size) {
  detail::memory_tree t;
  for (std::size_t i = 0; i < size; ++i) t.append_leaf(reference_leaves()[i]);
  return t;
}

TEST_CASE("audit proof: RFC 6962 reference tree — leaf and node hashes, roots of sizes 0..8") {
  const auto t = reference_tree(8);
  for (unsigned level = 0; level < reference_nodes.size(); ++level)
    for (std::uint64_t k = 0; k < reference_nodes[level].size(); ++k) {
      const detail::subtree_id id{level, k};
      CHECK(to_hex(t.subtree_hashes({&id, 1}).front()) == reference_nodes[level][k]);
    }
  for (std::size_t i = 0; i < 8; ++i)
    CHECK(to_hex(leaf_hash(reference_leaves()[i])) == reference_nodes[0][i]);
  for (std::uint64_t n = 0; n <= 8; ++n) {
    CAPTURE(n);
    CHECK(to_hex(t.root(n)) == reference_roots[n]);
    CHECK(to_hex(reference_tree(n).root()) == reference_roots[n]);
  }
  CHECK(to_hex(detail::merkle_empty_root()) == reference_roots[0]);
}

TEST_CASE("audit proof: RFC 6962 reference tree — inclusion proofs") {
  struct vector {
    std::uint64_t index, size;
    std::vector<hash256> proof;
  };
  // testonly/reference_test.go TestRefInclusionProof (0-based indexes); the
  // cmd/proofgen vectors (1-based there) are the same proofs.
  const std::vector<vector> vectors = {
      {0, 1, {}},
      {0, 2, hashes({"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"})},
      {1, 2, hashes({"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"})},
      {2, 3, hashes({"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"})},
      {1, 5,
       hashes({"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
               "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
               "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"})},
      {0, 8,
       hashes({"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
               "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
               "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"})},
      {5, 8,
       hashes({"bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
               "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
               "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"})},
  };
  const auto t = reference_tree(8);
  for (const auto& v : vectors) {
    CAPTURE(v.index);
    CAPTURE(v.size);
    CHECK(detail::merkle_inclusion_proof(t, v.index, v.size) == v.proof);
    const inclusion_proof p{v.index, v.size, v.proof};
    const auto leaf = leaf_hash(reference_leaves()[v.index]);
    const auto root = h(reference_roots[v.size]);
    CHECK(verify_inclusion(p, leaf, root));
    CHECK_NOTHROW(check_inclusion(p, leaf, root));
  }
}

TEST_CASE("audit proof: RFC 6962 reference tree — consistency proofs") {
  struct vector {
    std::uint64_t from, to;
    std::vector<hash256> proof;
  };
  // testonly/reference_test.go TestRefConsistencyProof and cmd/proofgen.
  const std::vector<vector> vectors = {
      {1, 1, {}},
      {1, 8,
       hashes({"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
               "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
               "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"})},
      {6, 8,
       hashes({"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
               "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
               "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"})},
      {2, 5,
       hashes({"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
               "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"})},
      {6, 7,
       hashes({"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
               "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
               "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"})},
  };
  const auto t = reference_tree(8);
  for (const auto& v : vectors) {
    CAPTURE(v.from);
    CAPTURE(v.to);
    CHECK(detail::merkle_consistency_proof(t, v.from, v.to) == v.proof);
    const consistency_proof p{v.from, v.to, v.proof};
    const auto r1 = h(reference_roots[v.from]), r2 = h(reference_roots[v.to]);
    CHECK(verify_consistency(p, r1, r2));
    CHECK_NOTHROW(check_consistency(p, r1, r2));
  }
}

// An independent implementation: RFC 9162 §2.1.1, §2.1.3.1 and §2.1.4.1 as
// written, recursively, over the leaf hashes.
struct naive {
  std::vector<hash256> leaves;

  static std::size_t split(std::size_t n) {
    std::size_t k = 1;
    while (k * 2 < n) k *= 2;
    return k;
  }
  hash256 mth(std::size_t lo, std::size_t hi) const {
    if (hi == lo) return detail::sha256_bytes("");
    if (hi - lo == 1) return leaves[lo];
    const auto k = split(hi - lo);
    return detail::merkle_node_hash(mth(lo, lo + k), mth(lo + k, hi));
  }
  std::vector<hash256> path(std::size_t m, std::size_t lo, std::size_t hi) const {
    if (hi - lo == 1) return {};
    const auto k = split(hi - lo);
    std::vector<hash256> out;
    if (m < k) {
      out = path(m, lo, lo + k);
      out.push_back(mth(lo + k, hi));
    } else {
      out = path(m - k, lo + k, hi);
      out.push_back(mth(lo, lo + k));
    }
    return out;
  }
  std::vector<hash256> subproof(std::size_t m, std::size_t lo, std::size_t hi, bool b) const {
    const auto n = hi - lo;
    if (m == n) {
      if (b) return {};
      return {mth(lo, hi)};
    }
    const auto k = split(n);
    std::vector<hash256> out;
    if (m <= k) {
      out = subproof(m, lo, lo + k, b);
      out.push_back(mth(lo + k, hi));
    } else {
      out = subproof(m - k, lo + k, hi, false);
      out.push_back(mth(lo, lo + k));
    }
    return out;
  }
  std::vector<hash256> consistency(std::size_t m, std::size_t n) const {
    if (m == 0 || m == n) return {};
    return subproof(m, 0, n, true);
  }
};

std::vector<std::vector<hash256>> tampered(const std::vector<hash256>& proof) {
  std::vector<std::vector<hash256>> out;
  for (std::size_t i = 0; i < proof.size(); ++i) {
    for (const std::size_t byte : {std::size_t{0}, std::size_t{31}}) {
      auto p = proof;
      p[i][byte] ^= 0x01;
      out.push_back(p);
    }
  }
  auto extra = proof;
  extra.push_back(detail::sha256_bytes("extra"));
  out.push_back(extra);
  auto front = proof;
  front.insert(front.begin(), proof.empty() ? detail::sha256_bytes("x") : proof.back());
  out.push_back(front);
  if (!proof.empty()) {
    out.emplace_back(proof.begin(), proof.end() - 1);
    out.emplace_back(proof.begin() + 1, proof.end());
  }
  if (proof.size() > 1) {
    auto swapped = proof;
    std::swap(swapped[0], swapped[1]);
    if (swapped != proof) out.push_back(swapped);
  }
  return out;
}

TEST_CASE(
    "audit proof: every root and proof of trees of 1..70 leaves matches RFC 9162's "
    "definitions, and every tampered proof is refused") {
  constexpr std::size_t max = 70;
  naive ref;
  detail::memory_tree t;
  for (std::size_t i = 0; i < max; ++i) {
    const auto leaf = "leaf " + std::to_string(i);
    ref.leaves.push_back(leaf_hash(leaf));
    t.append_leaf(leaf);
  }
  std::vector<hash256> roots(max + 1);
  for (std::size_t n = 0; n <= max; ++n) roots[n] = ref.mth(0, n);

  std::size_t checked = 0, refused = 0;
  for (std::size_t n = 1; n <= max; ++n) {
    REQUIRE(t.root(n) == roots[n]);
    for (std::size_t i = 0; i < n; ++i) {
      const auto want = ref.path(i, 0, n);
      const auto got = detail::merkle_inclusion_proof(t, i, n);
      REQUIRE(got == want);
      REQUIRE(verify_inclusion({i, n, got}, ref.leaves[i], roots[n]));
      ++checked;
      // Tampered hashes: refused.
      for (const auto& bad : tampered(got)) {
        REQUIRE_FALSE(verify_inclusion({i, n, bad}, ref.leaves[i], roots[n]));
        ++refused;
      }
      // Another leaf, another root: refused.
      REQUIRE_FALSE(verify_inclusion({i, n, got}, ref.leaves[(i + 1) % max], roots[n]));
      REQUIRE_FALSE(verify_inclusion({i, n, got}, ref.leaves[i], roots[n - 1]));
      // Wrong index or size (with that size's true root): accepted only if the
      // same hashes happen to be the genuine proof there.
      for (const auto& [wi, wn] : {std::pair{i + 1, n}, std::pair{i - 1, n}, std::pair{i, n + 1},
                                   std::pair{i, n - 1}, std::pair{i + n, n}}) {
        if (wn > max) continue;
        const bool genuine = wi == i && wi < wn && ref.path(wi, 0, wn) == got;
        REQUIRE(verify_inclusion({wi, wn, got}, ref.leaves[i], roots[wn]) == genuine);
        ++refused;
      }
      const auto problem = message_of([&] {
        check_inclusion({i, n, tampered(got).back()}, ref.leaves[i], roots[n]);
      });
      REQUIRE(contains(problem, "inclusion proof:"));
    }
    for (std::size_t m = 0; m <= n; ++m) {
      const auto want = ref.consistency(m, n);
      const auto got = detail::merkle_consistency_proof(t, m, n);
      REQUIRE(got == want);
      REQUIRE(verify_consistency({m, n, got}, roots[m], roots[n]));
      ++checked;
      if (m == 0) continue;
      for (const auto& bad : tampered(got)) {
        REQUIRE_FALSE(verify_consistency({m, n, bad}, roots[m], roots[n]));
        ++refused;
      }
      if (m < n) {
        // Roots that are not the trees': refused.
        REQUIRE_FALSE(verify_consistency({m, n, got}, roots[m - 1], roots[n]));
        REQUIRE_FALSE(verify_consistency({m, n, got}, roots[m], roots[n - 1]));
        REQUIRE_FALSE(verify_consistency({m, n, got}, roots[n], roots[m]));
      }
      for (const auto& [wm, wn] : {std::pair{m + 1, n}, std::pair{m - 1, n}, std::pair{m, n + 1},
                                   std::pair{m, n - 1}, std::pair{n + 1, n}}) {
        if (wn > max || wm > max) continue;
        const bool genuine = wm <= wn && (wm == 0 ? got.empty() : ref.consistency(wm, wn) == got);
        REQUIRE(verify_consistency({wm, wn, got}, roots[wm], roots[wn]) == genuine);
        ++refused;
      }
    }
  }
  MESSAGE(checked << " proofs checked, " << refused << " altered ones judged");
}

TEST_CASE("audit proof: refusals name the problem") {
  const auto t = reference_tree(8);
  const auto root = t.root();
  const auto leaf = t.leaf_hash(3);
  auto p = inclusion_proof{3, 8, detail::merkle_inclusion_proof(t, 3, 8)};
  CHECK(contains(message_of([&] {
                   check_inclusion({8, 8, p.hashes}, leaf, root);
                 }),
                 "leaf index 8 is not in a tree of 8 leaves"));
  CHECK(contains(message_of([&] {
                   check_inclusion({3, 8, {p.hashes[0]}}, leaf, root);
                 }),
                 "1 hashes given, leaf 3 of a tree of 8 needs 3"));
  p.hashes[1][0] ^= 1;
  CHECK(contains(message_of([&] { check_inclusion(p, leaf, root); }), "not to the expected"));

  const auto r6 = t.root(6);
  auto c = consistency_proof{6, 8, detail::merkle_consistency_proof(t, 6, 8)};
  CHECK(contains(message_of([&] {
                   check_consistency({8, 6, {}}, root, r6);
                 }),
                 "a tree of 6 leaves cannot extend one of 8"));
  CHECK(contains(message_of([&] {
                   check_consistency({6, 6, {}}, r6, root);
                 }),
                 "two different roots"));
  CHECK(contains(message_of([&] {
                   check_consistency({6, 8, {}}, r6, root);
                 }),
                 "0 hashes given, from 6 to 8 leaves needs 3"));
  CHECK(
      contains(message_of([&] { check_consistency(c, root, root); }), "for the tree of 6 leaves"));
  c.hashes[1][5] ^= 1;
  CHECK(contains(message_of([&] { check_consistency(c, r6, root); }), "for the tree of 8 leaves"));
  CHECK(verify_consistency({0, 8, {}}, detail::merkle_empty_root(), root));
  CHECK_FALSE(verify_consistency({0, 8, {root}}, detail::merkle_empty_root(), root));

  CHECK_THROWS_AS(detail::merkle_inclusion_proof(t, 8, 8), error);
  CHECK_THROWS_AS(detail::merkle_consistency_proof(t, 5, 4), error);
  CHECK_THROWS_AS(t.root(9), error);
  CHECK(contains(message_of([] { audit_hash_from_hex("abc"); }), "64 hex digits"));
  CHECK(audit_hash_from_hex(to_hex(root)) == root);
}

// A source that counts what it is asked for, answering with made-up hashes.
struct counting_source final : detail::subtree_source {
  mutable std::size_t calls = 0, ids = 0;
  std::uint64_t size = 0;
  std::vector<hash256> subtree_hashes(std::span<const detail::subtree_id> want) const override {
    ++calls;
    ids += want.size();
    std::vector<hash256> out;
    for (const auto& id : want) {
      // Every subtree asked for must be complete and within the tree.
      REQUIRE(id.level < 64);
      const std::uint64_t end = (id.index + 1) << id.level;
      REQUIRE(end <= size);
      out.push_back(
          detail::sha256_bytes(std::to_string(id.level) + "/" + std::to_string(id.index)));
    }
    return out;
  }
};

TEST_CASE(
    "audit proof: a proof over a million leaves asks its source once, for O(log² n) "
    "complete subtrees") {
  counting_source src;
  src.size = 1'000'003;
  const std::uint64_t n = src.size;
  for (const std::uint64_t i : {std::uint64_t{0}, std::uint64_t{1}, n / 2, n - 2, n - 1}) {
    src.calls = src.ids = 0;
    const auto proof = detail::merkle_inclusion_proof(src, i, n);
    CHECK(src.calls == 1);
    CHECK(src.ids <= 20 * 20);
    CHECK(detail::merkle_inclusion_nodes(i, n).size() == src.ids);
    CHECK(proof.size() <= 20);
  }
  for (const std::uint64_t m : {std::uint64_t{1}, std::uint64_t{999'999}, n / 3, n - 1}) {
    src.calls = src.ids = 0;
    (void)detail::merkle_consistency_proof(src, m, n);
    CHECK(src.calls == 1);
    CHECK(detail::merkle_consistency_nodes(m, n).size() == src.ids);
    CHECK(src.ids <= 20 * 20);
  }
  src.calls = src.ids = 0;
  (void)detail::merkle_root(src, n);
  CHECK(src.calls == 1);
  CHECK(src.ids == static_cast<std::size_t>(std::popcount(n)));
}

// ---------------------------------------------------------------------------
// C2SP signed notes and checkpoints

// golang.org/x/mod/sumdb/note note_test.go.
constexpr std::string_view peter_vkey =
    "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
constexpr std::string_view peter_skey =
    "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
constexpr std::string_view peter_text =
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n";
constexpr std::string_view peter_signed =
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
    "\n"
    "\xE2\x80\x94 PeterNeumann "
    "x08go/ZJkuBS9UG/"
    "SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";

TEST_CASE("audit proof: signed notes — the Go reference's known key pair and signature") {
  const auto signer = detail::parse_signer_key(peter_skey);
  CHECK(signer.name == "PeterNeumann");
  CHECK(signer.key_id == 0xc74f20a3u);
  CHECK(detail::format_signer_key(signer) == peter_skey);
  CHECK(detail::format_verifier_key(detail::verifier_of(signer)) == peter_vkey);
  const auto verifier = detail::parse_verifier_key(peter_vkey);
  CHECK(verifier.key_id == detail::note_key_id("PeterNeumann", verifier.public_key));
  // Ed25519 is deterministic: the same signature, byte for byte.
  CHECK(detail::sign_note(peter_text, signer) == peter_signed);
  CHECK(detail::open_note(peter_signed, verifier) == peter_text);

  // C2SP signed-note's example.
  const auto foo = detail::parse_verifier_key(
      "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k");
  CHECK(detail::open_note("This is an example message.\n\n\xE2\x80\x94 example.com/foo "
                          "Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXm"
                          "RKuwHjG1Yu72IneyaQM=\n",
                          foo) == "This is an example message.\n");
}

TEST_CASE("audit proof: signed notes — mangled keys are refused (as the Go reference's tests)") {
  const auto refused_vkey = [](std::string_view k) {
    return thrown_by([&] { detail::parse_verifier_key(k); }).code() == errc::invalid_argument;
  };
  const auto refused_skey = [](std::string_view k) {
    return thrown_by([&] { detail::parse_signer_key(k); }).code() == errc::invalid_argument;
  };
  for (const auto& [key, refused] :
       {std::pair{std::string(peter_vkey), std::function<bool(std::string_view)>(refused_vkey)},
        std::pair{std::string(peter_skey), std::function<bool(std::string_view)>(refused_skey)}}) {
    for (std::size_t i = 0; i <= key.size(); ++i)
      for (std::size_t j = i + 1; j <= key.size(); ++j)
        if (i != 0 || j != key.size()) CHECK(refused(key.substr(i, j - i)));
    for (std::size_t i = 0; i < key.size(); ++i) {
      auto b = key;
      ++b[i];
      CHECK(refused(b));
    }
  }
  // Wrong key length and unknown algorithm, each with a matching key id.
  CHECK(contains(message_of([] {
                   detail::parse_verifier_key(
                       "PeterNeumann+cc469956+"
                       "ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==");
                 }),
                 "verifier key: malformed"));
  CHECK(contains(message_of([] {
                   detail::parse_verifier_key(
                       "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW");
                 }),
                 "unknown signature type"));
}

TEST_CASE("audit proof: signed notes — generated keys, other signers, and what is refused") {
  const auto a = detail::generate_signer_key("trevor.local/audit");
  const auto b = detail::generate_signer_key("trevor.local/audit");
  CHECK(a.seed != b.seed);
  const auto va = detail::verifier_of(a), vb = detail::verifier_of(b);
  CHECK(detail::parse_verifier_key(detail::format_verifier_key(va)).public_key == a.public_key);
  CHECK(detail::parse_signer_key(detail::format_signer_key(a)).seed == a.seed);

  const std::string text = "hello\n\nworld\n";  // the text may hold blank lines
  const auto by_a = detail::sign_note(text, a);
  CHECK(detail::open_note(by_a, va) == text);
  // A note signed by both: each key finds its own signature, ignoring the other.
  const auto by_b = detail::sign_note(text, b);
  const auto both = by_a + by_b.substr(text.size() + 1);
  CHECK(detail::open_note(both, va) == text);
  CHECK(detail::open_note(both, vb) == text);

  const auto unknown = message_of([&] { detail::open_note(by_a, vb); });
  CHECK(contains(unknown, "no signature by key"));
  CHECK(contains(unknown, fmt::format("{:08x}", a.key_id)));
  auto altered = by_a;
  altered[0] = 'j';
  CHECK(contains(message_of([&] { detail::open_note(altered, va); }), "does not verify"));
  for (const std::string& bad :
       {std::string("no signatures\n"), text + "\n", text + "\n- trevor.local/audit AAAA\n",
        text + "\n\xE2\x80\x94 trevor.local/audit\n", text + "\n\xE2\x80\x94 a b c\n",
        std::string("ctl\x01\n\n") + by_a.substr(text.size() + 1), by_a.substr(0, by_a.size() - 1),
        std::string("bad \xFF utf8\n\n") + by_a.substr(text.size() + 1)}) {
    CAPTURE(bad);
    CHECK(contains(message_of([&] { detail::open_note(bad, va); }), "malformed"));
  }
  CHECK(contains(message_of([&] { detail::sign_note("no newline", a); }), "end in a newline"));
  CHECK(contains(message_of([] { detail::generate_signer_key("has space"); }), "key name"));
  CHECK(contains(message_of([] { detail::generate_signer_key("a+b"); }), "key name"));
}

TEST_CASE("audit proof: checkpoints — format, parse, sign and verify") {
  // C2SP tlog-checkpoint's example body.
  const auto c2sp = parse_checkpoint(
      "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n");
  CHECK(c2sp.origin == "example.com/behind-the-sofa");
  CHECK(c2sp.tree_size == 20852163);
  CHECK(detail::format_checkpoint(c2sp) ==
        "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n");

  // The 8-leaf reference root, 5dc9da79…4328, in base64.
  const std::string root8 = "XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=";
  const auto keys = generate_audit_key("trevor.local/audit");
  CHECK(keys.signer_key.starts_with("PRIVATE+KEY+trevor.local/audit+"));
  CHECK(keys.verifier_key.starts_with("trevor.local/audit+"));
  CHECK(audit_verifier_key(keys.signer_key) == keys.verifier_key);
  CHECK(contains(message_of([&] { audit_verifier_key(keys.verifier_key); }), "signer key"));
  const auto signer = detail::parse_signer_key(keys.signer_key);

  const auto t = reference_tree(8);
  const checkpoint c{"trevor.local/audit", 8, t.root(), {}};
  const auto note = detail::sign_checkpoint(c, signer);
  CHECK(
      note.starts_with("trevor.local/audit\n8\n" + root8 + "\n\n\xE2\x80\x94 trevor.local/audit "));
  CHECK(verify_checkpoint(note, keys.verifier_key) == c);

  // Extension lines are read and ignored by the tree check.
  const checkpoint ext{"trevor.local/audit", 8, t.root(), {"one", "two"}};
  CHECK(verify_checkpoint(detail::sign_checkpoint(ext, signer), keys.verifier_key) == ext);

  const auto other = generate_audit_key("trevor.local/audit");
  CHECK(contains(message_of([&] { verify_checkpoint(note, other.verifier_key); }),
                 "no signature by key"));
  auto forged = note;
  forged.replace(forged.find("\n8\n"), 3, "\n9\n");
  CHECK(contains(message_of([&] { verify_checkpoint(forged, keys.verifier_key); }),
                 "does not verify"));
  CHECK(contains(message_of([&] { verify_checkpoint("garbage", keys.verifier_key); }),
                 "signed note: malformed"));
  CHECK(contains(message_of([&] { verify_checkpoint(note, "not a key"); }),
                 "verifier key: malformed"));
  // A well-signed note whose text is not a checkpoint.
  for (const std::string& body : std::vector<std::string>{
           "origin\n8\n", "origin\n08\n" + root8 + "\n", "origin\n-1\n" + root8 + "\n",
           "origin\n+8\n" + root8 + "\n", "origin\n8\nZm9vYmFy\n", "origin\n8\n" + root8 + "x\n",
           "\n8\n" + root8 + "\n", "origin\n18446744073709551616\n" + root8 + "\n"}) {
    CAPTURE(body);
    CHECK(contains(
        message_of([&] { verify_checkpoint(detail::sign_note(body, signer), keys.verifier_key); }),
        "checkpoint: malformed"));
  }
  CHECK(contains(message_of([&] { parse_checkpoint("o\n1\n" + root8 + "\n\n"); }),
                 "empty extension line"));
}

TEST_CASE("audit proof: base64 is RFC 4648 and strict") {
  const auto enc = [](std::string_view s) {
    return detail::base64_encode({reinterpret_cast<const unsigned char*>(s.data()), s.size()});
  };
  // RFC 4648 §10.
  CHECK(enc("") == "");
  CHECK(enc("f") == "Zg==");
  CHECK(enc("fo") == "Zm8=");
  CHECK(enc("foo") == "Zm9v");
  CHECK(enc("foob") == "Zm9vYg==");
  CHECK(enc("fooba") == "Zm9vYmE=");
  CHECK(enc("foobar") == "Zm9vYmFy");
  for (const char* s : {"", "f", "fo", "foo", "foob", "fooba", "foobar"})
    CHECK(detail::base64_decode(enc(s)) == std::string(s));
  for (const char* bad : {"Zg=", "Zh==", "Zm9=", "Z===", "Zm9v\n", "Zm 9", "=Zm9", "Zm-v"})
    CHECK_FALSE(detail::base64_decode(bad).has_value());
}

}  // namespace
}  // namespace trevor
