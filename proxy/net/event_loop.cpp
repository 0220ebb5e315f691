#include "proxy/net/event_loop.h"

#include "proxy/net/loop_internal.h"

#include <cstdlib>
#include <stdexcept>
#include <string>

namespace imapfront::net {

namespace detail {

void delete_box_on_close(uv_handle_t* handle) { delete static_cast<HandleBox*>(handle->data); }

void close_and_delete(uv_handle_t* handle) {
    if (!uv_is_closing(handle)) uv_close(handle, delete_box_on_close);
}

LoopState& loop_state(uv_loop_t* loop) { return *static_cast<LoopState*>(loop->data); }

namespace {

void run_deferred(uv_idle_t* idle) {
    auto& state = loop_state(idle->loop);
    // Calls queued while these run wait for the next iteration.
    auto batch = std::move(state.deferred);
    state.deferred.clear();
    for (auto& fn : batch) fn();
    if (state.deferred.empty()) uv_idle_stop(&state.defer_idle);
}

void run_posted(uv_async_t* async) {
    auto& state = loop_state(async->loop);
    std::vector<std::function<void()>> batch;
    {
        const std::lock_guard lock(state.posted_mutex);
        batch.swap(state.posted);
    }
    for (auto& fn : batch) fn();
}

}  // namespace

void defer_on(uv_loop_t* loop, std::function<void()> fn) {
    auto& state = loop_state(loop);
    state.deferred.push_back(std::move(fn));
    // An active idle handle makes the loop poll without blocking; it is
    // stopped again once the queue is empty so an idle loop sleeps.
    uv_idle_start(&state.defer_idle, run_deferred);
}

void alloc_read_buffer(uv_handle_t* handle, std::size_t, uv_buf_t* buf) {
    auto& state = loop_state(handle->loop);
    if (!state.read_buffer_in_use) {
        state.read_buffer_in_use = true;
        *buf = uv_buf_init(state.read_buffer.data(), static_cast<unsigned>(state.read_buffer.size()));
        return;
    }
    auto* memory = static_cast<char*>(std::malloc(read_buffer_size));
    *buf = uv_buf_init(memory, memory ? static_cast<unsigned>(read_buffer_size) : 0U);
}

void release_read_buffer(uv_loop_t* loop, const uv_buf_t* buf) {
    auto& state = loop_state(loop);
    if (buf->base == state.read_buffer.data()) {
        state.read_buffer_in_use = false;
    } else {
        std::free(buf->base);
    }
}

}  // namespace detail

namespace {

struct SignalBox : detail::HandleBox {
    uv_signal_t signal{};
    std::function<void()> fn;
};

void on_signal_cb(uv_signal_t* signal, int) {
    static_cast<SignalBox*>(static_cast<detail::HandleBox*>(signal->data))->fn();
}

void close_any_handle(uv_handle_t* handle, void*) {
    if (uv_is_closing(handle)) return;
    uv_close(handle, handle->data ? detail::delete_box_on_close : nullptr);
}

}  // namespace

struct EventLoop::Impl {
    detail::LoopState state;
};

EventLoop::EventLoop() : impl_(std::make_unique<Impl>()) {
    uv_loop_t* loop = &impl_->state.loop;
    if (int rc = uv_loop_init(loop); rc != 0) {
        throw std::runtime_error(std::string("uv_loop_init: ") + uv_strerror(rc));
    }
    loop->data = &impl_->state;
    uv_idle_init(loop, &impl_->state.defer_idle);
    impl_->state.defer_idle.data = nullptr;
    uv_async_init(loop, &impl_->state.post_async, detail::run_posted);
    impl_->state.post_async.data = nullptr;
    // Posting is for loops kept alive by other handles; alone it must not keep run() going.
    uv_unref(reinterpret_cast<uv_handle_t*>(&impl_->state.post_async));
}

EventLoop::~EventLoop() {
    uv_loop_t* loop = &impl_->state.loop;
    // Deferred calls may own objects whose destructors close handles: drop
    // them while the loop still accepts closes.
    auto leftovers = std::move(impl_->state.deferred);
    leftovers.clear();
    uv_walk(loop, close_any_handle, nullptr);
    uv_run(loop, UV_RUN_DEFAULT);
    uv_loop_close(loop);
}

void EventLoop::run() { uv_run(&impl_->state.loop, UV_RUN_DEFAULT); }

void EventLoop::stop() { uv_stop(&impl_->state.loop); }

void EventLoop::defer(std::function<void()> fn) { detail::defer_on(&impl_->state.loop, std::move(fn)); }

void EventLoop::post(std::function<void()> fn) {
    {
        const std::lock_guard lock(impl_->state.posted_mutex);
        impl_->state.posted.push_back(std::move(fn));
    }
    uv_async_send(&impl_->state.post_async);
}

void EventLoop::on_signal(int signum, std::function<void()> fn, KeepsRunning keeps_running) {
    auto* box = new SignalBox;
    box->fn = std::move(fn);
    uv_signal_init(&impl_->state.loop, &box->signal);
    box->signal.data = static_cast<detail::HandleBox*>(box);
    uv_signal_start(&box->signal, on_signal_cb, signum);
    if (keeps_running == KeepsRunning::No) uv_unref(reinterpret_cast<uv_handle_t*>(&box->signal));
}

std::size_t EventLoop::open_handles() {
    struct Count {
        const detail::LoopState* state;
        std::size_t open = 0;
    } count{&impl_->state};
    uv_walk(
        &impl_->state.loop,
        [](uv_handle_t* handle, void* arg) {
            auto& c = *static_cast<Count*>(arg);
            const auto* idle = reinterpret_cast<const uv_handle_t*>(&c.state->defer_idle);
            const auto* async = reinterpret_cast<const uv_handle_t*>(&c.state->post_async);
            if (handle == idle || handle == async || uv_is_closing(handle)) return;
            ++c.open;
        },
        &count);
    return count.open;
}

uv_loop_s* EventLoop::raw() { return &impl_->state.loop; }

namespace detail {

struct TimerBox : HandleBox {
    uv_timer_t timer{};
    std::function<void()> fn;
};

}  // namespace detail

namespace {

void on_timer_cb(uv_timer_t* timer) {
    auto& fn = static_cast<detail::TimerBox*>(static_cast<detail::HandleBox*>(timer->data))->fn;
    // Moved out first: the callback may destroy or restart the Timer.
    auto call = std::move(fn);
    fn = nullptr;
    if (call) call();
}

}  // namespace

struct Timer::Handle : detail::TimerBox {};

Timer::Timer(EventLoop& loop) : loop_(loop) {}

Timer::~Timer() { stop(); }

void Timer::start(std::chrono::milliseconds after, std::function<void()> fn) {
    if (!handle_) {
        handle_ = new Handle;
        uv_timer_init(loop_.raw(), &handle_->timer);
        handle_->timer.data = static_cast<detail::HandleBox*>(handle_);
    }
    handle_->fn = std::move(fn);
    uv_timer_start(&handle_->timer, on_timer_cb, static_cast<std::uint64_t>(after.count()), 0);
}

bool Timer::pending() const {
    return handle_ && uv_is_active(reinterpret_cast<const uv_handle_t*>(&handle_->timer)) != 0;
}

void Timer::stop() {
    if (!handle_) return;
    uv_timer_stop(&handle_->timer);
    handle_->fn = nullptr;
    detail::close_and_delete(reinterpret_cast<uv_handle_t*>(&handle_->timer));
    handle_ = nullptr;
}

}  // namespace imapfront::net
