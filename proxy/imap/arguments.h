// Parsing of command arguments (astring, quoted, literal) and encoding of the
// values imapfront sends. Encode, never format: every value that reaches a
// backend passes encode_astring(), which picks atom, quoted string or literal.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace imapfront::imap {

struct ParsedArguments {
    bool ok = false;
    std::vector<std::string> values;  // decoded astrings / nstrings-as-strings
    std::string error;                // human text for a BAD answer when !ok
};

// `wire` is the command exactly as the client sent it after the command name:
// lines and literal data joined (" bob {6}\r\nsecret\r\n"), final CRLF
// included. Accepts atoms, quoted strings (with \" and \\ escapes) and
// literals ({n}, {n+}) and nothing else.
ParsedArguments parse_astrings(std::string_view wire);

// True when s can be sent as an IMAP atom (ASTRING-CHAR+, non-empty).
bool is_atom(std::string_view s);

// One command as pieces to write in order. Each piece but the last ends with a
// synchronizing literal announcement: wait for "+" before writing the next.
using EncodedCommand = std::vector<std::string>;

// Appends `value` to `out` as an atom, a quoted string, or a literal (when it
// holds CR, LF, NUL or 8-bit bytes). With literal_plus the literal is {n+}
// (no wait); else {n} and a new piece starts after the announcement.
void encode_astring(EncodedCommand& out, std::string_view value, bool literal_plus);

// "tag NAME arg1 arg2\r\n", arguments encoded with encode_astring().
EncodedCommand encode_command(std::string_view tag, std::string_view name, const std::vector<std::string>& args,
                              bool literal_plus);

// Quotes `value` for a response (LISTA member, ID values): atom when it is
// one, else a quoted string. Returns nullopt when only a literal could carry it.
std::optional<std::string> quote_for_response(std::string_view value);

}  // namespace imapfront::imap
