#include "session_fixture.h"

#include "config/config.h"
#include "proxy/imap/sasl.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cctype>
#include <csignal>
#include <cstdlib>
#include <utility>

namespace imapfront::session::testing {

using namespace std::chrono_literals;

bool run_until(net::EventLoop& loop, const std::function<bool()>& done, std::chrono::milliseconds limit) {
    if (done()) return true;
    bool timed_out = false;
    net::Timer poll(loop);
    net::Timer guard(loop);
    std::function<void()> tick = [&] {
        if (done()) {
            loop.stop();
            return;
        }
        poll.start(2ms, tick);
    };
    poll.start(0ms, tick);
    guard.start(limit, [&] {
        timed_out = true;
        loop.stop();
    });
    loop.run();
    return !timed_out && done();
}

namespace {

std::string upper(std::string text) {
    std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::toupper(c); });
    return text;
}

// Splits "a b "c d"" into words; a quoted string loses its quotes.
std::vector<std::string> words(std::string_view text) {
    std::vector<std::string> out;
    std::size_t i = 0;
    while (i < text.size()) {
        if (text[i] == ' ') {
            ++i;
            continue;
        }
        std::string word;
        if (text[i] == '"') {
            for (++i; i < text.size() && text[i] != '"'; ++i) {
                if (text[i] == '\\' && i + 1 < text.size()) ++i;
                word += text[i];
            }
            ++i;
        } else {
            while (i < text.size() && text[i] != ' ') word += text[i++];
        }
        out.push_back(std::move(word));
    }
    return out;
}

}  // namespace

struct ScriptedBackend::Connection final : net::StreamHandler {
    ScriptedBackend& owner;
    std::unique_ptr<net::Stream> stream;
    std::string buffer;
    std::string command;           // the command being assembled, literals inline
    std::size_t literal_left = 0;  // literal bytes still to come
    std::string auth_tag;          // AUTHENTICATE waiting for its response line
    bool open = true;

    Connection(ScriptedBackend& o, std::unique_ptr<net::Stream> s) : owner(o), stream(std::move(s)) {}

    void on_data(std::string_view bytes) override {
        buffer.append(bytes);
        while (open) {
            if (literal_left > 0) {
                const std::size_t take = std::min(literal_left, buffer.size());
                if (take == 0) return;
                command.append(buffer, 0, take);
                buffer.erase(0, take);
                literal_left -= take;
                continue;
            }
            const auto end = buffer.find("\r\n");
            if (end == std::string::npos) return;
            std::string line = buffer.substr(0, end);
            buffer.erase(0, end + 2);
            command += line;
            // A line ending in {N} or {N+} announces a literal.
            if (!line.empty() && line.back() == '}') {
                const auto open_brace = line.rfind('{');
                if (open_brace != std::string::npos) {
                    std::string count = line.substr(open_brace + 1, line.size() - open_brace - 2);
                    const bool non_sync = !count.empty() && count.back() == '+';
                    if (non_sync) count.pop_back();
                    if (!count.empty() && std::all_of(count.begin(), count.end(), ::isdigit)) {
                        if (!non_sync && owner.script_.refuse_sync_literals) {
                            owner.commands_.push_back(std::exchange(command, ""));
                            reply(line.substr(0, line.find(' ')), "NO [TOOBIG] Message too large");
                            continue;
                        }
                        literal_left = std::stoul(count);
                        command += "\r\n";
                        if (!non_sync) stream->write("+ go ahead\r\n");
                        continue;
                    }
                }
            }
            std::string whole = std::move(command);
            command.clear();
            handle(whole);
        }
    }

    void on_closed(std::string_view) override { open = false; }

    void reply(const std::string& tag, const std::string& text) { stream->write(tag + " " + text + "\r\n"); }

    bool check_login(const std::string& user, const std::string& password) const {
        const auto found = owner.script_.passwords.find(user);
        return found != owner.script_.passwords.end() && found->second == password;
    }

    void finish_authenticate(const std::string& tag, const std::string& response) {
        const auto decoded = imap::base64_decode(response);
        const auto plain = decoded ? imap::decode_sasl_plain(*decoded) : std::nullopt;
        if (plain && check_login(plain->authcid, plain->password)) {
            reply(tag, "OK [CAPABILITY " + owner.script_.capabilities + "] Logged in");
        } else {
            reply(tag, "NO [AUTHENTICATIONFAILED] Authentication failed.");
        }
    }

