// compute mlspin/chirality and compute mlspin/order inside LAMMPS: analytic values of
// ordered states on the triangular and square lattices, an independent evaluation from
// lattice indices and global M-point signs, spin rotations and lattice translations,
// spin magnitudes, groups, 1 vs 2 ranks, fix llg runs with thermo/dump output, errors.
#include "lammps_session.h"

#include "../expect_contains.h"

#include "library.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <functional>
#include <random>
#include <string>
#include <vector>

using mlspin_test::LammpsSession;

namespace {

struct V {
  double x, y, z;
};
V operator+(V a, V b) { return {a.x + b.x, a.y + b.y, a.z + b.z}; }
V operator*(double s, V a) { return {s * a.x, s * a.y, s * a.z}; }
double dot(V a, V b) { return a.x * b.x + a.y * b.y + a.z * b.z; }
V cross(V a, V b) { return {a.y * b.z - a.z * b.y, a.z * b.x - a.x * b.z, a.x * b.y - a.y * b.x}; }
V unit(V a) { return (1.0 / std::sqrt(dot(a, a))) * a; }

int mod(int a, int m) { return ((a % m) + m) % m; }

int world_rank()
{
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  return rank;
}

const double kTetraChirality = 4.0 / (3.0 * std::sqrt(3.0));

// Spin configuration of an L x L lattice; atom ID = 1 + n1 + L n2
using SpinField = std::function<V(int, int)>;

enum class Lattice { triangular, square };

// L x L lattice in a data file written by rank 0 (so that atom IDs do not depend on the
// number of ranks), sites at (n1 + 0.1 + shift) a1 + (n2 + 0.1) a2 with spacing 1;
// `jitter` displaces every site by up to that much in x and y (a fixed pseudo-random
// pattern), `open_y` makes y non-periodic.
std::string lattice_setup(Lattice lattice, int l, double jitter = 0.0, bool open_y = false)
{
  const bool tri = lattice == Lattice::triangular;
  const double h = tri ? std::sqrt(3.0) / 2 : 1.0, tilt = tri ? 0.5 : 0.0;
  const std::string path = mlspin_test::scratch_dir() + "/" + (tri ? "tri" : "sq") + std::to_string(l) + "_" +
      std::to_string(static_cast<int>(jitter * 1000)) + (open_y ? "open" : "") + ".data";
  if (world_rank() == 0) {
    FILE *out = std::fopen(path.c_str(), "w");
    std::fprintf(out, "mlspin order test lattice\n\n%d atoms\n1 atom types\n\n0 %d xlo xhi\n%g %.17g ylo yhi\n"
                      "-0.5 0.5 zlo zhi\n%s\nMasses\n\n1 1.0\n\nAtoms # spin/lattice\n\n",
                 l * l, l, open_y ? -0.5 : 0.0, l * h + (open_y ? 0.5 : 0.0),
                 tri ? (std::to_string(0.5 * l) + " 0 0 xy xz yz\n").c_str() : "");
    std::mt19937 rng(77);
    std::uniform_real_distribution<double> shake(-jitter, jitter);
    for (int n2 = 0; n2 < l; n2++)
      for (int n1 = 0; n1 < l; n1++) {
        const double x = n1 + 0.1 + tilt * (n2 + 0.1) + shake(rng), y = h * (n2 + 0.1) + shake(rng);
        std::fprintf(out, "%d 1 %.17g %.17g 0 0 0 1 1\n", 1 + n1 + l * n2, x, y);
      }
    std::fclose(out);
  }
  MPI_Barrier(MPI_COMM_WORLD);
  return std::string("units lj\ndimension 2\natom_style spin/lattice\natom_modify map array\nboundary p ") + (open_y ? "f" : "p") +
      " p\nread_data " + path + "\n";
}

// spins by atom ID, magnitudes `magnitude(id)`
void set_spins(LammpsSession &lmp, int l, const SpinField &s, double (*magnitude)(int) = nullptr)
{
  std::vector<double> sp;
  for (int n2 = 0; n2 < l; n2++)
    for (int n1 = 0; n1 < l; n1++) {
      const V v = unit(s(n1, n2));
      sp.insert(sp.end(), {v.x, v.y, v.z, magnitude ? magnitude(1 + n1 + l * n2) : 1.0});
    }
  lmp.scatter("sp", 4, sp);
  lmp.command("run 0 post no");    // computes are evaluated afresh after a run
}

SpinField tetrahedral(V e1, V e2, V e3)
{
  return [=](int n1, int n2) {
    const double eta1 = mod(n1, 2) ? -1.0 : 1.0, eta2 = mod(n2, 2) ? -1.0 : 1.0;
    return eta1 * e1 + eta2 * e2 + (eta1 * eta2) * e3;
  };
}
const V kX{1, 0, 0}, kY{0, 1, 0}, kZ{0, 0, 1};

SpinField random_spins(int l, unsigned seed)
{
  std::mt19937 rng(seed);
  std::normal_distribution<double> g;
  std::vector<V> s(l * l);
  for (V &v : s) v = unit({g(rng), g(rng), g(rng)});
  return [s, l](int n1, int n2) { return s[mod(n1, l) + l * mod(n2, l)]; };
}

// ---- independent evaluation from lattice indices -----------------------------------
// triangular neighbours counter-clockwise (0, 60, ..., 300 degrees)
const int kRing[6][2] = {{1, 0}, {0, 1}, {-1, 1}, {-1, 0}, {0, -1}, {1, -1}};

double reference_chirality(const SpinField &s, int n1, int n2)
{
  const V c = unit(s(n1, n2));
  double sum = 0.0;
  for (int k = 0; k < 6; k++) {
    const V a = unit(s(n1 + kRing[k][0], n2 + kRing[k][1]));
    const V b = unit(s(n1 + kRing[(k + 1) % 6][0], n2 + kRing[(k + 1) % 6][1]));
    sum += dot(c, cross(a, b));
  }
  return sum / 6;
}

// with the global M-point signs eta_1 = (-1)^n1, eta_2 = (-1)^n2, eta_3 = (-1)^(n1+n2):
// Delta_a = (1/4) eta_a(i) S_i + (1/8) sum_j eta_a(j) S_j. The compute labels the M
// points by bond directions counter-clockwise (a1, a2, a2 - a1), i.e. eta_2, eta_1,
// eta_3: an odd permutation, hence the minus sign of the triple product.
std::vector<double> reference_order(const SpinField &s, int n1, int n2)
{
  auto eta = [](int a, int m1, int m2) {
    const int e = a == 0 ? m1 : (a == 1 ? m2 : m1 + m2);
    return mod(e, 2) ? -1.0 : 1.0;
  };
  V delta[3], uniform = 0.25 * unit(s(n1, n2));
  for (int a = 0; a < 3; a++) delta[a] = (0.25 * eta(a, n1, n2)) * unit(s(n1, n2));
  for (const auto &o : kRing) {
    const int m1 = n1 + o[0], m2 = n2 + o[1];
    for (int a = 0; a < 3; a++) delta[a] = delta[a] + (0.125 * eta(a, m1, m2)) * unit(s(m1, m2));
    uniform = uniform + 0.125 * unit(s(m1, m2));
  }
  return {dot(delta[0], delta[0]) + dot(delta[1], delta[1]) + dot(delta[2], delta[2]),
          -3 * std::sqrt(3.0) * dot(delta[0], cross(delta[1], delta[2])), std::sqrt(dot(uniform, uniform))};
}

// without a pair style, ghost atoms must be asked for
const std::string kGhostRange = "comm_modify cutoff 2.0\n";

const char *kTriangularComputes = "compute chi all mlspin/chirality\ncompute ord all mlspin/order triangular\n";

struct Values {
  std::vector<double> chi, ord;
};

Values triangular_values(LammpsSession &lmp)
{
  return {lmp.gather("c_chi", 1), lmp.gather("c_ord", 3)};
}

}    // namespace

