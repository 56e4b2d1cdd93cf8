// TorchScript model wrapper (no LAMMPS): JSON metadata (nlohmann/json), validation of model files,
// and one evaluation against hand-computed energies and gradients.
#include "core/error.h"
#include "core/torch_model.h"

#include <gtest/gtest.h>

#include "../expect_contains.h"
#include "error_of.h"

#include <cmath>
#include <dlfcn.h>
#include <string>
#include <vector>

using namespace mlspin;

namespace {

std::string model_path(const std::string &name)
{
  return std::string(MLSPIN_TEST_MODELS) + "/" + name;
}

std::string good_metadata()
{
  return R"({"contract": 1, "cutoff": 3.5, "species": ["Fe", "Co"], "units": "metal", "dtype": "float64",
             "description": "test \u00e9\n", "metrics": {"rmse": [1e-3, 2E-4]}})";
}

// spin/exchange's J(r) of make_test_models.py: J1 per species pair, J2, J3
double exchange_j(double j1, double r)
{
  const double j2 = 0.003496, j3 = 1.4885;
  const double ra = r * r / (j3 * j3);
  return 4.0 * j1 * ra * (1.0 - j2 * ra) * std::exp(-ra);
}

double exchange_dj_dr(double j1, double r)
{
  const double j2 = 0.003496, j3 = 1.4885;
  const double ra = r * r / (j3 * j3);
  return 8.0 * j1 * r / (j3 * j3) * std::exp(-ra) * (1.0 - ra - j2 * ra * (2.0 - ra));
}

}    // namespace

/* ---------------------------------------------------------------------- */

TEST(ModelMetadata, ReadsEscapesNestedMembersAndDeepNesting)
{
  // the description's \u00e9 and \n escapes decoded, unknown (nested) members ignored
  EXPECT_EQ(parse_model_metadata(good_metadata(), "m.pt").description, "test \xc3\xa9\n");
  // deep nesting in an ignored member is read without exhausting the stack
  const int depth = 100000;
  const std::string deep = R"({"contract": 1, "cutoff": 3.5, "species": ["Fe"], "units": "metal", "dtype": "float64", "x": )" +
      std::string(depth, '[') + std::string(depth, ']') + "}";
  EXPECT_EQ(parse_model_metadata(deep, "m.pt").species, std::vector<std::string>{"Fe"});
}

TEST(ModelMetadata, InvalidJsonNamesLineColumnAndProblem)
{
  auto invalid = [](const std::string &text) { return error_of([&] { parse_model_metadata(text, "m.pt"); }); };
  const std::string prefix = "model file 'm.pt': mlspin.json is not valid JSON: ";
  EXPECT_CONTAINS(invalid("{\"a\": 1,\n \"b\": }"), prefix + "parse error at line 2, column 7");
  EXPECT_CONTAINS(invalid("{\"a\": 1} x"), "expected end of input");
  EXPECT_CONTAINS(invalid("\"abc"), "missing closing quote");
  EXPECT_CONTAINS(invalid("[01]"), "expected ']'");
  EXPECT_CONTAINS(invalid(std::string(1000, '[')), "unexpected end of input");
  EXPECT_CONTAINS(invalid("{\"cutoff\": 1e400}"), prefix + "number overflow parsing '1e400'");
  EXPECT_CONTAINS(invalid("{\"units\": \"\xff\"}"), "ill-formed UTF-8 byte");
}

/* ---------------------------------------------------------------------- */

TEST(ModelMetadata, AcceptsContractOne)
{
  const auto m = parse_model_metadata(good_metadata(), "m.pt");
  EXPECT_EQ(m.contract, 1);
  EXPECT_EQ(m.cutoff, 3.5);
  EXPECT_EQ(m.species, (std::vector<std::string>{"Fe", "Co"}));
  EXPECT_EQ(m.units, "metal");
  EXPECT_EQ(m.dtype, "float64");
  EXPECT_EQ(m.species_index("Co"), 1);
  EXPECT_EQ(m.species_index("Ni"), -1);
}

