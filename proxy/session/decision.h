// What a command handler hands back to the session core: a reply to write,
// or something only the core can do (start TLS, log in, log out).
#pragma once

#include <string>

namespace imapfront::session {

struct Decision {
    enum class Kind {
        None,      // the handler has nothing to add (it took the command over, e.g. SELECTA)
        Reply,     // write `text` to the client
        Continue,  // write `text` (a SASL challenge) and read the next line raw
        StartTls,  // write `text` (the tagged OK), then the TLS handshake
        Login,     // log in to the backend as `user` with `password`, answering under `tag`
        Refuse,    // a failed login: answer `tag` `text`, after the failure delay when `count_failure`
        Logout,    // BYE, the tagged OK under `tag`, close
    };
    Kind kind = Kind::None;
    std::string text;
    std::string tag;
    std::string user;
    std::string password;
    bool count_failure = false;
    bool invalid = false;  // the command was not valid here: counts against limits.bad_commands before login

    static Decision reply(std::string text) { return {Kind::Reply, std::move(text), {}, {}, {}, false}; }
    static Decision refuse(std::string tag, std::string answer, bool count_failure) {
        return {Kind::Refuse, std::move(answer), std::move(tag), {}, {}, count_failure};
    }
};

}  // namespace imapfront::session
