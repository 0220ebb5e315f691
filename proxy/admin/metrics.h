// Process-wide metrics, updated lock-free from any event loop and rendered in
// the Prometheus text format by the admin endpoint. Names follow Prometheus
// conventions: imapfront_..._total for counters, base units (seconds, bytes).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

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
    Gauge up;                   // 1 healthy, 0 down
    Gauge connections;          // open links to it
    Counter connect_failures;   // failed connects/logins (passive health)
};

class Metrics {
public:
    static Metrics& global();

    Gauge active_sessions;
    Counter connections;          // accepted client connections
    Counter connections_refused;  // turned away by limits or shutdown
    Counter bytes_from_clients;   // relayed client -> backend
    Counter bytes_to_clients;     // relayed backend -> client
    Histogram command_latency;    // relayed command: client line to tagged response

    Counter& logins(LoginResult result) { return logins_[static_cast<std::size_t>(result)]; }
    Counter& lista(MultiResult result) { return lista_[static_cast<std::size_t>(result)]; }
    Counter& selecta(MultiResult result) { return selecta_[static_cast<std::size_t>(result)]; }
    Counter& config_reloads(bool ok) { return reloads_[ok ? 0 : 1]; }
    // Created on first use; the reference stays valid for the process lifetime.
    BackendMetrics& backend(const std::string& name);

    std::string render_prometheus() const;

private:
    std::array<Counter, login_result_count> logins_;
    std::array<Counter, multi_result_count> lista_;
    std::array<Counter, multi_result_count> selecta_;
    std::array<Counter, 2> reloads_;
    mutable std::mutex backends_mutex_;
    std::map<std::string, std::unique_ptr<BackendMetrics>> backends_;
};

}  // namespace imapfront::admin
