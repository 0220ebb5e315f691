// mixed: many logged-in sessions, each running NOOP / FETCH / SELECT in turn
// for a fixed time; commands completed per second once all are logged in.
#include "report.h"
#include "scenarios.h"
#include "sync_steps.h"

#include <array>
#include <cstdio>
#include <memory>
#include <vector>

namespace loadgen {

namespace {

const std::array<const char*, 4> kCycle = {"NOOP", "FETCH 1:* (FLAGS UID)", "FETCH 1 BODY.PEEK[]", "SELECT INBOX"};

struct MixedSession {
    explicit MixedSession(EventLoop& loop) : connection(loop) {}
    ImapConnection connection;
    std::size_t step = 0;
};

}  // namespace

int run_mixed(const Options& options) {
    EventLoop loop;
    TlsClient tls(false);
    const Endpoint endpoint = make_endpoint(options, &tls);
    std::vector<std::unique_ptr<MixedSession>> sessions;
    int ready = 0;
    int failed = 0;
    bool counting = false;
    bool stopping = false;
    std::uint64_t completed = 0;
    std::string last_error;

    std::function<void(MixedSession&)> next = [&](MixedSession& session) {
        if (stopping) {
            return;
        }
        session.connection.command(kCycle[session.step % kCycle.size()], [&, s = &session](bool ok) {
            if (!ok) {
                ++failed;
                last_error = "command refused";
            }
            if (counting) {
                ++completed;
            }
            ++s->step;
            next(*s);
        });
    };

    for (int i = 1; i <= options.sessions; ++i) {
        sessions.push_back(std::make_unique<MixedSession>(loop));
        MixedSession* session = sessions.back().get();
        const std::string login = login_command(user_name(options, i), options.password);
        session->connection.open(
            endpoint,
            [&, session, login](bool) {
                session->connection.command(login, [&, session](bool ok) {
                    if (!ok) {
                        ++failed;
                        last_error = "login refused";
                        return;
                    }
                    session->connection.command("SELECT INBOX", [&, session](bool) {
                        ++ready;
                        next(*session);
                    });
                });
            },
            [&](const std::string& why) {
                ++failed;
                last_error = why;
            });
    }
    const auto setup_deadline = Clock::now() + std::chrono::seconds(120);
    loop.run_until([&] { return ready + failed >= options.sessions; }, setup_deadline);
    if (ready < options.sessions) {
        return report_failure(options, "only " + std::to_string(ready) + " sessions ready: " + last_error);
    }
    counting = true;
    auto start = Clock::now();
    auto end = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(options.duration));
    loop.run_until([] { return false; }, end);
    counting = false;
    stopping = true;
    double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    char fields[200];
    std::snprintf(fields, sizeof fields, "sessions=%d seconds=%.2f commands=%llu cmds_s=%.0f errors=%d",
                  options.sessions, seconds, static_cast<unsigned long long>(completed),
                  static_cast<double>(completed) / seconds, failed);
    print_result(options, fields);
    return 0;
}

}  // namespace loadgen
