#include <fmt/format.h>

#include "engine/expr.h"
#include "handlers/builtin.h"

namespace reglament {

namespace {

class NotifyHandler : public TaskHandler {
 public:
  HandlerResult run(const HandlerCall& call) const override {
    const Json& with = *call.with;
    HandlerResult r;
    Json message = Json::object();
    message["to"] = Json(with.str("to"));
    message["text"] = Json(render_template(with.str("text"), *call.variables));
    r.messages.push_back(std::move(message));
    return r;
  }

  std::vector<std::string> check(const Json& with) const override {
    std::vector<std::string> problems;
    for (const char* key : {"to", "text"})
      if (!with.get(key).is_string() || with.get(key).as_string().empty())
        problems.push_back(fmt::format("notify needs `{}:` text in `with:`", key));
    if (with.is_object())
      for (const auto& [key, value] : with.as_object())
        if (key != "to" && key != "text")
          problems.push_back(fmt::format("notify takes `to:` and `text:` in `with:`, not `{}:`", key));
    return problems;
  }
};

}  // namespace

std::unique_ptr<TaskHandler> make_notify_handler() { return std::make_unique<NotifyHandler>(); }

}  // namespace reglament
