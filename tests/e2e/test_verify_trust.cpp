// What verify and seal cover (issue 18, "What verify and seal cover"), end to
// end: every hand edit found when a fresh install was attacked — the client
// tables, the org chart, the calendar, garbage over a table's pages — is a
// refusal with exit 6 naming what changed, and a database the person may only
// read can be read.
#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <tuple>
#include <vector>

#include "engine/sha256.h"
#include "tests/e2e/harness.h"

using namespace reglament;
using namespace reglament::e2e;

namespace {

namespace fs = std::filesystem;

// Runs SQL on the database file directly, as an attacker with the file would.
void tamper(const std::string& db, const std::string& sql) {
  SQLite::Database d(db, SQLite::OPEN_READWRITE);
  d.exec(sql);
}

// A deployed database with one client, one request of it and one started
// instance (whose first step looks the client up).
void populate(Env& env) {
  REQUIRE(env.rg({"clients", "add", "--company", "ООО «Ромашка»", "--phone", "+7 900 123-45-67"}).code == 0);
  Run r = env.rg({"clients", "request", "1", "--volume", "12"});
  REQUIRE_MESSAGE(r.code == 0, r.err);
  REQUIRE(env.rg({"start", "incoming-request", "--set", "client=ООО «Ромашка»", "--as", "ivanova"}).code == 0);
}

// The digest `seal` printed.
std::string seal(Env& env) {
  Json s = env.json("sidorova", {"seal"});
  REQUIRE(s.get("seal").is_string());
  return s.str("seal");
}

// Writes 3 KB of garbage over the first page of `table` (its root page),
// after moving everything in the write-ahead log into the file.
void damage_root_page(const std::string& db, const std::string& table) {
  int64_t page = 0, size = 0;
  {
    SQLite::Database d(db, SQLite::OPEN_READONLY);
    SQLite::Statement q(d, "SELECT rootpage FROM sqlite_master WHERE type = 'table' AND name = ?1");
    q.bind(1, table);
    REQUIRE(q.executeStep());
    page = q.getColumn(0).getInt64();
    size = d.execAndGet("PRAGMA page_size").getInt64();
  }
  {
    SQLite::Database d(db, SQLite::OPEN_READWRITE);
    d.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  }
  std::fstream f(db, std::ios::in | std::ios::out | std::ios::binary);
  f.seekp((page - 1) * size);
  const std::string garbage(3 * 1024, '\xde');
  f.write(garbage.data(), static_cast<std::streamsize>(garbage.size()));
}

bool mentions(const Run& r, const std::string& text) { return r.out.find(text) != std::string::npos; }

}  // namespace

TEST_CASE("a client made VIP and class A by hand fails verify and verify against a seal, naming the row") {
  Env env;
  populate(env);
  const std::string digest = seal(env);
  REQUIRE(env.rg({"verify"}).code == 0);
  tamper(env.db(), "UPDATE clients SET vip = 1, abc_class = 'A'");
  for (const std::vector<std::string>& args : {std::vector<std::string>{"verify"},
                                              std::vector<std::string>{"verify", "--against", digest}}) {
    Run r = env.rg(args);
    CHECK(r.code == 6);
    CHECK_MESSAGE(mentions(r, "clients row 1 differs from what the client_log records give"), r.out);
    CHECK_MESSAGE(mentions(r, "vip is 1 where the records give 0"), r.out);
    CHECK_MESSAGE(mentions(r, "abc_class is \"A\" where the records give \"\""), r.out);
  }
}

TEST_CASE("a request deleted by hand is reported missing, and one added by hand as written by no record") {
  Env env;
  populate(env);
  tamper(env.db(), "DELETE FROM requests WHERE id = 1");
  Run r = env.rg({"verify"});
  CHECK(r.code == 6);
  CHECK_MESSAGE(mentions(r, "requests row 1 is missing: the client_log records write it"), r.out);

  Env other;
  populate(other);
  tamper(other.db(), "INSERT INTO requests (client, status, at, volume) VALUES (1, 'accepted', '2026-11-23', 900)");
  r = other.rg({"verify"});
  CHECK(r.code == 6);
  CHECK_MESSAGE(mentions(r, "requests row 2 was written by no client_log record"), r.out);
}

TEST_CASE("an org chart edited so that a manager is an administrator fails verify, before and against a seal") {
  Env env;
  populate(env);
  const std::string digest = seal(env);
  tamper(env.db(), "UPDATE org SET source = replace(source, 'admin: [deputy-director]', 'admin: [deputy-director, "
                   "manager]')");
  for (const std::vector<std::string>& args : {std::vector<std::string>{"verify"},
                                              std::vector<std::string>{"verify", "--against", digest}}) {
    Run r = env.rg(args);
    CHECK(r.code == 6);
    CHECK_MESSAGE(mentions(r, "the org chart was changed after it was deployed"), r.out);
  }
}

TEST_CASE("a holiday added to the deployed calendar fails verify") {
  Env env;
  populate(env);
  tamper(env.db(), "UPDATE documents SET source = replace(source, '    - \"2026-01-01\"', '    - \"2026-01-01\"\n"
                   "    - \"2026-11-24\"') WHERE name = 'calendar'");
  Run r = env.rg({"verify", "--json"});
  CHECK(r.code == 6);
  CHECK_MESSAGE(mentions(r, "the document \\\"calendar\\\" was changed after it was deployed"), r.out);
}

