#include "imap_connection.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace loadgen {

namespace {

constexpr std::size_t kMaxLine = 1 << 20;

int connect_socket(const Endpoint& endpoint, bool& in_progress) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(endpoint.port);
    inet_pton(AF_INET, endpoint.host.c_str(), &address.sin_addr);
    int rc = connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address);
    in_progress = rc != 0 && errno == EINPROGRESS;
    if (rc != 0 && !in_progress) {
        ::close(fd);
        return -1;
    }
    return fd;
}

// The "{n}" at the end of a line, if any.
bool trailing_literal(const std::string& line, std::uint64_t& size) {
    if (line.empty() || line.back() != '}') {
        return false;
    }
    auto open = line.rfind('{');
    if (open == std::string::npos || open + 2 > line.size()) {
        return false;
    }
    std::uint64_t value = 0;
    bool digits = false;
    for (std::size_t i = open + 1; i + 1 < line.size(); ++i) {
        char c = line[i];
        if (c == '+' && i + 2 == line.size()) {
            break;
        }
        if (c < '0' || c > '9') {
            return false;
        }
        value = value * 10 + static_cast<std::uint64_t>(c - '0');
        digits = true;
    }
    size = value;
    return digits;
}

}  // namespace

ImapConnection::~ImapConnection() { close(); }

void ImapConnection::open(const Endpoint& endpoint, Done on_greeting, Failed on_failure) {
    close();
    on_greeting_ = std::move(on_greeting);
    on_failure_ = std::move(on_failure);
    greeted_ = false;
    in_literal_response_ = false;
    literal_left_ = 0;
    line_.clear();
    out_.clear();
    tls_ = endpoint.tls;
    bool in_progress = false;
    fd_ = connect_socket(endpoint, in_progress);
    if (fd_ < 0) {
        std::string why = std::string("connect: ") + std::strerror(errno);
        loop_.post([this, why] { fail(why); });
        return;
    }
    if (tls_ != nullptr) {
        ssl_ = tls_->make_ssl(fd_, endpoint.server_name);
    }
    phase_ = in_progress ? Phase::connecting : (ssl_ != nullptr ? Phase::handshaking : Phase::open);
    want_write_ = phase_ != Phase::open;
    loop_.add(fd_, this, want_write_);
}

void ImapConnection::close() {
    if (ssl_ != nullptr && phase_ == Phase::open) {
        // close_notify, as a well-behaved client sends it: OpenSSL marks the
        // tickets of a connection dropped without one as not resumable, and
        // the resumption scenario would then offer tickets it knows are dead.
        SSL_shutdown(ssl_);
    }
    if (fd_ >= 0) {
        loop_.remove(fd_);
        ::close(fd_);
        fd_ = -1;
    }
    if (ssl_ != nullptr) {
        SSL_free(ssl_);
        ssl_ = nullptr;
    }
    phase_ = Phase::closed;
}

void ImapConnection::fail(const std::string& why) {
    close();
    if (on_failure_) {
        auto callback = on_failure_;
        callback(why);
    }
}

void ImapConnection::command(const std::string& text, Done on_done) {
    pending_tag_ = "T" + std::to_string(++next_tag_);
    on_done_ = std::move(on_done);
    send_raw(pending_tag_ + " " + text + "\r\n");
}

void ImapConnection::send_raw(const std::string& bytes) {
    out_ += bytes;
    if (phase_ == Phase::open) {
        flush();
    }
}

void ImapConnection::update_interest() {
    bool want = !out_.empty() || phase_ == Phase::connecting;
    if (want != want_write_ && fd_ >= 0) {
        want_write_ = want;
        loop_.modify(fd_, this, want_write_);
    }
}

void ImapConnection::flush() {
    while (!out_.empty() && fd_ >= 0) {
        long written = 0;
        if (ssl_ != nullptr) {
            int rc = SSL_write(ssl_, out_.data(), static_cast<int>(out_.size()));
            if (rc <= 0) {
                int error = SSL_get_error(ssl_, rc);
                if (error == SSL_ERROR_WANT_WRITE || error == SSL_ERROR_WANT_READ) {
                    break;
                }
                fail("TLS write failed");
                return;
            }
            written = rc;
        } else {
            written = ::send(fd_, out_.data(), out_.size(), MSG_NOSIGNAL);
            if (written < 0) {
                if (errno == EAGAIN || errno == EWOULDBLOCK) {
                    break;
                }
                fail(std::string("send: ") + std::strerror(errno));
                return;
            }
        }
        out_.erase(0, static_cast<std::size_t>(written));
    }
    update_interest();
}

