// Roles decide who may see, start, claim, complete, skip, deploy and seal;
// the identity behind --as comes from the OS login unless the org says
// otherwise; every refusal is exit 5 and is recorded (docs/format.md,
// "access"; docs/reliability.md, "Trust model").
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <SQLiteCpp/SQLiteCpp.h>

#include "tests/e2e/harness.h"

using namespace reglament;
using namespace reglament::e2e;

namespace {

std::string os_account() {
  const passwd* pw = getpwuid(getuid());
  REQUIRE(pw != nullptr);
  return pw->pw_name;
}

std::vector<Json> refusals_of(Env& env, const std::vector<std::string>& extra = {}) {
  std::vector<std::string> args{"refusals"};
  args.insert(args.end(), extra.begin(), extra.end());
  const Json j = env.json("orlov", args);
  std::vector<Json> out;
  for (const Json& r : j.as_array()) out.push_back(r);
  return out;
}

// Counts of events, definitions and client rows: what a refused command must leave alone.
std::string footprint(const std::string& db) {
  SQLite::Database d(db, SQLite::OPEN_READONLY);
  std::string out;
  for (const char* t : {"events", "definitions", "clients", "seals", "tasks"})
    out += std::string(t) + "=" + d.execAndGet(std::string("SELECT count(*) FROM ") + t).getString() + " ";
  return out;
}

}  // namespace

TEST_CASE("roles decide who may deploy, seal, audit, start, see and change clients; each refusal is recorded") {
  Env env;
  const std::string id = start(env, "ivanova", "incoming-request", {"client=ООО «Ромашка»"});
  const std::string before = footprint(env.db());

  struct Refused {
    std::vector<std::string> args;
    std::string says;
  };
  const std::vector<Refused> refused = {
      {{"deploy", REGLAMENT_SOURCE_DIR "/processes", "--as", "ivanova"},
       "ivanova may not deploy definitions: it takes an administrator role (deputy-director)"},
      {{"seal", "--as", "petrov"}, "petrov may not seal the log"},
      {{"verify", "--as", "ivanova"}, "ivanova may not verify the database: it takes an auditor or administrator"},
      {{"report", "--from", "2026-11-01", "--to", "2026-12-01", "--as", "ivanova"},
       "ivanova may not compute the indicators"},
      {{"outbox", "--as", "kuznetsov"}, "kuznetsov may not read the outbox"},
      {{"start", "incoming-request", "--set", "client=X", "--as", "kuznetsov"},
       "kuznetsov may not start incoming-request"},
      {{"history", id, "--as", "smirnova"}, "smirnova may not see instances of incoming-request"},
      {{"show", id, "--as", "volkov"}, "volkov may not see instances of incoming-request"},
      {{"replay", id, "--as", "volkov"}, "volkov may not see instances of incoming-request"},
      {{"clients", "add", "--company", "ООО «Василёк»", "--as", "kuznetsov"},
       "kuznetsov may not change the client database: it takes one of the roles manager, deputy-director"},
  };
  for (const Refused& r : refused) {
    Run run = env.rg(r.args);
    CHECK_MESSAGE(run.code == 5, r.args[0] << ": " << run.err);
    CHECK_MESSAGE(contains(run.err, r.says), run.err);
  }
  CHECK(footprint(env.db()) == before);

  // Each attempt is in the refusals, with who, the OS account, the command line and the reason.
  const std::vector<Json> all = refusals_of(env);
  REQUIRE(all.size() == refused.size());
  for (size_t i = 0; i < all.size(); ++i) {
    CHECK(all[i].integer("seq") == static_cast<int64_t>(i + 1));
    CHECK(contains(all[i].str("reason"), refused[i].says));
    CHECK(all[i].str("os_login") == os_account());
    CHECK(contains(all[i].str("command"), refused[i].args[0]));
  }
  CHECK(all[0].str("actor") == "ivanova");
  CHECK(all[0].get("instance").is_null());
  // Those about the instance are listed with it, and under its history.
  const std::vector<Json> about = refusals_of(env, {id});
  REQUIRE(about.size() == 3);
  CHECK(about[0].str("actor") == "smirnova");
  CHECK(about[0].str("command") == "--db " + env.db() + " --now " + env.now + " --as sidorova history " + id +
                                       " --as smirnova");
  Run hist = env.rg({"history", id, "--as", "ivanova"});
  REQUIRE(hist.code == 0);
  CHECK(contains(hist.out, "refused at 2026-11-23 10:00: volkov (OS account " + os_account() + ") tried"));

  // Who may: the administrator deploys and seals, the auditor verifies, a manager sees
  // the instance and lists only the processes she acts in.
  CHECK(env.rg({"verify", "--as", "orlov"}).code == 0);
  CHECK(env.rg({"seal", "--as", "sidorova"}).code == 0);
  CHECK(env.rg({"deploy", REGLAMENT_SOURCE_DIR "/processes", "--as", "sidorova"}).code == 0);
  CHECK(env.rg({"history", id, "--as", "petrov"}).code == 0);
  const Json mine = env.json("smirnova", {"instances"});
  CHECK(mine.as_array().empty());  // the call centre acts in none of the running processes
  CHECK(env.json("ivanova", {"instances"}).as_array().size() == 1);
  // Refusals are for auditors.
  Run listing = env.rg({"refusals", "--as", "ivanova"});
  CHECK(listing.code == 5);
  CHECK(refusals_of(env).size() == refused.size() + 1);  // that attempt too
}

