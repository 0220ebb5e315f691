// throughput: FETCH BODY.PEEK[] of one big message, repeated on one connection.
#include "report.h"
#include "scenarios.h"
#include "sync_steps.h"

#include <cstdio>

namespace loadgen {

int run_throughput(const Options& options) {
    EventLoop loop;
    TlsClient tls(false);
    ImapConnection connection(loop);
    std::string error;
    // One unmeasured fetch first, so every target reads from a warm page cache.
    if (!open_sync(loop, connection, make_endpoint(options, &tls), error) ||
        !command_sync(loop, connection, login_command(user_name(options, 1), options.password), error) ||
        !command_sync(loop, connection, "SELECT INBOX", error) ||
        !command_sync(loop, connection, "FETCH 1 BODY.PEEK[]", error)) {
        return report_failure(options, error);
    }
    auto bytes_before = connection.literal_bytes();
    auto start = Clock::now();
    for (int i = 0; i < options.count; ++i) {
        if (!command_sync(loop, connection, "FETCH 1 BODY.PEEK[]", error)) {
            return report_failure(options, error);
        }
    }
    double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    auto bytes = connection.literal_bytes() - bytes_before;
    command_sync(loop, connection, "LOGOUT", error);
    double mib = static_cast<double>(bytes) / (1024.0 * 1024.0);
    char fields[200];
    std::snprintf(fields, sizeof fields, "fetches=%d mib=%.2f seconds=%.3f mib_s=%.1f", options.count, mib, seconds,
                  mib / seconds);
    print_result(options, fields);
    return 0;
}

}  // namespace loadgen
