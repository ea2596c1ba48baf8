using Google.Protobuf.Reflection;
using ServiceDescriptor = Google.Protobuf.Reflection.ServiceDescriptor;

namespace Ohem.Service.Api;

/// <summary>
/// Proto files by name and by the symbols they declare (services, methods, messages and enums,
/// nested ones included), over the given files and everything they import.
/// </summary>
internal sealed class DescriptorIndex
{
    private readonly Dictionary<string, FileDescriptor> _files = new(StringComparer.Ordinal);
    private readonly Dictionary<string, FileDescriptor> _symbols = new(StringComparer.Ordinal);
    private readonly Dictionary<string, MessageDescriptor> _messages = new(StringComparer.Ordinal);
    private readonly List<ServiceDescriptor> _services = [];

    /// <param name="files">The files whose services are served; the files they import are indexed too.</param>
    public DescriptorIndex(IEnumerable<FileDescriptor> files)
    {
        foreach (var file in files)
        {
            _services.AddRange(file.Services.Where(s => !_services.Contains(s)));
            Add(file);
        }
    }

    /// <summary>The services the given files declare (not those of the files they import).</summary>
    public IReadOnlyList<ServiceDescriptor> Services => _services;

    public FileDescriptor? FileByName(string name) => _files.GetValueOrDefault(name);

    public FileDescriptor? FileContaining(string symbol) => _symbols.GetValueOrDefault(symbol);

    /// <summary>A message type by its full name.</summary>
    public MessageDescriptor? Message(string fullName) => _messages.GetValueOrDefault(fullName);

    /// <summary><paramref name="file"/> first, then every file it imports, directly or not, each once.</summary>
    public static IReadOnlyList<FileDescriptor> WithDependencies(FileDescriptor file)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var order = new List<FileDescriptor>();
        void Visit(FileDescriptor f)
        {
            if (seen.Add(f.Name))
            {
                order.Add(f);
                foreach (var dependency in f.Dependencies)
                {
                    Visit(dependency);
                }
            }
        }

        Visit(file);
        return order;
    }

    private void Add(FileDescriptor file)
    {
        if (!_files.TryAdd(file.Name, file))
        {
            return;
        }

        foreach (var dependency in file.Dependencies)
        {
            Add(dependency);
        }

        foreach (var service in file.Services)
        {
            Symbol(service.FullName, file);
            foreach (var method in service.Methods)
            {
                Symbol(method.FullName, file);
            }
        }

        foreach (var message in file.MessageTypes)
        {
            AddMessage(message, file);
        }

        foreach (var enumType in file.EnumTypes)
        {
            Symbol(enumType.FullName, file);
        }
    }

    private void AddMessage(MessageDescriptor message, FileDescriptor file)
    {
        Symbol(message.FullName, file);
        _messages[message.FullName] = message;
        foreach (var nested in message.NestedTypes)
        {
            AddMessage(nested, file);
        }

        foreach (var enumType in message.EnumTypes)
        {
            Symbol(enumType.FullName, file);
        }
    }

    private void Symbol(string fullName, FileDescriptor file)
    {
        if (!_symbols.TryAdd(fullName, file) && _symbols[fullName] != file)
        {
            throw new ArgumentException($"symbol {fullName} is declared in both {_symbols[fullName].Name} and {file.Name}.", nameof(file));
        }
    }
}
