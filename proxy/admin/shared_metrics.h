// SharedMetrics: one Metrics per process of a supervisor and its workers, in
// one mapping of an anonymous memory file. The supervisor creates it and
// hands the file to each worker as a descriptor; each worker counts into its
// own part and the supervisor's admin endpoint renders the sum. A worker that
// dies leaves its counters behind for its successor. Each worker's part also
// says whether it is serving (listeners open), for the supervisor's /readyz.
#pragma once

#include "proxy/admin/metrics.h"

#include <cstddef>
#include <vector>

namespace imapfront::admin {

class SharedMetrics {
public:
    struct Slot;  // one process's part of the mapping

    // A new mapping with fresh Metrics for a supervisor and `workers`
    // workers. Throws std::runtime_error.
    static SharedMetrics create(std::size_t workers);
    // The mapping behind a descriptor from create(); takes ownership of `fd`.
    // Throws std::runtime_error when `fd` is not such a mapping.
    static SharedMetrics attach(int fd);

    ~SharedMetrics();
    SharedMetrics(SharedMetrics&& other) noexcept;
    SharedMetrics& operator=(SharedMetrics&&) = delete;
    SharedMetrics(const SharedMetrics&) = delete;
    SharedMetrics& operator=(const SharedMetrics&) = delete;

    int fd() const { return fd_; }
    // The process that created the mapping: a worker's supervisor.
    int creator_pid() const;
    Metrics& supervisor();
    // Workers are numbered from 0, as on their --worker argument.
    Metrics& worker(std::size_t index);
    std::vector<const Metrics*> all() const;
    void set_serving(std::size_t worker, bool serving);
    bool serving(std::size_t worker) const;

private:
    SharedMetrics(int fd, void* base, std::size_t bytes, std::size_t slots);
    Slot* at(std::size_t index) const;

    int fd_ = -1;
    void* base_ = nullptr;
    std::size_t bytes_ = 0;
    std::size_t slots_ = 0;
};

}  // namespace imapfront::admin
