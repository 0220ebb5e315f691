// What the admin endpoint answers to a parsed request: /healthz, /readyz and
// /metrics for GET, 405 for other methods, 404 for other paths, 400/431 for
// heads the parser refused. Pure: the live state comes in through callbacks.
#pragma once

#include "proxy/admin/http_request.h"
#include "proxy/admin/http_response.h"

#include <functional>
#include <optional>
#include <string>

namespace imapfront::admin {

// Why the process should not get traffic now (no listeners yet, no config,
// draining), or nullopt when it is ready.
using NotReadyReasonFn = std::function<std::optional<std::string>()>;

struct AdminRoutes {
    NotReadyReasonFn not_ready_reason;
    std::function<std::string()> metrics_text;  // Prometheus text exposition
};

// The Prometheus text format's content type.
inline constexpr std::string_view prometheus_content_type = "text/plain; version=0.0.4";

// `parser` must have reached a final status.
HttpResponse route_admin_request(const HttpRequestParser& parser, const AdminRoutes& routes);

}  // namespace imapfront::admin
