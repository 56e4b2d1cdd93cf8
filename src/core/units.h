// Unit conventions shared by every mlspin style.
//
// fm = -(1/hbar) dE/ds is a precession frequency. In `units lj` lattice models are
// written with energies in units of the hopping t and time in hbar/t, so hbar = 1
// there; in every other unit style hbar = h/(2 pi) in that style's energy*time units,
// as in LAMMPS' SPIN package.
#pragma once

#include <string>

namespace mlspin {

struct SpinUnits {
  double hbar;     // energy * time
  double boltz;    // energy / temperature
};

// unit_style: LAMMPS' update->unit_style; hplanck, boltz: force->hplanck, force->boltz
SpinUnits spin_units(const std::string &unit_style, double hplanck, double boltz);

}    // namespace mlspin
