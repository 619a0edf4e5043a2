// Loading and validating definitions. The only code that includes yaml-cpp.
//
// A bundle is a directory laid out like processes/:
//   org.yaml                 roles and people        (top-level key `roles:`)
//   forms/*.yaml             one form per file       (top-level key `form:`)
//   scripts/*.md             instructions text, referenced by steps
//   calendar.yaml            the working calendar     (top-level key `calendar:`)
//   *.yaml                   one process per file    (top-level key `process:`)
// Files are told apart by their top-level key, not by their name or place.
//
// Loading never stops at the first problem: it returns every problem found,
// each with file:line:column, so the process owner fixes a file in one pass.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/calls.h"
#include "engine/model.h"
#include "engine/result.h"

namespace reglament {

// Definition text by path. Paths are relative to the bundle's root directory
// and use '/' ("forms/request.yaml"); instructions are resolved against it.
struct SourceSet {
  std::map<std::string, std::string> files;
  // How error locations name the root directory, as the user gave it
  // ("processes"); file names in errors are root + "/" + path. May be empty.
  std::string root;
};

// Reads `paths` (files or directories, recursively: *.yaml, *.yml, and the
// instruction files that steps reference). When only files are given, their
// directory's org.yaml, calendar.yaml, forms/ and scripts/ are read too, as context, so a
// single process file can be validated on its own.
// Errors: not_found for a path that does not exist.
Result<SourceSet> read_sources(const std::vector<std::string>& paths);

// What handlers the validator may accept, and their parameter checks.
// Implemented by handlers/ (the registry); the engine only declares it.
class HandlerCatalog {
 public:
  virtual ~HandlerCatalog() = default;
  virtual bool has(std::string_view name) const = 0;
  virtual std::vector<std::string> names() const = 0;
  // Problems with a step's `with:` parameters, one sentence each. `known` is
  // the set of variables that may be set when the step runs.
  virtual std::vector<std::string> check(std::string_view name, const Json& with) const = 0;
  // The variables a step with this handler and parameters sets (for the
  // "never set" check of conditions downstream).
  virtual std::vector<std::string> outputs(std::string_view name, const Json& with) const = 0;
  // What a step with this handler and parameters must record about the
  // world when it is deployed, so that it runs later on exactly that
  // (`exec`: the program's resolved path and SHA-256); null when nothing.
  // Called by load_bundle (validate and deploy) only, never when a stored
  // version is reloaded: the answer is kept in the process's sources
  // (kPinnedFile) and so covered by its hash. `bundle_dir` is the directory
  // relative paths of the bundle are resolved against, as the user gave it
  // ("processes", or "." for the current directory). Problems are appended,
  // one sentence each. The handler may read files: the engine does not.
  virtual Json pin(std::string_view /*name*/, const Json& /*with*/, const std::string& /*bundle_dir*/,
                   std::vector<std::string>& /*problems*/) const {
    return Json();
  }
};

// The key, in a deployed process's sources, of the JSON object
// {STEP_ID: PINNED} that load_bundle built from HandlerCatalog::pin. Hidden,
// so read_sources never reads such a file from a bundle; not YAML, so it is
// never parsed as a definition.
inline constexpr const char* kPinnedFile = ".pinned.json";

// One process as it is deployed: the compiled model and the exact texts it
// was compiled from (its own file, the forms and instructions it uses), whose
// canonical encoding is hashed into `hash` (SHA-256, hex).
struct LoadedProcess {
  std::shared_ptr<const Process> process;
  SourceSet sources;
  std::string hash;
};

struct Bundle {
  Org org;
  std::string org_source;  // text of org.yaml, empty when none
  // Text of the indicators file (top-level key `indicators:`), empty when
  // none; deployed whole beside the processes.
  std::string indicators_source;
  // The working calendar (top-level key `calendar:`), or the default one;
  // its text is empty when the bundle has no calendar file.
  WorkingCalendar calendar;
  std::string calendar_source;
  std::map<std::string, Form> forms;
  std::vector<LoadedProcess> processes;
};

struct LoadReport {
  Bundle bundle;
  std::vector<Error> problems;  // all with code invalid, sorted by file, line, column

  bool ok() const { return problems.empty(); }
};

// Parses and validates everything in `sources`. `handlers` may be null, in
// which case `do:` names are not checked.
LoadReport load_bundle(const SourceSet& sources, const HandlerCatalog* handlers);

// Recompiles one deployed process from its stored sources (as kept by
// LoadedProcess::sources). `org` is used for the role checks; calendar
// windows are not checked (they were when the bundle was deployed).
Result<LoadedProcess> load_process(const SourceSet& sources, const Org& org,
                                   const HandlerCatalog* handlers);

// Cycles of `call:` (a process that calls itself, A -> B -> A, with or
// without wait) and chains of calls nested deeper than kMaxCallDepth
// (engine/calls.h), among `processes` (a bundle's) and the processes `others`
// knows (the deployed ones, latest versions; may be empty). A key of the
// bundle is always the bundle's process. One problem per cycle that a process
// of the bundle takes part in, at its first call step in the bundle, naming
// file:line:column of every call step of the cycle; one per process of the
// bundle whose calls nest too deep. load_bundle checks the bundle alone;
// `validate` and `deploy` check again with the deployed processes.
std::vector<Error> check_call_nesting(const std::vector<const Process*>& processes, const ProcessLookup& others);

// Parses org.yaml text alone.
Result<Org> load_org(const std::string& path, const std::string& text);

}  // namespace reglament
