// The native path of TorchModel (native_lattice_model.h, lattice_kernel.h) against the
// model's own TorchScript forward(): energies and dE/dS on square and triangular
// patches with open borders (partially filled stencils), ghost atoms, non-unit spins,
// float64 and float32; the descriptor's errors with the same text on both paths.
#include "core/bf16_gemm.h"
#include "core/error.h"
#include "core/torch_model.h"

#include <gtest/gtest.h>

#include "../expect_contains.h"
#include "error_of.h"

#include <algorithm>
#include <array>
#include <memory>
#include <cmath>
#include <random>
#include <string>
#include <vector>

using namespace mlspin;

namespace {

struct Lattice {
  double a1[2], a2[2];
};
const Lattice kSquare{{1.0, 0.0}, {0.0, 1.0}};
const Lattice kTriangular{{1.0, 0.0}, {0.5, 0.8660254037844386}};

// Inputs of an L1 x L2 patch of the lattice (no periodic images): the centers are
// the sites with 0 < i1 < L1 - 1, the rows i1 = 0 and L1 - 1 are ghosts (atoms that
// are neighbors but no centers). Edge vectors carry a jitter well below site_tol.
struct Config {
  std::vector<double> spin, edge_vec;
  std::vector<int64_t> types, edge_index;
  int64_t n_atoms = 0, n_local = 0;

