/* -*- c++ -*- ----------------------------------------------------------
   mlspin: compute mlspin/chirality

   Per-atom scalar spin chirality on the triangular lattice: the mean of
   S_a . (S_b x S_c) over the six elementary triangles at a site.
   See doc/compute_mlspin_chirality.rst.
------------------------------------------------------------------------- */

#ifdef COMPUTE_CLASS
// clang-format off
ComputeStyle(mlspin/chirality,ComputeMLSpinChirality);
// clang-format on
#else

#ifndef LMP_COMPUTE_MLSPIN_CHIRALITY_H
#define LMP_COMPUTE_MLSPIN_CHIRALITY_H

#include "compute_mlspin_shell.h"

namespace LAMMPS_NS {

class ComputeMLSpinChirality : public ComputeMLSpinShell {
 public:
  ComputeMLSpinChirality(class LAMMPS *, int, char **);

 protected:
  void evaluate_site(const mlspin::Vec3 &centre, const std::vector<mlspin::RingNeighbour> &ring,
                     double *out) override;
};

}    // namespace LAMMPS_NS

#endif
#endif
