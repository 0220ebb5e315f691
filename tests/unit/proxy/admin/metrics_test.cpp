#include "proxy/admin/metrics.h"

#include "prometheus_text.h"

#include <catch2/catch.hpp>

#include <map>
#include <regex>
#include <set>
#include <string>
#include <vector>

using namespace imapfront::admin;
using testing::lines_of;
using testing::samples_of;

namespace {

std::string metric_name(const std::string& sample_line) {
    return sample_line.substr(0, sample_line.find_first_of("{ "));
}

// The family a sample belongs to: histogram series drop their suffix.
std::string family_of(const std::string& name) {
    for (const std::string suffix : {"_bucket", "_sum", "_count"}) {
        if (name.size() > suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
            const std::string base = name.substr(0, name.size() - suffix.size());
            if (base == "imapfront_command_duration_seconds") return base;
        }
    }
    return name;
}

}  // namespace

TEST_CASE("histogram counts each observation in the first bucket that holds it", "[admin][metrics]") {
    Histogram histogram;
    histogram.observe(0.0001);  // below the first bound
    histogram.observe(0.001);   // exactly on a bound: le is inclusive
    histogram.observe(0.3);
    histogram.observe(60.0);  // above the last bound
    CHECK(histogram.bucket(0) == 1);
    CHECK(histogram.bucket(1) == 1);
    CHECK(histogram.bucket(9) == 1);
    CHECK(histogram.bucket(Histogram::bounds.size()) == 1);
    CHECK(histogram.count() == 4);
    CHECK(histogram.sum() == Approx(60.3011).margin(1e-5));
}

TEST_CASE("a negative observation counts in the first bucket and adds nothing to the sum", "[admin][metrics]") {
    Histogram histogram;
    histogram.observe(-1.0);
    CHECK(histogram.bucket(0) == 1);
    CHECK(histogram.sum() == 0.0);
}

TEST_CASE("backend metrics start up and keep their address", "[admin][metrics]") {
    Metrics metrics;
    BackendMetrics& first = metrics.backend("a1");
    CHECK(first.up.value() == 1);
    first.up.set(0);
    CHECK(&metrics.backend("a1") == &first);
    CHECK(metrics.backend("a1").up.value() == 0);
}

TEST_CASE("rendering follows the Prometheus text exposition format", "[admin][metrics]") {
    Metrics metrics;
    metrics.backend("a1");
    const std::string text = metrics.render_prometheus();
    REQUIRE(!text.empty());
    CHECK(text.back() == '\n');

    const std::regex help_line(R"(# HELP [a-zA-Z_:][a-zA-Z0-9_:]* \S.*)");
    const std::regex type_line(R"(# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram))");
    const std::regex sample_line(
        R"re([a-zA-Z_:][a-zA-Z0-9_:]*(\{[a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\[\\"n])*"(,[a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\[\\"n])*")*\})? (\+Inf|-?[0-9.e+-]+))re");

    std::map<std::string, std::string> types;  // family -> type
    std::string current_help;
    std::set<std::string> helped;
    for (const auto& line : lines_of(text)) {
        INFO(line);
        std::smatch match;
        if (line.rfind("# HELP ", 0) == 0) {
            CHECK(std::regex_match(line, help_line));
            current_help = line.substr(7, line.find(' ', 7) - 7);
            CHECK(helped.insert(current_help).second);
        } else if (line.rfind("# TYPE ", 0) == 0) {
            REQUIRE(std::regex_match(line, match, type_line));
            CHECK(match[1] == current_help);                  // HELP then TYPE, for the same family
            CHECK(types.emplace(match[1], match[2]).second);  // one TYPE per family
        } else {
            CHECK(std::regex_match(line, sample_line));
            const std::string family = family_of(metric_name(line));
            CHECK(types.count(family) == 1);  // TYPE comes before the family's samples
            CHECK(family == current_help);    // samples of one family stay together
        }
    }

    for (const auto& [family, type] : types) {
        INFO(family);
        CHECK(family.rfind("imapfront_", 0) == 0);
        const bool total = family.size() > 6 && family.compare(family.size() - 6, 6, "_total") == 0;
        CHECK(total == (type == "counter"));
    }
    CHECK(types.at("imapfront_command_duration_seconds") == "histogram");
    CHECK(types.at("imapfront_sessions_active") == "gauge");
    CHECK(types.at("imapfront_max_connections") == "gauge");
    CHECK(types.at("imapfront_backend_up") == "gauge");
}

