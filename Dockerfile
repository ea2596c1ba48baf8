# The miner (Ohem.Service) as a container. Build: docker build -t ohem-miner .
# Run:   docker run -p 50051:50051 -p 9464:9464 ohem-miner
# For CUDA, base the runtime stage on an image with the CUDA 12 runtime and mount ONNX Runtime's
# GPU build (e.g. the native files of Microsoft.ML.OnnxRuntime.Gpu.Linux), then set
# ORT_LIBRARY_PATH and OHEM__Miner__Onnx__ExecutionProviders__0=cuda.

FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
# npm fetches ONNX Runtime's native library (onnxruntime-node, sha256-checked) during the build.
RUN apt-get update && apt-get install -y --no-install-recommends npm && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN bash scripts/fetch-onnxruntime.sh \
 && dotnet publish src/Ohem.Service/Ohem.Service.csproj -c Release -o /app

FROM mcr.microsoft.com/dotnet/aspnet:10.0
WORKDIR /app
COPY --from=build /app .
ENV OHEM__Miner__Listen=http://0.0.0.0:50051 \
    OHEM__Miner__MetricsListen=http://0.0.0.0:9464
# 50051: gRPC (cleartext HTTP/2); 9464: Prometheus /metrics and /healthz (HTTP/1.1).
EXPOSE 50051 9464
USER app
ENTRYPOINT ["dotnet", "Ohem.Service.dll"]
