// `reglament backup FILE`, end to end: the copy is a database `verify` and
// `history` read the same as the original; an existing file is never
// replaced; a database whose log was edited by hand gives a copy that does
// not verify, which is not kept.
#include <SQLiteCpp/Database.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "tests/e2e/harness.h"

using namespace reglament;
using namespace reglament::e2e;

namespace {

Json open_task(Env& env, const std::string& instance) {
  Json shown = env.json("ivanova", {"show", instance});
  REQUIRE(shown.get("tasks").is_array());
  REQUIRE_FALSE(shown.get("tasks").as_array().empty());
  return shown.get("tasks").as_array().front();
}

// Two instances: 1 (incoming-request, VIP) with its first task completed, 2
// (complaint) just started.
void populate(Env& env) {
  env.now = "2026-11-23T10:00:00+03:00";
  env.json("ivanova", {"start", "incoming-request", "--set", "client=ООО «Ромашка»", "--set", "vip=true"});
  env.now = "2026-11-23T10:05:00+03:00";
  env.json("ivanova", {"complete", open_task(env, "1").str("task")});
  env.now = "2026-11-23T10:10:00+03:00";
  env.json("ivanova", {"start", "complaint", "--set", "client=ИП Петров"});
}

// `reglament --db DB --as USER args...` on another database file.
Run rg_on(Env& env, const std::string& db, const std::string& user, std::vector<std::string> args) {
  std::vector<std::string> full{"--db", db, "--now", env.now, "--as", user};
  full.insert(full.end(), args.begin(), args.end());
  return run_program(REGLAMENT_BIN, full);
}

bool partial_left(Env& env) {
  for (const auto& e : std::filesystem::directory_iterator(env.dir()))
    if (contains(e.path().filename().string(), ".partial-")) return true;
  return false;
}

}  // namespace

TEST_CASE("backup copies a database in use to a new file that verifies and has the same history") {
  Env env;
  populate(env);
  const std::string copy = (env.dir() / "copy.db").string();
  // when the database is backed up
  Run r = env.rg({"backup", copy, "--as", "sidorova"});
  // then one line says where, how big, and that the copy verified
  REQUIRE_MESSAGE(r.code == 0, r.err);
  const auto bytes = std::filesystem::file_size(copy);
  CHECK(r.out == "backed up to " + copy + ": " + std::to_string(bytes) + " bytes, verified (2 instances, " +
                     std::to_string(env.json("sidorova", {"verify"}).get("events").as_int()) + " events)\n");
  CHECK(r.err.empty());
  // and the copy is private to its owner
  struct stat st {};
  REQUIRE(::stat(copy.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  // and `verify` on the copy passes, and its history is the original's
  Run verified = rg_on(env, copy, "sidorova", {"verify"});
  CHECK(verified.code == 0);
  CHECK(contains(verified.out, "verified 2 instances, "));
  CHECK(contains(verified.out, ": ok\n"));
  for (const char* id : {"1", "2"}) {
    Run original = env.rg({"history", id, "--json", "--as", "ivanova"});
    Run copied = rg_on(env, copy, "ivanova", {"history", id, "--json"});
    REQUIRE(original.code == 0);
    REQUIRE(copied.code == 0);
    CHECK(copied.out == original.out);
  }
  // and the --json form says the same in fields
  const std::string second = (env.dir() / "second.db").string();
  Json j = env.json("sidorova", {"backup", second});
  CHECK(j.str("backup") == second);
  CHECK(j.get("verified") == Json(true));
  CHECK(j.get("bytes") == Json(static_cast<int64_t>(std::filesystem::file_size(second))));
  CHECK(j.get("instances") == Json(2));
  CHECK(j.get("pages").as_int() > 0);
  CHECK_FALSE(partial_left(env));
}

TEST_CASE("backup refuses an existing file and a missing directory, changing nothing") {
  Env env;
  populate(env);
  // given a file at the destination
  const std::string taken = (env.dir() / "taken.db").string();
  { std::ofstream(taken) << "yesterday's backup"; }
  // when it is named as the backup
  Run r = env.rg({"backup", taken, "--as", "sidorova"});
  // then exit 2, one sentence, and the file is as it was
  CHECK(r.code == 2);
  CHECK(r.err == "reglament: " + taken + " already exists; a backup never replaces a file, so name a new one\n");
  CHECK(r.out.empty());
  CHECK(slurp(taken) == "yesterday's backup");
  // and a directory that does not exist
  const std::string nowhere = (env.dir() / "missing" / "copy.db").string();
  Run missing = env.rg({"backup", nowhere, "--as", "sidorova"});
  CHECK(missing.code == 2);
  CHECK(missing.err == "reglament: cannot back up to " + nowhere + ": the directory " +
                           (env.dir() / "missing").string() + " does not exist\n");
  CHECK_FALSE(std::filesystem::exists(env.dir() / "missing"));
  // and no file named at all
  CHECK(env.rg({"backup", "--as", "sidorova"}).code == 2);
  // and a database that does not exist is not found, and not created
  Run none = rg_on(env, (env.dir() / "none.db").string(), "sidorova", {"backup", (env.dir() / "c.db").string()});
  CHECK(none.code == 3);
  CHECK_FALSE(std::filesystem::exists(env.dir() / "none.db"));
  CHECK_FALSE(std::filesystem::exists(env.dir() / "c.db"));
  CHECK_FALSE(partial_left(env));
}

TEST_CASE("backup of a database whose log was edited gives a copy that does not verify, and keeps none") {
  Env env;
  populate(env);
  // given someone dropped the guards and edited a payload of instance 1
  {
    SQLite::Database d(env.db(), SQLite::OPEN_READWRITE);
    d.exec("DROP TRIGGER events_append_only_update; DROP TRIGGER events_append_only_delete; "
           "UPDATE events SET data_json = replace(data_json, 'Ромашка', 'Лютик') WHERE instance = '1' AND seq = 1");
  }
  // when it is backed up
  const std::string copy = (env.dir() / "copy.db").string();
  Run r = env.rg({"backup", copy, "--as", "sidorova"});
  // then exit 6 (integrity), saying the copy does not verify
  CHECK(r.code == 6);
  CHECK(contains(r.err, "reglament: the copy for " + copy + " does not verify ("));
  CHECK(contains(r.err, "so it was not kept; see reglament verify\n"));
  CHECK(r.out.empty());
  // and nothing is left at the destination or beside it
  CHECK_FALSE(std::filesystem::exists(copy));
  CHECK_FALSE(partial_left(env));
}
