// The handler registry: every service handler by the name used in `do:`.
//
// A new handler is a new file in handlers/ plus one line in
// register_builtin_handlers() (registry.cpp).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/handler.h"

namespace reglament {

class Registry : public Handlers {
 public:
  // REQUIRES: no handler of that name yet.
  void add(std::string name, std::unique_ptr<TaskHandler> handler);

  const TaskHandler* find(std::string_view name) const override;
  bool has(std::string_view name) const override;
  std::vector<std::string> names() const override;
  std::vector<std::string> check(std::string_view name, const Json& with) const override;
  std::vector<std::string> outputs(std::string_view name, const Json& with) const override;
  Json pin(std::string_view name, const Json& with, const std::string& bundle_dir,
           std::vector<std::string>& problems) const override;

 private:
  std::map<std::string, std::unique_ptr<TaskHandler>, std::less<>> handlers_;
};

// A registry holding the built-in handlers (docs/handlers.md lists them).
std::unique_ptr<Registry> builtin_handlers();

}  // namespace reglament
