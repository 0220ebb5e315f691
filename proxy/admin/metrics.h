// Process-wide metrics, updated lock-free from any event loop and rendered in
// the Prometheus text format by the admin endpoint. Names follow Prometheus
// conventions: imapfront_..._total for counters, base units (seconds, bytes).
//
// A Metrics object holds no pointers and allocates nothing, so it can live in
// memory shared between processes: with worker processes each worker counts
// into its own Metrics and the supervisor renders the sum of them all.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace imapfront::admin {

class Counter {
public:
    void add(std::uint64_t n = 1) noexcept { value_.fetch_add(n, std::memory_order_relaxed); }
    std::uint64_t value() const noexcept { return value_.load(std::memory_order_relaxed); }

private:
    std::atomic<std::uint64_t> value_{0};
};

class Gauge {
public:
    void add(std::int64_t n) noexcept { value_.fetch_add(n, std::memory_order_relaxed); }
    void set(std::int64_t n) noexcept { value_.store(n, std::memory_order_relaxed); }
    std::int64_t value() const noexcept { return value_.load(std::memory_order_relaxed); }

private:
    std::atomic<std::int64_t> value_{0};
};

// Fixed buckets (upper bounds in seconds), cumulative on rendering.
class Histogram {
public:
    static constexpr std::array<double, 12> bounds{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                   0.05,   0.1,   0.25,   0.5,   1.0,  5.0};
    void observe(double seconds) noexcept;
    std::uint64_t bucket(std::size_t index) const noexcept;  // not cumulative; index bounds.size() is +Inf
    std::uint64_t count() const noexcept;
    double sum() const noexcept;

private:
    std::array<std::atomic<std::uint64_t>, bounds.size() + 1> buckets_{};
    std::atomic<std::uint64_t> count_{0};
    std::atomic<std::uint64_t> sum_micros_{0};
};

enum class LoginResult { Ok, AuthFailed, Unavailable, Refused, Error };
constexpr std::size_t login_result_count = 5;
enum class MultiResult { Ok, Rejected, Unavailable, Bad };
constexpr std::size_t multi_result_count = 4;

struct BackendMetrics {
    Gauge up;                  // 1 healthy, 0 down
    Gauge connections;         // open links to it
    Counter connect_failures;  // failed connects/logins (passive health)
    // 1 once a reload dropped it from the config: nothing checks its health
    // any more, so it has no `up` series; links still open to it count on.
    Gauge retired;
};

class Metrics {
public:
    static constexpr std::size_t max_backends = 512;
    static constexpr std::size_t max_backend_name = 127;  // longer names are cut to this for their series

    // The metrics this process counts into: a static object, unless a
    // GlobalMetricsBinding points it at another one.
    static Metrics& global();

    Gauge active_sessions;
    Gauge max_connections;        // limits.max_connections of the loaded config
    Counter connections;          // accepted client connections
    Counter connections_refused;  // turned away by limits or shutdown
    Counter bytes_from_clients;   // relayed client -> backend
    Counter bytes_to_clients;     // relayed backend -> client
    Histogram command_latency;    // relayed command: client line to tagged response

    Counter& logins(LoginResult result) { return logins_[static_cast<std::size_t>(result)]; }
    Counter& lista(MultiResult result) { return lista_[static_cast<std::size_t>(result)]; }
    Counter& selecta(MultiResult result) { return selecta_[static_cast<std::size_t>(result)]; }
    Counter& config_reloads(bool ok) { return reloads_[ok ? 0 : 1]; }
    // Created on first use; the reference stays valid as long as this object.
    // Beyond max_backends names, further backends share one unrendered entry.
    BackendMetrics& backend(std::string_view name);

    // Zeroes what describes the present (open sessions, open backend links)
    // and keeps the counters: what a supervisor does when a worker is gone.
    void clear_gauges() noexcept;

    std::string render_prometheus() const;

private:
    friend std::string render_prometheus(std::span<const Metrics* const> parts);

    struct BackendEntry {
        std::array<char, max_backend_name + 1> name{};
        BackendMetrics metrics;
    };
    std::string_view backend_name(std::size_t index) const noexcept;
    // The entry's index, or max_backends when there is none.
    std::size_t find_backend(std::string_view name) const noexcept;

    std::array<Counter, login_result_count> logins_;
    std::array<Counter, multi_result_count> lista_;
    std::array<Counter, multi_result_count> selecta_;
    std::array<Counter, 2> reloads_;
    // Entries below backend_count_ are complete: a reader in another process
    // loads the count (acquire) and reads only those.
    std::array<BackendEntry, max_backends> backends_;
    std::atomic<std::size_t> backend_count_{0};
    BackendMetrics overflow_;
};

// Points Metrics::global() at `metrics` (a slot in memory shared with a
// supervisor) for its lifetime. Create it before any loop runs, and let it
// outlive them.
class GlobalMetricsBinding {
public:
    explicit GlobalMetricsBinding(Metrics& metrics);
    ~GlobalMetricsBinding();
    GlobalMetricsBinding(const GlobalMetricsBinding&) = delete;
    GlobalMetricsBinding& operator=(const GlobalMetricsBinding&) = delete;
};

// One exposition of several Metrics (a supervisor's and its workers'):
// counters and gauges are summed; a backend is up only when every part that
// still has it in its config counts it up, and has no `up` series when none
// does.
std::string render_prometheus(std::span<const Metrics* const> parts);

}  // namespace imapfront::admin
