#include "core/torch_model.h"

#include "core/error.h"
#include "core/native_lattice_model.h"

#include <ATen/Parallel.h>
#include <nlohmann/json.hpp>
#include <torch/csrc/autograd/autograd.h>
#include <torch/script.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <dlfcn.h>
#include <fstream>
#include <set>
#include <sstream>

namespace mlspin {

namespace {

using Clock = std::chrono::steady_clock;
using json = nlohmann::json;

double seconds_since(Clock::time_point start)
{
  return std::chrono::duration<double>(Clock::now() - start).count();
}

const std::set<std::string> &lammps_unit_styles()
{
  static const std::set<std::string> styles = {"lj", "real", "metal", "si", "cgs", "electron", "micro", "nano"};
  return styles;
}


std::string shape_of(const torch::Tensor &t)
{
  std::string out = "[";
  for (int64_t d = 0; d < t.dim(); d++) out += (d ? ", " : "") + std::to_string(t.size(d));
  return out + "]";
}

// true when no value is NaN or Inf (exponent bits all set); branch-free, vectorisable
bool all_finite(const double *p, size_t n)
{
  unsigned bad = 0;
  for (size_t k = 0; k < n; k++) {
    uint64_t bits;
    std::memcpy(&bits, p + k, sizeof bits);
    bad |= static_cast<unsigned>(((bits >> 52) & 0x7FF) == 0x7FF);
  }
  return bad == 0;
}

// Result tensors as float64, contiguous, without a graph
torch::Tensor as_float64(const torch::Tensor &t)
{
  return t.detach().to(torch::kFloat64).contiguous();
}

// The forward() signature of contract 1: (spin, types, edge_index, edge_vec, n_local) -> Tensor;
// contract 2 (takes_mu) appends mu: Tensor
void check_forward_signature(const torch::jit::Module &module, const std::string &file, bool takes_mu)
{
  const auto method = module.find_method("forward");
  if (!method) throw Error("model file '" + file + "' has no forward() method");
  const auto &schema = method->function().getSchema();
  const auto &args = schema.arguments();
  std::vector<std::string> want = {"Tensor", "Tensor", "Tensor", "Tensor", "int"};
  if (takes_mu) want.push_back("Tensor");
  bool ok = args.size() == want.size() + 1 && schema.returns().size() == 1 &&
      schema.returns()[0].type()->str() == "Tensor";
  for (size_t k = 0; ok && k < want.size(); k++) ok = args[k + 1].type()->str() == want[k];
  if (!ok) {
    std::string have;
    for (size_t k = 1; k < args.size(); k++)
      have += (k > 1 ? ", " : "") + args[k].name() + ": " + args[k].type()->str();
    std::string returns;
    for (const auto &r : schema.returns()) returns += (returns.empty() ? "" : ", ") + r.type()->str();
    throw Error("model file '" + file + "' has forward(" + have + ") -> " + returns + "; contract version " +
                (takes_mu ? "2" : "1") + " needs forward(spin: Tensor, types: Tensor, edge_index: Tensor, " +
                "edge_vec: Tensor, n_local: int" + (takes_mu ? ", mu: Tensor" : "") + ") -> Tensor");
  }
}

// "a number", "a string", ... for messages about a member of the wrong type
std::string json_type_name(const json &v)
{
  if (v.is_null()) return "null";
  if (v.is_boolean()) return "a boolean";
  if (v.is_number()) return "a number";
  if (v.is_string()) return "a string";
  if (v.is_array()) return "an array";
  if (v.is_object()) return "an object";
  return v.type_name();
}

// nlohmann's message without its "[json.exception.parse_error.101] " tag
std::string json_message(const json::exception &e)
{
  std::string text = e.what();
  if (!text.empty() && text[0] == '[') {
    const auto close = text.find("] ");
    if (close != std::string::npos) text.erase(0, close + 2);
  }
  return text;
}

// contract 2: "inputs": ["mu"] and "mu_range": [lo, hi], the range the model was trained for
void read_mu_metadata(const json &root, const std::string &where, ModelMetadata &meta)
{
  const auto inputs = root.find("inputs");
  if (inputs == root.end() || *inputs != json::array({"mu"}))
    throw Error(where + "declares contract version 2, which needs \"inputs\": [\"mu\"]");
  const auto range = root.find("mu_range");
  if (range == root.end() || !range->is_array() || range->size() != 2 || !(*range)[0].is_number() ||
      !(*range)[1].is_number())
    throw Error(where + "declares contract version 2, which needs \"mu_range\": [lo, hi], the chemical "
                "potentials the model was trained for");
  meta.mu_lo = (*range)[0].get<double>();
  meta.mu_hi = (*range)[1].get<double>();
  if (!(meta.mu_lo < meta.mu_hi) || !std::isfinite(meta.mu_lo) || !std::isfinite(meta.mu_hi))
    throw Error(where + "\"mu_range\" must be [lo, hi] with finite lo < hi");
  meta.takes_mu = true;
}

ModelMetadata metadata_from_json(const json &root, const std::string &where)
{
  if (!root.is_object()) throw Error(where + "must hold a JSON object");

  // the member `key`, which must exist and pass `is_type` (json::is_number, ...)
  auto member = [&](const char *key, bool (json::*is_type)() const noexcept, const char *what) -> const json & {
    const auto it = root.find(key);
    if (it == root.end()) throw Error(where + "has no \"" + key + "\" (" + what + ")");
    if (!((*it).*is_type)())
      throw Error(where + "\"" + key + "\" is " + json_type_name(*it) + ", expected " + what);
    return *it;
  };

  ModelMetadata meta;
  const double contract = member("contract", &json::is_number, "the contract version, an integer").get<double>();
  if (contract != std::floor(contract) || std::fabs(contract) > 1e6)
    throw Error(where + "\"contract\" must be an integer, got " + std::to_string(contract));
  meta.contract = static_cast<int>(contract);
  if (meta.contract != kModelContractVersion && meta.contract != kModelContractMuVersion)
    throw Error(where + "declares contract version " + std::to_string(meta.contract) +
                "; this pair style implements contract versions " + std::to_string(kModelContractVersion) +
                " and " + std::to_string(kModelContractMuVersion));
  if (meta.contract == kModelContractMuVersion) read_mu_metadata(root, where, meta);

  meta.cutoff = member("cutoff", &json::is_number, "a positive distance").get<double>();
  if (!(meta.cutoff > 0.0) || !std::isfinite(meta.cutoff))
    throw Error(where + "\"cutoff\" must be a positive finite distance, got " + std::to_string(meta.cutoff));

  for (const auto &item : member("species", &json::is_array, "a list of species names")) {
    const std::string name = item.is_string() ? item.get<std::string>() : std::string();
    if (name.empty() || name == "NULL" || name.find_first_of(" \t\n") != std::string::npos)
      throw Error(where + "\"species\" must list non-empty names without spaces (and not NULL)");
    if (std::find(meta.species.begin(), meta.species.end(), name) != meta.species.end())
      throw Error(where + "\"species\" lists '" + name + "' twice");
    meta.species.push_back(name);
  }
  if (meta.species.empty()) throw Error(where + "\"species\" is empty: a model needs at least one species");

  meta.units = member("units", &json::is_string, "a LAMMPS unit style").get<std::string>();
  if (!lammps_unit_styles().count(meta.units))
    throw Error(where + "\"units\" is '" + meta.units + "', not a LAMMPS unit style");

  meta.dtype = member("dtype", &json::is_string, "float64 or float32").get<std::string>();
  if (meta.dtype != "float64" && meta.dtype != "float32")
    throw Error(where + "\"dtype\" is '" + meta.dtype + "'; supported are float64 and float32");

  const auto d = root.find("description");
  if (d != root.end() && d->is_string()) meta.description = d->get<std::string>();
  return meta;
}

}    // namespace

/* ---------------------------------------------------------------------- */

// Every exception of the JSON library stops here, as mlspin::Error.
ModelMetadata parse_model_metadata(const std::string &json_text, const std::string &file)
{
  const std::string where = "model file '" + file + "': mlspin.json ";
  nlohmann::json root;
  try {
    root = nlohmann::json::parse(json_text);
  } catch (const nlohmann::json::exception &e) {
    throw Error(where + "is not valid JSON: " + json_message(e));
  }
  try {
    return metadata_from_json(root, where);
  } catch (const nlohmann::json::exception &e) {
    throw Error(where + "could not be read: " + json_message(e));
  }
}

std::string read_binary_file(const std::string &path)
{
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("cannot open model file '" + path + "': " + std::strerror(errno));
  std::ostringstream content;
  content << in.rdbuf();
  if (in.bad()) throw Error("cannot read model file '" + path + "'");
  return content.str();
}

/* ---------------------------------------------------------------------- */

struct TorchModel::Impl {
  std::string file;
  ModelMetadata meta;
  torch::jit::Module module;
  torch::Dtype dtype = torch::kFloat64;

