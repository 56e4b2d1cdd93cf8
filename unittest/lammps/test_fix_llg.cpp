// fix llg driven through LAMMPS: analytic and independently integrated dynamics,
// field re-evaluation at every stage, integrity of the regular step, lattice motion,
// bad input, 1 vs 2 MPI ranks, restart.
#include "lammps_session.h"

#include "atom.h"
#include "fix.h"
#include "lammps.h"
#include "modify.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <functional>
#include <random>

using mlspin_test::LammpsSession;

namespace {

using Vec = std::array<double, 3>;

Vec cross(const Vec &a, const Vec &b)
{
  return {a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]};
}
double dot(const Vec &a, const Vec &b)
{
  return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
}

// Reference: classical RK4 on the Gilbert-form LLG of a few spins, renormalised each
// step; written independently of src/core.
using Fields = std::function<std::vector<Vec>(const std::vector<Vec> &)>;
std::vector<Vec> rk4_llg(std::vector<Vec> s, const Fields &fields, double alpha, double dt, long steps)
{
  auto rate = [&](const std::vector<Vec> &x) {
    const auto w = fields(x);
    std::vector<Vec> r(x.size());
    for (size_t i = 0; i < x.size(); i++) {
      const Vec sw = cross(x[i], w[i]), ssw = cross(x[i], sw);
      for (int k = 0; k < 3; k++) r[i][k] = -(sw[k] + alpha * ssw[k]) / (1 + alpha * alpha);
    }
    return r;
  };
  auto axpy = [](const std::vector<Vec> &x, double a, const std::vector<Vec> &y) {
    auto z = x;
    for (size_t i = 0; i < x.size(); i++)
      for (int k = 0; k < 3; k++) z[i][k] += a * y[i][k];
    return z;
  };
  for (long n = 0; n < steps; n++) {
    const auto k1 = rate(s), k2 = rate(axpy(s, dt / 2, k1)), k3 = rate(axpy(s, dt / 2, k2)),
               k4 = rate(axpy(s, dt, k3));
    for (size_t i = 0; i < s.size(); i++) {
      for (int k = 0; k < 3; k++) s[i][k] += dt / 6 * (k1[i][k] + 2 * k2[i][k] + 2 * k3[i][k] + k4[i][k]);
      const double len = std::sqrt(dot(s[i], s[i]));
      for (int k = 0; k < 3; k++) s[i][k] /= len;
    }
  }
  return s;
}

const double kHbarMetal = 4.135667403e-3 / (2 * M_PI);    // eV ps, LAMMPS metal units

std::vector<Vec> spins_of(LammpsSession &lmp)
{
  const auto sp = lmp.gather("sp", 4);
  std::vector<Vec> s(sp.size() / 4);
  for (size_t i = 0; i < s.size(); i++) s[i] = {sp[4 * i], sp[4 * i + 1], sp[4 * i + 2]};
  return s;
}

// Spins ordered by lattice position: create_atoms numbers atoms differently on
// different rank counts, so IDs cannot be compared across them.
std::vector<Vec> spins_by_position(LammpsSession &lmp)
{
  const auto s = spins_of(lmp);
  const auto x = lmp.gather("x", 3);
  std::vector<size_t> order(s.size());
  for (size_t i = 0; i < order.size(); i++) order[i] = i;
  auto key = [&](size_t i) {
    return std::array<long, 3>{std::lround(x[3 * i + 2] * 1e3), std::lround(x[3 * i + 1] * 1e3),
                               std::lround(x[3 * i] * 1e3)};
  };
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return key(a) < key(b); });
  std::vector<Vec> sorted;
  for (size_t i : order) sorted.push_back(s[i]);
  return sorted;
}

double max_distance(const std::vector<Vec> &a, const std::vector<Vec> &b)
{
  double worst = 0.0;
  for (size_t i = 0; i < a.size(); i++) {
    const Vec d = {a[i][0] - b[i][0], a[i][1] - b[i][1], a[i][2] - b[i][2]};
    worst = std::max(worst, std::sqrt(dot(d, d)));
  }
  return worst;
}

const char *kSingleSpin = R"(
units metal
atom_style spin/lattice
atom_modify map array
region box block 0 10 0 10 0 10
create_box 1 box
create_atoms 1 single 5 5 5
mass 1 1.0
set atom 1 spin/atom 2.0 0.6 0.0 0.8
)";

