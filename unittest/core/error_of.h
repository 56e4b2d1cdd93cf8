// error_of(f): the message of the mlspin::Error that f throws, or "" when it throws
// none; shared by the core tests of bad input (with EXPECT_CONTAINS).
#pragma once

#include "core/error.h"

#include <string>

template <typename F> std::string error_of(F f)
{
  try {
    f();
  } catch (const mlspin::Error &e) {
    return e.what();
  }
  return "";
}