TEST(ModelMetadata, RejectsEachInvalidEntry)
{
  // the metadata of good_metadata() with one entry replaced ("" removes it)
  auto with = [](const std::string &key, const std::string &value) {
    std::vector<std::pair<std::string, std::string>> entries = {
        {"contract", "1"}, {"cutoff", "3.5"}, {"species", "[\"Fe\", \"Co\"]"},
        {"units", "\"metal\""}, {"dtype", "\"float64\""}};
    std::string text = "{";
    for (auto &kv : entries) {
      const std::string v = kv.first == key ? value : kv.second;
      if (!v.empty()) text += (text.size() > 1 ? ", \"" : "\"") + kv.first + "\": " + v;
    }
    text += "}";
    return error_of([&] { parse_model_metadata(text, "m.pt"); });
  };
  EXPECT_CONTAINS(with("contract", "3"), "model file 'm.pt': mlspin.json declares contract version 3; "
                                          "this pair style implements contract versions 1 and 2");
  EXPECT_CONTAINS(with("contract", "2"), "declares contract version 2, which needs \"inputs\": [\"mu\"]");
  EXPECT_CONTAINS(with("contract", "1.5"), "\"contract\" must be an integer");
  EXPECT_CONTAINS(with("contract", ""), "has no \"contract\"");
  EXPECT_CONTAINS(with("cutoff", "-1"), "\"cutoff\" must be a positive finite distance");
  EXPECT_CONTAINS(with("cutoff", "\"3.5\""), "\"cutoff\" is a string, expected a positive distance");
  EXPECT_CONTAINS(with("species", "\"Fe\""), "\"species\" is a string, expected a list of species names");
  EXPECT_CONTAINS(with("species", "[\"Fe\", 3]"), "\"species\" must list non-empty names");
  EXPECT_CONTAINS(with("dtype", "null"), "\"dtype\" is null, expected float64 or float32");
  EXPECT_CONTAINS(with("units", "\"furlongs\""), "\"units\" is 'furlongs', not a LAMMPS unit style");
  EXPECT_CONTAINS(with("dtype", "\"float16\""), "\"dtype\" is 'float16'; supported are float64 and float32");
  EXPECT_CONTAINS(error_of([] { parse_model_metadata("[1]", "m.pt"); }), "must hold a JSON object");
  EXPECT_CONTAINS(error_of([] { parse_model_metadata("{", "m.pt"); }), "mlspin.json is not valid JSON");
  const std::string dup = R"({"contract": 1, "cutoff": 3, "species": ["Fe", "Fe"], "units": "lj", "dtype": "float64"})";
  EXPECT_CONTAINS(error_of([&] { parse_model_metadata(dup, "m.pt"); }), "lists 'Fe' twice");
  const std::string none = R"({"contract": 1, "cutoff": 3, "species": [], "units": "lj", "dtype": "float64"})";
  EXPECT_CONTAINS(error_of([&] { parse_model_metadata(none, "m.pt"); }), "\"species\" is empty");
}

/* ---------------------------------------------------------------------- */

TEST(TorchModel, RejectsFilesThatAreNotContractModels)
{
  auto load = [](const std::string &name) {
    return error_of([&] { TorchModel(read_binary_file(model_path(name)), name); });
  };
  EXPECT_CONTAINS(error_of([] { read_binary_file("/nonexistent/model.pt"); }),
                  "cannot open model file '/nonexistent/model.pt'");
  EXPECT_CONTAINS(load("bad_not_torchscript.pt"), "cannot load model file 'bad_not_torchscript.pt' as a TorchScript");
  EXPECT_CONTAINS(load("bad_state_dict.pt"), "cannot load model file 'bad_state_dict.pt' as a TorchScript");
  EXPECT_CONTAINS(load("bad_no_json.pt"), "model file 'bad_no_json.pt' has no mlspin.json");
  EXPECT_CONTAINS(load("bad_json.pt"), "mlspin.json is not valid JSON");
  EXPECT_CONTAINS(load("bad_contract.pt"), "declares contract version 3");
  EXPECT_CONTAINS(load("bad_v2_no_range.pt"), "declares contract version 2, which needs \"mu_range\": [lo, hi]");
  EXPECT_CONTAINS(load("bad_v2_signature.pt"),
                  "contract version 2 needs forward(spin: Tensor, types: Tensor, edge_index: Tensor, edge_vec: "
                  "Tensor, n_local: int, mu: Tensor) -> Tensor");
  EXPECT_CONTAINS(load("bad_signature.pt"), "has forward(spin: Tensor, edge_vec: Tensor) -> Tensor; contract version 1 needs");
}

