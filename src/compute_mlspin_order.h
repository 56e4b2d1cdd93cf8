/* -*- c++ -*- ----------------------------------------------------------
   mlspin: compute mlspin/order

   Per-atom local order parameters over a site and its nearest neighbours:
   triangular lattice: M-point amplitude, tetrahedral (triple-Q) order, uniform
   magnetisation; square lattice: Neel and ferromagnetic order.
   See doc/compute_mlspin_order.rst.
------------------------------------------------------------------------- */

#ifdef COMPUTE_CLASS
// clang-format off
ComputeStyle(mlspin/order,ComputeMLSpinOrder);
// clang-format on
#else

#ifndef LMP_COMPUTE_MLSPIN_ORDER_H
#define LMP_COMPUTE_MLSPIN_ORDER_H

#include "compute_mlspin_shell.h"

namespace LAMMPS_NS {

class ComputeMLSpinOrder : public ComputeMLSpinShell {
 public:
  ComputeMLSpinOrder(class LAMMPS *, int, char **);

 protected:
  void evaluate_site(const mlspin::Vec3 &centre, const std::vector<mlspin::RingNeighbour> &ring,
                     double *out) override;

 private:
  bool triangular = true;
};

}    // namespace LAMMPS_NS

#endif
#endif
