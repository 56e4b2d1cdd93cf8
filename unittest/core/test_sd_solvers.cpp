// ED and KPM solvers of the s-d model: closed forms, fields against finite differences of
// the energy, KPM -> ED convergence, per-site sums and the kT = 0 degeneracy treatment.
#include "core/error.h"
#include "core/sd_model.h"
#include "core/sd_solver_ed.h"
#include "core/sd_solver_kpm.h"
#include "sd_test_lattices.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <memory>

using namespace mlspin;

namespace {

SDParameters canonical(double J, double filling, double kT)
{
  SDParameters p;
  p.J = J;
  p.canonical = true;
  p.filling = filling;
  p.kT = kT;
  return p;
}

SDParameters grand(double J, double mu, double kT)
{
  SDParameters p;
  p.J = J;
  p.canonical = false;
  p.mu = mu;
  p.kT = kT;
  return p;
}

HoppingMatrix square_hopping(int l, double t1, double t2)
{
  const auto lat = sd_test::square(l, l);
  return build_hopping(lat.x, lat.box, {1.0, std::sqrt(2.0)}, {t1, t2}, 1e-3);
}

double energy_of(SDSolver &solver, const HoppingMatrix &h, const std::vector<Vec3> &s, const SDParameters &p)
{
  SDResult r;
  solver.solve(h, s, p, false, r);
  return r.energy;
}

// largest |J m_i - (-dE/dS_i)| over all components, relative to the largest field
double finite_difference_error(SDSolver &solver, const HoppingMatrix &h, const std::vector<Vec3> &spins,
                               const SDParameters &p, double step)
{
  SDResult r;
  solver.solve(h, spins, p, false, r);
  double worst = 0.0, largest = 0.0;
  for (size_t i = 0; i < spins.size(); i++) {
    const Vec3 field = p.J * r.spin[i];
    largest = std::max(largest, norm(field));
    for (int c = 0; c < 3; c++) {
      auto plus = spins, minus = spins;
      double *pp = c == 0 ? &plus[i].x : (c == 1 ? &plus[i].y : &plus[i].z);
      double *pm = c == 0 ? &minus[i].x : (c == 1 ? &minus[i].y : &minus[i].z);
      *pp += step;
      *pm -= step;
      const double fd = -(energy_of(solver, h, plus, p) - energy_of(solver, h, minus, p)) / (2 * step);
      const double analytic = c == 0 ? field.x : (c == 1 ? field.y : field.z);
      worst = std::max(worst, std::fabs(fd - analytic));
    }
  }
  return worst / largest;
}

}    // namespace

// ---------------------------------------------------------------------------------
// Two sites with spins at angle theta, |S| = 1, one electron, kT = 0: the levels are
// +-sqrt(J^2 + t^2 +- 2 J t cos(theta/2)); the ground-state energy and the Hellmann-
// Feynman field follow in closed form.

TEST(SDSolvers, TwoSitesClosedForm)
{
  const double t = 1.0, J = 2.5;
  HoppingMatrix h;
  h.nsites = 2;
  h.row_start = {0, 1, 2};
  h.column = {1, 0};
  h.value = {-t, -t};
  EDSolver ed;
  for (const double theta : {0.0, 0.3, 1.0, 2.0, 2.8}) {
    const Vec3 s1{0, 0, 1}, s2{std::sin(theta), 0, std::cos(theta)};
    SDResult r;
    ed.solve(h, {s1, s2}, canonical(J, 0.25, 0.0), true, r);
    const double c = std::cos(theta / 2);
    const double root = std::sqrt(J * J + t * t + 2 * J * t * c);
    EXPECT_NEAR(r.energy, -root, 1e-12) << theta;
    const double levels[4] = {-root, -std::sqrt(J * J + t * t - 2 * J * t * c),
                              std::sqrt(J * J + t * t - 2 * J * t * c), root};
    for (int k = 0; k < 4; k++) EXPECT_NEAR(ed.levels()[k], levels[k], 1e-12);
    // field on spin 1: longitudinal J s1.m1 with s1.m1 = -(dE/dJ)/2 = (J + t c)/(2 root),
    // transverse -dE/dc dc/ds1 = (J t / (4 c root)) (s2 - (s1.s2) s1)
    const double along = J * (J + t * c) / (2 * root);
    const double across = J * t / (4 * c * root);
    const Vec3 expected = along * s1 + across * (s2 - dot(s1, s2) * s1);
    const Vec3 field = J * r.spin[0];
    EXPECT_NEAR(field.x, expected.x, 1e-12) << theta;
    EXPECT_NEAR(field.y, expected.y, 1e-12) << theta;
    EXPECT_NEAR(field.z, expected.z, 1e-12) << theta;
    EXPECT_NEAR(r.density[0] + r.density[1], 1.0, 1e-12);
    EXPECT_NEAR(r.site_energy[0] + r.site_energy[1], r.energy, 1e-12);
  }
  // grand canonical with mu between the two lowest levels -(J+t) and -(J-t)
  SDResult g;
  const double mu = -(J - t) - 0.05;
  ed.solve(h, {{0, 0, 1}, {0, 0, 1}}, grand(J, mu, 0.0), false, g);
  EXPECT_NEAR(g.energy, -(J + t) - mu, 1e-12);
}

