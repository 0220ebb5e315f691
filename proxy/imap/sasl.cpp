#include "proxy/imap/sasl.h"

#include <algorithm>
#include <array>
#include <cstdint>

namespace imapfront::imap {

namespace {

constexpr std::string_view alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr int invalid = -1;

constexpr std::array<int, 256> make_decode_table() {
    std::array<int, 256> table{};
    table.fill(invalid);
    for (std::size_t i = 0; i < alphabet.size(); ++i) {
        table[static_cast<unsigned char>(alphabet[i])] = static_cast<int>(i);
    }
    return table;
}

constexpr auto decode_table = make_decode_table();

}  // namespace

std::string base64_encode(std::string_view bytes) {
    std::string out;
    out.reserve((bytes.size() + 2) / 3 * 4);
    std::size_t i = 0;
    for (; i + 3 <= bytes.size(); i += 3) {
        const std::uint32_t group = static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i])) << 16 |
                                    static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8 |
                                    static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i + 2]));
        out.push_back(alphabet[group >> 18 & 63]);
        out.push_back(alphabet[group >> 12 & 63]);
        out.push_back(alphabet[group >> 6 & 63]);
        out.push_back(alphabet[group & 63]);
    }
    const std::size_t left = bytes.size() - i;
    if (left > 0) {
        std::uint32_t group = static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i])) << 16;
        if (left == 2) {
            group |= static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8;
        }
        out.push_back(alphabet[group >> 18 & 63]);
        out.push_back(alphabet[group >> 12 & 63]);
        out.push_back(left == 2 ? alphabet[group >> 6 & 63] : '=');
        out.push_back('=');
    }
    return out;
}

// Strict: length a multiple of 4, padding only at the very end, and unused
// bits zero, so that every accepted text has exactly one meaning.
std::optional<std::string> base64_decode(std::string_view text) {
    if (text.size() % 4 != 0) {
        return std::nullopt;
    }
    std::size_t padding = 0;
    if (!text.empty() && text.back() == '=') {
        padding = text.size() >= 2 && text[text.size() - 2] == '=' ? 2 : 1;
    }
    std::string out;
    out.reserve(text.size() / 4 * 3);
    const std::size_t data_chars = text.size() - padding;
    std::uint32_t bits = 0;
    unsigned bit_count = 0;
    for (std::size_t i = 0; i < data_chars; ++i) {
        const int value = decode_table[static_cast<unsigned char>(text[i])];
        if (value == invalid) {
            return std::nullopt;
        }
        bits = (bits << 6 | static_cast<std::uint32_t>(value)) & 0xffffff;
        bit_count += 6;
        if (bit_count >= 8) {
            bit_count -= 8;
            out.push_back(static_cast<char>(bits >> bit_count & 0xff));
        }
    }
    if ((bits & ((1u << bit_count) - 1)) != 0) {
        return std::nullopt;
    }
    return out;
}

std::optional<SaslPlain> decode_sasl_plain(std::string_view message) {
    if (std::count(message.begin(), message.end(), '\0') != 2) {
        return std::nullopt;
    }
    const std::size_t first = message.find('\0');
    const std::size_t second = message.find('\0', first + 1);
    SaslPlain plain;
    plain.authzid = message.substr(0, first);
    plain.authcid = message.substr(first + 1, second - first - 1);
    plain.password = message.substr(second + 1);
    if (plain.authcid.empty() || plain.password.empty()) {
        return std::nullopt;
    }
    return plain;
}

std::string encode_sasl_plain(const SaslPlain& plain) {
    std::string message = plain.authzid;
    message.push_back('\0');
    message.append(plain.authcid);
    message.push_back('\0');
    message.append(plain.password);
    return message;
}

}  // namespace imapfront::imap
