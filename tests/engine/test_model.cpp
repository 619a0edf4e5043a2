#include <doctest/doctest.h>

#include "engine/model.h"

using namespace reglament;

namespace {

Field make_field(std::string name, ValueType type, bool required = false,
                 std::vector<std::string> options = {}) {
  Field f;
  f.name = std::move(name);
  f.type = type;
  f.required = required;
  f.options = std::move(options);
  return f;
}

std::string error_of(const Result<Json>& r) { return r.ok() ? "" : r.error().message; }

}  // namespace

TEST_CASE("value types print and parse as the names used in YAML") {
  for (ValueType t : {ValueType::text, ValueType::number, ValueType::boolean, ValueType::date,
                      ValueType::datetime, ValueType::choice}) {
    auto parsed = parse_value_type(to_string(t));
    REQUIRE(parsed.has_value());
    CHECK(*parsed == t);
  }
  CHECK(to_string(ValueType::boolean) == "bool");
  CHECK_FALSE(parse_value_type("boolean").has_value());
  CHECK_FALSE(parse_value_type("").has_value());
}

TEST_CASE("a number field turns integers into integers and decimals into reals") {
  Field f = make_field("volume", ValueType::number, true);
  auto i = parse_field_value(f, "1500");
  REQUIRE(i.ok());
  CHECK(i->is_integer());
  CHECK(i->as_int() == 1500);
  auto neg = parse_field_value(f, "-42");
  REQUIRE(neg.ok());
  CHECK(neg->as_int() == -42);
  auto plus = parse_field_value(f, "+7");
  REQUIRE(plus.ok());
  CHECK(plus->as_int() == 7);
  auto d = parse_field_value(f, "12.5");
  REQUIRE(d.ok());
  CHECK(d->kind() == Json::Kind::real);
  CHECK(d->as_double() == doctest::Approx(12.5));
  // Too large for a double to hold exactly: refused, not rounded (test_values.cpp).
  CHECK_FALSE(parse_field_value(f, "123456789012345678901234567890").ok());
}

TEST_CASE("a number field rejects text that is not a number and names the field") {
  Field f = make_field("volume", ValueType::number, true);
  CHECK(error_of(parse_field_value(f, "abc")) == "field \"volume\" must be a number, got \"abc\"");
  for (const char* bad : {"12,5", "1e5", "12.", ".5", "-", "0x10", "12 kg"}) {
    INFO(bad);
    CHECK_FALSE(parse_field_value(f, bad).ok());
  }
}

TEST_CASE("a bool field accepts true/false, yes/no and да/нет") {
  Field f = make_field("vip", ValueType::boolean);
  for (const char* yes : {"true", "TRUE", "yes", "Yes", "да", "Да"}) {
    INFO(yes);
    auto r = parse_field_value(f, yes);
    REQUIRE(r.ok());
    CHECK(*r == Json(true));
  }
  for (const char* no : {"false", "no", "NO", "нет", "Нет"}) {
    INFO(no);
    auto r = parse_field_value(f, no);
    REQUIRE(r.ok());
    CHECK(*r == Json(false));
  }
  CHECK(error_of(parse_field_value(f, "maybe")).find("field \"vip\" must be true or false") == 0);
}

TEST_CASE("a date field accepts only real calendar dates written YYYY-MM-DD") {
  Field f = make_field("date", ValueType::date);
  for (const char* good : {"2026-12-31", "2024-02-29", "2000-02-29", "2026-01-01"}) {
    INFO(good);
    auto r = parse_field_value(f, good);
    REQUIRE(r.ok());
    CHECK(*r == Json(good));
  }
  CHECK(error_of(parse_field_value(f, "31.12.2026")) ==
        "field \"date\" must be a date (YYYY-MM-DD), got \"31.12.2026\"");
  for (const char* bad : {"2023-02-29", "1900-02-29", "2026-04-31", "2026-13-01", "2026-00-10",
                          "2026-1-01", "2026-01-01T10:00Z", "20260101"}) {
    INFO(bad);
    CHECK_FALSE(parse_field_value(f, bad).ok());
  }
}

TEST_CASE("a datetime field wants ISO-8601 with Z or an offset") {
  Field f = make_field("filled_at", ValueType::datetime);
  for (const char* good : {"2025-03-14T10:30+03:00", "2025-03-14T10:30:15Z", "2024-02-29T23:59:59-05:30"}) {
    INFO(good);
    CHECK(parse_field_value(f, good).ok());
  }
  for (const char* bad : {"2025-03-14T10:30", "2025-03-14 10:30Z", "2025-03-14T24:00Z",
                          "2025-03-14T10:60Z", "2025-02-30T10:00Z", "2025-03-14T10:30+3:00",
                          "2025-03-14T10:30:15.5Z"}) {
    INFO(bad);
    auto r = parse_field_value(f, bad);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message.find("field \"filled_at\" must be a date and time") == 0);
  }
}

