// pair_style mlspin with a model of contract 2 (chemical potential input): fixed mu and
// canonical electrons (filling f). The model (canonical.pt of make_test_models.py) is
// analytic, so the tests compute every expected value here, independently:
//   omega_i = -kT sum_{s=+-1} log(1 + e^{(mu + s J|S_i|)/kT}) - (K0 + K1 mu)/2 sum_j S_i.S_j
//   n_i     = sum_s sigma((mu + s J|S_i|)/kT) + K1/2 sum_j S_i.S_j
// with j over the 6 nearest neighbours of the simple cubic lattice (a = 1, cutoff 1.2).
// Checked: n_i against finite differences of omega_i in mu; the canonical mu against its
// closed form; N_e = 2 f N to 1e-10 at every step of an LLG run; energy = F and fields
// = -dF/dS by finite differences of F; the same as pair_style sd/tb without hopping;
// 1 vs 2 ranks; restart; every error.
#include "lammps_session.h"
#include "pair_mlspin_testing.h"

#include "force.h"
#include "lammps.h"
#include "pair.h"

#include <gtest/gtest.h>

#include "../expect_contains.h"

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

using namespace mlspin_test;

namespace {

const double kJ = 1.0, kT = 0.5, kK0 = 0.3, kK1 = 0.2;
const double kHbarLJ = 1.0 / (2 * M_PI);    // hbar of units lj, as in SPIN

double sigma(double x)
{
  return 1.0 / (1.0 + std::exp(-x));
}

double softplus(double x)
{
  return std::max(x, 0.0) + std::log1p(std::exp(-std::fabs(x)));
}

// cells^3 simple cubic lattice (a = 1, undisplaced), random spin directions, magnitudes
// uniform in [mag_lo, mag_hi]; atom ID 1 + (i cells + j) cells + k sits at (i, j, k)
std::string lattice(int cells, double mag_lo, double mag_hi, unsigned seed)
{
  LatticeSpec spec;
  spec.cells = cells;
  spec.mag_lo = mag_lo;
  spec.mag_hi = mag_hi;
  spec.seed = seed;
  const auto data = write_lattice_data("canonical" + std::to_string(cells) + "_" + std::to_string(seed) + ".data", spec);
  return "units lj\natom_style spin/lattice\natom_modify map array\nboundary p p p\nread_data " + data +
      "\nthermo_style custom step pe\nthermo_modify norm no\n";
}

// pair mlspin with `args`, compute pair (vector: N_e, mu) and compute mlspin/electrons
std::string pair(const std::string &args, const std::string &model = "canonical.pt")
{
  return "pair_style mlspin " + args + "\npair_coeff * * " + model_file(model) +
      " A A\ncompute pel all pair mlspin\ncompute el all mlspin/electrons\n";
}

struct Spins {
  std::vector<double> s;    // S_i = direction * magnitude, 3 per atom, by ID
  std::vector<double> mag;
};

Spins spins(LammpsSession &lmp)
{
  const auto sp = gather_any(lmp, "sp", 4);
  Spins out;
  for (size_t i = 0; i < sp.size() / 4; i++) {
    for (int c = 0; c < 3; c++) out.s.push_back(sp[4 * i + c] * sp[4 * i + 3]);
    out.mag.push_back(sp[4 * i + 3]);
  }
  return out;
}

// b_i = sum_j S_i.S_j over the 6 nearest neighbours on the periodic cells^3 lattice
std::vector<double> bonds(const Spins &sp, int cells)
{
  auto id = [cells](int i, int j, int k) {
    auto w = [cells](int v) { return (v + cells) % cells; };
    return (w(i) * cells + w(j)) * cells + w(k);
  };
  std::vector<double> b(sp.mag.size(), 0.0);
  for (int i = 0; i < cells; i++)
    for (int j = 0; j < cells; j++)
      for (int k = 0; k < cells; k++) {
        const int a = id(i, j, k);
        for (int n : {id(i + 1, j, k), id(i - 1, j, k), id(i, j + 1, k), id(i, j - 1, k), id(i, j, k + 1), id(i, j, k - 1)})
          for (int c = 0; c < 3; c++) b[a] += sp.s[3 * a + c] * sp.s[3 * n + c];
      }
  return b;
}

double omega(double mu, double mag, double bond)
{
  return -kT * (softplus((mu + kJ * mag) / kT) + softplus((mu - kJ * mag) / kT)) - 0.5 * (kK0 + kK1 * mu) * bond;
}

double electrons(double mu, double mag, double bond)
{
  return sigma((mu + kJ * mag) / kT) + sigma((mu - kJ * mag) / kT) + 0.5 * kK1 * bond;
}

// unit spins: N n0(mu) + K1/2 sum b = 2 f N with n0 = x/(x + e^{-J/kT}) + x/(x + e^{J/kT}),
// x = e^{mu/kT}: (2 - c) x^2 + (a + 1/a)(1 - c) x - c = 0, c = 2f - K1 sum b/(2N), a = e^{J/kT}
double canonical_mu_unit_spins(double filling, const std::vector<double> &b)
{
  double sum = 0.0;
  for (double v : b) sum += v;
  const double c = 2.0 * filling - kK1 * sum / (2.0 * b.size());
  const double s = std::exp(kJ / kT) + std::exp(-kJ / kT);
  const double x = (-s * (1.0 - c) + std::sqrt(s * s * (1.0 - c) * (1.0 - c) + 4.0 * c * (2.0 - c))) / (2.0 * (2.0 - c));
  return kT * std::log(x);
}

double pair_mu(LammpsSession &lmp)
{
  int dim = -1;
  auto *mu = static_cast<double *>(lmp.lmp()->force->pair->extract("mu", dim));
  return mu && dim == 0 ? *mu : NAN;
}

}    // namespace

