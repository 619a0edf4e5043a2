// `reglament clients …`: the client database as a person works it from the
// command line — add, list, show, edit, find (in Russian), requests taken by
// phone, the ABC analysis, and the refusals that leave everything as it was.
#include "tests/e2e/harness.h"

using namespace reglament;
using namespace reglament::e2e;

namespace {

// A database with the bundled org chart and no process: the client database
// needs none, and the tests stay independent of the processes' handlers.
class ClientsEnv : public Env {
 public:
  ClientsEnv() : Env(false) {
    const auto bundle = dir() / "bundle";
    std::filesystem::create_directories(bundle);
    std::filesystem::copy_file(REGLAMENT_SOURCE_DIR "/processes/org.yaml", bundle / "org.yaml");
    Run r = rg({"deploy", bundle.string()});
    REQUIRE_MESSAGE(r.code == 0, r.err);
  }
};

std::string join(const std::vector<std::string>& args) {
  std::string out;
  for (const auto& a : args) out += (out.empty() ? "" : " ") + a;
  return out;
}

// Every client, as `clients list --json` prints them: the "nothing changed"
// check compares this before and after.
std::string all_clients(Env& env) { return env.json("ivanova", {"clients", "list"}).dump(); }

std::string add(Env& env, std::vector<std::string> args) {
  args.insert(args.begin(), {"clients", "add"});
  Json out = env.json("ivanova", args);
  REQUIRE(out.get("client").is_integer());
  return std::to_string(out.integer("client"));
}

}  // namespace

TEST_CASE("clients add, list, show, edit and find work in Russian") {
  ClientsEnv env;
  Run r = env.rg({"clients", "add", "--company", "ООО «Ромашка»", "--contact", "Петров Пётр", "--phone",
                  "+7 (495) 123-45-67", "--email", "zakaz@romashka.ru", "--regular-since", "2024-03-01",
                  "--manager", "ivanova", "--next-contact", "2026-12-01", "--notes", "звонить утром", "--as",
                  "ivanova"});
  REQUIRE_MESSAGE(r.code == 0, r.err);
  CHECK(r.out == "client 1 added\n");
  const std::string sever = add(env, {"--company", "Торговый дом \"Север\", АО", "--vip", "--manager", "petrov"});
  CHECK(sever == "2");

  // list: the table and the JSON.
  r = env.rg({"clients", "list", "--as", "ivanova"});
  REQUIRE(r.code == 0);
  CHECK(contains(r.out, "COMPANY"));
  CHECK(contains(r.out, "NEXT CONTACT"));
  CHECK(contains(r.out, "ООО «Ромашка»"));
  CHECK(contains(r.out, "Петров Пётр"));
  Json list = env.json("ivanova", {"clients", "list"});
  REQUIRE(list.as_array().size() == 2);
  const Json& first = list.as_array()[0];
  CHECK(first.integer("id") == 1);
  CHECK(first.str("company") == "ООО «Ромашка»");
  CHECK(first.str("phone") == "+7 (495) 123-45-67");
  CHECK(first.str("regular_since") == "2024-03-01");
  CHECK(first.get("vip") == Json(false));
  CHECK(first.str("created_at") == env.now);
  CHECK(list.as_array()[1].get("vip") == Json(true));

  // Filters.
  Json vips = env.json("ivanova", {"clients", "list", "--vip"});
  REQUIRE(vips.as_array().size() == 1);
  CHECK(vips.as_array()[0].str("company") == "Торговый дом \"Север\", АО");
  Json mine = env.json("ivanova", {"clients", "list", "--manager", "ivanova"});
  REQUIRE(mine.as_array().size() == 1);
  CHECK(mine.as_array()[0].integer("id") == 1);
  r = env.rg({"clients", "list", "--class", "A"});
  CHECK(r.code == 0);
  CHECK(r.out == "no clients match\n");

  // show
  r = env.rg({"clients", "show", "1"});
  REQUIRE_MESSAGE(r.code == 0, r.err);
  CHECK(contains(r.out, "client 1: ООО «Ромашка»"));
  CHECK(contains(r.out, "звонить утром"));
  CHECK(contains(r.out, "requests:\n  —"));
  Json shown = env.json("ivanova", {"clients", "show", "1"});
  CHECK(shown.get("client").str("contact") == "Петров Пётр");
  CHECK(shown.get("contacts").as_array().empty());
  CHECK(shown.get("requests").as_array().empty());
  CHECK(shown.get("complaints").as_array().empty());
  CHECK(shown.get("items").as_array().empty());

  // edit: change, clear, and take the VIP mark off.
  env.now = "2026-11-24T09:00:00+03:00";
  r = env.rg({"clients", "edit", "1", "--contact", "Сидорова Анна", "--next-contact", "", "--as", "petrov"});
  REQUIRE_MESSAGE(r.code == 0, r.err);
  CHECK(r.out == "client 1 updated\n");
  Json edited = env.json("ivanova", {"clients", "show", "1"}).get("client");
  CHECK(edited.str("contact") == "Сидорова Анна");
  CHECK(edited.str("next_contact") == "");
  CHECK(edited.str("phone") == "+7 (495) 123-45-67");
  CHECK(edited.str("updated_at") == "2026-11-24T09:00:00+03:00");
  CHECK(edited.str("created_at") == "2026-11-23T10:00:00+03:00");
  REQUIRE(env.rg({"clients", "edit", sever, "--no-vip", "--company", "АО «Север»"}).code == 0);
  Json renamed = env.json("ivanova", {"clients", "show", sever}).get("client");
  CHECK(renamed.get("vip") == Json(false));
  CHECK(renamed.str("company") == "АО «Север»");

  // find: word order, legal form, quotes and case do not matter.
  Json found = env.json("ivanova", {"clients", "find", "ромашка ооо"});
  REQUIRE_FALSE(found.as_array().empty());
  CHECK(found.as_array()[0].str("company") == "ООО «Ромашка»");
  CHECK(found.as_array()[0].get("score").as_double() > 0.5);
  found = env.json("ivanova", {"clients", "find", "8 495 1234567"});
  REQUIRE_FALSE(found.as_array().empty());
  CHECK(found.as_array()[0].integer("id") == 1);
  r = env.rg({"clients", "find", "Ромашка"});
  REQUIRE(r.code == 0);
  CHECK(contains(r.out, "SCORE"));
  CHECK(contains(r.out, "ООО «Ромашка»"));
  r = env.rg({"clients", "find", "Лютик"});
  CHECK(r.code == 0);
  CHECK(r.out == "no client matches \"Лютик\"\n");
  CHECK(env.json("ivanova", {"clients", "find", "Лютик"}).as_array().empty());
}

