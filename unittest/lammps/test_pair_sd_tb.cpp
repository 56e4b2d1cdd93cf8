// pair_style sd/tb and compute sd/tb/electrons inside LAMMPS: closed forms, fields
// against finite differences of the LAMMPS energy, known ground states, 1 vs 2 ranks,
// error messages and a short damped LLG run.
#include "lammps_session.h"

#include "force.h"
#include "lammps.h"
#include "library.h"
#include "pair.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

using mlspin_test::LammpsSession;

namespace {

struct Spin {
  double x, y, z, mag;
};

std::string fmt_spin(long id, const Spin &s)
{
  char line[256];
  std::snprintf(line, sizeof(line), "set atom %ld spin/atom %.17g %.17g %.17g %.17g", id, s.mag, s.x, s.y, s.z);
  return line;
}

void set_spins(LammpsSession &lmp, const std::vector<Spin> &spins)
{
  for (size_t k = 0; k < spins.size(); k++) lmp.command(fmt_spin(static_cast<long>(k + 1), spins[k]));
}

// L x L square lattice, spacing 1, periodic in x and y, lj units, energies not
// normalised; a 3d box open in z, so that random spins are not confined to the plane
// hbar of units lj: hplanck/(2 pi) with hplanck = 1, as in SPIN (src/core/units.h)
const double kHbarLJ = 1.0 / (2 * M_PI);

std::string square_box(int l)
{
  return "units lj\natom_style spin/lattice\nboundary p p f\nlattice sc 1.0\n"
         "region box block 0 " + std::to_string(l) + " 0 " + std::to_string(l) +
         " -0.5 0.5\ncreate_box 1 box\ncreate_atoms 1 box\nmass 1 1.0\nthermo_modify norm no\n"
         "compute fm all property/atom fmx fmy fmz\n";
}

// L x L square lattice with random spins read from a data file, so that atom IDs do not
// depend on the number of ranks (create_atoms numbers atoms per rank)
std::string square_data_box(int l, unsigned seed)
{
  const std::string path = mlspin_test::scratch_dir() + "/square" + std::to_string(l) + "_" + std::to_string(seed) + ".data";
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  if (rank == 0) {
    FILE *out = std::fopen(path.c_str(), "w");
    std::fprintf(out, "sd/tb test lattice\n\n%d atoms\n1 atom types\n\n0 %d xlo xhi\n0 %d ylo yhi\n"
                      "-0.5 0.5 zlo zhi\n\nMasses\n\n1 1.0\n\nAtoms # spin/lattice\n\n", l * l, l, l);
    unsigned state = seed;
    auto uniform = [&state]() {
      state = state * 1664525u + 1013904223u;
      return (state >> 8) / 16777216.0;
    };
    for (int k = 0; k < l * l; k++) {
      const double z = 2 * uniform() - 1, phi = 2 * M_PI * uniform(), r = std::sqrt(1 - z * z);
      std::fprintf(out, "%d 1 %d %d 0 %.17g %.17g %.17g %.17g\n", k + 1, k % l, k / l, r * std::cos(phi),
                   r * std::sin(phi), z, k == 4 ? 1.4 : 1.0);
    }
    std::fclose(out);
  }
  MPI_Barrier(MPI_COMM_WORLD);
  return "units lj\ndimension 2\natom_style spin/lattice\nboundary p p p\nread_data " + path +
      "\nthermo_modify norm no\ncompute fm all property/atom fmx fmy fmz\n";
}

// L x L triangular lattice on the rhombic torus (a1 = (1,0), a2 = (1/2, sqrt3/2)); in
// lj units the lattice scale is a density: 2/sqrt(3) gives the spacing 1
std::string triangular_box(int l)
{
  char text[1024];
  const double h = std::sqrt(3.0) / 2.0;
  std::snprintf(text, sizeof(text),
                "units lj\ndimension 2\natom_style spin/lattice\nboundary p p p\n"
                "lattice custom %.17g a1 1 0 0 a2 0.5 %.17g 0 a3 0 0 1 basis 0 0 0 origin 0.1 0.1 0\n"
                "region box prism 0 %d 0 %.17g -0.5 0.5 %.17g 0 0 units box\n"
                "create_box 1 box\ncreate_atoms 1 box\nmass 1 1.0\nthermo_modify norm no\n",
                1.0 / h, h, l, l * h, 0.5 * l);
  return text;
}

double run0_energy(LammpsSession &lmp)
{
  lmp.command("run 0 post no");
  return lmp.thermo("pe");
}

// rotation of v about the unit axis n by the angle phi
Spin rotated(const Spin &s, const double n[3], double phi)
{
  const double v[3] = {s.x, s.y, s.z};
  const double c = std::cos(phi), si = std::sin(phi), d = n[0] * v[0] + n[1] * v[1] + n[2] * v[2];
  const double cr[3] = {n[1] * v[2] - n[2] * v[1], n[2] * v[0] - n[0] * v[2], n[0] * v[1] - n[1] * v[0]};
  Spin r = s;
  r.x = v[0] * c + cr[0] * si + n[0] * d * (1 - c);
  r.y = v[1] * c + cr[1] * si + n[1] * d * (1 - c);
  r.z = v[2] * c + cr[2] * si + n[2] * d * (1 - c);
  return r;
}

std::vector<Spin> read_spins(LammpsSession &lmp)
{
  const auto sp = lmp.gather("sp", 4);
  std::vector<Spin> s(sp.size() / 4);
  for (size_t k = 0; k < s.size(); k++) s[k] = {sp[4 * k], sp[4 * k + 1], sp[4 * k + 2], sp[4 * k + 3]};
  return s;
}

std::vector<double> gather_compute(LammpsSession &lmp, const std::string &name, int count)
{
  std::vector<double> data(static_cast<size_t>(lmp.natoms()) * count);
  lammps_gather(lmp.lmp(), name.c_str(), 1, count, data.data());
  return data;
}

// fm by atom ID (this LAMMPS version does not export fm to the library interface;
// the setups define compute fm all property/atom fmx fmy fmz)
std::vector<double> gather_fm(LammpsSession &lmp)
{
  return gather_compute(lmp, "c_fm", 3);
}

}    // namespace

