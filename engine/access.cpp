#include "engine/access.h"

#include <algorithm>

#include <fmt/format.h>

namespace reglament {
namespace {

std::string joined(const std::vector<std::string>& v) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) out += ", ";
    out += v[i];
  }
  return out;
}

bool holds_any(const Org& org, const std::string& login, const std::vector<std::string>& roles) {
  return std::any_of(roles.begin(), roles.end(), [&](const std::string& r) { return org.has_role(login, r); });
}

Status known(const Org& org, const std::string& login) { return is_person(org, login); }

bool acts_in(const Org& org, const std::string& login, const Process& process) {
  if (!process.owner.empty() && org.has_role(login, process.owner)) return true;
  for (const auto& step : process.steps)
    if (holds_any(org, login, step.actors)) return true;
  return false;
}

std::vector<std::string> with(std::vector<std::string> a, const std::vector<std::string>& b) {
  for (const auto& r : b)
    if (std::find(a.begin(), a.end(), r) == a.end()) a.push_back(r);
  return a;
}

}  // namespace

Status is_person(const Org& org, const std::string& login) {
  if (login.empty()) return make_error(ErrorCode::invalid, "no user given; say who acts with --as USER");
  if (org.person(login) != nullptr) return {};
  // Under os-login the login is the OS account's own name (resolve_identity
  // found no person for it): not a typo but someone the org does not know.
  if (org.access.identity == IdentityMode::os_login)
    return make_error(ErrorCode::forbidden,
                      fmt::format("the OS account \"{}\" is nobody in this organisation's org chart, which takes "
                                  "identity from the OS login; an administrator may add it as a person's os_login",
                                  login));
  return make_error(ErrorCode::not_found, fmt::format("unknown user \"{}\"; see reglament users", login));
}

const Person* person_for_os_login(const Org& org, const std::string& os_login) {
  if (os_login.empty()) return nullptr;
  for (const auto& p : org.people)
    if (std::find(p.os_logins.begin(), p.os_logins.end(), os_login) != p.os_logins.end()) return &p;
  const Person* p = org.person(os_login);
  return p != nullptr && p->os_logins.empty() ? p : nullptr;
}

Result<std::string> resolve_identity(const Org& org, const std::string& os_login, const std::string& asserted) {
  if (org.access.identity == IdentityMode::asserted) return asserted.empty() ? os_login : asserted;
  const Person* me = person_for_os_login(org, os_login);
  if (asserted.empty()) return me != nullptr ? me->login : os_login;
  if (me != nullptr && me->login == asserted) return asserted;
  const std::string who = me != nullptr ? fmt::format("the OS account \"{}\" is {}", os_login, me->login)
                                        : fmt::format("the OS account \"{}\" is nobody in org.yaml", os_login);
  return make_error(ErrorCode::forbidden,
                    fmt::format("--as {} is refused: {}, and this organisation takes identity from the OS login "
                                "(org.yaml access: identity: os-login)",
                                asserted, who));
}

std::vector<std::string> admin_roles(const Org& org, const std::vector<std::string>& owners) {
  return org.access.admin.empty() ? owners : org.access.admin;
}

Status may_administer(const Org& org, const std::string& login, const std::vector<std::string>& owners,
                      const std::string& what) {
  if (auto st = known(org, login); !st.ok()) return st;
  const auto admins = admin_roles(org, owners);
  if (holds_any(org, login, admins)) return {};
  return make_error(ErrorCode::forbidden, fmt::format("{} may not {}: it takes an administrator role ({})", login,
                                                      what, admins.empty() ? "none is defined" : joined(admins)));
}

Status may_audit(const Org& org, const std::string& login, const std::vector<std::string>& owners,
                 const std::string& what) {
  if (auto st = known(org, login); !st.ok()) return st;
  const auto roles = with(admin_roles(org, owners), org.access.auditors);
  if (holds_any(org, login, roles)) return {};
  return make_error(ErrorCode::forbidden, fmt::format("{} may not {}: it takes an auditor or administrator role ({})",
                                                      login, what, roles.empty() ? "none is defined" : joined(roles)));
}

bool can_see(const Org& org, const std::string& login, const Process& process, const std::vector<std::string>& owners) {
  return org.person(login) != nullptr &&
         (acts_in(org, login, process) || holds_any(org, login, with(admin_roles(org, owners), org.access.auditors)));
}

Status may_see(const Org& org, const std::string& login, const Process& process,
               const std::vector<std::string>& owners) {
  if (auto st = known(org, login); !st.ok()) return st;
  if (can_see(org, login, process, owners)) return {};
  return make_error(ErrorCode::forbidden,
                    fmt::format("{} may not see instances of {}: it takes a role of its steps, its owner ({}), "
                                "an auditor or an administrator",
                                login, process.key, process.owner));
}

Status may_start(const Org& org, const std::string& login, const Process& process,
                 const std::vector<std::string>& owners) {
  if (auto st = known(org, login); !st.ok()) return st;
  if (acts_in(org, login, process) || holds_any(org, login, admin_roles(org, owners))) return {};
  return make_error(ErrorCode::forbidden,
                    fmt::format("{} may not start {}: it takes a role of its steps, its owner ({}) or an "
                                "administrator",
                                login, process.key, process.owner));
}

Status may_edit_clients(const Org& org, const std::string& login, const std::vector<std::string>& owners) {
  if (auto st = known(org, login); !st.ok()) return st;
  if (!org.access.clients) return {};
  const auto roles = with(*org.access.clients, admin_roles(org, owners));
  if (holds_any(org, login, roles)) return {};
  return make_error(ErrorCode::forbidden,
                    fmt::format("{} may not change the client database: it takes one of the roles {}", login,
                                joined(roles)));
}

}  // namespace reglament
