// Exact diagonalisation of the 2N x 2N single-particle s-d Hamiltonian (Eigen).
//
// The Hermitian matrix is reduced to a real tridiagonal one by Householder
// transformations; the tridiagonal eigenproblem is solved with eigenvectors and only the
// eigenvectors needed for the density matrix are transformed back: those of the occupied
// levels, or of the empty ones when there are fewer (rho = 1 - sum of empty projectors).
// Cost O(N^3), memory about 48 (2N)^2 bytes (see memory_bytes).
#pragma once

#include "core/sd_model.h"

namespace mlspin {

class EDSolver : public SDSolver {
 public:
  void solve(const HoppingMatrix &hopping, const std::vector<Vec3> &spins, const SDParameters &params,
             bool want_site_energy, SDResult &result) override;
  std::string name() const override { return "ed"; }

  // Estimated peak memory of one solve for nsites sites, in bytes.
  static double memory_bytes(double nsites);

  // Single-particle levels of the last solve, ascending (for tests and diagnostics).
  const std::vector<double> &levels() const { return levels_; }

 private:
  std::vector<double> levels_;
};

}    // namespace mlspin
