#pragma once

#include "event_loop.h"
#include "imap_connection.h"
#include "options.h"

#include <string>

namespace loadgen {

// Blocking steps for the one-connection scenarios: each runs the loop until
// its reply arrives (bounded by a generous timeout) and fills `error` when it
// fails.
bool open_sync(EventLoop& loop, ImapConnection& connection, const Endpoint& endpoint, std::string& error);
bool command_sync(EventLoop& loop, ImapConnection& connection, const std::string& text, std::string& error);

// Where the options point; tls is null for plaintext.
Endpoint make_endpoint(const Options& options, TlsClient* tls);

// "LOGIN "user" "password"" for names and passwords without quotes or backslashes.
std::string login_command(const std::string& user, const std::string& password);

}  // namespace loadgen
