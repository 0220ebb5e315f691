// Structured log lines on stdout: one JSON object per line (or key=value
// text). Callers pass named fields; nothing here knows about credentials, so
// callers never hand it a password or a master secret.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace imapfront::session {

enum class LogLevel { Debug, Info, Warn, Error };
enum class LogFormat { Json, Text };

using LogField = std::pair<std::string_view, std::string_view>;

void configure_log(LogFormat format, LogLevel level);
// Marks every line of this process with "worker": `index` (worker processes).
void set_log_worker(unsigned index);
bool log_enabled(LogLevel level);
void log_event(LogLevel level, std::string_view event, std::initializer_list<LogField> fields);
void log_fields(LogLevel level, std::string_view event, const std::vector<LogField>& fields);

// Exposed for tests: the JSON string escaping the log uses.
std::string json_escape(std::string_view text);

}  // namespace imapfront::session
