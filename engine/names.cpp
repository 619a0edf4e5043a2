// Loose matching of company names and phones.
//
// Text is decoded from UTF-8 into code points, folded (lowercase, ё → е) and
// cut into words of letters and digits; every other code point separates
// words. Legal forms are dropped as whole words or phrases. Names are then
// compared word by word: exact, prefix, or one typo. Everything is linear in
// the input except the word-against-word comparison, which is bounded by the
// (deduplicated) word counts of a query and a name: a few words each.

#include "engine/names.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <utility>

#include "engine/utf8.h"

namespace reglament {
namespace {

using Word = std::u32string;

// ---- Folding and classes -------------------------------------------------------

// Lowercase for the scripts a customer name is written in. ё and Ё become е:
// people type the one for the other freely.
char32_t fold(char32_t c) {
  if (c >= U'A' && c <= U'Z') return c + 0x20;
  if (c == U'Ё' || c == U'ё') return U'е';
  if (c >= 0x0410 && c <= 0x042F) return c + 0x20;                          // А-Я
  if (c >= 0x0400 && c <= 0x040F) return c + 0x50;                          // Ѐ-Џ (Є, І, Ї, Ў ...)
  if ((c >= 0x0460 && c <= 0x0481) || (c >= 0x048A && c <= 0x04BF) ||
      (c >= 0x04D0 && c <= 0x052F)) {
    return c | 1;                                                            // pairs: even upper, odd lower
  }
  if (c >= 0x04C1 && c <= 0x04CE) return (c & 1) ? c + 1 : c;               // pairs: odd upper, even lower
  if (c >= 0x00C0 && c <= 0x00DE && c != 0x00D7) return c + 0x20;            // Latin-1 À-Þ
  if (c >= 0x0391 && c <= 0x03AB && c != 0x03A2) return c + 0x20;            // Greek
  return c;
}

enum class Kind { word, ignore, separator };

// What a code point does to a word. Letters and digits of any script build
// words; punctuation, symbols, spaces and controls separate them. Combining
// marks and invisible format characters are ignored so that a decomposed
// "е" + U+0308 is still "е" and a soft hyphen does not split a word.
Kind kind_of(char32_t c) {
  if (c < 0x80) {
    if ((c >= U'0' && c <= U'9') || (c >= U'a' && c <= U'z') || (c >= U'A' && c <= U'Z')) return Kind::word;
    return Kind::separator;
  }
  if (c == 0x00AD || c == 0x200C || c == 0x200D || c == 0x2060 || c == 0xFEFF) return Kind::ignore;
  if ((c >= 0x0300 && c <= 0x036F) || (c >= 0x0483 && c <= 0x0489) || (c >= 0xFE00 && c <= 0xFE0F) ||
      (c >= 0x20D0 && c <= 0x20FF)) {
    return Kind::ignore;
  }
  if (c <= 0x00BF || c == 0x00D7 || c == 0x00F7) return Kind::separator;   // Latin-1 punctuation, «», NBSP
  if (c >= 0x02B0 && c <= 0x02FF) return Kind::separator;                   // modifier letters (ʼ ˮ ...)
  if (c == 0x037E || c == 0x0387 || c == 0x0482) return Kind::separator;
  if (c >= 0x2000 && c <= 0x2BFF) return Kind::separator;                   // punctuation, №, symbols
  if (c >= 0x3000 && c <= 0x303F) return Kind::separator;                   // CJK punctuation
  if (c >= 0xE000 && c <= 0xF8FF) return Kind::separator;                   // private use
  if ((c >= 0xFE10 && c <= 0xFE6F) || (c >= 0xFF00 && c <= 0xFF0F) || (c >= 0xFF1A && c <= 0xFF20) ||
      (c >= 0xFF3B && c <= 0xFF40) || (c >= 0xFF5B && c <= 0xFF65) || (c >= 0xFFF0 && c <= 0xFFFF)) {
    return Kind::separator;                                                 // full-width punctuation, specials
  }
  if (c >= 0x1F000 && c <= 0x1FAFF) return Kind::separator;                 // emoji and pictographs
  if (c >= 0xF0000) return Kind::separator;                                 // private use
  return Kind::word;
}

// Walks the code points of `text` as words see them: letter(c) for each
// letter or digit, folded; gap() where a word ends (a separator); breve()
// for a combining breve, the one ignored code point that changes the letter
// before it (и + U+0306 is й). Other ignored code points join their
// neighbours; bad bytes are skipped. letter() returns false to stop early.
// ASCII and the two-byte Cyrillic block (U+0400..U+047F, all letters) are
// decoded and classified inline; both split_words() and the prefilter of
// NameMatcher read text through here, so they cannot disagree on a word.
template <class Letter, class Gap, class Breve>
void scan_letters(std::string_view text, Letter letter, Gap gap, Breve breve) {
  size_t i = 0;
  while (i < text.size()) {
    const auto b = static_cast<unsigned char>(text[i]);
    char32_t c = 0;
    Kind kind = Kind::word;
    if (b < 0x80) {
      ++i;
      c = b;
      const bool alnum = (c >= U'0' && c <= U'9') || (c >= U'a' && c <= U'z') || (c >= U'A' && c <= U'Z');
      kind = alnum ? Kind::word : Kind::separator;
    } else if ((b == 0xD0 || b == 0xD1) && i + 1 < text.size() &&
               (static_cast<unsigned char>(text[i + 1]) & 0xC0) == 0x80) {
      c = (static_cast<char32_t>(b & 0x1F) << 6) | (static_cast<unsigned char>(text[i + 1]) & 0x3F);
      i += 2;
    } else {
      const int32_t cp = next_code_point(text, i);
      if (cp < 0) continue;  // a bad byte: skipped
      c = static_cast<char32_t>(cp);
      kind = kind_of(c);
    }
    switch (kind) {
      case Kind::separator: gap(); break;
      case Kind::ignore:
        if (c == 0x0306) breve();
        break;
      case Kind::word:
        if (!letter(fold(c))) return;
        break;
    }
  }
}

// The folded words of `text`, in order.
std::vector<Word> split_words(std::string_view text) {
  std::vector<Word> words;
  Word current;
  auto flush = [&] {
    if (!current.empty()) words.push_back(std::move(current));
    current.clear();
  };
  scan_letters(
      text,
      [&](char32_t c) {
        current += c;
        return true;
      },
      flush,
      [&] {
        // A decomposed "й" (и + combining breve) is still "й".
        if (!current.empty() && current.back() == U'и') current.back() = U'й';
      });
  flush();
  return words;
}

// ---- Legal forms -----------------------------------------------------------------

// Legal forms, as the phrases of words they are written with. Longer phrases
// come first so that "публичное акционерное общество" is taken whole before
// "акционерное общество" could match inside it.
const std::vector<std::vector<Word>>& legal_forms() {
  static const std::vector<std::vector<Word>> forms = [] {
    const char* const texts[] = {
        "общество с ограниченной ответственностью",
        "товарищество с ограниченной ответственностью",
        "публичное акционерное общество",
        "непубличное акционерное общество",
        "закрытое акционерное общество",
        "открытое акционерное общество",
        "limited liability company",
        "акционерное общество",
        "индивидуальный предприниматель",
        "частное предприятие",
        "ооо", "оао", "зао", "пао", "ао", "нао", "ип", "чп", "тоо", "пбоюл",
        "ooo", "oao", "zao", "pao",
        "llc", "ltd", "limited", "inc", "incorporated", "corp", "corporation", "plc", "gmbh",
    };
    std::vector<std::vector<Word>> out;
    for (const char* t : texts) out.push_back(split_words(t));
    std::stable_sort(out.begin(), out.end(),
                     [](const auto& x, const auto& y) { return x.size() > y.size(); });
    return out;
  }();
  return forms;
}

// `words` without the legal forms in it.
std::vector<Word> drop_legal_forms(std::vector<Word> words) {
  const auto& forms = legal_forms();
  std::vector<Word> kept;
  kept.reserve(words.size());
  size_t i = 0;
  while (i < words.size()) {
    size_t skip = 0;
    for (const auto& form : forms) {
      if (form.size() > words.size() - i) continue;
      if (std::equal(form.begin(), form.end(), words.begin() + static_cast<std::ptrdiff_t>(i))) {
        skip = form.size();
        break;
      }
    }
    if (skip > 0) {
      i += skip;
    } else {
      kept.push_back(std::move(words[i]));
      ++i;
    }
  }
  return kept;
}

// The words of a name, legal forms dropped, sorted (code point order, which is
// also the byte order of their UTF-8).
std::vector<Word> name_words(std::string_view name) {
  std::vector<Word> words = drop_legal_forms(split_words(name));
  std::sort(words.begin(), words.end());
  return words;
}

// ---- Word comparison ---------------------------------------------------------------

// True when a and b differ by exactly one edit: a substitution, an insertion,
// a deletion, or two neighbours swapped. Linear: no distance matrix is needed
// for a cutoff of one.
bool one_edit_apart(const Word& a, const Word& b) {
  const Word& s = a.size() <= b.size() ? a : b;  // shorter
  const Word& l = a.size() <= b.size() ? b : a;  // longer
  if (l.size() - s.size() > 1) return false;
  size_t i = 0;
  while (i < s.size() && s[i] == l[i]) ++i;
  if (i == s.size()) return l.size() != s.size();  // equal, or one appended
  if (s.size() == l.size()) {
    if (s.compare(i + 1, Word::npos, l, i + 1, Word::npos) == 0) return true;  // substitution
    return i + 1 < s.size() && s[i] == l[i + 1] && s[i + 1] == l[i] &&
           s.compare(i + 2, Word::npos, l, i + 2, Word::npos) == 0;            // swap
  }
  return s.compare(i, Word::npos, l, i + 1, Word::npos) == 0;                   // insertion
}

// Scores of one query word against one name word.
constexpr double kTypo = 0.8;            // one typo in a word of kTypoMinLength or more
constexpr size_t kTypoMinLength = 5;
constexpr size_t kPrefixMinLength = 3;   // shorter prefixes match too much to mean anything
constexpr double kNotEqualCap = 0.95;    // anything short of equal names stays below 1

// 1 for equal words, 0.3..0.9 for a prefix (more for a longer one), kTypo for
// one typo, 0 otherwise.
double word_score(const Word& q, const Word& w) {
  if (q == w) return 1;
  if (q.size() >= kPrefixMinLength && q.size() < w.size() && w.compare(0, q.size(), q) == 0) {
    return 0.3 + 0.6 * static_cast<double>(q.size()) / static_cast<double>(w.size());
  }
  if (q.size() >= kTypoMinLength && w.size() >= kTypoMinLength && one_edit_apart(q, w)) return kTypo;
  return 0;
}

std::vector<Word> unique_words(std::vector<Word> sorted) {
  sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
  return sorted;
}

// How well the query words match a name's words: every query word must match
// some name word (else 0); the score is the mean of their best matches,
// lowered when the query leaves name words unmatched. Both inputs are sorted
// and deduplicated.
double words_score(const std::vector<Word>& query, const std::vector<Word>& name) {
  if (query.empty() || name.empty()) return 0;
  if (query == name) return 1;
  std::vector<bool> covered(name.size(), false);
  double sum = 0;
  for (const Word& q : query) {
    double best = 0;
    // Every name word is tried: a word may be covered by a prefix or a typo,
    // and the best score counts. Words are few; each try is linear.
    for (size_t k = 0; k < name.size(); ++k) {
      double s = word_score(q, name[k]);
      if (s > 0) covered[k] = true;
      best = std::max(best, s);
    }
    if (best == 0) return 0;
    sum += best;
  }
  double mean = sum / static_cast<double>(query.size());
  auto n_covered = static_cast<double>(std::count(covered.begin(), covered.end(), true));
  double coverage = n_covered / static_cast<double>(name.size());
  return std::min(kNotEqualCap, mean * (0.75 + 0.25 * coverage));
}

// ---- Phones ------------------------------------------------------------------------

std::string digits_of(std::string_view s) {
  std::string d;
  for (char c : s) {
    if (c >= '0' && c <= '9') d += c;
  }
  return d;
}

// A query is a phone when it has no letters and enough digits.
bool looks_like_phone(std::string_view query) {
  size_t digits = 0;
  for (const Word& w : split_words(query)) {
    for (char32_t c : w) {
      if (c < U'0' || c > U'9') return false;
      ++digits;
    }
  }
  return digits >= 5;
}

// The number in one entry of a phone field, without an extension or a note
// after it: "8 495 123-45-67 доб. 12" → "8 495 123-45-67 ".
std::string_view without_extension(std::string_view entry) {
  bool seen_digit = false;
  size_t i = 0;
  while (i < entry.size()) {
    size_t at = i;
    int32_t cp = next_code_point(entry, i);
    if (cp < 0) continue;
    auto c = static_cast<char32_t>(cp);
    bool digit = c >= U'0' && c <= U'9';
    if (seen_digit && !digit && kind_of(c) == Kind::word) return entry.substr(0, at);
    seen_digit = seen_digit || digit;
  }
  return entry;
}

// 1 for the same number, 0.6..0.9 when the query's digits end the client's
// number. The client's field may hold several numbers separated by , ; / or
// a line break, each perhaps with an extension; the best number counts.
double phone_score(std::string_view query, std::string_view phones) {
  std::string q_norm = normalize_phone(query);
  std::string q_digits = digits_of(query);
  if (q_norm.empty()) return 0;
  double best = 0;
  size_t start = 0;
  while (start <= phones.size()) {
    size_t end = phones.find_first_of(",;/\n", start);
    if (end == std::string_view::npos) end = phones.size();
    std::string_view one = without_extension(phones.substr(start, end - start));
    start = end + 1;
    std::string p_norm = normalize_phone(one);
    if (p_norm.empty()) continue;
    if (p_norm == q_norm) return 1;
    std::string p_digits = digits_of(one);
    for (const std::string& p : {p_norm, p_digits}) {
      if (q_digits.size() < p.size() && p.compare(p.size() - q_digits.size(), q_digits.size(), q_digits) == 0) {
        best = std::max(best, 0.6 + 0.3 * static_cast<double>(q_digits.size()) / static_cast<double>(p.size()));
      }
    }
  }
  return best;
}

std::string join(const std::vector<Word>& words) {
  std::string out;
  for (const Word& w : words) {
    if (!out.empty()) out += ' ';
    for (char32_t c : w) append_utf8(out, c);
  }
  return out;
}

}  // namespace

std::string normalize_company(std::string_view name) { return join(name_words(name)); }

std::string normalize_phone(std::string_view phone) {
  std::string d = digits_of(phone);
  if (d.size() < 5) return "";
  if (d.size() == 11 && d[0] == '8') d[0] = '7';
  if (d.size() == 10) d.insert(d.begin(), '7');
  return d;
}

namespace {

// The words of a normalize_company() key: it is folded, stripped and sorted
// already, so only split at its spaces.
std::vector<Word> key_words(std::string_view key) {
  std::vector<Word> words;
  Word current;
  size_t i = 0;
  while (i < key.size()) {
    int32_t cp = next_code_point(key, i);
    if (cp < 0) continue;
    if (cp == ' ') {
      if (!current.empty()) words.push_back(std::move(current));
      current.clear();
    } else {
      current += static_cast<char32_t>(cp);
    }
  }
  if (!current.empty()) words.push_back(std::move(current));
  return words;
}

std::string utf8(std::u32string_view letters) {
  std::string out;
  for (char32_t c : letters) append_utf8(out, c);
  return out;
}

Word decode(std::string_view text) {
  Word out;
  size_t i = 0;
  while (i < text.size()) {
    const int32_t cp = next_code_point(text, i);
    if (cp >= 0) out += static_cast<char32_t>(cp);
  }
  return out;
}

Word reversed(Word w) {
  std::reverse(w.begin(), w.end());
  return w;
}

// The last five digits of each number in a phone field, split as
// phone_score() splits it; only numbers normalize_phone() keeps (five
// digits or more).
std::vector<std::string> phone_tails(std::string_view phones) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= phones.size()) {
    size_t end = phones.find_first_of(",;/\n", start);
    if (end == std::string_view::npos) end = phones.size();
    std::string digits = digits_of(without_extension(phones.substr(start, end - start)));
    start = end + 1;
    if (digits.size() >= 5) out.push_back(digits.substr(digits.size() - 5));
  }
  return out;
}

