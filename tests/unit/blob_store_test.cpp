// The filesystem blob store: streamed puts with checksums, write-once keys,
// limits enforced while streaming, nothing left behind on failure.
#include <filesystem>
#include <fstream>

#include <doctest/doctest.h>

#include "blob/adopt.hpp"
#include "domain/sha256.hpp"
#include "world.hpp"

namespace trevor {
namespace {

std::string read_back(const blob_store& s, const std::string& key) {
  std::string out;
  s.get(key, [&](std::string_view chunk) { out.append(chunk); });
  return out;
}

TEST_CASE("blob store: put streams, hashes and stores; get, size and verify read it back") {
  test::temp_dir dir;
  filesystem_blob_store store(dir.path());
  std::string content(200'000, 'x');
  for (std::size_t i = 0; i < content.size(); i += 97) content[i] = static_cast<char>('a' + i % 26);
  const auto info = store.put("p/r/l/1/o-data.csv", test::bytes_of(content, 4096), 1'000'000);
  CHECK(info.size == 200'000);
  CHECK(info.sha256 == detail::sha256_hex(content));
  CHECK(read_back(store, "p/r/l/1/o-data.csv") == content);
  CHECK(store.size("p/r/l/1/o-data.csv") == 200'000);
  CHECK(store.exists("p/r/l/1/o-data.csv"));
  CHECK(store.verify("p/r/l/1/o-data.csv", info.sha256));
  CHECK_FALSE(store.verify("p/r/l/1/o-data.csv", detail::sha256_hex("other")));
  CHECK(test::files_under(dir.path()) == 1);  // no temporary file left
}

TEST_CASE("blob store: a key is written once and never overwritten") {
  test::temp_dir dir;
  filesystem_blob_store store(dir.path());
  store.put("a/b", test::bytes_of("first"), 100);
  const auto e = test::thrown_by([&] { store.put("a/b", test::bytes_of("second"), 100); });
  CHECK(e.code() == errc::conflict);
  CHECK(read_back(store, "a/b") == "first");
  CHECK(test::files_under(dir.path()) == 1);
}

TEST_CASE("blob store: the size limit is enforced while streaming and leaves nothing") {
  test::temp_dir dir;
  filesystem_blob_store store(dir.path());
  std::size_t pulled = 0;
  const auto endless = [&](char* buf, std::size_t cap) {
    std::fill_n(buf, cap, 'z');
    pulled += cap;
    return cap;  // never ends: only the limit stops it
  };
  const auto e = test::thrown_by([&] { store.put("big/one", endless, 100'000); });
  CHECK(e.code() == errc::invalid_argument);
  CHECK(std::string(e.what()).find("upload limit") != std::string::npos);
  CHECK(pulled < 100'000 + 2 * 65536);  // stopped at the limit, not at the end
  CHECK_FALSE(store.exists("big/one"));
  CHECK(test::files_under(dir.path()) == 0);
}

TEST_CASE("blob store: a reader that fails aborts the put and leaves nothing") {
  test::temp_dir dir;
  filesystem_blob_store store(dir.path());
  int calls = 0;
  const auto failing = [&](char* buf, std::size_t) -> std::size_t {
    if (++calls == 3) throw std::runtime_error("client went away");
    buf[0] = 'q';
    return 1;
  };
  CHECK_THROWS_AS(store.put("x/y", failing, 100), std::runtime_error);
  CHECK(test::files_under(dir.path()) == 0);
}

TEST_CASE("blob store: keys that could leave the root are refused") {
  test::temp_dir dir;
  filesystem_blob_store store(dir.path() + "/root");
  const std::vector<std::string> keys = {"../escape", "/abs/path", "a/../../b", "a//b",
                                         "",          "a/./b",     "a/b\nc",    "a/.tmp-123"};
  for (const auto& key : keys) {
    INFO(key);
    CHECK(test::thrown_by([&] { store.put(key, test::bytes_of("x"), 10); }).code() ==
          errc::invalid_argument);
  }
  CHECK_FALSE(std::filesystem::exists(dir.path() + "/escape"));
  CHECK(test::thrown_by([&] { store.get("no/such", [](std::string_view) {}); }).code() ==
        errc::not_found);
  CHECK_FALSE(store.verify("no/such", "00"));
}

TEST_CASE("blob store: discard removes an unreferenced blob and ignores missing ones") {
  test::temp_dir dir;
  filesystem_blob_store store(dir.path());
  store.put("k/1", test::bytes_of("abc"), 10);
  store.discard("k/1");
  CHECK_FALSE(store.exists("k/1"));
  store.discard("k/1");
  store.discard("../../etc/passwd");  // invalid keys name nothing
}

TEST_CASE("blob store: open() pulls a blob in the reader's chunks; unknown keys are not_found") {
  test::temp_dir dir;
  filesystem_blob_store store(dir.path());
  std::string content;
  for (int i = 0; i < 30'000; ++i) content += static_cast<char>('a' + i % 26);
  store.put("k/pull", test::bytes_of(content, 4096), 1 << 20);
  const auto reader = store.open("k/pull");
  std::string got;
  char buf[777];
  for (std::size_t n; (n = reader(buf, sizeof buf)) > 0;) {
    CHECK(n <= sizeof buf);
    got.append(buf, n);
  }
  CHECK(got == content);
  CHECK(reader(buf, sizeof buf) == 0);  // stays at the end
  CHECK(test::thrown_by([&] { store.open("k/none"); }).code() == errc::not_found);
  CHECK(test::thrown_by([&] { store.open("../x"); }).code() == errc::invalid_argument);
}

TEST_CASE("blob store: adopt_file takes a finished file in place, hashed, or refuses its key") {
  test::temp_dir dir;
  const std::filesystem::path root(dir.path());
  filesystem_blob_store store(root / "store");
  std::string content(300'000, 'z');
  for (std::size_t i = 0; i < content.size(); i += 89) content[i] = static_cast<char>('a' + i % 26);
  const auto write = [&](const std::filesystem::path& p, const std::string& bytes) {
    std::filesystem::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << bytes;
  };
  // A scratch file on the store's file system: linked, not copied.
  const auto scratch = root / "store" / ".scratch" / "package.zip";
  write(scratch, content);
  const auto info = detail::adopt_file(store, "releases/p/r/x.zip", scratch);
  CHECK(info.size == 300'000);
  CHECK(info.sha256 == detail::sha256_hex(content));
  CHECK(read_back(store, "releases/p/r/x.zip") == content);
  CHECK(store.verify("releases/p/r/x.zip", info.sha256));
  CHECK_FALSE(std::filesystem::exists(scratch));  // consumed
  CHECK((std::filesystem::status(root / "store" / "releases/p/r/x.zip").permissions() &
         std::filesystem::perms::others_all) == std::filesystem::perms::none);

  // An existing key: conflict, the blob unchanged, the file consumed all the same.
  write(scratch, "other bytes");
  CHECK(test::thrown_by([&] { detail::adopt_file(store, "releases/p/r/x.zip", scratch); }).code() ==
        errc::conflict);
  CHECK(read_back(store, "releases/p/r/x.zip") == content);
  CHECK_FALSE(std::filesystem::exists(scratch));
  // A key that could leave the root is refused before anything is written.
  write(scratch, "x");
  CHECK(test::thrown_by([&] { detail::adopt_file(store, "../outside", scratch); }).code() ==
        errc::invalid_argument);
  CHECK_FALSE(std::filesystem::exists(root / "outside"));
}

TEST_CASE("stock readers: a string and a file, pulled in the caller's chunks") {
  auto drain = [](const byte_reader& r, std::size_t cap) {
    std::string out, buf(cap, '\0');
    while (const auto n = r(buf.data(), cap)) out.append(buf.data(), n);
    CHECK(r(buf.data(), cap) == 0);  // stays at its end
    return out;
  };
  const std::string content = "age,count\n40,12\n50,15\n";
  CHECK(drain(string_reader(content), 5) == content);
  CHECK(drain(string_reader(""), 5).empty());
  test::temp_dir dir;
  const auto path = std::filesystem::path(dir.path()) / "t.csv";
  std::ofstream(path, std::ios::binary) << content;
  CHECK(drain(file_reader(path), 3) == content);
  filesystem_blob_store store(dir.path() + "/blobs");
  CHECK(store.put("k/a.csv", file_reader(path), 1000).sha256 == detail::sha256_hex(content));
  CHECK(test::thrown_by([&] { file_reader(path.string() + ".missing"); }).code() ==
        errc::not_found);
}

TEST_CASE("storage keys: the object layout with a sanitised filename") {
  const auto rel = uuid::v7();
  CHECK(release_storage_key(uuid{}, uuid{}, rel) ==
        "releases/" + uuid{}.str() + "/" + uuid{}.str() + "/" + rel.str() + ".zip");
  const auto p = uuid::v7(), r = uuid::v7(), l = uuid::v7(), o = uuid::v7();
  CHECK(object_storage_key(p, r, l, 3, o, "table 1.csv") ==
        p.str() + "/" + r.str() + "/" + l.str() + "/3/" + o.str() + "-table_1.csv");
  CHECK(sanitize_filename("../../etc/passwd") == "___.._etc_passwd");
  CHECK(sanitize_filename("..") == "__");
  CHECK(sanitize_filename(".hidden") == "_hidden");
  CHECK(sanitize_filename("a\x01\x7f/b\\c") == "a___b_c");
  CHECK(sanitize_filename("") == "_");
  CHECK(sanitize_filename("résumé.pdf") == "r__sum__.pdf");
  CHECK(sanitize_filename(std::string(500, 'a')).size() == 200);
}

}  // namespace
}  // namespace trevor
