#include "proxy/admin/admin_routes.h"

namespace imapfront::admin {
namespace {

HttpResponse text(int status, std::string body) {
    HttpResponse response;
    response.status = status;
    response.body = std::move(body);
    response.body += '\n';
    return response;
}

HttpResponse readiness(const AdminRoutes& routes) {
    const std::optional<std::string> reason = routes.not_ready_reason ? routes.not_ready_reason() : std::nullopt;
    if (reason) return text(503, "not ready: " + *reason);
    return text(200, "ready");
}

HttpResponse metrics(const AdminRoutes& routes) {
    HttpResponse response;
    response.content_type = prometheus_content_type;
    if (routes.metrics_text) response.body = routes.metrics_text();
    return response;
}

}  // namespace

HttpResponse route_admin_request(const HttpRequestParser& parser, const AdminRoutes& routes) {
    switch (parser.status()) {
    case HttpRequestParser::Status::NeedMore: return text(400, "bad request: incomplete request head");
    case HttpRequestParser::Status::Invalid: return text(400, "bad request: " + parser.error());
    case HttpRequestParser::Status::TooLarge: return text(431, "request head too large");
    case HttpRequestParser::Status::Complete: break;
    }
    const HttpRequest& request = parser.request();
    const std::string_view path = request.path();
    const bool known = path == "/healthz" || path == "/readyz" || path == "/metrics";
    if (!known) return text(404, "not found");
    if (request.method != "GET") {
        HttpResponse response = text(405, "method not allowed");
        response.extra_headers.emplace_back("Allow", "GET");
        return response;
    }
    if (path == "/healthz") return text(200, "ok");
    if (path == "/readyz") return readiness(routes);
    return metrics(routes);
}

}  // namespace imapfront::admin
