#include "proxy/imap/status_line.h"

#include <cstddef>

namespace imapfront::imap {
namespace {

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string_view strip_line_end(std::string_view line) {
    if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    return line;
}

std::string_view next_word(std::string_view& rest) {
    const std::size_t space = rest.find(' ');
    const std::string_view word = rest.substr(0, space);
    rest = space == std::string_view::npos ? std::string_view{} : rest.substr(space + 1);
    return word;
}

}  // namespace

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (lower(a[i]) != lower(b[i])) return false;
    }
    return true;
}

bool istarts_with(std::string_view text, std::string_view prefix) {
    return text.size() >= prefix.size() && iequals(text.substr(0, prefix.size()), prefix);
}

StatusLine parse_status_line(std::string_view line) {
    StatusLine parsed;
    std::string_view rest = strip_line_end(line);
    parsed.tag = next_word(rest);
    if (parsed.tag == "+") {
        parsed.text = rest;
        return parsed;
    }
    parsed.status = next_word(rest);
    parsed.text = rest;
    if (!rest.empty() && rest.front() == '[') {
        const std::size_t close = rest.find(']');
        if (close != std::string_view::npos) parsed.code = rest.substr(1, close - 1);
    }
    return parsed;
}

}  // namespace imapfront::imap
