// The bad-input corpus, tests/bad-input/ (its README.md describes the files): definitions,
// command-line values, database files and exec programs that misbehave. Every case must end
// with the expected exit code and one clear sentence naming the problem (with file:line:column
// for a definition), never a crash, an exception's text or a sanitizer report, and must leave
// the database as it was, event for event.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <map>
#include <regex>

#include <SQLiteCpp/SQLiteCpp.h>

#include "engine/sha256.h"
#include "tests/e2e/harness.h"

using namespace reglament;
using namespace reglament::e2e;

namespace {

namespace fs = std::filesystem;

const fs::path kCorpus = REGLAMENT_SOURCE_DIR "/tests/bad-input";
constexpr double kFast = 10.0;  // seconds: every refusal must come at least this fast

// ---- Reading the corpus -------------------------------------------------------------------

// `\t \n \\ \xHH` and `{repeat:N:TEXT}` (TEXT repeated N times; TEXT may hold escapes).
std::string unescape(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s.compare(i, 8, "{repeat:") == 0) {
      size_t colon = s.find(':', i + 8);
      size_t close = s.find('}', colon);
      REQUIRE_MESSAGE((colon != std::string::npos && close != std::string::npos), "bad {repeat:} in " << s);
      int n = std::stoi(s.substr(i + 8, colon - i - 8));
      std::string text = unescape(s.substr(colon + 1, close - colon - 1));
      for (int k = 0; k < n; ++k) out += text;
      i = close;
    } else if (s[i] == '\\' && i + 1 < s.size()) {
      char c = s[++i];
      if (c == 't') {
        out += '\t';
      } else if (c == 'n') {
        out += '\n';
      } else if (c == 'x' && i + 2 < s.size()) {
        out += static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16));
        i += 2;
      } else {
        out += c;
      }
    } else {
      out += s[i];
    }
  }
  return out;
}

std::vector<std::string> split(const std::string& line, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  for (size_t tab = line.find(sep); tab != std::string::npos; tab = line.find(sep, start)) {
    out.push_back(line.substr(start, tab - start));
    start = tab + 1;
  }
  out.push_back(line.substr(start));
  return out;
}

// One line of cli.tsv or files.tsv: status, name (or setup), exit, message, args...
struct Row {
  bool known_bug = false;
  std::string name;
  int exit = 0;
  std::string message;
  std::vector<std::string> args;  // escapes not yet applied: placeholders first
  std::string where;              // file:line, for messages
};

std::vector<Row> read_table(const fs::path& file) {
  std::vector<Row> rows;
  std::istringstream in(slurp(file.string()));
  int n = 0;
  for (std::string line; std::getline(in, line);) {
    ++n;
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> cols = split(line, '\t');
    std::string where = file.filename().string() + ":" + std::to_string(n);
    REQUIRE_MESSAGE(cols.size() >= 4, where << ": a row needs status, name, exit and message");
    REQUIRE_MESSAGE((cols[0] == "ok" || cols[0] == "bug"), where << ": status must be ok or bug");
    Row r;
    r.known_bug = cols[0] == "bug";
    r.name = cols[1];
    r.exit = std::stoi(cols[2]);
    r.message = unescape(cols[3]);
    r.args.assign(cols.begin() + 4, cols.end());
    r.where = where;
    rows.push_back(std::move(r));
  }
  return rows;
}

std::vector<std::string> expand(const std::vector<std::string>& args,
                                const std::map<std::string, std::string>& placeholders) {
  std::vector<std::string> out;
  for (std::string a : args) {
    for (const auto& [key, value] : placeholders)
      for (size_t at = a.find(key); at != std::string::npos; at = a.find(key, at + value.size()))
        a.replace(at, key.size(), value);
    out.push_back(unescape(a));
  }
  return out;
}

// ---- What every refusal must look like ----------------------------------------------------

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

