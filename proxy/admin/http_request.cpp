// Strict where being lenient would hide garbage (bare CR, obsolete line
// folding, whitespace before a colon: RFC 9112 sections 2.2, 5.1 and 5.2),
// lenient where simple probes differ (bare LF line ends, blank lines before
// the request line, no Host header).
#include "proxy/admin/http_request.h"

namespace imapfront::admin {
namespace {

bool is_tchar(char c) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
    return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool is_token(std::string_view text) {
    if (text.empty()) return false;
    for (const char c : text) {
        if (!is_tchar(c)) return false;
    }
    return true;
}

bool is_vchar(char c) { return c > ' ' && c < '\x7f'; }

bool is_field_value_char(char c) {
    const auto byte = static_cast<unsigned char>(c);
    return c == ' ' || c == '\t' || is_vchar(c) || byte >= 0x80;
}

std::string_view trim_whitespace(std::string_view text) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
    return text;
}

}  // namespace

std::string_view HttpRequest::path() const {
    const std::string_view whole = target;
    return whole.substr(0, whole.find('?'));
}

HttpRequestParser::Status HttpRequestParser::feed(std::string_view bytes) {
    while (status_ == Status::NeedMore && !bytes.empty()) {
        const std::size_t newline = bytes.find('\n');
        const std::size_t taken = newline == std::string_view::npos ? bytes.size() : newline + 1;
        if (head_bytes_ + taken > max_head_bytes) {
            partial_line_.clear();
            status_ = Status::TooLarge;
            error_ = "request head over " + std::to_string(max_head_bytes) + " bytes";
            return status_;
        }
        head_bytes_ += taken;
        partial_line_.append(bytes.substr(0, taken));
        bytes.remove_prefix(taken);
        if (newline == std::string_view::npos) break;

        std::string line = std::move(partial_line_);
        partial_line_.clear();
        line.pop_back();
        if (!line.empty() && line.back() == '\r') line.pop_back();
        status_ = parse_line(line);
    }
    return status_;
}

HttpRequestParser::Status HttpRequestParser::parse_line(std::string_view line) {
    if (line.find('\r') != std::string_view::npos) return fail("bare CR in the request head");
    if (!seen_request_line_) {
        if (line.empty()) return Status::NeedMore;
        return parse_request_line(line);
    }
    if (line.empty()) return Status::Complete;
    return parse_header_line(line);
}

HttpRequestParser::Status HttpRequestParser::parse_request_line(std::string_view line) {
    const std::size_t first_space = line.find(' ');
    const std::size_t last_space = line.rfind(' ');
    if (first_space == std::string_view::npos || first_space == last_space) {
        return fail("request line is not 'method target version'");
    }
    const std::string_view method = line.substr(0, first_space);
    const std::string_view target = line.substr(first_space + 1, last_space - first_space - 1);
    const std::string_view version = line.substr(last_space + 1);
    if (!is_token(method)) return fail("invalid method");
    if (target.empty() || target.front() != '/') return fail("target is not an absolute path");
    for (const char c : target) {
        if (!is_vchar(c)) return fail("invalid character in the target");
    }
    constexpr std::string_view prefix = "HTTP/1.";
    if (version.size() != prefix.size() + 1 || version.substr(0, prefix.size()) != prefix || version.back() < '0' ||
        version.back() > '9') {
        return fail("unsupported HTTP version");
    }
    request_.method = method;
    request_.target = target;
    request_.minor_version = version.back() - '0';
    seen_request_line_ = true;
    return Status::NeedMore;
}

HttpRequestParser::Status HttpRequestParser::parse_header_line(std::string_view line) {
    if (line.front() == ' ' || line.front() == '\t') return fail("obsolete header line folding");
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) return fail("header line without a colon");
    const std::string_view name = line.substr(0, colon);
    if (!is_token(name)) return fail("invalid header name");
    const std::string_view value = trim_whitespace(line.substr(colon + 1));
    for (const char c : value) {
        if (!is_field_value_char(c)) return fail("invalid character in a header value");
    }
    request_.headers.emplace_back(name, value);
    return Status::NeedMore;
}

HttpRequestParser::Status HttpRequestParser::fail(std::string reason) {
    error_ = std::move(reason);
    return Status::Invalid;
}

}  // namespace imapfront::admin
