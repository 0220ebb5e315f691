#include "proxy/process/cpu_budget.h"

#include <catch2/catch.hpp>

#include <sched.h>

#include <cstddef>

using namespace imapfront::process;

TEST_CASE("cgroup v2 cpu.max: a quota is whole CPUs rounded up, max is no limit", "[process][cpu]") {
    CHECK(cpus_from_cpu_max("max 100000\n") == std::nullopt);
    CHECK(cpus_from_cpu_max("100000 100000\n") == 1u);
    CHECK(cpus_from_cpu_max("50000 100000") == 1u);
    CHECK(cpus_from_cpu_max("150000 100000") == 2u);
    CHECK(cpus_from_cpu_max("400000 100000\n") == 4u);
}

TEST_CASE("cgroup v1 CFS files: -1 is no limit, a quota is whole CPUs rounded up", "[process][cpu]") {
    CHECK(cpus_from_cfs("-1\n", "100000\n") == std::nullopt);
    CHECK(cpus_from_cfs("250000\n", "100000\n") == 3u);
    CHECK(cpus_from_cfs("20000", "100000") == 1u);
}

TEST_CASE("quota text that is not understood is no limit", "[process][cpu]") {
    for (const char* text : {"", "max", "100000", "abc 100000", "100000 0", "0 100000", "-5 100000", "1e5 1e5"}) {
        CAPTURE(text);
        CHECK(cpus_from_cpu_max(text) == std::nullopt);
    }
    CHECK(cpus_from_cfs("", "100000") == std::nullopt);
    CHECK(cpus_from_cfs("100000", "x") == std::nullopt);
}

TEST_CASE("usable CPUs follow the affinity mask", "[process][cpu]") {
    cpu_set_t saved;
    REQUIRE(sched_getaffinity(0, sizeof saved, &saved) == 0);
    const unsigned all = usable_cpus();
    CHECK(all >= 1);
    CHECK(all <= static_cast<unsigned>(CPU_COUNT(&saved)));

    cpu_set_t one;
    CPU_ZERO(&one);
    for (std::size_t cpu = 0; cpu < static_cast<std::size_t>(CPU_SETSIZE); ++cpu) {
        if (CPU_ISSET(cpu, &saved)) {
            CPU_SET(cpu, &one);
            break;
        }
    }
    REQUIRE(sched_setaffinity(0, sizeof one, &one) == 0);
    const unsigned pinned = usable_cpus();
    REQUIRE(sched_setaffinity(0, sizeof saved, &saved) == 0);
    CHECK(pinned == 1);
}