void ImapConnection::advance_handshake() {
    int rc = SSL_connect(ssl_);
    if (rc == 1) {
        tls_->record_handshake(ssl_);
        phase_ = Phase::open;
        want_write_ = true;  // forces update_interest to re-arm for reads only
        flush();
        read_available();
        return;
    }
    int error = SSL_get_error(ssl_, rc);
    if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) {
        bool want = error == SSL_ERROR_WANT_WRITE;
        if (want != want_write_) {
            want_write_ = want;
            loop_.modify(fd_, this, want_write_);
        }
        return;
    }
    fail("TLS handshake failed");
}

void ImapConnection::on_events(std::uint32_t events) {
    if (fd_ < 0) {
        return;  // a stale event for a descriptor closed earlier in this batch
    }
    if (phase_ == Phase::connecting) {
        int error = 0;
        socklen_t length = sizeof error;
        getsockopt(fd_, SOL_SOCKET, SO_ERROR, &error, &length);
        if (error != 0) {
            fail(std::string("connect: ") + std::strerror(error));
            return;
        }
        phase_ = ssl_ != nullptr ? Phase::handshaking : Phase::open;
        if (phase_ == Phase::open) {
            update_interest();
        }
    }
    if (phase_ == Phase::handshaking) {
        advance_handshake();
        return;
    }
    if ((events & EPOLLOUT) != 0) {
        flush();
    }
    if (fd_ >= 0 && (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) != 0) {
        read_available();
    }
}

void ImapConnection::read_available() {
    static std::array<char, 256 * 1024> buffer;
    while (fd_ >= 0) {
        long got = 0;
        if (ssl_ != nullptr) {
            int rc = SSL_read(ssl_, buffer.data(), static_cast<int>(buffer.size()));
            if (rc <= 0) {
                int error = SSL_get_error(ssl_, rc);
                if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) {
                    return;
                }
                fail("connection closed by server");
                return;
            }
            got = rc;
        } else {
            got = ::recv(fd_, buffer.data(), buffer.size(), 0);
            if (got < 0) {
                if (errno == EAGAIN || errno == EWOULDBLOCK) {
                    return;
                }
                fail(std::string("recv: ") + std::strerror(errno));
                return;
            }
            if (got == 0) {
                fail("connection closed by server");
                return;
            }
        }
        consume(buffer.data(), static_cast<std::size_t>(got));
    }
}

void ImapConnection::consume(const char* data, std::size_t size) {
    const char* end = data + size;
    while (data < end && fd_ >= 0) {
        if (literal_left_ > 0) {
            auto take = std::min<std::uint64_t>(literal_left_, static_cast<std::uint64_t>(end - data));
            literal_left_ -= take;
            literal_bytes_ += take;
            data += take;
            continue;
        }
        const auto* newline = static_cast<const char*>(std::memchr(data, '\n', static_cast<std::size_t>(end - data)));
        if (newline == nullptr) {
            line_.append(data, end);
            if (line_.size() > kMaxLine) {
                fail("response line too long");
            }
            return;
        }
        line_.append(data, newline);
        data = newline + 1;
        handle_line();
        line_.clear();
    }
}

void ImapConnection::handle_line() {
    if (!line_.empty() && line_.back() == '\r') {
        line_.pop_back();
    }
    bool starts_response = !in_literal_response_;
    in_literal_response_ = trailing_literal(line_, literal_left_);
    if (!starts_response) {
        return;
    }
    if (!greeted_) {
        greeted_ = true;
        if (on_greeting_) {
            on_greeting_(line_.rfind("* OK", 0) == 0);
        }
        return;
    }
    if (line_.empty()) {
        return;
    }
    if (line_[0] == '+') {
        if (on_continuation_) {
            auto callback = std::move(on_continuation_);
            on_continuation_ = nullptr;
            callback();
        }
        return;
    }
    if (!pending_tag_.empty() && line_.size() > pending_tag_.size() &&
        line_.compare(0, pending_tag_.size(), pending_tag_) == 0 && line_[pending_tag_.size()] == ' ') {
        bool ok = line_.compare(pending_tag_.size() + 1, 2, "OK") == 0;
        pending_tag_.clear();
        auto callback = std::move(on_done_);
        on_done_ = nullptr;
        if (callback) {
            callback(ok);
        }
    }
}

}  // namespace loadgen