class EachIntegrator : public ::testing::TestWithParam<const char *> {};

// Damped precession of one spin about z at angular frequency w0 (Gilbert form).
Vec damped_precession(double theta0, double w0, double alpha, double t)
{
  const double theta = 2 * std::atan(std::tan(theta0 / 2) * std::exp(-alpha * w0 * t / (1 + alpha * alpha)));
  const double phi = w0 * t / (1 + alpha * alpha);
  return {std::sin(theta) * std::cos(phi), std::sin(theta) * std::sin(phi), std::cos(theta)};
}

// |s(t_end) - analytic| for one spin of kSingleSpin under `field` (fix commands).
double single_spin_error(const std::string &field_fix, const char *integrator, double w0, double dt, long steps,
                         const std::string &llg_keywords = "")
{
  LammpsSession lmp;
  lmp.commands(kSingleSpin);
  lmp.commands(field_fix);
  lmp.command(std::string("fix 1 all llg alpha 0.1 integrator ") + integrator + " " + llg_keywords);
  lmp.command("timestep " + std::to_string(dt));
  lmp.command("run " + std::to_string(steps));
  return max_distance(spins_of(lmp), {damped_precession(std::acos(0.8), w0, 0.1, dt * steps)});
}

}    // namespace

// One spin of magnitude 2 in the fix's own Zeeman term (E = -h.S, h = 5 meV, metal
// units): damped precession about z at w0 = |S| h / hbar.
TEST_P(EachIntegrator, SingleSpinFollowsAnalyticDampedPrecession)
{
  const double w0 = 2.0 * 0.005 / kHbarMetal;    // rad/ps
  const double error = single_spin_error("", GetParam(), w0, 1e-4, 4000, "zeeman 0 0 0.005");
  std::printf("  [%s] |s - s_analytic| at t = 0.4 ps (%.1f turns): %.2e\n", GetParam(), w0 * 0.4 / (2 * M_PI),
              error);
  EXPECT_LE(error, 1e-6);
}

// The same with SPIN's fix precession/spin as the only field source (Zeeman field B in
// Tesla: w0 = |S| 2 mu_B B / hbar with SPIN's mu_B = 5.78901e-5 eV/T). fix llg must find
// it and re-run it at every stage: without it the stages would see no field at all.
// Second order, like the scheme.
TEST_P(EachIntegrator, PrecessionSpinZeemanIsAFieldSourceAtEveryStage)
{
  const double B = 40.0, w0 = 2.0 * 2.0 * 5.78901e-5 * B / kHbarMetal;
  const std::string field = "fix 2 all precession/spin zeeman " + std::to_string(B) + " 0 0 1";
  const double coarse = single_spin_error(field, GetParam(), w0, 4e-3, 100);
  const double fine = single_spin_error(field, GetParam(), w0, 2e-3, 200);
  std::printf("  [%s] precession/spin zeeman: |s - s_analytic| at t = 0.4 ps (%.1f turns): dt=4 fs %.2e, "
              "dt=2 fs %.2e, order %.2f\n",
              GetParam(), w0 * 0.4 / (2 * M_PI), coarse, fine, std::log2(coarse / fine));
  EXPECT_LE(fine, 1e-3);
  EXPECT_NEAR(std::log2(coarse / fine), 2.0, 0.2);
}

// In metal units fix llg's zeeman h (energy) and precession/spin's zeeman B (Tesla) are the
// same term for h = 2 mu_B B (doc/fix_llg.rst), also with fix_modify energy yes.
TEST(FixLLG, ZeemanEqualsPrecessionSpinZeemanInMetalUnits)
{
  const double B = 40.0, h = 2.0 * 5.78901e-5 * B;
  auto run = [&](const std::string &fixes) {
    LammpsSession lmp;
    lmp.commands(kSingleSpin);
    lmp.commands(fixes + "\nthermo_style custom step pe\ntimestep 0.001\nrun 300");
    return std::make_pair(spins_of(lmp), lmp.thermo("pe"));
  };
  char own[128];
  std::snprintf(own, sizeof own, "fix 1 all llg alpha 0.1 zeeman 0 0 %.17g\nfix_modify 1 energy yes", h);
  const auto a = run(own);
  const auto b = run("fix 2 all precession/spin zeeman " + std::to_string(B) +
                     " 0 0 1\nfix_modify 2 energy yes\nfix 1 all llg alpha 0.1");
  const double diff = max_distance(a.first, b.first);
  std::printf("  fix llg zeeman vs precession/spin zeeman: |ds| %.2e, energies %.10g and %.10g eV\n", diff, a.second,
              b.second);
  EXPECT_LE(diff, 1e-12);
  EXPECT_NEAR(a.second, b.second, 1e-12);
  EXPECT_LT(a.second, 0.0);    // the spin has relaxed toward the field
}