// ---------------------------------------------------------------------------------

TEST(ComputeMLSpinOrder, TriangularOrderedStatesHaveTheAnalyticValues)
{
  const int l = 6, n = l * l;
  LammpsSession lmp;
  lmp.commands(lattice_setup(Lattice::triangular, l) + kGhostRange + kTriangularComputes);
  struct Case {
    const char *name;
    SpinField spin;
    double chi, m_point, tetra, uniform;
  };
  // derived in doc/compute_mlspin_order.rst; e1, e2, e3 right-handed: negative chirality
  const Case cases[] = {
      {"tetrahedral", tetrahedral(kX, kY, kZ), -kTetraChirality, 1.0, -1.0, 0.0},
      {"tetrahedral, e1 <-> e2", tetrahedral(kY, kX, kZ), kTetraChirality, 1.0, 1.0, 0.0},
      {"ferro", [](int, int) { return V{0.3, -0.4, 0.5}; }, 0.0, 0.0, 0.0, 1.0},
      {"stripe", [](int n1, int) { return (mod(n1, 2) ? -1.0 : 1.0) * V{0.1, 0.7, 0.2}; }, 0.0, 1.0, 0.0, 0.0},
      {"120 degrees",
       [](int n1, int n2) {
         const double angle = 2 * M_PI * mod(n1 - n2, 3) / 3;
         return V{std::cos(angle), std::sin(angle), 0.0};
       },
       0.0, 27.0 / 64.0, 0.0, 1.0 / 8.0}};
  for (const Case &c : cases) {
    set_spins(lmp, l, c.spin);
    const Values v = triangular_values(lmp);
    for (int i = 0; i < n; i++) {
      EXPECT_NEAR(v.chi[i], c.chi, 1e-12) << c.name << " atom " << i + 1;
      EXPECT_NEAR(v.ord[3 * i], c.m_point, 1e-12) << c.name << " atom " << i + 1;
      EXPECT_NEAR(v.ord[3 * i + 1], c.tetra, 1e-12) << c.name << " atom " << i + 1;
      EXPECT_NEAR(v.ord[3 * i + 2], c.uniform, 1e-12) << c.name << " atom " << i + 1;
    }
  }
}

