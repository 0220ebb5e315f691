#include "proxy/session/address_limits.h"

namespace imapfront::session {

AddressLimits::Admission AddressLimits::admit(const std::string& ip, std::size_t max_connections,
                                              std::size_t max_per_ip, bool per_address) {
    const std::lock_guard lock(mutex_);
    if (connections_ >= max_connections) return Admission::TooManyConnections;
    if (per_address) {
        std::size_t& count = per_ip_[ip];
        if (count >= max_per_ip) {
            if (count == 0) per_ip_.erase(ip);
            return Admission::TooManyFromAddress;
        }
        ++count;
    }
    ++connections_;
    return Admission::Ok;
}

void AddressLimits::release(const std::string& ip, bool per_address) {
    const std::lock_guard lock(mutex_);
    if (connections_ > 0) --connections_;
    if (!per_address) return;
    const auto it = per_ip_.find(ip);
    if (it != per_ip_.end() && --it->second == 0) per_ip_.erase(it);
}

bool AddressLimits::allow_login_attempt(const std::string& ip, std::size_t per_minute) {
    constexpr std::chrono::minutes window{1};
    const auto now = std::chrono::steady_clock::now();
    const std::lock_guard lock(mutex_);
    // Expired windows are dropped now and then, so the map holds only recent addresses.
    if (login_windows_.size() > 4096) {
        std::erase_if(login_windows_, [&](const auto& entry) { return now - entry.second.start >= window; });
    }
    LoginWindow& entry = login_windows_[ip];
    if (entry.attempts == 0 || now - entry.start >= window) entry = {now, 0};
    return ++entry.attempts <= per_minute;
}

std::size_t AddressLimits::connections() const {
    const std::lock_guard lock(mutex_);
    return connections_;
}

}  // namespace imapfront::session
