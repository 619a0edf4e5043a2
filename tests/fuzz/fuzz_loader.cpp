// libFuzzer target: the YAML loader and the validator (engine/loader.h).
//
// Every input is loaded as part of a bundle whose context is the bundled
// org.yaml, scripts/ and the forms/ it names (read once from the source
// tree), so a fuzzed process file reaches the role, form, instruction and
// handler checks. The input is either
//   - one file, added to that context as "fuzz.yaml" (any top-level key: a
//     process, a form, a calendar, an indicators file or a second org), or
//   - several files: each line "#file: PATH" (a YAML comment) starts the
//     text of PATH, which replaces or adds to the context; this is how the
//     seeds carry a calendar and indicators together with their processes.
//
// Properties: loading never throws; every problem is `invalid`, has a
// message, and names a file of the bundle with 1-based line and column when
// it names a place; problems are sorted; a process that loaded recompiles
// alone from its own sources (load_process) to the same hash when the
// bundle has no problems (what `deploy` stores).

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <tuple>
#include <string_view>
#include <vector>

#include "engine/json.h"
#include "engine/loader.h"
#include "expect.h"

using namespace reglament;

namespace {

void expect(bool ok, const char* what, const std::string& detail = {}) {
  if (ok) return;
  std::fprintf(stderr, "property broken: %s %s\n", what, detail.c_str());
  std::abort();
}

// The handlers the bundled regulation uses (handlers/registry.cpp), without
// their parameter checks: the fuzz build links the engine only.
class Catalog : public HandlerCatalog {
 public:
  bool has(std::string_view name) const override {
    for (const auto& n : kNames)
      if (n == name) return true;
    return false;
  }
  std::vector<std::string> names() const override { return {std::begin(kNames), std::end(kNames)}; }
  std::vector<std::string> check(std::string_view, const Json& with) const override {
    if (!with.is_null() && !with.is_object()) return {"with: must be a mapping"};
    return {};
  }
  std::vector<std::string> outputs(std::string_view name, const Json& with) const override {
    std::vector<std::string> out;
    if (name == "set" && with.is_object())
      for (const auto& [k, v] : with.as_object()) out.push_back(k);
    return out;
  }

 private:
  static constexpr const char* kNames[] = {
      "notify",         "set",           "exec",       "clients.find",     "clients.add",
      "clients.record", "requests.add",  "complaints.resolve", "report.record", "calls.plan",
      "clients.review", "requests.planned", "clients.issues", "clients.check"};
};

const SourceSet& context() {
  static const SourceSet ctx = [] {
    SourceSet out;
    out.root = "processes";
    Result<SourceSet> all = read_sources({REGLAMENT_SOURCE_DIR "/processes"});
    if (!all) return out;
    for (const auto& [path, text] : all->files) {
      if (path == "org.yaml" || path.rfind("forms/", 0) == 0 || path.rfind("scripts/", 0) == 0)
        out.files[path] = text;
    }
    return out;
  }();
  return ctx;
}

// Splits "#file: PATH" sections; false when the input does not start with one.
bool split_files(std::string_view input, SourceSet& into) {
  constexpr std::string_view kMark = "#file: ";
  if (!input.starts_with(kMark)) return false;
  std::string* current = nullptr;
  size_t pos = 0;
  while (pos < input.size()) {
    const size_t eol = input.find('\n', pos);
    const size_t next = eol == std::string_view::npos ? input.size() : eol + 1;
    std::string_view line = input.substr(pos, next - pos);
    if (line.starts_with(kMark)) {
      line.remove_prefix(kMark.size());
      while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
      current = &into.files[line.empty() ? std::string("fuzz.yaml") : std::string(line)];
      current->clear();
    } else {
      current->append(line);
    }
    pos = next;
  }
  return true;
}

void check_problems(const LoadReport& r) {
  for (size_t i = 0; i < r.problems.size(); ++i) {
    const Error& e = r.problems[i];
    expect(e.code == ErrorCode::invalid, "a problem is invalid", e.str());
    expect(!e.message.empty(), "a problem has a message");
    expect(e.where.line >= 0 && e.where.column >= 0, "a place is not negative", e.str());
    if (e.where.line > 0) expect(e.where.column >= 1, "a line comes with a column", e.str());
    if (i > 0) {
      const Error& p = r.problems[i - 1];
      expect(std::tie(p.where.file, p.where.line, p.where.column) <=
                 std::tie(e.where.file, e.where.line, e.where.column),
             "problems are sorted", e.str());
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  (void)context();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const Catalog catalog;
  fuzz::keep_last_input(data, size);
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  // The context's forms that the input names (parsing all ten each time
  // would make every run several times slower).
  SourceSet sources;
  sources.root = context().root;
  for (const auto& [path, text] : context().files) {
    if (path.rfind("forms/", 0) == 0) {
      const std::string key = path.substr(6, path.rfind('.') - 6);
      if (input.find(key) == std::string_view::npos) continue;
    }
    sources.files[path] = text;
  }
  if (!split_files(input, sources)) sources.files["fuzz.yaml"] = std::string(input);

  const LoadReport r = load_bundle(sources, &catalog);
  check_problems(r);
  for (const LoadedProcess& lp : r.bundle.processes) {
    expect(lp.process != nullptr && !lp.process->steps.empty(), "a loaded process has steps");
    expect(lp.hash.size() == 64, "a loaded process has a SHA-256 hash");
    // Only a bundle without problems is deployed (a process whose form has
    // a problem is kept in the bundle, but `deploy` refuses the bundle).
    if (!r.ok()) continue;
    // What storage does with a deployed version: recompile it from its own sources.
    Result<LoadedProcess> again = load_process(lp.sources, r.bundle.org, &catalog);
    expect(again.ok(), "a loaded process recompiles from its own sources",
           again ? std::string() : again.error().str());
    expect(again->hash == lp.hash, "a process recompiled from its sources has the same hash", lp.process->key);
  }
  // The org alone, as `users` reads it.
  if (auto org = sources.files.find("org.yaml"); org != sources.files.end()) (void)load_org("org.yaml", org->second);
  return 0;
}
