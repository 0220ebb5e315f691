#include "proxy/admin/metrics.h"

#include <algorithm>
#include <cstdio>
#include <functional>
#include <map>
#include <mutex>
#include <string_view>

namespace imapfront::admin {
namespace {

constexpr std::array<std::string_view, login_result_count> login_result_names{"ok", "auth_failed", "unavailable",
                                                                              "refused", "error"};
constexpr std::array<std::string_view, multi_result_count> multi_result_names{"ok", "rejected", "unavailable", "bad"};
constexpr std::array<std::string_view, 2> reload_result_names{"ok", "error"};

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
                       std::span<const Metrics* const> parts, std::array<Counter, N> Metrics::*counters,
                       const std::array<std::string_view, N>& names) {
    header(out, name, "counter", help);
    for (std::size_t i = 0; i < N; ++i) {
        std::uint64_t total = 0;
        for (const Metrics* part : parts) total += (part->*counters)[i].value();
        sample(out, name, "result=\"" + std::string(names[i]) + "\"", std::to_string(total));
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

static_assert(std::atomic<std::uint64_t>::is_always_lock_free && std::atomic<std::size_t>::is_always_lock_free,
              "metrics shared between processes need address-free atomics");

namespace {

Metrics* g_global = nullptr;
std::mutex g_backend_registration;  // writers of one process; readers never lock

}  // namespace

Metrics& Metrics::global() {
    static Metrics own;
    return g_global != nullptr ? *g_global : own;
}

GlobalMetricsBinding::GlobalMetricsBinding(Metrics& metrics) { g_global = &metrics; }

GlobalMetricsBinding::~GlobalMetricsBinding() { g_global = nullptr; }

std::string_view Metrics::backend_name(std::size_t index) const noexcept {
    const auto& name = backends_[index].name;
    return {name.data(), std::char_traits<char>::length(name.data())};
}

std::size_t Metrics::find_backend(std::string_view name) const noexcept {
    const std::size_t count = backend_count_.load(std::memory_order_acquire);
    for (std::size_t i = 0; i < count; ++i) {
        if (backend_name(i) == name) return i;
    }
    return max_backends;
}

BackendMetrics& Metrics::backend(std::string_view name) {
    name = name.substr(0, max_backend_name);
    if (const std::size_t found = find_backend(name); found < max_backends) return backends_[found].metrics;
    const std::lock_guard lock(g_backend_registration);
    if (const std::size_t found = find_backend(name); found < max_backends) return backends_[found].metrics;
    const std::size_t count = backend_count_.load(std::memory_order_relaxed);
    if (count == max_backends) return overflow_;
    BackendEntry& entry = backends_[count];
    name.copy(entry.name.data(), name.size());
    entry.metrics.up.set(1);
    backend_count_.store(count + 1, std::memory_order_release);
    return entry.metrics;
}

void Metrics::clear_gauges() noexcept {
    active_sessions.set(0);
    max_connections.set(0);
    const std::size_t count = backend_count_.load(std::memory_order_acquire);
    for (std::size_t i = 0; i < count; ++i) backends_[i].metrics.connections.set(0);
}

std::string Metrics::render_prometheus() const {
    const Metrics* self = this;
    return admin::render_prometheus(std::span<const Metrics* const>(&self, 1));
}

namespace {

template <typename Read>
std::uint64_t sum_of(std::span<const Metrics* const> parts, Read read) {
    std::uint64_t total = 0;
    for (const Metrics* part : parts) total += static_cast<std::uint64_t>(read(*part));
    return total;
}

template <typename Read>
std::string total(std::span<const Metrics* const> parts, Read read) {
    return std::to_string(sum_of(parts, read));
}

struct BackendTotals {
    std::int64_t up = 1;
    bool configured = false;  // some part has it in its config
    std::int64_t connections = 0;
    std::uint64_t connect_failures = 0;
};

}  // namespace

std::string render_prometheus(std::span<const Metrics* const> parts) {
    std::string out;
    out.reserve(4096);
    std::int64_t active = 0;
    for (const Metrics* part : parts) active += part->active_sessions.value();
    header(out, "imapfront_sessions_active", "gauge", "Client sessions open now.");
    sample(out, "imapfront_sessions_active", {}, std::to_string(active));
    header(out, "imapfront_max_connections", "gauge",
           "Client sessions the configuration allows (limits.max_connections, summed over workers).");
    sample(out, "imapfront_max_connections", {},
           total(parts, [](const Metrics& m) { return m.max_connections.value(); }));
    header(out, "imapfront_connections_total", "counter", "Client connections accepted.");
    sample(out, "imapfront_connections_total", {},
           total(parts, [](const Metrics& m) { return m.connections.value(); }));
    header(out, "imapfront_connections_refused_total", "counter", "Client connections refused by limits or shutdown.");
    sample(out, "imapfront_connections_refused_total", {},
           total(parts, [](const Metrics& m) { return m.connections_refused.value(); }));
    labelled_counters(out, "imapfront_logins_total", "Login attempts by result.", parts, &Metrics::logins_,
                      login_result_names);
    labelled_counters(out, "imapfront_lista_total", "LISTA commands by result.", parts, &Metrics::lista_,
                      multi_result_names);
    labelled_counters(out, "imapfront_selecta_total", "SELECTA commands by result.", parts, &Metrics::selecta_,
                      multi_result_names);
    header(out, "imapfront_relayed_bytes_total", "counter", "Bytes relayed, by direction.");
    sample(out, "imapfront_relayed_bytes_total", "direction=\"client_to_backend\"",
           total(parts, [](const Metrics& m) { return m.bytes_from_clients.value(); }));
    sample(out, "imapfront_relayed_bytes_total", "direction=\"backend_to_client\"",
           total(parts, [](const Metrics& m) { return m.bytes_to_clients.value(); }));
    labelled_counters(out, "imapfront_config_reloads_total", "Configuration reloads by result.", parts,
                      &Metrics::reloads_, reload_result_names);

    header(out, "imapfront_command_duration_seconds", "histogram",
           "Relayed commands, from the client's command line to the backend's tagged response.");
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i <= Histogram::bounds.size(); ++i) {
        cumulative += sum_of(parts, [i](const Metrics& m) { return m.command_latency.bucket(i); });
        const std::string le = i < Histogram::bounds.size() ? format_double(Histogram::bounds[i]) : "+Inf";
        sample(out, "imapfront_command_duration_seconds_bucket", "le=\"" + le + "\"", std::to_string(cumulative));
    }
    double latency_sum = 0;
    for (const Metrics* part : parts) latency_sum += part->command_latency.sum();
    sample(out, "imapfront_command_duration_seconds_sum", {}, format_double(latency_sum));
    sample(out, "imapfront_command_duration_seconds_count", {},
           total(parts, [](const Metrics& m) { return m.command_latency.count(); }));

    std::map<std::string, BackendTotals, std::less<>> backends;
    for (const Metrics* part : parts) {
        const std::size_t count = part->backend_count_.load(std::memory_order_acquire);
        for (std::size_t i = 0; i < count; ++i) {
            const BackendMetrics& metrics = part->backends_[i].metrics;
            BackendTotals& totals = backends[std::string(part->backend_name(i))];
            if (metrics.retired.value() == 0) {
                totals.configured = true;
                totals.up = std::min(totals.up, metrics.up.value());
            }
            totals.connections += metrics.connections.value();
            totals.connect_failures += metrics.connect_failures.value();
        }
    }
    header(out, "imapfront_backend_up", "gauge", "Whether the backend passes its health checks (1) or not (0).");
    for (const auto& [name, totals] : backends) {
        if (!totals.configured) continue;
        sample(out, "imapfront_backend_up", "backend=\"" + escape_label(name) + "\"", std::to_string(totals.up));
    }
    header(out, "imapfront_backend_connections", "gauge", "Open backend links, by backend.");
    for (const auto& [name, totals] : backends) {
        sample(out, "imapfront_backend_connections", "backend=\"" + escape_label(name) + "\"",
               std::to_string(totals.connections));
    }
    header(out, "imapfront_backend_connect_failures_total", "counter", "Failed backend connects and logins.");
    for (const auto& [name, totals] : backends) {
        sample(out, "imapfront_backend_connect_failures_total", "backend=\"" + escape_label(name) + "\"",
               std::to_string(totals.connect_failures));
    }
    return out;
}

}  // namespace imapfront::admin
