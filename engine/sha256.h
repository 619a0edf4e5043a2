// SHA-256 (FIPS 180-4), used for definition content hashes and, later, the
// hash chain of the event log. Pure and dependency-free.
#pragma once

#include <string>
#include <string_view>

namespace reglament {

// The SHA-256 of `data`, as 64 lowercase hex digits. Uses the CPU's SHA
// instructions where it has them (x86-64 SHA extensions), else portable code.
std::string sha256_hex(std::string_view data);

// The same digest from the portable code alone, whatever the CPU: for tests
// that check both paths agree.
std::string sha256_hex_portable(std::string_view data);

// Whether sha256_hex() uses the CPU's SHA instructions on this machine.
bool sha256_uses_cpu_instructions();

}  // namespace reglament