TEST_CASE("verify finds a changed or removed refusal") {
  Env env;
  REQUIRE(env.rg({"seal", "--as", "ivanova"}).code == 5);
  REQUIRE(env.rg({"seal", "--as", "petrov"}).code == 5);
  REQUIRE(env.rg({"verify", "--as", "orlov"}).code == 0);
  SUBCASE("changed") {
    SQLite::Database d(env.db(), SQLite::OPEN_READWRITE);
    CHECK_THROWS(d.exec("UPDATE refusals SET actor = 'orlov' WHERE seq = 1"));  // the trigger
    d.exec("DROP TRIGGER refusals_append_only_update; UPDATE refusals SET actor = 'orlov' WHERE seq = 1");
  }
  SUBCASE("removed") {
    SQLite::Database d(env.db(), SQLite::OPEN_READWRITE);
    d.exec("DROP TRIGGER refusals_append_only_delete; DELETE FROM refusals WHERE seq = 1");
  }
  Run v = env.rg({"verify", "--as", "orlov"});
  CHECK(v.code == 6);
  CHECK(contains(v.out + v.err, "refusals_append_only_"));
  CHECK(contains(v.out + v.err, "refusal "));
}

TEST_CASE("a seal covers the refusals: removing the last ones shows against it") {
  Env env;
  REQUIRE(env.rg({"seal", "--as", "ivanova"}).code == 5);
  REQUIRE(env.rg({"seal", "--as", "petrov"}).code == 5);
  Run sealed = env.rg({"seal", "--json", "--as", "sidorova"});
  REQUIRE(sealed.code == 0);
  const std::string digest = sealed.json().str("seal");
  REQUIRE(env.rg({"seal", "--as", "smirnova"}).code == 5);  // after the seal: not covered
  {
    // Someone who can write the file removes the last two refusals and puts
    // the trigger back as it was: the chain of what is left is whole.
    SQLite::Database d(env.db(), SQLite::OPEN_READWRITE);
    const std::string trigger =
        d.execAndGet("SELECT sql FROM sqlite_master WHERE name = 'refusals_append_only_delete'").getString();
    d.exec("DROP TRIGGER refusals_append_only_delete; DELETE FROM refusals WHERE seq >= 2; " + trigger);
  }
  CHECK(env.rg({"verify", "--as", "orlov"}).code == 0);  // nothing shows without the seal
  Run v = env.rg({"verify", "--against", digest, "--as", "orlov"});
  CHECK(v.code == 6);
  CHECK(contains(v.out + v.err, "refusal 2 was deleted after the seal, which recorded 2 refusals"));
}