TEST(ComputeMLSpinOrder, RandomSpinsMatchAnIndependentEvaluationAndIgnoreMagnitudes)
{
  const int l = 6;
  LammpsSession lmp;
  lmp.commands(lattice_setup(Lattice::triangular, l, 0.06) + kGhostRange + kTriangularComputes);
  const SpinField s = random_spins(l, 11);
  set_spins(lmp, l, s, [](int id) { return 0.5 + 0.05 * id; });
  const Values v = triangular_values(lmp);
  double largest = 0.0;
  for (int n2 = 0; n2 < l; n2++)
    for (int n1 = 0; n1 < l; n1++) {
      const int i = n1 + l * n2;
      EXPECT_NEAR(v.chi[i], reference_chirality(s, n1, n2), 1e-12) << "atom " << i + 1;
      const auto ref = reference_order(s, n1, n2);
      for (int k = 0; k < 3; k++) EXPECT_NEAR(v.ord[3 * i + k], ref[k], 1e-12) << "atom " << i + 1 << " column " << k + 1;
      largest = std::max(largest, std::fabs(v.ord[3 * i + 1]));
    }
  EXPECT_GT(largest, 0.05);    // random spins have some tetrahedral order: not a 0 == 0 check
}

TEST(ComputeMLSpinOrder, SpinRotationsAndLatticeTranslationsChangeNothing)
{
  const int l = 6;
  LammpsSession lmp;
  lmp.commands(lattice_setup(Lattice::triangular, l) + kGhostRange + kTriangularComputes + "compute sq all mlspin/order square cutoff 1.1\n");
  const SpinField s = random_spins(l, 5);
  set_spins(lmp, l, s);
  const Values base = triangular_values(lmp);

  // rotation by 1.9 rad about an oblique axis
  const V axis = unit({0.4, 1.0, -0.6});
  const SpinField rotated = [&](int n1, int n2) {
    const V v = s(n1, n2);
    const double c = std::cos(1.9), si = std::sin(1.9);
    return c * v + si * cross(axis, v) + ((1 - c) * dot(axis, v)) * axis;
  };
  set_spins(lmp, l, rotated);
  const Values r = triangular_values(lmp);
  for (size_t k = 0; k < base.chi.size(); k++) EXPECT_NEAR(r.chi[k], base.chi[k], 1e-12);
  for (size_t k = 0; k < base.ord.size(); k++) EXPECT_NEAR(r.ord[k], base.ord[k], 1e-12);

  // translations by a1 and by a2: the value at a site is the old value one site back
  for (const auto &shift : {std::make_pair(1, 0), std::make_pair(0, 1)}) {
    set_spins(lmp, l, [&](int n1, int n2) { return s(n1 - shift.first, n2 - shift.second); });
    const Values t = triangular_values(lmp);
    for (int n2 = 0; n2 < l; n2++)
      for (int n1 = 0; n1 < l; n1++) {
        const int i = n1 + l * n2, from = mod(n1 - shift.first, l) + l * mod(n2 - shift.second, l);
        EXPECT_NEAR(t.chi[i], base.chi[from], 1e-12);
        for (int k = 0; k < 3; k++) EXPECT_NEAR(t.ord[3 * i + k], base.ord[3 * from + k], 1e-12);
      }
  }
}

