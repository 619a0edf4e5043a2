#include "handlers/registry.h"

#include "handlers/builtin.h"

namespace reglament {

void Registry::add(std::string name, std::unique_ptr<TaskHandler> handler) {
  handlers_.emplace(std::move(name), std::move(handler));
}

const TaskHandler* Registry::find(std::string_view name) const {
  auto it = handlers_.find(name);
  return it == handlers_.end() ? nullptr : it->second.get();
}

bool Registry::has(std::string_view name) const { return find(name) != nullptr; }

std::vector<std::string> Registry::names() const {
  std::vector<std::string> out;
  for (const auto& [name, h] : handlers_) out.push_back(name);
  return out;
}

std::vector<std::string> Registry::check(std::string_view name, const Json& with) const {
  const TaskHandler* h = find(name);
  return h ? h->check(with) : std::vector<std::string>{};
}

std::vector<std::string> Registry::outputs(std::string_view name, const Json& with) const {
  const TaskHandler* h = find(name);
  return h ? h->outputs(with) : std::vector<std::string>{};
}

std::unique_ptr<Registry> builtin_handlers() {
  auto r = std::make_unique<Registry>();
  // One line per handler.
  r->add("notify", make_notify_handler());
  r->add("set", make_set_handler());
  return r;
}

}  // namespace reglament
