// libFuzzer target: any bytes given to the config loader must end in a
// config or a list of errors, never a crash or a hang.
#include "config/config.h"

#include <cstddef>
#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string yaml(reinterpret_cast<const char*>(data), size);
    // A base folder that does not exist keeps relative paths from reading real files.
    const auto result = imapfront::config::load_string(yaml, "fuzz.yaml", "/nonexistent-imapfront-fuzz");
    for (const auto& error : result.errors) {
        (void)error.to_string();
    }
    return 0;
}
