#include "sdc/content_type.hpp"

#include <magic.h>

#include <fmt/format.h>

#include "trevor/error.hpp"

namespace trevor::detail {
namespace {

class magic_handle {
 public:
  magic_handle() : m_(magic_open(MAGIC_MIME_TYPE | MAGIC_NO_CHECK_COMPRESS | MAGIC_NO_CHECK_ELF)) {
    if (!m_) throw error(errc::internal, "libmagic: magic_open failed");
    if (magic_load(m_, nullptr) != 0) {
      const std::string why = magic_error(m_) ? magic_error(m_) : "unknown error";
      magic_close(m_);
      throw error(errc::internal, fmt::format("libmagic: cannot load its database: {}", why));
    }
  }
  ~magic_handle() { magic_close(m_); }
  magic_handle(const magic_handle&) = delete;
  magic_handle& operator=(const magic_handle&) = delete;

  std::string type_of(std::string_view head) {
    const char* t = magic_buffer(m_, head.data(), head.size());
    if (!t) {
      const char* why = magic_error(m_);
      throw error(errc::internal, fmt::format("libmagic: {}", why ? why : "magic_buffer failed"));
    }
    return t;
  }

 private:
  magic_t m_;
};

}  // namespace

std::string mime_type_of(std::string_view head) {
  thread_local magic_handle handle;
  return handle.type_of(head);
}

}  // namespace trevor::detail
