// Reading back the Prometheus text the metrics render, for the admin tests.
#pragma once

#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace imapfront::admin::testing {

inline std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
}

// Sample lines keyed by "name{labels}" (or just "name").
inline std::map<std::string, std::string> samples_of(const std::string& text) {
    std::map<std::string, std::string> samples;
    for (const auto& line : lines_of(text)) {
        if (line.empty() || line[0] == '#') continue;
        const auto space = line.rfind(' ');
        samples[line.substr(0, space)] = line.substr(space + 1);
    }
    return samples;
}

}  // namespace imapfront::admin::testing
