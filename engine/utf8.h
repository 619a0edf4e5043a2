// UTF-8 decoding and encoding shared by the JSON codec, name matching and
// the handlers that clean external text.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace reglament {

// Decodes the code point at s[i] and advances i. Returns -1 for a byte that
// does not start a well-formed sequence (stray continuation, overlong form,
// surrogate, beyond U+10FFFF, truncated); i then moves past that byte only,
// so bad bytes are skipped and decoding resumes at the next one.
// REQUIRES: i < s.size().
int32_t next_code_point(std::string_view s, size_t& i);

// Appends the UTF-8 encoding of `cp` (at most U+10FFFF) to `out`.
void append_utf8(std::string& out, char32_t cp);

}  // namespace reglament
