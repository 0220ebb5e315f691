// How many CPUs this process may really use: the CPUs its affinity mask
// allows, cut down by a CPU quota of its cgroup (a container's CPU limit).
// std::thread::hardware_concurrency() counts the machine's CPUs, so a sidecar
// limited to one CPU on a 64-core node would otherwise run 64 loops.
#pragma once

#include <optional>
#include <string_view>

namespace imapfront::process {

// The CPUs a cgroup v2 `cpu.max` ("QUOTA PERIOD" or "max PERIOD") allows,
// rounded up; nullopt when unlimited or not understood.
std::optional<unsigned> cpus_from_cpu_max(std::string_view cpu_max);

// The same for cgroup v1's cpu.cfs_quota_us (-1: unlimited) and cpu.cfs_period_us.
std::optional<unsigned> cpus_from_cfs(std::string_view quota, std::string_view period);

// The CPU quota of this process's own cgroup (v2, else v1), if it has one.
std::optional<unsigned> cgroup_cpu_limit();

// At least 1: the affinity mask's CPU count, no more than the cgroup quota.
unsigned usable_cpus();

}  // namespace imapfront::process
