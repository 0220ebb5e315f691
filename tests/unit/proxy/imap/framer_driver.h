// Test driver shared by the framer tests: feeds an input in given chunks,
// the way a socket would deliver it, and records the events in a form that
// does not depend on where the input was split (literal chunks are joined,
// NeedMore is dropped). Split-point tests compare these recordings.
#pragma once

#include "proxy/imap/command_framer.h"
#include "proxy/imap/response_framer.h"

#include <catch2/catch.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace imapfront::imap::test {

struct Recorded {
    std::string kind;    // "line", "literal", "error"
    std::string data;    // line bytes, or all bytes of one literal
    std::string detail;  // flags and parser state at this event

    bool operator==(const Recorded& other) const {
        return kind == other.kind && data == other.data && detail == other.detail;
    }
};

inline std::ostream& operator<<(std::ostream& os, const Recorded& r) {
    return os << r.kind << " [" << r.detail << "] " << std::string_view(r.data).substr(0, 80);
}

inline std::string describe(const CommandFramer& framer, const CommandEvent& event) {
    std::string d;
    if (event.kind == CommandEvent::Kind::Error) {
        d += "error=" + std::to_string(static_cast<int>(event.error));
        d += event.fatal ? " fatal" : "";
    }
    if (event.kind != CommandEvent::Kind::LiteralData) {
        d += " kind=" + std::to_string(static_cast<int>(event.line_kind));
        d += event.first_line ? " first" : "";
        d += event.command_complete ? " complete" : "";
        if (event.literal) {
            d += " literal=" + std::to_string(event.literal->size);
            d += event.literal->synchronizing ? "" : "+";
            d += event.literal->binary ? "~" : "";
        }
        d += " tag=" + std::string(framer.tag()) + " name=" + std::string(framer.name());
    }
    return d;
}

inline std::string describe(const ResponseFramer& framer, const ResponseEvent& event) {
    std::string d;
    if (event.kind == ResponseEvent::Kind::Line) {
        d += "type=" + std::to_string(static_cast<int>(framer.type()));
        d += event.first_line ? " first" : "";
        d += event.response_complete ? " complete" : "";
        d += event.literal ? " literal=" + std::to_string(*event.literal) : "";
        d += " tag=" + std::string(framer.tag()) + " status=" + std::string(framer.status());
    }
    return d;
}

inline const char* kind_name(CommandEvent::Kind kind) {
    switch (kind) {
    case CommandEvent::Kind::Line: return "line";
    case CommandEvent::Kind::LiteralData: return "literal";
    case CommandEvent::Kind::Error: return "error";
    case CommandEvent::Kind::NeedMore: break;
    }
    return "needmore";
}

inline const char* kind_name(ResponseEvent::Kind kind) {
    switch (kind) {
    case ResponseEvent::Kind::Line: return "line";
    case ResponseEvent::Kind::LiteralData: return "literal";
    case ResponseEvent::Kind::Error: return "error";
    case ResponseEvent::Kind::NeedMore: break;
    }
    return "needmore";
}

inline bool is_fatal(const CommandEvent& event) { return event.kind == CommandEvent::Kind::Error && event.fatal; }

// Every response framing error ends the stream.
inline bool is_fatal(const ResponseEvent& event) { return event.kind == ResponseEvent::Kind::Error; }

// Feeds `chunks` in order into `framer`, each until it asks for more.
template <typename Framer>
std::vector<Recorded> feed_chunks(Framer& framer, const std::vector<std::string_view>& chunks) {
    std::vector<Recorded> out;
    bool literal_open = false;
    for (std::string_view chunk : chunks) {
        for (int guard = 0;; ++guard) {
            REQUIRE(guard < 1'000'000);
            const auto event = framer.next(chunk);
            REQUIRE(event.consumed <= chunk.size());
            const std::string kind = kind_name(event.kind);
            if (kind == "needmore") {
                REQUIRE(event.consumed == chunk.size());
                break;
            }
            if (kind == "literal") {
                REQUIRE(event.data.data() == chunk.data());
                if (!literal_open) {
                    out.push_back({kind, {}, {}});
                }
                out.back().data.append(event.data);
                literal_open = !event.literal_complete;
                if (event.literal_complete) {
                    out.back().detail = "complete";
                }
            } else {
                out.push_back({kind, std::string(event.data), describe(framer, event)});
            }
            chunk.remove_prefix(event.consumed);
            if (is_fatal(event)) {
                return out;
            }
        }
    }
    return out;
}

template <typename Framer>
std::vector<Recorded> feed_whole(std::string_view input, Limits limits = {}) {
    Framer framer(limits);
    return feed_chunks(framer, {input});
}

template <typename Framer>
std::vector<Recorded> feed_split(std::string_view input, std::size_t at, Limits limits = {}) {
    Framer framer(limits);
    return feed_chunks(framer, {input.substr(0, at), input.substr(at)});
}

template <typename Framer>
std::vector<Recorded> feed_bytewise(std::string_view input, Limits limits = {}) {
    Framer framer(limits);
    std::vector<std::string_view> chunks;
    for (std::size_t i = 0; i < input.size(); ++i) {
        chunks.push_back(input.substr(i, 1));
    }
    return feed_chunks(framer, chunks);
}

// Every split into two chunks and the byte-at-a-time feed give the same
// events as the whole input; returns those events.
template <typename Framer>
std::vector<Recorded> feed_every_way(std::string_view input, Limits limits = {}) {
    const auto whole = feed_whole<Framer>(input, limits);
    for (std::size_t at = 0; at <= input.size(); ++at) {
        INFO("split at " << at);
        REQUIRE(feed_split<Framer>(input, at, limits) == whole);
    }
    REQUIRE(feed_bytewise<Framer>(input, limits) == whole);
    return whole;
}

// The bytes of all events, in order: must equal what was fed.
inline std::string joined(const std::vector<Recorded>& events) {
    std::string all;
    for (const auto& event : events) {
        all += event.data;
    }
    return all;
}

}  // namespace imapfront::imap::test
