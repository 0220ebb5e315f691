// FolderWatch: calls back when anything in a folder changes. Watching the
// folder rather than the file is what sees a Kubernetes ConfigMap update,
// which swaps a symlink (..data) instead of writing the file.
#pragma once

#include <functional>
#include <string>

namespace imapfront::net {

class EventLoop;

class FolderWatch {
public:
    // Throws std::runtime_error when the folder cannot be watched.
    FolderWatch(EventLoop& loop, const std::string& folder, std::function<void()> on_change);
    ~FolderWatch();
    FolderWatch(const FolderWatch&) = delete;
    FolderWatch& operator=(const FolderWatch&) = delete;

private:
    struct Handle;
    Handle* handle_;
};

}  // namespace imapfront::net
