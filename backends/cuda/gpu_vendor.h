// The GPU runtime the backend's sources are built against. The sources are written in CUDA's
// names; with HEARTH_HIP defined (the HIP build, hipcc for the kernels) this header maps them
// to HIP's, so one source serves NVIDIA and AMD. It also names the backend ("cuda" or "hip")
// and its C++ namespace, so both builds can live in one binary.
#pragma once

#if defined(HEARTH_HIP)

#ifndef __HIP_PLATFORM_AMD__
#define __HIP_PLATFORM_AMD__
#endif
#include <hip/hip_runtime_api.h>
#if defined(__HIPCC__)
#include <hip/hip_fp16.h>
#include <hip/hip_runtime.h>
// A "warp" of the kernels is 32 lanes; AMD's wave64 hardware runs two per wave, and the
// width argument keeps each shuffle inside its 32.
#define __shfl_xor_sync(mask, value, offset) __shfl_xor(value, offset, 32)
#endif

#define HEARTH_GPU_NAMESPACE hip
#define HEARTH_GPU_NAME "hip"
#define HEARTH_GPU_VENDOR "HIP"

#define cudaDeviceProp hipDeviceProp_t
#define cudaError_t hipError_t
#define cudaErrorMemoryAllocation hipErrorOutOfMemory
#define cudaFree hipFree
#define cudaGetDeviceCount hipGetDeviceCount
#define cudaGetDeviceProperties hipGetDeviceProperties
#define cudaGetErrorString hipGetErrorString
#define cudaGetLastError hipGetLastError
#define cudaMalloc hipMalloc
#define cudaMemGetInfo hipMemGetInfo
#define cudaMemcpyAsync hipMemcpyAsync
#define cudaMemcpyDeviceToDevice hipMemcpyDeviceToDevice
#define cudaMemcpyDeviceToHost hipMemcpyDeviceToHost
#define cudaMemcpyHostToDevice hipMemcpyHostToDevice
#define cudaSetDevice hipSetDevice
#define cudaStreamCreateWithFlags hipStreamCreateWithFlags
#define cudaStreamDestroy hipStreamDestroy
#define cudaStreamNonBlocking hipStreamNonBlocking
#define cudaStreamSynchronize hipStreamSynchronize
#define cudaStream_t hipStream_t
#define cudaSuccess hipSuccess

#else

#include <cuda_runtime_api.h>
#if defined(__CUDACC__)
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#endif

#define HEARTH_GPU_NAMESPACE cuda
#define HEARTH_GPU_NAME "cuda"
#define HEARTH_GPU_VENDOR "CUDA"

#endif
