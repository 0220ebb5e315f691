#include "proxy/session/log.h"

#include <chrono>
#include <cstdio>
#include <ctime>

namespace imapfront::session {
namespace {

LogFormat g_format = LogFormat::Json;
LogLevel g_level = LogLevel::Info;
std::string g_worker;  // empty outside worker processes

std::string_view level_name(LogLevel level) {
    switch (level) {
    case LogLevel::Debug: return "debug";
    case LogLevel::Info: return "info";
    case LogLevel::Warn: return "warn";
    case LogLevel::Error: return "error";
    }
    return "info";
}

std::string timestamp() {
    using namespace std::chrono;
    const auto now = system_clock::now();
    const auto secs = system_clock::to_time_t(now);
    const auto millis = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
    std::tm utc{};
    gmtime_r(&secs, &utc);
    char text[64];
    std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", utc.tm_year + 1900, utc.tm_mon + 1,
                  utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, static_cast<int>(millis));
    return text;
}

bool needs_text_quotes(std::string_view value) {
    if (value.empty()) return true;
    for (const char ch : value) {
        const auto c = static_cast<unsigned char>(ch);
        if (c <= ' ' || c == '"' || c == '=' || c >= 0x7f) return true;
    }
    return false;
}

}  // namespace

void configure_log(LogFormat format, LogLevel level) {
    g_format = format;
    g_level = level;
}

void set_log_worker(unsigned index) { g_worker = std::to_string(index); }

bool log_enabled(LogLevel level) { return level >= g_level; }

std::string json_escape(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (const char ch : text) {
        const auto c = static_cast<unsigned char>(ch);
        switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        default:
            if (c < 0x20 || c >= 0x7f) {
                // Bytes outside printable ASCII are escaped one by one so a log
                // line is always valid JSON, whatever a client sent.
                char hex[8];
                std::snprintf(hex, sizeof hex, "\\u%04x", c);
                out += hex;
            } else {
                out += ch;
            }
        }
    }
    return out;
}

void log_event(LogLevel level, std::string_view event, std::initializer_list<LogField> fields) {
    if (!log_enabled(level)) return;
    log_fields(level, event, std::vector<LogField>(fields));
}

void log_fields(LogLevel level, std::string_view event, const std::vector<LogField>& fields) {
    if (!log_enabled(level)) return;
    std::string line;
    line.reserve(256);
    if (g_format == LogFormat::Json) {
        line += "{\"ts\":\"" + timestamp() + "\",\"level\":\"";
        line += level_name(level);
        line += "\",\"event\":\"" + json_escape(event) + "\"";
        if (!g_worker.empty()) line += ",\"worker\":\"" + g_worker + "\"";
        for (const auto& [key, value] : fields) {
            line += ",\"" + json_escape(key) + "\":\"" + json_escape(value) + "\"";
        }
        line += "}\n";
    } else {
        line += timestamp() + " " + std::string(level_name(level)) + " " + std::string(event);
        if (!g_worker.empty()) line += " worker=" + g_worker;
        for (const auto& [key, value] : fields) {
            line += " " + std::string(key) + "=";
            line += needs_text_quotes(value) ? "\"" + json_escape(value) + "\"" : std::string(value);
        }
        line += "\n";
    }
    std::fwrite(line.data(), 1, line.size(), stdout);
    std::fflush(stdout);
}

}  // namespace imapfront::session
