#include "proxy/imap/capabilities.h"

#include "proxy/imap/chars.h"

#include <algorithm>
#include <vector>

namespace imapfront::imap {

namespace {

constexpr std::string_view multiaccount = "MULTIACCOUNT";

bool equals_ci(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(),
                                              [](char x, char y) { return to_upper_ascii(x) == to_upper_ascii(y); });
}

bool starts_with_ci(std::string_view text, std::string_view prefix) {
    return text.size() >= prefix.size() && equals_ci(text.substr(0, prefix.size()), prefix);
}

std::vector<std::string_view> split_words(std::string_view list) {
    std::vector<std::string_view> words;
    while (!list.empty()) {
        const std::size_t space = list.find(' ');
        const std::string_view word = list.substr(0, space);
        if (!word.empty()) {
            words.push_back(word);
        }
        list.remove_prefix(space == std::string_view::npos ? list.size() : space + 1);
    }
    return words;
}

// What the client must not be told: imapfront already did TLS and login,
// and cannot relay a compressed stream it needs to read.
bool dropped(std::string_view capability) {
    return equals_ci(capability, "STARTTLS") || equals_ci(capability, "LOGINDISABLED") ||
           equals_ci(capability, "SASL-IR") || starts_with_ci(capability, "AUTH=") ||
           starts_with_ci(capability, "COMPRESS=") || equals_ci(capability, multiaccount);
}

struct LineParts {
    std::string_view before;  // up to and including "CAPABILITY "
    std::string_view list;
    std::string_view after;  // "]" and text, or the line ending
};

std::string_view line_ending(std::string_view line) {
    if (line.size() >= 2 && line.substr(line.size() - 2) == "\r\n") {
        return line.substr(line.size() - 2);
    }
    if (!line.empty() && line.back() == '\n') {
        return line.substr(line.size() - 1);
    }
    return {};
}

bool is_status(std::string_view word) {
    return equals_ci(word, "OK") || equals_ci(word, "NO") || equals_ci(word, "BAD") || equals_ci(word, "BYE") ||
           equals_ci(word, "PREAUTH");
}

std::optional<LineParts> split_capability_line(std::string_view line) {
    const std::string_view ending = line_ending(line);
    const std::string_view body = line.substr(0, line.size() - ending.size());

    const std::size_t first_space = body.find(' ');
    if (first_space == std::string_view::npos) {
        return std::nullopt;
    }
    const std::string_view after_tag = body.substr(first_space + 1);
    constexpr std::string_view keyword = "CAPABILITY";

    // "* CAPABILITY list"
    if (body.substr(0, first_space) == "*" && starts_with_ci(after_tag, keyword) &&
        (after_tag.size() == keyword.size() || after_tag[keyword.size()] == ' ')) {
        const std::size_t list_start = std::min(body.size(), first_space + 1 + keyword.size() + 1);
        return LineParts{line.substr(0, list_start), body.substr(list_start), ending};
    }

    // "tag OK [CAPABILITY list] text"
    const std::size_t second_space = after_tag.find(' ');
    if (second_space == std::string_view::npos || !is_status(after_tag.substr(0, second_space))) {
        return std::nullopt;
    }
    const std::string_view code = after_tag.substr(second_space + 1);
    if (!starts_with_ci(code, "[CAPABILITY") || code.size() <= keyword.size() + 1) {
        return std::nullopt;
    }
    const char separator = code[keyword.size() + 1];
    if (separator != ' ' && separator != ']') {
        return std::nullopt;
    }
    const std::size_t close = code.find(']');
    if (close == std::string_view::npos) {
        return std::nullopt;
    }
    const std::size_t code_offset = first_space + 1 + second_space + 1;
    const std::size_t list_start = std::min(close, keyword.size() + 2);
    return LineParts{line.substr(0, code_offset + list_start), code.substr(list_start, close - list_start),
                     line.substr(code_offset + close)};
}

}  // namespace

std::string rewrite_capability_list(std::string_view backend_list) {
    std::string out;
    for (const std::string_view capability : split_words(backend_list)) {
        if (!dropped(capability)) {
            out.append(capability);
            out.push_back(' ');
        }
    }
    out.append(multiaccount);
    return out;
}

std::optional<std::string> rewrite_capability_line(std::string_view line) {
    const auto parts = split_capability_line(line);
    if (!parts) {
        return std::nullopt;
    }
    std::string out(parts->before);
    if (out.back() != ' ') {
        out.push_back(' ');
    }
    out.append(rewrite_capability_list(parts->list));
    out.append(parts->after);
    return out;
}

std::optional<std::string> extract_capability_list(std::string_view line) {
    const auto parts = split_capability_line(line);
    if (!parts) {
        return std::nullopt;
    }
    return std::string(parts->list);
}

bool has_capability(std::string_view list, std::string_view capability) {
    const auto words = split_words(list);
    return std::any_of(words.begin(), words.end(), [&](std::string_view word) { return equals_ci(word, capability); });
}

}  // namespace imapfront::imap
