#include "daemon/log.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>

#include <boost/json/serialize.hpp>

#include "trevor/time.hpp"

namespace trevord {
namespace {
std::atomic<int> threshold{static_cast<int>(level::info)};
std::mutex out_mutex;

std::string_view name_of(level l) {
  switch (l) {
    case level::debug: return "debug";
    case level::info: return "info";
    case level::warning: return "warning";
    case level::error: return "error";
  }
  return "info";
}
}  // namespace

void set_log_level(std::string_view name) {
  for (auto l : {level::debug, level::info, level::warning, level::error})
    if (name_of(l) == name) threshold = static_cast<int>(l);
}

void log(level l, std::string_view message, boost::json::object fields) {
  if (static_cast<int>(l) < threshold) return;
  boost::json::object line;
  line["ts"] = trevor::timestamp::from_sys(std::chrono::system_clock::now()).str();
  line["level"] = name_of(l);
  line["msg"] = message;
  for (auto& f : fields) line[f.key()] = std::move(f.value());
  const std::string text = boost::json::serialize(line) + "\n";
  std::lock_guard lock(out_mutex);
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);
}

}  // namespace trevord
