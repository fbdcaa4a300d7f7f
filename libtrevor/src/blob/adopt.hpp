#pragma once
// Taking a finished file into a blob store without copying it (internal).

#include <filesystem>
#include <string>

#include "trevor/blob_store.hpp"

namespace trevor::detail {

/// Takes the complete file at `file` into `store` under `key` and returns
/// its size and SHA-256; the file is consumed (gone when this returns or
/// throws). Refuses an existing key (conflict) as put() does, and leaves
/// nothing under `key` when it throws; the blob is durable when it returns.
/// A filesystem_blob_store on the file's file system links the file in
/// place after reading it once for its hash and fsyncing it (the release
/// writes its package once); any other store, or another file system, gets
/// a copy through put().
blob_info adopt_file(blob_store& store, const std::string& key, const std::filesystem::path& file);

}  // namespace trevor::detail