// Two spins coupled by SPIN's spin/exchange (through this plugin's atom style) plus
// SPIN's precession/spin anisotropy: the field on each spin depends on both spins, so a
// stage using stale fields would be first order. Compared with an independent RK4
// integration.
TEST_P(EachIntegrator, TwoExchangeCoupledSpinsMatchIndependentIntegration)
{
  const double J1 = 0.02, J2 = 0.1, J3 = 2.0, r = 2.5, K = 0.005, alpha = 0.1;
  const double ra = r * r / (J3 * J3);
  const double J = 4 * J1 * ra * (1 - J2 * ra) * std::exp(-ra);
  const std::vector<Vec> s0 = {{1, 0, 0}, {0, 0.9578262852211513, 0.28734788556634544}};
  const Fields fields = [&](const std::vector<Vec> &s) {
    std::vector<Vec> w(2);
    for (int i = 0; i < 2; i++)
      for (int k = 0; k < 3; k++) w[i][k] = (J * s[1 - i][k] + (k == 2 ? 2 * K * s[i][2] : 0.0)) / kHbarMetal;
    return w;
  };

  auto lammps_run = [&](double dt, long steps) {
    LammpsSession lmp;
    lmp.commands(R"(
units metal
atom_style spin/lattice
atom_modify map array
region box block 0 20 0 20 0 20
create_box 1 box
create_atoms 1 single 5 5 5
create_atoms 1 single 7.5 5 5
mass 1 55.845
set atom 1 spin/atom 2.2 1 0 0
set atom 2 spin/atom 2.2 0 0.9578262852211513 0.28734788556634544
pair_style spin/exchange 4.0
pair_coeff * * exchange 4.0 0.02 0.1 2.0
)");
    lmp.command("fix 2 all precession/spin anisotropy 0.005 0 0 1");
    lmp.command(std::string("fix 1 all llg alpha 0.1 integrator ") + GetParam());
    lmp.command("timestep " + std::to_string(dt));
    lmp.command("run " + std::to_string(steps));
    return spins_of(lmp);
  };
  const double t_end = 0.4;    // ps: about 3 precession periods
  const auto reference = rk4_llg(s0, fields, alpha, 1e-6, std::lround(t_end / 1e-6));
  const double e_coarse = max_distance(lammps_run(2e-4, 2000), reference);
  const double e_fine = max_distance(lammps_run(1e-4, 4000), reference);
  std::printf("  [%s] error vs RK4 at t = %.1f ps: dt=2e-4 %.2e, dt=1e-4 %.2e, order %.2f\n", GetParam(), t_end,
              e_coarse, e_fine, std::log2(e_coarse / e_fine));
  EXPECT_LE(e_fine, 1e-4);
  EXPECT_NEAR(std::log2(e_coarse / e_fine), 2.0, 0.2);
}

INSTANTIATE_TEST_SUITE_P(FixLLG, EachIntegrator, ::testing::Values("sib", "depondt", "heun", "midpoint"));

namespace {

// 10 x 10 x 2 simple-cubic lattice with nearest-neighbour exchange; random spins.
const char *kLattice = R"(
units metal
atom_style spin/lattice
atom_modify map array
lattice sc 2.5
region box block 0 10 0 10 0 2
create_box 1 box
create_atoms 1 box
mass 1 55.845
set group all spin/atom/random 31 2.2
pair_style spin/exchange 2.6
pair_coeff * * exchange 2.6 0.02 0.0 1.0
neighbor 0.3 bin
timestep 0.0002
)";

}    // namespace

// LAMMPS keeps one process-wide plugin list: styles of a plugin reach only the first
// of several LAMMPS instances alive at once. Each helper below runs one instance.
std::vector<Vec> spins_after(const std::string &setup, MPI_Comm comm = MPI_COMM_WORLD)
{
  LammpsSession lmp(comm);
  lmp.commands(setup);
  return spins_by_position(lmp);
}