  ModelInputs inputs() const
  {
    ModelInputs in;
    in.n_atoms = n_atoms;
    in.n_local = n_local;
    in.n_edges = static_cast<int64_t>(edge_vec.size() / 3);
    in.spin = spin.data();
    in.types = types.data();
    in.edge_index = edge_index.data();
    in.edge_vec = edge_vec.data();
    return in;
  }
};

Config patch(const Lattice &lat, int L1, int L2, double cutoff, unsigned seed)
{
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> uni(-1.0, 1.0);
  std::vector<std::array<double, 2>> pos;
  std::vector<int> centers, ghosts;
  for (int i1 = 0; i1 < L1; i1++)
    for (int i2 = 0; i2 < L2; i2++) {
      ((i1 > 0 && i1 < L1 - 1) ? centers : ghosts).push_back(static_cast<int>(pos.size()));
      pos.push_back({i1 * lat.a1[0] + i2 * lat.a2[0], i1 * lat.a1[1] + i2 * lat.a2[1]});
    }
  std::vector<int> order = centers;    // model atom -> patch site: centers first
  order.insert(order.end(), ghosts.begin(), ghosts.end());

  Config c;
  c.n_atoms = static_cast<int64_t>(order.size());
  c.n_local = static_cast<int64_t>(centers.size());
  c.types.assign(c.n_atoms, 0);
  for (int64_t a = 0; a < c.n_atoms; a++) {    // random directions, magnitudes 0.7..1.3
    double v[3], norm = 0.0;
    do {
      norm = 0.0;
      for (double &x : v) {
        x = uni(rng);
        norm += x * x;
      }
    } while (norm > 1.0 || norm < 1e-2);
    const double length = 1.0 + 0.3 * uni(rng);
    for (double x : v) c.spin.push_back(x / std::sqrt(norm) * length);
  }
  std::vector<int64_t> from, to;
  for (int64_t i = 0; i < c.n_local; i++)
    for (int64_t j = 0; j < c.n_atoms; j++) {
      const double dx = pos[order[j]][0] - pos[order[i]][0], dy = pos[order[j]][1] - pos[order[i]][1];
      if (i == j || dx * dx + dy * dy >= cutoff * cutoff) continue;
      from.push_back(i);
      to.push_back(j);
      c.edge_vec.insert(c.edge_vec.end(), {dx + 1e-3 * uni(rng), dy + 1e-3 * uni(rng), 1e-3 * uni(rng)});
    }
  c.edge_index = from;
  c.edge_index.insert(c.edge_index.end(), to.begin(), to.end());
  return c;
}

struct Results {
  std::vector<double> energy, spin_grad;
};

Results evaluate(TorchModel &model, const Config &c, bool native)
{
  model.set_native(native);
  const auto &r = model.evaluate(c.inputs(), true);
  EXPECT_TRUE(model.last_results_finite());
  for (int64_t e = 0; e < 3 * static_cast<int64_t>(c.edge_vec.size() / 3); e++) EXPECT_EQ(r.edge_grad[e], 0.0);
  Results out;
  out.energy.assign(r.atom_energy, r.atom_energy + c.n_local);
  out.spin_grad.assign(r.spin_grad, r.spin_grad + 3 * c.n_atoms);
  return out;
}

double max_abs(const std::vector<double> &v)
{
  double m = 0.0;
  for (double x : v) m = std::max(m, std::fabs(x));
  return m;
}

// |a - b| <= rel * max|b| everywhere (and b not all zero: the comparison means something)
void expect_close(const std::vector<double> &a, const std::vector<double> &b, double rel, const char *what)
{
  ASSERT_EQ(a.size(), b.size()) << what;
  const double scale = max_abs(b);
  ASSERT_GT(scale, 0.0) << what;
  double worst = 0.0;
  for (size_t k = 0; k < a.size(); k++) worst = std::max(worst, std::fabs(a[k] - b[k]));
  EXPECT_LE(worst, rel * scale) << what << ": largest difference " << worst << " at scale " << scale;
}

std::string test_model(const std::string &name)
{
  return std::string(MLSPIN_TEST_MODELS) + "/" + name;
}

std::unique_ptr<TorchModel> load(const std::string &path)
{
  return std::make_unique<TorchModel>(read_binary_file(path), path);
}

// native against TorchScript: agreement to round-off (float64: 1e-12 of the scale)
void expect_native_matches_torchscript(const std::string &path, const Lattice &lat, int L1, int L2, unsigned seed,
                                       double rel = 1e-12)
{
  auto model = load(path);
  ASSERT_TRUE(model->native()) << model->native_reason();
  const Config c = patch(lat, L1, L2, model->metadata().cutoff, seed);
  ASSERT_NE(c.n_local % 4, 0) << "the patch should leave a partial block of centers";
  const Results native = evaluate(*model, c, true);
  const Results script = evaluate(*model, c, false);
  expect_close(native.energy, script.energy, rel, "energies");
  expect_close(native.spin_grad, script.spin_grad, rel, "dE/dS");
  // the ghost rows get gradients too (they are in the stencils of the centers)
  EXPECT_GT(max_abs(std::vector<double>(native.spin_grad.begin() + 3 * c.n_local, native.spin_grad.end())), 0.0);
}

// Contract 2 (the mu input) at a chemical potential: grand potentials, dE/dS, n_i, and
// the count N_e, dN_e/dmu of count_electrons()
struct MuResults {
  std::vector<double> energy, spin_grad, electrons;
  double total_electrons = 0.0;
  ElectronCount count;
};

MuResults evaluate_mu(TorchModel &model, const Config &c, double mu, bool native)
{
  model.set_native(native);
  ModelInputs in = c.inputs();
  in.mu = mu;
  in.atom_electrons = true;
  MuResults out;
  const auto &r = model.evaluate(in, false);
  EXPECT_TRUE(model.last_results_finite());
  out.energy.assign(r.atom_energy, r.atom_energy + c.n_local);
  out.spin_grad.assign(r.spin_grad, r.spin_grad + 3 * c.n_atoms);
  EXPECT_NE(r.atom_electrons, nullptr);
  if (r.atom_electrons) out.electrons.assign(r.atom_electrons, r.atom_electrons + c.n_local);
  out.total_electrons = r.electrons;
  out.count = model.count_electrons(in);
  return out;
}

void expect_near_rel(double a, double b, double rel, const char *what)
{
  ASSERT_NE(b, 0.0) << what;
  EXPECT_LE(std::fabs(a - b), rel * std::fabs(b)) << what << ": " << a << " against " << b;
}

// native against TorchScript at mu inside, below and above the standardisation centre:
// the count's N_e and dN_e/dmu by forward mode against TorchScript's backward passes
void expect_native_mu_matches_torchscript(const std::string &path, const Lattice &lat, int L1, int L2, unsigned seed,
                                          double rel = 1e-12)
{
  auto model = load(path);
  ASSERT_TRUE(model->metadata().takes_mu);
  ASSERT_TRUE(model->native()) << model->native_reason();
  const Config c = patch(lat, L1, L2, model->metadata().cutoff, seed);
  for (double mu : {-2.5, -0.5, 1.7}) {
    const MuResults script = evaluate_mu(*model, c, mu, false);
    const MuResults native = evaluate_mu(*model, c, mu, true);
    expect_close(native.energy, script.energy, rel, "grand potentials");
    expect_close(native.spin_grad, script.spin_grad, rel, "dOmega/dS");
    expect_close(native.electrons, script.electrons, rel, "n_i");
    expect_near_rel(native.total_electrons, script.total_electrons, rel, "N_e of evaluate()");
    expect_near_rel(native.count.electrons, script.count.electrons, rel, "N_e of count_electrons()");
    expect_near_rel(native.count.slope, script.count.slope, 10 * rel, "dN_e/dmu");
  }
}

// native message: "model file 'x': forward() failed: <text>"; TorchScript's ends in
// the same <text> after the interpreter's traceback
void expect_same_error(TorchModel &model, const Config &c, const std::string &expected)
{
  model.set_native(true);
  const std::string native = error_of([&] { model.evaluate(c.inputs(), false); });
  model.set_native(false);
  const std::string script = error_of([&] { model.evaluate(c.inputs(), false); });
  EXPECT_CONTAINS(native, expected);
  const std::string text = native.substr(native.find("mlspin lattice descriptor:"));
  EXPECT_CONTAINS(script, text);
}

}    // namespace

