#include "proxy/imap/arguments.h"

#include "proxy/imap/chars.h"

#include <algorithm>
#include <limits>

namespace imapfront::imap {

namespace {

// Reads the astrings of `wire` front to back; the first problem stops it.
class AstringReader {
public:
    explicit AstringReader(std::string_view wire) : rest_(wire) {}

    ParsedArguments read_all() {
        ParsedArguments result;
        while (!at_line_end()) {
            if (!take(' ')) {
                return failure("expected a space between arguments");
            }
            std::string value;
            const char* error = read_value(value);
            if (error != nullptr) {
                return failure(error);
            }
            result.values.push_back(std::move(value));
        }
        if (!take_line_end()) {
            return failure("missing CRLF after the arguments");
        }
        if (!rest_.empty()) {
            return failure("data after the end of the command");
        }
        result.ok = true;
        return result;
    }

private:
    static ParsedArguments failure(const char* error) {
        ParsedArguments result;
        result.error = error;
        return result;
    }

    bool take(char c) {
        if (rest_.empty() || rest_.front() != c) {
            return false;
        }
        rest_.remove_prefix(1);
        return true;
    }

    bool at_line_end() const { return rest_.empty() || rest_.front() == '\r' || rest_.front() == '\n'; }

    // CRLF, or a bare LF as the framer accepts it.
    bool take_line_end() {
        take('\r');
        return take('\n');
    }

    const char* read_value(std::string& value) {
        if (rest_.empty()) {
            return "missing argument";
        }
        if (rest_.front() == '"') {
            return read_quoted(value);
        }
        if (rest_.front() == '{') {
            return read_literal(value);
        }
        return read_atom(value);
    }

    const char* read_atom(std::string& value) {
        const auto end = std::find_if_not(rest_.begin(), rest_.end(),
                                          [](char c) { return is_astring_char(static_cast<unsigned char>(c)); });
        const auto length = static_cast<std::size_t>(end - rest_.begin());
        if (length == 0) {
            return "invalid character in argument";
        }
        value.assign(rest_.substr(0, length));
        rest_.remove_prefix(length);
        return nullptr;
    }

    const char* read_quoted(std::string& value) {
        rest_.remove_prefix(1);
        while (!rest_.empty()) {
            const char c = rest_.front();
            rest_.remove_prefix(1);
            if (c == '"') {
                return nullptr;
            }
            if (c == '\r' || c == '\n' || c == '\0') {
                return "invalid character in quoted string";
            }
            if (c == '\\') {
                if (rest_.empty() || (rest_.front() != '"' && rest_.front() != '\\')) {
                    return "invalid escape in quoted string";
                }
                value.push_back(rest_.front());
                rest_.remove_prefix(1);
                continue;
            }
            value.push_back(c);
        }
        return "unterminated quoted string";
    }

    const char* read_literal(std::string& value) {
        rest_.remove_prefix(1);
        std::uint64_t size = 0;
        std::size_t digits = 0;
        while (!rest_.empty() && is_digit(static_cast<unsigned char>(rest_.front()))) {
            const auto digit = static_cast<std::uint64_t>(rest_.front() - '0');
            if (size > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) {
                return "literal size out of range";
            }
            size = size * 10 + digit;
            ++digits;
            rest_.remove_prefix(1);
        }
        if (digits == 0) {
            return "invalid literal size";
        }
        take('+');
        if (!take('}') || !take_line_end()) {
            return "invalid literal announcement";
        }
        if (size > rest_.size()) {
            return "literal shorter than announced";
        }
        const auto length = static_cast<std::size_t>(size);
        value.assign(rest_.substr(0, length));
        rest_.remove_prefix(length);
        return nullptr;
    }

    std::string_view rest_;
};

bool is_printable_ascii(std::string_view s) {
    return std::all_of(s.begin(), s.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return u >= 0x20 && u < 0x7f;
    });
}

std::string quoted(std::string_view value) {
    std::string out;
    out.reserve(value.size() + 2);
    out.push_back('"');
    for (const char c : value) {
        if (c == '"' || c == '\\') {
            out.push_back('\\');
        }
        out.push_back(c);
    }
    out.push_back('"');
    return out;
}

}  // namespace

ParsedArguments parse_astrings(std::string_view wire) { return AstringReader(wire).read_all(); }

bool is_atom(std::string_view s) {
    return !s.empty() &&
           std::all_of(s.begin(), s.end(), [](char c) { return is_astring_char(static_cast<unsigned char>(c)); });
}

void encode_astring(EncodedCommand& out, std::string_view value, bool literal_plus) {
    if (out.empty()) {
        out.emplace_back();
    }
    if (is_atom(value)) {
        out.back().append(value);
    } else if (is_printable_ascii(value)) {
        out.back().append(quoted(value));
    } else if (literal_plus) {
        out.back().append("{" + std::to_string(value.size()) + "+}\r\n");
        out.back().append(value);
    } else {
        out.back().append("{" + std::to_string(value.size()) + "}\r\n");
        out.emplace_back(value);
    }
}

EncodedCommand encode_command(std::string_view tag, std::string_view name, const std::vector<std::string>& args,
                              bool literal_plus) {
    EncodedCommand out;
    out.emplace_back(tag);
    out.back().push_back(' ');
    out.back().append(name);
    for (const auto& arg : args) {
        out.back().push_back(' ');
        encode_astring(out, arg, literal_plus);
    }
    out.back().append("\r\n");
    return out;
}

std::optional<std::string> quote_for_response(std::string_view value) {
    if (is_atom(value)) {
        return std::string(value);
    }
    if (is_printable_ascii(value)) {
        return quoted(value);
    }
    return std::nullopt;
}

}  // namespace imapfront::imap