// ---------------------------------------------------------------------------------
// Two sites at distance 1 in an open box, one electron (filling 1/4), kT = 0, spins of
// length |S| at angle theta: with J' = J |S| the ground-state energy is
// -sqrt(J'^2 + t^2 + 2 J' t c), c = cos(theta/2), and
// fm_1 = (1/hbar) [ J'(J' + t c)/(2 r) s1 + J' t/(4 c r) (s2 - (s1.s2) s1) ].

TEST(PairSDTB, TwoSitesMatchTheClosedFormInLjAndMetalUnits)
{
  for (const std::string units : {"lj", "metal"}) {
    LammpsSession lmp;
    lmp.commands("units " + units + R"(
atom_style spin/lattice
boundary f f f
region box block -2 3 -2 2 -2 2
create_box 1 box
create_atoms 1 single 0 0 0 units box
create_atoms 1 single 1 0 0 units box
mass 1 1.0
thermo_modify norm no
compute fm all property/atom fmx fmy fmz
pair_style sd/tb hop 0.8 J 2.5 filling 0.25
pair_coeff * *
)");
    // hbar = hplanck/(2 pi) in every unit style, as in SPIN: hplanck is 1 in lj
    const double hbar = (units == "lj" ? 1.0 : 4.135667403e-3) / (2 * M_PI);
    const double t = 0.8, jp = 2.5 * 1.5;
    for (const double theta : {0.2, 1.1, 2.5}) {
      const Spin s1{0, 0, 1, 1.5}, s2{std::sin(theta), 0, std::cos(theta), 1.5};
      set_spins(lmp, {s1, s2});
      const double e = run0_energy(lmp);
      const double c = std::cos(theta / 2), r = std::sqrt(jp * jp + t * t + 2 * jp * t * c);
      EXPECT_NEAR(e, -r, 1e-12) << units << " theta " << theta;
      const double along = jp * (jp + t * c) / (2 * r), across = jp * t / (4 * c * r);
      const double s12 = std::cos(theta);
      const double expected[3] = {(along * 0 + across * (s2.x - s12 * 0)) / hbar, 0.0,
                                  (along * 1 + across * (s2.z - s12 * 1)) / hbar};
      const auto fm = gather_fm(lmp);
      for (int k = 0; k < 3; k++)
        EXPECT_NEAR(fm[k], expected[k], 1e-12 * std::fabs(expected[2])) << units << " theta " << theta << " k " << k;
      const auto f = lmp.gather("f", 3);
      for (const double v : f) EXPECT_EQ(v, 0.0);
    }
  }
}

