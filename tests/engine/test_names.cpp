// Loose matching of customer names and phones: normalisation, and the scores
// of the "is this customer already in the database?" question.

#include <doctest/doctest.h>

#include <algorithm>
#include <iterator>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "engine/names.h"
#include "engine/utf8.h"

using namespace reglament;

namespace {

// A client with only a company name.
double company_score(const std::string& query, const std::string& company) {
  return match_score(query, company, "", "");
}

}  // namespace

// ---- normalize_company ------------------------------------------------------------

TEST_CASE("normalize_company drops quotes and the legal form, whichever side it is on") {
  CHECK(normalize_company("ООО «Ромашка»") == "ромашка");
  CHECK(normalize_company("ромашка ооо") == "ромашка");
  CHECK(normalize_company("  Ромашка  ") == "ромашка");
  CHECK(normalize_company("ООО \"Ромашка\"") == "ромашка");
  CHECK(normalize_company("“Ромашка”, LLC") == "ромашка");
  CHECK(normalize_company("„Ромашка“ Ltd.") == "ромашка");
}

TEST_CASE("normalize_company sorts the words and joins them by one space") {
  CHECK(normalize_company("Торговый дом \"Север\", АО") == "дом север торговый");
  CHECK(normalize_company("Север  —  Торговый\tдом") == "дом север торговый");
}

TEST_CASE("normalize_company drops the full Russian legal forms as phrases") {
  CHECK(normalize_company("Общество с ограниченной ответственностью «Ромашка»") == "ромашка");
  CHECK(normalize_company("Индивидуальный предприниматель Иванов И. И.") == "и и иванов");
  CHECK(normalize_company("Акционерное общество \"Север\"") == "север");
  CHECK(normalize_company("ПУБЛИЧНОЕ АКЦИОНЕРНОЕ ОБЩЕСТВО «Север»") == "север");
  CHECK(normalize_company("Закрытое акционерное общество Север") == "север");
  CHECK(normalize_company("ИП Петров") == "петров");
  CHECK(normalize_company("ПАО Север") == "север");
  CHECK(normalize_company("Ромашка GmbH") == "ромашка");
}

TEST_CASE("normalize_company keeps legal-form letters that are part of a longer word") {
  // "ао" inside "Аокси" or "ип" inside "Ипподром" are not legal forms.
  CHECK(normalize_company("Аокси") == "аокси");
  CHECK(normalize_company("ООО Ипподром") == "ипподром");
  // "общество" alone is a name word, not a legal form.
  CHECK(normalize_company("Общество любителей чая") == "любителей общество чая");
}

TEST_CASE("normalize_company lowercases Cyrillic and Latin and turns ё into е") {
  CHECK(normalize_company("АБВГДЕЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯ") == "абвгдежзийклмнопрстуфхцчшщъыьэюя");
  CHECK(normalize_company("Василёк") == "василек");
  CHECK(normalize_company("ЁЛКА") == "елка");
  CHECK(normalize_company("ACME Trading") == "acme trading");
  // A decomposed ё (е + combining diaeresis) and й (и + combining breve).
  CHECK(normalize_company("Василе\xCC\x88к") == "василек");
  CHECK(normalize_company("Чаи\xCC\x86ка") == "чайка");
}

TEST_CASE("normalize_company treats punctuation, dashes and № as separators, keeps digits") {
  CHECK(normalize_company("Аптека №5") == "5 аптека");
  CHECK(normalize_company("Ростов-на-Дону Трейд") == "дону на ростов трейд");
  CHECK(normalize_company("Альфа–Бета (филиал)") == "альфа бета филиал");
  CHECK(normalize_company("Сервис\xC2\xA0Плюс") == "плюс сервис");  // no-break space
  CHECK(normalize_company("O'Brien & Co") == "brien co o");
}

TEST_CASE("normalize_company gives an empty string for blank text or only a legal form") {
  CHECK(normalize_company("") == "");
  CHECK(normalize_company("   \t ") == "");
  CHECK(normalize_company("«»—!") == "");
  CHECK(normalize_company("ООО") == "");
}

TEST_CASE("normalize_company skips invalid UTF-8 bytes without failing") {
  CHECK(normalize_company("Ром\xFF" "ашка") == "ромашка");               // a byte never valid
  CHECK(normalize_company("\x80Ромашка") == "ромашка");                  // stray continuation
  CHECK(normalize_company("Ромашка\xD0") == "ромашка");                  // truncated sequence
  CHECK(normalize_company("\xC0\xAFРомашка") == "ромашка");              // overlong "/"
  CHECK(normalize_company("\xED\xA0\x80Ромашка") == "ромашка");          // a surrogate
  CHECK(normalize_company("ООО \xE2\x80 Ромашка") == "ромашка");         // broken quote mark
}

