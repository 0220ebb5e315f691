// base64 must be canonical both ways, and SASL PLAIN decoding must be the
// exact inverse of encoding for every message it accepts.
#include "proxy/imap/sasl.h"

#include "fuzz_check.h"

#include <cstddef>
#include <cstdint>
#include <string_view>

using namespace imapfront::imap;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);

    const auto decoded = base64_decode(input);
    if (decoded) {
        FUZZ_CHECK(base64_encode(*decoded) == input);
    }
    FUZZ_CHECK(base64_decode(base64_encode(input)) == input);

    const auto plain = decode_sasl_plain(input);
    if (plain) {
        FUZZ_CHECK(!plain->authcid.empty() && !plain->password.empty());
        FUZZ_CHECK(encode_sasl_plain(*plain) == input);
    }
    return 0;
}