// A crash, an escaped exception or a sanitizer's report, described; "" when clean.
std::string crash_signs(const Run& r) {
  if (r.code < 0) return "the program did not run";
  if (r.code >= 128) return "killed by signal " + std::to_string(r.code - 128);
  for (const char* sign : {"terminate called", "what():", "Sanitizer", "runtime error:", "Segmentation fault",
                           "core dumped", "Assertion", "Aborted", "stack trace", "#0 0x"}) {
    if (contains(r.err, sign)) return std::string("stderr shows \"") + sign + "\"";
  }
  if (r.err.size() > 64 * 1024) return "stderr holds " + std::to_string(r.err.size()) + " bytes";
  return "";
}

// A refused command: the exit code, and one sentence "reglament: ..." holding `message`.
void check_refusal(const Run& r, int exit, const std::string& message) {
  CHECK_MESSAGE(crash_signs(r).empty(), crash_signs(r) << "\nstderr: " << r.err);
  CHECK_MESSAGE(r.code == exit, "exit " << r.code << ", expected " << exit << "\nstderr: " << r.err);
  if (exit == 0) {
    CHECK_MESSAGE(r.err.empty(), "stderr: " << r.err);
    return;
  }
  std::vector<std::string> lines = lines_of(r.err);
  CHECK_MESSAGE(lines.size() == 1, "expected one line on stderr:\n" << r.err.substr(0, 2000));
  CHECK_MESSAGE(r.err.size() < 1024, "stderr has " << r.err.size() << " bytes: " << r.err.substr(0, 2000));
  CHECK_MESSAGE(r.err.rfind("reglament: ", 0) == 0, "stderr: " << r.err);
  CHECK_MESSAGE(contains(r.err, message), "expected \"" << message << "\" in:\n" << r.err);
}

// ---- The database, table by table ---------------------------------------------------------

// A digest of every table's schema and rows (and of the schema table), by table name.
std::map<std::string, std::string> table_digests(const std::string& db) {
  std::map<std::string, std::string> out;
  SQLite::Database d(db, SQLite::OPEN_READONLY);
  std::vector<std::pair<std::string, std::string>> tables;
  SQLite::Statement list(d, "SELECT name, ifnull(sql, '') FROM sqlite_master WHERE type = 'table' ORDER BY name");
  while (list.executeStep()) tables.emplace_back(list.getColumn(0).getString(), list.getColumn(1).getString());
  std::string schema;
  SQLite::Statement all(d, "SELECT type, name, ifnull(sql, '') FROM sqlite_master ORDER BY type, name");
  while (all.executeStep()) {
    schema += all.getColumn(0).getString() + " " + all.getColumn(1).getString() + " " +
              all.getColumn(2).getString() + "\n";
  }
  out["(schema)"] = sha256_hex(schema);
  for (const auto& [name, sql] : tables) {
    std::string rows;
    SQLite::Statement q(d, "SELECT * FROM \"" + name + "\"");
    while (q.executeStep()) {
      for (int i = 0; i < q.getColumnCount(); ++i) {
        const SQLite::Column c = q.getColumn(i);
        rows += std::to_string(c.getType()) + ":" + std::to_string(c.getBytes()) + ":";
        if (!c.isNull()) rows.append(static_cast<const char*>(c.getBlob()), c.getBytes());
        rows += '\x1f';
      }
      rows += '\x1e';
    }
    out[name] = sha256_hex(rows);
  }
  return out;
}