// ---------------------------------------------------------------------------------

struct FDCase {
  const char *name;
  SDParameters params;
};

std::vector<FDCase> fd_cases()
{
  return {{"canonical kT=0.05", canonical(3.0, 0.4, 0.05)},
          {"canonical kT=0", canonical(2.0, 0.45, 0.0)},
          {"grand canonical kT=0.1", grand(1.5, -0.7, 0.1)},
          {"grand canonical kT=0", grand(4.0, -1.9, 0.0)}};
}

TEST(SDSolvers, EDFieldsAreFiniteDifferencesOfTheEnergy)
{
  const auto h = square_hopping(4, 1.0, 0.3);
  EDSolver ed;
  for (const auto &c : fd_cases())
    for (unsigned seed : {1u, 2u, 3u}) {
      const auto spins = sd_test::random_spins(16, seed, 0.6, 1.4);
      const double err = finite_difference_error(ed, h, spins, c.params, 1e-5);
      EXPECT_LT(err, 1e-7) << c.name << " seed " << seed;
    }
}

TEST(SDSolvers, KPMFieldsAreFiniteDifferencesOfTheKPMEnergy)
{
  const auto h = square_hopping(4, 1.0, 0.3);
  KPMSettings random;
  random.moments = 60;
  random.vectors = 3;
  KPMSettings probing = random;
  probing.probe_distance = 2;
  probing.vectors = 1;
  KPMSettings exact = random;
  exact.exact_trace = true;
  for (const auto &settings : {random, probing, exact}) {
    KPMSolver kpm(settings);
    for (const auto &c : fd_cases())
      for (unsigned seed : {4u, 5u}) {
        if (settings.exact_trace && seed == 5u) continue;    // 32 vectors: one configuration
        const auto spins = sd_test::random_spins(16, seed, 0.6, 1.4);
        const double err = finite_difference_error(kpm, h, spins, c.params, 1e-5);
        EXPECT_LT(err, 1e-6) << c.name << " seed " << seed << " probe " << settings.probe_distance
                             << " exact " << settings.exact_trace;
      }
  }
}

// ---------------------------------------------------------------------------------

TEST(SDSolvers, KPMConvergesToED)
{
  const int l = 8;
  const auto h = square_hopping(l, 1.0, 0.0);
  const auto spins = sd_test::random_spins(l * l, 11);
  const auto p = canonical(4.0, 0.4, 0.1);
  EDSolver ed;
  SDResult ref;
  ed.solve(h, spins, p, false, ref);
  auto errors = [&](KPMSettings s, double &energy_err, double &field_err) {
    KPMSolver kpm(s);
    SDResult r;
    kpm.solve(h, spins, p, false, r);
    energy_err = std::fabs(r.energy - ref.energy) / (l * l);
    double sum = 0.0, norm_ref = 0.0;
    for (int i = 0; i < l * l; i++) {
      const Vec3 d = p.J * (r.spin[i] - ref.spin[i]);
      sum += dot(d, d);
      norm_ref += p.J * p.J * dot(ref.spin[i], ref.spin[i]);
    }
    field_err = std::sqrt(sum / norm_ref);
  };

  std::printf("KPM vs ED, %dx%d square lattice, J=4, filling 0.4, kT=0.1, random spins\n", l, l);
  std::printf("  %-22s %8s %16s %16s\n", "vectors", "moments", "|dE|/N", "rms field err");
  double previous = INFINITY, last_exact_e = 0, last_exact_f = 0;
  for (const int m : {25, 50, 100, 200, 400, 800}) {
    KPMSettings s;
    s.moments = m;
    s.exact_trace = true;
    double ee, fe;
    errors(s, ee, fe);
    std::printf("  %-22s %8d %16.3e %16.3e\n", "exact trace (2N)", m, ee, fe);
    EXPECT_LT(fe, previous * 1.05) << "field error must fall as the moments grow";
    previous = fe;
    last_exact_e = ee;
    last_exact_f = fe;
  }
  double random_err[3];
  int idx = 0;
  for (const int r : {4, 16, 64}) {
    KPMSettings s;
    s.moments = 400;
    s.vectors = r;
    double ee, fe;
    errors(s, ee, fe);
    std::printf("  %-22s %8d %16.3e %16.3e\n", ("random x " + std::to_string(r)).c_str(), 400, ee, fe);
    random_err[idx++] = fe;
  }
  double probing_err[3];
  idx = 0;
  for (const int d : {2, 4, 6}) {
    KPMSettings s;
    s.moments = 400;
    s.probe_distance = d;
    s.vectors = 1;
    KPMSolver kpm(s);
    double ee, fe;
    errors(s, ee, fe);
    std::printf("  %-22s %8d %16.3e %16.3e\n",
                ("probing D=" + std::to_string(d) + " (" + std::to_string(kpm.vector_count(h)) + ")").c_str(),
                400, ee, fe);
    probing_err[idx++] = fe;
  }
  // asserted bounds: the kernel error at M = 800 with the exact trace, the stochastic
  // error shrinking with the number of vectors, probing beating random vectors
  EXPECT_LT(last_exact_e, 2e-4);
  EXPECT_LT(last_exact_f, 5e-3);
  EXPECT_LT(random_err[2], random_err[0]);
  EXPECT_LT(probing_err[1], random_err[2]) << "32 probing vectors must beat 64 random ones here";
  EXPECT_LT(probing_err[2], probing_err[0]);
}

