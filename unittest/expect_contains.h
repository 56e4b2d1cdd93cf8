// EXPECT_CONTAINS(text, part): the error-message check shared by the bad-input tests.
// `text` is evaluated exactly once: a LAMMPS run (with collective communication) inside
// it must happen once on every rank, whether the expectation holds or not.
#pragma once

#include <gtest/gtest.h>

#include <string>

#define EXPECT_CONTAINS(text, part)                           \
  do {                                                        \
    const std::string text_ = (text);                         \
    EXPECT_NE(text_.find(part), std::string::npos) << text_;  \
  } while (0)