TEST_CASE("normalize_company handles a very long name in one pass") {
  std::string name;
  for (int i = 0; i < 20000; ++i) name += "Ромашка ";
  std::string n = normalize_company(name);
  CHECK(n.size() == 20000 * std::string("ромашка ").size() - 1);
  CHECK(n.rfind("ромашка ромашка", 0) == 0);
}

// ---- normalize_phone ---------------------------------------------------------------

TEST_CASE("normalize_phone writes Russian numbers as 7 and ten digits") {
  CHECK(normalize_phone("+7 (495) 123-45-67") == "74951234567");
  CHECK(normalize_phone("8 495 1234567") == "74951234567");
  CHECK(normalize_phone("4951234567") == "74951234567");
  CHECK(normalize_phone("74951234567") == "74951234567");
}

TEST_CASE("normalize_phone keeps other numbers as their digits") {
  CHECK(normalize_phone("12-34-56") == "123456");
  CHECK(normalize_phone("+49 30 1234567") == "49301234567");
}

TEST_CASE("normalize_phone is empty below 5 digits") {
  CHECK(normalize_phone("") == "");
  CHECK(normalize_phone("12-34") == "");
  CHECK(normalize_phone("нет") == "");
  CHECK(normalize_phone("12345") == "12345");
}

// ---- match_score: names --------------------------------------------------------------

TEST_CASE("match_score is 1 for names equal after normalisation") {
  CHECK(company_score("ромашка ооо", "ООО «Ромашка»") == 1.0);
  CHECK(company_score("Ромашка", "ООО «Ромашка»") == 1.0);
  CHECK(company_score("Василёк", "ООО Василек") == 1.0);
  CHECK(company_score("дом торговый север", "Торговый дом \"Север\", АО") == 1.0);
}

TEST_CASE("match_score gives a prefix less than 1 but more than a half") {
  double s = company_score("ромаш", "ООО «Ромашка»");
  CHECK(s > 0.5);
  CHECK(s < 1.0);
  // A longer prefix scores higher.
  CHECK(company_score("ромашк", "ООО «Ромашка»") > s);
  // Every query word must match: "ромаш дом" matches "Торговый дом Ромашка".
  CHECK(company_score("ромаш дом", "Торговый дом Ромашка") > 0.5);
}

TEST_CASE("match_score ignores prefixes shorter than three letters") {
  CHECK(company_score("р", "ООО «Ромашка»") == 0.0);
  CHECK(company_score("ро", "ООО «Ромашка»") == 0.0);
  CHECK(company_score("ром", "ООО «Ромашка»") > 0.0);
}

TEST_CASE("match_score forgives one typo in a word of five letters or more") {
  double s = company_score("Ромашко", "ООО «Ромашка»");
  CHECK(s > 0.5);
  CHECK(s < 1.0);
  CHECK(company_score("Рмоашка", "ООО «Ромашка»") > 0.5);   // two neighbours swapped
  CHECK(company_score("Ромашкка", "ООО «Ромашка»") > 0.5);  // a letter added
  CHECK(company_score("Ромшка", "ООО «Ромашка»") > 0.5);    // a letter missing
  // Two typos, or one typo in a short word, do not match.
  CHECK(company_score("Рамашко", "ООО «Ромашка»") == 0.0);
  CHECK(company_score("Нерд", "Норд") == 0.0);
}

TEST_CASE("match_score is below 1 when the query covers only part of the name") {
  double s = company_score("ромашка", "Торговый дом «Ромашка»");
  CHECK(s > 0.5);
  CHECK(s < 1.0);
}

TEST_CASE("match_score is 0 for unrelated names and when a query word matches nothing") {
  CHECK(company_score("Василек", "ООО «Ромашка»") == 0.0);
  CHECK(company_score("ромашка север", "ООО «Ромашка»") == 0.0);
  CHECK(company_score("ООО", "ООО «Ромашка»") == 0.0);
}

TEST_CASE("match_score is 0 for an empty or blank query") {
  CHECK(match_score("", "ООО «Ромашка»", "Иван Иванов", "8 495 123 45 67") == 0.0);
  CHECK(match_score("   \t", "ООО «Ромашка»", "Иван Иванов", "8 495 123 45 67") == 0.0);
  CHECK(match_score("«» -", "ООО «Ромашка»", "Иван Иванов", "8 495 123 45 67") == 0.0);
}

