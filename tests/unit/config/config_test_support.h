// Helpers shared by the config and routing unit tests: a scratch folder for
// files the loader reads, and loading from YAML text with readable failures.
#pragma once

#include "config/config.h"

#include <sys/stat.h>
#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace imapfront::test {

class TempDir {
public:
    TempDir() {
        std::string pattern = (std::filesystem::temp_directory_path() / "imapfront-test-XXXXXX").string();
        path_ = ::mkdtemp(pattern.data());
    }
    ~TempDir() {
        std::error_code ignored;
        std::filesystem::remove_all(path_, ignored);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    // Writes `relative` (creating folders) with the given permission bits.
    std::string write(const std::string& relative, const std::string& content, mode_t mode = 0600) const {
        const auto file = std::filesystem::path(path_) / relative;
        std::filesystem::create_directories(file.parent_path());
        std::ofstream(file, std::ios::binary) << content;
        ::chmod(file.c_str(), mode);
        return file.string();
    }

    const std::string& path() const { return path_; }

private:
    std::string path_;
};

inline std::vector<std::string> error_lines(const config::LoadResult& result) {
    std::vector<std::string> lines;
    for (const auto& error : result.errors) {
        lines.push_back(error.to_string());
    }
    return lines;
}

// Loads YAML that must be valid; the errors are shown when it is not.
inline std::shared_ptr<const config::Config> must_load(const std::string& yaml, const std::string& base_dir = "/") {
    const auto result = config::load_string(yaml, "test.yaml", base_dir);
    INFO(Catch::Detail::stringify(error_lines(result)));
    REQUIRE(result.errors.empty());
    REQUIRE(result.config != nullptr);
    return result.config;
}

// The error lines of YAML that must be refused.
inline std::vector<std::string> load_errors(const std::string& yaml, const std::string& base_dir = "/") {
    const auto result = config::load_string(yaml, "t.yaml", base_dir);
    CHECK(result.config == nullptr);
    return error_lines(result);
}

}  // namespace imapfront::test