TEST(ComputeMLSpinOrder, SquareLatticeNeelAndFerroOrder)
{
  const int l = 6, n = l * l;
  LammpsSession lmp;
  lmp.commands(lattice_setup(Lattice::square, l) + kGhostRange + "compute sq all mlspin/order square\n");
  const V d = unit({0.3, 0.5, -0.8});
  struct Case {
    const char *name;
    SpinField spin;
    double neel, ferro;
  };
  const Case cases[] = {
      {"neel", [&](int n1, int n2) { return (mod(n1 + n2, 2) ? -1.0 : 1.0) * d; }, 1.0, 0.0},
      {"ferro", [&](int, int) { return d; }, 0.0, 1.0},
      {"stripe", [&](int, int n2) { return (mod(n2, 2) ? -1.0 : 1.0) * d; }, 0.5, 0.5}};
  for (const Case &c : cases) {
    set_spins(lmp, l, c.spin);
    const auto v = lmp.gather("c_sq", 2);
    for (int i = 0; i < n; i++) {
      EXPECT_NEAR(v[2 * i], c.neel, 1e-12) << c.name << " atom " << i + 1;
      EXPECT_NEAR(v[2 * i + 1], c.ferro, 1e-12) << c.name << " atom " << i + 1;
    }
  }
  // random spins: translation by one site, against |S_i/2 -+ (1/8) sum_j S_j|
  const SpinField s = random_spins(l, 3);
  set_spins(lmp, l, s);
  const auto base = lmp.gather("c_sq", 2);
  set_spins(lmp, l, [&](int n1, int n2) { return s(n1 - 1, n2); });
  const auto shifted = lmp.gather("c_sq", 2);
  for (int n2 = 0; n2 < l; n2++)
    for (int n1 = 0; n1 < l; n1++) {
      const int i = n1 + l * n2;
      V sum{0, 0, 0};
      for (const auto &o : {std::make_pair(1, 0), std::make_pair(-1, 0), std::make_pair(0, 1), std::make_pair(0, -1)})
        sum = sum + unit(s(n1 + o.first, n2 + o.second));
      const V neel = 0.5 * unit(s(n1, n2)) + (-0.125) * sum, ferro = 0.5 * unit(s(n1, n2)) + 0.125 * sum;
      EXPECT_NEAR(base[2 * i], std::sqrt(dot(neel, neel)), 1e-12);
      EXPECT_NEAR(base[2 * i + 1], std::sqrt(dot(ferro, ferro)), 1e-12);
      const int from = mod(n1 - 1, l) + l * n2;
      EXPECT_NEAR(shifted[2 * i], base[2 * from], 1e-12);
      EXPECT_NEAR(shifted[2 * i + 1], base[2 * from + 1], 1e-12);
    }
}