// ---------------------------------------------------------------------------------
// fm_i = -(1/hbar) dE/ds_i: rotating s_i by phi about n changes E by
// -hbar phi fm_i.(n x s_i); changing |S_i| changes E by -(hbar/|S_i|) fm_i.s_i d|S_i|.

void check_finite_differences(const std::string &pair_style)
{
  LammpsSession lmp;
  lmp.commands(square_box(4));
  lmp.commands("set group all spin/atom/random 4781 1.0\nset atom 3 spin/atom 1.3 0 1 0\nset atom 9 spin/atom 0.7 1 0 1\n");
  lmp.commands(pair_style + "\npair_coeff * *\n");
  const auto base = read_spins(lmp);
  run0_energy(lmp);
  const auto fm = gather_fm(lmp);
  const double h = 1e-5;
  double worst = 0.0, scale = 0.0;
  for (const int atom : {0, 2, 8, 13}) {
    const Spin s = base[atom];
    const double f[3] = {fm[3 * atom], fm[3 * atom + 1], fm[3 * atom + 2]};
    scale = std::max(scale, std::sqrt(f[0] * f[0] + f[1] * f[1] + f[2] * f[2]));
    // two rotation axes perpendicular to s
    double a1[3] = {-s.y, s.x, 0.0};
    double len = std::sqrt(a1[0] * a1[0] + a1[1] * a1[1]);
    if (len < 1e-8) {
      a1[0] = 1;
      a1[1] = 0;
      len = 1;
    }
    for (double &v : a1) v /= len;
    const double a2[3] = {s.y * a1[2] - s.z * a1[1], s.z * a1[0] - s.x * a1[2], s.x * a1[1] - s.y * a1[0]};
    for (const double *n : {static_cast<const double *>(a1), a2}) {
      auto spins = base;
      spins[atom] = rotated(s, n, h);
      lmp.command(fmt_spin(atom + 1, spins[atom]));
      const double ep = run0_energy(lmp);
      spins[atom] = rotated(s, n, -h);
      lmp.command(fmt_spin(atom + 1, spins[atom]));
      const double em = run0_energy(lmp);
      lmp.command(fmt_spin(atom + 1, s));
      const double nxs[3] = {n[1] * s.z - n[2] * s.y, n[2] * s.x - n[0] * s.z, n[0] * s.y - n[1] * s.x};
      const double expected = -kHbarLJ * (f[0] * nxs[0] + f[1] * nxs[1] + f[2] * nxs[2]);
      worst = std::max(worst, std::fabs((ep - em) / (2 * h) - expected));
    }
    Spin longer = s, shorter = s;
    longer.mag += h;
    shorter.mag -= h;
    lmp.command(fmt_spin(atom + 1, longer));
    const double ep = run0_energy(lmp);
    lmp.command(fmt_spin(atom + 1, shorter));
    const double em = run0_energy(lmp);
    lmp.command(fmt_spin(atom + 1, s));
    const double expected = -kHbarLJ * (f[0] * s.x + f[1] * s.y + f[2] * s.z) / s.mag;
    worst = std::max(worst, std::fabs((ep - em) / (2 * h) - expected));
  }
  EXPECT_LT(worst / (kHbarLJ * scale), 1e-7) << pair_style;
}

TEST(PairSDTB, EDFieldsAreFiniteDifferencesOfThePotentialEnergy)
{
  check_finite_differences("pair_style sd/tb hop 1.0 0.3 J 3.0 filling 0.4 kT 0.05");
  check_finite_differences("pair_style sd/tb hop 1.0 J 2.0 mu -0.8 kT 0.1");
}

