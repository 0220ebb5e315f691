// latency: one logged-in connection, sequential NOOPs or FETCH 1 FLAGS.
#include "report.h"
#include "scenarios.h"
#include "sync_steps.h"

#include <cstdio>

#include <vector>

namespace loadgen {

int run_latency(const Options& options) {
    EventLoop loop;
    TlsClient tls(false);
    ImapConnection connection(loop);
    std::string error;
    if (!open_sync(loop, connection, make_endpoint(options, &tls), error) ||
        !command_sync(loop, connection, login_command(user_name(options, 1), options.password), error) ||
        !command_sync(loop, connection, "SELECT INBOX", error)) {
        return report_failure(options, error);
    }
    const std::string text = options.command == "fetch" ? "FETCH 1 FLAGS" : "NOOP";
    std::vector<double> samples;
    samples.reserve(static_cast<std::size_t>(options.count));
    for (int i = 0; i < options.count; ++i) {
        auto start = Clock::now();
        if (!command_sync(loop, connection, text, error)) {
            return report_failure(options, error);
        }
        samples.push_back(std::chrono::duration<double, std::micro>(Clock::now() - start).count());
    }
    command_sync(loop, connection, "LOGOUT", error);
    double median = percentile(samples, 0.5);
    double p99 = percentile(samples, 0.99);
    char fields[200];
    std::snprintf(fields, sizeof fields, "command=%s count=%d median_us=%.1f p99_us=%.1f", options.command.c_str(),
                  options.count, median, p99);
    print_result(options, fields);
    return 0;
}

}  // namespace loadgen
