using Google.Protobuf;
using Google.Protobuf.Reflection;
using Grpc.Reflection.V1Alpha;
using Ohem.Grpc;
using Ohem.Protocol.Methods;

namespace Ohem.Service.Api;

/// <summary>
/// gRPC server reflection (grpc/grpc doc/server-reflection.md), v1alpha and v1: tools such as
/// grpcurl list the services and fetch their .proto descriptors from the server itself. Answers
/// list_services, file_by_filename and file_containing_symbol (the file and everything it
/// imports, as serialized FileDescriptorProtos), all_extension_numbers_of_type (our files
/// declare no extensions); NOT_FOUND in error_response for an unknown name. One response per
/// request, in order, on one stream.
/// </summary>
public sealed class ReflectionService
{
    private readonly DescriptorIndex _index;

    /// <param name="files">The .proto files whose services this server maps; the reflection files are added.</param>
    public ReflectionService(IEnumerable<FileDescriptor> files)
    {
        ArgumentNullException.ThrowIfNull(files);
        _index = new DescriptorIndex([.. files, ReflectionReflection.Descriptor, global::Grpc.Reflection.V1.ReflectionReflection.Descriptor]);
    }

    /// <summary>The full names list_services answers with.</summary>
    public IReadOnlyList<string> Services => [.. _index.Services.Select(s => s.FullName)];

    public ServerServiceDefinition Definition() => ServerServiceDefinition.CreateBuilder()
        .AddMethod(ReflectionMethods.InfoV1Alpha, Info)
        .AddMethod(ReflectionMethods.InfoV1, Info)
        .Build();

    /// <summary>The answer to one request.</summary>
    public ServerReflectionResponse Answer(ServerReflectionRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var response = new ServerReflectionResponse { ValidHost = request.Host, OriginalRequest = request };
        switch (request.MessageRequestCase)
        {
            case ServerReflectionRequest.MessageRequestOneofCase.ListServices:
                response.ListServicesResponse = new ListServiceResponse { Service = { _index.Services.Select(s => new ServiceResponse { Name = s.FullName }) } };
                break;
            case ServerReflectionRequest.MessageRequestOneofCase.FileByFilename:
                Files(response, _index.FileByName(request.FileByFilename), $"file \"{request.FileByFilename}\"");
                break;
            case ServerReflectionRequest.MessageRequestOneofCase.FileContainingSymbol:
                Files(response, _index.FileContaining(request.FileContainingSymbol), $"symbol \"{request.FileContainingSymbol}\"");
                break;
            case ServerReflectionRequest.MessageRequestOneofCase.AllExtensionNumbersOfType:
                if (_index.Message(request.AllExtensionNumbersOfType) is { } message)
                {
                    response.AllExtensionNumbersResponse = new ExtensionNumberResponse { BaseTypeName = message.FullName };
                }
                else
                {
                    response.ErrorResponse = NotFound($"message type \"{request.AllExtensionNumbersOfType}\"");
                }

                break;
            case ServerReflectionRequest.MessageRequestOneofCase.FileContainingExtension:
                var extension = request.FileContainingExtension;
                response.ErrorResponse = NotFound($"extension {extension.ExtensionNumber} of \"{extension.ContainingType}\"");
                break;
            default:
                response.ErrorResponse = new ErrorResponse { ErrorCode = (int)StatusCode.Unimplemented, ErrorMessage = "the request sets no message_request." };
                break;
        }

        return response;
    }

    private async Task Info(IAsyncStreamReader<ServerReflectionRequest> requests, IServerStreamWriter<ServerReflectionResponse> responses, ServerCallContext context)
    {
        while (await requests.MoveNext(context.CancellationToken).ConfigureAwait(false))
        {
            await responses.WriteAsync(Answer(requests.Current), context.CancellationToken).ConfigureAwait(false);
        }
    }

    private static void Files(ServerReflectionResponse response, FileDescriptor? file, string what)
    {
        if (file is null)
        {
            response.ErrorResponse = NotFound(what);
            return;
        }

        response.FileDescriptorResponse = new FileDescriptorResponse
        {
            FileDescriptorProto = { DescriptorIndex.WithDependencies(file).Select(f => f.SerializedData) },
        };
    }

    private static ErrorResponse NotFound(string what) =>
        new() { ErrorCode = (int)StatusCode.NotFound, ErrorMessage = $"{what} not found." };
}
