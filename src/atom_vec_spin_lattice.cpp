/* ----------------------------------------------------------------------
   mlspin: atom_style spin/lattice
------------------------------------------------------------------------- */

#include "atom_vec_spin_lattice.h"

#include "atom.h"
#include "domain.h"
#include "error.h"
#include "memory.h"

#include <cmath>
#include <cstring>

using namespace LAMMPS_NS;

AtomVecSpinLattice::AtomVecSpinLattice(LAMMPS *lmp) :
    AtomVec(lmp), sp(nullptr), fm(nullptr), fm_long(nullptr), sp_hold(nullptr)
{
  molecular = Atom::ATOMIC;
  mass_type = PER_TYPE;
  forceclearflag = 1;    // fm and fm_long are cleared with the forces
  atom->sp_flag = 1;

  // the same per-atom fields as the SPIN package's atom_style spin, so that its
  // pair styles, fix precession/spin, set spin/atom and compute property/atom work
  fields_grow = {"sp", "fm", "fm_long"};
  fields_copy = {"sp"};
  fields_comm = {"sp"};
  fields_comm_vel = {"sp"};
  fields_reverse = {"fm", "fm_long"};
  fields_border = {"sp"};
  fields_border_vel = {"sp"};
  fields_exchange = {"sp"};
  fields_restart = {"sp"};
  fields_create = {"sp"};
  fields_data_atom = {"id", "type", "x", "sp"};    // id type x y z spx spy spz sp
  fields_data_vel = {"id", "v"};

  setup_fields();
}

AtomVecSpinLattice::~AtomVecSpinLattice()
{
  memory->destroy(sp_hold);
}

void AtomVecSpinLattice::grow_pointers()
{
  sp = atom->sp;
  fm = atom->fm;
  fm_long = atom->fm_long;
}

void AtomVecSpinLattice::force_clear(int n, size_t nbytes)
{
  memset(&fm[n][0], 0, 3 * nbytes);
  memset(&fm_long[n][0], 0, 3 * nbytes);
}

/* created atoms get a spin of magnitude 1 along +z (set spin/atom changes it) */

void AtomVecSpinLattice::create_atom_post(int ilocal)
{
  sp[ilocal][0] = sp[ilocal][1] = 0.0;
  sp[ilocal][2] = sp[ilocal][3] = 1.0;
}

/* spin directions from data files are normalised; a zero or non-finite one is an error */

void AtomVecSpinLattice::data_atom_post(int ilocal)
{
  double *s = sp[ilocal];
  const double length = sqrt(s[0] * s[0] + s[1] * s[1] + s[2] * s[2]);
  if (!(length > 0.0) || !std::isfinite(length) || !std::isfinite(s[3]))
    error->one(FLERR,
               "Atom {} in the data file has spin direction ({} {} {}) with magnitude {}: "
               "spx spy spz must be a finite nonzero vector and sp a finite number",
               atom->tag[ilocal], s[0], s[1], s[2], s[3]);
  s[0] /= length;
  s[1] /= length;
  s[2] /= length;
}

/* the spin is a vector: rotate it with the box between general and restricted triclinic */

void AtomVecSpinLattice::read_data_general_to_restricted(int nlocal_previous, int nlocal)
{
  AtomVec::read_data_general_to_restricted(nlocal_previous, nlocal);
  for (int i = nlocal_previous; i < nlocal; i++) domain->general_to_restricted_vector(sp[i]);
}

void AtomVecSpinLattice::write_data_restricted_to_general()
{
  AtomVec::write_data_restricted_to_general();
  const int nlocal = atom->nlocal;
  memory->destroy(sp_hold);
  memory->create(sp_hold, nlocal, 3, "spin/lattice:sp_hold");
  for (int i = 0; i < nlocal; i++) {
    for (int k = 0; k < 3; k++) sp_hold[i][k] = sp[i][k];
    domain->restricted_to_general_vector(sp[i]);
  }
}

void AtomVecSpinLattice::write_data_restore_restricted()
{
  AtomVec::write_data_restore_restricted();
  if (!sp_hold) return;
  const int nlocal = atom->nlocal;
  for (int i = 0; i < nlocal; i++)
    for (int k = 0; k < 3; k++) sp[i][k] = sp_hold[i][k];
  memory->destroy(sp_hold);
  sp_hold = nullptr;
}