// Field sources are found by what they do, not by name, wherever they stand in the fix
// list: precession/spin defined before or after fix llg gives the same trajectory, and
// setforce/spin, which *sets* fm (here to zero: frozen spins), is found too although
// zero fields are what an empty source would give.
TEST(FixLLG, FieldSourcesAreFoundWhereverTheyAreDefined)
{
  const std::string freeze = "region low block INF INF INF INF INF 0.5\ngroup low region low\n"
                             "fix 3 low setforce/spin 0.0 0.0 0.0\n";
  const std::string aniso = "fix 2 all precession/spin anisotropy 0.01 0.6 0 0.8\n";
  const std::string llg = "fix 1 all llg alpha 0.05 integrator heun\n";
  const auto before = spins_after(std::string(kLattice) + aniso + freeze + llg + "run 300");
  const auto after = spins_after(std::string(kLattice) + llg + aniso + freeze + "run 300");
  const auto initial = spins_after(std::string(kLattice) + "run 0");
  const double diff = max_distance(before, after);
  double frozen = 0.0, moved = 0.0;    // spins_by_position: the z = 0 layer comes first
  const size_t layer = before.size() / 2;
  for (size_t i = 0; i < before.size(); i++) {
    double &slot = i < layer ? frozen : moved;
    slot = std::max(slot, max_distance({before[i]}, {initial[i]}));
  }
  std::printf("  precession/spin before vs after fix llg: %.2e; frozen layer moved %.2e, free layer %.2e\n",
              diff, frozen, moved);
  EXPECT_LE(diff, 1e-12);
  EXPECT_LE(frozen, 1e-15);    // fm = 0: no rotation (renormalisation at most)
  EXPECT_GT(moved, 1e-2);
}

namespace {

// A stand-in for a fix that writes fm stochastically (none of LAMMPS' SPIN fixes does:
// fix langevin/spin has no post_force and acts only inside fix nve/spin): a random
// field from its own generator, new numbers at every call.
class FixRandomFieldForTest : public LAMMPS_NS::Fix {
 public:
  FixRandomFieldForTest(LAMMPS_NS::LAMMPS *lmp, int narg, char **arg) : Fix(lmp, narg, arg) {}
  int setmask() override { return LAMMPS_NS::FixConst::POST_FORCE; }
  void post_force(int) override
  {
    for (int i = 0; i < atom->nlocal; i++)
      for (int k = 0; k < 3; k++) atom->fm[i][k] += normal_(generator_);
  }

 private:
  std::mt19937 generator_{12345};
  std::normal_distribution<double> normal_;
};

LAMMPS_NS::Fix *create_random_field_fix(LAMMPS_NS::LAMMPS *lmp, int narg, char **arg)
{
  return new FixRandomFieldForTest(lmp, narg, arg);
}

}    // namespace

TEST(FixLLG, StochasticFieldSourceIsAClearError)
{
  LammpsSession lmp;
  (*lmp.lmp()->modify->fix_map)["test/random_field"] = &create_random_field_fix;
  lmp.commands(kLattice);
  const auto message = lmp.error_of("fix 2 all test/random_field\nfix 1 all llg alpha 0.1\nrun 1");
  EXPECT_NE(message.find("Fix llg 1: fix 2 (style test/random_field) writes the spin field fm but gives a "
                         "different field when called twice on the same spins"),
            std::string::npos)
      << message;
}

