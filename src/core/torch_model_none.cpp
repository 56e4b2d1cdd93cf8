// TorchModel in a build without LibTorch (configured with MLSPIN_WITH_TORCH=OFF, or
// AUTO without a LibTorch found): the interface of torch_model.h, where every attempt
// to load a model throws mlspin::Error saying how to get a build that can.
#include "core/torch_model.h"

#include "core/error.h"

namespace mlspin {

namespace {

[[noreturn]] void no_torch()
{
  throw Error(TorchModel::unavailable_reason());
}

}    // namespace

std::string TorchModel::unavailable_reason()
{
  return "this mlspin build has no LibTorch, so it cannot load TorchScript models; install LibTorch "
         "(Debian/Ubuntu: apt-get install libtorch-dev nlohmann-json3-dev) and reconfigure mlspin with "
         "-DMLSPIN_WITH_TORCH=ON (see doc/pair_mlspin.rst)";
}

ModelMetadata parse_model_metadata(const std::string &, const std::string &)
{
  no_torch();
}

std::string read_binary_file(const std::string &)
{
  no_torch();
}

// No TorchModel can be constructed, so the members below are never reached.
struct TorchModel::Impl {};

TorchModel::TorchModel(const std::string &, const std::string &)
{
  no_torch();
}

TorchModel::~TorchModel() = default;

const ModelMetadata &TorchModel::metadata() const
{
  no_torch();
}

const std::string &TorchModel::file() const
{
  no_torch();
}

const ModelResults &TorchModel::evaluate(const ModelInputs &, bool)
{
  no_torch();
}

ElectronCount TorchModel::count_electrons(const ModelInputs &)
{
  no_torch();
}

bool TorchModel::last_results_finite() const
{
  no_torch();
}

const ModelTimings &TorchModel::timings() const
{
  no_torch();
}

void TorchModel::reset_timings()
{
  no_torch();
}

size_t TorchModel::memory_bytes() const
{
  return 0;
}

void TorchModel::set_native(bool)
{
  no_torch();
}

bool TorchModel::set_bf16(bool, std::string &)
{
  no_torch();
}

bool TorchModel::native() const
{
  return false;
}

const std::string &TorchModel::native_reason() const
{
  no_torch();
}

void TorchModel::set_num_threads(int)
{
  no_torch();
}

int TorchModel::num_threads()
{
  return 1;
}

}    // namespace mlspin
