// selecta (imapfront only): fresh connect + LOGIN, against the first SELECTA
// (imapfront connects and logs in with master credentials) and SELECTA to a
// link already open, with a NOOP round trip as the yardstick.
#include "report.h"
#include "scenarios.h"
#include "sync_steps.h"

#include <cstdio>

#include <vector>

namespace loadgen {

namespace {

double micros_since(Clock::time_point start) {
    return std::chrono::duration<double, std::micro>(Clock::now() - start).count();
}

}  // namespace

int run_selecta(const Options& options) {
    if (options.other_user.empty()) {
        return report_failure(options, "--other-user is required");
    }
    EventLoop loop;
    TlsClient tls(false);
    std::vector<double> fresh, first, open_link, noop;
    std::string error;
    const std::string self = user_name(options, 1);
    for (int round = 0; round < options.count; ++round) {
        ImapConnection connection(loop);
        auto start = Clock::now();
        if (!open_sync(loop, connection, make_endpoint(options, &tls), error) ||
            !command_sync(loop, connection, login_command(self, options.password), error)) {
            return report_failure(options, error);
        }
        fresh.push_back(micros_since(start));
        start = Clock::now();
        if (!command_sync(loop, connection, "NOOP", error)) {
            return report_failure(options, error);
        }
        noop.push_back(micros_since(start));
        start = Clock::now();
        if (!command_sync(loop, connection, "SELECTA \"" + options.other_user + "\"", error)) {
            return report_failure(options, error);
        }
        first.push_back(micros_since(start));
        for (const auto& identity : {self, options.other_user}) {
            start = Clock::now();
            if (!command_sync(loop, connection, "SELECTA \"" + identity + "\"", error)) {
                return report_failure(options, error);
            }
            open_link.push_back(micros_since(start));
        }
        command_sync(loop, connection, "LOGOUT", error);
    }
    char fields[300];
    std::snprintf(fields, sizeof fields,
                  "rounds=%d noop_us=%.1f open_selecta_us=%.1f first_selecta_us=%.1f fresh_login_us=%.1f",
                  options.count, percentile(noop, 0.5), percentile(open_link, 0.5), percentile(first, 0.5),
                  percentile(fresh, 0.5));
    print_result(options, fields);
    return 0;
}

}  // namespace loadgen