// midpoint at alpha = 0 with a pair style and a field fix (the fix's energy counted):
// the energy error is bounded and second order (symplectic scheme), and 1 and 2 ranks
// give the same trajectory (the iteration count is decided on the global change).
TEST(FixLLG, MidpointConservesEnergyOnOneAndTwoRanks)
{
  const std::string data = mlspin_test::scratch_dir() + "/midpoint.data";
  {
    LammpsSession writer(MPI_COMM_WORLD);
    writer.commands(std::string(kLattice) + "write_data " + data);
  }
  auto run = [&](MPI_Comm comm, double dt, int chunks, int chunk_steps, std::vector<Vec> *spins) {
    LammpsSession lmp(comm);
    lmp.commands("units metal\natom_style spin/lattice\natom_modify map array\nread_data " + data +
                 "\npair_style spin/exchange 2.6\npair_coeff * * exchange 2.6 0.02 0.0 1.0\nneighbor 0.3 bin\n"
                 "fix 2 all precession/spin anisotropy 0.01 0 0 1\nfix_modify 2 energy yes\n"
                 "fix 1 all llg alpha 0.0 integrator midpoint\nthermo_style custom step pe\n"
                 "timestep " + std::to_string(dt) + "\nrun 0");
    const double e0 = lmp.thermo("pe");
    double worst = 0.0;
    for (int c = 0; c < chunks; c++) {
      lmp.command("run " + std::to_string(chunk_steps));
      worst = std::max(worst, std::fabs(lmp.thermo("pe") - e0));
    }
    if (spins) *spins = spins_by_position(lmp);
    return worst;
  };
  std::vector<Vec> serial, parallel;
  const double coarse = run(MPI_COMM_SELF, 4e-4, 20, 25, &serial);
  const double fine = run(MPI_COMM_SELF, 2e-4, 20, 50, nullptr);
  std::printf("  [midpoint, alpha 0] max |E - E0| over 0.2 ps: dt=0.4 fs %.3e eV, dt=0.2 fs %.3e eV, order %.2f\n",
              coarse, fine, std::log2(coarse / fine));
  EXPECT_NEAR(std::log2(coarse / fine), 2.0, 0.3);
  if (mlspin_test::world_size() < 2) return;
  run(MPI_COMM_WORLD, 4e-4, 20, 25, &parallel);
  const double diff = max_distance(serial, parallel);
  std::printf("  [midpoint] max |s_1rank - s_2ranks| after 500 steps: %.2e\n", diff);
  EXPECT_LE(diff, 1e-10);
}

// The extra field evaluations inside a step must leave the regular step's energy,
// forces and virial untouched: they equal a fresh evaluation of the final state.
TEST(FixLLG, RegularEnergyForcesAndVirialAreThoseOfTheFinalState)
{
  const std::string data = mlspin_test::scratch_dir() + "/integrity.data";
  const std::string pair = R"(
pair_style hybrid/overlay lj/cut 5.0 spin/exchange 2.6
pair_coeff * * lj/cut 0.01 2.3
pair_coeff * * spin/exchange exchange 2.6 0.02 0.0 1.0
fix 1 all llg alpha 0.1 zeeman 0.001 0 0.002
fix_modify 1 energy yes
thermo_style custom step pe press
)";
  double pe, press;
  std::vector<double> f;
  {
    LammpsSession run;
    run.commands(kLattice);
    run.commands("displace_atoms all random 0.1 0.1 0.1 5\n" + pair + "run 50\nwrite_data " + data);
    pe = run.thermo("pe");
    press = run.thermo("press");
    f = run.gather("f", 3);
  }
  LammpsSession fresh;
  fresh.commands("units metal\natom_style spin/lattice\natom_modify map array\nread_data " + data +
                 "\nneighbor 0.3 bin\n" + pair + "run 0");
  EXPECT_NEAR(pe, fresh.thermo("pe"), 1e-10 * std::fabs(pe));
  EXPECT_NEAR(press, fresh.thermo("press"), 1e-9 * std::fabs(press));
  EXPECT_LE(mlspin_test::max_relative_difference(f, fresh.gather("f", 3), 1e-6), 1e-10);
}

namespace {

// kLattice with spin-independent pair forces and thermal velocities: atoms move
const char *kMovingLattice = R"(
pair_style hybrid/overlay lj/cut 5.0 spin/exchange 2.6
pair_coeff * * lj/cut 0.01 2.3
pair_coeff * * spin/exchange exchange 2.6 0.02 0.0 1.0
velocity all create 300 4928 loop geom
region left block 0 5 INF INF INF INF
group left region left
group right subtract all left
)";

}    // namespace