TEST(PairMLSpinCanonical, FixedMuGivesOmegaAndElectronNumbersThatAreMinusItsMuDerivative)
{
  const double mu = 0.4, h = 1e-4;
  const auto setup = lattice(3, 0.8, 1.2, 11);
  auto run = [&](double m, std::vector<double> *n_i, double *n_e) {
    LammpsSession lmp;
    lmp.commands(setup + pair("mu " + std::to_string(m)) + "compute pe all pe/atom\nrun 0 post no");
    if (n_i) *n_i = gather_any(lmp, "c_el", 1);
    if (n_e) {
      n_e[0] = compute_vector(lmp, "el", 0);
      n_e[1] = compute_vector(lmp, "pel", 0);
      EXPECT_EQ(compute_vector(lmp, "el", 1), m);
      EXPECT_EQ(compute_vector(lmp, "pel", 1), m);
    }
    return gather_any(lmp, "c_pe", 1);
  };
  std::vector<double> n_i;
  double n_e[2];
  const auto e0 = run(mu, &n_i, n_e);
  const auto ep = run(mu + h, nullptr, nullptr), em = run(mu - h, nullptr, nullptr);

  LammpsSession ref;
  ref.commands(setup);
  const auto sp = spins(ref);
  const auto b = bonds(sp, 3);
  double sum = 0.0, worst_fd = 0.0, worst_exact = 0.0;
  for (size_t i = 0; i < n_i.size(); i++) {
    sum += n_i[i];
    worst_fd = std::max(worst_fd, std::fabs(n_i[i] + (ep[i] - em[i]) / (2 * h)));
    worst_exact = std::max(worst_exact, std::fabs(n_i[i] - electrons(mu, sp.mag[i], b[i])));
    EXPECT_NEAR(e0[i], omega(mu, sp.mag[i], b[i]), 1e-13);
  }
  std::printf("  n_i vs -d omega_i/d mu (central difference, h %.0e): max |diff| %.2e; vs formula %.2e\n", h, worst_fd,
              worst_exact);
  EXPECT_LT(worst_fd, 1e-8);
  EXPECT_LT(worst_exact, 1e-13);
  EXPECT_NEAR(n_e[0], sum, 1e-12);
  EXPECT_NEAR(n_e[1], sum, 1e-12);
}

