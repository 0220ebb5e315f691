// SASL helpers for AUTHENTICATE: base64 and the PLAIN message (RFC 4616).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace imapfront::imap {

std::string base64_encode(std::string_view bytes);
// Strict RFC 4648 decoding; nullopt on any invalid character or padding.
std::optional<std::string> base64_decode(std::string_view text);

struct SaslPlain {
    std::string authzid;
    std::string authcid;
    std::string password;
};

// Decodes "authzid NUL authcid NUL password" (already base64-decoded).
// nullopt when it has not exactly two NULs or authcid/password is empty.
std::optional<SaslPlain> decode_sasl_plain(std::string_view message);
std::string encode_sasl_plain(const SaslPlain& plain);

}  // namespace imapfront::imap