// With spin-independent forces, lattice moving must move atoms exactly like fix nve,
// and atoms outside the group must keep positions and spins.
TEST(FixLLG, LatticeMovingMatchesVelocityVerletAndRespectsTheGroup)
{
  const std::string setup = std::string(kLattice) + kMovingLattice;
  std::vector<double> x_llg, v_llg, x0;
  std::vector<Vec> s0, s_llg;
  {
    LammpsSession llg;
    llg.commands(setup);
    x0 = llg.gather("x", 3);
    s0 = spins_of(llg);
    llg.commands("fix 1 left llg alpha 0.1 lattice moving\nrun 200");
    x_llg = llg.gather("x", 3);
    v_llg = llg.gather("v", 3);
    s_llg = spins_of(llg);
  }
  LammpsSession nve;
  nve.commands(setup + "fix 1 left nve\nrun 200");
  EXPECT_LE(mlspin_test::max_relative_difference(x_llg, nve.gather("x", 3), 1.0), 1e-12);
  EXPECT_LE(mlspin_test::max_relative_difference(v_llg, nve.gather("v", 3), 1.0), 1e-12);

  // atoms right of x = 12.5 (the region boundary) (outside the group) keep their spins and positions
  double changed_inside = 0.0, changed_outside = 0.0;
  for (size_t i = 0; i < s0.size(); i++) {
    const double d = max_distance({s0[i]}, {s_llg[i]}) + std::fabs(x_llg[3 * i] - x0[3 * i]);
    double &slot = x0[3 * i] < 13.0 ? changed_inside : changed_outside;
    slot = std::max(slot, d);
  }
  EXPECT_GT(changed_inside, 1e-3);
  EXPECT_EQ(changed_outside, 0.0);
}

// fix llg keeps the local indices of its group between neighbor-list builds. LAMMPS
// reorders atoms (atom_modify sort) and moves them between ranks only at a build: with
// a build and a sort at every step the trajectory must be that of a run without
// sorting (to round-off: sorting changes the order of the pair sums), for the group's
// atoms and for the others.
TEST(FixLLG, AtomSortingAtEveryStepKeepsTheGroupRight)
{
  const std::string run = std::string(kMovingLattice) +
      "neigh_modify every 1 delay 0 check no\nfix 1 left llg alpha 0.1 temp 30 seed 5 lattice moving\nrun 100\n";
  auto trajectory = [&](const char *sort) {
    LammpsSession lmp;
    lmp.commands(std::string(kLattice) + sort + run);
    auto state = lmp.gather("sp", 4);
    const auto x = lmp.gather("x", 3);
    state.insert(state.end(), x.begin(), x.end());
    return state;
  };
  const auto sorted = trajectory("atom_modify sort 1 1.0\n");
  const auto unsorted = trajectory("atom_modify sort 0 0.0\n");
  double diff = 0.0;
  for (size_t k = 0; k < sorted.size(); k++) diff = std::max(diff, std::fabs(sorted[k] - unsorted[k]));
  std::printf("  sorted vs unsorted after 100 steps: max difference of sp and x %.2e\n", diff);
  EXPECT_LE(diff, 1e-9);
}

// Other integrators must see the regular forces although the extra evaluations of fix
// llg overwrite f: with spin-independent forces, atoms integrated by fix nve (defined
// after fix llg, so that their initial_integrate runs after the extra evaluation) move
// exactly as without fix llg.
TEST(FixLLG, LaterIntegratorsSeeTheRegularForces)
{
  auto positions = [](const std::string &fixes) {
    LammpsSession lmp;
    lmp.commands(std::string(kLattice) + kMovingLattice + fixes + "run 100");
    return lmp.gather("x", 3);
  };
  const auto with_llg = positions("fix 1 left llg alpha 0.1\nfix 2 right nve\n");
  const auto without = positions("fix 2 right nve\n");
  EXPECT_LE(mlspin_test::max_relative_difference(with_llg, without, 1.0), 1e-12);
}

// The extra evaluations send only spins to ghost atoms when no earlier fix can have
// moved atoms since the last communication. Here fix nve, defined first, moves atoms
// right before fix llg's evaluation, so positions must be sent as well: stale ghost
// positions would make the fields depend on which neighbours are ghosts, i.e. on the
// number of ranks.
TEST(FixLLG, AtomsMovedBeforeTheExtraEvaluationGiveRankIndependentFields)
{
  if (mlspin_test::world_size() < 2) GTEST_SKIP() << "run under mpirun -np 2";
  const std::string data = mlspin_test::scratch_dir() + "/moved.data";
  {
    LammpsSession writer(MPI_COMM_WORLD);
    writer.commands(std::string(kLattice) + kMovingLattice + "write_data " + data);
  }
  const std::string setup = "units metal\natom_style spin/lattice\natom_modify map array\nread_data " + data +
      "\npair_style hybrid/overlay lj/cut 5.0 spin/exchange 2.6\npair_coeff * * lj/cut 0.01 2.3\n"
      "pair_coeff * * spin/exchange exchange 2.6 0.02 0.0 1.0\nneighbor 0.3 bin\ntimestep 0.0002\n"
      "region left block 0 12.5 INF INF INF INF\ngroup left region left\ngroup right subtract all left\n"
      "fix 2 right nve\nfix 1 left llg alpha 0.1\nrun 300";
  auto spins = [&](MPI_Comm comm) {
    LammpsSession lmp(comm);
    lmp.commands(setup);
    return spins_of(lmp);    // atom-ID order: the IDs come from the data file
  };
  const auto serial = spins(MPI_COMM_SELF);
  const auto parallel = spins(MPI_COMM_WORLD);
  const double diff = max_distance(serial, parallel);
  std::printf("  max |s_1rank - s_2ranks| after 300 steps: %.2e\n", diff);
  EXPECT_LE(diff, 1e-10);
}