TEST(PairSDTB, KPMFieldsAreFiniteDifferencesOfThePotentialEnergy)
{
  check_finite_differences("pair_style sd/tb hop 1.0 0.3 J 3.0 filling 0.4 kT 0.05 solver kpm moments 80 vectors 3");
  check_finite_differences("pair_style sd/tb hop 1.0 J 2.0 filling 0.3 kT 0.05 solver kpm moments 60 probe 2 seed 7");
}

// ---------------------------------------------------------------------------------
// Known ground states. Reference energies per site from an independent numpy
// diagonalisation of the same finite tori (see doc/pair_sd_tb.rst).

TEST(PairSDTB, SquareLatticeAtHalfFillingPrefersNeelOrder)
{
  const int l = 12;
  LammpsSession lmp;
  lmp.commands(square_box(l));
  lmp.commands("pair_style sd/tb hop 1.0 J 8.0 filling 0.5\npair_coeff * *\n");
  const auto x = lmp.gather("x", 3);
  const int n = l * l;
  std::vector<Spin> fm(n), neel(n);
  for (int k = 0; k < n; k++) {
    const int a = static_cast<int>(std::lround(x[3 * k])), b = static_cast<int>(std::lround(x[3 * k + 1]));
    fm[k] = {0, 0, 1, 1};
    neel[k] = {0, 0, ((a + b) % 2 == 0) ? 1.0 : -1.0, 1};
  }
  set_spins(lmp, fm);
  const double e_fm = run0_energy(lmp) / n;
  set_spins(lmp, neel);
  const double e_neel = run0_energy(lmp) / n;
  std::printf("square 12x12, J=8, filling 1/2, kT=0: E/N ferro %.10f  Neel %.10f\n", e_fm, e_neel);
  EXPECT_NEAR(e_fm, -8.0, 1e-10);
  EXPECT_NEAR(e_neel, -8.241893799697657, 1e-9);
  EXPECT_LT(e_neel, e_fm - 0.2);
}

TEST(PairSDTB, TriangularLatticeAtQuarterFillingPrefersTheChiralTetrahedralState)
{
  const int l = 12;
  LammpsSession lmp;
  lmp.commands(triangular_box(l));
  ASSERT_EQ(lmp.natoms(), l * l);
  lmp.commands("pair_style sd/tb hop 1.0 J 3.0 filling 0.25\npair_coeff * *\n");
  const auto x = lmp.gather("x", 3);
  const double h = std::sqrt(3.0) / 2.0, q = 1.0 / std::sqrt(3.0);
  const int n = l * l;
  std::vector<Spin> fm(n), spiral(n), stripe(n), tetra(n);
  const double corners[4][3] = {{q, q, q}, {q, -q, -q}, {-q, q, -q}, {-q, -q, q}};
  for (int k = 0; k < n; k++) {
    const int b = static_cast<int>(std::lround(x[3 * k + 1] / h - 0.1));
    const int a = static_cast<int>(std::lround(x[3 * k] - 0.5 * (b + 0.1) - 0.1));
    const int ia = ((a % l) + l) % l, ib = ((b % l) + l) % l;
    fm[k] = {0, 0, 1, 1};
    const double angle = 2 * M_PI * (((ia - ib) % 3 + 3) % 3) / 3.0;
    spiral[k] = {std::cos(angle), std::sin(angle), 0, 1};
    stripe[k] = {0, 0, ia % 2 == 0 ? 1.0 : -1.0, 1};
    const double *c = corners[2 * (ia % 2) + ib % 2];
    tetra[k] = {c[0], c[1], c[2], 1};
  }
  double e[4];
  const std::vector<Spin> *states[4] = {&fm, &spiral, &stripe, &tetra};
  for (int s = 0; s < 4; s++) {
    set_spins(lmp, *states[s]);
    e[s] = run0_energy(lmp) / n;
  }
  std::printf("triangular 12x12, J=3, filling 1/4, kT=0: E/N ferro %.10f  120deg %.10f  stripe %.10f  "
              "tetrahedral %.10f\n",
              e[0], e[1], e[2], e[3]);
  const double reference[4] = {-2.4930197585, -2.5291795579, -2.5920464288, -2.6238913395};
  for (int s = 0; s < 4; s++) EXPECT_NEAR(e[s], reference[s], 1e-9) << "state " << s;
  for (int s = 0; s < 3; s++) EXPECT_LT(e[3], e[s] - 0.03) << "state " << s;
}

