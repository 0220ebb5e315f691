// What every imapfront process does as it starts, whether it runs alone, as a
// supervisor or as one of its workers: load the config and open the admin
// endpoint where it has one.
#pragma once

#include "config/config.h"
#include "proxy/admin/admin_server.h"

#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace imapfront::net {
class EventLoop;
}

namespace imapfront::process {

struct StartupConfig {
    std::string text;  // the file as read, so a reload can tell whether it changed
    std::shared_ptr<const config::Config> config;
};

// Loads `path` and applies its log format and level to this process, or
// prints its errors (file:line:col, one per line on stderr) and returns nullopt.
std::optional<StartupConfig> load_startup_config(const std::string& path);

// Errors of a config that failed to load, one per line on stderr; returns 1.
int print_errors(const config::LoadResult& result);

// The config's admin endpoint, listening and logged, or null when it has none.
// Throws std::runtime_error when it cannot bind.
std::unique_ptr<admin::AdminServer> open_admin_endpoint(net::EventLoop& loop, const config::Config& config,
                                                        admin::NotReadyReasonFn not_ready_reason,
                                                        std::function<std::string()> metrics_text = {});

}  // namespace imapfront::process
