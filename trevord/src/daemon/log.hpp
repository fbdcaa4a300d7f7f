#pragma once
// One JSON object per line on stdout (TREVOR_LOG_FORMAT=json). Thread-safe.

#include <string_view>

#include <boost/json/object.hpp>

namespace trevord {

enum class level { debug, info, warning, error };

void set_log_level(std::string_view name);
void log(level l, std::string_view message, boost::json::object fields = {});

}  // namespace trevord
