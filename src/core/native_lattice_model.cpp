#include "core/native_lattice_model.h"

#include "core/bf16_gemm.h"
#include "core/error.h"
#include "core/lattice_kernel.h"

#include <ATen/Parallel.h>
#include <nlohmann/json.hpp>
#include <torch/csrc/autograd/autograd.h>
#include <torch/script.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>

namespace mlspin {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start)
{
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Thrown while reading a module whose structure is not the expected one: the
// TorchScript path is used instead (never an error for the user)
struct NotRecognised {
  std::string why;
};

[[noreturn]] void not_recognised(const std::string &why)
{
  throw NotRecognised{why};
}

std::string type_name(const torch::jit::Module &m)
{
  return m.type()->name() ? m.type()->name()->qualifiedName() : std::string();
}

bool ends_with(const std::string &s, const std::string &tail)
{
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

torch::jit::IValue attribute(const torch::jit::Module &m, const std::string &name)
{
  if (!m.hasattr(name)) not_recognised("the module " + type_name(m) + " has no attribute " + name);
  return m.attr(name);
}

torch::Tensor tensor_attr(const torch::jit::Module &m, const std::string &name)
{
  const auto v = attribute(m, name);
  if (!v.isTensor()) not_recognised("attribute " + name + " is not a tensor");
  return v.toTensor().detach().cpu().contiguous();
}

std::vector<int64_t> ints(const torch::jit::Module &m, const std::string &name)
{
  const auto t = tensor_attr(m, name).to(torch::kInt64).reshape({-1});
  return std::vector<int64_t>(t.data_ptr<int64_t>(), t.data_ptr<int64_t>() + t.numel());
}

std::vector<double> doubles(const torch::jit::Module &m, const std::string &name)
{
  const auto t = tensor_attr(m, name).to(torch::kFloat64).reshape({-1});
  return std::vector<double>(t.data_ptr<double>(), t.data_ptr<double>() + t.numel());
}

int64_t int_attr(const torch::jit::Module &m, const std::string &name)
{
  const auto v = attribute(m, name);
  if (!v.isInt()) not_recognised("attribute " + name + " is not an int");
  return v.toInt();
}

double float_attr(const torch::jit::Module &m, const std::string &name)
{
  const auto v = attribute(m, name);
  if (v.isInt()) return static_cast<double>(v.toInt());    // nn.Softplus(beta=1)
  if (!v.isDouble()) not_recognised("attribute " + name + " is not a number");
  return v.toDouble();
}

std::vector<int64_t> int_list_attr(const torch::jit::Module &m, const std::string &name)
{
  const auto v = attribute(m, name);
  if (!v.isIntList()) not_recognised("attribute " + name + " is not a list of ints");
  return v.toIntVector();
}

// the tables of a LatticeDescriptor module (names of lattice_descriptor.py)
LatticeTables read_tables(const torch::jit::Module &d)
{
  if (!ends_with(type_name(d), ".LatticeDescriptor")) not_recognised("the descriptor is " + type_name(d));
  if (!attribute(d, "columns").toBool()) not_recognised("the descriptor does not compute columns");
  LatticeTables t;
  t.lattice_name = attribute(d, "lattice_name").toStringRef();
  t.n_sites = int_attr(d, "n_sites");
  t.n_features = int_attr(d, "n_features");
  t.site_tol = float_attr(d, "site_tol");
  t.to_lattice = doubles(d, "to_lattice");
  t.from_lattice = doubles(d, "from_lattice");
  t.slot_table = ints(d, "slot_table");
  t.key_weight = doubles(d, "key_weight");
  t.key_origin = int_attr(d, "key_origin");
  t.clamp = float_attr(d, "clamp");
  t.n_nb = int_attr(d, "n_nb");
  t.n_tri = int_attr(d, "n_tri");
  t.nb_rows = ints(d, "nb_rows");
  t.tri_rows = ints(d, "tri_rows");
  t.n_orbits = int_attr(d, "n_orbits");
  t.mmax = int_attr(d, "mmax");
  t.orb_rows = ints(d, "orb_rows");
  t.orb_ut = doubles(d, "orb_ut");
  t.lin_comp = ints(d, "lin_comp");
  t.f0_rows = ints(d, "f0_rows");
  t.f1_rows = ints(d, "f1_rows");
  t.ref_m0 = doubles(d, "ref_m0");
  t.ref_m1 = doubles(d, "ref_m1");
  t.n_ref = tensor_attr(d, "ref_m0").size(0);
  t.pair_j = ints(d, "pair_j");
  t.pair_k = ints(d, "pair_k");
  t.w_rows = ints(d, "w_rows");
  t.w_t = doubles(d, "w_t");
  t.n_w = int_attr(d, "n_w");
  t.z0_rows = ints(d, "z0_rows");
  t.z1_rows = ints(d, "z1_rows");
  t.group_copies = int_list_attr(d, "group_copies");
  t.group_partners = int_list_attr(d, "group_partners");
  t.n_two_dim = int_attr(d, "n_two_dim");
  t.n_copies_two = int_attr(d, "n_copies_two");
  t.n_copies_one = int_attr(d, "n_copies_one");
  t.rb_left = ints(d, "rb_left");
  t.rb_right = ints(d, "rb_right");
  t.n_rb = int_attr(d, "n_rb");
  t.cx0_a = ints(d, "cx0_a");
  t.cx0_b = ints(d, "cx0_b");
  t.cx1_a = ints(d, "cx1_a");
  t.cx1_b = ints(d, "cx1_b");
  t.n_cx = int_attr(d, "n_cx");
  t.n_cx_two = int_attr(d, "n_cx_two");
  return t;
}

enum class Activation { silu, tanh, softplus, gelu };

// the activation of the metadata, checked against the class of the module's layers
Activation activation_of(const std::string &name, const torch::jit::Module &fn)
{
  const std::string type = type_name(fn);
  if (name == "silu" && ends_with(type, ".SiLU")) return Activation::silu;
  if (name == "tanh" && ends_with(type, ".Tanh")) return Activation::tanh;
  if (name == "softplus" && ends_with(type, ".Softplus")) {
    // nn.Softplus() defaults, which mlp() uses
    if (float_attr(fn, "beta") != 1.0 || float_attr(fn, "threshold") != 20.0) not_recognised("softplus parameters");
    return Activation::softplus;
  }
  if (name == "gelu" && ends_with(type, ".GELU")) {
    if (fn.hasattr("approximate") && fn.attr("approximate").toStringRef() != "none") not_recognised("gelu approximation");
    return Activation::gelu;
  }
  not_recognised("activation '" + name + "' with layers of type " + type);
}

torch::Tensor activate(Activation a, const torch::Tensor &x)
{
  switch (a) {
    case Activation::silu: return torch::silu(x);
    case Activation::tanh: return torch::tanh(x);
    case Activation::softplus: return torch::softplus(x, 1.0, 20.0);
    case Activation::gelu: return torch::gelu(x);
  }
  return x;
}

// f'(x) and f''(x) of the activation, for derivatives in mu by forward mode
void activation_derivatives(Activation a, const torch::Tensor &x, torch::Tensor &d1, torch::Tensor &d2)
{
  switch (a) {
    case Activation::tanh: {
      const auto t = torch::tanh(x);
      d1 = 1 - t * t;
      d2 = -2 * t * d1;
      return;
    }
    case Activation::silu: {    // x sigma(x)
      const auto sg = torch::sigmoid(x);
      d1 = sg * (1 + x * (1 - sg));
      d2 = sg * (1 - sg) * (2 + x * (1 - 2 * sg));
      return;
    }
    case Activation::softplus: {    // linear above the threshold 20, as torch::softplus
      const auto sg = torch::sigmoid(x);
      const auto linear = x > 20.0;
      d1 = torch::where(linear, torch::ones_like(x), sg);
      d2 = torch::where(linear, torch::zeros_like(x), sg * (1 - sg));
      return;
    }
    case Activation::gelu: {    // x Phi(x): Phi + x phi, phi (2 - x^2)
      const auto phi = torch::exp(-0.5 * x * x) * (1.0 / std::sqrt(2.0 * M_PI));
      d1 = 0.5 * (1 + torch::erf(x * (1.0 / std::sqrt(2.0)))) + x * phi;
      d2 = phi * (2 - x * x);
      return;
    }
  }
}

struct Network {
  std::vector<torch::Tensor> weight, bias;    // in the model's dtype; layer 1 standardised and reordered
  Activation activation = Activation::silu;
  double energy_scale = 1.0, energy_shift = 0.0, magnitude_coef = 0.0;
  // contract 2 (MLSpinMuModel): the mu column of layer 1 ([H, 1]), the standardisation
  // of mu, the baseline density nbar and compressibility chi (model.py)
  bool takes_mu = false;
  torch::Tensor w_mu;
  double mu_mean = 0.0, mu_scale = 1.0, density_shift = 0.0, compressibility = 0.0;
};

double scalar_buffer(const torch::jit::Module &module, const std::string &name)
{
  const auto t = tensor_attr(module, name).to(torch::kFloat64);
  if (t.numel() != 1) not_recognised(name + " of one species");
  return t.reshape({-1})[0].item<double>();
}

// Network of MLSpinModel: nets = [Sequential(Linear, Activation, ..., Linear)]
Network read_network(const torch::jit::Module &module, const std::vector<int64_t> &order, const std::string &activation,
                     torch::Dtype dtype)
{
  Network net;
  const auto nets = attribute(module, "nets").toModule();
  std::vector<torch::jit::Module> sequentials;
  for (const auto &child : nets.children()) sequentials.push_back(child);
  if (sequentials.size() != 1) not_recognised("one species needs one net, the model has " + std::to_string(sequentials.size()));
  std::vector<torch::jit::Module> layers;
  for (const auto &child : sequentials[0].children()) layers.push_back(child);
  if (layers.size() % 2 != 1) not_recognised("the net is not Linear, (Activation, Linear)*");
  for (size_t k = 0; k < layers.size(); k++) {
    const auto &layer = layers[k];
    if (k % 2 == 0) {
      if (!ends_with(type_name(layer), ".Linear")) not_recognised("layer " + std::to_string(k) + " is " + type_name(layer));
      net.weight.push_back(tensor_attr(layer, "weight").to(torch::kFloat64));
      net.bias.push_back(tensor_attr(layer, "bias").to(torch::kFloat64));
    } else {
      if (!ends_with(type_name(layer), ".Activation")) not_recognised("layer " + std::to_string(k) + " is " + type_name(layer));
      const auto fn = attribute(layer, "fn").toModule();
      const Activation a = activation_of(activation, fn);
      if (k > 1 && a != net.activation) not_recognised("mixed activations");
      net.activation = a;
    }
  }
  const int64_t n_feat = static_cast<int64_t>(order.size());
  const auto mean = tensor_attr(module, "feature_mean").to(torch::kFloat64);
  const auto scale = tensor_attr(module, "feature_scale").to(torch::kFloat64);
  auto &w1 = net.weight[0];
  // files written before contract 2 have no takes_mu attribute
  net.takes_mu = module.hasattr("takes_mu") && attribute(module, "takes_mu").toBool();
  const int64_t n_in = n_feat + (net.takes_mu ? 1 : 0);    // mu: the last input
  if (w1.dim() != 2 || w1.size(1) != n_in || mean.numel() != n_feat || scale.numel() != n_feat)
    not_recognised("the first layer or the feature statistics do not match the descriptor");
  if (net.takes_mu) {
    net.w_mu = w1.narrow(1, n_feat, 1).clone();
    w1 = w1.narrow(1, 0, n_feat);
    net.mu_mean = scalar_buffer(module, "mu_mean");
    net.mu_scale = scalar_buffer(module, "mu_scale");
    net.density_shift = scalar_buffer(module, "density_shift");
    net.compressibility = scalar_buffer(module, "compressibility");
  }
  if (net.weight.back().size(0) != 1) not_recognised("the last layer has more than one output");
  // W (x - m) / s + b over features in column_order: columns picked and divided once
  const auto idx = torch::tensor(order, torch::kInt64);
  const auto s = scale.index_select(0, idx), m = mean.index_select(0, idx);
  w1 = w1.index_select(1, idx) / s.unsqueeze(0);
  net.bias[0] = net.bias[0] - torch::mv(w1, m);
  for (auto &w : net.weight) w = w.to(dtype).contiguous();
  for (auto &b : net.bias) b = b.to(dtype).unsqueeze(1).contiguous();
  if (net.takes_mu) net.w_mu = net.w_mu.to(dtype).contiguous();

  const auto shift = tensor_attr(module, "energy_shift").to(torch::kFloat64);
  const auto coef = tensor_attr(module, "magnitude_coef").to(torch::kFloat64);
  const auto escale = tensor_attr(module, "energy_scale").to(torch::kFloat64);
  if (shift.numel() != 1 || coef.numel() != 1 || escale.numel() != 1) not_recognised("energy parameters of one species");
  net.energy_shift = shift.item<double>();
  net.magnitude_coef = coef.item<double>();
  net.energy_scale = escale.item<double>();
  return net;
}

template <typename T> class NativeLattice : public NativeLatticeModel {
 public:
  NativeLattice(const LatticeTables &tables, Network net, torch::Dtype dtype)
      : kernel_(tables), net_(std::move(net)), dtype_(dtype)
  {
  }

  void evaluate(const ModelInputs &in, std::vector<double> &energy, std::vector<double> &spin_grad,
                std::vector<double> *electrons, ModelTimings &timings) override
  {
    if (net_.takes_mu) {
      if (!electrons) throw Error("mlspin model: a model with the mu input evaluated without electron numbers");
      evaluate_mu(in, energy, spin_grad, *electrons, timings);
      return;
    }
    const int64_t n = in.n_local, nf = kernel_.n_features();
    auto start = Clock::now();
    prepare(in);
    grad_.assign(3 * in.n_atoms, T(0));
    energy.resize(n);
    double t_forward = seconds_since(start), t_backward = 0.0;

    const int64_t slice = slice_size();
    features_.resize(nf * std::min(slice, std::max<int64_t>(n, 1)));
    for (int64_t first = 0; first < n; first += slice) {
      const int64_t count = std::min(slice, n - first);
      start = Clock::now();
      kernel_.forward(spin_.data(), first, count, features_.data());
      timings.descriptor_forward += seconds_since(start);
      const torch::Tensor h = network(count);
      site_energies(h, first, count, 0.0, energy.data() + first);
      t_forward += seconds_since(start);

      start = Clock::now();
      const T *grad_features = feature_gradient(h, energy_seed(count), count);
      const auto mid = Clock::now();
      kernel_.backward(spin_.data(), first, count, grad_features, grad_.data());
      timings.descriptor_backward += seconds_since(mid);
      t_backward += seconds_since(start);
    }
    start = Clock::now();
    finish_gradient(n, spin_grad);
    timings.forward += t_forward;
    timings.backward += t_backward + seconds_since(start);
  }

  ElectronCount count_electrons(const ModelInputs &in, ModelTimings &timings) override
  {
    if (!net_.takes_mu) throw Error("mlspin model: electron numbers of a model without the mu input");
    first_layer_of_all(in, timings);
    const auto start = Clock::now();
    torch::NoGradGuard no_grad;
    const double dmu = in.mu - net_.mu_mean;
    const int64_t n = in.n_local, slice = slice_size();
    double sum_dh = 0.0, sum_d2h = 0.0;
    for (int64_t first = 0; first < n; first += slice) {
      const int64_t count = std::min(slice, n - first);
      // forward mode in mu: z, dz/dmu, d2z/dmu2 through the layers after the first
      // (layer 1 is linear in mu: its second derivative is zero)
      torch::Tensor z = first_layer_at_mu(first, count, dmu);
      torch::Tensor dz = (net_.w_mu / net_.mu_scale).expand({z.size(0), count});
      torch::Tensor d2z = torch::zeros_like(z);
      for (size_t k = 1; k < net_.weight.size(); k++) {
        torch::Tensor f1, f2;
        activation_derivatives(net_.activation, z, f1, f2);
        const torch::Tensor y = activate(net_.activation, z), y1 = f1 * dz, y2 = f2 * dz * dz + f1 * d2z;
        z = torch::addmm(net_.bias[k], net_.weight[k], y);
        dz = torch::mm(net_.weight[k], y1);
        d2z = torch::mm(net_.weight[k], y2);
      }
      sum_dh += dz[0].to(torch::kFloat64).sum().item<double>();
      sum_d2h += d2z[0].to(torch::kFloat64).sum().item<double>();
    }
    // n_i = nbar + chi dmu - energy_scale dh_i/dmu
    ElectronCount c;
    c.electrons = static_cast<double>(n) * (net_.density_shift + net_.compressibility * dmu) - net_.energy_scale * sum_dh;
    c.slope = static_cast<double>(n) * net_.compressibility - net_.energy_scale * sum_d2h;
    timings.forward += seconds_since(start);
    return c;
  }

  bool set_bf16(bool on, std::string &why) override
  {
    bf16_ = false;
    layer1_valid_ = false;    // the kept first layer was made with the other setting
    why.clear();
    if (!on) return false;
    if constexpr (!std::is_same_v<T, float>) {
      why = "the model is float64 (bf16 applies to float32 models; mlspin-train convert --float32)";
      return false;
    } else {
      if (!bf16::supported()) {
        why = "the CPU has no AVX512-BF16";
        return false;
      }
      if (net_.weight.size() < 2) {
        why = "the network has a single layer";
        return false;
      }
      const torch::Tensor w = net_.weight[0].contiguous(), wt = net_.weight[0].t().contiguous();
      w1_ = bf16::PairedRows(w.data_ptr<float>(), w.size(0), w.size(1), w.size(1));
      w1t_ = bf16::PairedRows(wt.data_ptr<float>(), wt.size(0), wt.size(1), wt.size(1));
      const torch::Tensor b = net_.bias[0].contiguous();
      b1_.assign(b.data_ptr<float>(), b.data_ptr<float>() + b.numel());
      bf16_ = true;
      return true;
    }
  }

 private:
  // type check, the descriptor's placement of the edges, the spins in the model's dtype
  void prepare(const ModelInputs &in)
  {
    for (int64_t k = 0; k < in.n_local; k++)
      if (in.types[k] != 0) throw Error("mlspin model: a type index is outside 0..0");
    // the descriptor on LibTorch's intra-op threads (pair_style mlspin threads N)
    kernel_.set_parallel(at::get_num_threads(), [](int64_t parts, const std::function<void(int64_t)> &task) {
      at::parallel_for(0, parts, 1, [&](int64_t begin, int64_t end) {
        for (int64_t p = begin; p < end; p++) task(p);
      });
    });
    kernel_.place(in.n_atoms, in.n_local, in.n_edges, in.edge_index, in.edge_vec);
    spin_.assign(in.spin, in.spin + 3 * in.n_atoms);
  }

  // Slices of centers: their features (about 4 MiB) stay in the cache between the
  // descriptor and the network. Smaller slices make the descriptor faster, but the
  // matrix products slower (BLAS packs the weights once per product): 4 MiB was
  // the best total for the shipped models (1928 and 745 features) on one core.
  int64_t slice_size() const
  {
    return std::max<int64_t>(16, std::min<int64_t>(1024, (int64_t(4) << 20) / (sizeof(T) * kernel_.n_features())));
  }

  torch::Tensor energy_seed(int64_t count) const
  {
    return torch::full({count}, net_.energy_scale, torch::TensorOptions().dtype(dtype_));
  }

  // the centers' d c (|S|^2 - 1)/dS added, dE/dS to spin_grad in float64
  void finish_gradient(int64_t n, std::vector<double> &spin_grad)
  {
    const T c = static_cast<T>(net_.magnitude_coef);
    for (int64_t k = 0; k < 3 * n; k++) grad_[k] += T(2) * c * spin_[k];
    spin_grad.assign(grad_.begin(), grad_.end());
  }

  // ---- contract 2 ----

  // W1 x + b1 of every center into layer1_ ([H][count] blocks of slice_size() centers),
  // unless the inputs are those it was made from
  void first_layer_of_all(const ModelInputs &in, ModelTimings &timings)
  {
    if (layer1_valid_ && same_inputs(in)) return;
    const auto start = Clock::now();
    prepare(in);
    const int64_t n = in.n_local, nf = kernel_.n_features(), m = net_.weight[0].size(0), slice = slice_size();
    layer1_.resize(m * n);
    features_.resize(nf * std::min(slice, std::max<int64_t>(n, 1)));
    for (int64_t first = 0; first < n; first += slice) {
      const int64_t count = std::min(slice, n - first);
      const auto mid = Clock::now();
      kernel_.forward(spin_.data(), first, count, features_.data());
      timings.descriptor_forward += seconds_since(mid);
      T *out = layer1_.data() + m * first;
      if (bf16_) {
        first_layer_bf16_into(count, out);
      } else {
        const auto opts = torch::TensorOptions().dtype(dtype_);
        auto result = torch::from_blob(out, {m, count}, opts);
        torch::addmm_out(result, net_.bias[0], net_.weight[0], torch::from_blob(features_.data(), {nf, count}, opts));
      }
    }
    remember_inputs(in);
    timings.forward += seconds_since(start);
  }

  // The spins are compared exactly; the edges (about 50 per center) by a 64-bit hash of
  // their bytes, so that no copy of them is kept (memory per spin)
  static uint64_t edge_hash(const ModelInputs &in)
  {
    uint64_t h = 1469598103934665603ull;    // FNV-1a, 64 bit, over 8-byte words
    const auto mix = [&h](const void *data, int64_t words) {
      const auto *bytes = static_cast<const unsigned char *>(data);
      for (int64_t k = 0; k < words; k++) {
        uint64_t w;
        std::memcpy(&w, bytes + 8 * k, 8);
        h = (h ^ w) * 1099511628211ull;
      }
    };
    mix(in.edge_index, 2 * in.n_edges);
    mix(in.edge_vec, 3 * in.n_edges);
    return h ^ static_cast<uint64_t>(in.n_edges);
  }

  bool same_inputs(const ModelInputs &in) const
  {
    return in.n_local == key_n_local_ && static_cast<int64_t>(key_spin_.size()) == 3 * in.n_atoms &&
        (in.n_atoms == 0 || std::memcmp(key_spin_.data(), in.spin, 3 * in.n_atoms * sizeof(double)) == 0) &&
        edge_hash(in) == key_edges_;
  }

  void remember_inputs(const ModelInputs &in)
  {
    key_n_local_ = in.n_local;
    key_spin_.assign(in.spin, in.spin + 3 * in.n_atoms);
    key_edges_ = edge_hash(in);
    layer1_valid_ = true;
  }

  // layer 1's output of centers first..first+count-1 at mu0 + dmu (a new tensor)
  torch::Tensor first_layer_at_mu(int64_t first, int64_t count, double dmu)
  {
    const int64_t m = net_.weight[0].size(0);
    const auto kept = torch::from_blob(layer1_.data() + m * first, {m, count}, torch::TensorOptions().dtype(dtype_));
    return kept + net_.w_mu * (dmu / net_.mu_scale);
  }

  void evaluate_mu(const ModelInputs &in, std::vector<double> &energy, std::vector<double> &spin_grad,
                   std::vector<double> &electrons, ModelTimings &timings)
  {
    first_layer_of_all(in, timings);
    auto start = Clock::now();
    const int64_t n = in.n_local, slice = slice_size();
    const double dmu = in.mu - net_.mu_mean;
    grad_.assign(3 * in.n_atoms, T(0));
    energy.resize(n);
    electrons.resize(n);
    double t_forward = seconds_since(start), t_backward = 0.0;
    const double baseline = -net_.density_shift * dmu - 0.5 * net_.compressibility * dmu * dmu;
    const auto w_mu = net_.w_mu.reshape({-1});
    for (int64_t first = 0; first < n; first += slice) {
      const int64_t count = std::min(slice, n - first);
      start = Clock::now();
      const torch::Tensor z1 = first_layer_at_mu(first, count, dmu).requires_grad_(true);
      const torch::Tensor h = layers_after_first(z1);
      site_energies(h, first, count, baseline, energy.data() + first);
      t_forward += seconds_since(start);

      start = Clock::now();
      const torch::Tensor g1 = torch::autograd::grad({h}, {z1}, {energy_seed(count)}, false, false)[0].contiguous();
      // n_i = nbar + chi dmu - d e_i/d mu, d e_i/d mu = w_mu . dE_i/dz1 / mu_scale
      const auto de_dmu = (torch::mv(g1.t(), w_mu) / net_.mu_scale).to(torch::kFloat64).contiguous();
      const double *d = de_dmu.data_ptr<double>();
      for (int64_t k = 0; k < count; k++)
        electrons[first + k] = net_.density_shift + net_.compressibility * dmu - d[k];
      const T *grad_features = first_layer_gradient(g1, count);
      const auto mid = Clock::now();
      kernel_.backward(spin_.data(), first, count, grad_features, grad_.data());
      timings.descriptor_backward += seconds_since(mid);
      t_backward += seconds_since(start);
    }
    start = Clock::now();
    finish_gradient(n, spin_grad);
    timings.forward += t_forward;
    timings.backward += t_backward + seconds_since(start);
  }

  // the layers after the first from layer 1's output z1: h[0] with its graph
  torch::Tensor layers_after_first(const torch::Tensor &z1) const
  {
    torch::Tensor h = z1;
    for (size_t k = 1; k < net_.weight.size(); k++)
      h = torch::addmm(net_.bias[k], net_.weight[k], activate(net_.activation, h));
    return h[0];
  }

  // ---- contract 1 and 2 ----

  // bias + W1 x of the features of `count` centers in bfloat16 (float models only)
  void first_layer_bf16_into(int64_t count, T *out)
  {
    if constexpr (std::is_same_v<T, float>) {
      const int64_t stride = bf16::pack_columns(features_.data(), kernel_.n_features(), count, count, packed_);
      bf16::multiply(w1_, packed_.data(), count, stride, b1_.data(), out, count);
    } else {
      throw Error("mlspin model: bfloat16 path of a float64 model");
    }
  }

  // the first layer's output in bfloat16: a leaf of the network's graph
  torch::Tensor first_layer_bf16(int64_t count)
  {
    const int64_t m = net_.weight[0].size(0);
    h1_.resize(m * count);
    first_layer_bf16_into(count, h1_.data());
    first_ = torch::from_blob(h1_.data(), {m, count}, torch::TensorOptions().dtype(dtype_));
    return first_.requires_grad_(true);
  }

  // dE/d(features) = W1^T dE/dz1 ([n_features][count]), in bfloat16 with bf16 yes
  const T *first_layer_gradient(const torch::Tensor &g1, int64_t count)
  {
    if constexpr (std::is_same_v<T, float>) {
      if (bf16_) {
        const int64_t stride = bf16::pack_columns(g1.data_ptr<float>(), w1_.rows(), count, count, packed_);
        grad_features_.resize(kernel_.n_features() * count);
        bf16::multiply(w1t_, packed_.data(), count, stride, nullptr, grad_features_.data(), count);
        return grad_features_.data();
      }
    }
    gx_ = torch::mm(net_.weight[0].t(), g1).contiguous();
    return gx_.data_ptr<T>();
  }

  // dE/d(features) of the slice (layout [n_features][count]), from the network's output h
  const T *feature_gradient(const torch::Tensor &h, const torch::Tensor &seed, int64_t count)
  {
    if (bf16_) {    // dE/dz1 by autograd, then W1^T dE/dz1 in bfloat16
      const torch::Tensor g1 = torch::autograd::grad({h}, {first_}, {seed}, false, false)[0].contiguous();
      return first_layer_gradient(g1, count);
    }
    gx_ = torch::autograd::grad({h}, {x_}, {seed}, false, false)[0].contiguous();
    return gx_.data_ptr<T>();
  }

  // The network on the features of `count` centers (features_), with autograd from the
  // features (x_) or, in bfloat16, from the first layer's output (first_) on. Returns
  // h[0] (the network's output, with its graph).
  torch::Tensor network(int64_t count)
  {
    if (bf16_) return layers_after_first(first_layer_bf16(count));
    x_ = torch::from_blob(features_.data(), {kernel_.n_features(), count}, torch::TensorOptions().dtype(dtype_));
    x_.requires_grad_(true);
    return layers_after_first(torch::addmm(net_.bias[0], net_.weight[0], x_));
  }

  // e = h * energy_scale + energy_shift + c (|S|^2 - 1) (in the model's dtype) + baseline
  void site_energies(const torch::Tensor &h, int64_t first, int64_t count, double baseline, double *energy) const
  {
    const auto e = (h.detach() * net_.energy_scale + net_.energy_shift).contiguous();
    const T *ev = e.data_ptr<T>();
    const T c = static_cast<T>(net_.magnitude_coef);
    for (int64_t k = 0; k < count; k++) {
      const T *s = spin_.data() + 3 * (first + k);
      const T length2 = s[0] * s[0] + s[1] * s[1] + s[2] * s[2];
      energy[k] = static_cast<double>(ev[k] + c * (length2 - T(1))) + baseline;
    }
  }

 private:
  LatticeDescriptorKernel<T> kernel_;
  Network net_;
  torch::Dtype dtype_;
  std::vector<T> spin_, grad_, features_;
  torch::Tensor x_;     // features_ as the leaf of the network's graph
  torch::Tensor gx_;    // dE/d(features)
  // bfloat16 first layer (set_bf16): W1 and W1^T as pairs, its bias, the packed
  // operand, the layer's output (the graph's leaf first_) and dE/d(features)
  bool bf16_ = false;
  bf16::PairedRows w1_, w1t_;
  std::vector<float> b1_, grad_features_;
  std::vector<T> h1_;
  std::vector<uint32_t> packed_;
  torch::Tensor first_;
  // contract 2: W1 x + b1 of all centers, and the inputs it was made from
  std::vector<T> layer1_;
  bool layer1_valid_ = false;
  int64_t key_n_local_ = -1;
  std::vector<double> key_spin_;
  uint64_t key_edges_ = 0;
};

}    // namespace

std::unique_ptr<NativeLatticeModel> NativeLatticeModel::create(const torch::jit::Module &module,
                                                               const std::string &metadata, std::string &reason)
{
  try {
    const auto meta = nlohmann::json::parse(metadata);
    const auto descriptor = meta.value("descriptor", nlohmann::json::object());
    if (!descriptor.is_object() || descriptor.value("kind", std::string()) != "lattice")
      not_recognised("the metadata has no lattice descriptor");
    if (meta.value("species", nlohmann::json::array()).size() != 1) not_recognised("the model has more than one species");
    const auto model = meta.value("model", nlohmann::json::object());
    const std::string activation = model.is_object() ? model.value("activation", std::string("silu")) : "silu";
    const std::string dtype_name = meta.value("dtype", std::string());
    const torch::Dtype dtype = dtype_name == "float32" ? torch::kFloat32 : torch::kFloat64;
    if (!ends_with(type_name(module), ".MLSpinModel") && !ends_with(type_name(module), ".MLSpinMuModel"))
      not_recognised("the module is " + type_name(module));
    if (int_attr(module, "n_species") != 1) not_recognised("the module has more than one species");
    if (attribute(module, "uses_positions").toBool()) not_recognised("the model uses positions");

    const auto descriptor_module = attribute(module, "descriptor").toModule();
    const LatticeTables tables = read_tables(descriptor_module);
    const Network net = read_network(module, ints(descriptor_module, "column_order"), activation, dtype);
    reason.clear();
    if (dtype == torch::kFloat32) return std::make_unique<NativeLattice<float>>(tables, net, dtype);
    return std::make_unique<NativeLattice<double>>(tables, net, dtype);
  } catch (const NotRecognised &e) {
    reason = e.why;
  } catch (const Error &e) {
    reason = e.what();
  } catch (const nlohmann::json::exception &e) {
    reason = std::string("metadata: ") + e.what();
  } catch (const c10::Error &e) {
    reason = e.what_without_backtrace();
  }
  return nullptr;
}

}    // namespace mlspin