TEST(PairMLSpinCanonical, CanonicalMuAndFreeEnergyMatchTheClosedForm)
{
  const int cells = 3;
  const auto setup = lattice(cells, 1.0, 1.0, 5);
  for (double filling : {0.12, 0.3, 0.5, 0.71}) {
    LammpsSession lmp;
    lmp.commands(setup + pair("filling " + std::to_string(filling)) + "run 0 post no");
    const auto sp = spins(lmp);
    const auto b = bonds(sp, cells);
    const double n = static_cast<double>(b.size()), target = 2.0 * filling * n;
    const double mu = canonical_mu_unit_spins(filling, b);
    double f = mu * target;
    for (size_t i = 0; i < b.size(); i++) f += omega(mu, 1.0, b[i]);
    EXPECT_NEAR(pair_mu(lmp), mu, 1e-9) << filling;
    EXPECT_NEAR(compute_vector(lmp, "el", 1), mu, 1e-9) << filling;
    EXPECT_LE(std::fabs(compute_vector(lmp, "el", 0) - target), 1e-10 * target) << filling;
    EXPECT_LE(std::fabs(compute_vector(lmp, "pel", 0) - target), 1e-10 * target) << filling;
    EXPECT_NEAR(lmp.thermo("pe"), f, 1e-10 * std::fabs(f)) << filling;
  }
}

TEST(PairMLSpinCanonical, FieldsAreMinusTheGradientOfTheCanonicalFreeEnergy)
{
  if (world_size() > 1) GTEST_SKIP() << "finite differences run serially";
  // F(S) = Omega(S, mu*(S)) + mu*(S) N_e: its finite differences include the change of
  // mu* with the spins, which the fields (derivatives at fixed mu) leave out; they agree
  // only because dF/dmu = 0 at mu*
  LammpsSession lmp;
  lmp.commands(lattice(3, 0.8, 1.2, 21) + pair("filling 0.37") + "run 0 post no");
  const auto fm = gather_fm(lmp);
  auto sp = gather_any(lmp, "sp", 4);
  const double h = 1e-5, target = 2.0 * 0.37 * 27;
  double worst = 0.0, scale = 0.0, mu_term = 0.0;
  for (int i : {0, 7, 13, 26})
    for (int c = 0; c < 3; c++) {
      double e[2], mu[2];
      for (int k = 0; k < 2; k++) {
        auto moved = sp;
        moved[4 * i + c] += k ? -h : h;    // the direction s_i, unnormalised: F(s) as a function of s
        scatter(lmp, "sp", 4, moved);
        lmp.command("run 0 post no");
        e[k] = lmp.thermo("pe");
        mu[k] = pair_mu(lmp);
      }
      scatter(lmp, "sp", 4, sp);
      const double fd = -(e[0] - e[1]) / (2 * h) / kHbarLJ;
      worst = std::max(worst, std::fabs(fd - fm[3 * i + c]));
      scale = std::max(scale, std::fabs(fm[3 * i + c]));
      mu_term = std::max(mu_term, std::fabs(target * (mu[0] - mu[1]) / (2 * h) / kHbarLJ));
    }
  std::printf("  fm vs -dF/ds/hbar: max |diff| %.2e (fields up to %.2e); the mu*(S) term N dmu/ds/hbar is up to %.2e\n",
              worst, scale, mu_term);
  EXPECT_LT(worst, 1e-7 * scale);
  EXPECT_GT(mu_term, 1e3 * worst);    // the test would see a missing mu N_e term
}