// The names of the tables whose digest differs; "" when none does.
std::string changed_tables(const std::map<std::string, std::string>& before,
                           const std::map<std::string, std::string>& after) {
  std::string out;
  for (const auto& [name, digest] : after) {
    auto it = before.find(name);
    if (it == before.end() || it->second != digest) out += (out.empty() ? "" : ", ") + name;
  }
  for (const auto& [name, digest] : before)
    if (!after.count(name)) out += (out.empty() ? "" : ", ") + name + " (gone)";
  return out;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// ---- Definitions ---------------------------------------------------------------------------

// One expected problem: `[FILE:]LINE:COL: TEXT`, or just TEXT when it has no place.
struct Expected {
  std::string file;  // relative to the bundle; empty with no place
  int line = 0;
  int column = 0;
  std::string text;
};

struct DefinitionCase {
  std::string name;
  fs::path source;  // a .yaml file, or a directory holding a whole bundle
  int exit = 2;
  bool known_bug = false;
  std::vector<Expected> problems;
};

// The `exit:`, `status:` and `error:` lines of an expectation text; in a case file they are
// comments (`# error: ...`), in an `expect` file plain lines.
void read_expectations(DefinitionCase& c, const std::string& text, const std::string& default_file) {
  static const std::regex placed(R"(^(?:([^\s:]+):)?(\d+):(\d+): (.*)$)");
  std::string body = text.rfind("\xEF\xBB\xBF", 0) == 0 ? text.substr(3) : text;
  for (std::string line : lines_of(body)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.rfind("# ", 0) == 0) line = line.substr(2);
    if (line.rfind("exit: ", 0) == 0) {
      c.exit = std::stoi(line.substr(6));
    } else if (line == "status: bug") {
      c.known_bug = true;
    } else if (line.rfind("error: ", 0) == 0) {
      std::string e = line.substr(7);
      std::smatch m;
      Expected x;
      if (std::regex_match(e, m, placed)) {
        x.file = m[1].matched ? m[1].str() : default_file;
        x.line = std::stoi(m[2]);
        x.column = std::stoi(m[3]);
        x.text = m[4];
      } else {
        x.text = e;
      }
      c.problems.push_back(std::move(x));
    }
  }
}

std::vector<DefinitionCase> definition_cases() {
  std::vector<DefinitionCase> out;
  std::vector<fs::path> entries;
  for (const auto& e : fs::directory_iterator(kCorpus / "definitions")) entries.push_back(e.path());
  std::sort(entries.begin(), entries.end());
  for (const fs::path& p : entries) {
    std::string name = p.filename().string();
    if (name == "_base" || p.extension() == ".expect") continue;
    DefinitionCase c;
    c.source = p;
    if (fs::is_directory(p)) {
      c.name = name;
      REQUIRE_MESSAGE(fs::exists(p / "expect"), p << " has no expect file");
      read_expectations(c, slurp((p / "expect").string()), "");
    } else {
      c.name = p.stem().string();
      fs::path sidecar = p;
      sidecar.replace_extension(".expect");
      read_expectations(c, slurp((fs::exists(sidecar) ? sidecar : p).string()), name);
    }
    REQUIRE_MESSAGE((c.exit == 0 || !c.problems.empty()), p << " expects no error");
    out.push_back(std::move(c));
  }
  return out;
}

// The bundle of a case, in `dir`: a directory case as it is; a file beside _base/.
fs::path make_bundle(const DefinitionCase& c, const fs::path& dir) {
  fs::path bundle = dir / c.name;
  fs::remove_all(bundle);
  fs::create_directories(dir);
  if (fs::is_directory(c.source)) {
    fs::copy(c.source, bundle, fs::copy_options::recursive);
    fs::remove(bundle / "expect");
  } else {
    fs::copy(kCorpus / "definitions" / "_base", bundle, fs::copy_options::recursive);
    fs::copy_file(c.source, bundle / c.source.filename());
  }
  return bundle;
}

// Does stderr report `x` (at its place, when it has one)?
bool reports(const std::string& err, const fs::path& bundle, const Expected& x) {
  std::string place = x.file.empty() ? "" : (bundle / x.file).generic_string() + ":" + std::to_string(x.line) + ":" +
                                                std::to_string(x.column) + ": ";
  for (const std::string& l : lines_of(err)) {
    if (!place.empty() && l.rfind(place, 0) != 0) continue;
    if (contains(l, x.text)) return true;
  }
  return false;
}

