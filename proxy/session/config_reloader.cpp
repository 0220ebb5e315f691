#include "proxy/session/config_reloader.h"

#include "config/config.h"
#include "proxy/admin/metrics.h"
#include "proxy/session/log.h"

#include <exception>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <utility>

namespace imapfront::session {
namespace {

constexpr std::chrono::milliseconds settle_time{300};

}  // namespace

std::optional<std::string> read_file(const std::string& path) {
    std::ifstream file(path, std::ios::binary);
    if (!file) return std::nullopt;
    std::ostringstream text;
    text << file.rdbuf();
    return text.str();
}

ConfigReloader::ConfigReloader(net::EventLoop& loop, std::string path, std::string loaded_text, Apply apply,
                               ReloadRole role)
    : path_(std::move(path)),
      loaded_text_(std::move(loaded_text)),
      role_(role),
      apply_(std::move(apply)),
      settle_(loop) {
    if (role_ == ReloadRole::Follower) return;
    const std::string folder = std::filesystem::path(path_).parent_path().string();
    watch_ = std::make_unique<net::FolderWatch>(loop, folder.empty() ? "." : folder, [this] { on_folder_change(); });
}

void ConfigReloader::on_folder_change() {
    settle_.start(settle_time, [this] {
        const auto text = read_file(path_);
        if (!text || *text == loaded_text_) return;
        reload("file change");
    });
}

void ConfigReloader::count(bool ok) {
    if (role_ == ReloadRole::Own) admin::Metrics::global().config_reloads(ok).add();
}

void ConfigReloader::reload(std::string_view trigger) {
    const auto text = read_file(path_);
    const config::LoadResult result = config::load_file(path_);
    if (!result.errors.empty()) {
        for (const auto& error : result.errors) {
            log_event(LogLevel::Error, "config_error", {{"error", error.to_string()}});
        }
        log_event(LogLevel::Error, "config_reload", {{"result", "rejected"}, {"trigger", trigger}});
        count(false);
        if (text) loaded_text_ = *text;  // do not retry the same broken text on every folder event
        return;
    }
    std::shared_ptr<const Snapshot> snapshot;
    try {
        snapshot = make_snapshot(result.config);
    } catch (const std::exception& error) {
        log_event(LogLevel::Error, "config_error", {{"error", error.what()}});
        log_event(LogLevel::Error, "config_reload", {{"result", "rejected"}, {"trigger", trigger}});
        count(false);
        return;
    }
    if (text) loaded_text_ = *text;
    apply_(std::move(snapshot));
    count(true);
    log_event(LogLevel::Info, "config_reload", {{"result", "ok"}, {"trigger", trigger}});
}

}  // namespace imapfront::session
