// LineBuffer: hands back a finished line as a view, copying only when the
// line arrived over several calls. Shared by both framers.
#pragma once

#include <string>
#include <string_view>

namespace imapfront::imap {

class LineBuffer {
public:
    // Call at the start of every next(): a view handed out by finish() is
    // valid only until then.
    void release() {
        if (released_) {
            bytes_.clear();
            released_ = false;
        }
    }

    // The line ends at input[end - 1]. A view into `input` when the whole
    // line lies there, else into the buffer.
    std::string_view finish(std::string_view input, std::size_t end) {
        const std::string_view tail = input.substr(0, end);
        if (bytes_.empty()) {
            return tail;
        }
        bytes_.append(tail);
        released_ = true;
        return bytes_;
    }

    // The line goes on past `input`: keep its bytes for finish().
    void keep(std::string_view input) { bytes_.append(input); }

private:
    std::string bytes_;
    bool released_ = false;
};

}  // namespace imapfront::imap
