#include "report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace loadgen {

double percentile(std::vector<double>& samples, double fraction) {
    if (samples.empty()) {
        return 0.0;
    }
    std::sort(samples.begin(), samples.end());
    auto rank = static_cast<std::size_t>(std::ceil(fraction * static_cast<double>(samples.size())));
    return samples[std::min(samples.size() - 1, rank == 0 ? 0 : rank - 1)];
}

void print_result(const Options& options, const std::string& fields) {
    std::printf("RESULT scenario=%s target=%s tls=%d %s\n", options.scenario.c_str(), options.target.c_str(),
                options.tls ? 1 : 0, fields.c_str());
    std::fflush(stdout);
}

std::string error_field(const std::string& why) {
    std::string value = why;
    std::replace(value.begin(), value.end(), ' ', '_');
    return value;
}

int report_failure(const Options& options, const std::string& why) {
    std::printf("FAILED scenario=%s target=%s reason=\"%s\"\n", options.scenario.c_str(), options.target.c_str(),
                why.c_str());
    std::fflush(stdout);
    return 1;
}

}  // namespace loadgen
