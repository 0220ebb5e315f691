// ConfigReloader: turns SIGHUP and changes in the config file's folder into
// new snapshots. A valid config is handed to `apply`; an invalid one is
// logged with file:line:col and counted, and the old snapshot stays.
#pragma once

#include "proxy/net/event_loop.h"
#include "proxy/net/folder_watch.h"
#include "proxy/session/snapshot.h"

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace imapfront::session {

// Who decides about reloads. A worker process follows its supervisor: it
// reloads when told (SIGHUP) and leaves watching the folder and counting
// reloads in the metrics to the supervisor.
enum class ReloadRole { Own, Follower };

class ConfigReloader {
public:
    using Apply = std::function<void(std::shared_ptr<const Snapshot>)>;

    // `loaded_text` is the text of the config already running, so a folder
    // event that did not change the file does not reload.
    ConfigReloader(net::EventLoop& loop, std::string path, std::string loaded_text, Apply apply,
                   ReloadRole role = ReloadRole::Own);

    // Loads the file now (SIGHUP).
    void reload(std::string_view trigger);

private:
    void on_folder_change();

    void count(bool ok);

    std::string path_;
    std::string loaded_text_;
    ReloadRole role_;
    Apply apply_;
    net::Timer settle_;  // a ConfigMap swap is several events: act once they stop
    std::unique_ptr<net::FolderWatch> watch_;
};

// The whole file, or nullopt when it cannot be read.
std::optional<std::string> read_file(const std::string& path);

}  // namespace imapfront::session
