// The few HTTP/1.1 responses the admin endpoint sends. Every response
// carries Content-Length and `Connection: close`: one request per connection
// keeps the server small, and probes and scrapers expect nothing more.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace imapfront::admin {

struct HttpResponse {
    int status = 200;
    std::string content_type = "text/plain; charset=utf-8";
    std::string body;
    std::vector<std::pair<std::string, std::string>> extra_headers;
};

std::string_view reason_phrase(int status);

// Status line, headers and body as sent on the wire.
std::string serialize(const HttpResponse& response);

}  // namespace imapfront::admin
