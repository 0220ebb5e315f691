// imapfront command line: `imapfront --config FILE` runs the proxy,
// `imapfront check FILE` validates a routing YAML file.
#include "config/config.h"
#include "proxy/admin/admin_server.h"
#include "proxy/net/event_loop.h"
#include "proxy/session/config_reloader.h"
#include "proxy/session/health_checker.h"
#include "proxy/session/log.h"
#include "proxy/session/server.h"
#include "proxy/session/snapshot.h"
#include "routing/health.h"

#include <chrono>
#include <csignal>
#include <memory>
#include <optional>
#include <cstdio>
#include <exception>
#include <string>
#include <string_view>

namespace {

using namespace imapfront;

constexpr std::string_view usage =
    "usage: imapfront --config FILE     run the proxy\n"
    "       imapfront check FILE        validate a routing YAML file and exit\n";

int print_errors(const config::LoadResult& result) {
    for (const auto& error : result.errors) std::fprintf(stderr, "%s\n", error.to_string().c_str());
    return 1;
}

int check(const std::string& path) {
    const config::LoadResult result = config::load_file(path);
    if (!result.errors.empty()) return print_errors(result);
    try {
        session::make_snapshot(result.config);
    } catch (const std::exception& error) {
        std::fprintf(stderr, "%s: %s\n", path.c_str(), error.what());
        return 1;
    }
    std::printf("%s: OK\n", path.c_str());
    return 0;
}

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

int run(const std::string& path) {
    const auto text = session::read_file(path);
    const config::LoadResult result = config::load_file(path);
    if (!result.errors.empty()) return print_errors(result);
    session::configure_log(log_format(result.config->log.format), log_level(result.config->log.level));

    std::signal(SIGPIPE, SIG_IGN);
    net::EventLoop loop;
    try {
        auto health = std::make_shared<routing::HealthTable>();
        session::HealthChecker health_checker(loop, health, result.config);
        auto snapshot = session::make_snapshot(result.config);
        session::Server server(loop, snapshot, health);
        server.start();

        session::ConfigReloader reloader(loop, path, text.value_or(""),
                                         [&](std::shared_ptr<const session::Snapshot> next) {
                                             health_checker.update(next->config);
                                             snapshot = next;
                                             server.update(std::move(next));
                                         });
        loop.on_signal(SIGHUP, [&] { reloader.reload("SIGHUP"); });

        bool stopping = false;
        std::unique_ptr<admin::AdminServer> admin_server;
        if (const auto& address = result.config->admin.address) {
            admin_server = std::make_unique<admin::AdminServer>(
                loop, address->host, address->port, [&]() -> std::optional<std::string> {
                    if (stopping) return "draining";
                    return std::nullopt;
                });
            session::log_event(session::LogLevel::Info, "admin_listening",
                               {{"address", address->host + ":" + std::to_string(admin_server->port())}});
        }

        const auto drain = [&] {
            if (stopping) return;
            stopping = true;
            session::log_event(session::LogLevel::Info, "draining", {});
            server.drain(snapshot->config->limits.drain_timeout, [&loop] { loop.stop(); });
        };
        loop.on_signal(SIGTERM, drain);
        loop.on_signal(SIGINT, drain);
        session::log_event(session::LogLevel::Info, "started", {{"config", result.config->source_path}});
        loop.run();
    } catch (const std::exception& error) {
        session::log_event(session::LogLevel::Error, "fatal", {{"error", error.what()}});
        return 1;
    }
    session::log_event(session::LogLevel::Info, "stopped", {});
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    const std::vector<std::string> args(argv + 1, argv + argc);
    if (args.size() == 2 && args[0] == "check") return check(args[1]);
    if (args.size() == 2 && args[0] == "--config") return run(args[1]);
    if (args.size() == 1 && (args[0] == "--help" || args[0] == "-h")) {
        std::fputs(usage.data(), stdout);
        return 0;
    }
    std::fputs(usage.data(), stderr);
    return 2;
}
