// The shims' error convention: copy the first line of a libtorch exception's message
// (the rest is a C++ backtrace) into the caller's buffer, NUL terminated.
#pragma once

#include <cstring>
#include <exception>

inline void bertwork_copy_first_line(const std::exception& e, char* err, size_t err_len) {
  if (err == nullptr || err_len == 0) {
    return;
  }
  const char* what = e.what();
  size_t n = std::strcspn(what, "\n");
  if (n >= err_len) {
    n = err_len - 1;
  }
  std::memcpy(err, what, n);
  err[n] = '\0';
}