// ---------------------------------------------------------------------------------

struct Snapshot {
  double pe;
  std::vector<double> fm, electrons, site_energy;
};

// LAMMPS keeps one process-wide plugin list, so only one instance may be alive at a time
Snapshot evaluate(const std::string &setup, MPI_Comm comm)
{
  LammpsSession lmp(comm);
  lmp.commands(setup + "run 0 post no");
  return {lmp.thermo("pe"), gather_fm(lmp), gather_compute(lmp, "c_el", 4), gather_compute(lmp, "c_pe", 1)};
}

void check_rank_parity(const std::string &pair_style)
{
  const std::string setup = square_data_box(6, 91) +
      pair_style + "\npair_coeff * *\ncompute el all sd/tb/electrons\ncompute pe all pe/atom\n";
  const Snapshot a = evaluate(setup, MPI_COMM_SELF), b = evaluate(setup, MPI_COMM_WORLD);
  EXPECT_EQ(a.pe, b.pe) << pair_style;
  ASSERT_EQ(a.fm.size(), b.fm.size());
  for (size_t k = 0; k < a.fm.size(); k++) EXPECT_EQ(a.fm[k], b.fm[k]) << pair_style << " fm entry " << k;
  for (size_t k = 0; k < a.electrons.size(); k++)
    EXPECT_EQ(a.electrons[k], b.electrons[k]) << pair_style << " c_el entry " << k;
  for (size_t k = 0; k < a.site_energy.size(); k++)
    EXPECT_EQ(a.site_energy[k], b.site_energy[k]) << pair_style << " c_pe entry " << k;
}

TEST(PairSDTB, OneAndTwoRanksGiveIdenticalFields)
{
  check_rank_parity("pair_style sd/tb hop 1.0 0.2 J 4.0 filling 0.45 kT 0.05");
  check_rank_parity("pair_style sd/tb hop 1.0 0.2 J 4.0 filling 0.45 kT 0.05 solver kpm moments 50 vectors 5");
  check_rank_parity("pair_style sd/tb hop 1.0 J 4.0 mu -3 kT 0.05 solver kpm moments 50 probe 2");
}

// ---------------------------------------------------------------------------------

TEST(PairSDTB, ComputeElectronsMatchesFieldsAndEnergies)
{
  LammpsSession lmp;
  lmp.commands(square_box(6));
  lmp.commands(R"(set group all spin/atom/random 5 1.0
set atom 4 spin/atom 1.5 0 0 1
pair_style sd/tb hop 1.0 J 3.5 filling 0.45 kT 0.02
pair_coeff * *
compute el all sd/tb/electrons
compute pe all pe/atom
run 0 post no
)");
  const auto el = gather_compute(lmp, "c_el", 4);
  const auto pe = gather_compute(lmp, "c_pe", 1);
  const auto fm = gather_fm(lmp);
  const auto sp = lmp.gather("sp", 4);
  double n = 0.0, e = 0.0;
  for (int i = 0; i < 36; i++) {
    n += el[4 * i];
    e += pe[i];
    for (int k = 0; k < 3; k++) EXPECT_NEAR(fm[3 * i + k], 3.5 * sp[4 * i + 3] * el[4 * i + 1 + k] / kHbarLJ, 1e-12 / kHbarLJ);
  }
  EXPECT_NEAR(n, 2 * 36 * 0.45, 1e-10);
  EXPECT_NEAR(e, lmp.thermo("pe"), 1e-10);
}

// compute pair sd/tb gives [N_e, mu] of the last evaluation (and extract("mu") the same
// mu): with filling, N_e = 2fN and the mu that was solved for. Rerun grand canonically
// at that mu, the same spins hold the same electrons (N_e and every n_i), and the
// energy is the grand potential Omega = F - mu N_e.

