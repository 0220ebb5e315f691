// AddressLimits: the connection and login-rate counts that must hold across
// every event loop (one client address lands on different loops). Thread-safe.
#pragma once

#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>
#include <unordered_map>

namespace imapfront::session {

class AddressLimits {
public:
    enum class Admission { Ok, TooManyConnections, TooManyFromAddress };

    // Counts a new connection from `ip` unless it would pass a limit.
    // `per_address` is false on PROXY listeners, whose socket peer is a load balancer.
    Admission admit(const std::string& ip, std::size_t max_connections, std::size_t max_per_ip, bool per_address);
    void release(const std::string& ip, bool per_address);

    // Counts a login attempt from `ip`; false when over `per_minute`.
    bool allow_login_attempt(const std::string& ip, std::size_t per_minute);

    std::size_t connections() const;

private:
    struct LoginWindow {
        std::chrono::steady_clock::time_point start;
        std::size_t attempts = 0;
    };

    mutable std::mutex mutex_;
    std::size_t connections_ = 0;
    std::unordered_map<std::string, std::size_t> per_ip_;
    std::unordered_map<std::string, LoginWindow> login_windows_;
};

}  // namespace imapfront::session
