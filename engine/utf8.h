// UTF-8 decoding and encoding shared by the JSON codec, name matching and
// the handlers that clean external text; values quoted in messages.
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

// `"s"`, for messages. A value longer than 60 characters is cut there:
// `"the first 60…" (N bytes)`, so that one bad 1 MB value does not make a
// message of megabytes. A stray byte counts as one character.
std::string quote_for_message(std::string_view s);

}  // namespace reglament
