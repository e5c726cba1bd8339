#pragma once
// Errors: RECKON_CHECK throws InvalidInput with a message a user can act on; only main() and the
// HTTP handlers catch and translate. RECKON_ASSERT guards internal invariants (a bug, not bad
// input).
#include <fmt/format.h>

#include <stdexcept>
#include <string>

namespace reckon {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};
// The user's input (a file, a flag, a request) is wrong; the message says what was expected.
class InvalidInput : public Error {
 public:
  using Error::Error;
};
// Reading or writing the file system failed (permissions, disk full, missing file).
class IoError : public Error {
 public:
  using Error::Error;
};
// An optional capability the chosen component does not have.
class NotSupported : public Error {
 public:
  using Error::Error;
};
// Something that must not happen did: a bug in reckon.
class InternalError : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

}  // namespace reckon

#define RECKON_CHECK(cond, ...)                                          \
  do {                                                                   \
    if (!(cond)) throw ::reckon::InvalidInput(fmt::format(__VA_ARGS__)); \
  } while (0)

#define RECKON_ASSERT(cond)                                                       \
  do {                                                                            \
    if (!(cond))                                                                  \
      throw ::reckon::InternalError(                                              \
          fmt::format("internal error at {}:{}: {}", __FILE__, __LINE__, #cond)); \
  } while (0)
