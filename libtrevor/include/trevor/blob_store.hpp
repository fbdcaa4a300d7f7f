#pragma once
// Where output objects' bytes live.
//
// blob_store is deliberately narrow — put a stream under a new key, read it
// back, ask its size, verify its checksum, discard a blob no row refers to —
// so that an object-store implementation (S3 and the like) fits behind it.
// Keys are relative paths chosen by the library (object_storage_key); a key
// is written once and never overwritten.
//
// Thread-safety: implementations must allow concurrent calls.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>

#include "trevor/export.hpp"
#include "trevor/uuid.hpp"

namespace trevor {

/// Pulls the next bytes of an upload into `buffer` (at most `capacity`);
/// returns how many it wrote, 0 at the end. May throw to abort the upload.
using byte_reader = std::function<std::size_t(char* buffer, std::size_t capacity)>;
/// Receives the bytes of a blob in order, chunk by chunk.
using byte_writer = std::function<void(std::string_view chunk)>;

/// A byte_reader over `content` (an upload held in memory).
TREVOR_EXPORT byte_reader string_reader(std::string content);

/// A byte_reader over the file at `path`, read as it is pulled (the file
/// stays open until the reader is destroyed). Throws error(not_found) when
/// there is no such file; the reader throws error(unavailable) when a read
/// fails.
TREVOR_EXPORT byte_reader file_reader(const std::filesystem::path& path);

/// A download someone was authorised for: what to stream (the blob under
/// `storage_key`) and how to label it. Its audit event is committed before it
/// is returned (release_service::download, delivered_download;
/// object_service::open_download).
struct blob_download {
  std::string storage_key;
  std::string filename;
  std::string content_type;
  std::int64_t size_bytes = 0;
  std::string checksum_sha256;
};

struct blob_info {
  std::string key;
  std::string sha256;  // lower-case hex
  std::int64_t size = 0;
};

/// One file a blob store holds, as its listing shows it.
struct stored_blob {
  std::string key;  // the blob's key; for a temporary file, its path under the store
  std::int64_t size = 0;
  std::chrono::system_clock::time_point modified;
  /// A put() that never finished (the process died mid-upload) left it.
  bool temporary = false;
};

class TREVOR_EXPORT blob_store {
 public:
  virtual ~blob_store() = default;

  /// Streams `source` into a new blob under `key`, computing its SHA-256 on
  /// the way. Throws error(invalid_argument) as soon as more than `max_bytes`
  /// arrive, and error(conflict) when `key` already exists; in both cases, and
  /// whenever it throws, nothing is left behind under `key`. The blob is
  /// durable when put() returns.
  virtual blob_info put(const std::string& key, const byte_reader& source,
                        std::int64_t max_bytes) = 0;

  /// Streams the blob to `sink`. Throws error(not_found) for an unknown key.
  virtual void get(const std::string& key, const byte_writer& sink) const = 0;

  /// The blob as a pull stream, for consumers that ask for bytes rather than
  /// receive them (the release's zip writer). The reader keeps the blob open
  /// until it is destroyed. Throws error(not_found) for an unknown key; the
  /// reader throws error(unavailable) when a read fails.
  virtual byte_reader open(const std::string& key) const = 0;

  /// The blob's size in bytes. Throws error(not_found) for an unknown key.
  virtual std::int64_t size(const std::string& key) const = 0;

  virtual bool exists(const std::string& key) const = 0;

  /// Re-reads the blob and compares its SHA-256 with `sha256` (hex).
  /// False when it differs or the blob is missing.
  virtual bool verify(const std::string& key, std::string_view sha256) const = 0;

  /// Removes a blob that no committed row refers to: the compensation when the
  /// transaction that would have recorded it fails. Never used on a blob a
  /// committed object names (objects are never deleted). Missing keys are ignored.
  virtual void discard(const std::string& key) noexcept = 0;

  /// Every blob and temporary file the store holds (hidden directories, such
  /// as trevord's release scratch area, excepted), in no particular order
  /// (storage checks and the orphan sweep). The default throws
  /// error(invalid_argument): a store that cannot list is never swept.
  virtual void for_each_blob(const std::function<void(const stored_blob&)>& fn) const;

  /// Removes a temporary file for_each_blob() listed. Missing ones are ignored.
  virtual void discard_temporary(const std::string& key) noexcept;
};

/// Blobs as files under one directory (TREVOR_STORAGE_DIR). put() writes a
/// temporary file in the same directory tree, fsyncs it, links it to its key
/// (which fails rather than overwrite) and fsyncs the directory.
class TREVOR_EXPORT filesystem_blob_store final : public blob_store {
 public:
  /// Creates `root` if needed. Throws error(unavailable) when it cannot.
  explicit filesystem_blob_store(std::filesystem::path root);

  blob_info put(const std::string& key, const byte_reader& source, std::int64_t max_bytes) override;
  void get(const std::string& key, const byte_writer& sink) const override;
  byte_reader open(const std::string& key) const override;
  std::int64_t size(const std::string& key) const override;
  bool exists(const std::string& key) const override;
  bool verify(const std::string& key, std::string_view sha256) const override;
  void discard(const std::string& key) noexcept override;
  void for_each_blob(const std::function<void(const stored_blob&)>& fn) const override;
  void discard_temporary(const std::string& key) noexcept override;

  const std::filesystem::path& root() const noexcept { return root_; }

 private:
  std::filesystem::path path_of(const std::string& key) const;
  std::filesystem::path root_;
};

/// A filename reduced to a safe path component: letters, digits, '.', '-'
/// and '_' kept, anything else (separators, control characters, spaces,
/// non-ASCII bytes) replaced by '_', leading dots replaced, at most 200 bytes.
/// Never empty, never "." or "..".
TREVOR_EXPORT std::string sanitize_filename(std::string_view filename);

/// The storage key of a release's RO-Crate package, in the release area
/// (a tree of its own beside the objects'): releases/{project}/{request}/{release}.zip.
TREVOR_EXPORT std::string release_storage_key(const uuid& project_id, const uuid& request_id,
                                              const uuid& release_id);

/// The storage key of an object version:
/// {project}/{request}/{logical_object}/{version}/{object_id}-{sanitized filename}.
TREVOR_EXPORT std::string object_storage_key(const uuid& project_id, const uuid& request_id,
                                             const uuid& logical_object_id, std::int64_t version,
                                             const uuid& object_id, std::string_view filename);

}  // namespace trevor