// ---------------------------------------------------------------------------------

TEST(SDSolvers, SiteEnergiesAndDensitiesAddUp)
{
  const auto h = square_hopping(4, 1.0, 0.2);
  const auto spins = sd_test::random_spins(16, 7, 0.8, 1.2);
  for (const auto &c : fd_cases()) {
    EDSolver ed;
    SDResult r;
    ed.solve(h, spins, c.params, true, r);
    double e = 0.0, n = 0.0;
    for (int i = 0; i < 16; i++) {
      e += r.site_energy[i];
      n += r.density[i];
    }
    EXPECT_NEAR(e, r.energy, 1e-10) << c.name;
    if (c.params.canonical) EXPECT_NEAR(n, electron_count(16, c.params), 1e-10) << c.name;

    KPMSettings s;
    s.moments = 50;
    s.vectors = 2;
    KPMSolver kpm(s);
    SDResult k;
    kpm.solve(h, spins, c.params, true, k);
    double ek = 0.0;
    for (int i = 0; i < 16; i++) ek += k.site_energy[i];
    EXPECT_NEAR(ek, k.energy, 1e-10) << c.name;
  }
}

TEST(SDSolvers, DegenerateFermiLevelIsSharedEvenly)
{
  // ferromagnet on a 4x4 torus, 2N f = 6 electrons in the majority band T - J:
  // -4t (once), -2t (four times), then the sixth electron in the sixfold degenerate
  // level 0, spread evenly over it. Even sharing keeps every site equivalent, in any
  // spin direction.
  const auto h = square_hopping(4, 1.0, 0.0);
  EDSolver ed;
  for (const Vec3 dir : {Vec3(0, 0, 1), normalized(Vec3(1, -2, 0.5))}) {
    std::vector<Vec3> spins(16, dir);
    SDResult r;
    ed.solve(h, spins, canonical(5.0, 6.0 / 32.0, 0.0), false, r);
    EXPECT_NEAR(r.energy, (-4.0 - 5.0) + 4 * (-2.0 - 5.0) + (0.0 - 5.0), 1e-10);
    for (int i = 0; i < 16; i++) {
      EXPECT_NEAR(r.density[i], 6.0 / 16.0, 1e-12) << "site " << i;
      const Vec3 m = r.spin[i];
      EXPECT_NEAR(norm(m - dot(m, dir) * dir), 0.0, 1e-12) << "site " << i;
    }
  }
}

TEST(SDSolvers, KPMSpectralBoundIsFixedWhileSpinsRotate)
{
  const auto h = square_hopping(4, 1.0, 0.3);
  const double a = KPMSolver::spectral_bound(h, 3.0);
  EXPECT_GT(a, 1.01 * (4 + 1.2 + 3.0) - 1e-12);
  EXPECT_EQ(KPMSolver::spectral_bound(h, 3.0 * (1 + 1e-9)), a);
}

TEST(SDSolvers, FillingOutsideTheBandIsAnError)
{
  const auto h = square_hopping(2, 1.0, 0.0);
  EDSolver ed;
  SDResult r;
  EXPECT_THROW(ed.solve(h, std::vector<Vec3>(4, Vec3(0, 0, 1)), canonical(1.0, 1.0, 0.0), false, r), Error);
  EXPECT_THROW(KPMSolver(KPMSettings{1, 4, false, 0, 1, 0}), Error);
}
