// ServiceNotifier: tells a service manager (systemd, Type=notify) how the
// process is doing, with the sd_notify protocol: one datagram of
// newline-separated KEY=VALUE lines to the unix socket $NOTIFY_SOCKET names.
// Without that variable (not started by systemd, or a worker whose
// supervisor speaks for it) every call does nothing.
#pragma once

#include <string>
#include <string_view>

namespace imapfront::process {

class ServiceNotifier {
public:
    // Does nothing: for processes that must not speak to the service manager.
    ServiceNotifier() = default;
    // A path, or an abstract socket name starting with '@'.
    explicit ServiceNotifier(std::string socket);
    // The socket $NOTIFY_SOCKET names, if any.
    static ServiceNotifier from_environment();

    void ready() const { send("READY=1"); }
    void reloading() const { send("RELOADING=1"); }
    void stopping() const { send("STOPPING=1"); }

    // Sends `state` as one datagram; false when there is no socket or it
    // could not be sent (the service manager gone: nothing to do about it).
    bool send(std::string_view state) const;

private:
    std::string socket_;
};

}  // namespace imapfront::process
