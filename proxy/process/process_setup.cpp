#include "proxy/process/process_setup.h"

#include "proxy/session/config_reloader.h"
#include "proxy/session/log.h"

#include <cstdio>
#include <utility>

namespace imapfront::process {
namespace {

session::LogFormat log_format(config::LogFormat format) {
    return format == config::LogFormat::Text ? session::LogFormat::Text : session::LogFormat::Json;
}

session::LogLevel log_level(config::LogLevel level) {
    switch (level) {
    case config::LogLevel::Debug: return session::LogLevel::Debug;
    case config::LogLevel::Info: return session::LogLevel::Info;
    case config::LogLevel::Warn: return session::LogLevel::Warn;
    case config::LogLevel::Error: return session::LogLevel::Error;
    }
    return session::LogLevel::Info;
}

}  // namespace

int print_errors(const config::LoadResult& result) {
    for (const auto& error : result.errors) std::fprintf(stderr, "%s\n", error.to_string().c_str());
    return 1;
}

std::optional<StartupConfig> load_startup_config(const std::string& path) {
    auto text = session::read_file(path);
    config::LoadResult result = config::load_file(path);
    if (!result.errors.empty()) {
        print_errors(result);
        return std::nullopt;
    }
    session::configure_log(log_format(result.config->log.format), log_level(result.config->log.level));
    return StartupConfig{std::move(text).value_or(""), std::move(result.config)};
}

std::unique_ptr<admin::AdminServer> open_admin_endpoint(net::EventLoop& loop, const config::Config& config,
                                                        admin::NotReadyReasonFn not_ready_reason,
                                                        std::function<std::string()> metrics_text) {
    const auto& address = config.admin.address;
    if (!address) return nullptr;
    auto server =
        std::make_unique<admin::AdminServer>(loop, address->host, address->port, std::move(not_ready_reason),
                                             admin::AdminServer::default_read_timeout, std::move(metrics_text));
    session::log_event(session::LogLevel::Info, "admin_listening",
                       {{"address", address->host + ":" + std::to_string(server->port())}});
    return server;
}

}  // namespace imapfront::process
