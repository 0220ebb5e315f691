// Backend health: active check results and passive failures turned into an
// up/down state with fall/rise hysteresis (the pool's `health` settings).
// Pure state: whoever runs the checks reports here; readers ask is_up().
// Thread-safe: checks report from the control loop, sessions read from data loops.
#pragma once

#include "config/config.h"

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace imapfront::routing {

class HealthTable {
public:
    // Every backend of the config starts up. Backends of a new config keep
    // their state when their name already existed.
    void track(const config::Config& config);

    bool is_up(const std::string& backend) const;  // unknown backends count as up

    // Active check outcome: `fall` failures in a row mark down, `rise`
    // successes in a row mark up. Returns true when the state changed.
    bool report_check(const std::string& backend, bool ok);
    // A failed connect/login of a real session counts as a failed check.
    bool report_passive_failure(const std::string& backend);

private:
    struct Entry {
        std::atomic<bool> up{true};
        int fall = 3;
        int rise = 2;
        int failures = 0;   // consecutive, guarded by mutex_
        int successes = 0;  // consecutive, guarded by mutex_
    };
    mutable std::mutex mutex_;
    std::map<std::string, std::unique_ptr<Entry>> entries_;
};

}  // namespace imapfront::routing
