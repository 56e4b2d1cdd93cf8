// pair_style mlspin with a Heisenberg model J(r) (make_test_models.py, heisenberg.pt):
// energies, per-atom energies, fields, forces and virial against the analytic values
// and against SPIN's pair_style spin/exchange; float32 model; hybrid/overlay with
// EAM and NULL types; 1 vs 2 MPI ranks.
#include "lammps_session.h"
#include "pair_mlspin_testing.h"

#include "force.h"
#include "lammps.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>

using namespace mlspin_test;

namespace {

// spin/exchange parameters of heisenberg.pt: J1 per type pair (eV), J2, J3 (Angstrom)
const double kJ1[2][2] = {{0.0446928, 0.03}, {0.03, 0.02}};
const double kJ2 = 0.003496, kJ3 = 1.4885, kCut = 3.5;

// bcc Fe-Co, 54 atoms, displaced, random spins of magnitude 1 or between 0.5 and 2.5
std::string system_commands(bool varied_magnitudes)
{
  LatticeSpec spec;
  spec.a = 2.8665;
  spec.basis = {{0, 0, 0}, {0.5, 0.5, 0.5}};
  spec.cells = 3;
  spec.displacement = 0.1;
  spec.type2_fraction = 0.3;
  spec.seed = 12345;
  if (varied_magnitudes) {
    spec.mag_lo = 0.5;
    spec.mag_hi = 2.5;
  }
  const auto path = write_lattice_data(varied_magnitudes ? "feco_varied.data" : "feco_unit.data", spec);
  return "units metal\natom_style spin/lattice\natom_modify map array\nboundary p p p\nread_data " + path + "\n";
}

// thermo output that needs per-atom energies and virials at run 0
const char *kPerAtom = R"(
compute peatom all pe/atom
compute satom all stress/atom NULL virial
compute sums all reduce sum c_peatom c_satom[1] c_satom[2] c_satom[3] c_satom[4] c_satom[5] c_satom[6]
thermo_style custom step pe pxx pyy pzz pxy pxz pyz vol c_sums[*]
)";

struct Snapshot {
  double pe = 0.0;
  std::vector<double> f, fm, eatom;
  std::vector<double> vatom;    // per-atom virial (energy units), 6 per atom
  std::array<double, 6> w{};
  std::array<double, 7> sums{};    // sum of pe/atom, of stress/atom components
  // the configuration, for the analytic reference
  std::vector<double> x, sp;
  std::vector<int> type;
  double box[3] = {0, 0, 0};
  double hbar = 0.0, nktv2p = 0.0;
};

// Sets up the Fe-Co system, adds `pair`, runs 0 steps and collects the results. LAMMPS
// gives plugin styles only to the first of several instances alive at once, so every
// evaluation has a LAMMPS instance of its own.
Snapshot evaluate(const std::string &pair, bool per_atom = true, bool varied_magnitudes = false,
                  MPI_Comm comm = MPI_COMM_WORLD)
{
  const std::string setup = system_commands(varied_magnitudes);
  LammpsSession lmp(comm);
  lmp.commands(setup);
  lmp.commands(pair);
  lmp.commands(per_atom ? kPerAtom : "thermo_style custom step pe pxx pyy pzz pxy pxz pyz vol");
  lmp.command("run 0 post no");

  Snapshot s;
  s.pe = lmp.thermo("pe");
  s.f = lmp.gather("f", 3);
  s.fm = gather_fm(lmp);
  s.w = virial(lmp);
  if (per_atom) {
    s.eatom = gather_any(lmp, "c_peatom", 1);
    s.vatom = gather_any(lmp, "c_satom", 6);    // stress/atom = -nktv2p * per-atom virial
    for (double &v : s.vatom) v /= -lmp.lmp()->force->nktv2p;
    for (int k = 0; k < 7; k++) s.sums[k] = compute_vector(lmp, "sums", k);
  }
  s.x = lmp.gather("x", 3);
  s.sp = lmp.gather("sp", 4);
  s.type = gather_types(lmp);
  s.box[0] = lmp.thermo("lx");
  s.box[1] = lmp.thermo("ly");
  s.box[2] = lmp.thermo("lz");
  s.hbar = lmp.lmp()->force->hplanck / (2.0 * M_PI);
  s.nktv2p = lmp.lmp()->force->nktv2p;
  return s;
}

std::string mlspin_pair(const std::string &model, const std::string &species = "Fe Co")
{
  return "pair_style mlspin\npair_coeff * * " + model_file(model) + " " + species + "\n";
}

double exchange_j(double j1, double r)
{
  const double ra = r * r / (kJ3 * kJ3);
  return 4.0 * j1 * ra * (1.0 - kJ2 * ra) * std::exp(-ra);
}