// 1 vs 2 ranks: identical trajectories at T = 0 and, since the noise of each spin is
// keyed by its atom ID and the step, also at T > 0 (atoms read from one data file so
// that IDs agree; create_atoms numbers them differently on different rank counts).
TEST(FixLLG, OneAndTwoRanksGiveTheSameTrajectory)
{
  if (mlspin_test::world_size() < 2) GTEST_SKIP() << "run under mpirun -np 2";
  const std::string data = mlspin_test::scratch_dir() + "/parity.data";
  {
    LammpsSession writer(MPI_COMM_WORLD);
    writer.commands(std::string(kLattice) + "write_data " + data);
  }
  for (const std::string thermostat : {"", "temp 50 seed 8812"}) {
    const std::string setup = "units metal\natom_style spin/lattice\natom_modify map array\nread_data " + data +
        "\npair_style spin/exchange 2.6\npair_coeff * * exchange 2.6 0.02 0.0 1.0\nneighbor 0.3 bin\n"
        "timestep 0.0002\nfix 2 all precession/spin anisotropy 0.01 0 0 1\nfix 1 all llg alpha 0.05 " +
        thermostat + "\nrun 1000";
    const auto serial = spins_after(setup, MPI_COMM_SELF);
    const auto parallel = spins_after(setup, MPI_COMM_WORLD);
    const double diff = max_distance(serial, parallel);
    std::printf("  [%s] max |s_1rank - s_2ranks| after 1000 steps: %.2e\n",
                thermostat.empty() ? "T = 0" : "T = 50 K", diff);
    EXPECT_LE(diff, 1e-10);
  }
}

// run 200 == run 100 + write_restart + clear + read_restart + run 100 (here at T > 0).
TEST(FixLLG, RestartContinuesTheSameTrajectory)
{
  const std::string restart = mlspin_test::scratch_dir() + "/llg.restart";
  const std::string fix = "fix 2 all precession/spin anisotropy 0.01 0 0 1\nfix 1 all llg alpha 0.05 temp 20 seed 77\n";
  const auto straight = spins_after(std::string(kLattice) + fix + "run 200");
  LammpsSession split;
  split.commands(std::string(kLattice) + fix + "run 100\nwrite_restart " + restart + "\nclear\nread_restart " +
                 restart);
  split.commands("pair_style spin/exchange 2.6\npair_coeff * * exchange 2.6 0.02 0.0 1.0\n"
                 "neighbor 0.3 bin\ntimestep 0.0002\n" + fix + "run 100");
  EXPECT_EQ(split.thermo("step"), 200);
  const double diff = max_distance(straight, spins_by_position(split));
  std::printf("  max |s_straight - s_restarted| at step 200: %.2e\n", diff);
  EXPECT_LE(diff, 1e-10);
}

namespace {

struct BadInput {
  const char *name;
  std::string setup;        // commands that succeed
  std::string offending;    // commands that must raise the error
  const char *message;      // expected part of the message
};

const std::string kOneSpin = kSingleSpin;

}    // namespace

class FixLLGErrors : public ::testing::TestWithParam<BadInput> {};

TEST_P(FixLLGErrors, SayWhatIsWrong)
{
  const auto &c = GetParam();
  LammpsSession lmp;
  lmp.commands(c.setup);
  const auto message = lmp.error_of(c.offending);
  EXPECT_NE(message.find(c.message), std::string::npos) << "got: " << message;
}