TEST(PairMLSpinCanonical, SameAsPairSdTbWithoutHopping)
{
  // K0 = K1 = 0: every site holds the levels -+J|S_i| of sd/tb with zero hopping
  // (one LAMMPS instance at a time: the plugin is registered with the first only)
  const auto setup = lattice(3, 0.7, 1.3, 31);
  const double filling = 0.41;
  std::vector<double> n_tb, fm_tb, n_ml, fm_ml;
  double e_tb, e_ml;
  {
    LammpsSession tb;
    tb.commands(setup);
    const std::string err = tb.error_of("pair_style sd/tb hop 0.0 J 1.0 filling 0.41 kT 0.5\npair_coeff * *\n"
                                        "compute tbel all sd/tb/electrons\nrun 0 post no");
    if (!err.empty()) GTEST_SKIP() << "pair_style sd/tb does not take hop 0: " << err;
    e_tb = tb.thermo("pe");
    const auto columns = gather_any(tb, "c_tbel", 4);    // n_i, m_i
    for (size_t i = 0; i < columns.size() / 4; i++) n_tb.push_back(columns[4 * i]);
    fm_tb = gather_fm(tb);
  }
  {
    LammpsSession ml;
    ml.commands(setup + pair("filling 0.41", "canonical_sdtb.pt") + "run 0 post no");
    e_ml = ml.thermo("pe");
    n_ml = gather_any(ml, "c_el", 1);
    fm_ml = gather_fm(ml);
  }
  EXPECT_NEAR(e_ml, e_tb, 1e-10 * std::fabs(e_tb));
  EXPECT_LT(relative_error(n_ml, n_tb), 1e-9);
  EXPECT_LT(relative_error(fm_ml, fm_tb), 1e-9);
  double sum = 0.0;
  for (double v : n_ml) sum += v;
  EXPECT_NEAR(sum, 2.0 * filling * 27, 1e-10 * 2.0 * filling * 27);
  std::printf("  mlspin vs sd/tb hop 0: energy %.12g vs %.12g, n_i %.2e, fm %.2e\n", e_ml, e_tb,
              relative_error(n_ml, n_tb), relative_error(fm_ml, fm_tb));
}

TEST(PairMLSpinCanonical, ElectronNumberIsConservedAtEveryStepOfAnLLGRun)
{
  if (world_size() > 1) GTEST_SKIP() << "runs serially; trajectories are compared on 2 ranks";
  const double filling = 0.43, target = 2.0 * filling * 64;
  LammpsSession lmp;
  lmp.commands(lattice(4, 0.9, 1.1, 41) + pair("filling 0.43") + "fix llg all llg alpha 0.2\ntimestep " +
               std::to_string(0.02 * kHbarLJ) + "\nrun 0 post no");
  const double mu0 = pair_mu(lmp), e0 = lmp.thermo("pe");
  double worst = 0.0;
  for (int step = 0; step < 60; step++) {
    lmp.command("run 1 post no");
    worst = std::max(worst, std::fabs(compute_vector(lmp, "el", 0) - target) / target);
  }
  const double mu1 = pair_mu(lmp), e1 = lmp.thermo("pe");
  std::printf("  60 damped LLG steps: max |N_e - 2fN|/2fN %.2e; mu %.8f -> %.8f; F %.8f -> %.8f\n", worst, mu0, mu1,
              e0, e1);
  EXPECT_LE(worst, 1e-10);
  EXPECT_GT(std::fabs(mu1 - mu0), 1e-4);    // the spins moved the chemical potential
  EXPECT_LT(e1, e0);                          // damping lowers the free energy
}

TEST(PairMLSpinCanonical, OneAndTwoRanksGiveTheSameTrajectoryAndMu)
{
  if (world_size() == 1) GTEST_SKIP() << "needs 2 MPI ranks";
  const std::string setup = lattice(4, 0.9, 1.1, 51) + pair("filling 0.33 chunk 20") + "fix llg all llg alpha 0.1\n" +
      "timestep " + std::to_string(0.02 * kHbarLJ) + "\nrun 20 post no\n";
  std::vector<double> sp[2], n_i[2];
  double mu[2], n_e[2];
  int k = 0;
  for (MPI_Comm comm : {MPI_COMM_SELF, MPI_COMM_WORLD}) {
    LammpsSession lmp(comm);
    lmp.commands(setup);
    sp[k] = gather_any(lmp, "sp", 4);
    n_i[k] = gather_any(lmp, "c_el", 1);
    mu[k] = pair_mu(lmp);
    n_e[k] = compute_vector(lmp, "pel", 0);
    k++;
  }
  EXPECT_LT(relative_error(sp[1], sp[0]), 1e-10);
  EXPECT_LT(relative_error(n_i[1], n_i[0]), 1e-10);
  EXPECT_NEAR(mu[1], mu[0], 1e-10);
  EXPECT_NEAR(n_e[1], n_e[0], 1e-10 * n_e[0]);
}