double exchange_dj(double j1, double r)
{
  const double ra = r * r / (kJ3 * kJ3);
  return 8.0 * j1 * r / (kJ3 * kJ3) * std::exp(-ra) * (1.0 - ra - kJ2 * ra * (2.0 - ra));
}

// E = -sum_{i<j} J(r_ij) S_i.S_j over pairs of mapped atoms (minimum image, L > 2 r_c)
Snapshot analytic(const Snapshot &config, const int species_of_type[3])
{
  const auto &x = config.x;
  const auto &sp = config.sp;
  const auto &type = config.type;
  const double *box = config.box;
  const double hbar = config.hbar;
  const size_t n = type.size();
  Snapshot s;
  s.f.assign(3 * n, 0.0);
  s.fm.assign(3 * n, 0.0);
  s.eatom.assign(n, 0.0);
  s.vatom.assign(6 * n, 0.0);
  for (size_t i = 0; i < n; i++) {
    const int a = species_of_type[type[i]];
    if (a < 0) continue;
    for (size_t j = 0; j < n; j++) {
      const int b = species_of_type[type[j]];
      if (j == i || b < 0) continue;
      double d[3], r2 = 0.0;
      for (int c = 0; c < 3; c++) {
        d[c] = x[3 * j + c] - x[3 * i + c];
        d[c] -= box[c] * std::round(d[c] / box[c]);
        r2 += d[c] * d[c];
      }
      const double r = std::sqrt(r2);
      if (r >= kCut) continue;
      double si[3], sj[3], sij = 0.0;
      for (int c = 0; c < 3; c++) {
        si[c] = sp[4 * i + c] * sp[4 * i + 3];
        sj[c] = sp[4 * j + c] * sp[4 * j + 3];
        sij += si[c] * sj[c];
      }
      const double jr = exchange_j(kJ1[a][b], r), djr = exchange_dj(kJ1[a][b], r);
      // each ordered pair (i, j) carries half of the bond
      s.pe += -0.5 * jr * sij;
      s.eatom[i] += -0.5 * jr * sij;
      for (int c = 0; c < 3; c++) {
        s.fm[3 * i + c] += sp[4 * i + 3] / hbar * jr * sj[c];
        s.f[3 * i + c] += -djr * sij * d[c] / r;    // F_i = -dE/dr_i = J'(r) s_ij (r_i - r_j)/r
      }
      // W = sum over pairs (r_i - r_j) (x) F_i, each pair seen twice here
      const int ab[6][2] = {{0, 0}, {1, 1}, {2, 2}, {0, 1}, {0, 2}, {1, 2}};
      for (int k = 0; k < 6; k++) {
        s.w[k] += 0.5 * djr * sij * d[ab[k][0]] * d[ab[k][1]] / r;
        s.vatom[6 * i + k] += 0.5 * djr * sij * d[ab[k][0]] * d[ab[k][1]] / r;    // half of the pair's
      }
    }
  }
  return s;
}

void expect_same(const Snapshot &a, const Snapshot &b, double tol, const char *what)
{
  // the reference must not be trivially zero
  EXPECT_GT(std::fabs(b.pe), 0.0) << what;
  EXPECT_GT(*std::max_element(b.fm.begin(), b.fm.end()), 0.0) << what;
  EXPECT_GT(*std::max_element(b.f.begin(), b.f.end()), 0.0) << what;
  EXPECT_LT(relative_error(a.pe, b.pe), tol) << what << ": energy " << a.pe << " vs " << b.pe;
  EXPECT_LT(relative_error(a.fm, b.fm), tol) << what << ": fm";
  EXPECT_LT(relative_error(a.f, b.f), tol) << what << ": forces";
  EXPECT_LT(relative_error(std::vector<double>(a.w.begin(), a.w.end()), std::vector<double>(b.w.begin(), b.w.end())),
            tol)
      << what << ": virial";
}

}    // namespace

/* ---------------------------------------------------------------------- */

TEST(PairMLSpinHeisenberg, MatchesAnalyticEnergiesFieldsForcesAndVirial)
{
  const int species[3] = {-1, 0, 1};
  for (bool varied : {false, true}) {
    const auto got = evaluate(mlspin_pair("heisenberg.pt"), true, varied);
    const auto want = analytic(got, species);
    expect_same(got, want, 1e-10, varied ? "spin magnitudes 0.5 to 2.5" : "unit spins");
    std::printf("  vs analytic (%s): energy %.2e, fm %.2e, forces %.2e, virial %.2e, per-atom virial %.2e\n",
                varied ? "|S| 0.5 to 2.5" : "|S| = 1", relative_error(got.pe, want.pe), relative_error(got.fm, want.fm),
                relative_error(got.f, want.f),
                relative_error(std::vector<double>(got.w.begin(), got.w.end()), std::vector<double>(want.w.begin(), want.w.end())),
                relative_error(got.vatom, want.vatom));
    EXPECT_LT(relative_error(got.eatom, want.eatom), 1e-10);
    EXPECT_LT(relative_error(got.vatom, want.vatom), 1e-10);
    // per-atom energies and virials add up to the global ones (stress/atom = -W per atom)
    EXPECT_LT(relative_error(got.sums[0], got.pe), 1e-12);
    for (int k = 0; k < 6; k++)
      EXPECT_NEAR(-got.sums[1 + k] / got.nktv2p, got.w[k], 1e-10 * std::fabs(got.w[0])) << "component " << k;
  }
}

