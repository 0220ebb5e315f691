// Feeds bytes to the PROXY header parser whole and cut at a point taken from
// the data: a cut header may only ask for more, never be read differently;
// whatever parses re-encodes as v2 to the same addresses; and the CIDR
// matcher agrees with itself on the same bytes taken as an address.
#include "proxy/net/proxy_protocol.h"

#include "fuzz_check.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

using namespace imapfront::net;
using Status = ProxyParse::Status;

namespace {

bool same_addresses(const ProxyAddresses& a, const ProxyAddresses& b) {
    return a.source_ip == b.source_ip && a.source_port == b.source_port && a.destination_ip == b.destination_ip &&
           a.destination_port == b.destination_port && a.local == b.local;
}

void check_prefix(std::string_view input, const ProxyParse& whole, std::size_t cut) {
    const ProxyParse prefix = parse_proxy_header(input.substr(0, cut));
    if (whole.status == Status::Done && cut < whole.consumed) {
        FUZZ_CHECK(prefix.status == Status::NeedMore);
    }
    if (whole.status == Status::NeedMore) {
        FUZZ_CHECK(prefix.status == Status::NeedMore);
    }
    if (prefix.status == Status::Done) {
        FUZZ_CHECK(whole.status == Status::Done);
        FUZZ_CHECK(prefix.consumed == whole.consumed);
        FUZZ_CHECK(same_addresses(prefix.addresses, whole.addresses));
    }
}

void check_round_trip(const ProxyAddresses& addresses) {
    const auto header = build_proxy_v2(addresses.source_ip, addresses.source_port, addresses.destination_ip,
                                       addresses.destination_port);
    FUZZ_CHECK(header.has_value());
    const ProxyParse again = parse_proxy_header(*header);
    FUZZ_CHECK(again.status == Status::Done);
    FUZZ_CHECK(again.consumed == header->size());
    FUZZ_CHECK(same_addresses(again.addresses, addresses));
}

// An address is in its own bare network exactly when it is an address at all,
// which is also exactly when the whole address space holds it.
void check_networks(std::string_view input) {
    const std::string text(input.substr(0, input.find('\n')));
    const bool valid = address_in_networks(text, {"0.0.0.0/0", "::/0"});
    FUZZ_CHECK(address_in_networks(text, {text}) == valid);
    address_in_networks("10.1.2.3", {text});
    address_in_networks("2001:db8::1", {text});
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2) {
        return 0;
    }
    const std::string_view input(reinterpret_cast<const char*>(data + 2), size - 2);
    const std::size_t cut = (static_cast<std::size_t>(data[0]) << 8 | data[1]) % (input.size() + 1);

    const ProxyParse whole = parse_proxy_header(input);
    switch (whole.status) {
    case Status::Done:
        FUZZ_CHECK(whole.consumed > 0 && whole.consumed <= input.size());
        FUZZ_CHECK(whole.error.empty());
        if (!whole.addresses.local) {
            check_round_trip(whole.addresses);
        }
        break;
    case Status::Invalid: FUZZ_CHECK(!whole.error.empty()); break;
    case Status::NeedMore: FUZZ_CHECK(input.size() < 16 + 65535); break;
    }
    check_prefix(input, whole, cut);
    check_networks(input);
    return 0;
}
