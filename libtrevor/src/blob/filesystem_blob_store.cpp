#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <limits>
#include <memory>
#include <optional>
#include <system_error>
#include <utility>

#include <fmt/format.h>

#include "blob/adopt.hpp"
#include "domain/sha256.hpp"
#include "trevor/blob_store.hpp"
#include "trevor/error.hpp"

namespace trevor {
namespace {

// Large enough that a 500 MB upload is ~8k read/write pairs, small enough to
// live on the stack of a worker thread.
constexpr std::size_t chunk_size = 64 * 1024;
constexpr std::size_t max_filename_component = 200;

/// A file descriptor closed on scope exit.
class fd_guard {
 public:
  explicit fd_guard(int fd) : fd_(fd) {}
  ~fd_guard() {
    if (fd_ >= 0) ::close(fd_);
  }
  fd_guard(const fd_guard&) = delete;
  fd_guard& operator=(const fd_guard&) = delete;
  int get() const noexcept { return fd_; }
  int release() noexcept { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

[[noreturn]] void fail_io(std::string_view what, const std::filesystem::path& p) {
  throw error(errc::unavailable,
              fmt::format("blob store: {} {}: {}", what, p.string(), std::strerror(errno)));
}

void write_all(int fd, const char* data, std::size_t n, const std::filesystem::path& p) {
  while (n > 0) {
    const ssize_t w = ::write(fd, data, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      fail_io("cannot write", p);
    }
    data += w;
    n -= static_cast<std::size_t>(w);
  }
}

void fsync_dir(const std::filesystem::path& dir) {
  fd_guard d(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (d.get() >= 0) ::fsync(d.get());
}

/// Reads the whole file at `p` in chunks; false when it cannot be opened.
bool read_file(const std::filesystem::path& p, const byte_writer& sink) {
  fd_guard f(::open(p.c_str(), O_RDONLY | O_CLOEXEC));
  if (f.get() < 0) return false;
  std::array<char, chunk_size> buf;
  for (;;) {
    const ssize_t r = ::read(f.get(), buf.data(), buf.size());
    if (r < 0) {
      if (errno == EINTR) continue;
      fail_io("cannot read", p);
    }
    if (r == 0) return true;
    sink(std::string_view(buf.data(), static_cast<std::size_t>(r)));
  }
}

/// A pull stream over the file at `path`; nullopt when it does not exist.
/// The reader keeps the file open until it is destroyed and throws
/// error(unavailable) when a read fails.
std::optional<byte_reader> pull_file(std::filesystem::path path) {
  auto f = std::make_shared<fd_guard>(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (f->get() < 0) {
    if (errno == ENOENT) return std::nullopt;
    fail_io("cannot open", path);
  }
  return byte_reader(
      [f, path = std::move(path)](char* buffer, std::size_t capacity) -> std::size_t {
        for (;;) {
          const ssize_t r = ::read(f->get(), buffer, capacity);
          if (r >= 0) return static_cast<std::size_t>(r);
          if (errno != EINTR) fail_io("cannot read", path);
        }
      });
}

}  // namespace

filesystem_blob_store::filesystem_blob_store(std::filesystem::path root) : root_(std::move(root)) {
  std::error_code ec;
  std::filesystem::create_directories(root_, ec);
  if (ec || !std::filesystem::is_directory(root_))
    throw error(errc::unavailable, fmt::format("TREVOR_STORAGE_DIR: cannot create directory {}: {}",
                                               root_.string(), ec.message()));
}

std::filesystem::path filesystem_blob_store::path_of(const std::string& key) const {
  // Keys come from object_storage_key(); refuse anything that could leave root.
  bool ok = !key.empty() && key.front() != '/' && key.size() <= 1024;
  std::size_t start = 0;
  while (ok && start <= key.size()) {
    const auto slash = key.find('/', start);
    const auto part = std::string_view(key).substr(
        start, slash == std::string::npos ? std::string::npos : slash - start);
    ok = !part.empty() && part != "." && part != ".." && !part.starts_with(".tmp-");
    for (char c : part) ok = ok && static_cast<unsigned char>(c) >= 0x20 && c != 0x7f && c != '\\';
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  if (!ok)
    throw error(errc::invalid_argument, fmt::format("blob key: '{}' is not a valid key", key));
  return root_ / key;
}

blob_info filesystem_blob_store::put(const std::string& key, const byte_reader& source,
                                     std::int64_t max_bytes) {
  const auto final_path = path_of(key);
  const auto dir = final_path.parent_path();
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec)
    throw error(errc::unavailable,
                fmt::format("blob store: cannot create {}: {}", dir.string(), ec.message()));
  if (std::filesystem::exists(final_path))
    throw error(errc::conflict, fmt::format("blob store: key '{}' already exists", key));

  const auto tmp_path = dir / (".tmp-" + uuid::v7().str());
  fd_guard f(::open(tmp_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640));
  if (f.get() < 0) fail_io("cannot create", tmp_path);
  // From here on every failure removes the temporary file.
  struct remove_tmp {
    const std::filesystem::path& p;
    bool armed = true;
    ~remove_tmp() {
      if (armed) ::unlink(p.c_str());
    }
  } cleanup{tmp_path};

  detail::sha256 hash;
  std::int64_t total = 0;
  std::array<char, chunk_size> buf;
  for (;;) {
    const std::size_t n = source(buf.data(), buf.size());
    if (n == 0) break;
    if (n > buf.size()) throw error(errc::internal, "blob store: reader overran its buffer");
    total += static_cast<std::int64_t>(n);
    if (total > max_bytes)
      throw error(errc::invalid_argument,
                  fmt::format("file: larger than the upload limit of {} bytes", max_bytes));
    hash.update(std::string_view(buf.data(), n));
    write_all(f.get(), buf.data(), n, tmp_path);
  }
  if (::fsync(f.get()) != 0) fail_io("cannot fsync", tmp_path);
  if (::close(f.release()) != 0) fail_io("cannot close", tmp_path);
  // link() never replaces an existing file: the key is written exactly once.
  if (::link(tmp_path.c_str(), final_path.c_str()) != 0) {
    if (errno == EEXIST)
      throw error(errc::conflict, fmt::format("blob store: key '{}' already exists", key));
    fail_io("cannot link", final_path);
  }
  ::unlink(tmp_path.c_str());
  cleanup.armed = false;
  fsync_dir(dir);
  return {key, hash.hex_digest(), total};
}

void filesystem_blob_store::get(const std::string& key, const byte_writer& sink) const {
  if (!read_file(path_of(key), sink))
    throw error(errc::not_found, fmt::format("blob store: no blob '{}'", key));
}

byte_reader filesystem_blob_store::open(const std::string& key) const {
  auto reader = pull_file(path_of(key));
  if (!reader) throw error(errc::not_found, fmt::format("blob store: no blob '{}'", key));
  return std::move(*reader);
}

byte_reader string_reader(std::string content) {
  auto data = std::make_shared<const std::string>(std::move(content));
  auto pos = std::make_shared<std::size_t>(0);
  return [data, pos](char* buffer, std::size_t capacity) -> std::size_t {
    const std::size_t n = std::min(capacity, data->size() - *pos);
    std::copy_n(data->data() + *pos, n, buffer);
    *pos += n;
    return n;
  };
}

byte_reader file_reader(const std::filesystem::path& path) {
  auto reader = pull_file(path);
  if (!reader) throw error(errc::not_found, fmt::format("{}: no such file", path.string()));
  return std::move(*reader);
}

std::int64_t filesystem_blob_store::size(const std::string& key) const {
  struct stat st {};
  if (::stat(path_of(key).c_str(), &st) != 0)
    throw error(errc::not_found, fmt::format("blob store: no blob '{}'", key));
  return static_cast<std::int64_t>(st.st_size);
}

bool filesystem_blob_store::exists(const std::string& key) const {
  struct stat st {};
  return ::stat(path_of(key).c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

bool filesystem_blob_store::verify(const std::string& key, std::string_view sha256) const {
  detail::sha256 hash;
  if (!read_file(path_of(key), [&](std::string_view chunk) { hash.update(chunk); })) return false;
  return hash.hex_digest() == sha256;
}

void filesystem_blob_store::discard(const std::string& key) noexcept {
  try {
    ::unlink(path_of(key).c_str());
  } catch (...) {
    // An invalid key names no file.
  }
}

void blob_store::for_each_blob(const std::function<void(const stored_blob&)>&) const {
  throw error(errc::invalid_argument, "this blob store cannot list what it holds");
}

void blob_store::discard_temporary(const std::string&) noexcept {}

void filesystem_blob_store::for_each_blob(const std::function<void(const stored_blob&)>& fn) const {
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(root_, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    std::error_code fe;
    // Hidden directories hold no blobs (keys never start with '.'): the
    // release scratch area is one.
    if (it->is_directory(fe) && it->path().filename().string().starts_with('.')) {
      it.disable_recursion_pending();
      continue;
    }
    if (!it->is_regular_file(fe) || fe) continue;
    stored_blob b;
    b.key = std::filesystem::relative(it->path(), root_, fe).generic_string();
    if (fe) continue;
    b.size = static_cast<std::int64_t>(it->file_size(fe));
    const auto t = it->last_write_time(fe);
    if (fe) continue;
    b.modified = std::chrono::time_point_cast<std::chrono::system_clock::duration>(
        std::chrono::file_clock::to_sys(t));
    b.temporary = it->path().filename().string().starts_with(".tmp-");
    fn(b);
  }
  if (ec)
    throw error(errc::unavailable,
                fmt::format("storage: cannot list {}: {}", root_.string(), ec.message()));
}

void filesystem_blob_store::discard_temporary(const std::string& key) noexcept {
  // Only a .tmp- file directly named by a listing, never anything else.
  const auto p = root_ / key;
  if (!p.filename().string().starts_with(".tmp-") || key.find("..") != std::string::npos) return;
  ::unlink(p.c_str());
}

std::string sanitize_filename(std::string_view filename) {
  std::string out;
  out.reserve(std::min(filename.size(), max_filename_component));
  for (char c : filename) {
    if (out.size() == max_filename_component) break;
    const bool safe = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '.' || c == '-' || c == '_';
    out.push_back(safe ? c : '_');
  }
  for (char& c : out) {
    if (c != '.') break;
    c = '_';  // no hidden files, no "." or ".."
  }
  if (out.empty()) out = "_";
  return out;
}

std::string release_storage_key(const uuid& project_id, const uuid& request_id,
                                const uuid& release_id) {
  return fmt::format("releases/{}/{}/{}.zip", project_id.str(), request_id.str(), release_id.str());
}

std::string object_storage_key(const uuid& project_id, const uuid& request_id,
                               const uuid& logical_object_id, std::int64_t version,
                               const uuid& object_id, std::string_view filename) {
  return fmt::format("{}/{}/{}/{}/{}-{}", project_id.str(), request_id.str(),
                     logical_object_id.str(), version, object_id.str(),
                     sanitize_filename(filename));
}

namespace detail {

blob_info adopt_file(blob_store& store, const std::string& key, const std::filesystem::path& file) {
  struct consume {
    const std::filesystem::path& p;
    ~consume() { ::unlink(p.c_str()); }
  } consumed{file};
  auto* fs = dynamic_cast<filesystem_blob_store*>(&store);
  // exists() refuses a malformed key (invalid_argument) before any path is built.
  if (store.exists(key))
    throw error(errc::conflict, fmt::format("blob store: key '{}' already exists", key));
  fd_guard f(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
  if (f.get() < 0) fail_io("cannot open", file);
  struct stat st {};
  struct stat root {};
  if (::fstat(f.get(), &st) != 0) fail_io("cannot stat", file);
  if (!fs || ::stat(fs->root().c_str(), &root) != 0 || st.st_dev != root.st_dev)
    return store.put(key, file_reader(file), std::numeric_limits<std::int64_t>::max());

  const auto final_path = fs->root() / key;
  const auto dir = final_path.parent_path();
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec)
    throw error(errc::unavailable,
                fmt::format("blob store: cannot create {}: {}", dir.string(), ec.message()));
  sha256 hash;
  std::int64_t total = 0;
  std::array<char, chunk_size> buf;
  for (;;) {
    const ssize_t r = ::read(f.get(), buf.data(), buf.size());
    if (r < 0) {
      if (errno == EINTR) continue;
      fail_io("cannot read", file);
    }
    if (r == 0) break;
    hash.update(std::string_view(buf.data(), static_cast<std::size_t>(r)));
    total += r;
  }
  if (::fchmod(f.get(), 0640) != 0) fail_io("cannot chmod", file);
  if (::fsync(f.get()) != 0) fail_io("cannot fsync", file);
  // link() never replaces an existing file: the key is written exactly once.
  if (::link(file.c_str(), final_path.c_str()) != 0) {
    if (errno == EEXIST)
      throw error(errc::conflict, fmt::format("blob store: key '{}' already exists", key));
    fail_io("cannot link", final_path);
  }
  fsync_dir(dir);
  return {key, hash.hex_digest(), total};
}

}  // namespace detail

}  // namespace trevor
