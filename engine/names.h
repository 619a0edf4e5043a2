// Loose matching of company names and phone numbers: the "is this customer
// already in the database?" of step 3.3.1. Pure functions over UTF-8 text.
#pragma once

#include <compare>
#include <string>
#include <string_view>
#include <vector>

namespace reglament {

// Lowercase (Cyrillic and Latin, UTF-8 aware; ё → е), quotes and punctuation
// dropped, legal forms (ООО, ОАО, ЗАО, ПАО, АО, ИП, LLC, Ltd, ...) dropped,
// words sorted and joined by one space:
//   "ООО «Ромашка»" → "ромашка", "ромашка ооо" → "ромашка",
//   "Торговый дом \"Север\", АО" → "дом север торговый".
std::string normalize_company(std::string_view name);

// The digits of a phone number, a Russian 8XXXXXXXXXX or a bare 10-digit
// number written as 7XXXXXXXXXX: "+7 (495) 123-45-67", "8 495 1234567" and
// "4951234567" all give "74951234567". Empty when there are fewer than 5
// digits.
std::string normalize_phone(std::string_view phone);

// How well `query` matches a client with this company name, contact person
// and phone: 1 when the normalised names (or phones) are equal, less for
// partial matches (every query word a prefix of a name word, a phone
// suffix, one typo in a longer word), 0 for no match.
//
// The query is matched against the company, the contact person, and both
// together. Every query word must match some name word: equal (1), a prefix
// of 3 letters or more (0.3–0.9, longer prefixes more), or one typo —
// substitution, insertion, deletion or swap — when both words have 5 letters
// or more (0.8). The mean over the query words is lowered by up to a quarter
// when name words are left unmatched; anything short of equal stays ≤ 0.95:
//   "ромаш" vs "ООО «Ромашка»" ≈ 0.73, "Ромашко" → 0.8,
//   "ромашка" vs "Торговый дом «Ромашка»" ≈ 0.83.
// A query of digits and separators only, with 5 digits or more, is also a
// phone: 1 when normalize_phone() gives the same number, 0.6–0.9 when its
// digits end the client's number ("1234567"). The phone field may hold
// several numbers separated by , ; / or line breaks, and extensions
// ("доб. 12") after a number are ignored. Blank queries score 0.
double match_score(std::string_view query, std::string_view company, std::string_view contact,
                   std::string_view phone);

// One key of the client search index (see client_keys() below).
struct ClientKey {
  char kind = 'w';
  std::string text;
  auto operator<=>(const ClientKey&) const = default;
};

// match_score() for one query against many clients: the query is normalised
// once, and each client's company is given as its stored
// normalize_company() key, so a scan of the client database does not
// normalise every name again. score_key(normalize_company(c), contact, phone)
// equals match_score(query, c, contact, phone).
//
// Most clients of a scan share no word with the query. Before a client's
// words are built and compared, one pass over its text (no allocation)
// looks for what any match of each query word must leave in some name word:
// a word shorter than five letters matches only a word it begins (equal or
// a prefix); a longer one may also be one typo away, and one typo leaves its
// first two letters or its last two next to each other. A client missing
// that for some query word scores 0 on names without being compared.
// `prefilter` false turns this off: the tests compare the two on many names.
// The company key must be normalize_company()'s text, as the client database
// stores it (its words are then found as bytes).
class NameMatcher {
 public:
  explicit NameMatcher(std::string_view query, bool prefilter = true);
  double score_key(std::string_view company_key, std::string_view contact, std::string_view phone) const;

  // Where in a client_keys() index the clients this query can match are
  // (see client_keys below): for each query word (group k, k <
  // word_groups()), the key ranges holding every name word that can match
  // it; for a phone query, one more group (k == word_groups()) with the
  // key of its last five digits. A client scores above 0 only if it has,
  // for every word group, a key in one of that group's ranges for which
  // key_matches() holds — or a key of the phone group. So the clients of
  // any one word group (or of the phone group) are all a search needs to
  // score, and the group whose ranges hold the fewest keys is the cheapest.
  struct KeyRange {
    char kind = 'w';
    std::string from;    // the key itself when `exact`, else the first key
    std::string to;      // exclusive; unused when `exact`
    bool exact = false;
    size_t group = 0;
  };
  const std::vector<KeyRange>& key_ranges() const { return ranges_; }
  size_t word_groups() const { return words_.size(); }
  // True when `key`, a key of `range`'s kind found in it, is a name word
  // (or phone) that matches the range's query word.
  bool key_matches(const KeyRange& range, std::string_view key) const;
  // Whether a search of a client_keys() index finds a client holding
  // `keys` (sorted, as client_keys() returns them): every word group has a
  // matching key in one of its ranges, or the phone group has one. The
  // reference for the store's search, which asks the same of its table; it
  // holds for every client with a score above 0 (tests and fuzz_names
  // check that).
  bool found_by(const std::vector<ClientKey>& keys) const;

 private:
  // False when some query word cannot match any word of the company key or
  // the contact (see above); true when it may.
  bool may_match(std::string_view company_key, std::string_view contact) const;

  std::string query_;
  std::vector<std::u32string> words_;  // the query's, unique and sorted
  bool phone_ = false;                 // the query may be a phone number
  bool prefilter_ = true;
  // What query word `word` (index into words_) needs of some name word: to
  // begin with the query word (`prefix`), or to hold `first` and `second`
  // next to each other.
  struct Need {
    bool prefix = false;
    char32_t first = 0;
    char32_t second = 0;
    size_t word = 0;
    // The same in a normalize_company() key, as bytes: " " + the word (a
    // word begins after a space, or at the key's start), or the two letters.
    std::string in_key;
  };
  std::vector<Need> needs_;
  std::vector<KeyRange> ranges_;
};

// The keys a client is found by in the client database's search index
// (table client_keys, storage/README.md), from its normalize_company() key,
// contact and phone field. Each is a kind and a text:
//   'w'  each word of the company key and of the contact, as NameMatcher
//        reads them: a query word finds it when equal or a prefix of it, and
//        through its first letters when one typo away;
//   'r'  each of those words of five letters or more, reversed: a typo near
//        a word's start leaves its end, which this finds;
//   'p'  the last five digits of each number in the phone field: every
//        phone match ends in the query's last five digits.
// Sorted and without duplicates.
std::vector<ClientKey> client_keys(std::string_view company_key, std::string_view contact, std::string_view phone);

}  // namespace reglament