TEST(PairMLSpinCanonical, RestartKeepsTheWarmStartAndContinuesTheSameRun)
{
  const std::string restart = scratch_dir() + "/canonical.restart";
  const std::string setup = lattice(3, 0.9, 1.1, 61);
  const std::string dynamics = "fix llg all llg alpha 0.1\ntimestep " + std::to_string(0.02 * kHbarLJ) + "\n";
  double mu_saved, mu_straight, pe_straight;
  std::vector<double> sp_straight;
  {
    LammpsSession straight;
    straight.commands(setup + pair("filling 0.27") + dynamics + "run 10 post no");
    mu_saved = pair_mu(straight);
    straight.command("write_restart " + restart);
    straight.command("run 10 post no");
    mu_straight = pair_mu(straight);
    pe_straight = straight.thermo("pe");
    sp_straight = gather_any(straight, "sp", 4);
  }
  LammpsSession split;
  split.commands("units lj\natom_style spin/lattice\natom_modify map array\nread_restart " + restart);
  EXPECT_EQ(pair_mu(split), mu_saved);    // the warm start came back with the pair style
  split.commands("pair_coeff * * " + model_file("canonical.pt") +
                 " A A\ncompute pel all pair mlspin\ncompute el all mlspin/electrons\nthermo_style custom step pe\n"
                 "thermo_modify norm no\n" + dynamics + "run 10 post no");
  EXPECT_EQ(split.thermo("step"), 20);
  EXPECT_DOUBLE_EQ(pair_mu(split), mu_straight);
  EXPECT_LT(relative_error(gather_any(split, "sp", 4), sp_straight), 1e-13);
  EXPECT_NEAR(split.thermo("pe"), pe_straight, 1e-12 * std::fabs(pe_straight));
  EXPECT_NEAR(compute_vector(split, "el", 0), 2.0 * 0.27 * 27, 1e-10 * 2.0 * 0.27 * 27);
}

TEST(PairMLSpinCanonical, ADiscardedSpeculativeEvaluationLeavesNoTrace)
{
  // kink_mu.pt: N_e(mu) is linear for mu < 0 and curved above. Filling 0.45 (mu < 0) teaches
  // the solver d2N/dmu2 = 0; the next solve, at filling 0.6 (mu > 0), predicts from it that
  // its first Newton step meets the tolerance, evaluates fields and energies there, misses
  // and must put back fm, energy and per-atom energy before it goes on
  const auto setup = lattice(3, 1.0, 1.0, 91) + pair("filling 0.45 timers yes", "kink_mu.pt") +
      "compute pe all pe/atom\nrun 0 post no\n";
  double pe[2], mu[2];
  std::vector<double> fm[2], eatom[2];
  for (int k = 0; k < 2; k++) {
    LammpsSession lmp;
    if (k == 0)
      lmp.commands(setup + "pair_style mlspin filling 0.6 timers yes\nrun 0 post no");
    else
      lmp.commands(lattice(3, 1.0, 1.0, 91) + pair("filling 0.6", "kink_mu.pt") +
                   "compute pe all pe/atom\nrun 0 post no");
    pe[k] = lmp.thermo("pe");
    mu[k] = pair_mu(lmp);
    fm[k] = gather_fm(lmp);
    eatom[k] = gather_any(lmp, "c_pe", 1);
  }
  EXPECT_NEAR(mu[0], mu[1], 1e-10);
  EXPECT_NEAR(pe[0], pe[1], 1e-10 * std::fabs(pe[1]));
  EXPECT_LT(relative_error(fm[0], fm[1]), 1e-10);
  EXPECT_LT(relative_error(eatom[0], eatom[1]), 1e-10);
}

TEST(PairMLSpinCanonical, TheContractTwoExampleOfTheDocumentationIsTheTestModel)
{
  const auto setup = lattice(3, 0.8, 1.2, 71);
  double pe[2], mu[2];
  std::vector<double> fm[2];
  for (int k = 0; k < 2; k++) {
    LammpsSession lmp;
    lmp.commands(setup + pair("filling 0.3", k ? "canonical.pt" : "two_levels_mu.pt") + "run 0 post no");
    pe[k] = lmp.thermo("pe");
    mu[k] = pair_mu(lmp);
    fm[k] = gather_fm(lmp);
  }
  EXPECT_NEAR(pe[0], pe[1], 1e-12 * std::fabs(pe[1]));
  EXPECT_NEAR(mu[0], mu[1], 1e-12);
  EXPECT_LT(relative_error(fm[0], fm[1]), 1e-12);
}

