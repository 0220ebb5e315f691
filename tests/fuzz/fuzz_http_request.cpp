// Parses arbitrary bytes as an admin request head, whole and in pieces: the
// split must not change the outcome, a complete request must hold only what
// the grammar allows, and the answer to it must be well-formed.
#include "proxy/admin/admin_routes.h"
#include "proxy/admin/http_request.h"
#include "proxy/admin/http_response.h"

#include "fuzz_check.h"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

using namespace imapfront::admin;

namespace {

// Splits at lengths taken from the input itself, so the fuzzer explores them.
HttpRequestParser parse_in_pieces(std::string_view input, std::uint8_t seed) {
    HttpRequestParser parser;
    std::size_t step = 1 + seed % 7;
    while (!input.empty()) {
        const std::size_t length = std::min(step, input.size());
        parser.feed(input.substr(0, length));
        input.remove_prefix(length);
        step = 1 + (step * 5 + seed) % 13;
    }
    return parser;
}

void check_request(const HttpRequest& request) {
    FUZZ_CHECK(!request.method.empty());
    FUZZ_CHECK(!request.target.empty() && request.target.front() == '/');
    FUZZ_CHECK(request.target.find_first_of(" \r\n") == std::string::npos);
    FUZZ_CHECK(std::string_view(request.target).substr(0, request.path().size()) == request.path());
    FUZZ_CHECK(request.minor_version >= 0 && request.minor_version <= 9);
    std::size_t bytes = request.method.size() + request.target.size();
    for (const auto& [name, value] : request.headers) {
        FUZZ_CHECK(!name.empty());
        FUZZ_CHECK(name.find_first_of(" \t\r\n:") == std::string::npos);
        FUZZ_CHECK(value.find_first_of("\r\n") == std::string::npos);
        FUZZ_CHECK(value.empty() || (value.front() != ' ' && value.back() != ' '));
        bytes += name.size() + value.size();
    }
    FUZZ_CHECK(bytes <= HttpRequestParser::max_head_bytes);
}

void check_answer(const HttpRequestParser& parser) {
    const AdminRoutes routes{[] { return std::optional<std::string>("draining"); },
                             [] { return std::string("m 1\n"); }};
    const HttpResponse response = route_admin_request(parser, routes);
    FUZZ_CHECK(reason_phrase(response.status) != "Unknown");
    const std::string wire = serialize(response);
    FUZZ_CHECK(wire.rfind("HTTP/1.1 ", 0) == 0);
    const std::size_t end = wire.find("\r\n\r\n");
    FUZZ_CHECK(end != std::string::npos);
    FUZZ_CHECK(wire.size() - end - 4 == response.body.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);

    HttpRequestParser whole;
    whole.feed(input);
    const HttpRequestParser pieces = parse_in_pieces(input, size > 0 ? data[0] : 0);
    FUZZ_CHECK(whole.status() == pieces.status());

    if (whole.status() == HttpRequestParser::Status::Complete) {
        check_request(whole.request());
        FUZZ_CHECK(whole.request().method == pieces.request().method);
        FUZZ_CHECK(whole.request().target == pieces.request().target);
        FUZZ_CHECK(whole.request().headers == pieces.request().headers);
    }
    if (whole.status() == HttpRequestParser::Status::Invalid) FUZZ_CHECK(!whole.error().empty());
    if (whole.status() != HttpRequestParser::Status::NeedMore) check_answer(whole);
    return 0;
}