/* ---------------------------------------------------------------------- */

TEST(NativeLattice, SquareTestModelMatchesTorchScript)
{
  expect_native_matches_torchscript(test_model("lattice_square.pt"), kSquare, 9, 7, 1);
}

TEST(NativeLattice, TriangularTanhModelMatchesTorchScript)
{
  expect_native_matches_torchscript(test_model("lattice_triangular.pt"), kTriangular, 8, 9, 2);
}

TEST(NativeLattice, SoftplusAndGeluModelsMatchTorchScript)
{
  expect_native_matches_torchscript(test_model("lattice_square_softplus.pt"), kSquare, 7, 5, 3);
  expect_native_matches_torchscript(test_model("lattice_triangular_gelu.pt"), kTriangular, 7, 5, 4);
}

// the float64 files shipped beside the float32 model.pt files (the same kind of model):
// 17 x 17 = 289 centers: more than one slice of centers (272 for 1928 features)
TEST(NativeLattice, ShippedTriangularPotentialMatchesTorchScript)
{
  expect_native_matches_torchscript(std::string(MLSPIN_POTENTIALS) + "/triangular_chiral/model_float64.pt", kTriangular,
                                    19, 17, 5);
}

TEST(NativeLattice, ShippedSquarePotentialMatchesTorchScript)
{
  expect_native_matches_torchscript(std::string(MLSPIN_POTENTIALS) + "/square_double_exchange/model_float64.pt", kSquare,
                                    12, 11, 6);
}

// the shipped model.pt files are float32: native and TorchScript sum the same float32
// numbers in other orders; sums of up to 1928 features (and 128 units) of rounding
// 6e-8 each differ by at most 1928 x 6e-8 = 1.2e-4 of the scale (measured: 1e-7)
TEST(NativeLattice, ShippedFloat32PotentialsMatchTorchScript)
{
  expect_native_matches_torchscript(std::string(MLSPIN_POTENTIALS) + "/triangular_chiral/model.pt", kTriangular, 19, 17,
                                    5, 1.2e-4);
  expect_native_matches_torchscript(std::string(MLSPIN_POTENTIALS) + "/square_double_exchange/model.pt", kSquare, 12, 11,
                                    6, 1.2e-4);
}

