# The miner (Ohem.Service) as a container, in two images from one build:
#   docker build --target cpu -t ohem-miner .        CPU (ONNX Runtime's CPU provider, system libraries only)
#   docker build --target gpu -t ohem-miner-gpu .    CUDA 13 + cuDNN 9 runtime; cuda required by configuration
# Run:   docker run -p 50051:50051 -p 9464:9464 ohem-miner
#        docker run --gpus all -p 50051:50051 -p 9464:9464 ohem-miner-gpu
# ONNX Runtime comes from NuGet (Microsoft.ML.OnnxRuntime.Managed + Microsoft.ML.OnnxRuntime.Gpu.Linux):
# the publish output holds libonnxruntime.so and its CUDA provider, libonnxruntime_providers_cuda.so,
# which needs CUDA 13 (cudart, cublas, cublasLt, curand), cuDNN 9 and the NVIDIA driver at run time.

FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY . .
RUN dotnet publish src/Ohem.Service/Ohem.Service.csproj -c Release -r linux-x64 --self-contained false -o /app

# The CPU image does not carry the CUDA and TensorRT providers (about 290 MB it cannot load).
FROM build AS publish-cpu
RUN rm /app/libonnxruntime_providers_cuda.so /app/libonnxruntime_providers_tensorrt.so

FROM mcr.microsoft.com/dotnet/aspnet:10.0 AS cpu
WORKDIR /app
COPY --from=publish-cpu /app .
ENV OHEM__Miner__Listen=http://0.0.0.0:50051 \
    OHEM__Miner__MetricsListen=http://0.0.0.0:9464
# 50051: gRPC (cleartext HTTP/2); 9464: Prometheus /metrics and /healthz (HTTP/1.1).
EXPOSE 50051 9464
USER app
ENTRYPOINT ["dotnet", "Ohem.Service.dll"]

# The GPU image: NVIDIA's CUDA 13 runtime with cuDNN 9, and the ASP.NET Core runtime copied in.
FROM mcr.microsoft.com/dotnet/aspnet:10.0-noble AS dotnet-runtime
FROM nvidia/cuda:13.0.1-cudnn-runtime-ubuntu24.04 AS gpu
COPY --from=dotnet-runtime /usr/share/dotnet /usr/share/dotnet
RUN ln -s /usr/share/dotnet/dotnet /usr/bin/dotnet \
 && useradd --system --uid 1654 --no-create-home app
WORKDIR /app
COPY --from=build /app .
# cuda required: a miner that cannot load the CUDA provider (or see the device) fails at start,
# naming what is missing, instead of scoring on the CPU unnoticed.
ENV DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1 \
    OHEM__Miner__Listen=http://0.0.0.0:50051 \
    OHEM__Miner__MetricsListen=http://0.0.0.0:9464 \
    OHEM__Miner__Onnx__ExecutionProviders__0=cuda \
    OHEM__Miner__Onnx__CudaDeviceId=0 \
    OHEM__Miner__Onnx__CudaRequired=true
EXPOSE 50051 9464
USER app
ENTRYPOINT ["dotnet", "Ohem.Service.dll"]
