// Exception type of the core library; the LAMMPS adapters turn it into error->all/one.
#pragma once

#include <stdexcept>
#include <string>

namespace mlspin {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string &what) : std::runtime_error(what) {}
};

}    // namespace mlspin
