/* -*- c++ -*- ----------------------------------------------------------
   mlspin: atom_style spin/lattice

   Atoms with a classical spin: position, velocity, mass per type, and the spin in
   LAMMPS' core per-atom arrays sp (unit direction + magnitude), fm and fm_long
   (precession frequencies), the storage of LAMMPS' SPIN package. See
   doc/atom_style_spin_lattice.rst.
------------------------------------------------------------------------- */

#ifndef LMP_ATOM_VEC_SPIN_LATTICE_H
#define LMP_ATOM_VEC_SPIN_LATTICE_H

#include "atom_vec.h"

namespace LAMMPS_NS {

class AtomVecSpinLattice : virtual public AtomVec {
 public:
  AtomVecSpinLattice(class LAMMPS *);
  ~AtomVecSpinLattice() override;

  void grow_pointers() override;
  void force_clear(int, size_t) override;
  void create_atom_post(int) override;
  void data_atom_post(int) override;
  void read_data_general_to_restricted(int, int) override;
  void write_data_restricted_to_general() override;
  void write_data_restore_restricted() override;

 private:
  double **sp, **fm, **fm_long;
  double **sp_hold;    // restricted-triclinic spins while write_data writes general ones
};

}    // namespace LAMMPS_NS

#endif
