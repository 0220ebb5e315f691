#include "config/secrets.h"

#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace imapfront::config {

namespace {

bool is_env_name(std::string_view name) {
    if (name.empty() || (name.front() >= '0' && name.front() <= '9')) {
        return false;
    }
    for (const char c : name) {
        const bool allowed = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
        if (!allowed) {
            return false;
        }
    }
    return true;
}

void drop_trailing_newline(std::string& text) {
    if (!text.empty() && text.back() == '\n') {
        text.pop_back();
        if (!text.empty() && text.back() == '\r') {
            text.pop_back();
        }
    }
}

std::string octal_mode(mode_t mode) {
    std::string digits;
    for (int shift = 6; shift >= 0; shift -= 3) {
        digits += static_cast<char>('0' + ((mode >> shift) & 07));
    }
    return "0" + digits;
}

}  // namespace

Parsed<std::string> read_password_file(const std::string& absolute_path) {
    struct stat info {};
    if (::stat(absolute_path.c_str(), &info) != 0 || !S_ISREG(info.st_mode)) {
        return {std::nullopt, "cannot read password file '" + absolute_path + "'"};
    }
    if ((info.st_mode & (S_IRGRP | S_IROTH)) != 0) {
        return {std::nullopt, "password file '" + absolute_path + "' is readable by group or others (mode " +
                                  octal_mode(info.st_mode) + "); run: chmod 600 " + absolute_path};
    }
    std::ifstream in(absolute_path, std::ios::binary);
    if (!in) {
        return {std::nullopt, "cannot read password file '" + absolute_path + "'"};
    }
    std::ostringstream content;
    content << in.rdbuf();
    std::string password = std::move(content).str();
    drop_trailing_newline(password);
    if (password.empty()) {
        return {std::nullopt, "password file '" + absolute_path + "' is empty"};
    }
    return {std::move(password), {}};
}

Parsed<std::string> read_password_env(std::string_view spec) {
    constexpr std::string_view prefix = "env:";
    if (spec.substr(0, prefix.size()) != prefix || !is_env_name(spec.substr(prefix.size()))) {
        // The value may be a real password typed inline: never repeat it.
        return {std::nullopt,
                "expected \"env:NAME\" naming an environment variable (inline passwords are "
                "not accepted; use password_file for a secret file)"};
    }
    const std::string name(spec.substr(prefix.size()));
    const char* value = std::getenv(name.c_str());
    if (value == nullptr || *value == '\0') {
        return {std::nullopt, "environment variable " + name + " is not set or empty"};
    }
    return {std::string(value), {}};
}

}  // namespace imapfront::config