    void handle(const std::string& whole) {
        owner.commands_.push_back(whole);
        if (!auth_tag.empty()) {
            std::string tag = std::exchange(auth_tag, "");
            finish_authenticate(tag, whole);
            return;
        }
        const auto parts = words(whole);
        if (parts.size() < 2) {
            stream->write("* BAD no tag or command\r\n");
            return;
        }
        const std::string& tag = parts[0];
        const std::string name = upper(parts[1]);
        const auto scripted = owner.script_.answers.find(name);
        if (scripted != owner.script_.answers.end()) {
            std::string answer = scripted->second;
            for (auto at = answer.find("$tag"); at != std::string::npos; at = answer.find("$tag")) {
                answer.replace(at, 4, tag);
            }
            stream->write(answer);
            return;
        }
        if (name == "CAPABILITY") {
            stream->write("* CAPABILITY " + owner.script_.capabilities + "\r\n");
            reply(tag, "OK Capability completed");
        } else if (name == "AUTHENTICATE" && parts.size() >= 3 && upper(parts[2]) == "PLAIN") {
            if (parts.size() >= 4) {
                finish_authenticate(tag, parts[3]);
            } else {
                auth_tag = tag;
                stream->write("+ \r\n");
            }
        } else if (name == "LOGIN" && parts.size() >= 4) {
            if (check_login(parts[2], parts[3])) {
                reply(tag, "OK [CAPABILITY " + owner.script_.capabilities + "] Logged in");
            } else {
                reply(tag, "NO [AUTHENTICATIONFAILED] Authentication failed.");
            }
        } else if (name == "SELECT" || name == "EXAMINE") {
            if (parts.size() >= 3 && upper(parts[2]) == "MISSING") {
                reply(tag, "NO [NONEXISTENT] Mailbox doesn't exist");
                return;
            }
            stream->write("* FLAGS (\\Seen \\Deleted)\r\n* 3 EXISTS\r\n* 0 RECENT\r\n* OK [UIDVALIDITY 7] Ok\r\n");
            reply(tag, name == "SELECT" ? "OK [READ-WRITE] Select completed" : "OK [READ-ONLY] Examine completed");
        } else if (name == "APPEND") {
            reply(tag, "OK [APPENDUID 7 " + std::to_string(owner.commands_.size()) + "] Append completed");
        } else if (name == "ID") {
            stream->write("* ID NIL\r\n");
            reply(tag, "OK Id completed");
        } else if (name == "LOGOUT") {
            stream->write("* BYE Logging out\r\n");
            reply(tag, "OK Logout completed");
            stream->close();
        } else if (name == "NOOP" || name == "UNSELECT" || name == "ENABLE" || name == "CHECK") {
            reply(tag, "OK " + parts[1] + " completed");
        } else {
            reply(tag, "BAD Unknown command");
        }
    }
};

ScriptedBackend::ScriptedBackend(net::EventLoop& loop, Script script)
    : loop_(loop),
      script_(std::move(script)),
      listener_(loop, "127.0.0.1", 0, [this](std::unique_ptr<net::Stream> stream) { accept(std::move(stream)); }) {}

ScriptedBackend::~ScriptedBackend() = default;

void ScriptedBackend::accept(std::unique_ptr<net::Stream> stream) {
    ++accepted_;
    auto& connection = connections_.emplace_back(std::make_unique<Connection>(*this, std::move(stream)));
    connection->stream->set_handler(connection.get());
    connection->stream->write("* OK [CAPABILITY " + script_.capabilities + "] scripted backend ready\r\n");
}

int ScriptedBackend::open_connections() const {
    return static_cast<int>(std::count_if(connections_.begin(), connections_.end(),
                                          [](const auto& connection) { return connection->open; }));
}

bool ScriptedBackend::received(std::string_view command_prefix) const {
    return std::any_of(commands_.begin(), commands_.end(), [&](const std::string& command) {
        const auto space = command.find(' ');
        return space != std::string::npos && std::string_view(command).substr(space + 1).rfind(command_prefix, 0) == 0;
    });
}

void TestHost::session_finished(ClientSession& session) {
    ++finished;
    ClientSession* raw = &session;
    loop_.defer([this, raw] { sessions_.erase(raw); });
}

ClientSession& TestHost::add(std::unique_ptr<ClientSession> session) {
    ClientSession* raw = session.get();
    sessions_.emplace(raw, std::move(session));
    return *raw;
}

ClientSession& TestHost::only() {
    REQUIRE(sessions_.size() == 1);
    return *sessions_.begin()->second;
}

