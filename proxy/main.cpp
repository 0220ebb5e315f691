// imapfront command line: `imapfront --config FILE` runs the proxy,
// `imapfront check FILE` validates a routing YAML file, `imapfront --version`
// prints the version CMake's project() gives.
#include "config/config.h"
#include "proxy/process/cpu_budget.h"
#include "proxy/process/process_setup.h"
#include "proxy/process/proxy_process.h"
#include "proxy/process/supervisor.h"
#include "proxy/session/snapshot.h"

#include <algorithm>
#include <cstdio>
#include <exception>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace {

using namespace imapfront;

constexpr std::string_view usage =
    "usage: imapfront --config FILE [--threads N] [--workers M]\n"
    "           run the proxy: N data-plane threads (default one per CPU it may use:\n"
    "           its affinity mask, within a cgroup CPU limit) in each of\n"
    "           M worker processes (default 1: no separate workers)\n"
    "       imapfront check FILE        validate a routing YAML file and exit\n"
    "       imapfront --version         print the version and exit\n";

int check(const std::string& path) {
    const config::LoadResult result = config::load_file(path);
    if (!result.errors.empty()) return process::print_errors(result);
    try {
        session::make_snapshot(result.config);
    } catch (const std::exception& error) {
        std::fprintf(stderr, "%s: %s\n", path.c_str(), error.what());
        return 1;
    }
    std::printf("%s: OK\n", path.c_str());
    return 0;
}

constexpr unsigned max_threads = 256;

struct RunArguments {
    std::string config_path;
    unsigned threads = std::min(process::usable_cpus(), max_threads);
    unsigned workers = 1;
    std::optional<unsigned> worker;  // set in the processes a supervisor starts
};

std::optional<unsigned> count_in(const std::string& text, unsigned lowest, unsigned highest) {
    if (text.empty() || text.size() > 5 ||
        !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        return std::nullopt;
    }
    const auto value = static_cast<unsigned>(std::stoul(text));
    if (value < lowest || value > highest) return std::nullopt;
    return value;
}

std::optional<RunArguments> parse_run(const std::vector<std::string>& args) {
    RunArguments run;
    bool has_config = false;
    for (std::size_t i = 0; i + 1 < args.size(); i += 2) {
        const std::string& name = args[i];
        const std::string& value = args[i + 1];
        std::optional<unsigned> number;
        if (name == "--config") {
            run.config_path = value;
            has_config = true;
            continue;
        }
        if (name == "--threads" && (number = count_in(value, 1, max_threads))) {
            run.threads = *number;
        } else if (name == "--workers" && (number = count_in(value, 1, 64))) {
            run.workers = *number;
        } else if (name == "--worker" && (number = count_in(value, 0, 63))) {
            run.worker = *number;
        } else {
            return std::nullopt;
        }
    }
    if (args.size() % 2 != 0 || !has_config) return std::nullopt;
    return run;
}

int run(const RunArguments& arguments) {
    if (arguments.worker) {
        return process::run_proxy({arguments.config_path, arguments.threads, process::WorkerRole{*arguments.worker}});
    }
    if (arguments.workers > 1)
        return process::run_supervisor(arguments.config_path, arguments.threads, arguments.workers);
    return process::run_proxy({arguments.config_path, arguments.threads, std::nullopt});
}

}  // namespace

int main(int argc, char** argv) {
    const std::vector<std::string> args(argv + 1, argv + argc);
    if (args.size() == 2 && args[0] == "check") return check(args[1]);
    if (args.size() == 1 && args[0] == "--version") {
        std::printf("imapfront %s\n", IMAPFRONT_VERSION);
        return 0;
    }
    if (args.size() == 1 && (args[0] == "--help" || args[0] == "-h")) {
        std::fputs(usage.data(), stdout);
        return 0;
    }
    if (const auto arguments = parse_run(args)) return run(*arguments);
    std::fputs(usage.data(), stderr);
    return 2;
}