TEST_CASE("a choice field accepts one of its options and lists them otherwise") {
  Field f = make_field("reason", ValueType::choice, true, {"order", "complaint", "question"});
  auto r = parse_field_value(f, "complaint");
  REQUIRE(r.ok());
  CHECK(*r == Json("complaint"));
  CHECK(error_of(parse_field_value(f, "Order")) ==
        "field \"reason\" must be one of: order, complaint, question");
}

TEST_CASE("required fields must not be empty; optional empty values stay unset") {
  CHECK(error_of(parse_field_value(make_field("company", ValueType::text, true), "")) ==
        "field \"company\" is required");
  CHECK(error_of(parse_field_value(make_field("company", ValueType::text, true), "  ")) ==
        "field \"company\" is required");
  CHECK(error_of(parse_field_value(make_field("volume", ValueType::number, true), "")) ==
        "field \"volume\" is required");
  auto text = parse_field_value(make_field("note", ValueType::text), "");
  REQUIRE(text.ok());
  CHECK(*text == Json(""));
  auto number = parse_field_value(make_field("volume", ValueType::number), "");
  REQUIRE(number.ok());
  CHECK(number->is_null());
  auto kept = parse_field_value(make_field("note", ValueType::text), "Текст как есть ");
  REQUIRE(kept.ok());
  CHECK(*kept == Json("Текст как есть "));
}

TEST_CASE("typed values are checked against the field without conversion") {
  CHECK(check_field_value(make_field("volume", ValueType::number), Json(5)).ok());
  CHECK(check_field_value(make_field("volume", ValueType::number), Json(5.5)).ok());
  CHECK_FALSE(check_field_value(make_field("volume", ValueType::number), Json("5")).ok());
  CHECK(check_field_value(make_field("vip", ValueType::boolean), Json(true)).ok());
  CHECK_FALSE(check_field_value(make_field("vip", ValueType::boolean), Json("true")).ok());
  CHECK(check_field_value(make_field("date", ValueType::date), Json("2024-02-29")).ok());
  CHECK_FALSE(check_field_value(make_field("date", ValueType::date), Json("2023-02-29")).ok());
  CHECK(check_field_value(make_field("at", ValueType::datetime), Json("2024-02-29T10:00Z")).ok());
  CHECK_FALSE(check_field_value(make_field("at", ValueType::datetime), Json(7)).ok());
  Field reason = make_field("reason", ValueType::choice, false, {"order", "complaint"});
  CHECK(check_field_value(reason, Json("order")).ok());
  Status bad = check_field_value(reason, Json("other"));
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().message == "field \"reason\" must be one of: order, complaint");
  CHECK(bad.error().code == ErrorCode::invalid);
  CHECK(check_field_value(make_field("note", ValueType::text), Json(nullptr)).ok());
  Status missing = check_field_value(make_field("company", ValueType::text, true), Json(nullptr));
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().message == "field \"company\" is required");
  CHECK_FALSE(check_field_value(make_field("company", ValueType::text, true), Json("")).ok());
  Status wrong = check_field_value(make_field("volume", ValueType::number), Json("abc"));
  REQUIRE_FALSE(wrong.ok());
  CHECK(wrong.error().message == "field \"volume\" must be a number, got \"abc\"");
}

TEST_CASE("forms, processes and the org find their parts by name") {
  Form form;
  form.fields = {make_field("company", ValueType::text), make_field("volume", ValueType::number)};
  REQUIRE(form.field("volume") != nullptr);
  CHECK(form.field("volume")->type == ValueType::number);
  CHECK(form.field("missing") == nullptr);

  Process p;
  Step a;
  a.id = "3.1.1";
  Step b;
  b.id = "3.1.2";
  p.steps = {a, b};
  p.variables = {make_field("vip", ValueType::boolean)};
  REQUIRE(p.step("3.1.2") != nullptr);
  CHECK(p.step("3.1.2")->id == "3.1.2");
  CHECK(p.step("3.1.3") == nullptr);
  CHECK(p.start().id == "3.1.1");
  REQUIRE(p.variable("vip") != nullptr);
  CHECK(p.variable("client") == nullptr);

  Org org;
  org.roles = {{"manager", "Менеджер"}, {"legal", "Юрист"}};
  org.people = {{"ivanova", "Иванова", {"manager"}}, {"kuznetsov", "Кузнецов", {"legal", "manager"}}};
  REQUIRE(org.role("legal") != nullptr);
  CHECK(org.role("legal")->title == "Юрист");
  CHECK(org.role("director") == nullptr);
  REQUIRE(org.person("kuznetsov") != nullptr);
  CHECK(org.person("nobody") == nullptr);
  CHECK(org.has_role("kuznetsov", "manager"));
  CHECK_FALSE(org.has_role("ivanova", "legal"));
  CHECK_FALSE(org.has_role("nobody", "manager"));
}
