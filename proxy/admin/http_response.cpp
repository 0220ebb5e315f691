#include "proxy/admin/http_response.h"

namespace imapfront::admin {

std::string_view reason_phrase(int status) {
    switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "Unknown";
    }
}

std::string serialize(const HttpResponse& response) {
    std::string out = "HTTP/1.1 " + std::to_string(response.status) + ' ';
    out += reason_phrase(response.status);
    out += "\r\nContent-Type: ";
    out += response.content_type;
    out += "\r\nContent-Length: " + std::to_string(response.body.size());
    out += "\r\nConnection: close\r\nCache-Control: no-store\r\n";
    for (const auto& [name, value] : response.extra_headers) {
        out += name + ": " + value + "\r\n";
    }
    out += "\r\n";
    out += response.body;
    return out;
}

}  // namespace imapfront::admin
