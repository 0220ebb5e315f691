#include "options.h"

#include <cstdio>
#include <cstdlib>
#include <stdexcept>

namespace loadgen {

namespace {

[[noreturn]] void usage(const std::string& problem) {
    std::fprintf(stderr,
                 "imapfront_loadgen: %s\n"
                 "usage: imapfront_loadgen --scenario latency|throughput|mixed|logins|idle|selecta\n"
                 "  --port N [--host ADDR] [--tls] [--resume] [--target LABEL]\n"
                 "  [--user FORMAT(%%d)] [--password PW] [--users N] [--other-user NAME]\n"
                 "  [--count N] [--sessions N] [--concurrency N] [--duration SEC] [--hold SEC]\n"
                 "  [--processes N (idle)] [--command noop|fetch]\n",
                 problem.c_str());
    std::exit(2);
}

int to_int(const std::string& value) {
    try {
        return std::stoi(value);
    } catch (const std::exception&) {
        usage("not a number: " + value);
    }
}

double to_double(const std::string& value) {
    try {
        return std::stod(value);
    } catch (const std::exception&) {
        usage("not a number: " + value);
    }
}

}  // namespace

Options parse_options(int argc, char** argv) {
    Options options;
    for (int i = 1; i < argc; ++i) {
        std::string name = argv[i];
        if (name == "--tls") {
            options.tls = true;
            continue;
        }
        if (name == "--resume") {
            options.resume = true;
            continue;
        }
        if (i + 1 >= argc) {
            usage("missing value for " + name);
        }
        std::string value = argv[++i];
        if (name == "--scenario")
            options.scenario = value;
        else if (name == "--target")
            options.target = value;
        else if (name == "--host")
            options.host = value;
        else if (name == "--port")
            options.port = static_cast<std::uint16_t>(to_int(value));
        else if (name == "--user")
            options.user = value;
        else if (name == "--password")
            options.password = value;
        else if (name == "--other-user")
            options.other_user = value;
        else if (name == "--users")
            options.users = to_int(value);
        else if (name == "--count")
            options.count = to_int(value);
        else if (name == "--sessions")
            options.sessions = to_int(value);
        else if (name == "--concurrency")
            options.concurrency = to_int(value);
        else if (name == "--duration")
            options.duration = to_double(value);
        else if (name == "--hold")
            options.hold = to_double(value);
        else if (name == "--processes")
            options.processes = to_int(value);
        else if (name == "--command")
            options.command = value;
        else
            usage("unknown option " + name);
    }
    if (options.scenario.empty() || options.port == 0) {
        usage("--scenario and --port are required");
    }
    if (options.users < 1 || options.count < 1 || options.sessions < 1 || options.concurrency < 1 ||
        options.processes < 1) {
        usage("counts must be positive");
    }
    if (options.processes > 1 && options.scenario != "idle") {
        usage("--processes applies to the idle scenario only");
    }
    if (options.processes > options.sessions) {
        usage("--processes cannot exceed --sessions");
    }
    return options;
}

std::string user_name(const Options& options, int index) {
    std::string name = options.user;
    auto at = name.find("%d");
    if (at != std::string::npos) {
        name.replace(at, 2, std::to_string((index - 1) % options.users + 1));
    }
    return name;
}

}  // namespace loadgen