TEST(ComputeMLSpinOrder, SpinPackageAtomStyleGivesTheSameValues)
{
  const int l = 6;
  std::string spin_setup = lattice_setup(Lattice::triangular, l, 0.03);
  const Values reference = [&] {
    LammpsSession lmp;
    lmp.commands(spin_setup + kGhostRange + kTriangularComputes);
    set_spins(lmp, l, random_spins(l, 4));
    return triangular_values(lmp);
  }();
  spin_setup.replace(spin_setup.find("atom_style spin/lattice"), 23, "atom_style spin");
  LammpsSession lmp;
  lmp.commands(spin_setup + kGhostRange + kTriangularComputes);
  set_spins(lmp, l, random_spins(l, 4));
  const Values v = triangular_values(lmp);
  ASSERT_EQ(v.chi.size(), reference.chi.size());
  for (size_t k = 0; k < v.chi.size(); k++) EXPECT_EQ(v.chi[k], reference.chi[k]);
  for (size_t k = 0; k < v.ord.size(); k++) EXPECT_EQ(v.ord[k], reference.ord[k]);
}

TEST(ComputeMLSpinOrder, GroupSelectsTheSitesNotTheNeighbours)
{
  const int l = 6;
  LammpsSession lmp;
  lmp.commands(lattice_setup(Lattice::triangular, l) + kGhostRange + kTriangularComputes +
               "group half id 1:18\ncompute chih half mlspin/chirality\ncompute ordh half mlspin/order triangular\n");
  set_spins(lmp, l, random_spins(l, 8));
  const Values all = triangular_values(lmp);
  const auto chi = lmp.gather("c_chih", 1), ord = lmp.gather("c_ordh", 3);
  for (int i = 0; i < l * l; i++) {
    EXPECT_EQ(chi[i], i < 18 ? all.chi[i] : 0.0) << "atom " << i + 1;
    for (int k = 0; k < 3; k++) EXPECT_EQ(ord[3 * i + k], i < 18 ? all.ord[3 * i + k] : 0.0);
  }
}

// Spins changed through the library interface after a run: the ghost atoms still hold
// the old spins, which the compute must not use.
TEST(ComputeMLSpinOrder, SpinsSetBetweenRunsReachTheGhostAtoms)
{
  const int l = 6;
  LammpsSession lmp;
  lmp.commands(lattice_setup(Lattice::triangular, l) + kGhostRange + kTriangularComputes);
  set_spins(lmp, l, [](int, int) { return V{0, 0, 1}; });
  std::vector<double> sp;
  const SpinField tetra = tetrahedral(kX, kY, kZ);
  for (int n2 = 0; n2 < l; n2++)
    for (int n1 = 0; n1 < l; n1++) {
      const V v = unit(tetra(n1, n2));
      sp.insert(sp.end(), {v.x, v.y, v.z, 1.0});
    }
  lmp.scatter("sp", 4, sp);    // no run: the compute is invoked by the gather below
  const Values v = triangular_values(lmp);
  for (int i = 0; i < l * l; i++) {
    EXPECT_NEAR(v.chi[i], -kTetraChirality, 1e-12) << "atom " << i + 1;
    EXPECT_NEAR(v.ord[3 * i + 1], -1.0, 1e-12) << "atom " << i + 1;
  }
}

// ---------------------------------------------------------------------------------
// 1 vs 2 ranks and fix llg runs: per-step invocation, thermo through compute reduce, dump

namespace {

struct RunResult {
  std::vector<double> chi, ord, sp;
  double chi_mean, chi_abs_mean, tetra_mean;
};

RunResult llg_run(const std::string &setup, MPI_Comm comm, const std::string &dump)
{
  const int l = 6;
  LammpsSession lmp(comm);
  // the pair cutoff plus skin (1.31) is shorter than the default nearest-neighbour cutoff
  lmp.commands(setup + "pair_style sd/tb hop 1.0 J 3.0 filling 0.25 kT 0.05\npair_coeff * *\n" + kGhostRange +
               kTriangularComputes);
  set_spins(lmp, l, random_spins(l, 21));
  lmp.commands(R"(
variable abschi atom abs(c_chi)
compute chimean all reduce ave c_chi
compute chiabs all reduce ave v_abschi
compute tetra all reduce ave c_ord[2]
variable chimean equal c_chimean
variable chiabs equal c_chiabs
variable tetra equal c_tetra
thermo_style custom step pe c_chimean c_chiabs c_tetra
thermo 5
fix 1 all llg alpha 0.1
timestep 0.02
dump 1 all custom 5 )" + dump + R"( id c_chi c_ord[1] c_ord[2] c_ord[3]
dump_modify 1 sort id format float %.17g
run 20 post no
)");
  return {lmp.gather("c_chi", 1), lmp.gather("c_ord", 3), lmp.gather("sp", 4), lmp.variable("chimean"),
          lmp.variable("chiabs"), lmp.variable("tetra")};
}

std::vector<double> last_dump_column(const std::string &path, int column, int natoms)
{
  std::vector<double> values;
  FILE *in = std::fopen(path.c_str(), "r");
  if (!in) return values;
  char line[1024];
  std::vector<std::string> lines;
  while (std::fgets(line, sizeof line, in)) lines.emplace_back(line);
  std::fclose(in);
  for (size_t k = lines.size() - natoms; k < lines.size(); k++) {
    double v[5];
    if (std::sscanf(lines[k].c_str(), "%lf %lf %lf %lf %lf", &v[0], &v[1], &v[2], &v[3], &v[4]) == 5)
      values.push_back(v[column]);
  }
  return values;
}

}    // namespace

