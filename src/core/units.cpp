#include "core/units.h"

#include "core/error.h"

#include <cmath>

namespace mlspin {

SpinUnits spin_units(const std::string &unit_style, double hplanck, double boltz)
{
  if (!(hplanck > 0.0) || !(boltz > 0.0))
    throw Error("unit style '" + unit_style + "' defines no Planck or Boltzmann constant");
  return {hplanck / (2.0 * M_PI), boltz};
}

}    // namespace mlspin