// Every stderr line of a refused definition: `file:line:column: message`, a message without a
// place, or the closing `reglament: ...` line.
void check_definition_refusal(const Run& r, const DefinitionCase& c, const fs::path& bundle) {
  CHECK_MESSAGE(crash_signs(r).empty(), crash_signs(r) << "\nstderr: " << r.err);
  CHECK_MESSAGE(r.code == c.exit, "exit " << r.code << ", expected " << c.exit << "\nstderr: " << r.err);
  if (c.exit == 0) return;
  std::vector<std::string> lines = lines_of(r.err);
  CHECK_MESSAGE((!lines.empty() && lines.back().rfind("reglament: ", 0) == 0), "stderr: " << r.err);
  // A message names a long value by its start: no case needs pages of it.
  CHECK_MESSAGE(r.err.size() < 16 * 1024, "stderr has " << r.err.size() << " bytes: " << r.err.substr(0, 2000));
  for (const Expected& x : c.problems) {
    CHECK_MESSAGE(reports(r.err, bundle, x), "expected "
                                                 << (x.file.empty() ? "" : x.file + ":" + std::to_string(x.line) +
                                                                               ":" + std::to_string(x.column) + ": ")
                                                 << "…" << x.text << "… in:\n"
                                                 << r.err);
  }
}

// Runs validate, then deploy (when the case is refused), on `bundle`; the database must not change.
void run_definition_case(Env& env, const DefinitionCase& c, const fs::path& bundle) {
  auto before = table_digests(env.db());
  auto start = std::chrono::steady_clock::now();
  Run v = env.rg({"validate", bundle.string(), "--as", "sidorova"});
  double took = seconds_since(start);
  if (c.known_bug) {
    MESSAGE("known bug " << c.name << ": exit " << v.code << ", stderr: " << v.err.substr(0, 300));
    CHECK_MESSAGE(crash_signs(v).empty(), crash_signs(v));
    return;
  }
  check_definition_refusal(v, c, bundle);
  CHECK_MESSAGE(took < kFast, "validate took " << took << " s");
  if (c.exit == 0) return;
  Run d = env.rg({"deploy", bundle.string(), "--as", "sidorova"});
  check_definition_refusal(d, c, bundle);
  CHECK_MESSAGE(changed_tables(before, table_digests(env.db())).empty(),
                "deploy changed " << changed_tables(before, table_digests(env.db())));
}

// Cases too big to keep as files, made at run time.
struct Generated {
  std::string name;
  std::function<std::string()> text;
  std::string message;
};

std::string repeat(const std::string& s, size_t n) {
  std::string out;
  out.reserve(s.size() * n);
  for (size_t i = 0; i < n; ++i) out += s;
  return out;
}

const char* const kHead = "process: bad\ntitle: Плохой процесс\nowner: boss\n";

