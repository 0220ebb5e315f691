#include "proxy/admin/shared_metrics.h"

#include "prometheus_text.h"

#include <catch2/catch.hpp>

#include <sys/wait.h>
#include <unistd.h>

using namespace imapfront::admin;
using testing::samples_of;

TEST_CASE("a worker's counts reach the supervisor through the shared mapping", "[admin][shared]") {
    auto shared = SharedMetrics::create(2);
    const pid_t child = fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        auto attached = SharedMetrics::attach(dup(shared.fd()));
        attached.worker(1).connections.add(5);
        attached.worker(1).backend("dovecot-a").connections.add(2);
        attached.set_serving(1, true);
        _exit(attached.creator_pid() == getppid() ? 0 : 1);
    }
    int status = 0;
    REQUIRE(waitpid(child, &status, 0) == child);
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);  // the child saw its parent as the creator
    CHECK(shared.worker(1).connections.value() == 5);
    CHECK(shared.worker(1).backend("dovecot-a").connections.value() == 2);
    CHECK(shared.serving(1));
    CHECK_FALSE(shared.serving(0));
}

TEST_CASE("attach refuses a descriptor that is not a metrics mapping", "[admin][shared]") {
    int pipe_fds[2];
    REQUIRE(pipe(pipe_fds) == 0);
    close(pipe_fds[1]);
    CHECK_THROWS(SharedMetrics::attach(pipe_fds[0]));
    close(pipe_fds[0]);
}

TEST_CASE("the rendering of several parts sums counters and gauges", "[admin][shared]") {
    auto shared = SharedMetrics::create(2);
    shared.supervisor().config_reloads(true).add();
    shared.worker(0).logins(LoginResult::Ok).add(3);
    shared.worker(1).logins(LoginResult::Ok).add(4);
    shared.worker(0).active_sessions.add(2);
    shared.worker(1).active_sessions.add(5);
    shared.worker(0).max_connections.set(100);
    shared.worker(1).max_connections.set(100);
    shared.worker(0).command_latency.observe(0.002);
    shared.worker(1).command_latency.observe(0.002);
    shared.worker(0).backend("dovecot-a").connections.add(1);
    shared.worker(1).backend("dovecot-a").connections.add(4);
    shared.worker(1).backend("dovecot-b").connect_failures.add(6);

    const auto samples = samples_of(render_prometheus(shared.all()));
    CHECK(samples.at("imapfront_config_reloads_total{result=\"ok\"}") == "1");
    CHECK(samples.at("imapfront_logins_total{result=\"ok\"}") == "7");
    CHECK(samples.at("imapfront_sessions_active") == "7");
    CHECK(samples.at("imapfront_max_connections") == "200");
    CHECK(samples.at("imapfront_command_duration_seconds_count") == "2");
    CHECK(samples.at("imapfront_command_duration_seconds_bucket{le=\"0.0025\"}") == "2");
    CHECK(samples.at("imapfront_backend_connections{backend=\"dovecot-a\"}") == "5");
    CHECK(samples.at("imapfront_backend_connect_failures_total{backend=\"dovecot-b\"}") == "6");
}

TEST_CASE("a backend renders up only when every part that knows it has it up", "[admin][shared]") {
    auto shared = SharedMetrics::create(2);
    shared.worker(0).backend("dovecot-a");
    shared.worker(1).backend("dovecot-a").up.set(0);
    shared.worker(0).backend("dovecot-b");
    const auto samples = samples_of(render_prometheus(shared.all()));
    CHECK(samples.at("imapfront_backend_up{backend=\"dovecot-a\"}") == "0");
    CHECK(samples.at("imapfront_backend_up{backend=\"dovecot-b\"}") == "1");
}

TEST_CASE("a part that retired a backend has no say in whether it is up", "[admin][shared]") {
    auto shared = SharedMetrics::create(2);
    shared.worker(0).backend("dovecot-a");
    BackendMetrics& stale = shared.worker(1).backend("dovecot-a");
    stale.up.set(0);
    stale.retired.set(1);
    CHECK(samples_of(render_prometheus(shared.all())).at("imapfront_backend_up{backend=\"dovecot-a\"}") == "1");
    shared.worker(0).backend("dovecot-a").retired.set(1);
    CHECK(samples_of(render_prometheus(shared.all())).count("imapfront_backend_up{backend=\"dovecot-a\"}") == 0);
}

TEST_CASE("clearing a dead worker's gauges keeps its counters", "[admin][shared]") {
    auto shared = SharedMetrics::create(1);
    Metrics& worker = shared.worker(0);
    worker.active_sessions.add(9);
    worker.connections.add(9);
    worker.max_connections.set(100);
    worker.backend("dovecot-a").connections.add(9);
    worker.backend("dovecot-a").connect_failures.add(1);
    worker.clear_gauges();
    CHECK(worker.active_sessions.value() == 0);
    CHECK(worker.max_connections.value() == 0);
    CHECK(worker.connections.value() == 9);
    CHECK(worker.backend("dovecot-a").connections.value() == 0);
    CHECK(worker.backend("dovecot-a").connect_failures.value() == 1);
}
