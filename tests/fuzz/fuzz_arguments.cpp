// Parses arbitrary argument text; whatever parses must survive encoding,
// framing as a client command and parsing again unchanged. Also checks the
// capability rewriter on the same bytes taken as a response line.
#include "proxy/imap/arguments.h"
#include "proxy/imap/capabilities.h"
#include "proxy/imap/command_framer.h"

#include "fuzz_check.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

using namespace imapfront::imap;

namespace {

// The wire form after the command name, as a server would collect it.
std::string frame_arguments(const EncodedCommand& pieces) {
    CommandFramer framer;
    std::string command;
    for (const auto& piece : pieces) {
        std::string_view rest = piece;
        while (!rest.empty()) {
            const auto event = framer.next(rest);
            FUZZ_CHECK(event.kind == CommandEvent::Kind::Line || event.kind == CommandEvent::Kind::LiteralData);
            command.append(event.data);
            rest.remove_prefix(event.consumed);
        }
    }
    FUZZ_CHECK(framer.name() == "X");
    return command.substr(std::string_view("t X").size());
}

void check_round_trip(const std::vector<std::string>& values, bool literal_plus) {
    const auto pieces = encode_command("t", "X", values, literal_plus);
    const auto again = parse_astrings(frame_arguments(pieces));
    FUZZ_CHECK(again.ok);
    FUZZ_CHECK(again.values == values);
}

void check_capabilities(std::string_view line) {
    const auto rewritten = rewrite_capability_line(line);
    if (!rewritten) {
        return;
    }
    const auto list = extract_capability_list(*rewritten);
    FUZZ_CHECK(list.has_value());
    FUZZ_CHECK(has_capability(*list, "MULTIACCOUNT"));
    FUZZ_CHECK(!has_capability(*list, "STARTTLS"));
    FUZZ_CHECK(!has_capability(*list, "SASL-IR"));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    const auto parsed = parse_astrings(input);
    if (parsed.ok) {
        check_round_trip(parsed.values, false);
        check_round_trip(parsed.values, true);
        for (const auto& value : parsed.values) {
            if (const auto quoted = quote_for_response(value)) {
                const auto back = parse_astrings(" " + *quoted + "\r\n");
                FUZZ_CHECK(back.ok && back.values.size() == 1 && back.values[0] == value);
            }
        }
    } else {
        FUZZ_CHECK(!parsed.error.empty());
    }
    check_capabilities(input);
    return 0;
}