TEST_CASE("rendered values follow the counters, gauges and labels", "[admin][metrics]") {
    Metrics metrics;
    metrics.active_sessions.set(7);
    metrics.max_connections.set(500);
    metrics.connections.add(3);
    metrics.logins(LoginResult::AuthFailed).add(2);
    metrics.selecta(MultiResult::Unavailable).add();
    metrics.config_reloads(false).add();
    metrics.bytes_to_clients.add(1000);
    metrics.backend("b1").up.set(0);
    metrics.backend("b1").connections.add(4);
    metrics.backend("b1").connect_failures.add(5);

    const auto samples = samples_of(metrics.render_prometheus());
    CHECK(samples.at("imapfront_sessions_active") == "7");
    CHECK(samples.at("imapfront_max_connections") == "500");
    CHECK(samples.at("imapfront_connections_total") == "3");
    CHECK(samples.at("imapfront_logins_total{result=\"auth_failed\"}") == "2");
    CHECK(samples.at("imapfront_logins_total{result=\"ok\"}") == "0");
    CHECK(samples.at("imapfront_selecta_total{result=\"unavailable\"}") == "1");
    CHECK(samples.at("imapfront_config_reloads_total{result=\"error\"}") == "1");
    CHECK(samples.at("imapfront_config_reloads_total{result=\"ok\"}") == "0");
    CHECK(samples.at("imapfront_relayed_bytes_total{direction=\"backend_to_client\"}") == "1000");
    CHECK(samples.at("imapfront_backend_up{backend=\"b1\"}") == "0");
    CHECK(samples.at("imapfront_backend_connections{backend=\"b1\"}") == "4");
    CHECK(samples.at("imapfront_backend_connect_failures_total{backend=\"b1\"}") == "5");
}

TEST_CASE("a backend a reload retired has no up series and keeps its links and failures", "[admin][metrics]") {
    Metrics metrics;
    metrics.backend("gone").connections.add(2);
    metrics.backend("gone").connect_failures.add(3);
    metrics.backend("gone").retired.set(1);
    metrics.backend("kept");

    const auto samples = samples_of(metrics.render_prometheus());
    CHECK(samples.count("imapfront_backend_up{backend=\"gone\"}") == 0);
    CHECK(samples.at("imapfront_backend_up{backend=\"kept\"}") == "1");
    CHECK(samples.at("imapfront_backend_connections{backend=\"gone\"}") == "2");
    CHECK(samples.at("imapfront_backend_connect_failures_total{backend=\"gone\"}") == "3");

    metrics.backend("gone").retired.set(0);
    CHECK(samples_of(metrics.render_prometheus()).at("imapfront_backend_up{backend=\"gone\"}") == "1");
}

TEST_CASE("histogram buckets render cumulative and end in +Inf equal to the count", "[admin][metrics]") {
    Metrics metrics;
    metrics.command_latency.observe(0.0002);
    metrics.command_latency.observe(0.003);
    metrics.command_latency.observe(0.003);
    metrics.command_latency.observe(9.0);

    std::vector<std::pair<std::string, std::uint64_t>> buckets;
    for (const auto& line : lines_of(metrics.render_prometheus())) {
        const std::string prefix = "imapfront_command_duration_seconds_bucket{le=\"";
        if (line.rfind(prefix, 0) != 0) continue;
        const auto quote = line.find('"', prefix.size());
        buckets.emplace_back(line.substr(prefix.size(), quote - prefix.size()),
                             std::stoull(line.substr(line.rfind(' ') + 1)));
    }
    REQUIRE(buckets.size() == Histogram::bounds.size() + 1);
    CHECK(buckets.front() == std::pair<std::string, std::uint64_t>{"0.0005", 1});
    CHECK(buckets[3] == std::pair<std::string, std::uint64_t>{"0.005", 3});
    CHECK(buckets.back() == std::pair<std::string, std::uint64_t>{"+Inf", 4});
    for (std::size_t i = 1; i < buckets.size(); ++i) CHECK(buckets[i].second >= buckets[i - 1].second);
    for (std::size_t i = 1; i < Histogram::bounds.size(); ++i) {
        CHECK(std::stod(buckets[i].first) > std::stod(buckets[i - 1].first));
    }

    const auto samples = samples_of(metrics.render_prometheus());
    CHECK(samples.at("imapfront_command_duration_seconds_count") == "4");
    CHECK(std::stod(samples.at("imapfront_command_duration_seconds_sum")) == Approx(9.0062).margin(1e-5));
}

TEST_CASE("label values escape backslash, double quote and newline", "[admin][metrics]") {
    Metrics metrics;
    metrics.backend("a\\b\"c\nd");
    const std::string text = metrics.render_prometheus();
    CHECK(text.find(R"(imapfront_backend_up{backend="a\\b\"c\nd"} 1)") != std::string::npos);
    for (const auto& line : lines_of(text)) CHECK(line.rfind("d\"", 0) != 0);  // no raw newline split the sample
}

TEST_CASE("backends render sorted by name under each family", "[admin][metrics]") {
    Metrics metrics;
    metrics.backend("zz");
    metrics.backend("aa");
    const std::string text = metrics.render_prometheus();
    const auto aa = text.find("imapfront_backend_up{backend=\"aa\"}");
    const auto zz = text.find("imapfront_backend_up{backend=\"zz\"}");
    REQUIRE(aa != std::string::npos);
    REQUIRE(zz != std::string::npos);
    CHECK(aa < zz);
}

TEST_CASE("backends past the table's capacity share one entry that is not rendered", "[admin][metrics]") {
    Metrics metrics;
    for (std::size_t i = 0; i < Metrics::max_backends; ++i) metrics.backend("b" + std::to_string(i));
    BackendMetrics& overflow = metrics.backend("one-too-many");
    CHECK(&metrics.backend("another") == &overflow);
    CHECK(&metrics.backend("b7") != &overflow);
    CHECK(metrics.render_prometheus().find("one-too-many") == std::string::npos);
}