INSTANTIATE_TEST_SUITE_P(
    FixLLG, FixLLGErrors,
    ::testing::Values(
        BadInput{"AtomStyleWithoutSpins",
                 "units lj\natom_style atomic\nregion box block 0 5 0 5 0 5\ncreate_box 1 box\n"
                 "create_atoms 1 single 1 1 1\nmass 1 1.0",
                 "fix 1 all llg alpha 0.1", "Fix llg requires an atom style with spins"},
        BadInput{"NegativeAlpha", kOneSpin, "fix 1 all llg alpha -0.1", "Fix llg alpha must be >= 0, got -0.1"},
        BadInput{"MissingAlpha", kOneSpin, "fix 1 all llg temp 0", "Fix llg needs the damping"},
        BadInput{"NegativeTemperature", kOneSpin, "fix 1 all llg alpha 0.1 temp -3 seed 1",
                 "Fix llg temp must be >= 0, got -3"},
        BadInput{"TemperatureWithoutSeed", kOneSpin, "fix 1 all llg alpha 0.1 temp 1.5",
                 "Fix llg temp 1.5 needs a random seed"},
        BadInput{"NonPositiveSeed", kOneSpin, "fix 1 all llg alpha 0.1 temp 1 seed 0",
                 "Fix llg seed must be a positive integer, got 0"},
        BadInput{"UnknownIntegrator", kOneSpin, "fix 1 all llg alpha 0.1 integrator rk4",
                 "unknown integrator 'rk4': use sib, depondt, heun or midpoint"},
        BadInput{"UnknownForm", kOneSpin, "fix 1 all llg alpha 0.1 form landau", "unknown LLG form 'landau'"},
        BadInput{"UnknownLatticeMode", kOneSpin, "fix 1 all llg alpha 0.1 lattice fixed",
                 "Fix llg lattice must be frozen or moving, got fixed"},
        BadInput{"RemovedAnisotropyKeyword", kOneSpin, "fix 1 all llg alpha 0.1 anisotropy 1 0 0 1",
                 "Fix llg keyword anisotropy was removed: use SPIN's fix precession/spin, which has the "
                 "same convention E = -K (s.n)^2 in energy units: 'fix ID all precession/spin anisotropy K "
                 "nx ny nz'"},
        BadInput{"MissingValues", kOneSpin, "fix 1 all llg alpha 0.1 zeeman 1 0",
                 "Fix llg keyword zeeman needs 3 value(s)"},
        BadInput{"UnknownKeyword", kOneSpin, "fix 1 all llg alpha 0.1 damping 3", "Unknown fix llg keyword damping"},
        BadInput{"NewtonPairOff",
                 "units metal\natom_style spin/lattice\nnewton off\nlattice sc 2.5\n"
                 "region box block 0 4 0 4 0 4\ncreate_box 1 box\ncreate_atoms 1 box\nmass 1 1.0\n"
                 "pair_style lj/cut 2.6\npair_coeff * * 0.01 2.3",
                 "fix 1 all llg alpha 0.1\nrun 1", "Fix llg requires newton_pair on"},
        BadInput{"AnotherIntegratorOnTheSameAtoms", kOneSpin, "fix 1 all llg alpha 0.1\nfix 2 all nve\nrun 1",
                 "Fix llg 1 and fix 2 (style nve) both integrate atoms of group all"},
        BadInput{"LangevinSpinHasNoEffect", kOneSpin,
                 "fix 1 all llg alpha 0.1\nfix 2 all langevin/spin 300 0.1 123\nrun 1",
                 "fix 2 (style langevin/spin) acts only inside fix nve/spin and would have no effect"},
        BadInput{"NveSpinOnTheSameAtoms", kOneSpin, "fix 1 all llg alpha 0.1\nfix 2 all nve/spin lattice frozen\nrun 1",
                 "(style nve/spin) both integrate atoms"}),
    [](const auto &info) { return std::string(info.param.name); });

// error->one stops the rank owning the atom, so this runs on one rank only.
TEST(FixLLGErrorsSerial, ZeroSpinNamesTheAtom)
{
  if (mlspin_test::world_size() > 1) GTEST_SKIP() << "error->one is checked on one rank";
  LammpsSession lmp(MPI_COMM_SELF);
  lmp.commands(kSingleSpin);
  lmp.commands("create_atoms 1 single 7 7 7\nfix 1 all llg alpha 0.1");
  auto sp = lmp.gather("sp", 4);
  sp[4] = sp[5] = sp[6] = 0.0;    // atom 2: zero direction, set through the library
  lmp.scatter("sp", 4, sp);
  const auto message = lmp.error_of("run 1");
  EXPECT_NE(message.find("Fix llg: atom 2 has spin direction (0 0 0)"), std::string::npos) << message;
}
