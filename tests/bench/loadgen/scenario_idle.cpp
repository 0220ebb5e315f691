// idle: `sessions` connections logged in and IDLEing. Once all are idle it
// prints the RESULT line and "READY", then holds them until stdin closes
// (the runner reads the proxy's memory meanwhile) or --hold seconds pass.
// With --processes N the sessions are shared by N processes (idle_processes.cpp).
#include "scenario_idle.h"

#include "report.h"
#include "scenarios.h"
#include "sync_steps.h"

#include <poll.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <vector>

namespace loadgen {

namespace {

constexpr auto kSetupLimit = std::chrono::seconds(900);
// A target that stops accepting (a full accept queue, a listener paused at
// its connection limit) leaves connects pending without an error: after this
// long with no session finishing its setup, the ones left count as errors.
constexpr auto kStallLimit = std::chrono::seconds(60);

}  // namespace

void wait_for_stdin_close(double hold_seconds) {
    auto deadline =
        Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(hold_seconds));
    char buffer[256];
    while (Clock::now() < deadline) {
        pollfd input{STDIN_FILENO, POLLIN, 0};
        if (poll(&input, 1, 200) > 0 && read(STDIN_FILENO, buffer, sizeof buffer) <= 0) {
            return;
        }
    }
}

int hold_idle_sessions(const Options& options) {
    EventLoop loop;
    TlsClient tls(false);
    const Endpoint endpoint = make_endpoint(options, &tls);
    std::vector<std::unique_ptr<ImapConnection>> sessions;
    int launched = 0;
    int in_flight = 0;
    int idling = 0;
    int failed = 0;
    std::string last_error;
    auto last_progress = Clock::now();

    std::function<void()> launch_more;
    auto finished_setup = [&](bool ok, const std::string& why) {
        --in_flight;
        last_progress = Clock::now();
        if (ok) {
            ++idling;
        } else {
            ++failed;
            last_error = why;
        }
        loop.post([&] { launch_more(); });
    };
    launch_more = [&] {
        while (in_flight < options.concurrency && launched < options.sessions) {
            ++launched;
            ++in_flight;
            sessions.push_back(std::make_unique<ImapConnection>(loop));
            ImapConnection* c = sessions.back().get();
            const std::string login =
                login_command(user_name(options, options.first_session + launched - 1), options.password);
            c->open(
                endpoint,
                [&, c, login](bool) {
                    c->command(login, [&, c](bool ok) {
                        if (!ok) {
                            finished_setup(false, "login refused");
                            return;
                        }
                        c->command("SELECT INBOX", [&, c](bool) {
                            c->on_continuation([&] { finished_setup(true, ""); });
                            c->command("IDLE", [&](bool) { finished_setup(false, "IDLE ended early"); });
                        });
                    });
                },
                [&](const std::string& why) { finished_setup(false, why); });
        }
    };
    auto start = Clock::now();
    launch_more();
    loop.run_until([&] { return idling + failed >= options.sessions || Clock::now() - last_progress > kStallLimit; },
                   start + kSetupLimit);
    double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    if (idling + failed < options.sessions && last_error.empty()) {
        last_error = "setup stalled";
    }
    if (idling == 0) {
        return report_failure(options, "no session reached IDLE: " + last_error);
    }
    // errors: every session asked for that is not idling, the stalled ones included.
    char fields[400];
    std::snprintf(fields, sizeof fields, "sessions=%d idling=%d errors=%d setup_seconds=%.2f%s%s", options.sessions,
                  idling, options.sessions - idling, seconds,
                  last_error.empty() ? "" : " last_error=", error_field(last_error).c_str());
    print_result(options, fields);
    std::printf("READY\n");
    std::fflush(stdout);
    wait_for_stdin_close(options.hold);
    return 0;
}

int run_idle(const Options& options) {
    return options.processes > 1 ? run_idle_processes(options) : hold_idle_sessions(options);
}

}  // namespace loadgen
