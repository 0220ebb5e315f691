// imapfront_loadgen: the client side of tests/bench. See tests/bench/README.md.
#include "options.h"
#include "scenarios.h"

#include <csignal>
#include <cstdio>
#include <exception>

int main(int argc, char** argv) {
    std::signal(SIGPIPE, SIG_IGN);
    loadgen::Options options = loadgen::parse_options(argc, argv);
    try {
        if (options.scenario == "latency") return loadgen::run_latency(options);
        if (options.scenario == "throughput") return loadgen::run_throughput(options);
        if (options.scenario == "mixed") return loadgen::run_mixed(options);
        if (options.scenario == "logins") return loadgen::run_logins(options);
        if (options.scenario == "idle") return loadgen::run_idle(options);
        if (options.scenario == "selecta") return loadgen::run_selecta(options);
    } catch (const std::exception& error) {
        std::fprintf(stderr, "imapfront_loadgen: %s\n", error.what());
        return 1;
    }
    std::fprintf(stderr, "imapfront_loadgen: unknown scenario %s\n", options.scenario.c_str());
    return 2;
}
