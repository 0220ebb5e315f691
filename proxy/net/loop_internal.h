// What the net adapters share about a loop: the close convention for heap
// handle boxes, the per-loop read buffer and the deferred-call queue.
#pragma once

#include "proxy/net/event_loop.h"

#include <uv.h>

#include <array>
#include <deque>
#include <functional>
#include <mutex>
#include <vector>

namespace imapfront::net::detail {

// Every libuv handle owned by this layer lives in a HandleBox on the heap and
// has handle->data pointing at it, so the box is freed by the close callback
// alone (including when ~EventLoop closes leftovers). Handles whose data is
// null are embedded in longer-lived memory and need no freeing.
struct HandleBox {
    virtual ~HandleBox() = default;
};

// uv_close callback for handles following the HandleBox convention.
void delete_box_on_close(uv_handle_t* handle);

// Closes `handle` (unless already closing) and frees its box afterwards.
void close_and_delete(uv_handle_t* handle);

inline constexpr std::size_t read_buffer_size = 64 * 1024;

struct LoopState {
    uv_loop_t loop{};
    uv_idle_t defer_idle{};
    std::deque<std::function<void()>> deferred;
    // Calls posted from other threads, handed over under the mutex.
    uv_async_t post_async{};
    std::mutex posted_mutex;
    std::vector<std::function<void()>> posted;
    // Reads are consumed synchronously inside the read callback, so one
    // buffer per loop serves every stream; the flag guards against reentry.
    std::array<char, read_buffer_size> read_buffer{};
    bool read_buffer_in_use = false;
};

LoopState& loop_state(uv_loop_t* loop);

// Queues `fn` to run on the next loop iteration.
void defer_on(uv_loop_t* loop, std::function<void()> fn);

// Buffer allocation for uv_read_start and the matching release.
void alloc_read_buffer(uv_handle_t* handle, std::size_t suggested, uv_buf_t* buf);
void release_read_buffer(uv_loop_t* loop, const uv_buf_t* buf);

}  // namespace imapfront::net::detail
