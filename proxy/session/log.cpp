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

// The length of the well-formed UTF-8 sequence (RFC 3629: no overlong forms,
// no surrogates, nothing past U+10FFFF) that starts text[at] with a byte >= 0x80,
// or 0 when those bytes are no such sequence.
std::size_t utf8_sequence_length(std::string_view text, std::size_t at) {
    const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[at + i]); };
    const auto lead = byte(0);
    std::size_t length = 0;
    unsigned char low = 0x80;
    unsigned char high = 0xbf;
    if (lead >= 0xc2 && lead <= 0xdf) {
        length = 2;
    } else if (lead >= 0xe0 && lead <= 0xef) {
        length = 3;
        if (lead == 0xe0) low = 0xa0;
        if (lead == 0xed) high = 0x9f;
    } else if (lead >= 0xf0 && lead <= 0xf4) {
        length = 4;
        if (lead == 0xf0) low = 0x90;
        if (lead == 0xf4) high = 0x8f;
    } else {
        return 0;
    }
    if (text.size() - at < length) return 0;
    if (byte(1) < low || byte(1) > high) return 0;
    for (std::size_t i = 2; i < length; ++i) {
        if (byte(i) < 0x80 || byte(i) > 0xbf) return 0;
    }
    return length;
}

void append_escaped_byte(std::string& out, unsigned char c) {
    char hex[8];
    std::snprintf(hex, sizeof hex, "\\u%04x", c);
    out += hex;
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
    for (std::size_t at = 0; at < text.size();) {
        const auto c = static_cast<unsigned char>(text[at]);
        switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        default:
            if (c >= 0x80) {
                // Well-formed UTF-8 (a name like josé) stays as it is; a byte
                // that is no part of such a sequence is escaped on its own, so
                // a line is valid JSON and UTF-8 whatever a client sent.
                if (const auto length = utf8_sequence_length(text, at); length > 0) {
                    out.append(text.substr(at, length));
                    at += length;
                    continue;
                }
                append_escaped_byte(out, c);
            } else if (c < 0x20 || c == 0x7f) {
                append_escaped_byte(out, c);
            } else {
                out += static_cast<char>(c);
            }
        }
        ++at;
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
