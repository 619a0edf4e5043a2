#include <fmt/format.h>

#include "engine/expr.h"
#include "handlers/builtin.h"

namespace reglament {

namespace {

class SetHandler : public TaskHandler {
 public:
  HandlerResult run(const HandlerCall& call) const override {
    HandlerResult r;
    if (!call.with->is_object()) return HandlerResult::failure("set needs a mapping of variables in `with:`");
    for (const auto& [name, text] : call.with->as_object()) {
      if (!text.is_string()) return HandlerResult::failure(fmt::format("set: `{}` must be an expression", name));
      auto expr = parse_expr(text.as_string());
      if (!expr.ok())
        return HandlerResult::failure(fmt::format("set: `{}`: {}", name, expr.error().message));
      auto value = eval(*expr, *call.variables);
      if (!value.ok())
        return HandlerResult::failure(fmt::format("set: `{}`: {}", name, value.error().message));
      r.outputs[name] = std::move(*value);
    }
    return r;
  }

  std::vector<std::string> check(const Json& with) const override {
    std::vector<std::string> problems;
    if (!with.is_object() || with.as_object().empty()) {
      problems.push_back("set needs at least one `VARIABLE: EXPRESSION` in `with:`");
      return problems;
    }
    for (const auto& [name, text] : with.as_object()) {
      if (!text.is_string()) {
        problems.push_back(fmt::format("set: `{}` must be an expression", name));
        continue;
      }
      auto expr = parse_expr(text.as_string());
      if (!expr.ok()) problems.push_back(fmt::format("set: `{}`: {}", name, expr.error().message));
    }
    return problems;
  }

  std::vector<std::string> outputs(const Json& with) const override {
    std::vector<std::string> out;
    if (with.is_object())
      for (const auto& [name, v] : with.as_object()) out.push_back(name);
    return out;
  }
};

}  // namespace

std::unique_ptr<TaskHandler> make_set_handler() { return std::make_unique<SetHandler>(); }

}  // namespace reglament
