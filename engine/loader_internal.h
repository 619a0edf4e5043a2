// Private to the loader (loader.cpp, loader_sources.cpp, validate.cpp).
//
// loader.cpp turns YAML into drafts: the model as written plus the places
// (file:line:column) of every name a step refers to. validate.cpp resolves
// those names against the org, the forms, the handlers and the other steps,
// copies forms and instructions into the steps, and checks the graph. No
// yaml-cpp types appear here, so validate.cpp stays free of them.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "engine/loader.h"
#include "engine/model.h"
#include "engine/result.h"

namespace reglament::loader_detail {

// quote_for_message (engine/utf8.h): `"s"`, a value over 60 characters cut.
std::string quote(std::string_view s);

// "; did you mean \"x\"?" when a candidate is within edit distance 2 of
// `word` (the closest one, the first on ties), else "".
std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates);

// The name files have in error locations: root + "/" + path, or path.
std::string display_name(const SourceSet& sources, const std::string& path);

// Where a file stops being text a definition may hold, and why: malformed
// UTF-8 (a UTF-16 file included), a NUL, or a control character YAML does
// not allow or a terminal obeys (anything below U+0020 but tab, line feed
// and a carriage return before a line feed; DEL; U+0080..U+009F). nullopt
// when the whole text is clean.
struct BadText {
  size_t offset = 0;    // of the first offending byte
  std::string message;  // one sentence, e.g. "invalid UTF-8 (byte 0xFF); save the file as UTF-8"
};
std::optional<BadText> find_bad_text(std::string_view text);

// The first control character in decoded text (a YAML scalar after its
// escapes): C0, DEL, C1 (U+0085 included) and ESC; with `multi_line`, tab
// and line feed are allowed. Message: "a control character (U+001B)".
std::optional<BadText> find_control(std::string_view text, bool multi_line);

// A name used at a place: a step target, a role, a form, a variable read.
struct Ref {
  std::string name;
  Location where;
};

// A variable read by a condition or by a template in `with:`.
struct Read {
  std::string name;
  Location where;
  bool in_template = false;
  std::string kind;  // what reads it, for messages ("wait", "deadline"); empty: condition/template
  bool moment = false;  // must be a date or datetime variable
};

struct StepDraft {
  std::vector<Ref> targets;  // every next / goto / else / all target
  Location next_where;       // the `next:` value
  std::vector<Ref> actors;
  Ref form;                  // name empty when none
  Ref handler;               // name empty when none
  Location with_where;       // the `with:` value, unknown when none
  Ref instructions;          // name empty when none
  Location join_where;       // the `join:` value, when join is set
  std::vector<Read> reads;
  std::vector<Ref> escalation_roles;  // notify: / reassign: of escalate:
  std::vector<Ref> windows;           // calendar windows named by wait:
  Location deadline_where;            // the `deadline:` key, when given
  Location escalate_where;            // the `escalate:` key, when given
};

struct ProcessDraft {
  Process process;
  std::vector<StepDraft> steps;  // parallel to process.steps
  Ref owner;
  std::string path;  // the key of its file in the SourceSet
  std::vector<Read> reads;    // read by the process's priority rules
  std::vector<Ref> windows;   // named by start:
};

struct ValidateContext {
  const SourceSet* sources = nullptr;
  const Org* org = nullptr;  // null: roles are not checked
  const std::map<std::string, Form>* forms = nullptr;
  const std::map<std::string, std::string>* form_paths = nullptr;  // form key -> source path
  const HandlerCatalog* handlers = nullptr;
  const WorkingCalendar* calendar = nullptr;  // null: window names are not checked
  // What validate and deploy read, as opposed to a stored definition being
  // reloaded: instruction files must be UTF-8 text (see find_bad_text), and
  // loops of service steps are refused.
  bool check_text = false;
};

// Resolves the draft's references, completes d.process (forms, instructions,
// join counts) and checks the graph and the variables. Appends problems and
// returns the source paths the process uses besides its own file.
std::set<std::string> validate_process(ProcessDraft& d, const ValidateContext& ctx,
                                       std::vector<Error>& problems);

}  // namespace reglament::loader_detail
