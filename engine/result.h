// Failures as values. Every expected failure in reglament is an Error with a
// code (which the CLI maps to an exit code), one sentence of message, and where
// it happened when that is a place in a definition file.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace reglament {

enum class ErrorCode {
  internal = 1,    // a bug or an environment failure
  invalid = 2,     // invalid input: definition, arguments, form values
  not_found = 3,   // unknown instance, task, process, user
  conflict = 4,    // task already done, claimed by another, concurrent change
  forbidden = 5,   // the user's roles do not allow it
  integrity = 6,   // the stored log does not verify
};

// A place in a definition file. line and column are 1-based; 0 means unknown.
struct Location {
  std::string file;
  int line = 0;
  int column = 0;

  bool known() const { return !file.empty(); }
  // "file:line:column", or "" when unknown.
  std::string str() const;
};

struct Error {
  ErrorCode code = ErrorCode::internal;
  std::string message;
  Location where;

  // "file:line:column: message", or just the message.
  std::string str() const;
};

inline Error make_error(ErrorCode code, std::string message, Location where = {}) {
  return Error{code, std::move(message), std::move(where)};
}

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}
  Result(Error error) : v_(std::move(error)) {}

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  // REQUIRES: ok()
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  // REQUIRES: !ok()
  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)) {}

  bool ok() const { return !error_.has_value(); }
  explicit operator bool() const { return ok(); }
  const Error& error() const { return *error_; }

 private:
  std::optional<Error> error_;
};

using Status = Result<void>;

}  // namespace reglament