TEST_CASE("match_score matches the contact person in any word order") {
  CHECK(match_score("Иванов Иван", "ООО «Ромашка»", "Иван Иванов", "") == 1.0);
  double s = match_score("Иванов", "ООО «Ромашка»", "Иван Иванов", "");
  CHECK(s > 0.5);
  CHECK(s < 1.0);
  CHECK(match_score("Петров", "ООО «Ромашка»", "Иван Иванов", "") == 0.0);
}

TEST_CASE("match_score matches company and contact words together") {
  double s = match_score("Ромашка Иванов", "ООО «Ромашка»", "Иван Иванов", "");
  CHECK(s > 0.5);
  CHECK(s < 1.0);
}

TEST_CASE("match_score survives invalid UTF-8 and very long names") {
  CHECK(company_score("Ром\xFF" "ашка", "ООО «Ромашка»") == 1.0);
  CHECK(company_score("\xFF\xFE\xFD", "ООО «Ромашка»") == 0.0);
  CHECK(company_score("ромашка", "\xC3\x28\xA0\xA1") == 0.0);
  std::string long_name;
  for (int i = 0; i < 5000; ++i) long_name += "Слово" + std::to_string(i) + " ";
  CHECK(company_score("слово4999", long_name) > 0.0);
  CHECK(company_score("ромашка", long_name) == 0.0);
  CHECK(company_score(long_name, long_name) == 1.0);
}

// ---- match_score: phones ---------------------------------------------------------------

TEST_CASE("match_score is 1 for the same phone however it is written") {
  CHECK(match_score("+7 (495) 123-45-67", "ООО «Ромашка»", "", "8 495 123 45 67") == 1.0);
  CHECK(match_score("4951234567", "ООО «Ромашка»", "", "+7 (495) 123-45-67") == 1.0);
}

TEST_CASE("match_score matches the last five digits or more of a phone") {
  double s = match_score("1234567", "ООО «Ромашка»", "", "8 495 123 45 67");
  CHECK(s > 0.5);
  CHECK(s < 1.0);
  CHECK(match_score("45-67", "ООО «Ромашка»", "", "8 495 123 45 67") == 0.0);   // 4 digits: too few
  CHECK(match_score("34567", "ООО «Ромашка»", "", "8 495 123 45 67") > 0.5);
  CHECK(match_score("1234568", "ООО «Ромашка»", "", "8 495 123 45 67") == 0.0);
  CHECK(match_score("495123", "ООО «Ромашка»", "", "8 495 123 45 67") == 0.0);  // not the end
}

TEST_CASE("match_score finds one of several phones and ignores an extension") {
  const char* phones = "8 (812) 555-00-11; +7 495 123-45-67 доб. 12";
  CHECK(match_score("+7 (495) 123-45-67", "", "", phones) == 1.0);
  CHECK(match_score("88125550011", "", "", phones) == 1.0);
  CHECK(match_score("5550011", "", "", phones) > 0.5);
}

TEST_CASE("match_score does not read a query with letters as a phone") {
  CHECK(match_score("Ромашка 1234567", "ООО «Ромашка»", "", "8 495 123 45 67") == 0.0);
  CHECK(match_score("1234567", "ООО «Ромашка»", "", "") == 0.0);
}

// ---- NameMatcher's prefilter ---------------------------------------------------------

namespace {

std::u32string decode(const std::string& s) {
  std::u32string out;
  size_t i = 0;
  while (i < s.size()) {
    const int32_t cp = next_code_point(s, i);
    if (cp >= 0) out += static_cast<char32_t>(cp);
  }
  return out;
}

std::string encode(const std::u32string& s) {
  std::string out;
  for (char32_t c : s) append_utf8(out, c);
  return out;
}

// `word` with one random edit: a substitution, an insertion, a deletion, a
// swap of neighbours, a cut to a prefix, or a change of case.
std::string mutate(const std::string& word, std::mt19937& rng) {
  std::u32string w = decode(word);
  if (w.empty()) return word;
  const char32_t letters[] = {U'а', U'о', U'к', U'я', U'ё', U'Е', U'x', U'Z', U'1', U'й'};
  auto pick = [&](size_t n) { return static_cast<size_t>(rng() % n); };
  const size_t at = pick(w.size());
  switch (rng() % 6) {
    case 0: w[at] = letters[pick(std::size(letters))]; break;
    case 1: w.insert(w.begin() + static_cast<std::ptrdiff_t>(at), letters[pick(std::size(letters))]); break;
    case 2: w.erase(at, 1); break;
    case 3:
      if (at + 1 < w.size()) std::swap(w[at], w[at + 1]);
      break;
    case 4: w.resize(at + 1); break;
    case 5:
      for (char32_t& c : w) {
        if (c >= U'а' && c <= U'я') c -= 0x20;
        else if (c >= U'a' && c <= U'z') c -= 0x20;
      }
      break;
  }
  return encode(w);
}

}  // namespace