// float32: native and TorchScript float32 each against the float64 model (same
// weights). Both evaluate sums of up to ~220 terms in float32 (the 217 features of
// the model in its first layer, the sums of the descriptor are shorter), whose
// round-off is bounded by terms x eps = 220 x 6e-8 = 1.3e-5 relative; 5e-5 leaves a
// factor 4 for the amplification by the network. A wrong row or a missing term in
// the float32 code would be O(1).
TEST(NativeLattice, Float32AgreesWithFloat64ToFloat32RoundOff)
{
  auto f64 = load(test_model("lattice_square.pt"));
  auto f32 = load(test_model("lattice_square_f32.pt"));
  ASSERT_TRUE(f32->native()) << f32->native_reason();
  const Config c = patch(kSquare, 9, 9, f64->metadata().cutoff, 7);    // 63 centers: a partial block
  ASSERT_NE(c.n_local % 16, 0);
  const Results exact = evaluate(*f64, c, true);
  const Results native = evaluate(*f32, c, true);
  const Results script = evaluate(*f32, c, false);
  expect_close(native.energy, exact.energy, 5e-5, "float32 native energies");
  expect_close(native.spin_grad, exact.spin_grad, 5e-5, "float32 native dE/dS");
  expect_close(script.energy, exact.energy, 5e-5, "float32 TorchScript energies");
  expect_close(script.spin_grad, exact.spin_grad, 5e-5, "float32 TorchScript dE/dS");
}

TEST(NativeLattice, ModelsWithoutLatticeDescriptorKeepTheTorchScriptPath)
{
  auto model = load(test_model("manybody.pt"));
  EXPECT_FALSE(model->native());
  EXPECT_CONTAINS(model->native_reason(), "lattice descriptor");
}

TEST(NativeLattice, OffLatticeEdgeIsTheSameError)
{
  auto model = load(test_model("lattice_square.pt"));
  Config c = patch(kSquare, 5, 5, model->metadata().cutoff, 8);
  c.edge_vec[3 * 4] += 0.3;
  expect_same_error(*model, c, "is not a vector of the model's square lattice (off by");
}

TEST(NativeLattice, NeighborOnItsCenterIsTheSameError)
{
  auto model = load(test_model("lattice_triangular.pt"));
  Config c = patch(kTriangular, 5, 5, model->metadata().cutoff, 9);
  for (int k = 0; k < 3; k++) c.edge_vec[3 * 2 + k] = 0.0;
  expect_same_error(*model, c, "a neighbor sits on its center (edge vector of length 0)");
}

TEST(NativeLattice, TwoNeighborsOnOneSiteIsTheSameError)
{
  auto model = load(test_model("lattice_square.pt"));
  Config c = patch(kSquare, 5, 5, model->metadata().cutoff, 10);
  // edge 1 (center 0) gets the vector of edge 0: two neighbors on one site
  for (int k = 0; k < 3; k++) c.edge_vec[3 * 1 + k] = c.edge_vec[k] + 1e-3;
  expect_same_error(*model, c, "two neighbors of one center sit on the same lattice site");
}

TEST(NativeLattice, NoCentersGiveNoEnergyAndZeroGradients)
{
  auto model = load(test_model("lattice_square.pt"));
  Config c;
  c.n_atoms = 2;
  c.spin = {0.0, 0.0, 1.0, 1.0, 0.0, 0.0};
  c.types = {0, 0};
  const auto &r = model->evaluate(c.inputs(), true);
  EXPECT_EQ(r.energy, 0.0);
  for (int k = 0; k < 6; k++) EXPECT_EQ(r.spin_grad[k], 0.0);
}