TestClient::TestClient(net::EventLoop& loop, std::uint16_t port) : loop_(loop) {
    std::string error;
    bool done = false;
    connect_ = std::make_unique<net::TcpConnect>(loop, "127.0.0.1", port,
                                                 [&](std::unique_ptr<net::Stream> stream, std::string e) {
                                                     stream_ = std::move(stream);
                                                     error = std::move(e);
                                                     done = true;
                                                 });
    REQUIRE(run_until(loop, [&] { return done; }));
    connect_.reset();
    INFO(error);
    REQUIRE(stream_ != nullptr);
    stream_->set_handler(this);
}

bool TestClient::wait_for(std::string_view text, std::chrono::milliseconds limit) {
    const bool found = run_until(
        loop_, [&] { return unread_.find(text) != std::string::npos; }, limit);
    if (found) unread_.erase(0, unread_.find(text) + text.size());
    return found;
}

bool TestClient::wait_closed(std::chrono::milliseconds limit) {
    return run_until(
        loop_, [&] { return closed_; }, limit);
}

void TestClient::close() {
    if (stream_ && !closed_) stream_->close();
    run_until(
        loop_, [&] { return closed_; }, 2s);
    stream_.reset();
}

std::string basic_config(std::uint16_t backend_port, const std::string& extra) {
    return "listeners:\n"
           "  - { name: test, address: \"127.0.0.1:1143\", allow_plaintext_auth: true }\n"
           "backends:\n"
           "  b1: { address: \"127.0.0.1:" +
           std::to_string(backend_port) +
           "\", tls: none }\n"
           "pools:\n"
           "  p:\n"
           "    servers: [b1]\n"
           "    balance: first\n"
           "    master: { user: proxy, password: \"env:IMAPFRONT_TEST_MASTER\", style: authzid }\n"
           "vhosts:\n"
           "  example.com: { pool: p, username: full }\n" +
           extra;
}

SessionFixture::SessionFixture(ScriptedBackend::Script script, const std::string& extra_yaml)
    : backend(loop, std::move(script)),
      host(loop) {
    ::setenv("IMAPFRONT_TEST_MASTER", "masterpw", 1);
    // As the proxy process does: a write to a peer that hung up is an error, not a signal.
    std::signal(SIGPIPE, SIG_IGN);
    const auto loaded = config::load_string(basic_config(backend.port(), extra_yaml), "test.yaml", "/");
    std::string errors;
    for (const auto& error : loaded.errors) errors += error.to_string() + "\n";
    INFO(errors);
    REQUIRE(loaded.config != nullptr);
    REQUIRE(loaded.errors.empty());
    snapshot_ = make_snapshot(loaded.config);
    listener_ = std::make_unique<net::TcpListener>(loop, "127.0.0.1", 0, [this](std::unique_ptr<net::Stream> stream) {
        const net::Endpoint peer = stream->peer();
        auto& session = host.add(std::make_unique<ClientSession>(host, snapshot_, snapshot_->config->listeners.front(),
                                                                 std::move(stream), peer, next_id_++));
        session.start();
    });
}

SessionFixture::~SessionFixture() = default;

std::unique_ptr<TestClient> SessionFixture::connect() {
    auto client = std::make_unique<TestClient>(loop, listener_->port());
    REQUIRE(client->wait_for("* OK"));
    REQUIRE(client->wait_for("\r\n"));
    return client;
}

std::unique_ptr<TestClient> SessionFixture::logged_in() {
    auto client = connect();
    client->send("a1 LOGIN alice@example.com secret\r\n");
    REQUIRE(client->wait_for("a1 OK"));
    REQUIRE(client->wait_for("\r\n"));
    return client;
}

bool SessionFixture::all_gone(std::string& leftover) {
    listener_.reset();
    run_until(
        loop, [&] { return host.live() == 0 && backend.open_connections() == 0; }, 3s);
    // A few more turns let close callbacks run; the timers of run_until are
    // closing once it returns, so they are not counted.
    run_until(
        loop, [] { return false; }, 20ms);
    if (host.live() != 0) {
        leftover = std::to_string(host.live()) + " session(s) left";
        return false;
    }
    if (backend.open_connections() != 0) {
        leftover = std::to_string(backend.open_connections()) + " backend connection(s) left";
        return false;
    }
    // The backend's own listener is the one handle the fixture still owns.
    if (loop.open_handles() != 1) {
        leftover = std::to_string(loop.open_handles()) + " libuv handle(s) open, 1 expected (backend listener)";
        return false;
    }
    return true;
}

}  // namespace imapfront::session::testing
