// Feeds client bytes to the CommandFramer whole and split at a point taken
// from the data: both feeds must give the same events, and the bytes handed
// back must be exactly the bytes fed, in order.
#include "proxy/imap/command_framer.h"

#include "fuzz_check.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

using namespace imapfront::imap;

namespace {

struct Outcome {
    std::vector<std::string> events;  // one description per event, literal chunks joined
    std::string bytes;                // all bytes handed back
    bool fatal = false;
};

Outcome run(const std::vector<std::string_view>& chunks, Limits limits) {
    CommandFramer framer(limits);
    Outcome out;
    bool in_literal = false;
    for (std::string_view chunk : chunks) {
        for (;;) {
            const auto event = framer.next(chunk);
            FUZZ_CHECK(event.consumed <= chunk.size());
            if (event.kind == CommandEvent::Kind::NeedMore) {
                FUZZ_CHECK(event.consumed == chunk.size());
                break;
            }
            out.bytes.append(event.data);
            chunk.remove_prefix(event.consumed);
            if (event.kind == CommandEvent::Kind::LiteralData) {
                if (!in_literal) {
                    out.events.emplace_back("literal:");
                }
                out.events.back().append(event.data);
                in_literal = !event.literal_complete;
                continue;
            }
            FUZZ_CHECK(!in_literal);
            std::string description =
                std::to_string(static_cast<int>(event.kind)) + " " + std::to_string(static_cast<int>(event.error)) +
                " " + std::to_string(static_cast<int>(event.line_kind)) + " " + (event.command_complete ? "c " : "") +
                (event.literal ? std::to_string(event.literal->size) : "") + " " + std::string(framer.tag()) + " " +
                std::string(framer.name()) + " " + std::string(event.data);
            out.events.push_back(std::move(description));
            if (event.kind == CommandEvent::Kind::Error && event.fatal) {
                out.fatal = true;
                return out;
            }
            // An AUTHENTICATE answer line, as the session would ask for it.
            if (event.command_complete && framer.name() == "AUTHENTICATE") {
                framer.expect_raw_line();
            }
        }
    }
    return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 3) {
        return 0;
    }
    const std::string_view input(reinterpret_cast<const char*>(data + 3), size - 3);
    Limits limits = (data[0] & 1) != 0 ? preauth_limits() : Limits{};
    if ((data[0] & 2) != 0) {
        limits.max_line = 40;
        limits.max_tag = 8;
        limits.max_literal = 100;
    }
    const std::size_t split =
        input.empty() ? 0 : (static_cast<std::size_t>(data[1]) << 8 | data[2]) % (input.size() + 1);

    const Outcome whole = run({input}, limits);
    const Outcome split_feed = run({input.substr(0, split), input.substr(split)}, limits);
    FUZZ_CHECK(whole.events == split_feed.events);
    FUZZ_CHECK(whole.bytes == split_feed.bytes);
    FUZZ_CHECK(input.substr(0, whole.bytes.size()) == whole.bytes);
    if (!whole.fatal) {
        // What is not handed back yet is the start of one line, held back.
        FUZZ_CHECK(input.size() - whole.bytes.size() <= limits.max_line + 1);
    }
    return 0;
}
