/* ----------------------------------------------------------------------
   mlspin: compute mlspin/chirality

   compute ID group mlspin/chirality [cutoff Rc]
   per-atom vector: chi_i = (1/6) sum_k s_i . (s_k x s_k+1), neighbours k
   counter-clockwise (viewed from +z), spin directions only (zero outside the group)
------------------------------------------------------------------------- */

#include "compute_mlspin_chirality.h"

#include "core/spin_order.h"

using namespace LAMMPS_NS;

ComputeMLSpinChirality::ComputeMLSpinChirality(LAMMPS *lmp, int narg, char **arg) :
    ComputeMLSpinShell(lmp, narg, arg)
{
  configure(mlspin::kTriangularShell, 0, narg, arg, 3);
}

void ComputeMLSpinChirality::evaluate_site(const mlspin::Vec3 &centre,
                                           const std::vector<mlspin::RingNeighbour> &ring, double *out)
{
  *out = mlspin::site_chirality(centre, ring);
}