class HeisenbergModel : public ::testing::Test {
 protected:
  // center 0 (Fe) with neighbors 1 (Co, a ghost) and 2 (Fe, a ghost), magnitudes != 1
  std::vector<double> spin = {0.3, -1.2, 0.5, 0.9, 0.4, -0.2, -0.6, 0.8, 1.4};
  std::vector<int64_t> types = {0, 1, 0};
  std::vector<int64_t> edge_index = {0, 0, 1, 2};
  std::vector<double> edge_vec = {2.3, 0.4, -0.9, -1.1, 2.0, 1.6};
  const double j1[2][2] = {{0.0446928, 0.03}, {0.03, 0.02}};

  ModelInputs inputs()
  {
    ModelInputs in;
    in.n_atoms = 3;
    in.n_local = 1;
    in.n_edges = 2;
    in.spin = spin.data();
    in.types = types.data();
    in.edge_index = edge_index.data();
    in.edge_vec = edge_vec.data();
    return in;
  }

  void check(const ModelResults &r, double tol)
  {
    double energy = 0.0, grad0[3] = {0, 0, 0};
    for (int e = 0; e < 2; e++) {
      const int j = static_cast<int>(edge_index[2 + e]);
      const double *d = &edge_vec[3 * e];
      const double rr = std::sqrt(d[0] * d[0] + d[1] * d[1] + d[2] * d[2]);
      const double jj = exchange_j(j1[types[0]][types[j]], rr);
      double sij = 0.0;
      for (int c = 0; c < 3; c++) sij += spin[c] * spin[3 * j + c];
      energy += -0.5 * jj * sij;
      for (int c = 0; c < 3; c++) {
        grad0[c] += -0.5 * jj * spin[3 * j + c];
        EXPECT_NEAR(r.spin_grad[3 * j + c], -0.5 * jj * spin[c], tol) << "atom " << j;
        if (r.edge_grad) {
          const double g = -0.5 * exchange_dj_dr(j1[types[0]][types[j]], rr) * sij * d[c] / rr;
          EXPECT_NEAR(r.edge_grad[3 * e + c], g, tol) << "edge " << e;
        }
      }
    }
    EXPECT_NEAR(r.atom_energy[0], energy, tol);
    EXPECT_NEAR(r.energy, energy, tol);
    for (int c = 0; c < 3; c++) EXPECT_NEAR(r.spin_grad[c], grad0[c], tol);
  }
};

TEST_F(HeisenbergModel, Float64MatchesTheAnalyticGradients)
{
  TorchModel model(read_binary_file(model_path("heisenberg.pt")), "heisenberg.pt");
  EXPECT_EQ(model.metadata().species, (std::vector<std::string>{"Fe", "Co"}));
  const auto &r = model.evaluate(inputs(), true);
  EXPECT_TRUE(model.last_results_finite());
  check(r, 1e-15);
  const auto &no_edges = model.evaluate(inputs(), false);
  EXPECT_EQ(no_edges.edge_grad, nullptr);
  check(no_edges, 1e-15);
  EXPECT_EQ(model.timings().calls, 2);
  EXPECT_GT(model.memory_bytes(), 0u);
}

TEST_F(HeisenbergModel, Float32ModelGetsConvertedInputsAndReturnsFloat64)
{
  TorchModel model(read_binary_file(model_path("heisenberg_f32.pt")), "heisenberg_f32.pt");
  EXPECT_EQ(model.metadata().dtype, "float32");
  check(model.evaluate(inputs(), true), 1e-7);
}

TEST_F(HeisenbergModel, FailuresOfTheModelBecomeErrors)
{
  auto run = [&](const std::string &name) {
    return error_of([&] {
      TorchModel model(read_binary_file(model_path(name)), name);
      model.evaluate(inputs(), true);
      if (!model.last_results_finite()) throw Error("not finite");
    });
  };
  types[0] = 1;    // bad_nan.pt returns NaN energies on centers of species 1
  EXPECT_EQ(run("bad_nan.pt"), "not finite");
  EXPECT_CONTAINS(run("bad_raises.pt"), "model file 'bad_raises.pt': forward() failed:");
  EXPECT_CONTAINS(run("bad_raises.pt"), "this test model always fails");
  EXPECT_CONTAINS(run("bad_shape.pt"), "forward() returned energies of shape [], expected [n_local] = [1]");
  EXPECT_CONTAINS(run("bad_dtype_mismatch.pt"), "forward() returned Float energies, but mlspin.json declares dtype float64");
}