// the descriptor split over two threads (each part of the centers with its own
// gradient buffer): the same results up to the order of the sums
TEST(NativeLattice, TwoThreadsGiveTheSameResults)
{
  auto model = load(std::string(MLSPIN_POTENTIALS) + "/triangular_chiral/model_float64.pt");  // float64
  const Config c = patch(kTriangular, 14, 13, model->metadata().cutoff, 11);
  TorchModel::set_num_threads(1);
  const Results one = evaluate(*model, c, true);
  TorchModel::set_num_threads(2);
  const Results two = evaluate(*model, c, true);
  const Results script = evaluate(*model, c, false);
  TorchModel::set_num_threads(1);
  expect_close(two.energy, one.energy, 1e-12, "energies, 2 vs 1 threads");
  expect_close(two.spin_grad, one.spin_grad, 1e-12, "dE/dS, 2 vs 1 threads");
  expect_close(two.spin_grad, script.spin_grad, 1e-12, "dE/dS, 2 threads vs TorchScript");
}

// bf16 yes: the first layer from bfloat16 inputs (relative rounding 2^-9 of every weight
// and feature). Each first-layer sum then errs by at most 2^-8 of the sum of its |terms|;
// measured on the shipped models the gradients move by 1e-5 (triangular) and 1e-3
// (square) of their largest value (the later layers and the descriptor are unchanged),
// so the bound 1e-2 holds with a factor 10; a wrong row, pair or tail would be O(1).
TEST(NativeLattice, Bf16FirstLayerAgreesWithFloat32ToBf16Rounding)
{
  for (const char *name : {"/triangular_chiral/model.pt", "/square_double_exchange/model.pt"}) {
    auto model = load(std::string(MLSPIN_POTENTIALS) + name);
    ASSERT_TRUE(model->native()) << model->native_reason();
    const bool square = std::string(name).find("square") != std::string::npos;
    const Config c = patch(square ? kSquare : kTriangular, 13, 11, model->metadata().cutoff, 9);
    const Results f32 = evaluate(*model, c, true);
    std::string why;
    if (!bf16::supported()) {
      EXPECT_FALSE(model->set_bf16(true, why));
      EXPECT_NE(why.find("AVX512-BF16"), std::string::npos) << why;
      GTEST_SKIP() << "the CPU has no AVX512-BF16";
    }
    ASSERT_TRUE(model->set_bf16(true, why)) << why;
    const Results low = evaluate(*model, c, true);
    expect_close(low.energy, f32.energy, 1e-2, "bf16 energies");
    expect_close(low.spin_grad, f32.spin_grad, 1e-2, "bf16 dE/dS");
    double moved = 0.0;
    for (size_t k = 0; k < low.spin_grad.size(); k++) moved = std::max(moved, std::fabs(low.spin_grad[k] - f32.spin_grad[k]));
    EXPECT_GT(moved, 0.0) << "bf16 yes changed nothing: the bfloat16 path did not run";
    EXPECT_FALSE(model->set_bf16(false, why));
    const Results back = evaluate(*model, c, true);
    EXPECT_EQ(back.spin_grad, f32.spin_grad) << "bf16 no restores the float32 first layer";
  }
}

TEST(NativeLattice, Bf16IsRefusedForFloat64Models)
{
  auto model = load(test_model("lattice_square.pt"));
  std::string why;
  EXPECT_FALSE(model->set_bf16(true, why));
  EXPECT_NE(why.find("float64"), std::string::npos) << why;
}

/* ---------------------------------------------------------------------- */
// contract 2: models with the mu input on the native path

TEST(NativeLattice, MuModelsMatchTorchScript)
{
  expect_native_mu_matches_torchscript(test_model("lattice_square_mu.pt"), kSquare, 9, 7, 11);
  expect_native_mu_matches_torchscript(test_model("lattice_triangular_mu.pt"), kTriangular, 8, 9, 12);
  expect_native_mu_matches_torchscript(test_model("lattice_square_mu_softplus.pt"), kSquare, 7, 5, 13);
  expect_native_mu_matches_torchscript(test_model("lattice_square_mu_gelu.pt"), kSquare, 7, 5, 14);
}