TEST(ComputeMLSpinOrder, FixLLGRunsGiveTheSameValuesOnOneAndTwoRanks)
{
  const int l = 6, n = l * l;
  const std::string setup = lattice_setup(Lattice::triangular, l);
  const std::string dump_world = mlspin_test::scratch_dir() + "/order_world.dump";
  const RunResult serial =
      llg_run(setup, MPI_COMM_SELF, mlspin_test::scratch_dir() + "/order_self" + std::to_string(world_rank()) + ".dump");
  const RunResult parallel = llg_run(setup, MPI_COMM_WORLD, dump_world);

  // the run moved the spins, and the values at its last step belong to those spins
  const SpinField s = [&](int n1, int n2) {
    const int i = mod(n1, l) + l * mod(n2, l);
    return V{parallel.sp[4 * i], parallel.sp[4 * i + 1], parallel.sp[4 * i + 2]};
  };
  EXPECT_GT(std::fabs(parallel.sp[0] - unit(random_spins(l, 21)(0, 0)).x), 1e-4);
  double sum = 0.0, sum_abs = 0.0, sum_tetra = 0.0;
  for (int n2 = 0; n2 < l; n2++)
    for (int n1 = 0; n1 < l; n1++) {
      const int i = n1 + l * n2;
      EXPECT_NEAR(parallel.chi[i], reference_chirality(s, n1, n2), 1e-12);
      const auto ref = reference_order(s, n1, n2);
      for (int k = 0; k < 3; k++) EXPECT_NEAR(parallel.ord[3 * i + k], ref[k], 1e-12);
      sum += parallel.chi[i];
      sum_abs += std::fabs(parallel.chi[i]);
      sum_tetra += parallel.ord[3 * i + 1];
    }
  EXPECT_NEAR(parallel.chi_mean, sum / n, 1e-14);
  EXPECT_NEAR(parallel.chi_abs_mean, sum_abs / n, 1e-14);
  EXPECT_NEAR(parallel.tetra_mean, sum_tetra / n, 1e-14);
  const auto dumped = last_dump_column(dump_world, 1, n);
  ASSERT_EQ(dumped.size(), static_cast<size_t>(n));
  for (int i = 0; i < n; i++) EXPECT_EQ(dumped[i], parallel.chi[i]) << "dumped c_chi of atom " << i + 1;

  // 1 vs 2 ranks: the same trajectory to round-off, hence the same order parameters
  EXPECT_LT(mlspin_test::max_relative_difference(parallel.sp, serial.sp), 1e-10);
  EXPECT_LT(mlspin_test::max_relative_difference(parallel.chi, serial.chi), 1e-10);
  EXPECT_LT(mlspin_test::max_relative_difference(parallel.ord, serial.ord), 1e-10);
}

