// Unit conventions shared by every mlspin style.
//
// fm = -(1/hbar) dE/ds is a precession frequency, with hbar = force->hplanck / (2 pi) in
// every unit style, as in LAMMPS' SPIN package (fix precession/spin, pair spin/exchange,
// compute spin), so that fields of SPIN's styles and of mlspin's add up in one fm. In
// `units lj` this makes hbar = 1/(2 pi): with energies in units of the hopping t, one lj
// time unit is h/t = 2 pi hbar/t, so a time step of tau hbar/t is `timestep tau/(2*PI)`.
#pragma once

#include <string>

namespace mlspin {

struct SpinUnits {
  double hbar;     // energy * time
  double boltz;    // energy / temperature
};

// unit_style: LAMMPS' update->unit_style (for the error message); hplanck, boltz:
// force->hplanck, force->boltz
SpinUnits spin_units(const std::string &unit_style, double hplanck, double boltz);

}    // namespace mlspin