// Above every key with this prefix: no byte of UTF-8 text is 0xFF.
std::string after_prefix(std::string prefix) { return prefix + '\xFF'; }

}  // namespace

NameMatcher::NameMatcher(std::string_view query, bool prefilter)
    : query_(query), words_(unique_words(name_words(query))), phone_(looks_like_phone(query)), prefilter_(prefilter) {
  // word_score: equal, a prefix of the name word, or (both kTypoMinLength
  // letters or more) one edit apart. An edit at index 0 or 1 leaves the last
  // two letters (index 3 or later) whole; one later leaves the first two.
  for (size_t k = 0; k < words_.size(); ++k) {
    const Word& w = words_[k];
    const std::u32string_view v(w);
    if (w.size() < kTypoMinLength) {
      std::string in_key = " ";  // not " " + utf8(v): GCC 12 warns -Wrestrict (falsely) on that
      in_key += utf8(v);
      needs_.push_back(Need{true, 0, 0, k, std::move(in_key)});
    } else {
      needs_.push_back(Need{false, w[0], w[1], k, utf8(v.substr(0, 2))});
      needs_.push_back(Need{false, w[w.size() - 2], w.back(), k, utf8(v.substr(w.size() - 2))});
    }
  }
  // The index ranges (client_keys): a word shorter than a prefix can be is
  // found only by itself; a shorter one than a typo can be, as the prefix
  // of its name words. A longer one is also found one typo away: an edit
  // that touches letters i and i + 1 at most leaves the first m letters
  // when i >= m, and the last m when i + 1 < size - m; m = (size - 1) / 2
  // satisfies one of the two for every i, so every name word one edit away
  // begins with the query word's first m letters or ends with its last m
  // (m at most 4: longer ranges are narrow enough).
  for (size_t k = 0; k < words_.size(); ++k) {
    const Word& w = words_[k];
    if (w.size() < kPrefixMinLength) {
      ranges_.push_back(KeyRange{'w', utf8(w), "", true, k});
    } else if (w.size() < kTypoMinLength) {
      ranges_.push_back(KeyRange{'w', utf8(w), after_prefix(utf8(w)), false, k});
    } else {
      const size_t m = std::min<size_t>(4, (w.size() - 1) / 2);
      const std::string head = utf8(std::u32string_view(w).substr(0, m));
      const std::string tail = utf8(std::u32string_view(reversed(w)).substr(0, m));
      ranges_.push_back(KeyRange{'w', head, after_prefix(head), false, k});
      ranges_.push_back(KeyRange{'r', tail, after_prefix(tail), false, k});
    }
  }
  if (phone_) {
    const std::string digits = digits_of(query);
    ranges_.push_back(KeyRange{'p', digits.substr(digits.size() - 5), "", true, words_.size()});
  }
}

