/* ----------------------------------------------------------------------
   mlspin: compute mlspin/order

   compute ID group mlspin/order triangular|square [cutoff Rc]
   per-atom array: triangular: [1] M-point amplitude, [2] tetrahedral order,
   [3] uniform magnetisation; square: [1] Neel order, [2] ferromagnetic order
   (zero outside the group)
------------------------------------------------------------------------- */

#include "compute_mlspin_order.h"

#include "error.h"

#include "core/spin_order.h"

#include <cstring>

using namespace LAMMPS_NS;

ComputeMLSpinOrder::ComputeMLSpinOrder(LAMMPS *lmp, int narg, char **arg) : ComputeMLSpinShell(lmp, narg, arg)
{
  if (narg < 4) error->all(FLERR, "Compute mlspin/order needs a lattice after the style: triangular or square");
  if (strcmp(arg[3], "triangular") == 0)
    triangular = true;
  else if (strcmp(arg[3], "square") == 0)
    triangular = false;
  else
    error->all(FLERR, "Compute mlspin/order lattice must be triangular or square, got {}", arg[3]);
  if (triangular)
    configure(mlspin::kTriangularShell, 3, narg, arg, 4);
  else
    configure(mlspin::kSquareShell, 2, narg, arg, 4);
}

void ComputeMLSpinOrder::evaluate_site(const mlspin::Vec3 &centre, const std::vector<mlspin::RingNeighbour> &ring,
                                       double *out)
{
  if (triangular) {
    const mlspin::TriangularOrder order = mlspin::triangular_order(centre, ring);
    out[0] = order.m_point;
    out[1] = order.tetrahedral;
    out[2] = order.uniform;
  } else {
    const mlspin::SquareOrder order = mlspin::square_order(centre, ring);
    out[0] = order.neel;
    out[1] = order.ferro;
  }
}