TEST(PairMLSpinCanonical, BadInputIsAnErrorSayingWhatToDo)
{
  const auto setup = lattice(3, 0.8, 1.2, 81);
  auto error_of = [&](const std::string &commands) {
    LammpsSession lmp;
    lmp.commands(setup);
    return lmp.error_of(commands);
  };
  const std::string v1 = "pair_coeff * * " + model_file("heisenberg_lj.pt") + " A A\n";
  const std::string v2 = "pair_coeff * * " + model_file("canonical.pt") + " A A\n";
  EXPECT_CONTAINS(error_of("pair_style mlspin filling 0.3\n" + v1 + "run 0"),
                  "Pair mlspin keyword filling needs a model with the chemical potential input (contract 2, "
                  "\"inputs\": [\"mu\"]), but model file " + model_file("heisenberg_lj.pt") + " is contract 1");
  EXPECT_CONTAINS(error_of("pair_style mlspin mu 0.1\n" + v1 + "run 0"), "Pair mlspin keyword mu needs a model with");
  EXPECT_CONTAINS(error_of("pair_style mlspin\n" + v2 + "run 0"),
                  "takes the chemical potential mu as an input (trained for mu in [-3, 3]): add 'filling f' (fixed "
                  "electron number, canonical) or 'mu m' (fixed chemical potential) to pair_style mlspin");
  EXPECT_CONTAINS(error_of("pair_style mlspin mu 3.5\n" + v2 + "run 0"),
                  "Pair mlspin: mu 3.5 is outside the range [-3, 3] that model file");
  // without the exchange the electrons are those of sd/tb hop 0: fillings 0.006-0.994 in
  // mu [-3, 3] for |S| in [0.8, 1.2]
  const std::string sdtb = "pair_coeff * * " + model_file("canonical_sdtb.pt") + " A A\n";
  EXPECT_CONTAINS(error_of("pair_style mlspin filling 0.995\n" + sdtb + "run 0"),
                  "Pair mlspin: filling 0.995 cannot be reached with model file " + model_file("canonical_sdtb.pt") +
                      " at step 0: for the current spins its mu range [-3, 3] gives fillings 0.0");
  EXPECT_CONTAINS(error_of("pair_style mlspin filling 0.003\n" + sdtb + "run 0"), "(mu = -3) to 0.9");
  // N_e jumps from N to 2N at mu = 0: filling 0.75 cannot be met
  EXPECT_CONTAINS(error_of("pair_style mlspin filling 0.75\npair_coeff * * " + model_file("bad_v2_step.pt") +
                           " A A\nrun 0"),
                  "Pair mlspin: the chemical potential for filling 0.75 did not converge at step 0: N_e(mu) jumps over "
                  "the target 40.5 between mu = ");
  EXPECT_CONTAINS(error_of("pair_style mlspin filling 0.3 mu 0.1"), "takes one of 'mu m' (fixed chemical potential) "
                  "or 'filling f' (fixed electron number), not both");
  EXPECT_CONTAINS(error_of("pair_style mlspin filling 1.0"), "Pair mlspin filling must lie strictly between 0 and 1");
  EXPECT_CONTAINS(error_of("pair_style mlspin filling 0.3 tolerance 0"), "Pair mlspin tolerance");
  EXPECT_CONTAINS(error_of("pair_style mlspin\n" + v1 + "compute el all mlspin/electrons\nrun 0"),
                  "Compute mlspin/electrons needs a pair mlspin model with the chemical potential input");
  EXPECT_CONTAINS(error_of("pair_style zero 1.0\npair_coeff * *\ncompute el all mlspin/electrons\nrun 0"),
                  "Compute mlspin/electrons requires pair_style mlspin");
}
