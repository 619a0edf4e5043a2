// ABC analysis: ranking, shares and classes on hand-counted volumes, and the
// rejected inputs.

#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "engine/abc.h"

using namespace reglament;

namespace {

std::string classes(const std::vector<AbcRow>& rows) {
  std::string out;
  for (const AbcRow& r : rows) out += r.cls;
  return out;
}

std::vector<int64_t> order(const std::vector<AbcRow>& rows) {
  std::vector<int64_t> out;
  for (const AbcRow& r : rows) out.push_back(r.client);
  return out;
}

void check_invalid(const Result<std::vector<AbcRow>>& r, const std::string& fragment) {
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == ErrorCode::invalid);
  CHECK_MESSAGE(r.error().message.find(fragment) != std::string::npos, r.error().message);
}

}  // namespace

TEST_CASE("classify_abc classes the hand-counted example A A B B C C") {
  // Given volumes whose shares are 50, 30, 10, 6, 4 and 0 percent, listed out
  // of order, when classified with A = 80 and B = 15:
  auto r = classify_abc({{4, 60}, {1, 500}, {6, 0}, {3, 100}, {2, 300}, {5, 40}}, 80, 15);
  REQUIRE(r.ok());
  const auto& rows = *r;
  // then they are ranked by volume,
  CHECK(order(rows) == std::vector<int64_t>{1, 2, 3, 4, 5, 6});
  // with these shares and cumulative shares,
  std::vector<double> shares{50, 30, 10, 6, 4, 0};
  std::vector<double> cumulative{50, 80, 90, 96, 100, 100};
  std::vector<double> volumes{500, 300, 100, 60, 40, 0};
  for (size_t i = 0; i < rows.size(); ++i) {
    CAPTURE(i);
    CHECK(rows[i].volume == doctest::Approx(volumes[i]));
    CHECK(rows[i].share == doctest::Approx(shares[i]));
    CHECK(rows[i].cumulative == doctest::Approx(cumulative[i]));
  }
  // and 2 is A (it reaches exactly 80), 3 and 4 B, 5 C (96 before it), 6 C (no volume).
  CHECK(classes(rows) == "AABBCC");
}

TEST_CASE("classify_abc makes the customer whose share crosses the A line A") {
  // 70 before the second customer: it is A although the cumulative becomes 100.
  auto r = classify_abc({{1, 70}, {2, 30}}, 80, 15);
  REQUIRE(r.ok());
  CHECK(classes(*r) == "AA");
  // One customer with everything is A.
  auto one = classify_abc({{9, 5}}, 80, 15);
  REQUIRE(one.ok());
  REQUIRE(one->size() == 1);
  CHECK((*one)[0].cls == 'A');
  CHECK((*one)[0].share == doctest::Approx(100));
  CHECK((*one)[0].cumulative == 100);
}

TEST_CASE("classify_abc orders equal volumes by client id") {
  auto r = classify_abc({{7, 10}, {3, 10}, {5, 10}, {1, 10}}, 50, 25);
  REQUIRE(r.ok());
  CHECK(order(*r) == std::vector<int64_t>{1, 3, 5, 7});
  // cumulative before: 0, 25, 50, 75 → A A B C
  CHECK(classes(*r) == "AABC");
}

TEST_CASE("classify_abc does not let rounding move a customer across an exact line") {
  // Ten customers of 0.07 each: the cumulative before the ninth is 80 percent
  // and before the tenth 90 in exact arithmetic; in doubles both come out
  // just below (79.99999999999999, 89.99999999999999).
  std::vector<AbcInput> in;
  for (int64_t id = 1; id <= 10; ++id) in.push_back({id, 0.07});
  auto r = classify_abc(in, 80, 10);
  REQUIRE(r.ok());
  CHECK(classes(*r) == "AAAAAAAABC");
  CHECK(r->back().cumulative == 100);
}

TEST_CASE("classify_abc with B at 0 has no B, and with A at 100 every customer with volume is A") {
  auto no_b = classify_abc({{1, 500}, {2, 300}, {3, 200}}, 80, 0);
  REQUIRE(no_b.ok());
  CHECK(classes(*no_b) == "AAC");
  auto all_a = classify_abc({{1, 500}, {2, 300}, {3, 200}, {4, 0}}, 100, 0);
  REQUIRE(all_a.ok());
  CHECK(classes(*all_a) == "AAAC");
}

TEST_CASE("classify_abc puts everyone in C with share 0 when all volumes are 0") {
  auto r = classify_abc({{2, 0}, {1, 0}, {3, 0}}, 80, 15);
  REQUIRE(r.ok());
  CHECK(order(*r) == std::vector<int64_t>{1, 2, 3});
  CHECK(classes(*r) == "CCC");
  for (const AbcRow& row : *r) {
    CHECK(row.share == 0);
    CHECK(row.cumulative == 0);
    CHECK_FALSE(std::isnan(row.share));
  }
}

TEST_CASE("classify_abc gives no rows for no customers") {
  auto r = classify_abc({}, 80, 15);
  REQUIRE(r.ok());
  CHECK(r->empty());
}

TEST_CASE("classify_abc rejects thresholds outside their range") {
  check_invalid(classify_abc({{1, 10}}, 0, 15), "A share");
  check_invalid(classify_abc({{1, 10}}, -5, 15), "A share");
  check_invalid(classify_abc({{1, 10}}, 100.5, 0), "A share");
  check_invalid(classify_abc({{1, 10}}, std::nan(""), 15), "A share");
  check_invalid(classify_abc({{1, 10}}, 80, -1), "B share");
  check_invalid(classify_abc({{1, 10}}, 80, std::nan("")), "B share");
  check_invalid(classify_abc({{1, 10}}, 80, 25), "more than 100");
  // Exactly 100 together is fine.
  CHECK(classify_abc({{1, 10}}, 80, 20).ok());
}

TEST_CASE("classify_abc rejects negative, infinite and not-a-number volumes, naming the client") {
  check_invalid(classify_abc({{1, 10}, {42, -1}}, 80, 15), "client 42");
  check_invalid(classify_abc({{7, std::numeric_limits<double>::infinity()}}, 80, 15), "client 7");
  check_invalid(classify_abc({{8, std::nan("")}}, 80, 15), "client 8");
}

TEST_CASE("classify_abc rejects a client listed twice and volumes too large to add") {
  check_invalid(classify_abc({{1, 10}, {2, 5}, {1, 3}}, 80, 15), "client 1 is listed twice");
  double big = std::numeric_limits<double>::max();
  check_invalid(classify_abc({{1, big}, {2, big}}, 80, 15), "add up");
}
