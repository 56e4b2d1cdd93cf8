#include "core/sd_model.h"

#include "core/error.h"

#include <cmath>
#include <limits>
#include <string>

namespace mlspin {

double fermi(double e, double mu, double kT)
{
  if (kT <= 0.0) return (e < mu) ? 1.0 : (e > mu ? 0.0 : 0.5);
  const double x = (e - mu) / kT;
  if (x > 0.0) {
    const double t = std::exp(-x);
    return t / (1.0 + t);
  }
  return 1.0 / (1.0 + std::exp(x));
}

double fermi_complement(double e, double mu, double kT)
{
  return fermi(mu, e, kT);    // 1 - f(x) = f(-x)
}

double grand_potential_term(double e, double mu, double kT)
{
  if (kT <= 0.0) return (e < mu) ? e - mu : 0.0;
  const double x = (e - mu) / kT;
  if (x >= 0.0) return -kT * std::log1p(std::exp(-x));
  return (e - mu) - kT * std::log1p(std::exp(x));
}

double level_energy(double e, double f, double mu, const SDParameters &params)
{
  if (params.kT <= 0.0) return params.canonical ? e * f : (e - mu) * f;
  const double omega = grand_potential_term(e, mu, params.kT);
  return params.canonical ? omega + mu * f : omega;
}

double electron_count(int nsites, const SDParameters &params)
{
  return 2.0 * nsites * params.filling;
}

namespace {

double count_electrons(const std::vector<double> &e, const std::vector<double> &w, double mu, double kT,
                       double *derivative)
{
  double n = 0.0, dn = 0.0;
  for (size_t k = 0; k < e.size(); k++) {
    const double f = fermi(e[k], mu, kT);
    n += w[k] * f;
    dn += w[k] * f * fermi_complement(e[k], mu, kT) / kT;
  }
  if (derivative) *derivative = dn;
  return n;
}

// canonical, kT > 0: safeguarded Newton iteration inside a bisection bracket
double solve_mu(const std::vector<double> &e, const std::vector<double> &w, double n_electrons, double kT)
{
  double lo = e.front() - 50.0 * kT - 1.0, hi = e.back() + 50.0 * kT + 1.0;
  double mu = 0.5 * (lo + hi);
  for (int iter = 0; iter < 300; iter++) {
    double dn = 0.0;
    const double n = count_electrons(e, w, mu, kT, &dn);
    const double residual = n - n_electrons;
    if (std::fabs(residual) <= 1e-14 * n_electrons) return mu;
    if (residual > 0.0)
      hi = mu;
    else
      lo = mu;
    double next = (dn > 0.0) ? mu - residual / dn : 0.5 * (lo + hi);
    if (!(next > lo && next < hi)) next = 0.5 * (lo + hi);
    if (next == mu || hi - lo <= 4.0 * std::numeric_limits<double>::epsilon() * std::fabs(mu)) return next;
    mu = next;
  }
  return mu;
}

}    // namespace

Occupation occupy(const std::vector<double> &levels, const std::vector<double> &weights,
                  const SDParameters &params, double n_electrons, double deg_tol)
{
  const size_t n = levels.size();
  Occupation occ;
  occ.f.assign(n, 0.0);
  occ.fbar.assign(n, 1.0);
  if (n == 0) return occ;

  if (!params.canonical) {
    occ.mu = params.mu;
    for (size_t k = 0; k < n; k++) {
      if (params.kT <= 0.0 && std::fabs(levels[k] - occ.mu) <= deg_tol) {
        occ.f[k] = occ.fbar[k] = 0.5;
      } else {
        occ.f[k] = fermi(levels[k], occ.mu, params.kT);
        occ.fbar[k] = fermi_complement(levels[k], occ.mu, params.kT);
      }
    }
    return occ;
  }

  double total = 0.0;
  for (const double w : weights) total += w;
  if (!(n_electrons > 0.0 && n_electrons < total))
    throw Error("the electron count " + std::to_string(n_electrons) + " must lie strictly between 0 and " +
                std::to_string(total));

  if (params.kT > 0.0) {
    occ.mu = solve_mu(levels, weights, n_electrons, params.kT);
    for (size_t k = 0; k < n; k++) {
      occ.f[k] = fermi(levels[k], occ.mu, params.kT);
      occ.fbar[k] = fermi_complement(levels[k], occ.mu, params.kT);
    }
    return occ;
  }

  // kT = 0: fill level groups from the bottom
  double below = 0.0;
  size_t start = 0;
  while (start < n) {
    size_t end = start + 1;
    while (end < n && levels[end] - levels[start] <= deg_tol) end++;
    double group = 0.0, mean = 0.0;
    for (size_t k = start; k < end; k++) {
      group += weights[k];
      mean += levels[k];
    }
    mean /= static_cast<double>(end - start);
    if (group > 0.0 && below + group >= n_electrons) {
      const double p = (n_electrons - below) / group;
      const double pbar = (below + group - n_electrons) / group;
      for (size_t k = start; k < end; k++) {
        occ.f[k] = p;
        occ.fbar[k] = pbar;
      }
      occ.mu = (end - start == 1) ? levels[start] : mean;
      return occ;
    }
    for (size_t k = start; k < end; k++) {
      occ.f[k] = 1.0;
      occ.fbar[k] = 0.0;
    }
    below += group;
    start = end;
  }
  occ.mu = levels.back();
  return occ;
}

}    // namespace mlspin
