#include "scripted_backend.h"

#include "proxy/imap/sasl.h"

#include <algorithm>
#include <cctype>
#include <optional>
#include <utility>

namespace imapfront::session::testing {

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
    : script_(std::move(script)),
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

void ScriptedBackend::forget_closed() {
    std::erase_if(connections_, [](const auto& connection) { return !connection->open; });
}

}  // namespace imapfront::session::testing
