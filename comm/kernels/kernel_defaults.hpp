#pragma once
// Default parameters of each exchange kernel, one file per kernel (comm/kernels/<kernel>.cpp), each
// default with its source in a comment. Reached through default_kernel_params (comm/exchange_kernel.hpp).
#include "comm/exchange_kernel.hpp"

namespace epsim::kernels {

ExchangeKernelParams nccl_defaults();
ExchangeKernelParams deepep_normal_defaults();
ExchangeKernelParams deepep_ll_defaults();
ExchangeKernelParams nvlink_one_sided_defaults();
ExchangeKernelParams hierarchical_defaults();
ExchangeKernelParams hybrid_ep_defaults();

}  // namespace epsim::kernels
