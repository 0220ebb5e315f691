#pragma once

#include <cstdint>
#include <string>

namespace loadgen {

struct Options {
    std::string scenario;
    std::string target = "unnamed";  // label copied into every RESULT line
    std::string host = "127.0.0.1";
    std::uint16_t port = 0;
    bool tls = false;
    bool resume = false;                     // offer TLS session tickets (logins)
    std::string user = "user%d@bench.test";  // %d takes the session number, 1-based
    std::string password = "pw";
    std::string other_user;  // selecta: the identity to switch to
    int users = 50;          // distinct accounts sessions cycle over
    int count = 2000;        // commands (latency), fetches (throughput), rounds (selecta)
    int sessions = 50;       // mixed, idle
    int concurrency = 16;    // logins; connects in flight while idle sessions ramp up
    double duration = 10.0;  // seconds, mixed and logins
    double hold = 600.0;     // idle: longest wait for stdin to close
    int processes = 1;       // idle: processes sharing the sessions, each within its own descriptor limit
    int first_session = 1;   // idle: number of this process's first session (each child of --processes has its own)
    std::string command = "noop";  // latency: noop | fetch
};

// Parses --name value pairs; prints usage and exits on an error.
Options parse_options(int argc, char** argv);

// The account name of session number `index` (1-based).
std::string user_name(const Options& options, int index);

}  // namespace loadgen
