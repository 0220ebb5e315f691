// Fall/rise hysteresis per backend. A backend in several pools takes the
// most reactive settings of them (smallest fall, smallest rise), the same way
// the active checker probes it at the smallest interval.
#include "routing/health.h"

#include <algorithm>
#include <set>

namespace imapfront::routing {

void HealthTable::track(const config::Config& config) {
    struct Thresholds {
        int fall;
        int rise;
    };
    std::map<std::string, Thresholds> wanted;
    for (const auto& [name, backend] : config.backends) {
        const config::Health defaults;
        wanted[name] = {defaults.fall, defaults.rise};
    }
    std::set<std::string> seen_in_pool;
    for (const auto& [pool_name, pool] : config.pools) {
        for (const auto& server : pool.servers) {
            const auto found = wanted.find(server);
            if (found == wanted.end()) continue;
            Thresholds& thresholds = found->second;
            if (seen_in_pool.insert(server).second) {
                thresholds = {pool.health.fall, pool.health.rise};
            } else {
                thresholds.fall = std::min(thresholds.fall, pool.health.fall);
                thresholds.rise = std::min(thresholds.rise, pool.health.rise);
            }
        }
    }

    const std::lock_guard lock(mutex_);
    std::map<std::string, std::unique_ptr<Entry>> next;
    for (const auto& [name, thresholds] : wanted) {
        auto old = entries_.find(name);
        auto entry = old != entries_.end() ? std::move(old->second) : std::make_unique<Entry>();
        entry->fall = std::max(1, thresholds.fall);
        entry->rise = std::max(1, thresholds.rise);
        next.emplace(name, std::move(entry));
    }
    entries_ = std::move(next);
}

bool HealthTable::is_up(const std::string& backend) const {
    const std::lock_guard lock(mutex_);
    const auto found = entries_.find(backend);
    return found == entries_.end() || found->second->up.load(std::memory_order_relaxed);
}

bool HealthTable::report_check(const std::string& backend, bool ok) {
    const std::lock_guard lock(mutex_);
    const auto found = entries_.find(backend);
    if (found == entries_.end()) return false;
    Entry& entry = *found->second;
    const bool up = entry.up.load(std::memory_order_relaxed);
    if (ok) {
        entry.failures = 0;
        if (up) return false;
        if (++entry.successes < entry.rise) return false;
        entry.successes = 0;
        entry.up.store(true, std::memory_order_relaxed);
        return true;
    }
    entry.successes = 0;
    if (!up) return false;
    if (++entry.failures < entry.fall) return false;
    entry.failures = 0;
    entry.up.store(false, std::memory_order_relaxed);
    return true;
}

bool HealthTable::report_passive_failure(const std::string& backend) { return report_check(backend, false); }

}  // namespace imapfront::routing
