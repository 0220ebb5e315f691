// Incremental parser for the head of an HTTP/1.x request (request line and
// header fields, RFC 9112), as much as the admin endpoint needs. Pure: no I/O,
// fuzzable. Bytes arrive in any split; the parser keeps what it has not
// finished yet and never holds more than `max_head_bytes`.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace imapfront::admin {

struct HttpRequest {
    std::string method;                                        // e.g. "GET"; case-sensitive as HTTP says
    std::string target;                                        // origin-form, e.g. "/metrics?x=1"
    int minor_version = 1;                                     // HTTP/1.<minor>
    std::vector<std::pair<std::string, std::string>> headers;  // names as sent, values trimmed

    std::string_view path() const;  // target without its query
};

class HttpRequestParser {
public:
    // Request line plus header fields plus the blank line ending them.
    static constexpr std::size_t max_head_bytes = 8 * 1024;

    enum class Status {
        NeedMore,  // the head is not complete yet
        Complete,  // request() holds the request; later bytes (a body) are ignored
        Invalid,   // not an HTTP/1.x request head; error() says why
        TooLarge,  // the head passed max_head_bytes
    };

    // Consumes `bytes`. After a final status, further calls change nothing.
    Status feed(std::string_view bytes);

    Status status() const { return status_; }
    const HttpRequest& request() const { return request_; }
    const std::string& error() const { return error_; }

private:
    Status parse_line(std::string_view line);
    Status parse_request_line(std::string_view line);
    Status parse_header_line(std::string_view line);
    Status fail(std::string reason);

    Status status_ = Status::NeedMore;
    std::string partial_line_;
    std::size_t head_bytes_ = 0;
    bool seen_request_line_ = false;
    HttpRequest request_;
    std::string error_;
};

}  // namespace imapfront::admin