TEST(PairSDTB, ComputePairGivesTheElectronNumberAndTheSolvedMu)
{
  const double filling = 0.42, n_sites = 36;
  LammpsSession lmp;
  lmp.commands(square_box(6));
  lmp.commands(R"(set group all spin/atom/random 9 1.0
pair_style sd/tb hop 1.0 J 4.0 filling 0.42 kT 0.1
pair_coeff * *
compute pp all pair sd/tb
compute el all sd/tb/electrons
variable ne equal c_pp[1]
variable mu equal c_pp[2]
thermo_style custom step pe v_ne v_mu
thermo_modify norm no
run 0 post no
)");
  const double free_energy = lmp.thermo("pe");
  const double ne = lmp.variable("ne"), mu = lmp.variable("mu");
  const auto density = lmp.gather("c_el", 4);
  EXPECT_NEAR(ne, 2 * filling * n_sites, 1e-10);
  EXPECT_LT(mu, 0.0);    // below half filling, bands symmetric about 0
  int dim = -1;
  const auto *extracted = static_cast<double *>(lmp.lmp()->force->pair->extract("mu", dim));
  ASSERT_NE(extracted, nullptr);
  EXPECT_EQ(dim, 0);
  EXPECT_EQ(*extracted, mu);

  char style[160];
  std::snprintf(style, sizeof(style), "pair_style sd/tb hop 1.0 J 4.0 mu %.17g kT 0.1\npair_coeff * *\n", mu);
  lmp.commands(style);
  lmp.command("run 0 post no");
  EXPECT_NEAR(lmp.variable("ne"), 2 * filling * n_sites, 1e-8);
  EXPECT_EQ(lmp.variable("mu"), mu);
  EXPECT_NEAR(lmp.thermo("pe"), free_energy - mu * 2 * filling * n_sites, 1e-8 * std::fabs(free_energy));
  const auto density_mu = lmp.gather("c_el", 4);
  for (size_t k = 0; k < density.size(); k += 4) EXPECT_NEAR(density_mu[k], density[k], 1e-9) << "atom " << k / 4 + 1;
}

struct Trajectory {
  std::vector<double> pe, sp;
};

Trajectory damped_run(const std::string &setup, MPI_Comm comm)
{
  LammpsSession lmp(comm);
  lmp.commands(setup);
  Trajectory t;
  t.pe.push_back(run0_energy(lmp));
  for (int block = 0; block < 10; block++) {
    lmp.command("run 2 post no");
    t.pe.push_back(lmp.thermo("pe"));
  }
  t.sp = lmp.gather("sp", 4);
  return t;
}

TEST(PairSDTB, DampedLLGLowersTheEnergyOnAnyNumberOfRanks)
{
  const std::string setup = square_data_box(6, 17) + R"(
pair_style sd/tb hop 1.0 J 4.0 filling 0.45 kT 0.05
pair_coeff * *
timestep 0.01
fix 1 all llg alpha 0.5
)";
  const Trajectory a = damped_run(setup, MPI_COMM_SELF), b = damped_run(setup, MPI_COMM_WORLD);
  for (size_t k = 1; k < a.pe.size(); k++) EXPECT_LT(a.pe[k], a.pe[k - 1]) << "after step " << 2 * k;
  for (size_t k = 0; k < a.pe.size(); k++) EXPECT_EQ(a.pe[k], b.pe[k]) << "after step " << 2 * k;
  for (size_t k = 0; k < a.sp.size(); k++) EXPECT_EQ(a.sp[k], b.sp[k]) << "sp entry " << k;
}

// ---------------------------------------------------------------------------------

struct BadInput {
  const char *setup;    // after a 4x4 square lattice
  const char *expected;
};

