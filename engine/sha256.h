// SHA-256 (FIPS 180-4), used for definition content hashes and, later, the
// hash chain of the event log. Pure and dependency-free.
#pragma once

#include <string>
#include <string_view>

namespace reglament {

// The SHA-256 of `data`, as 64 lowercase hex digits.
std::string sha256_hex(std::string_view data);

}  // namespace reglament
