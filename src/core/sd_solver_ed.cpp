#include "core/sd_solver_ed.h"

#include "core/error.h"

#include <Eigen/Dense>

#include <algorithm>
#include <cmath>
#include <complex>

namespace mlspin {

using cplx = std::complex<double>;

namespace {

// H = T (x) 1 - J sum_i S_i . sigma_i, basis index 2 i + spin (0 = up, 1 = down along z)
Eigen::MatrixXcd dense_hamiltonian(const HoppingMatrix &hop, const std::vector<Vec3> &spins, double J)
{
  const int n = 2 * hop.nsites;
  Eigen::MatrixXcd h = Eigen::MatrixXcd::Zero(n, n);
  for (int i = 0; i < hop.nsites; i++) {
    for (int a = hop.row_start[i]; a < hop.row_start[i + 1]; a++) {
      const int j = hop.column[a];
      h(2 * i, 2 * j) += hop.value[a];
      h(2 * i + 1, 2 * j + 1) += hop.value[a];
    }
    const Vec3 &s = spins[i];
    h(2 * i, 2 * i) += -J * s.z;
    h(2 * i + 1, 2 * i + 1) += J * s.z;
    h(2 * i, 2 * i + 1) += -J * cplx(s.x, -s.y);
    h(2 * i + 1, 2 * i) += -J * cplx(s.x, s.y);
  }
  return h;
}

}    // namespace

double EDSolver::memory_bytes(double nsites)
{
  const double n = 2.0 * nsites;
  return 48.0 * n * n;
}

void EDSolver::solve(const HoppingMatrix &hop, const std::vector<Vec3> &spins, const SDParameters &params,
                     bool want_site_energy, SDResult &result)
{
  const int nsites = hop.nsites;
  if (static_cast<int>(spins.size()) != nsites) throw Error("one spin per site is needed");
  const int n = 2 * nsites;

  // Householder tridiagonalisation H = Q T Q^+, then the real tridiagonal eigenproblem
  Eigen::Tridiagonalization<Eigen::MatrixXcd> tri(n);
  {
    Eigen::MatrixXcd h = dense_hamiltonian(hop, spins, params.J);
    tri.compute(h);
  }
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig;
  eig.computeFromTridiagonal(tri.diagonal(), tri.subDiagonal(), Eigen::ComputeEigenvectors);
  if (eig.info() != Eigen::Success) throw Error("the tridiagonal eigenvalue iteration did not converge");

  levels_.assign(eig.eigenvalues().data(), eig.eigenvalues().data() + n);
  const double scale = std::max({1.0, std::fabs(levels_.front()), std::fabs(levels_.back())});
  const std::vector<double> unit(n, 1.0);
  const Occupation occ = occupy(levels_, unit, params, electron_count(nsites, params), 1e-10 * scale);
  const double mu = occ.mu;

  // energy and its part per level; l(e): the linear function that h(e) follows for filled levels
  std::vector<double> h(n), hbar(n);
  double energy = 0.0;
  for (int m = 0; m < n; m++) {
    h[m] = level_energy(levels_[m], occ.f[m], mu, params);
    const double lin = params.canonical ? levels_[m] : levels_[m] - mu;
    hbar[m] = h[m] - lin;
    energy += h[m];
  }

  // the smaller of the two sets of levels that carry the density matrix
  const double tiny = 1e-17;
  std::vector<int> filled, empty;
  for (int m = 0; m < n; m++) {
    if (occ.f[m] > tiny || std::fabs(h[m]) > tiny * scale) filled.push_back(m);
    if (occ.fbar[m] > tiny || std::fabs(hbar[m]) > tiny * scale) empty.push_back(m);
  }
  const bool use_empty = empty.size() < filled.size();
  const std::vector<int> &set = use_empty ? empty : filled;
  const int k = static_cast<int>(set.size());

  Eigen::MatrixXcd w(n, k);
  for (int c = 0; c < k; c++) w.col(c) = eig.eigenvectors().col(set[c]).cast<cplx>();
  w.applyOnTheLeft(tri.matrixQ());    // eigenvectors of H

  result.energy = energy;
  result.mu = mu;
  result.density.assign(nsites, 0.0);
  result.spin.assign(nsites, Vec3());
  result.site_energy.assign(want_site_energy ? nsites : 0, 0.0);
  std::vector<double> mx(nsites, 0.0), my(nsites, 0.0), mz(nsites, 0.0);
  for (int c = 0; c < k; c++) {
    const int m = set[c];
    const double weight = use_empty ? occ.fbar[m] : occ.f[m];
    const double eweight = use_empty ? hbar[m] : h[m];
    const cplx *psi = w.col(c).data();
    for (int i = 0; i < nsites; i++) {
      const cplx up = psi[2 * i], dn = psi[2 * i + 1];
      const double pu = std::norm(up), pd = std::norm(dn);
      const cplx ud = std::conj(up) * dn;
      result.density[i] += weight * (pu + pd);
      mx[i] += weight * 2.0 * ud.real();
      my[i] += weight * 2.0 * ud.imag();
      mz[i] += weight * (pu - pd);
      if (want_site_energy) result.site_energy[i] += eweight * (pu + pd);
    }
  }
  const double sign = use_empty ? -1.0 : 1.0;
  for (int i = 0; i < nsites; i++) {
    result.spin[i] = {sign * mx[i], sign * my[i], sign * mz[i]};
    if (use_empty) {
      result.density[i] = 2.0 - result.density[i];
      if (want_site_energy)
        result.site_energy[i] += 2.0 * hop.diagonal(i) - (params.canonical ? 0.0 : 2.0 * mu);
    }
  }
}

}    // namespace mlspin
