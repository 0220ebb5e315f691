#include "proxy/admin/metrics.h"

#include <cstdio>
#include <string_view>

namespace imapfront::admin {
namespace {

constexpr std::array<std::string_view, login_result_count> login_result_names{"ok", "auth_failed", "unavailable",
                                                                              "refused", "error"};
constexpr std::array<std::string_view, multi_result_count> multi_result_names{"ok", "rejected", "unavailable", "bad"};

std::string format_double(double value) {
    char text[32];
    std::snprintf(text, sizeof text, "%.6g", value);
    return text;
}

std::string escape_label(std::string_view value) {
    std::string out;
    for (const char c : value) {
        if (c == '\\' || c == '"') out += '\\';
        if (c == '\n') {
            out += "\\n";
            continue;
        }
        out += c;
    }
    return out;
}

void header(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
    out += "# HELP ";
    out += name;
    out += ' ';
    out += help;
    out += "\n# TYPE ";
    out += name;
    out += ' ';
    out += type;
    out += '\n';
}

void sample(std::string& out, std::string_view name, std::string_view labels, std::string_view value) {
    out += name;
    if (!labels.empty()) {
        out += '{';
        out += labels;
        out += '}';
    }
    out += ' ';
    out += value;
    out += '\n';
}

template <std::size_t N>
void labelled_counters(std::string& out, std::string_view name, std::string_view help,
                       const std::array<Counter, N>& counters, const std::array<std::string_view, N>& names) {
    header(out, name, "counter", help);
    for (std::size_t i = 0; i < N; ++i) {
        sample(out, name, "result=\"" + std::string(names[i]) + "\"", std::to_string(counters[i].value()));
    }
}

}  // namespace

void Histogram::observe(double seconds) noexcept {
    std::size_t index = 0;
    while (index < bounds.size() && seconds > bounds[index]) ++index;
    buckets_[index].fetch_add(1, std::memory_order_relaxed);
    count_.fetch_add(1, std::memory_order_relaxed);
    const double micros = seconds > 0 ? seconds * 1e6 : 0.0;
    sum_micros_.fetch_add(static_cast<std::uint64_t>(micros), std::memory_order_relaxed);
}

std::uint64_t Histogram::bucket(std::size_t index) const noexcept {
    return buckets_[index].load(std::memory_order_relaxed);
}

std::uint64_t Histogram::count() const noexcept { return count_.load(std::memory_order_relaxed); }

double Histogram::sum() const noexcept {
    return static_cast<double>(sum_micros_.load(std::memory_order_relaxed)) / 1e6;
}

Metrics& Metrics::global() {
    static Metrics metrics;
    return metrics;
}

BackendMetrics& Metrics::backend(const std::string& name) {
    const std::lock_guard lock(backends_mutex_);
    auto& entry = backends_[name];
    if (!entry) {
        entry = std::make_unique<BackendMetrics>();
        entry->up.set(1);
    }
    return *entry;
}

std::string Metrics::render_prometheus() const {
    std::string out;
    out.reserve(4096);
    header(out, "imapfront_sessions_active", "gauge", "Client sessions open now.");
    sample(out, "imapfront_sessions_active", {}, std::to_string(active_sessions.value()));
    header(out, "imapfront_connections_total", "counter", "Client connections accepted.");
    sample(out, "imapfront_connections_total", {}, std::to_string(connections.value()));
    header(out, "imapfront_connections_refused_total", "counter", "Client connections refused by limits or shutdown.");
    sample(out, "imapfront_connections_refused_total", {}, std::to_string(connections_refused.value()));
    labelled_counters(out, "imapfront_logins_total", "Login attempts by result.", logins_, login_result_names);
    labelled_counters(out, "imapfront_lista_total", "LISTA commands by result.", lista_, multi_result_names);
    labelled_counters(out, "imapfront_selecta_total", "SELECTA commands by result.", selecta_, multi_result_names);
    header(out, "imapfront_relayed_bytes_total", "counter", "Bytes relayed, by direction.");
    sample(out, "imapfront_relayed_bytes_total", "direction=\"client_to_backend\"",
           std::to_string(bytes_from_clients.value()));
    sample(out, "imapfront_relayed_bytes_total", "direction=\"backend_to_client\"",
           std::to_string(bytes_to_clients.value()));
    header(out, "imapfront_config_reloads_total", "counter", "Configuration reloads by result.");
    sample(out, "imapfront_config_reloads_total", "result=\"ok\"", std::to_string(reloads_[0].value()));
    sample(out, "imapfront_config_reloads_total", "result=\"error\"", std::to_string(reloads_[1].value()));

    header(out, "imapfront_command_duration_seconds", "histogram",
           "Relayed commands, from the client's command line to the backend's tagged response.");
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i <= Histogram::bounds.size(); ++i) {
        cumulative += command_latency.bucket(i);
        const std::string le = i < Histogram::bounds.size() ? format_double(Histogram::bounds[i]) : "+Inf";
        sample(out, "imapfront_command_duration_seconds_bucket", "le=\"" + le + "\"", std::to_string(cumulative));
    }
    sample(out, "imapfront_command_duration_seconds_sum", {}, format_double(command_latency.sum()));
    sample(out, "imapfront_command_duration_seconds_count", {}, std::to_string(command_latency.count()));

    const std::lock_guard lock(backends_mutex_);
    header(out, "imapfront_backend_up", "gauge", "Whether the backend passes its health checks (1) or not (0).");
    for (const auto& [name, backend] : backends_) {
        sample(out, "imapfront_backend_up", "backend=\"" + escape_label(name) + "\"", std::to_string(backend->up.value()));
    }
    header(out, "imapfront_backend_connections", "gauge", "Open backend links, by backend.");
    for (const auto& [name, backend] : backends_) {
        sample(out, "imapfront_backend_connections", "backend=\"" + escape_label(name) + "\"",
               std::to_string(backend->connections.value()));
    }
    header(out, "imapfront_backend_connect_failures_total", "counter", "Failed backend connects and logins.");
    for (const auto& [name, backend] : backends_) {
        sample(out, "imapfront_backend_connect_failures_total", "backend=\"" + escape_label(name) + "\"",
               std::to_string(backend->connect_failures.value()));
    }
    return out;
}

}  // namespace imapfront::admin
