#include "proxy/process/cpu_budget.h"

#include "proxy/session/config_reloader.h"

#include <sched.h>

#include <algorithm>
#include <charconv>
#include <sstream>
#include <string>
#include <thread>

namespace imapfront::process {
namespace {

std::string_view trimmed(std::string_view text) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t' || text.front() == '\n'))
        text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\n')) text.remove_suffix(1);
    return text;
}

std::optional<long long> number(std::string_view text) {
    text = trimmed(text);
    long long value = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc{} || end != text.data() + text.size()) return std::nullopt;
    return value;
}

std::optional<unsigned> cpus_for(long long quota, long long period) {
    if (quota <= 0 || period <= 0) return std::nullopt;
    const long long cpus = (quota + period - 1) / period;
    return static_cast<unsigned>(std::clamp<long long>(cpus, 1, 4096));
}

// The path of this process's cgroup: in the v2 hierarchy when `controller`
// is empty, else in the v1 hierarchy whose controller list names it.
std::optional<std::string> own_cgroup(std::string_view controller) {
    const auto text = session::read_file("/proc/self/cgroup");
    if (!text) return std::nullopt;
    const std::string wanted = "," + std::string(controller) + ",";
    std::istringstream lines(*text);
    std::string line;
    while (std::getline(lines, line)) {
        // hierarchy-id:controller-list:path; the v2 line is "0::path".
        const auto first = line.find(':');
        if (first == std::string::npos) continue;
        const auto second = line.find(':', first + 1);
        if (second == std::string::npos) continue;
        const bool found = controller.empty() ? line.compare(0, second + 1, "0::") == 0
                                              : ("," + line.substr(first + 1, second - first - 1) + ",").find(wanted) !=
                                                    std::string::npos;
        if (found) return line.substr(second + 1);
    }
    return std::nullopt;
}

}  // namespace

std::optional<unsigned> cpus_from_cpu_max(std::string_view cpu_max) {
    cpu_max = trimmed(cpu_max);
    const auto space = cpu_max.find(' ');
    if (space == std::string_view::npos) return std::nullopt;
    const auto quota = number(cpu_max.substr(0, space));
    const auto period = number(cpu_max.substr(space + 1));
    if (!quota || !period) return std::nullopt;
    return cpus_for(*quota, *period);
}

std::optional<unsigned> cpus_from_cfs(std::string_view quota, std::string_view period) {
    const auto quota_us = number(quota);
    const auto period_us = number(period);
    if (!quota_us || !period_us) return std::nullopt;
    return cpus_for(*quota_us, *period_us);
}

std::optional<unsigned> cgroup_cpu_limit() {
    if (const auto path = own_cgroup("")) {
        const auto cpu_max = session::read_file("/sys/fs/cgroup" + *path + "/cpu.max");
        if (cpu_max) return cpus_from_cpu_max(*cpu_max);
    }
    if (const auto path = own_cgroup("cpu")) {
        for (const char* mount : {"/sys/fs/cgroup/cpu", "/sys/fs/cgroup/cpu,cpuacct"}) {
            const std::string folder = mount + *path;
            const auto quota = session::read_file(folder + "/cpu.cfs_quota_us");
            const auto period = session::read_file(folder + "/cpu.cfs_period_us");
            if (quota && period) return cpus_from_cfs(*quota, *period);
        }
    }
    return std::nullopt;
}

unsigned usable_cpus() {
    unsigned cpus = std::max(1u, std::thread::hardware_concurrency());
    cpu_set_t mask;
    CPU_ZERO(&mask);
    if (sched_getaffinity(0, sizeof mask, &mask) == 0) cpus = static_cast<unsigned>(std::max(1, CPU_COUNT(&mask)));
    if (const auto limit = cgroup_cpu_limit()) cpus = std::min(cpus, *limit);
    return cpus;
}

}  // namespace imapfront::process