TEST_CASE("identity from the OS login: --as may only name the person of the OS account") {
  // The bundled regulation with the default identity (os-login), and this OS
  // account mapped to ivanova.
  Env env(/*deploy=*/false);
  const std::filesystem::path bundle = env.dir() / "bundle";
  std::filesystem::copy(REGLAMENT_SOURCE_DIR "/processes", bundle, std::filesystem::copy_options::recursive);
  std::string org = slurp((bundle / "org.yaml").string());
  const auto asserted = org.find("  identity: asserted\n");
  REQUIRE(asserted != std::string::npos);
  org.erase(asserted, std::string("  identity: asserted\n").size());
  const std::string ivanova = "  - login: ivanova\n";
  const auto at = org.find(ivanova);
  REQUIRE(at != std::string::npos);
  org.insert(at + ivanova.size(), "    os_login: " + os_account() + "\n");
  std::ofstream((bundle / "org.yaml").string()) << org;

  // The first deploy into an empty database needs no administrator (and,
  // with no org yet, --now still stands). Afterwards under os-login the
  // clock is the system's: the commands below leave --now out.
  Run first = env.rg({"deploy", bundle.string(), "--as", "ivanova"});
  REQUIRE_MESSAGE(first.code == 0, first.err);
  struct stat st {};
  REQUIRE(::stat(env.db().c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);  // owner-only

  // Without --as, and with --as naming the same person, the OS account is ivanova.
  Run inbox = run_program(REGLAMENT_BIN, {"--db", env.db(), "inbox", "--json"});
  CHECK_MESSAGE(inbox.code == 0, inbox.err);
  Run started = run_program(REGLAMENT_BIN, {"--db", env.db(), "start", "incoming-request", "--set",
                                            "client=ООО «Ромашка»", "--as", "ivanova", "--json"});
  REQUIRE_MESSAGE(started.code == 0, started.err);
  const std::string id = started.json().str("instance");
  Run mine = run_program(REGLAMENT_BIN, {"--db", env.db(), "inbox", "--json"});
  bool found = false;
  const Json listed = mine.json();  // kept: the loop reads into it
  for (const Json& t : listed.as_array()) found = found || (t.str("instance") == id && t.str("step") == "3.1.1");
  CHECK(found);

  // Typing the director's (or the administrator's) name is refused and recorded.
  Run as_director = env.rg({"inbox", "--as", "orlov"});
  CHECK(as_director.code == 5);
  CHECK(contains(as_director.err, "--as orlov is refused: the OS account \"" + os_account() +
                                      "\" is ivanova, and this organisation takes identity from the OS login"));
  Run redeploy = env.rg({"deploy", bundle.string()});  // the harness's --as sidorova
  CHECK(redeploy.code == 5);
  CHECK(contains(redeploy.err, "--as sidorova is refused"));
  // REGLAMENT_USER is --as by another name; $USER is not believed at all.
  Run by_env = run_program(REGLAMENT_BIN, {"--db", env.db(), "inbox"}, {"REGLAMENT_USER=petrov"});
  CHECK(by_env.code == 5);
  Run by_user = run_program(REGLAMENT_BIN, {"--db", env.db(), "inbox", "--json"}, {"USER=orlov"});
  CHECK(by_user.code == 0);

  SQLite::Database d(env.db(), SQLite::OPEN_READONLY);
  CHECK(d.execAndGet("SELECT count(*) FROM refusals").getInt() == 3);
  CHECK(d.execAndGet("SELECT actor FROM refusals WHERE seq = 1").getString() == "orlov");
  CHECK(d.execAndGet("SELECT os_login FROM refusals WHERE seq = 1").getString() == os_account());
}
