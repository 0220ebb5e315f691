// Character classes of the IMAP grammar (RFC 3501 section 9), shared by the
// framers and the argument codec so that all of them agree on what an atom is.
#pragma once

namespace imapfront::imap {

// ATOM-CHAR: any 7-bit CHAR except atom-specials "(" ")" "{" SP CTL "%" "*"
// DQUOTE "\" "]".
constexpr bool is_atom_char(unsigned char c) {
    if (c <= 0x20 || c >= 0x7f) {
        return false;
    }
    switch (c) {
    case '(':
    case ')':
    case '{':
    case '%':
    case '*':
    case '"':
    case '\\':
    case ']': return false;
    default: return true;
    }
}

// ASTRING-CHAR: ATOM-CHAR or resp-specials "]".
constexpr bool is_astring_char(unsigned char c) { return is_atom_char(c) || c == ']'; }

// tag: 1*<any ASTRING-CHAR except "+">.
constexpr bool is_tag_char(unsigned char c) { return is_astring_char(c) && c != '+'; }

constexpr bool is_digit(unsigned char c) { return c >= '0' && c <= '9'; }

constexpr char to_upper_ascii(char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c; }

}  // namespace imapfront::imap
