#include "proxy/admin/shared_metrics.h"

#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <new>
#include <stdexcept>
#include <string>
#include <type_traits>

namespace imapfront::admin {
namespace {

// The mapping starts with this header; the slots follow at an aligned offset.
struct Layout {
    std::size_t slots = 0;
    pid_t creator = 0;
};

}  // namespace

struct SharedMetrics::Slot {
    std::atomic<bool> serving{false};
    Metrics metrics;
};

namespace {

static_assert(std::is_trivially_destructible_v<Metrics>, "slots are never destroyed, only unmapped");
constexpr std::size_t slot_align = alignof(std::max_align_t) > 64 ? alignof(std::max_align_t) : 64;
constexpr std::size_t header_bytes = (sizeof(Layout) + slot_align - 1) / slot_align * slot_align;
constexpr std::size_t slot_bytes = (sizeof(SharedMetrics::Slot) + slot_align - 1) / slot_align * slot_align;

std::size_t bytes_for(std::size_t slots) { return header_bytes + slots * slot_bytes; }

std::runtime_error system_error(const char* what) {
    return std::runtime_error(std::string("shared metrics: ") + what + ": " + std::strerror(errno));
}

void* map(int fd, std::size_t bytes) {
    void* base = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (base == MAP_FAILED) throw system_error("mmap");
    return base;
}

}  // namespace

SharedMetrics SharedMetrics::create(std::size_t workers) {
    const std::size_t slots = workers + 1;  // the supervisor's first
    // Not close-on-exec: the workers started from this process inherit it.
    const int fd = memfd_create("imapfront-metrics", 0);
    if (fd < 0) throw system_error("memfd_create");
    const std::size_t bytes = bytes_for(slots);
    if (ftruncate(fd, static_cast<off_t>(bytes)) != 0) {
        const auto error = system_error("ftruncate");
        close(fd);
        throw error;
    }
    void* base = nullptr;
    try {
        base = map(fd, bytes);
    } catch (...) {
        close(fd);
        throw;
    }
    new (base) Layout{slots, getpid()};
    auto* first = reinterpret_cast<std::byte*>(base) + header_bytes;
    for (std::size_t i = 0; i < slots; ++i) new (first + i * slot_bytes) Slot;
    return SharedMetrics(fd, base, bytes, slots);
}

SharedMetrics SharedMetrics::attach(int fd) {
    struct stat info {};
    if (fstat(fd, &info) != 0) throw system_error("fstat");
    const auto bytes = static_cast<std::size_t>(info.st_size);
    if (bytes < header_bytes) throw std::runtime_error("shared metrics: descriptor is not a metrics mapping");
    void* base = map(fd, bytes);
    const std::size_t slots = static_cast<const Layout*>(base)->slots;
    if (bytes_for(slots) != bytes) {
        munmap(base, bytes);
        throw std::runtime_error("shared metrics: descriptor is not a metrics mapping");
    }
    return SharedMetrics(fd, base, bytes, slots);
}

SharedMetrics::SharedMetrics(int fd, void* base, std::size_t bytes, std::size_t slots)
    : fd_(fd),
      base_(base),
      bytes_(bytes),
      slots_(slots) {}

SharedMetrics::SharedMetrics(SharedMetrics&& other) noexcept
    : fd_(other.fd_),
      base_(other.base_),
      bytes_(other.bytes_),
      slots_(other.slots_) {
    other.fd_ = -1;
    other.base_ = nullptr;
}

SharedMetrics::~SharedMetrics() {
    if (base_ != nullptr) munmap(base_, bytes_);
    if (fd_ >= 0) close(fd_);
}

SharedMetrics::Slot* SharedMetrics::at(std::size_t index) const {
    if (index >= slots_) throw std::out_of_range("shared metrics: no slot " + std::to_string(index));
    return std::launder(reinterpret_cast<Slot*>(static_cast<std::byte*>(base_) + header_bytes + index * slot_bytes));
}

int SharedMetrics::creator_pid() const { return static_cast<const Layout*>(base_)->creator; }

Metrics& SharedMetrics::supervisor() { return at(0)->metrics; }

Metrics& SharedMetrics::worker(std::size_t index) { return at(index + 1)->metrics; }

std::vector<const Metrics*> SharedMetrics::all() const {
    std::vector<const Metrics*> parts;
    for (std::size_t i = 0; i < slots_; ++i) parts.push_back(&at(i)->metrics);
    return parts;
}

void SharedMetrics::set_serving(std::size_t worker, bool serving) {
    at(worker + 1)->serving.store(serving, std::memory_order_release);
}

bool SharedMetrics::serving(std::size_t worker) const {
    return at(worker + 1)->serving.load(std::memory_order_acquire);
}

}  // namespace imapfront::admin