bool NameMatcher::key_matches(const KeyRange& range, std::string_view key) const {
  if (range.group >= words_.size()) return true;  // the phone: its key is looked up exactly
  const Word& q = words_[range.group];
  const Word w = range.kind == 'r' ? reversed(decode(key)) : decode(key);
  return word_score(q, w) > 0;
}

bool NameMatcher::found_by(const std::vector<ClientKey>& keys) const {
  std::vector<bool> found(words_.size() + 1, false);
  for (const KeyRange& r : ranges_) {
    // The keys of the range, in the sorted list: from `from` up to `to`.
    auto it = std::lower_bound(keys.begin(), keys.end(), ClientKey{r.kind, r.from});
    for (; it != keys.end() && it->kind == r.kind; ++it) {
      if (r.exact ? it->text != r.from : it->text >= r.to) break;
      if (key_matches(r, it->text)) {
        found[r.group] = true;
        break;
      }
    }
  }
  const bool every_word = !words_.empty() && std::all_of(found.begin(), found.end() - 1, [](bool b) { return b; });
  return every_word || found.back();
}

std::vector<ClientKey> client_keys(std::string_view company_key, std::string_view contact, std::string_view phone) {
  std::vector<ClientKey> out;
  std::vector<Word> words = key_words(company_key);
  for (Word& w : name_words(contact)) words.push_back(std::move(w));
  for (const Word& w : words) {
    out.push_back(ClientKey{'w', utf8(w)});
    if (w.size() >= kTypoMinLength) out.push_back(ClientKey{'r', utf8(reversed(w))});
  }
  for (std::string& tail : phone_tails(phone)) out.push_back(ClientKey{'p', std::move(tail)});
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

bool NameMatcher::may_match(std::string_view company_key, std::string_view contact) const {
  constexpr size_t kMaxNeeds = 64;
  if (!prefilter_ || needs_.size() > kMaxNeeds) return true;  // off, or too many words: score in full
  const uint64_t all = words_.size() == 64 ? ~uint64_t{0} : (uint64_t{1} << words_.size()) - 1;
  uint64_t found = 0;  // bit k: query word k has what it needs somewhere
  bool unsure = false;
  // For each prefix need, how many letters of its query word the current
  // name word has begun with so far; kFailed once it differs.
  constexpr size_t kFailed = ~size_t{0};
  std::array<size_t, kMaxNeeds> matched;  // the first needs_.size() are used
  const auto restart = [&] { std::fill_n(matched.begin(), needs_.size(), 0); };
  restart();
  // A normalize_company() key holds folded words and one space between
  // them (key_words), so a need is a search for bytes (UTF-8 matches whole
  // code points only).
  for (const Need& need : needs_) {
    const std::string_view in_key = need.in_key;
    const bool has = need.prefix ? (company_key.substr(0, in_key.size() - 1) == in_key.substr(1) ||
                                    company_key.find(in_key) != std::string_view::npos)
                                 : company_key.find(in_key) != std::string_view::npos;
    if (has) found |= uint64_t{1} << need.word;
  }
  // The contact's letters, as split_words() reads them, matched as they come.
  if (found != all) {
    char32_t prev = 0;  // the previous letter of the current word; 0 at a word's start
    scan_letters(
        contact,
        [&](char32_t c) {
          for (size_t n = 0; n < needs_.size(); ++n) {
            const Need& need = needs_[n];
            if (need.prefix) {
              const Word& w = words_[need.word];
              size_t& m = matched[n];
              if (m == kFailed || m == w.size()) continue;
              m = c == w[m] ? m + 1 : kFailed;
              if (m == w.size()) found |= uint64_t{1} << need.word;
            } else if (prev == need.first && c == need.second) {
              found |= uint64_t{1} << need.word;
            }
          }
          prev = c;
          return found != all;
        },
        [&] {
          prev = 0;
          restart();
        },
        // The breve changes the letter before it (и → й): too rare to mirror.
        [&] { unsure = true; });
  }
  return unsure || found == all;
}

double NameMatcher::score_key(std::string_view company_key, std::string_view contact, std::string_view phone) const {
  double best = 0;
  if (!words_.empty() && may_match(company_key, contact)) {
    std::vector<Word> c = unique_words(key_words(company_key));
    std::vector<Word> p = unique_words(name_words(contact));
    best = std::max(words_score(words_, c), words_score(words_, p));
    if (best < kNotEqualCap && !c.empty() && !p.empty()) {
      // "Ромашка Иванов": words from the company and the contact together.
      std::vector<Word> both = c;
      both.insert(both.end(), p.begin(), p.end());
      std::sort(both.begin(), both.end());
      best = std::max(best, std::min(kNotEqualCap, words_score(words_, unique_words(std::move(both)))));
    }
  }
  if (best < 1 && phone_) best = std::max(best, phone_score(query_, phone));
  return best;
}

double match_score(std::string_view query, std::string_view company, std::string_view contact,
                   std::string_view phone) {
  return NameMatcher(query).score_key(normalize_company(company), contact, phone);
}

}  // namespace reglament
