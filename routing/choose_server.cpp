// Pool -> server choice. Rendezvous hashing gives every identity a stable
// server that only changes when that server leaves (or a new server wins the
// identity), so a server change moves about 1/n of the users. The hash is
// fixed (not std::hash) so that every imapfront instance agrees.
#include "routing/route.h"

#include <cstdint>

namespace imapfront::routing {

namespace {

// FNV-1a over the bytes, then the MurmurHash3 finaliser: FNV alone mixes the
// high bits poorly, the finaliser spreads every input bit over all 64.
std::uint64_t rendezvous_weight(std::string_view identity_key, std::string_view backend_name) {
    std::uint64_t hash = 0xcbf29ce484222325ULL;
    const auto feed = [&hash](std::string_view bytes) {
        for (const char c : bytes) {
            hash ^= static_cast<unsigned char>(c);
            hash *= 0x100000001b3ULL;
        }
    };
    feed(identity_key);
    feed(std::string_view("\0", 1));  // keeps ("ab","c") and ("a","bc") apart
    feed(backend_name);
    hash ^= hash >> 33;
    hash *= 0xff51afd7ed558ccdULL;
    hash ^= hash >> 33;
    hash *= 0xc4ceb9fe1a85ec53ULL;
    hash ^= hash >> 33;
    return hash;
}

const config::Backend* find_backend(const config::Config& config, const std::string& name) {
    const auto it = config.backends.find(name);
    return it == config.backends.end() ? nullptr : &it->second;
}

}  // namespace

const config::Backend* choose_server(const config::Config& config, const config::Pool& pool,
                                     std::string_view identity_key, const IsUp& is_up) {
    const config::Backend* chosen = nullptr;
    std::uint64_t best_weight = 0;
    for (const std::string& name : pool.servers) {
        const config::Backend* backend = find_backend(config, name);
        if (backend == nullptr || !is_up(name)) {
            continue;
        }
        if (pool.balance == config::Balance::First) {
            return backend;
        }
        const std::uint64_t weight = rendezvous_weight(identity_key, name);
        if (chosen == nullptr || weight > best_weight) {
            chosen = backend;
            best_weight = weight;
        }
    }
    return chosen;
}

}  // namespace imapfront::routing