TEST(PairMLSpinHeisenberg, MatchesSpinExchangeOfTheSpinPackage)
{
  // spin/exchange uses unit directions only: compare at |S| = 1. It computes forces
  // only under fix nve/spin with a moving lattice, hence the fix (run 0 moves nothing).
  // fix nve/spin cannot sector this small box on several ranks: compare serially.
  if (world_size() > 1) GTEST_SKIP() << "fix nve/spin needs a larger box on several ranks";
  const auto a = evaluate(mlspin_pair("heisenberg.pt"));
  const auto b = evaluate(R"(
pair_style spin/exchange 3.5
pair_coeff 1 1 exchange 3.5 0.0446928 0.003496 1.4885
pair_coeff 1 2 exchange 3.5 0.03 0.003496 1.4885
pair_coeff 2 2 exchange 3.5 0.02 0.003496 1.4885
fix nvespin all nve/spin lattice moving
)");
  expect_same(a, b, 1e-10, "mlspin vs spin/exchange");
  EXPECT_LT(relative_error(a.eatom, b.eatom), 1e-10);
  EXPECT_LT(relative_error(a.vatom, b.vatom), 1e-10);
  std::printf("  mlspin vs spin/exchange: energy %.2e, fm %.2e, forces %.2e, virial %.2e, per-atom virial %.2e\n",
              relative_error(a.pe, b.pe), relative_error(a.fm, b.fm), relative_error(a.f, b.f),
              relative_error(std::vector<double>(a.w.begin(), a.w.end()), std::vector<double>(b.w.begin(), b.w.end())),
              relative_error(a.vatom, b.vatom));
}

TEST(PairMLSpinHeisenberg, Float32ModelAgreesToSinglePrecision)
{
  const auto a = evaluate(mlspin_pair("heisenberg_f32.pt"), false, true);
  const auto b = evaluate(mlspin_pair("heisenberg.pt"), false, true);
  expect_same(a, b, 2e-6, "float32 vs float64");
  EXPECT_GT(relative_error(a.fm, b.fm), 0.0) << "the float32 model should differ in the last digits";
}

TEST(PairMLSpinHeisenberg, HybridOverlayWithEamAndNullTypes)
{
  const std::string eam = lammps_potential("Fe_mm.eam.fs");
  if (!std::ifstream(eam)) GTEST_SKIP() << "no " << eam;
  // type 2 is left to EAM only; mlspin couples the spins of type-1 atoms
  const auto got = evaluate("pair_style hybrid/overlay eam/fs mlspin\npair_coeff * * eam/fs " + eam +
                                " Fe Fe\npair_coeff * * mlspin " + model_file("heisenberg.pt") + " Fe NULL\n",
                            false, true);
  const auto base = evaluate("pair_style eam/fs\npair_coeff * * " + eam + " Fe Fe\n", false, true);
  const int species[3] = {-1, 0, -1};
  auto want = analytic(got, species);
  want.pe += base.pe;
  for (size_t k = 0; k < want.f.size(); k++) want.f[k] += base.f[k];
  for (int k = 0; k < 6; k++) want.w[k] += base.w[k];
  expect_same(got, want, 1e-10, "hybrid/overlay eam/fs + mlspin");
  int type2 = 0;
  for (size_t i = 0; i < got.type.size(); i++)
    if (got.type[i] == 2) {
      type2++;
      for (int c = 0; c < 3; c++) EXPECT_EQ(got.fm[3 * i + c], 0.0) << "atom " << i + 1;
    }
  EXPECT_GT(type2, 5);
}

TEST(PairMLSpinHeisenberg, OneAndTwoRanksGiveTheSameResults)
{
  // a serial reference on every rank, then the same system on all ranks of the world
  const auto b = evaluate(mlspin_pair("heisenberg.pt"), true, true, MPI_COMM_SELF);
  const auto a = evaluate(mlspin_pair("heisenberg.pt"), true, true, MPI_COMM_WORLD);
  expect_same(a, b, 1e-10, "parallel vs serial");
  EXPECT_LT(relative_error(a.eatom, b.eatom), 1e-10);
  EXPECT_LT(relative_error(a.vatom, b.vatom), 1e-10);
  EXPECT_EQ(a.type.size(), 54u);
}
