// engine/access.h: the identity behind --as and who may see, start,
// administer, audit and change clients.
#include <doctest/doctest.h>

#include "engine/access.h"
#include "engine/loader.h"

using namespace reglament;

namespace {

constexpr const char* kRoles = R"(roles:
  manager: {title: Менеджер}
  deputy-director: {title: Заместитель директора}
  director: {title: Директор}
  legal: {title: Юрист}
  driver: {title: Водитель}
people:
  - {login: ivanova, name: Иванова, roles: [manager]}
  - {login: sidorova, name: Сидорова, roles: [deputy-director], os_login: [elena, e.sidorova]}
  - {login: orlov, name: Орлов, roles: [director]}
  - {login: kuznetsov, name: Кузнецов, roles: [legal]}
  - {login: gusev, name: Гусев, roles: [driver]}
)";

Org org_with(const std::string& access) {
  auto org = load_org("org.yaml", std::string(kRoles) + access);
  REQUIRE_MESSAGE(org.ok(), (org.ok() ? "" : org.error().str()));
  return *org;
}

Process process() {
  Process p;
  p.key = "incoming-request";
  p.owner = "deputy-director";
  Step s;
  s.id = "3.1.1";
  s.actors = {"manager"};
  p.steps.push_back(s);
  Step l;
  l.id = "3.4.9";
  l.actors = {"legal"};
  p.steps.push_back(l);
  return p;
}

const std::vector<std::string> kOwners = {"deputy-director"};

}  // namespace

TEST_CASE("identity: os-login by default; --as may only repeat the OS account's person") {
  const Org org = org_with("");
  CHECK(org.access.identity == IdentityMode::os_login);
  // The account named like the login is that person, unless the person lists other accounts.
  CHECK(*resolve_identity(org, "ivanova", "") == "ivanova");
  CHECK(*resolve_identity(org, "ivanova", "ivanova") == "ivanova");
  CHECK(*resolve_identity(org, "elena", "") == "sidorova");
  CHECK(*resolve_identity(org, "e.sidorova", "sidorova") == "sidorova");
  CHECK(person_for_os_login(org, "sidorova") == nullptr);  // she listed her accounts
  // A manager typing the director's name is refused, naming who they are.
  auto as_director = resolve_identity(org, "ivanova", "orlov");
  REQUIRE_FALSE(as_director.ok());
  CHECK(as_director.error().code == ErrorCode::forbidden);
  CHECK(as_director.error().message.find("\"ivanova\" is ivanova") != std::string::npos);
  CHECK(as_director.error().message.find("identity: os-login") != std::string::npos);
  // An account that is nobody may not claim to be somebody.
  auto root = resolve_identity(org, "root", "sidorova");
  REQUIRE_FALSE(root.ok());
  CHECK(root.error().message.find("is nobody in org.yaml") != std::string::npos);
  // Without --as it stays the account's name (then unknown to every check).
  CHECK(*resolve_identity(org, "root", "") == "root");
}

TEST_CASE("identity: asserted takes --as as typed") {
  const Org org = org_with("access:\n  identity: asserted\n");
  CHECK(*resolve_identity(org, "root", "orlov") == "orlov");
  CHECK(*resolve_identity(org, "root", "") == "root");
}

TEST_CASE("access keys are checked with their places") {
  auto bad = load_org("org.yaml", std::string(kRoles) + "access:\n  identity: anybody\n");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().message == "identity of access must be os-login or asserted, not \"anybody\"");
  CHECK(bad.error().where.line == 14);
  auto role = load_org("org.yaml", std::string(kRoles) + "access:\n  admin: [deputy-directr]\n");
  REQUIRE_FALSE(role.ok());
  CHECK(role.error().message.find("unknown role \"deputy-directr\"") != std::string::npos);
  auto key = load_org("org.yaml", std::string(kRoles) + "access:\n  admins: [director]\n");
  REQUIRE_FALSE(key.ok());
  CHECK(key.error().message.find("unknown key \"admins\" in access") != std::string::npos);
  auto twice = load_org("org.yaml", R"(roles:
  manager: {title: M}
people:
  - {login: a, name: A, roles: [manager], os_login: anna}
  - {login: b, name: B, roles: [manager], os_login: anna}
)");
  REQUIRE_FALSE(twice.ok());
  CHECK(twice.error().message == "OS login \"anna\" is already \"a\"'s");
}

TEST_CASE("administrators: access.admin, else the roles that own a process") {
  const Org plain = org_with("");
  CHECK(may_administer(plain, "sidorova", kOwners, "deploy definitions").ok());
  auto refused = may_administer(plain, "ivanova", kOwners, "deploy definitions");
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().code == ErrorCode::forbidden);
  CHECK(refused.error().message ==
        "ivanova may not deploy definitions: it takes an administrator role (deputy-director)");
  // Under os-login (the default) "nobody" is an OS account the org does not
  // know: refused, not "unknown user".
  auto outsider = may_administer(plain, "nobody", kOwners, "seal the log");
  CHECK(outsider.error().code == ErrorCode::forbidden);
  CHECK(outsider.error().message.find("the OS account \"nobody\" is nobody in this organisation's org chart") == 0);
  const Org asserted = org_with("access:\n  identity: asserted\n");
  CHECK(may_administer(asserted, "nobody", kOwners, "seal the log").error().code == ErrorCode::not_found);

  const Org named = org_with("access:\n  admin: [director]\n");
  CHECK(may_administer(named, "orlov", kOwners, "seal the log").ok());
  CHECK_FALSE(may_administer(named, "sidorova", kOwners, "seal the log").ok());
}

TEST_CASE("auditors see and check everything; others see the processes they act in") {
  const Org org = org_with("access:\n  auditors: [director]\n");
  const Process p = process();
  CHECK(may_audit(org, "orlov", kOwners, "verify the database").ok());
  CHECK(may_audit(org, "sidorova", kOwners, "verify the database").ok());  // an administrator
  CHECK(may_audit(org, "ivanova", kOwners, "verify the database").error().code == ErrorCode::forbidden);
  CHECK(may_see(org, "ivanova", p, kOwners).ok());    // acts in 3.1.1
  CHECK(may_see(org, "kuznetsov", p, kOwners).ok());  // acts in 3.4.9
  CHECK(may_see(org, "orlov", p, kOwners).ok());      // an auditor
  auto driver = may_see(org, "gusev", p, kOwners);
  REQUIRE_FALSE(driver.ok());
  CHECK(driver.error().message.find("gusev may not see instances of incoming-request") == 0);
  CHECK_FALSE(can_see(org, "nobody", p, kOwners));
  // Starting: the process's own people and administrators, not auditors.
  CHECK(may_start(org, "ivanova", p, kOwners).ok());
  CHECK(may_start(org, "sidorova", p, kOwners).ok());
  CHECK_FALSE(may_start(org, "orlov", p, kOwners).ok());
}

TEST_CASE("the client database: everyone unless access.clients names roles") {
  const Org open = org_with("");
  CHECK(may_edit_clients(open, "gusev", kOwners).ok());
  CHECK(may_edit_clients(open, "nobody", kOwners).error().code == ErrorCode::forbidden);
  const Org closed = org_with("access:\n  clients: [manager]\n");
  CHECK(may_edit_clients(closed, "ivanova", kOwners).ok());
  CHECK(may_edit_clients(closed, "sidorova", kOwners).ok());  // an administrator
  auto driver = may_edit_clients(closed, "gusev", kOwners);
  REQUIRE_FALSE(driver.ok());
  CHECK(driver.error().message == "gusev may not change the client database: it takes one of the roles manager, "
                                  "deputy-director");
}
