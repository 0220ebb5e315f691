// Feeds server bytes to the ResponseFramer whole and split at a point taken
// from the data: both feeds must give the same events, and the bytes handed
// back must be exactly the bytes fed, in order.
#include "proxy/imap/response_framer.h"

#include "fuzz_check.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

using namespace imapfront::imap;

namespace {

struct Outcome {
    std::vector<std::string> events;
    std::string bytes;
    bool failed = false;
};

Outcome run(const std::vector<std::string_view>& chunks, Limits limits) {
    ResponseFramer framer(limits);
    Outcome out;
    bool in_literal = false;
    for (std::string_view chunk : chunks) {
        for (;;) {
            const auto event = framer.next(chunk);
            FUZZ_CHECK(event.consumed <= chunk.size());
            if (event.kind == ResponseEvent::Kind::NeedMore) {
                FUZZ_CHECK(event.consumed == chunk.size());
                break;
            }
            out.bytes.append(event.data);
            chunk.remove_prefix(event.consumed);
            if (event.kind == ResponseEvent::Kind::LiteralData) {
                if (!in_literal) {
                    out.events.emplace_back("literal:");
                }
                out.events.back().append(event.data);
                in_literal = !event.literal_complete;
                continue;
            }
            FUZZ_CHECK(!in_literal);
            if (event.kind == ResponseEvent::Kind::Error) {
                out.events.emplace_back("error");
                out.failed = true;
                return out;
            }
            out.events.push_back(
                std::to_string(static_cast<int>(framer.type())) + " " + (event.response_complete ? "c " : "") +
                (event.literal ? std::to_string(*event.literal) : "") + " " + std::string(framer.tag()) + " " +
                std::string(framer.status()) + " " + std::string(event.data));
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
    Limits limits;
    if ((data[0] & 1) != 0) {
        limits.max_response_line = 64;
    }
    const std::size_t split =
        input.empty() ? 0 : (static_cast<std::size_t>(data[1]) << 8 | data[2]) % (input.size() + 1);

    const Outcome whole = run({input}, limits);
    const Outcome split_feed = run({input.substr(0, split), input.substr(split)}, limits);
    FUZZ_CHECK(whole.events == split_feed.events);
    FUZZ_CHECK(whole.bytes == split_feed.bytes);
    FUZZ_CHECK(input.substr(0, whole.bytes.size()) == whole.bytes);
    if (!whole.failed) {
        FUZZ_CHECK(input.size() - whole.bytes.size() <= limits.max_response_line + 1);
    }
    return 0;
}
