#include "proxy/net/tls_errors.h"

#include <openssl/err.h>

namespace imapfront::net::detail {

std::string take_openssl_error(const std::string& fallback) {
    const unsigned long code = ERR_get_error();
    ERR_clear_error();
    if (code == 0) return fallback;
    const char* reason = ERR_reason_error_string(code);
    if (reason) return reason;
    char text[256];
    ERR_error_string_n(code, text, sizeof text);
    return text;
}

}  // namespace imapfront::net::detail
