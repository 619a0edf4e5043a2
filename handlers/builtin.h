// Factories of the built-in handlers, registered in registry.cpp.
#pragma once

#include <memory>

#include "engine/handler.h"

namespace reglament {

// `notify`: with {to: ROLE_OR_LOGIN, text: TEMPLATE}. Renders the text with
// the instance's variables and returns it as one outbox message.
std::unique_ptr<TaskHandler> make_notify_handler();

// `set`: with {VAR: EXPRESSION, ...}. Evaluates every expression against the
// variables as they were when the step started and sets the results.
std::unique_ptr<TaskHandler> make_set_handler();

// `exec`: with {run: [PROGRAM, ARG...], timeout: 30s, env: {NAME: TEXT} or [NAME...], outputs: [NAMES]}.
// Runs the program pinned at deploy (path and SHA-256, refused when changed) without a shell, in a
// rebuilt environment, gives it the call and the variables as JSON on stdin, and reads the declared
// outputs, `messages` and `records` from the JSON object it prints on stdout (docs/handlers.md).
std::unique_ptr<TaskHandler> make_exec_handler();

}  // namespace reglament
