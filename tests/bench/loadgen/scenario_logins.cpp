// logins: `concurrency` workers each loop connect, LOGIN, LOGOUT, close for a
// fixed time; completed logins per second.
#include "report.h"
#include "scenarios.h"
#include "sync_steps.h"

#include <cstdio>
#include <memory>
#include <vector>

namespace loadgen {

int run_logins(const Options& options) {
    EventLoop loop;
    TlsClient tls(options.resume);
    const Endpoint endpoint = make_endpoint(options, &tls);
    std::vector<std::unique_ptr<ImapConnection>> workers;
    std::uint64_t logins = 0;
    std::uint64_t failures = 0;
    std::uint64_t started = 0;
    bool stopping = false;
    std::string last_error;

    std::function<void(ImapConnection&)> cycle = [&](ImapConnection& connection) {
        if (stopping) {
            return;
        }
        auto again = [&, c = &connection] {
            c->close();
            loop.post([&, c] { cycle(*c); });
        };
        const std::string login = login_command(user_name(options, static_cast<int>(++started)), options.password);
        connection.open(
            endpoint,
            [&, c = &connection, login, again](bool) {
                c->command(login, [&, c, again](bool ok) {
                    if (!ok) {
                        ++failures;
                        last_error = "login refused";
                        again();
                        return;
                    }
                    c->command("LOGOUT", [&, again](bool) {
                        ++logins;
                        again();
                    });
                });
            },
            [&, again](const std::string& why) {
                ++failures;
                last_error = why;
                again();
            });
    };

    for (int i = 0; i < options.concurrency; ++i) {
        workers.push_back(std::make_unique<ImapConnection>(loop));
        cycle(*workers.back());
    }
    auto start = Clock::now();
    auto end = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(options.duration));
    loop.run_until([] { return false; }, end);
    stopping = true;
    double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    if (logins == 0) {
        return report_failure(options, "no login completed: " + last_error);
    }
    double resumed_pct =
        tls.offers() == 0 ? 0.0 : 100.0 * static_cast<double>(tls.resumed()) / static_cast<double>(tls.offers());
    char fields[300];
    std::snprintf(fields, sizeof fields,
                  "concurrency=%d seconds=%.2f logins=%llu logins_s=%.1f errors=%llu resume=%d offers=%llu "
                  "resumed_pct=%.1f",
                  options.concurrency, seconds, static_cast<unsigned long long>(logins),
                  static_cast<double>(logins) / seconds, static_cast<unsigned long long>(failures),
                  options.resume ? 1 : 0, static_cast<unsigned long long>(tls.offers()), resumed_pct);
    print_result(options, fields);
    return 0;
}

}  // namespace loadgen