  torch::Tensor energy, spin_grad, edge_grad;    // float64 results, kept for the views
  torch::Tensor mu;                 // contract 2: the 0-d mu input of the last forward()
  torch::Tensor atom_electrons;     // contract 2: float64 n_i, when requested
  // the native path (nullptr where the model has none; see native_reason)
  std::unique_ptr<NativeLatticeModel> native;
  std::string native_reason;
  bool use_native = true;
  std::vector<double> native_energy, native_spin_grad, native_edge_grad, native_electrons;
  ModelResults results;
  bool finite = true;
  ModelTimings timings;

  [[noreturn]] void fail(const std::string &what) const { throw Error("model file '" + file + "': " + what); }
  torch::Tensor forward(const ModelInputs &in, torch::Tensor &spin, torch::Tensor &edge_vec, bool edge_gradient,
                        bool spin_gradient = true);
  void backward(const torch::Tensor &energies, const torch::Tensor &spin, const torch::Tensor &edge_vec,
                bool edge_gradient);
  void convert(const ModelInputs &in, const torch::Tensor &energies, bool edge_gradient);
  void electrons(const ModelInputs &in, const torch::Tensor &energies);
  void evaluate_native(const ModelInputs &in, bool edge_gradient);
};

TorchModel::TorchModel(const std::string &bytes, const std::string &file) : impl_(new Impl)
{
  impl_->file = file;
  torch::jit::ExtraFilesMap extra{{"mlspin.json", ""}};
  try {
    std::istringstream in(bytes);
    impl_->module = torch::jit::load(in, torch::kCPU, extra);
  } catch (const c10::Error &e) {
    throw Error("cannot load model file '" + file + "' as a TorchScript archive (torch.jit.save of a " +
                "scripted module): " + e.what_without_backtrace());
  } catch (const std::exception &e) {
    throw Error("cannot load model file '" + file + "' as a TorchScript archive: " + e.what());
  }
  if (extra["mlspin.json"].empty())
    throw Error("model file '" + file + "' has no mlspin.json: save it with torch.jit.save(module, path, " +
                "_extra_files={\"mlspin.json\": json.dumps(metadata)}) (see doc/model_contract.rst)");
  impl_->meta = parse_model_metadata(extra["mlspin.json"], file);
  impl_->dtype = impl_->meta.dtype == "float32" ? torch::kFloat32 : torch::kFloat64;

  check_forward_signature(impl_->module, file, impl_->meta.takes_mu);
  impl_->module.eval();
  // gradients are taken with respect to the inputs only
  for (auto p : impl_->module.parameters()) p.set_requires_grad(false);
  impl_->native = NativeLatticeModel::create(impl_->module, extra["mlspin.json"], impl_->native_reason);
}

TorchModel::~TorchModel() = default;

std::string TorchModel::unavailable_reason()
{
  return std::string();
}

const ModelMetadata &TorchModel::metadata() const
{
  return impl_->meta;
}

const std::string &TorchModel::file() const
{
  return impl_->file;
}

/* ---------------------------------------------------------------------- */

torch::Tensor TorchModel::Impl::forward(const ModelInputs &in, torch::Tensor &spin, torch::Tensor &edge_vec,
                                        bool edge_gradient, bool spin_gradient)
{
  // views of the caller's buffers: no copy for float64 models
  const auto f64 = torch::TensorOptions().dtype(torch::kFloat64);
  const auto i64 = torch::TensorOptions().dtype(torch::kInt64);
  spin = torch::from_blob(const_cast<double *>(in.spin), {in.n_atoms, 3}, f64);
  edge_vec = torch::from_blob(const_cast<double *>(in.edge_vec), {in.n_edges, 3}, f64);
  auto types = torch::from_blob(const_cast<int64_t *>(in.types), {in.n_atoms}, i64);
  auto edge_index = torch::from_blob(const_cast<int64_t *>(in.edge_index), {2, in.n_edges}, i64);
  if (dtype != torch::kFloat64) {
    spin = spin.to(dtype);
    edge_vec = edge_vec.to(dtype);
  }
  if (spin_gradient) spin.requires_grad_(true);
  if (edge_gradient) edge_vec.requires_grad_(true);

  std::vector<torch::jit::IValue> args = {spin, types, edge_index, edge_vec, in.n_local};
  if (meta.takes_mu) {
    mu = torch::scalar_tensor(in.mu, torch::TensorOptions().dtype(dtype)).requires_grad_(true);
    args.push_back(mu);
  }
  torch::jit::IValue out;
  try {
    out = module.forward(args);
  } catch (const c10::Error &e) {
    fail(std::string("forward() failed: ") + e.what_without_backtrace());
  } catch (const std::exception &e) {
    fail(std::string("forward() failed: ") + e.what());
  }
  if (!out.isTensor()) fail("forward() returned " + out.tagKind() + ", expected a Tensor of per-atom energies");
  torch::Tensor energies = out.toTensor();
  if (energies.dim() != 1 || energies.size(0) != in.n_local)
    fail("forward() returned energies of shape " + shape_of(energies) + ", expected [n_local] = [" +
         std::to_string(in.n_local) + "]");
  if (energies.scalar_type() != dtype)
    fail(std::string("forward() returned ") + c10::toString(energies.scalar_type()) +
         " energies, but mlspin.json declares dtype " + meta.dtype);
  return energies;
}

void TorchModel::Impl::backward(const torch::Tensor &energies, const torch::Tensor &spin,
                                const torch::Tensor &edge_vec, bool edge_gradient)
{
  spin_grad = torch::Tensor();
  edge_grad = torch::Tensor();
  if (!energies.requires_grad()) return;    // energies independent of spins and geometry
  std::vector<torch::Tensor> wrt = {spin};
  if (edge_gradient) wrt.push_back(edge_vec);
  std::vector<torch::Tensor> grads;
  try {
    grads = torch::autograd::grad({energies.sum()}, wrt, {}, /*retain_graph=*/false, /*create_graph=*/false,
                                  /*allow_unused=*/true);
  } catch (const c10::Error &e) {
    fail(std::string("backward pass failed: ") + e.what_without_backtrace());
  }
  spin_grad = grads[0];
  if (edge_gradient) edge_grad = grads[1];
}

void TorchModel::Impl::convert(const ModelInputs &in, const torch::Tensor &energies, bool edge_gradient)
{
  torch::NoGradGuard no_grad;
  const auto f64 = torch::TensorOptions().dtype(torch::kFloat64);
  energy = as_float64(energies);
  spin_grad = spin_grad.defined() ? as_float64(spin_grad) : torch::zeros({in.n_atoms, 3}, f64);
  if (edge_gradient)
    edge_grad = edge_grad.defined() ? as_float64(edge_grad) : torch::zeros({in.n_edges, 3}, f64);

  results.atom_energy = energy.data_ptr<double>();
  results.spin_grad = spin_grad.data_ptr<double>();
  results.edge_grad = edge_gradient ? edge_grad.data_ptr<double>() : nullptr;
  double sum = 0.0;
  for (int64_t k = 0; k < in.n_local; k++) sum += results.atom_energy[k];
  results.energy = sum;
  finite = std::isfinite(sum) && all_finite(results.spin_grad, 3 * in.n_atoms) &&
      (!edge_gradient || all_finite(results.edge_grad, 3 * in.n_edges));
}

// The native path: results in the vectors of Impl; dE/d(edge vector) is zero
void TorchModel::Impl::evaluate_native(const ModelInputs &in, bool edge_gradient)
{
  try {
    native->evaluate(in, native_energy, native_spin_grad, meta.takes_mu ? &native_electrons : nullptr, timings);
  } catch (const Error &e) {
    fail(std::string("forward() failed: ") + e.what());
  } catch (const c10::Error &e) {
    fail(std::string("forward() failed: ") + e.what_without_backtrace());
  }
  const auto start = Clock::now();
  if (edge_gradient) native_edge_grad.assign(3 * in.n_edges, 0.0);
  results.atom_energy = native_energy.data();
  results.spin_grad = native_spin_grad.data();
  results.edge_grad = edge_gradient ? native_edge_grad.data() : nullptr;
  double sum = 0.0;
  for (int64_t k = 0; k < in.n_local; k++) sum += native_energy[k];
  results.energy = sum;
  finite = std::isfinite(sum) && all_finite(results.spin_grad, 3 * in.n_atoms);
  results.electrons = 0.0;
  results.atom_electrons = nullptr;
  if (meta.takes_mu) {
    for (int64_t k = 0; k < in.n_local; k++) results.electrons += native_electrons[k];
    if (in.atom_electrons) results.atom_electrons = native_electrons.data();
    finite = finite && std::isfinite(results.electrons);
  }
  timings.convert += seconds_since(start);
  timings.calls++;
}

const ModelResults &TorchModel::evaluate(const ModelInputs &in, bool edge_gradient)
{
  Impl &m = *impl_;
  if (in.n_atoms < in.n_local || in.n_local < 0 || in.n_edges < 0)
    m.fail("evaluate() called with inconsistent sizes");
  if (m.native && m.use_native) {
    m.evaluate_native(in, edge_gradient);
    return m.results;
  }
  auto start = Clock::now();
  torch::Tensor spin, edge_vec;
  torch::Tensor energies = m.forward(in, spin, edge_vec, edge_gradient);
  m.timings.forward += seconds_since(start);

  start = Clock::now();
  if (m.meta.takes_mu) m.electrons(in, energies);
  m.backward(energies, spin, edge_vec, edge_gradient);
  energies = energies.detach();
  m.timings.backward += seconds_since(start);

  start = Clock::now();
  m.convert(in, energies, edge_gradient);
  if (m.meta.takes_mu && !std::isfinite(m.results.electrons)) m.finite = false;
  m.timings.convert += seconds_since(start);
  m.timings.calls++;
  return m.results;
}

/* ----------------------------------------------------------------------
   contract 2: electron numbers n_i = -d omega_i/d mu. The backward passes go to mu only,
   so autograd skips the descriptor part of the graph that does not depend on mu. Per
   atom, with a scalar mu, reverse mode needs a trick: g(v) = sum_i v_i d omega_i/d mu
   is linear in v, so dg/dv_i = d omega_i/d mu (a second backward pass).
------------------------------------------------------------------------- */

void TorchModel::Impl::electrons(const ModelInputs &in, const torch::Tensor &energies)
{
  results.electrons = 0.0;
  results.atom_electrons = nullptr;
  atom_electrons = torch::Tensor();
  const auto f64 = torch::TensorOptions().dtype(torch::kFloat64);
  try {
    if (in.atom_electrons) {
      auto v = torch::ones({in.n_local}, torch::TensorOptions().dtype(dtype)).requires_grad_(true);
      auto g = energies.requires_grad()
          ? torch::autograd::grad({energies}, {mu}, {v}, /*retain_graph=*/true, /*create_graph=*/true,
                                  /*allow_unused=*/true)[0]
          : torch::Tensor();
      torch::Tensor dv;
      if (g.defined() && g.requires_grad())
        dv = torch::autograd::grad({g}, {v}, {}, /*retain_graph=*/false, /*create_graph=*/false,
                                   /*allow_unused=*/true)[0];
      atom_electrons = dv.defined() ? (-dv).detach().to(torch::kFloat64).contiguous() : torch::zeros({in.n_local}, f64);
      results.atom_electrons = atom_electrons.data_ptr<double>();
      for (int64_t k = 0; k < in.n_local; k++) results.electrons += results.atom_electrons[k];
    } else if (energies.requires_grad()) {
      auto g = torch::autograd::grad({energies.sum()}, {mu}, {}, /*retain_graph=*/true, /*create_graph=*/false,
                                     /*allow_unused=*/true)[0];
      if (g.defined()) results.electrons = -g.item<double>();
    }
  } catch (const c10::Error &e) {
    fail(std::string("electron numbers (d energy/d mu) failed: ") + e.what_without_backtrace());
  }
}

ElectronCount TorchModel::count_electrons(const ModelInputs &in)
{
  Impl &m = *impl_;
  ElectronCount count;
  if (!m.meta.takes_mu) m.fail("count_electrons() needs a contract 2 model (mu input)");
  if (in.n_atoms < in.n_local || in.n_local < 0 || in.n_edges < 0)
    m.fail("count_electrons() called with inconsistent sizes");
  if (m.native && m.use_native) {
    try {
      return m.native->count_electrons(in, m.timings);
    } catch (const Error &e) {
      m.fail(std::string("electron numbers failed: ") + e.what());
    } catch (const c10::Error &e) {
      m.fail(std::string("electron numbers failed: ") + e.what_without_backtrace());
    }
  }
  auto start = Clock::now();
  torch::Tensor spin, edge_vec;
  torch::Tensor energies = m.forward(in, spin, edge_vec, false, /*spin_gradient=*/false);
  m.timings.forward += seconds_since(start);

  // -dE/dmu, -d2E/dmu2: a backward pass to mu, and one from it
  start = Clock::now();
  double *values[2] = {&count.electrons, &count.slope};
  try {
    torch::Tensor d = energies.requires_grad() ? energies.sum() : torch::Tensor();
    for (int order = 0; order < 2 && d.defined() && d.requires_grad(); order++) {
      d = torch::autograd::grad({d}, {m.mu}, {}, /*retain_graph=*/order < 1, /*create_graph=*/order < 1,
                                /*allow_unused=*/true)[0];
      if (d.defined()) *values[order] = -d.item<double>();
    }
  } catch (const c10::Error &e) {
    m.fail(std::string("electron numbers (d energy/d mu) failed: ") + e.what_without_backtrace());
  }
  m.timings.backward += seconds_since(start);
  return count;
}

bool TorchModel::last_results_finite() const
{
  return impl_->finite;
}

void TorchModel::set_native(bool on)
{
  impl_->use_native = on;
}

bool TorchModel::native() const
{
  return impl_->native && impl_->use_native;
}

const std::string &TorchModel::native_reason() const
{
  return impl_->native_reason;
}

bool TorchModel::set_bf16(bool on, std::string &why)
{
  why.clear();
  if (!impl_->native) {
    if (on) why = "the model has no native path (" + impl_->native_reason + ")";
    return false;
  }
  return impl_->native->set_bf16(on, why);
}

const ModelTimings &TorchModel::timings() const
{
  return impl_->timings;
}

void TorchModel::reset_timings()
{
  impl_->timings = ModelTimings();
}

size_t TorchModel::memory_bytes() const
{
  size_t bytes = 0;
  for (const auto *t : {&impl_->energy, &impl_->spin_grad, &impl_->edge_grad})
    if (t->defined()) bytes += t->nbytes();
  for (const auto *v : {&impl_->native_energy, &impl_->native_spin_grad, &impl_->native_edge_grad, &impl_->native_electrons})
    bytes += v->capacity() * sizeof(double);
  return bytes;
}

// LibTorch's CPU matrix products go to the system BLAS, which has its own thread pool:
// OpenBLAS (Debian's libopenblas0-pthread) starts one thread per core regardless of
// at::set_num_threads, so several MPI ranks per node oversubscribe the cores (about 15x
// slower products when the cores are busy). Set its pool to the same count where the
// loaded BLAS is OpenBLAS; other BLAS libraries are left alone.
static void set_blas_threads(int n)
{
  for (const char *name : {"libopenblas.so.0", "libblas.so.3"}) {
    void *lib = dlopen(name, RTLD_LAZY | RTLD_NOLOAD);
    if (!lib) continue;
    auto *set = reinterpret_cast<void (*)(int)>(dlsym(lib, "openblas_set_num_threads"));
    if (set) set(n);
    dlclose(lib);
  }
}

void TorchModel::set_num_threads(int n)
{
  if (n < 1) throw Error("LibTorch needs at least one thread, got " + std::to_string(n));
  at::set_num_threads(n);
  set_blas_threads(n);
}

int TorchModel::num_threads()
{
  return at::get_num_threads();
}

}    // namespace mlspin