TEST_CASE("the prefilter never changes a score: random names, queries with typos, prefixes and odd text") {
  // Words real names are made of, and the odd things text holds: legal
  // forms, ё, punctuation, a soft hyphen inside a word, a decomposed й
  // (и + combining breve), a bad byte, one- and two-letter words, digits.
  const std::vector<std::string> vocabulary = {
      "Ромашка", "Ромашко", "Иванов", "Иван", "Петров", "Пётр", "Клиент", "Торговый", "дом", "ООО", "ЗАО",
      "ИП", "Ёлка", "елка", "Petrov", "Romashka", "LLC", "5", "12", "№7", "«Север»", "Ро\u00adмашка",
      "Ки\u0306ров", "Кир\xffов", "а", "я", "ао", "ип", "Север-Юг", "Москва,", "ул.", "Ленина"};
  std::mt19937 rng(20261202);
  auto word = [&] { return vocabulary[rng() % vocabulary.size()]; };
  int names_matched = 0;
  int scored_zero = 0;
  for (int round = 0; round < 20000; ++round) {
    std::string company, contact, query;
    for (size_t k = rng() % 4; k > 0; --k) company += word() + " ";
    for (size_t k = rng() % 3; k > 0; --k) contact += word() + " ";
    for (size_t k = 1 + rng() % 3; k > 0; --k) {
      const std::string w = word();
      query += (rng() % 2 ? mutate(w, rng) : w) + (rng() % 4 ? " " : ", ");
    }
    const std::string key = normalize_company(company);
    const double filtered = NameMatcher(query).score_key(key, contact, "");
    const double full = NameMatcher(query, false).score_key(key, contact, "");
    CAPTURE(query);
    CAPTURE(company);
    CAPTURE(contact);
    REQUIRE(filtered == full);
    names_matched += full > 0;
    scored_zero += full == 0;
  }
  // Both kinds of answer were exercised, many times each.
  CHECK(names_matched > 500);
  CHECK(scored_zero > 2000);
}

TEST_CASE("the prefilter keeps a typo at either end of a word, and a prefix") {
  // The first two letters, or the last two, survive any one edit.
  CHECK(match_score("Рмоашка", "ООО «Ромашка»", "", "") > 0.5);   // swap at the start
  CHECK(match_score("Ромашак", "ООО «Ромашка»", "", "") > 0.5);   // swap at the end
  CHECK(match_score("Xомашка", "ООО «Ромашка»", "", "") > 0.5);   // first letter wrong
  CHECK(match_score("Ромашкx", "ООО «Ромашка»", "", "") > 0.5);   // last letter wrong
  CHECK(match_score("ромаш", "ООО «Ромашка»", "", "") > 0.5);     // a prefix
  CHECK(match_score("омашка", "ООО «Ромашка»", "", "") > 0.5);    // first letter missing
  CHECK(match_score("Кийров", "", "Ки\u0306ров Иван", "") > 0.5);  // a decomposed й in the contact
  CHECK(match_score("Ромашка Иван", "ООО «Ромашка»", "Иванов Иван", "") > 0.5);
  CHECK(match_score("Лютик", "ООО «Ромашка»", "Иванов Иван", "") == 0);
}

// ---- The search index: client_keys and NameMatcher::key_ranges ---------------------------

namespace {

bool indexed(const std::string& query, const std::string& company, const std::string& contact,
             const std::string& phone) {
  return NameMatcher(query).found_by(client_keys(normalize_company(company), contact, phone));
}

}  // namespace

TEST_CASE("client_keys holds each word, each long word reversed, and each phone's last five digits") {
  const std::vector<ClientKey> keys =
      client_keys(normalize_company("ООО «Ромашка»"), "Пётр Ив", "+7 (495) 123-45-67; 8 812 000-11-22 доб. 12, 123");
  const std::vector<ClientKey> expected = {
      {'p', "01122"}, {'p', "34567"}, {'r', "акшамор"}, {'w', "ив"}, {'w', "петр"}, {'w', "ромашка"},
  };
  CHECK(keys == expected);
  CHECK(client_keys("", "", "").empty());
  // A word in both the company and the contact is one key.
  CHECK(client_keys("иванов", "Иванов", "").size() == 2);
}

