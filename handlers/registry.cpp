#include "handlers/registry.h"

#include "handlers/builtin.h"
#include "handlers/crm.h"

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

Json Registry::pin(std::string_view name, const Json& with, const std::string& bundle_dir,
                   std::vector<std::string>& problems) const {
  const TaskHandler* h = find(name);
  return h ? h->pin(with, bundle_dir, problems) : Json();
}

std::unique_ptr<Registry> builtin_handlers() {
  auto r = std::make_unique<Registry>();
  // One line per handler.
  r->add("notify", make_notify_handler());
  r->add("set", make_set_handler());
  r->add("exec", make_exec_handler());
  r->add("clients.find", make_clients_find_handler());
  r->add("clients.add", make_clients_add_handler());
  r->add("clients.record", make_clients_record_handler());
  r->add("requests.add", make_requests_add_handler());
  r->add("complaints.resolve", make_complaints_resolve_handler());
  r->add("report.record", make_report_record_handler());
  r->add("calls.plan", make_calls_plan_handler());
  r->add("clients.review", make_clients_review_handler());
  r->add("requests.planned", make_requests_planned_handler());
  r->add("clients.issues", make_clients_issues_handler());
  r->add("clients.check", make_clients_check_handler());
  return r;
}

}  // namespace reglament
