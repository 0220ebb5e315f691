#include "proxy/net/folder_watch.h"

#include "proxy/net/loop_internal.h"

#include <stdexcept>

namespace imapfront::net {

namespace {

struct FsEventBox : detail::HandleBox {
    uv_fs_event_t event{};
    std::function<void()> on_change;
};

void on_fs_event(uv_fs_event_t* event, const char*, int, int status) {
    auto* box = static_cast<FsEventBox*>(static_cast<detail::HandleBox*>(event->data));
    if (status == 0 && box->on_change) box->on_change();
}

}  // namespace

struct FolderWatch::Handle : FsEventBox {};

FolderWatch::FolderWatch(EventLoop& loop, const std::string& folder, std::function<void()> on_change)
    : handle_(new Handle) {
    handle_->on_change = std::move(on_change);
    uv_fs_event_init(loop.raw(), &handle_->event);
    handle_->event.data = static_cast<detail::HandleBox*>(handle_);
    if (const int rc = uv_fs_event_start(&handle_->event, on_fs_event, folder.c_str(), 0); rc != 0) {
        detail::close_and_delete(reinterpret_cast<uv_handle_t*>(&handle_->event));
        throw std::runtime_error("watch " + folder + ": " + uv_strerror(rc));
    }
}

FolderWatch::~FolderWatch() {
    handle_->on_change = nullptr;
    uv_fs_event_stop(&handle_->event);
    detail::close_and_delete(reinterpret_cast<uv_handle_t*>(&handle_->event));
}

}  // namespace imapfront::net
