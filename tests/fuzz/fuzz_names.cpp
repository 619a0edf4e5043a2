// libFuzzer target: loose matching of client names and the search index
// (engine/names.h), the "is this customer already in the database?" of 3.3.1.
//
// The input is up to four lines: a query, a company name, a contact person
// and a phone field, any bytes (invalid UTF-8 included). Properties:
//   - a score lies in [0, 1], and match_score() is score_key() over the
//     normalised company;
//   - the prefilter never changes a score (NameMatcher with and without it);
//   - the search index finds every client the query scores above 0
//     (NameMatcher::found_by over client_keys(), which the store's search
//     asks of its table);
//   - client_keys() is sorted, without duplicates, of known kinds, valid
//     UTF-8, and a phone key is five digits.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "engine/names.h"
#include "engine/utf8.h"
#include "tests/fuzz/expect.h"

using namespace reglament;
using reglament::fuzz::expect;

namespace {

bool valid_utf8(std::string_view s) {
  for (size_t i = 0; i < s.size();)
    if (next_code_point(s, i) < 0) return false;
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 4096) return 0;  // names are short; long inputs only slow the search
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  std::string_view parts[4];
  size_t start = 0;
  for (int k = 0; k < 4 && start <= input.size(); ++k) {
    const size_t end = k == 3 ? input.size() : std::min(input.find('\n', start), input.size());
    parts[k] = input.substr(start, end - start);
    start = end + 1;
  }
  const auto [query, company, contact, phone] = parts;

  const std::string key = normalize_company(company);
  const NameMatcher filtered(query);
  const double score = filtered.score_key(key, contact, phone);
  expect(score >= 0 && score <= 1, "a score lies in [0, 1]");
  expect(score == match_score(query, company, contact, phone), "match_score is score_key of the normalised company");
  expect(score == NameMatcher(query, false).score_key(key, contact, phone), "the prefilter never changes a score");

  const std::vector<ClientKey> keys = client_keys(key, contact, phone);
  expect(std::is_sorted(keys.begin(), keys.end()), "client_keys is sorted");
  expect(std::adjacent_find(keys.begin(), keys.end()) == keys.end(), "client_keys has no duplicates");
  for (const ClientKey& k : keys) {
    expect(k.kind == 'w' || k.kind == 'r' || k.kind == 'p', "a client key is of a known kind");
    expect(!k.text.empty() && valid_utf8(k.text), "a client key is valid UTF-8");
    if (k.kind == 'p') {
      expect(k.text.size() == 5 && std::all_of(k.text.begin(), k.text.end(), [](char c) { return c >= '0' && c <= '9'; }),
             "a phone key is five digits");
    }
  }
  if (score > 0) expect(filtered.found_by(keys), "the search index finds a client the query scores above 0");
  return 0;
}
