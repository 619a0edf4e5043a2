// Definitions that must not deploy (issue 18), through the `reglament`
// binary: links inside a bundle, and a cycle of calls that only shows with
// the processes already deployed. (Control characters, loops of service
// steps and cycles within one bundle are cases of tests/bad-input/.)
#include <filesystem>
#include <fstream>
#include <string>

#include "tests/e2e/harness.h"

using namespace reglament;
using namespace reglament::e2e;

namespace fs = std::filesystem;

namespace {

// --now is given by the harness: the org asserts identities.
const char* kOrg = R"(roles:
  clerk: {title: Клерк}
  boss: {title: Начальник}
people:
  - {login: ivanova, name: Иванова Анна, roles: [clerk]}
  - {login: sidorova, name: Сидорова Елена, roles: [boss]}
access:
  identity: asserted
  admin: [boss]
)";

void write(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::trunc) << text;
}

// A bundle in `dir`: the org and one process file.
fs::path bundle(const fs::path& dir, const std::string& file, const std::string& process) {
  write(dir / "org.yaml", kOrg);
  write(dir / file, process);
  return dir;
}

}  // namespace

TEST_CASE("an instructions file that links outside the bundle is refused by validate and deploy, naming the link") {
  Env env(false);
  write(env.dir() / "secret.txt", "root:$6$secret-hash:19000:0:99999:7:::\n");
  const fs::path b = bundle(env.dir() / "b", "p.yaml", R"(process: p
title: P
owner: boss
steps:
  - {id: a, title: A, actor: clerk, instructions: scripts/s.md, next: end}
)");
  fs::create_directories(b / "scripts");
  fs::create_symlink(env.dir() / "secret.txt", b / "scripts" / "s.md");

  Run v = env.rg({"validate", b.string()});
  CHECK(v.code == 2);
  CHECK_MESSAGE(contains(v.err, (b / "scripts" / "s.md").string() + " is a symbolic link; a bundle may not hold links"),
                v.err);
  Run d = env.rg({"deploy", b.string()});
  CHECK(d.code == 2);
  CHECK_MESSAGE(contains(d.err, "scripts/s.md is a symbolic link"), d.err);
  CHECK_FALSE(fs::exists(env.db()));  // nothing was created, so nothing was stored
  CHECK_FALSE(contains(v.out + v.err + d.out + d.err, "secret-hash"));
}

TEST_CASE("a bundle folder that is a link is refused too") {
  Env env(false);
  write(env.dir() / "elsewhere" / "s.md", "text from outside\n");
  const fs::path b = bundle(env.dir() / "b", "p.yaml", R"(process: p
title: P
owner: boss
steps:
  - {id: a, title: A, actor: clerk, instructions: scripts/s.md, next: end}
)");
  fs::create_directory_symlink(env.dir() / "elsewhere", b / "scripts");
  Run v = env.rg({"validate", b.string()});
  CHECK(v.code == 2);
  CHECK_MESSAGE(contains(v.err, (b / "scripts").string() + " is a symbolic link"), v.err);
  Run single = env.rg({"validate", (b / "p.yaml").string()});
  CHECK(single.code == 2);
  CHECK_MESSAGE(contains(single.err, "scripts is a symbolic link"), single.err);
}

TEST_CASE("a process calling a deployed process that calls it back is refused by validate and deploy") {
  Env env(false);
  // b calls a, which is not deployed yet: b alone is fine.
  const fs::path first = bundle(env.dir() / "first", "b.yaml", R"(process: b
title: B
owner: boss
steps:
  - {id: x, title: X, actor: clerk, do: set, with: {n: "1"}, next: y}
  - {id: y, title: Y, actor: clerk, call: a, next: end}
)");
  Run d1 = env.rg({"deploy", first.string()});
  REQUIRE_MESSAGE(d1.code == 0, d1.err);
  const fs::path second = bundle(env.dir() / "second", "a.yaml", R"(process: a
title: A
owner: boss
steps:
  - {id: "1", title: Один, actor: clerk, call: {process: b, wait: true}, next: end}
)");
  // Alone, without the database, a's call cannot be followed.
  Run alone = run_program(REGLAMENT_BIN, {"--db", (env.dir() / "none.db").string(), "validate", second.string()});
  CHECK_MESSAGE(alone.code == 0, alone.err);

  Run v = env.rg({"validate", second.string()});
  CHECK(v.code == 2);
  CHECK_MESSAGE(contains(v.err, (second / "a.yaml").string() + ":5:48: processes \"a\", \"b\" call each other in a "
                                                               "cycle (with the deployed \"b\")"),
                v.err);
  // The deployed file is named as it was stored.
  CHECK_MESSAGE(contains(v.err, "b.yaml:6:43 step \"y\" of \"b\" calls \"a\""), v.err);
  Run d = env.rg({"deploy", second.string()});
  CHECK(d.code == 2);
  CHECK_MESSAGE(contains(d.err, "call each other in a cycle"), d.err);
  const Json defs = env.json("sidorova", {"definitions"});
  REQUIRE(defs.as_array().size() == 1);
  CHECK(defs.as_array()[0].str("process") == "b");
  CHECK(env.json("sidorova", {"instances"}).as_array().empty());
}