// LibTorch's products run in the system BLAS; when that is OpenBLAS, its own thread pool
// must follow the thread count too (one pool thread per core oversubscribes the cores of
// several MPI ranks).
// Contract 2 (canonical.pt of make_test_models.py): omega_i = -kT sum_s log(1 + e^{(mu + s J|S_i|)/kT})
// - (K0 + K1 mu)/2 sum_j S_i.S_j; n_i = sum_s sigma((mu + s J|S_i|)/kT) + K1/2 sum_j S_i.S_j
TEST(TorchModel, ContractTwoGivesElectronNumbersAndTheirSlope)
{
  const double J = 1.0, kT = 0.5, K0 = 0.3, K1 = 0.2, mu = 0.37;
  TorchModel model(read_binary_file(model_path("canonical.pt")), "canonical.pt");
  EXPECT_TRUE(model.metadata().takes_mu);
  EXPECT_EQ(model.metadata().mu_lo, -3.0);
  EXPECT_EQ(model.metadata().mu_hi, 3.0);
  // centers 0 and 1 (bonded to each other and to ghost 2), magnitudes != 1
  std::vector<double> spin = {0.3, -1.2, 0.5, 0.9, 0.4, -0.2, -0.6, 0.8, 1.4};
  std::vector<int64_t> types = {0, 0, 0};
  std::vector<int64_t> edge_index = {0, 0, 1, 1, 2, 0};
  std::vector<double> edge_vec = {1, 0, 0, 0, 1, 0, -1, 0, 0};
  ModelInputs in;
  in.n_atoms = 3;
  in.n_local = 2;
  in.n_edges = 3;
  in.spin = spin.data();
  in.types = types.data();
  in.edge_index = edge_index.data();
  in.edge_vec = edge_vec.data();
  in.mu = mu;
  in.atom_electrons = true;

  auto dot = [&](int a, int b) { return spin[3 * a] * spin[3 * b] + spin[3 * a + 1] * spin[3 * b + 1] + spin[3 * a + 2] * spin[3 * b + 2]; };
  const double bonds[2] = {dot(0, 1) + dot(0, 2), dot(1, 0)};
  double n_expected[2], omega[2], slope = 0.0;
  for (int i = 0; i < 2; i++) {
    const double level = J * std::sqrt(dot(i, i));
    n_expected[i] = 0.5 * K1 * bonds[i];
    omega[i] = -0.5 * (K0 + K1 * mu) * bonds[i];
    for (double s : {1.0, -1.0}) {
      const double x = (mu + s * level) / kT, f = 1.0 / (1.0 + std::exp(-x));
      n_expected[i] += f;
      omega[i] -= kT * std::log1p(std::exp(x));
      slope += f * (1.0 - f) / kT;
    }
  }
  const auto &r = model.evaluate(in, true);
  ASSERT_NE(r.atom_electrons, nullptr);
  for (int i = 0; i < 2; i++) {
    EXPECT_NEAR(r.atom_energy[i], omega[i], 1e-14);
    EXPECT_NEAR(r.atom_electrons[i], n_expected[i], 1e-14);
  }
  EXPECT_NEAR(r.electrons, n_expected[0] + n_expected[1], 1e-14);
  in.atom_electrons = false;
  EXPECT_NEAR(model.evaluate(in, false).electrons, n_expected[0] + n_expected[1], 1e-14);
  const auto count = model.count_electrons(in);
  EXPECT_NEAR(count.electrons, n_expected[0] + n_expected[1], 1e-14);
  EXPECT_NEAR(count.slope, slope, 1e-14);

  // a contract 1 model has no electrons
  TorchModel v1(read_binary_file(model_path("heisenberg.pt")), "heisenberg.pt");
  EXPECT_FALSE(v1.metadata().takes_mu);
  EXPECT_CONTAINS(error_of([&] { v1.count_electrons(in); }), "count_electrons() needs a contract 2 model");
}

TEST(TorchModel, ThreadCountReachesOpenBLAS)
{
  int (*get)() = nullptr;
  for (const char *name : {"libopenblas.so.0", "libblas.so.3"}) {
    void *lib = dlopen(name, RTLD_LAZY | RTLD_NOLOAD);
    if (lib && !get) get = reinterpret_cast<int (*)()>(dlsym(lib, "openblas_get_num_threads"));
  }
  if (!get) GTEST_SKIP() << "the BLAS behind LibTorch is not OpenBLAS";
  for (int n : {1, 2}) {
    TorchModel::set_num_threads(n);
    EXPECT_EQ(TorchModel::num_threads(), n);
    EXPECT_EQ(get(), n);
  }
}