TEST_CASE("a deployments log rewritten to match an edited org chart is caught against the seal taken before") {
  Env env;
  populate(env);
  const std::string digest = seal(env);
  // The attacker edits the org chart and recomputes the deployments chain
  // from its record on, with reglament's own hash, guards put back as they were.
  SQLite::Database d(env.db(), SQLite::OPEN_READWRITE);
  std::string update_guard, delete_guard;
  {
    SQLite::Statement q(d, "SELECT name, sql FROM sqlite_master WHERE name LIKE 'deployments_append_only_%'");
    while (q.executeStep()) {
      (q.getColumn(0).getString() == "deployments_append_only_update" ? update_guard : delete_guard) =
          q.getColumn(1).getString();
    }
  }
  REQUIRE_FALSE(update_guard.empty());
  d.exec("DROP TRIGGER deployments_append_only_update; DROP TRIGGER deployments_append_only_delete;"
         "UPDATE org SET source = source || '\n# edited'");
  const std::string source = d.execAndGet("SELECT source FROM org").getString();
  std::string previous;
  SQLite::Statement rows(d, "SELECT seq, kind, name, version, content_hash, at FROM deployments ORDER BY seq");
  std::vector<std::tuple<int64_t, std::string, std::string>> rewritten;  // seq, content hash, chain hash
  while (rows.executeStep()) {
    Json j = Json::object();
    j["seq"] = rows.getColumn(0).getInt64();
    j["kind"] = rows.getColumn(1).getString();
    j["name"] = rows.getColumn(2).getString();
    j["version"] = rows.getColumn(3).getInt64();
    j["content_hash"] = j.str("kind") == "org" ? sha256_hex(source) : rows.getColumn(4).getString();
    j["at"] = rows.getColumn(5).getString();
    previous = sha256_hex(previous + "\n" + j.dump());
    rewritten.emplace_back(j.integer("seq"), j.str("content_hash"), previous);
  }
  rows.reset();
  for (const auto& [seq, content, hash] : rewritten) {
    SQLite::Statement u(d, "UPDATE deployments SET content_hash = ?2, hash = ?3 WHERE seq = ?1");
    u.bind(1, seq);
    u.bind(2, content);
    u.bind(3, hash);
    u.exec();
  }
  d.exec(update_guard + ";");
  d.exec(delete_guard + ";");
  // Consistent on its own: verify alone cannot tell,
  Run plain = env.rg({"verify"});
  CHECK_MESSAGE(plain.code == 0, plain.out);
  // but the seal recorded the chain's head.
  Run sealed = env.rg({"verify", "--against", digest});
  CHECK(sealed.code == 6);
  CHECK_MESSAGE(mentions(sealed, "is not the one sealed"), sealed.out);
}

TEST_CASE("garbage over a table's pages is an integrity failure naming the table, with and without --full") {
  for (const std::string table : {"clients", "instances"}) {
    INFO(table);
    Env env;
    populate(env);
    damage_root_page(env.db(), table);
    for (const std::vector<std::string>& args : {std::vector<std::string>{"verify"},
                                                std::vector<std::string>{"verify", "--full"}}) {
      Run r = env.rg(args);
      CHECK(r.code == 6);
      CHECK_MESSAGE(mentions(r, "damaged: the table " + table + " is damaged"), r.out << r.err);
    }
    Json j = env.rg({"verify", "--json"}).json();
    REQUIRE(j.get("problems").is_array());
    REQUIRE_FALSE(j.get("problems").as_array().empty());
    CHECK(j.get("problems").as_array().front().str("kind") == "damaged");
  }
}

TEST_CASE("a read-only database can be read by inbox, show, history and verify; a write is refused and changes nothing") {
  Env env;
  populate(env);
  // An auditor's copy in a directory nobody may write: no -wal or -shm
  // beside it, and none can be made.
  const fs::path dir = env.dir() / "readonly";
  fs::create_directories(dir);
  const std::string db = (dir / "copy.db").string();
  fs::copy_file(env.db(), db);
  std::string undo;
  if (geteuid() == 0) {
    Run r = run_program("/usr/bin/chattr", {"+i", db, dir.string()});
    if (r.code != 0) {
      MESSAGE("running as root and `chattr +i` failed (" << r.err << "): a read-only file cannot be made here");
      return;
    }
  } else {
    fs::permissions(db, fs::perms::owner_read);
    fs::permissions(dir, fs::perms::owner_read | fs::perms::owner_exec);
  }
  struct Undo {
    fs::path dir;
    std::string db;
    ~Undo() {
      if (geteuid() == 0) {
        run_program("/usr/bin/chattr", {"-i", db, dir.string()});
      } else {
        fs::permissions(dir, fs::perms::owner_all);
        fs::permissions(db, fs::perms::owner_read | fs::perms::owner_write);
      }
    }
  } undo_at_end{dir, db};
  const std::string before = slurp(db);
  auto rg = [&](std::vector<std::string> args) {
    std::vector<std::string> full{"--db", db, "--now", env.now, "--as", "ivanova"};
    full.insert(full.end(), args.begin(), args.end());
    return run_program(REGLAMENT_BIN, full);
  };
  Run inbox = rg({"inbox"});
  CHECK_MESSAGE(inbox.code == 0, inbox.err);
  CHECK(inbox.out.find("1.2") != std::string::npos);
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"show", "1"}, std::vector<std::string>{"history", "1"},
        std::vector<std::string>{"verify", "--as", "sidorova"}, std::vector<std::string>{"verify", "--full", "--as", "sidorova"}}) {
    Run r = rg(args);
    CHECK_MESSAGE(r.code == 0, args.front() << ": " << r.err);
  }
  Run start = rg({"start", "incoming-request", "--set", "client=ООО «Ромашка»"});
  CHECK(start.code == 1);
  CHECK_MESSAGE(start.err.find("is read-only, so a command that changes it cannot run") != std::string::npos,
                start.err);
  CHECK(std::count(start.err.begin(), start.err.end(), '\n') == 1);
  CHECK(slurp(db) == before);
  CHECK_FALSE(fs::exists(db + "-wal"));
}
