// Who is acting and what they may do: the identity behind --as and the roles
// that decide who may see, start, administer, audit and change the client
// database. Claiming and completing a task (its step's roles) and retrying or
// skipping a service step are decided by core.h; this file decides the rest.
//
// The trust model (docs/reliability.md): the CLI enforces these rules for
// people who use the CLI; the database file itself is protected by file
// permissions and by tamper evidence (verify), not by the CLI.
#pragma once

#include <string>
#include <vector>

#include "engine/model.h"
#include "engine/result.h"

namespace reglament {

// `login` is a person of the org. Errors: invalid when empty; not_found
// ("unknown user") under identity: asserted; forbidden under os-login, where
// the login is an OS account the org does not know (an outsider).
Status is_person(const Org& org, const std::string& login);

// The person an OS account is: the one whose os_login: lists it, else the one
// whose login is the account's name (when that person has no os_login:).
const Person* person_for_os_login(const Org& org, const std::string& os_login);

// The acting login. `asserted` is --as (or REGLAMENT_USER), empty when not
// given. Under identity: asserted it is taken as typed (the OS login when
// empty). Under identity: os-login the acting person is the OS account's;
// --as may only repeat that person's login.
// Errors: forbidden when --as names someone else or the OS account is nobody
// in the org while --as names someone.
Result<std::string> resolve_identity(const Org& org, const std::string& os_login, const std::string& asserted);

// The administrator roles: access.admin, or when it is empty the roles that
// own a process (`owners`).
std::vector<std::string> admin_roles(const Org& org, const std::vector<std::string>& owners);

// deploy, seal, backup, incidents of any process. `what` names the action in
// the refusal ("deploy definitions"). Errors: not_found for an unknown
// person, forbidden.
Status may_administer(const Org& org, const std::string& login, const std::vector<std::string>& owners,
                      const std::string& what);
// verify, replay, the outbox and every instance: administrators and auditors.
Status may_audit(const Org& org, const std::string& login, const std::vector<std::string>& owners,
                 const std::string& what);
// An instance of `process` (show, history, timeline): its owner, the roles of
// its steps, auditors and administrators.
Status may_see(const Org& org, const std::string& login, const Process& process,
               const std::vector<std::string>& owners);
bool can_see(const Org& org, const std::string& login, const Process& process, const std::vector<std::string>& owners);
// Starting `process` by hand: its owner, the roles of its steps and administrators.
Status may_start(const Org& org, const std::string& login, const Process& process,
                 const std::vector<std::string>& owners);
// Adding or changing clients, requests, items and ABC classes: access.clients
// (everyone in the org when not given) and administrators.
Status may_edit_clients(const Org& org, const std::string& login, const std::vector<std::string>& owners);

}  // namespace reglament