TEST(NativeLattice, Float32MuModelMatchesTorchScript)
{
  expect_native_mu_matches_torchscript(test_model("lattice_square_mu_f32.pt"), kSquare, 9, 7, 15, 2e-5);
}

// dN_e/dmu of the count against a central difference of counts (step 1e-4: error of
// order h^2 times the third derivative, far below the 1e-6 bound for these networks)
TEST(NativeLattice, MuModelSlopeIsTheDerivativeOfTheCount)
{
  auto model = load(test_model("lattice_square_mu.pt"));
  const Config c = patch(kSquare, 9, 7, model->metadata().cutoff, 16);
  ModelInputs in = c.inputs();
  const double h = 1e-4;
  for (double mu : {-1.9, 0.4}) {
    in.mu = mu + h;
    const double up = model->count_electrons(in).electrons;
    in.mu = mu - h;
    const double down = model->count_electrons(in).electrons;
    in.mu = mu;
    expect_near_rel((up - down) / (2 * h), model->count_electrons(in).slope, 1e-6, "dN_e/dmu");
  }
}

// the first layer kept between calls follows the inputs: a change of one spin, then
// of the edges, after a count gives the count and evaluation of the new inputs
TEST(NativeLattice, MuModelKeptFirstLayerFollowsTheInputs)
{
  auto model = load(test_model("lattice_square_mu.pt"));
  Config c = patch(kSquare, 9, 7, model->metadata().cutoff, 17);
  const MuResults before = evaluate_mu(*model, c, 0.3, true);
  for (int d = 0; d < 3; d++) c.spin[3 * 5 + d] = -c.spin[3 * 5 + d];
  const MuResults after = evaluate_mu(*model, c, 0.3, true);
  const MuResults script = evaluate_mu(*model, c, 0.3, false);
  EXPECT_GT(std::fabs(after.count.electrons - before.count.electrons), 1e-9) << "the flipped spin changed nothing";
  expect_near_rel(after.count.electrons, script.count.electrons, 1e-12, "N_e after the change");
  expect_close(after.spin_grad, script.spin_grad, 1e-12, "dOmega/dS after the change");
  // the same spins without the last edge (a neighbour fewer for its center)
  const int64_t n_edges = static_cast<int64_t>(c.edge_vec.size() / 3);
  c.edge_index.erase(c.edge_index.begin() + 2 * n_edges - 1);
  c.edge_index.erase(c.edge_index.begin() + n_edges - 1);
  c.edge_vec.resize(3 * (n_edges - 1));
  const MuResults fewer = evaluate_mu(*model, c, 0.3, true);
  const MuResults fewer_script = evaluate_mu(*model, c, 0.3, false);
  EXPECT_GT(std::fabs(fewer.count.electrons - after.count.electrons), 1e-9) << "the dropped edge changed nothing";
  expect_near_rel(fewer.count.electrons, fewer_script.count.electrons, 1e-12, "N_e without the edge");
}

// bf16 yes with the mu input: the count and the evaluation share the bfloat16 first
// layer, so they agree to float32 round-off; both within the bf16 bound of float32
TEST(NativeLattice, Bf16MuModelCountAgreesWithItsEvaluation)
{
  auto model = load(test_model("lattice_square_mu_f32.pt"));
  const Config c = patch(kSquare, 13, 11, model->metadata().cutoff, 18);
  const MuResults f32 = evaluate_mu(*model, c, 0.6, true);
  std::string why;
  if (!model->set_bf16(true, why)) GTEST_SKIP() << why;
  const MuResults low = evaluate_mu(*model, c, 0.6, true);
  expect_near_rel(low.count.electrons, low.total_electrons, 1e-6, "count against evaluation, bf16");
  expect_close(low.electrons, f32.electrons, 1e-2, "bf16 n_i");
  expect_close(low.spin_grad, f32.spin_grad, 1e-2, "bf16 dOmega/dS");
  EXPECT_NE(low.count.electrons, f32.count.electrons) << "bf16 yes changed nothing";
}
