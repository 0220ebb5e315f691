// Supervisor: `imapfront --workers N` runs N worker processes, each a whole
// data plane with its own descriptor limit (the listeners are shared through
// SO_REUSEPORT), and keeps the control plane itself: the admin endpoint over
// every worker's metrics, config reloads, and drains. A worker that dies is
// started again; one that cannot start stops the whole proxy.
#pragma once

#include <string>

namespace imapfront::process {

int run_supervisor(const std::string& config_path, unsigned threads, unsigned workers);

}  // namespace imapfront::process