TEST(PairSDTB, ErrorsNameTheProblem)
{
  const std::vector<BadInput> cases = {
      {"pair_style sd/tb hop 1.0 J 2 filling 1.2", "filling must lie strictly between 0 and 1"},
      {"pair_style sd/tb hop 1.0 J 2 filling 0", "filling must lie strictly between 0 and 1"},
      {"pair_style sd/tb hop 1.0 J 2", "exactly one of 'filling f' (canonical) or 'mu m'"},
      {"pair_style sd/tb hop 1.0 J 2 filling 0.5 mu 0", "exactly one of 'filling f'"},
      {"pair_style sd/tb hop 1.0 filling 0.5", "needs the s-d coupling"},
      {"pair_style sd/tb J 1 filling 0.5", "needs the hoppings"},
      {"pair_style sd/tb hop J 1 filling 0.5", "keyword hop needs at least one number, got J"},
      {"pair_style sd/tb hop 1 J 1 filling 0.5 kT -1", "kT (electron temperature, energy units) must be >= 0, got -1"},
      {"pair_style sd/tb hop 1 J 1 filling 0.5 colour red", "Unknown pair style sd/tb keyword colour"},
      {"pair_style sd/tb hop 1 J 1 filling 0.5 solver lanczos", "solver must be ed or kpm, got lanczos"},
      {"pair_style sd/tb hop 1 J 1 filling 0.5 solver kpm vectors 4", "solver kpm needs 'moments M'"},
      {"pair_style sd/tb hop 1 J 1 filling 0.5 solver kpm moments 1 vectors 4", "moments must be an integer >= 2, got 1"},
      {"pair_style sd/tb hop 1 J 1 filling 0.5 moments 100", "keyword moments belongs to solver kpm"},
      {"pair_style sd/tb hop 1 0.5 J 1 filling 0.5 shells 1", "2 hopping(s) but 1 shell distance(s)"},
      {"pair_style sd/tb hop 1 J 1 filling 0.5\npair_coeff * * Fe", "takes 'pair_coeff * *' only"},
      {"pair_style sd/tb hop 1 J 1 filling 0.5 shells 1.3\npair_coeff * *\nrun 0",
       "no pair of sites is at the distance 1.3"},
      {"pair_style sd/tb hop 1 J 1 filling 0.5 memory 1e-6\npair_coeff * *\nrun 0",
       "solver ed: 16 sites need about 4.92e-05 GB for the exact diagonalisation of the 32x32 matrix, but only "
       "1e-06 GB are allowed by the memory keyword; use 'solver kpm"},
      {"compute el all sd/tb/electrons\npair_style zero 1.0\npair_coeff * *\nrun 0",
       "Compute sd/tb/electrons requires pair_style sd/tb"},
  };
  for (const auto &c : cases) {
    LammpsSession lmp;
    lmp.commands(square_box(4));
    const auto message = lmp.error_of(c.setup);
    EXPECT_NE(message.find(c.expected), std::string::npos) << c.setup << "\n  gave: " << message;
  }
}

TEST(PairSDTB, NoSpinsOrNoNeighboursAreErrors)
{
  {
    LammpsSession lmp;
    lmp.commands("units lj\ndimension 2\natom_style atomic\nlattice sq 1.0\nregion box block 0 2 0 2 -0.5 0.5\n"
                 "create_box 1 box\ncreate_atoms 1 box\nmass 1 1.0\n");
    const auto message = lmp.error_of("pair_style sd/tb hop 1 J 1 filling 0.5\npair_coeff * *\nrun 0");
    EXPECT_NE(message.find("requires atom attribute sp: use atom_style spin/lattice"), std::string::npos) << message;
  }
  {
    // one atom in an open box: no distance at all for the hopping
    LammpsSession lmp;
    lmp.commands("units lj\natom_style spin/lattice\nboundary f f f\nregion box block -2 2 -2 2 -2 2\n"
                 "create_box 1 box\ncreate_atoms 1 single 0 0 0\nmass 1 1.0\n");
    const auto message = lmp.error_of("pair_style sd/tb hop 1 J 1 filling 0.5\npair_coeff * *\nrun 0");
    EXPECT_NE(message.find("cannot find 1 neighbour shell(s) for the hoppings: the sites have only 0 distinct "
                           "neighbour distance(s)"),
              std::string::npos)
        << message;
  }
}