std::vector<Generated> generated_cases() {
  return {
      {"deep-sequences-100k",
       [] { return kHead + std::string("steps: ") + repeat("[", 100000) + repeat("]", 100000) + "\n"; },
       "the document is nested more than 64 levels deep"},
      {"deep-mappings-100k",
       [] { return kHead + std::string("steps: ") + repeat("{a: ", 100000) + "x" + repeat("}", 100000) + "\n"; },
       "the document is nested more than 64 levels deep"},
      {"deep-block-1000", [] {
         std::string s = kHead + std::string("description:\n");
         for (int i = 1; i <= 1000; ++i) s += std::string(i, ' ') + "- \n";
         return s;
       },
       "nested more than 64 levels deep"},
      {"file-20-mb", [] {
         return kHead + std::string("description: \"") + repeat("описание ", 20 * 1024 * 1024 / 17) + "\"\n" +
                "steps:\n  - {id: a, title: A, actor: clerk, next: end}\n";
       },
       "a definition file may hold at most 1 MiB"},
      {"many-nodes-under-1-mb", [] { return kHead + std::string("description: [") + repeat("x,", 450000) + "x]\n"; },
       "the document is too large (more than 100000 nodes"},
      {"alias-bomb-20-levels", [] {
         std::string s = std::string(kHead) + "a0: &a0 [lol, lol]\n";
         for (int i = 1; i <= 20; ++i)
           s += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [*a" + std::to_string(i - 1) + ", *a" +
                std::to_string(i - 1) + "]\n";
         return s + "steps: *a20\n";
       },
       "the document is too large"},
      // Few nodes, but a 200 KB scalar repeated 100 times by aliases: 20 MB
      // of text to read.
      {"alias-long-text", [] {
         return kHead + std::string("a: &a ") + repeat("x", 200000) + "\nb: &b [" + repeat("*a, ", 9) +
                "*a]\nc: &c [" + repeat("*b, ", 9) + "*b]\ndescription: *c\n";
       },
       "MiB of text once aliases are expanded"},
      // A 500 KB unknown key is named by its first 60 characters, not echoed.
      {"long-unknown-key", [] { return std::string(kHead) + "? " + repeat("ключ", 125000) + "\n: 1\n"; },
       "unknown key \"" + repeat("ключ", 15) + "…\" (1000000 bytes)"},
  };
}

// ---- Placeholders of cli.tsv ---------------------------------------------------------------

// Starts an incoming-request and a complaint; their open tasks and ids by placeholder.
std::map<std::string, std::string> running(Env& env) {
  std::string request = start(env, "ivanova", "incoming-request", {"client=ООО Ромашка"});
  std::string complaint = start(env, "ivanova", "complaint", {"client=ООО Ромашка"});
  Json task = inbox_entry(env, "ivanova", request, "3.1.1");
  Json ctask = inbox_entry(env, "ivanova", complaint, "3.4.1");
  REQUIRE(task.is_object());
  REQUIRE(ctask.is_object());
  return {{"{instance}", request}, {"{task}", task.str("task")}, {"{complaint_task}", ctask.str("task")},
          {"{processes}", REGLAMENT_SOURCE_DIR "/processes"}};
}

// Does `j` hold the string `s` anywhere (a value, at any depth)?
bool holds_string(const Json& j, const std::string& s) {
  if (j.is_string()) return j.as_string() == s;
  if (j.is_array()) {
    for (const Json& v : j.as_array())
      if (holds_string(v, s)) return true;
  }
  if (j.is_object()) {
    for (const auto& [k, v] : j.as_object())
      if (holds_string(v, s)) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("bad definitions are refused with their place, and deploy writes nothing") {
  Env env;
  start(env, "ivanova", "incoming-request", {"client=ООО Ромашка"});
  fs::path dir = env.dir() / "definitions";
  fs::create_directories(dir);

  {
    fs::path base = dir / "_base";
    fs::copy(kCorpus / "definitions" / "_base", base, fs::copy_options::recursive);
    Run ok = env.rg({"validate", base.string(), "--as", "sidorova"});
    REQUIRE_MESSAGE(ok.code == 0, "the corpus's _base bundle must validate: " << ok.err);
  }

  std::vector<DefinitionCase> cases = definition_cases();
  CHECK(cases.size() >= 50);
  for (const DefinitionCase& c : cases) {
    INFO("definitions/" << c.source.filename().string());
    run_definition_case(env, c, make_bundle(c, dir));
  }
}

TEST_CASE("huge and deeply nested definitions made at run time are refused fast") {
  Env env;
  start(env, "ivanova", "incoming-request", {"client=ООО Ромашка"});
  fs::path dir = env.dir() / "generated";
  for (const Generated& g : generated_cases()) {
    INFO("generated case " << g.name);
    DefinitionCase c;
    c.name = g.name;
    c.source = dir / (g.name + ".yaml");
    fs::create_directories(dir);
    std::ofstream(c.source, std::ios::binary) << g.text();
    c.problems.push_back(Expected{"", 0, 0, g.message});
    run_definition_case(env, c, make_bundle(c, env.dir() / "bundles"));
  }
}

TEST_CASE("bad command-line values are refused with one sentence, and nothing is written") {
  Env env;
  std::map<std::string, std::string> ph = running(env);
  std::vector<Row> rows = read_table(kCorpus / "cli.tsv");
  CHECK(rows.size() >= 60);
  auto before = table_digests(env.db());
  for (const Row& row : rows) {
    INFO(row.where << " " << row.name);
    Run r = env.rg(expand(row.args, ph));
    if (row.known_bug) {
      CHECK_MESSAGE(crash_signs(r).empty(), crash_signs(r));
      const bool fixed = r.code == row.exit && contains(r.err, row.message);
      MESSAGE((fixed ? "FIXED, mark it ok: " : "known bug ") << row.name << ": exit " << r.code
                                                            << ", stderr: " << r.err.substr(0, 300));
      before = table_digests(env.db());  // it may have written: compare the next row with this state
      continue;
    }
    check_refusal(r, row.exit, row.message);
    auto after = table_digests(env.db());
    // Turning a person away (exit 5), or someone the org does not know, is
    // recorded in refusals and changes nothing else; everything else
    // changes nothing at all.
    const bool recorded = row.exit == 5 || contains(row.message, "unknown user");
    CHECK_MESSAGE(changed_tables(before, after) == (recorded ? "refusals" : ""),
                  "changed: " << changed_tables(before, after));
    before = after;
  }
}

TEST_CASE("SQL-looking and other odd text is stored and shown back byte for byte") {
  Env env;
  std::vector<std::string> values;
  std::istringstream in(slurp((kCorpus / "literal.txt").string()));
  for (std::string line; std::getline(in, line);)
    if (!line.empty() && line[0] != '#') values.push_back(unescape(line));
  REQUIRE(values.size() >= 10);
  for (const std::string& value : values) {
    INFO("value: " << value.substr(0, 80));
    std::string id = start(env, "ivanova", "incoming-request", {"client=" + value});
    Json shown = env.json("ivanova", {"show", id});
    CHECK(shown["variables"].str("client") == value);
    Json history = env.json("ivanova", {"history", id});
    CHECK(holds_string(history, value));
    bool listed = false;
    for (const Json& i : instances_of(env, "incoming-request"))
      if (i.str("instance") == id) listed = i.str("client") == value;
    CHECK(listed);

    // A company name is kept as given, but for the spaces around it.
    const size_t first = value.find_first_not_of(' ');
    const std::string company = value.substr(first, value.find_last_not_of(' ') - first + 1);
    Json added = env.json("sidorova", {"clients", "add", "--company", value});
    std::string client = added["client"].dump();
    Json card = env.json("sidorova", {"clients", "show", client});
    CHECK_MESSAGE(holds_string(card, company), card.dump().substr(0, 300));
  }
  // The log is whole: every instance is there, and it verifies.
  CHECK(instances_of(env, "incoming-request").size() == values.size());
  Run v = env.rg({"verify", "--as", "sidorova"});
  CHECK_MESSAGE(v.code == 0, v.out << v.err);
}

namespace {

// A database file in the state a files.tsv setup names; its path. `undo` is set when the
// setup must be reverted before the file can be removed.
std::string prepare_file(const std::string& setup, const fs::path& dir, const std::string& good_db,
                         std::function<void()>& undo, std::string& skip) {
  fs::create_directories(dir);
  fs::path db = dir / "test.db";
  auto copy_good = [&] {
    fs::copy_file(good_db, db, fs::copy_options::overwrite_existing);
    fs::permissions(db, fs::perms::owner_read | fs::perms::owner_write);
  };
  if (setup == "not-sqlite") {
    std::ofstream(db) << "This is not a database, just a text file.\n";
  } else if (setup == "truncated") {
    std::string bytes = slurp(good_db);
    std::ofstream(db, std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  } else if (setup == "newer-schema") {
    copy_good();
    SQLite::Database d(db.string(), SQLite::OPEN_READWRITE);
    REQUIRE(d.exec("UPDATE meta SET value = '99' WHERE key = 'schema_version'") == 1);
  } else if (setup == "foreign-sqlite") {
    SQLite::Database d(db.string(), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    d.exec("CREATE TABLE songs (title TEXT); INSERT INTO songs VALUES ('Калинка')");
  } else if (setup == "readonly") {
    copy_good();
    if (geteuid() != 0) {
      fs::permissions(db, fs::perms::owner_read);
      undo = [db] { fs::permissions(db, fs::perms::owner_read | fs::perms::owner_write); };
    } else {
      // chmod does not stop root; the immutable attribute does, where the file system and our
      // capabilities allow it.
      Run r = run_program("/usr/bin/chattr", {"+i", db.string()});
      if (r.code != 0) {
        skip = "running as root and `chattr +i` failed (" + r.err + "): a read-only file cannot be made here";
      } else {
        undo = [db] { run_program("/usr/bin/chattr", {"-i", db.string()}); };
      }
    }
  } else if (setup == "missing-dir") {
    return (dir / "no-such-directory" / "test.db").string();
  } else if (setup == "directory") {
    fs::create_directories(db);
  } else if (setup == "empty-file") {
    std::ofstream(db).flush();
  } else {
    FAIL("unknown setup " << setup);
  }
  return db.string();
}

// What a file looks like, to compare before and after: its bytes, or what it is.
std::string file_state(const std::string& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return "(absent)";
  if (fs::is_directory(path, ec)) return "(directory)";
  return slurp(path);
}

}  // namespace

TEST_CASE("bad database files are refused by name and left as they were") {
  Env good;
  start(good, "ivanova", "incoming-request", {"client=ООО Ромашка"});
  std::vector<Row> rows = read_table(kCorpus / "files.tsv");
  CHECK(rows.size() >= 15);
  int n = 0;
  for (const Row& row : rows) {
    INFO(row.where << " " << row.name);
    fs::path dir = good.dir() / ("file-" + std::to_string(++n));
    std::function<void()> undo;
    std::string skip;
    std::string db = prepare_file(row.name, dir, good.db(), undo, skip);
    struct Undo {
      std::function<void()>& f;
      ~Undo() {
        if (f) f();
      }
    } guard{undo};
    if (!skip.empty()) {
      MESSAGE("skipped " << row.where << ": " << skip);
      continue;
    }
    std::string before = file_state(db);
    std::vector<std::string> args{"--db", db, "--now", good.now};
    for (auto& a : expand(row.args, {{"{processes}", REGLAMENT_SOURCE_DIR "/processes"}})) args.push_back(a);
    auto start_time = std::chrono::steady_clock::now();
    Run r = run_program(REGLAMENT_BIN, args);
    CHECK_MESSAGE(seconds_since(start_time) < kFast, "took " << seconds_since(start_time) << " s");
    if (row.known_bug) {
      CHECK_MESSAGE(crash_signs(r).empty(), crash_signs(r));
      const bool fixed = r.code == row.exit && contains(r.err, row.message) && file_state(db) == before;
      MESSAGE((fixed ? "FIXED, mark it ok: " : "known bug ")
              << row.name << ": exit " << r.code << ", stderr: " << r.err.substr(0, 300)
              << std::string(file_state(db) == before ? "" : " (and the file changed)"));
      continue;
    }
    check_refusal(r, row.exit, row.message);
    CHECK_MESSAGE(file_state(db) == before, "the file changed");
    if (row.name == "missing-dir") CHECK_MESSAGE(!fs::exists(fs::path(db).parent_path()), "the directory was created");
    std::error_code ec;
    if (fs::exists(db + "-wal", ec)) CHECK_MESSAGE(fs::file_size(db + "-wal", ec) == 0, "a write-ahead log was left");
  }
}

namespace {

struct HandlerCase {
  std::string name;
  fs::path script;
  std::string error;
  std::string timeout = "5s";
  bool known_bug = false;
};

std::vector<HandlerCase> handler_cases() {
  std::vector<HandlerCase> out;
  for (const auto& e : fs::directory_iterator(kCorpus / "handlers")) {
    if (e.path().extension() != ".sh") continue;
    HandlerCase c;
    c.name = e.path().stem().string();
    c.script = e.path();
    for (const std::string& l : lines_of(slurp(e.path().string()))) {
      if (l.rfind("# error: ", 0) == 0) c.error = l.substr(9);
      if (l.rfind("# timeout: ", 0) == 0) c.timeout = l.substr(11);
      if (l == "# status: bug") c.known_bug = true;
    }
    REQUIRE_MESSAGE(!c.error.empty(), e.path() << " has no `# error:` line");
    out.push_back(std::move(c));
  }
  std::sort(out.begin(), out.end(), [](const HandlerCase& a, const HandlerCase& b) { return a.name < b.name; });
  return out;
}

// A bundle of the bundled org and one process whose first step runs `script` with `exec`.
fs::path exec_bundle(const HandlerCase& c, const fs::path& dir) {
  fs::path bundle = dir / ("exec-" + c.name);
  fs::create_directories(bundle);
  fs::copy_file(REGLAMENT_SOURCE_DIR "/processes/org.yaml", bundle / "org.yaml");
  std::ofstream(bundle / "exec.yaml") << "process: exec-" << c.name << "\n"
                                      << "title: Внешняя программа\n"
                                      << "owner: deputy-director\n"
                                      << "variables:\n"
                                      << "  client: {type: text, required: true, title: Клиент}\n"
                                      << "steps:\n"
                                      << "  - id: run\n"
                                      << "    title: Запустить программу\n"
                                      << "    actor: manager\n"
                                      << "    do: exec\n"
                                      << "    with:\n"
                                      << "      run: [/bin/sh, \"" << c.script.string() << "\"]\n"
                                      << "      timeout: " << c.timeout << "\n"
                                      << "    retry: 0\n"
                                      << "    next: done\n"
                                      << "  - id: done\n"
                                      << "    title: Готово\n"
                                      << "    actor: manager\n"
                                      << "    next: end\n";
  return bundle;
}

// The tables a service step's output could write to besides the instance's own log.
const std::vector<std::string> kEffectTables = {"clients", "client_log", "contacts", "requests", "complaints",
                                                "items",   "outbox",     "report_entries", "documents"};

}  // namespace

TEST_CASE("exec programs that misbehave raise an incident, and nothing they printed is applied") {
  Env env;
  std::vector<HandlerCase> cases = handler_cases();
  CHECK(cases.size() >= 12);
  for (const HandlerCase& c : cases) {
    INFO("handlers/" << c.name << ".sh");
    Run d = env.rg({"deploy", exec_bundle(c, env.dir()).string(), "--as", "sidorova"});
    REQUIRE_MESSAGE(d.code == 0, d.err);
    auto before = table_digests(env.db());
    auto start_time = std::chrono::steady_clock::now();
    Run r = env.rg({"start", "exec-" + c.name, "--set", "client=ООО Ромашка", "--as", "ivanova", "--json"});
    double took = seconds_since(start_time);
    CHECK_MESSAGE(crash_signs(r).empty(), crash_signs(r));
    REQUIRE_MESSAGE(r.code == 0, r.err);
    std::string id = r.json().str("instance");
    if (c.known_bug) {
      Run shown = env.rg({"show", id, "--as", "ivanova"});
      MESSAGE("known bug " << c.name << ": " << shown.out.substr(0, 600));
      continue;
    }
    Json shown = env.json("ivanova", {"show", id});
    Json job = shown["jobs"].is_array() && !shown["jobs"].as_array().empty() ? shown["jobs"].as_array()[0] : Json();
    auto after = table_digests(env.db());
    std::string effects;
    for (const std::string& t : kEffectTables)
      if (before[t] != after[t]) effects += (effects.empty() ? "" : ", ") + t;
    CHECK_MESSAGE((job.is_object() && job["incident"].is_bool() && job["incident"].as_bool()), shown.dump());
    CHECK_MESSAGE((job.is_object() && contains(job.str("last_error"), c.error)),
                  "expected \"" << c.error << "\" in " << job.dump());
    CHECK_MESSAGE(job.str("last_error").size() < 2000, "the error holds " << job.str("last_error").size() << " bytes");
    Json vars = shown["variables"];
    CHECK_MESSAGE((vars.is_object() && vars.as_object().size() == 1 && vars.str("client") == "ООО Ромашка"),
                  vars.dump());
    CHECK_MESSAGE(effects.empty(), "changed: " << effects);
    Json events = env.json("ivanova", {"history", id});
    for (const Json& e : events.as_array()) CHECK_MESSAGE(e.str("type") != "ServiceCompleted", e.dump());
    CHECK_MESSAGE(took < kFast, "start took " << took << " s");
  }
}