TEST(ComputeMLSpinOrder, SameSpinsGiveTheSameValuesOnOneAndTwoRanks)
{
  const int l = 12;
  const std::string setup = lattice_setup(Lattice::triangular, l, 0.05) + kGhostRange;
  auto evaluate = [&](MPI_Comm comm) {
    LammpsSession lmp(comm);
    lmp.commands(setup + kTriangularComputes);
    set_spins(lmp, l, random_spins(l, 99));
    return triangular_values(lmp);
  };
  const Values serial = evaluate(MPI_COMM_SELF), parallel = evaluate(MPI_COMM_WORLD);
  ASSERT_EQ(serial.chi.size(), static_cast<size_t>(l * l));
  for (size_t k = 0; k < serial.chi.size(); k++) EXPECT_NEAR(parallel.chi[k], serial.chi[k], 1e-15);
  for (size_t k = 0; k < serial.ord.size(); k++) EXPECT_NEAR(parallel.ord[k], serial.ord[k], 1e-15);
}

// ---------------------------------------------------------------------------------

TEST(ComputeMLSpinOrder, BadInputGivesClearErrors)
{
  const std::string tri = lattice_setup(Lattice::triangular, 6), sq = lattice_setup(Lattice::square, 6);
  struct Case {
    std::string setup, commands, expected;
  };
  const Case cases[] = {
      {"units lj\ndimension 2\natom_style atomic\nregion b block 0 4 0 4 -0.5 0.5\ncreate_box 1 b\n",
       "compute chi all mlspin/chirality", "needs per-atom spins: use atom_style spin/lattice"},
      {"units lj\ndimension 2\natom_style atomic\nregion b block 0 4 0 4 -0.5 0.5\ncreate_box 1 b\n",
       "compute o all mlspin/order square", "instead of atom_style atomic"},
      {tri, "compute chi all mlspin/chirality radius 1.2", "Unknown compute mlspin/chirality keyword radius"},
      {tri, "compute o all mlspin/order triangular cutof 1.2", "Unknown compute mlspin/order keyword cutof"},
      {tri, "compute o all mlspin/order", "needs a lattice after the style: triangular or square"},
      {tri, "compute o all mlspin/order kagome", "lattice must be triangular or square, got kagome"},
      {tri, "compute chi all mlspin/chirality cutoff -1", "cutoff must be a positive distance"},
      {tri, "compute chi all mlspin/chirality cutoff", "Illegal compute mlspin/chirality cutoff command: missing argument"},
      {tri, "compute o all mlspin/order square cutoff abc", "Expected floating point parameter instead of 'abc'"},
      {tri, "compute chi all mlspin/chirality\ncompute m all reduce ave c_chi\nthermo_style custom step c_m\nrun 0",
       "exceeds the ghost atom range"},
      {sq, "comm_modify cutoff 2\ncompute chi all mlspin/chirality\ncompute m all reduce ave c_chi\n"
           "thermo_style custom step c_m\nrun 0",
       "atom 1 has 8 neighbours within the cutoff"},
      {tri, "comm_modify cutoff 2\ncompute o all mlspin/order square\ncompute m all reduce ave c_o[1]\n"
            "thermo_style custom step c_m\nrun 0",
       "a site of a square lattice has 4"},
      {tri, "comm_modify cutoff 2.5\ncompute chi all mlspin/chirality cutoff 1.8\ncompute m all reduce ave c_chi\n"
            "thermo_style custom step c_m\nrun 0",
       "atom 1 has 12 neighbours within the cutoff 1.8"},
      {lattice_setup(Lattice::triangular, 6, 0.0, true),
       "comm_modify cutoff 2\ncompute o all mlspin/order square\ncompute m all reduce ave c_o[1]\n"
       "thermo_style custom step c_m\nrun 0",
       "leave an angular gap of 180.0 degrees"},
  };
  for (const Case &c : cases) {
    LammpsSession lmp;
    lmp.commands(c.setup);
    EXPECT_CONTAINS(lmp.error_of(c.commands), c.expected);
  }

  // a compute defined after the last run, read through the library interface (which
  // records the error instead of throwing it)
  LammpsSession lmp;
  lmp.commands(tri + kGhostRange + "run 0 post no\ncompute chi all mlspin/chirality\n");
  std::vector<double> chi(36);
  lammps_gather(lmp.lmp(), "c_chi", 1, 1, chi.data());
  char message[512] = "";
  ASSERT_TRUE(lammps_has_error(lmp.lmp()));
  lammps_get_last_error_message(lmp.lmp(), message, sizeof message);
  EXPECT_CONTAINS(std::string(message), "is used before a run has set it up: issue run 0");
}