TEST_CASE("clients refuse bad input with the right exit code and change nothing") {
  ClientsEnv env;
  add(env, {"--company", "ООО «Ромашка»", "--phone", "+7 495 123-45-67"});
  const std::string before = all_clients(env);

  struct Case {
    std::vector<std::string> args;
    int code;
    const char* says;
  };
  const std::vector<Case> cases{
      {{"clients", "add"}, 2, "--company"},
      {{"clients", "add", "--company", "   "}, 2, "--company"},
      {{"clients", "add", "--company", "Лютик", "--next-contact", "2026-02-30"}, 2, "--next-contact \"2026-02-30\""},
      {{"clients", "add", "--company", "Лютик", "--regular-since", "01.03.2024"}, 2, "--regular-since"},
      {{"clients", "add", "--company", "Лютик", "--manager", "nobody"}, 2, "\"nobody\""},
      {{"clients", "add", "--company", "Лютик", "--phone", "12"}, 2, "--phone"},
      {{"clients", "add", "--company", "Лютик", "--email", "нет"}, 2, "--email"},
      {{"clients", "add", "--company", "ромашка, ооо"}, 4, "client 1 already has that name"},
      {{"clients", "edit", "1"}, 2, "needs something to change"},
      {{"clients", "edit", "1", "--vip", "--no-vip"}, 2, "contradict"},
      {{"clients", "edit", "1", "--company", ""}, 2, "--company"},
      {{"clients", "edit", "42", "--notes", "x"}, 3, "no client 42"},
      {{"clients", "edit", "abc", "--notes", "x"}, 2, "not a client id"},
      {{"clients", "show", "42"}, 3, "no client 42"},
      {{"clients", "show", "-1"}, 2, ""},
      {{"clients", "find", " "}, 2, "look for"},
      {{"clients", "request", "42", "--volume", "5"}, 3, "no client 42"},
      {{"clients", "request", "1", "--volume", "-5"}, 2, ""},
      {{"clients", "request", "1", "--volume", "5", "--date", "2026-13-01"}, 2, "--date"},
      {{"clients", "request", "1", "--volume", "5", "--status", "maybe"}, 2, ""},
      {{"clients", "request", "1"}, 2, "--volume"},
      {{"clients", "abc", "--a", "0"}, 2, "A share"},
      {{"clients", "abc", "--a", "90", "--b", "20"}, 2, "more than 100"},
      {{"clients", "abc", "--from", "2026-11-01", "--to", "2026-10-01"}, 2, "before --to"},
      {{"clients", "abc", "--from", "ноябрь"}, 2, "--from"},
      {{"clients"}, 2, ""},
  };
  for (const Case& c : cases) {
    CAPTURE(join(c.args));
    Run r = env.rg(c.args);
    CHECK(r.code == c.code);
    CHECK_MESSAGE(contains(r.err, c.says), r.err);
    CHECK(r.out.empty());
    CHECK(all_clients(env) == before);
  }
  // No request was recorded either.
  CHECK(env.json("ivanova", {"clients", "show", "1"}).get("requests").as_array().empty());
}