TEST_CASE("the index finds a word with one typo at any position, a prefix, and a phone") {
  for (const std::string word : {"лютик", "клиент", "ромашка", "клиента", "василёк", "одуванчик", "незабудками"}) {
    const std::u32string w = [&] {
      std::u32string out;
      size_t i = 0;
      while (i < word.size()) out += static_cast<char32_t>(next_code_point(word, i));
      return out;
    }();
    std::vector<std::u32string> typos;
    for (size_t at = 0; at <= w.size(); ++at) {
      typos.push_back(w.substr(0, at) + U'ж' + w.substr(at));  // an insertion
      if (at == w.size()) continue;
      typos.push_back(w.substr(0, at) + w.substr(at + 1));      // a deletion
      std::u32string sub = w;
      sub[at] = U'ж';
      typos.push_back(sub);                                     // a substitution
      if (at + 1 < w.size()) {
        std::u32string swap = w;
        std::swap(swap[at], swap[at + 1]);
        typos.push_back(swap);                                  // a swap
      }
    }
    for (const std::u32string& t : typos) {
      std::string query;
      for (char32_t c : t) append_utf8(query, c);
      CAPTURE(query);
      CAPTURE(word);
      // The name word typed wrong, and the query word typed right against a
      // name word typed wrong: both ways round.
      if (match_score(query, word, "", "") > 0) CHECK(indexed(query, word, "", ""));
      if (match_score(word, query, "", "") > 0) CHECK(indexed(word, query, "", ""));
    }
  }
  CHECK(indexed("ром", "ООО «Ромашка»", "", ""));
  CHECK(indexed("ромашка иван", "ООО «Ромашка»", "Иванов Иван", ""));
  CHECK(indexed("4951234567", "", "", "+7 (495) 123-45-67, 8 812 000-11-22"));
  CHECK(indexed("8 812 000 11 22", "", "", "+7 (495) 123-45-67, 8 812 000-11-22 доб. 5"));
  CHECK_FALSE(indexed("лютик", "ООО «Ромашка»", "Иванов Иван", "+7 (495) 123-45-67"));
  CHECK_FALSE(indexed("ро", "ООО «Ромашка»", "", ""));        // too short for a prefix
  CHECK_FALSE(indexed("ромашка лютик", "ООО «Ромашка»", "", ""));  // every word must match
  CHECK_FALSE(indexed("0000011122", "", "", "+7 (495) 123-45-67"));
}

TEST_CASE("the index finds every client a query scores above 0: random names, queries with typos and phones") {
  const std::vector<std::string> vocabulary = {
      "Ромашка", "Ромашко", "Иванов", "Иван", "Петров", "Пётр", "Клиент", "Торговый", "дом", "ООО", "ЗАО",
      "ИП", "Ёлка", "елка", "Petrov", "Romashka", "LLC", "5", "12", "№7", "«Север»", "Ро\u00adмашка",
      "Ки\u0306ров", "Кир\xffов", "а", "я", "ао", "ип", "Север-Юг", "Москва,", "ул.", "Ленина", "Одуванчики"};
  const std::vector<std::string> phones = {"+7 (495) 123-45-67", "8 812 000-11-22 доб. 7", "12345", "1234",
                                           "4951234567; 89161112233"};
  std::mt19937 rng(20261203);
  auto word = [&] { return vocabulary[rng() % vocabulary.size()]; };
  int matched = 0;
  int passed_over = 0;
  for (int round = 0; round < 20000; ++round) {
    std::string company, contact, phone, query;
    for (size_t k = rng() % 4; k > 0; --k) company += word() + " ";
    for (size_t k = rng() % 3; k > 0; --k) contact += word() + " ";
    if (rng() % 3 == 0) phone = phones[rng() % phones.size()];
    if (rng() % 5 == 0) {
      query = phones[rng() % phones.size()];
      if (rng() % 2) query = query.substr(query.size() / 3);
    } else {
      for (size_t k = 1 + rng() % 3; k > 0; --k) {
        const std::string w = word();
        query += (rng() % 2 ? mutate(w, rng) : w) + (rng() % 4 ? " " : ", ");
      }
    }
    const NameMatcher m(query);
    const double score = m.score_key(normalize_company(company), contact, phone);
    const bool found = m.found_by(client_keys(normalize_company(company), contact, phone));
    CAPTURE(query);
    CAPTURE(company);
    CAPTURE(contact);
    CAPTURE(phone);
    if (score > 0) REQUIRE(found);
    matched += score > 0;
    passed_over += !found;
  }
  // Both kinds of answer were exercised, many times each.
  CHECK(matched > 500);
  CHECK(passed_over > 2000);
}