// The fixture of the ABC analysis, October 2026 (--from 2026-10-01 --to
// 2026-11-01), accepted and done requests only:
//   1 Альфа    500 (accepted, 10-05) + 100 (done, 10-20)            = 600  60%  cum  60
//   2 Бета     250 (accepted, 10-10)                                = 250  25%  cum  85
//   3 Гамма    100 (accepted, 10-12); 999 cancelled and 400 dated
//              09-30 do not count                                   = 100  10%  cum  95
//   4 Дельта    50 (accepted, 10-31)                                =  50   5%  cum 100
//   5 Эпсилон  no request                                           =   0   0%
// Total 1000. A = the first 80%: Альфа (0 before it) and Бета (60 before it:
// it crosses the line, so it is A too). B = the next 15% (up to 95): Гамма
// (85 before it). C: Дельта (95 before it) and Эпсилон (no volume).
// With --a 50 --b 30: Альфа A, Бета B (60 before, under 80), Гамма C (85
// before), Дельта C, Эпсилон C.
TEST_CASE("clients abc classes the clients of a period by accepted volume, and stores the classes") {
  ClientsEnv env;
  for (const char* name : {"Альфа", "Бета", "Гамма", "Дельта", "Эпсилон"}) add(env, {"--company", name});
  auto request = [&](const std::string& client, const std::string& volume, const std::string& date,
                     const std::string& status) {
    Json out = env.json("petrov", {"clients", "request", client, "--volume", volume, "--date", date, "--status",
                                   status});
    CHECK(out.integer("client") == std::stoll(client));
    return out.integer("request");
  };
  CHECK(request("1", "500", "2026-10-05", "accepted") == 1);
  request("1", "100", "2026-10-20", "done");
  request("2", "250", "2026-10-10", "accepted");
  request("3", "100", "2026-10-12", "accepted");
  request("3", "999", "2026-10-13", "cancelled");
  request("3", "400", "2026-09-30", "accepted");
  request("4", "50", "2026-10-31", "accepted");

  // The request is on the client's card, as typed.
  Json card = env.json("ivanova", {"clients", "show", "1"});
  REQUIRE(card.get("requests").as_array().size() == 2);
  const Json& req = card.get("requests").as_array()[0];
  CHECK(req.str("date") == "2026-10-05");
  CHECK(req.get("volume").as_double() == 500);
  CHECK(req.str("status") == "accepted");
  CHECK(req.str("company") == "Альфа");
  CHECK(req.str("actor") == "petrov");

  // A dry run with other thresholds prints classes and stores none.
  Json dry = env.json("ivanova", {"clients", "abc", "--from", "2026-10-01", "--to", "2026-11-01", "--a", "50", "--b",
                                  "30", "--dry-run"});
  std::string classes;
  for (const Json& row : dry.as_array()) classes += row.str("class");
  CHECK(classes == "ABCCC");
  const Json listed = env.json("ivanova", {"clients", "list"});  // kept: the loop reads into it
  for (const Json& c : listed.as_array()) CHECK(c.str("abc_class") == "");

  Json abc = env.json("ivanova", {"clients", "abc", "--from", "2026-10-01", "--to", "2026-11-01"});
  REQUIRE(abc.as_array().size() == 5);
  struct Expected {
    int64_t client;
    const char* company;
    const char* cls;
    double volume, share, cumulative;
  };
  const Expected expected[] = {
      {1, "Альфа", "A", 600, 60, 60},  {2, "Бета", "A", 250, 25, 85},   {3, "Гамма", "B", 100, 10, 95},
      {4, "Дельта", "C", 50, 5, 100}, {5, "Эпсилон", "C", 0, 0, 100},
  };
  for (size_t i = 0; i < 5; ++i) {
    const Json& row = abc.as_array()[i];
    CAPTURE(i);
    CHECK(row.integer("client") == expected[i].client);
    CHECK(row.str("company") == expected[i].company);
    CHECK(row.str("class") == expected[i].cls);
    CHECK(row.get("volume").as_double() == doctest::Approx(expected[i].volume));
    CHECK(row.get("share").as_double() == doctest::Approx(expected[i].share));
    if (expected[i].volume > 0) CHECK(row.get("cumulative").as_double() == doctest::Approx(expected[i].cumulative));
  }

  // Stored: the list filters by class, class A counts as VIP, abc_at is --now.
  Json a = env.json("ivanova", {"clients", "list", "--class", "A"});
  REQUIRE(a.as_array().size() == 2);
  CHECK(a.as_array()[0].str("company") == "Альфа");
  CHECK(a.as_array()[0].str("abc_at") == env.now);
  CHECK(a.as_array()[0].get("effective_vip") == Json(true));
  CHECK(a.as_array()[0].get("vip") == Json(false));
  CHECK(env.json("ivanova", {"clients", "list", "--vip"}).as_array().size() == 2);
  CHECK(env.json("ivanova", {"clients", "list", "--class", "B"}).as_array().at(0).str("company") == "Гамма");
  CHECK(env.json("ivanova", {"clients", "list", "--class", "C"}).as_array().size() == 2);

  // The table.
  Run r = env.rg({"clients", "abc", "--from", "2026-10-01", "--to", "2026-11-01", "--dry-run"});
  REQUIRE(r.code == 0);
  CHECK(contains(r.out, "CUMULATIVE %"));
  CHECK(contains(r.out, "Альфа"));
  CHECK(contains(r.out, "60.0"));
  CHECK(contains(r.out, "A 2, B 1, C 2"));
  CHECK(contains(r.out, "dry run: nothing stored"));

  // Without a period every accepted request counts: Гамма's 400 of September
  // too (1400 in all: Альфа 600, Гамма 500, Бета 250, Дельта 50).
  Json whole = env.json("ivanova", {"clients", "abc", "--dry-run"});
  CHECK(whole.as_array()[1].str("company") == "Гамма");
  CHECK(whole.as_array()[1].get("volume").as_double() == doctest::Approx(500));
}

TEST_CASE("clients request defaults the date to the day of --now and the contact to the client's") {
  ClientsEnv env;
  add(env, {"--company", "ООО «Ромашка»", "--contact", "Петров Пётр"});
  Run r = env.rg({"clients", "request", "1", "--volume", "12.5", "--delivery", "delivery", "--delivery-place",
                  "Москва, склад 3", "--as", "ivanova"});
  REQUIRE_MESSAGE(r.code == 0, r.err);
  CHECK(contains(r.out, "request 1 recorded for client 1"));
  Json req = env.json("ivanova", {"clients", "show", "1"}).get("requests").as_array().at(0);
  CHECK(req.str("date") == "2026-11-23");
  CHECK(req.str("contact_person") == "Петров Пётр");
  CHECK(req.get("volume").as_double() == 12.5);
  CHECK(req.str("delivery") == "delivery");
  CHECK(req.str("delivery_place") == "Москва, склад 3");
  CHECK(req.str("manager") == "ivanova");
  CHECK(req.str("filled_at") == env.now);
  CHECK(req.get("instance").is_null());
}
